package bus

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestInWindow_Bounded: every chunk is done once, never more than the
// window at a time, before is called in order, and a slot is not given to
// a chunk while another chunk has it (before of the next chunk in a slot
// comes only once do of the last has returned).
func TestInWindow_Bounded(t *testing.T) {
	const n, window = 200, 4
	var (
		inFlight, most atomic.Int32
		held           [window]atomic.Int32 // the chunk in each slot, +1
		mu             sync.Mutex
		done           = make(map[int]int)
		next           int
	)
	before := func(i, slot int) {
		if i != next {
			t.Errorf("before(%d) after before(%d): out of order", i, next-1)
		}
		next = i + 1
		if slot < 0 || slot >= window {
			t.Fatalf("slot %d, want 0 to %d", slot, window-1)
		}
		if h := held[slot].Load(); h != 0 {
			t.Errorf("chunk %d given slot %d while chunk %d has it", i, slot, h-1)
		}
		held[slot].Store(int32(i + 1))
	}
	do := func(ctx context.Context, i, slot int) error {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(200 * time.Microsecond) // an answer's round trip
		if h := held[slot].Load(); h != int32(i+1) {
			t.Errorf("chunk %d: slot %d was given to chunk %d meanwhile", i, slot, h-1)
		}
		held[slot].Store(0)
		mu.Lock()
		done[i]++
		mu.Unlock()
		return nil
	}
	if err := inWindow(t.Context(), n, window, before, do); err != nil {
		t.Fatalf("inWindow: %v", err)
	}
	if inFlight.Load() != 0 {
		t.Errorf("%d calls still running when inWindow returned", inFlight.Load())
	}
	for i := range n {
		if done[i] != 1 {
			t.Errorf("chunk %d done %d times, want once", i, done[i])
		}
	}
	if m := most.Load(); m > window || m < 2 {
		t.Errorf("at most %d chunks in flight, want 2 to %d", m, window)
	}
}

// TestInWindow_ChunkFails: a chunk that fails fails the whole: its error
// is returned, not the cancellation it causes to the chunks in flight,
// every call started has returned by then, and no more are started.
func TestInWindow_ChunkFails(t *testing.T) {
	const n, window, bad = 100, 4, 10
	errPut := errors.New("the stream refused chunk 10")
	var started, running atomic.Int32
	do := func(ctx context.Context, i, _ int) error {
		started.Add(1)
		running.Add(1)
		defer running.Add(-1)
		switch {
		case i == bad:
			return errPut
		case i > bad:
			// In flight when chunk 10 fails: it ends with the context.
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	err := inWindow(t.Context(), n, window, nil, do)
	if !errors.Is(err, errPut) {
		t.Fatalf("inWindow = %v, want the chunk's error", err)
	}
	if running.Load() != 0 {
		t.Errorf("%d calls still running when inWindow returned", running.Load())
	}
	if s := started.Load(); s > bad+window {
		t.Errorf("%d chunks started, want at most %d: chunks were started after one failed", s, bad+window)
	}
}

// TestInWindow_Cancelled: the caller's context ending stops the chunks,
// and inWindow says so rather than succeeding.
func TestInWindow_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var started atomic.Int32
	do := func(ctx context.Context, i, _ int) error {
		if started.Add(1) == 3 {
			cancel()
		}
		if i >= 2 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	err := inWindow(ctx, 50, 4, nil, do)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("inWindow = %v, want context.Canceled", err)
	}
	if s := started.Load(); s > 2+4 {
		t.Errorf("%d chunks started after the context ended", s)
	}
}

// TestLargeCipherAt: the stream from a chunk's offset is the one stream
// advanced to it, so that chunks encrypted in order (as every gateway has
// stored them) decrypt one by one in any order.
func TestLargeCipherAt(t *testing.T) {
	key := bytes.Repeat([]byte{0x5c}, 32)
	const size = 3*LargeChunk + 100
	whole := make([]byte, size)
	ctr, err := largeCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ctr.XORKeyStream(whole, whole)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{0, aes.BlockSize, LargeChunk, 3 * LargeChunk} {
		part := make([]byte, min(size-off, LargeChunk))
		largeCipherAt(block, off).XORKeyStream(part, part)
		if !bytes.Equal(part, whole[off:off+len(part)]) {
			t.Errorf("the stream at %d differs from the whole stream's bytes there", off)
		}
	}
}

// BenchmarkGetLarge gets a packet of the size of lienthong bench -large's
// (a 50 MiB attachment) from StreamLarge, chunks decrypted, through a
// spool in a directory of the benchmark's.
func BenchmarkGetLarge(b *testing.B) {
	srv, err := StartServer(ServerOptions{Dir: filepath.Join(b.TempDir(), "nats"), Port: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	bs, err := Open(b.Context(), Options{URL: srv.ClientURL(), SpoolDir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bs.Close() })
	packet := make([]byte, 69908266)
	rand.Read(packet)
	sum := sha256.Sum256(packet)
	digest := hex.EncodeToString(sum[:])
	h := nats.Header{}
	if err := bs.putLarge(b.Context(), digest, packet, h); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := bs.getLarge(b.Context(), h, digest)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(packet) {
			b.Fatalf("%d bytes, want %d", len(got), len(packet))
		}
	}
}
