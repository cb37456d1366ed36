package bus

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInWindow_Bounded: every chunk is put once, never more than the window
// at a time, each from a buffer that is not filled again while its put runs,
// and no more buffers are made than the window.
func TestInWindow_Bounded(t *testing.T) {
	const n, window, size = 200, 4, 8
	var (
		inFlight, most atomic.Int32
		mu             sync.Mutex
		puts           = make(map[int]int)
		buffers        = make(map[*byte]bool)
	)
	fill := func(i int, buf []byte) []byte {
		mu.Lock()
		buffers[&buf[0]] = true
		mu.Unlock()
		binary.BigEndian.PutUint64(buf, uint64(i))
		return buf
	}
	put := func(ctx context.Context, i int, chunk []byte) error {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(200 * time.Microsecond) // an ack's round trip
		if got := binary.BigEndian.Uint64(chunk); got != uint64(i) {
			t.Errorf("chunk %d: its buffer was filled with chunk %d while it was put", i, got)
		}
		mu.Lock()
		puts[i]++
		mu.Unlock()
		return nil
	}
	if err := inWindow(t.Context(), n, window, size, fill, put); err != nil {
		t.Fatalf("inWindow: %v", err)
	}
	if inFlight.Load() != 0 {
		t.Errorf("%d puts still running when inWindow returned", inFlight.Load())
	}
	for i := range n {
		if puts[i] != 1 {
			t.Errorf("chunk %d put %d times, want once", i, puts[i])
		}
	}
	if m := most.Load(); m > window || m < 2 {
		t.Errorf("at most %d chunks in flight, want 2 to %d", m, window)
	}
	if len(buffers) > window {
		t.Errorf("%d buffers made, want at most %d", len(buffers), window)
	}
}

// TestInWindow_ChunkFails: a chunk whose put fails fails the whole: its
// error is returned, not the cancellation it causes to the chunks in
// flight, every put started has returned by then, and no more are started.
func TestInWindow_ChunkFails(t *testing.T) {
	const n, window, bad = 100, 4, 10
	errPut := errors.New("the stream refused chunk 10")
	var started, running atomic.Int32
	fill := func(i int, buf []byte) []byte { return buf }
	put := func(ctx context.Context, i int, _ []byte) error {
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
	err := inWindow(t.Context(), n, window, 1, fill, put)
	if !errors.Is(err, errPut) {
		t.Fatalf("inWindow = %v, want the chunk's error", err)
	}
	if running.Load() != 0 {
		t.Errorf("%d puts still running when inWindow returned", running.Load())
	}
	if s := started.Load(); s > bad+window {
		t.Errorf("%d chunks started, want at most %d: chunks were started after one failed", s, bad+window)
	}
}

// TestInWindow_Cancelled: the caller's context ending stops the puts, and
// inWindow says so rather than succeeding.
func TestInWindow_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var started atomic.Int32
	put := func(ctx context.Context, i int, _ []byte) error {
		if started.Add(1) == 3 {
			cancel()
		}
		if i >= 2 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	err := inWindow(ctx, 50, 4, 1, func(_ int, buf []byte) []byte { return buf }, put)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("inWindow = %v, want context.Canceled", err)
	}
	if s := started.Load(); s > 2+4 {
		t.Errorf("%d chunks started after the context ended", s)
	}
}
