package bus

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/gateway/internal/osmem"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Large packets. A packet above the inline limit does not travel in its
// message: it is stored once in StreamLarge, cut in chunks of LargeChunk
// bytes under the subjects
// ltlarge.<sending gateway>.<hex SHA-256>.<hour>.<n> (hour: the hours
// since 1970 when it was stored), and the message to each recipient names
// it (HeaderLarge) and carries the key that decrypts it (HeaderKey).
//
// Three properties hold against a gateway with valid credentials:
//
//   - Nobody can destroy or alter what another gateway sent: a gateway may
//     publish only under its own token (GatewayPermissions); the stream
//     refuses deletes and purges (DenyDelete, DenyPurge) to everyone, and a
//     second message on a chunk's subject (DiscardNewPerSubject), so that
//     a chunk stored cannot be replaced — not even by JetStream's answer
//     to a request whose reply subject a hostile client set to it, which
//     no permission can stop. Chunks leave only when they expire. The
//     hour in the subjects lets a packet sent again later be stored
//     afresh, young enough to outlive its message, while another
//     recipient within the hour reuses the chunks.
//   - Nobody reads another's large packet: the chunks are encrypted with
//     AES-256-CTR under a key derived from the packet (SHA-256 of a domain
//     string and the packet: the same packet gives the same chunks, so a
//     retry or a second recipient reuses them), and the key travels only
//     in the message on the recipient's subject, which only the
//     recipient's consumer delivers. Anyone may read the chunks; they are
//     noise without the key, and the key cannot be had from the packet's
//     SHA-256 in the subject.
//   - What is read is what was signed: the recipient checks the decrypted
//     bytes against the SHA-256 of the message (HeaderSHA256), and then
//     verifies the packet's signature.

// Names and sizes of large packets.
const (
	// StreamLarge holds the chunks of large packets.
	StreamLarge = "LT_LARGE"
	// LargeSubjectPrefix starts the subjects of StreamLarge:
	// ltlarge.<gateway>.<hex SHA-256>.<hour>.<chunk number>. It is not
	// under lt., so that it crosses a leaf node's link to the hub, where
	// the stream is.
	LargeSubjectPrefix = "ltlarge."
	// LargeChunk is the size of a chunk: well under nats-server's default
	// max payload of 1 MiB.
	LargeChunk = 256 << 10
)

// Headers of a message whose packet is in StreamLarge (its body is empty).
const (
	// HeaderLarge names the packet: <gateway>.<hex SHA-256>.<hour>, the
	// middle tokens of its chunks' subjects.
	HeaderLarge = "Lt-Large"
	// HeaderSize is the packet's size in bytes.
	HeaderSize = "Lt-Size"
	// HeaderKey is the key that decrypts the chunks, base64.
	HeaderKey = "Lt-Key"
)

// largeKeyDomain separates the key of a packet's chunks from the
// packet's SHA-256, which the subjects show.
const largeKeyDomain = "lienthong large packet key v1\n"

// largeReuse is how long the chunks of a packet are reused: the hour in
// their subjects. The stream keeps chunks that much longer than messages,
// so that a chunk outlives every message that refers to it.
const largeReuse = time.Hour

// largeConfig is the stream of large packets' chunks: kept as long as the
// messages that refer to them, one message per chunk subject that nothing
// replaces, and no deletes or purges through the API, for anyone.
func largeConfig(o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:                 StreamLarge,
		Description:          "lienthong packets above the inline limit: encrypted chunks, by sending gateway, SHA-256 and hour",
		Subjects:             []string{LargeSubjectPrefix + ">"},
		Retention:            jetstream.LimitsPolicy,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		Storage:              jetstream.FileStorage,
		MaxAge:               o.MaxAge + largeReuse,
		Replicas:             o.Replicas,
		MaxMsgs:              -1,
		MaxBytes:             -1,
		MaxMsgsPerSubject:    1,
		MaxConsumers:         -1,
		AllowDirect:          true,
		DenyDelete:           true,
		DenyPurge:            true,
	}
}

// largeStream returns StreamLarge; on a leaf node it is the hub's, looked
// up the first time it is needed.
func (b *Bus) largeStream(ctx context.Context) (jetstream.Stream, error) {
	b.largeMu.Lock()
	defer b.largeMu.Unlock()
	if b.large == nil {
		s, err := b.hub.Stream(ctx, StreamLarge)
		if err != nil {
			where := ""
			if b.opts.HubDomain != "" {
				where = " in the hub's domain " + b.opts.HubDomain
			}
			return nil, fmt.Errorf("stream %s%s: %w", StreamLarge, where, err)
		}
		b.large = s
	}
	return b.large, nil
}

// largeCipher returns the AES-256-CTR stream of key, from the start. The
// IV is zero: each key encrypts one packet only, the one it is derived
// from.
func largeCipher(key []byte) (cipher.Stream, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return largeCipherAt(block, 0), nil
}

// largeCipherAt returns the AES-CTR stream of block from byte offset on,
// which must be a multiple of the block size: the stream largeCipher
// returns, advanced by offset bytes. The counter is the IV as a 128-bit
// big-endian number, the way crypto/cipher's CTR increments it, so that
// chunks can be decrypted in any order.
func largeCipherAt(block cipher.Block, offset int) cipher.Stream {
	iv := make([]byte, aes.BlockSize)
	binary.BigEndian.PutUint64(iv[aes.BlockSize-8:], uint64(offset/aes.BlockSize))
	return cipher.NewCTR(block, iv)
}

// A chunk is a whole number of AES blocks, so that largeCipherAt can start
// a chunk's keystream at its offset (this does not compile otherwise).
const _ uint = -(LargeChunk % aes.BlockSize)

func chunksOf(size int) int { return (size + LargeChunk - 1) / LargeChunk }

// putLarge stores data, whose hex SHA-256 is digest, in StreamLarge under
// this gateway's token and the current hour, unless all its chunks are
// there already (stored within the hour, so they outlive the message), and
// sets the headers of that message. Chunks found there that this Bus did
// not store are read back and compared: chunk subjects are predictable,
// and someone may have stored others under them (see the package's notes);
// then the packet is stored afresh under a name of its own.
func (b *Bus) putLarge(ctx context.Context, digest string, data []byte, h nats.Header) error {
	s, err := b.largeStream(ctx)
	if err != nil {
		return err
	}
	kh := sha256.New()
	kh.Write([]byte(largeKeyDomain))
	kh.Write(data)
	var key [sha256.Size]byte
	kh.Sum(key[:0])
	hour := strconv.FormatInt(time.Now().Unix()/int64(largeReuse/time.Second), 10)
	name := b.gatewayToken() + "." + digest + "." + hour
	err = b.storeChunks(ctx, s, name, key[:], data)
	if errors.Is(err, errForeignChunk) {
		// Not reusable: a name no one can foresee.
		suffix, rerr := randomHex(8)
		if rerr != nil {
			return rerr
		}
		name = b.gatewayToken() + "." + digest + "." + hour + "-" + suffix
		err = b.storeChunks(ctx, s, name, key[:], data)
	}
	if err != nil {
		return err
	}
	h.Set(HeaderLarge, name)
	h.Set(HeaderSize, strconv.Itoa(len(data)))
	h.Set(HeaderKey, base64.StdEncoding.EncodeToString(key[:]))
	return nil
}

// errForeignChunk: a chunk's subject holds other bytes than the packet's.
var errForeignChunk = errors.New("a chunk written by someone else is there, and cannot be replaced")

// storeChunks stores data's chunks under name, encrypted with key, reusing
// those already there that hold the same bytes.
func (b *Bus) storeChunks(ctx context.Context, s jetstream.Stream, name string, key, data []byte) error {
	subject := func(i int) string { return LargeSubjectPrefix + name + "." + strconv.Itoa(i) }
	n := chunksOf(len(data))
	b.largeMu.Lock()
	mine := b.stored[name]
	b.largeMu.Unlock()
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(LargeSubjectPrefix+name+".>"))
	if err != nil {
		return fmt.Errorf("look up large packet %s: %w", name, err)
	}
	if mine && len(info.State.Subjects) == n {
		return nil
	}
	ctr, err := largeCipher(key)
	if err != nil {
		return err
	}
	// The chunks are encrypted in order, one CTR stream, and put in a
	// window: waiting for each ack in turn left the link idle for most of
	// a large packet's publish. A slot's buffer is reused once its chunk
	// is stored (synchronous publishes).
	bufs := make([][]byte, min(n, largePutWindow))
	inSlot := func(i, slot int) []byte {
		return bufs[slot][:min(len(data), (i+1)*LargeChunk)-i*LargeChunk]
	}
	encrypt := func(i, slot int) {
		if bufs[slot] == nil {
			bufs[slot] = make([]byte, min(len(data), LargeChunk))
		}
		ctr.XORKeyStream(inSlot(i, slot), data[i*LargeChunk:min(len(data), (i+1)*LargeChunk)])
	}
	put := func(ctx context.Context, i, slot int) error {
		chunk := inSlot(i, slot)
		if _, present := info.State.Subjects[subject(i)]; present {
			// By an earlier attempt of ours — or by someone else, which
			// only the same bytes rule out.
			if err := sameChunk(ctx, s, subject(i), chunk); err != nil {
				return fmt.Errorf("chunk %d of %d of large packet %s: %w", i+1, n, name, err)
			}
			return nil
		}
		if _, err := b.hub.PublishMsg(ctx, &nats.Msg{Subject: subject(i), Data: chunk}, jetstream.WithExpectStream(StreamLarge)); err != nil {
			// The stream takes no second message on a chunk's subject: a
			// chunk stored meanwhile is fine if it is this one.
			if serr := sameChunk(ctx, s, subject(i), chunk); serr != nil {
				if errors.Is(serr, errForeignChunk) {
					return fmt.Errorf("chunk %d of %d of large packet %s: %w", i+1, n, name, serr)
				}
				return fmt.Errorf("put chunk %d of %d of large packet %s (%d bytes): %w", i+1, n, name, len(data), err)
			}
		}
		return nil
	}
	if err := inWindow(ctx, n, largePutWindow, encrypt, put); err != nil {
		return err
	}
	b.largeMu.Lock()
	if b.stored == nil || len(b.stored) >= maxStoredNames {
		b.stored = make(map[string]bool)
	}
	b.stored[name] = true
	b.largeMu.Unlock()
	return nil
}

// largeWindow is how many chunks of a packet are got at once: enough to
// keep the link to the stream busy while answers come back. The memory it
// takes is bounded (largeWindow chunks of nats.go's copies, 4 MiB),
// whatever the packet's size.
const largeWindow = 16

// largePutWindow is how many chunks of a packet are put at once, each
// encrypted into a buffer of its own that is held until its chunk is
// acknowledged. Fewer than largeWindow: the sender holds the packet too,
// and 16 buffers (4 MiB) were most of what its peak had beyond the packet
// and an idle gateway's memory (1.52 times the packet, against 1.47 with
// 4). Publishing a 67 MB packet measured 197-306 ms with 4 against 174-286
// with 16, in turns on a loaded machine (BenchmarkBus_PublishLarge).
const largePutWindow = 4

// inWindow calls do for chunks 0 to n-1, with at most window of them
// running at a time, each with a slot from 0 to window-1 that no other
// call running at the same time has: the caller's buffers are indexed by
// it. before, if not nil, is called for each chunk in order from the
// calling goroutine, with the chunk's slot, before do starts: it may keep
// state from one chunk to the next. inWindow returns once every do it
// started has returned: nil if every one returned nil, or else the first
// error one returned (the others are then cancelled through their
// context, and no more are started), or else ctx's.
func inWindow(ctx context.Context, n, window int, before func(i, slot int), do func(ctx context.Context, i, slot int) error) error {
	window = max(window, 1) // none in flight would wait for ever
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() {
			first = err
			cancel()
		})
	}
	free := make(chan int, window)
	for slot := range min(window, n) {
		free <- slot
	}
	started := 0
	for i := range n {
		var slot int
		select {
		case slot = <-free:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if before != nil {
			before(i, slot)
		}
		started++
		wg.Go(func() {
			if err := do(ctx, i, slot); err != nil {
				fail(err)
				return
			}
			free <- slot
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if started < n {
		// ctx ended before a chunk failed.
		return fmt.Errorf("stopped after %d of %d chunks: %w", started, n, context.Cause(ctx))
	}
	return nil
}

// maxStoredNames bounds what a Bus remembers of the large packets it
// stored: one hour's worth is what reuse needs.
const maxStoredNames = 10000

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// sameChunk checks that the chunk stored under subject holds want.
func sameChunk(ctx context.Context, s jetstream.Stream, subject string, want []byte) error {
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return err
	}
	if !bytes.Equal(m.Data, want) {
		return fmt.Errorf("%s holds other bytes than this packet's: %w", subject, errForeignChunk)
	}
	return nil
}

// getLarge reads and decrypts the large packet the headers h name,
// through a spool file in Options.SpoolDir that it removes before it
// returns. It checks what a sender may lie about before it allocates,
// creates or reads anything: the name's form, that it names the packet
// the message's SHA-256 says (digest), and the size against the largest
// packet accepted. A missing chunk gives ErrPacketMissing, a chunk of the
// wrong size ErrPacketMismatch; the caller checks the decrypted bytes'
// SHA-256.
func (b *Bus) getLarge(ctx context.Context, h nats.Header, digest string) ([]byte, error) {
	name := h.Get(HeaderLarge)
	parts := strings.Split(name, ".")
	if len(parts) != 3 || parts[0] == "" || sanitize(parts[0]) != parts[0] || !strings.EqualFold(parts[1], digest) || !hourToken(parts[2]) {
		return nil, fmt.Errorf("%w: %s %q does not name the packet of SHA-256 %s", ErrPacketMismatch, HeaderLarge, name, digest)
	}
	size, err := strconv.Atoi(h.Get(HeaderSize))
	if err != nil || size <= 0 || int64(size) > b.opts.MaxPacketSize {
		return nil, fmt.Errorf("%w: %s %q: want a size from 1 to %d bytes", ErrPacketMismatch, HeaderSize, h.Get(HeaderSize), b.opts.MaxPacketSize)
	}
	key, err := base64.StdEncoding.DecodeString(h.Get(HeaderKey))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: %s is not a base64 AES-256 key", ErrPacketMismatch, HeaderKey)
	}
	s, err := b.largeStream(ctx)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// The chunks are got in a window rather than one round trip after
	// the other, each decrypted and written at its offset into a spool
	// file, not into memory: nats.go copies each chunk into a slice of
	// its own, and with the packet's buffer live the collector let 67
	// MiB of those copies stay resident (2.5 times the packet at the
	// peak). With the heap small during the fetch, they are collected as
	// they come. The spool never grows past size, checked above: a
	// sender's claims cost at most MaxPacketSize of disk per fetch.
	spool, err := os.CreateTemp(b.spoolDir(), spoolPattern)
	if err != nil {
		return nil, fmt.Errorf("spool for large packet %s: %w", name, err)
	}
	defer b.removeSpool(spool)
	n := chunksOf(size)
	get := func(ctx context.Context, i, _ int) error {
		subject := LargeSubjectPrefix + name + "." + strconv.Itoa(i)
		m, err := s.GetLastMsgForSubject(ctx, subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return fmt.Errorf("%w: chunk %d of %d (%s) is not in %s", ErrPacketMissing, i+1, n, subject, StreamLarge)
		case err != nil:
			return fmt.Errorf("get chunk %d of %d (%s): %w", i+1, n, subject, err)
		}
		off := i * LargeChunk
		if want := min(size, off+LargeChunk) - off; len(m.Data) != want {
			return fmt.Errorf("%w: chunk %d of %d (%s) has %d bytes, want %d", ErrPacketMismatch, i+1, n, subject, len(m.Data), want)
		}
		// m.Data is this reply's own (nats.go copies each payload), so it
		// is decrypted in place.
		largeCipherAt(block, off).XORKeyStream(m.Data, m.Data)
		if _, err := spool.WriteAt(m.Data, int64(off)); err != nil {
			return fmt.Errorf("spool chunk %d of %d of large packet %s: %w", i+1, n, name, err)
		}
		if b.spooled != nil {
			b.spooled(ctx, spool.Name(), i)
		}
		return nil
	}
	// inWindow returns once every get it started has: none writes to the
	// spool after it is closed.
	if err := inWindow(ctx, n, largeWindow, nil, get); err != nil {
		return nil, err
	}
	// Every chunk is written, each of its exact size at its offset: the
	// spool holds the packet's size bytes, read in one buffer from the
	// page cache.
	if size >= osmem.Min {
		// The pages of the fetch's collected copies stay resident, and the
		// buffer, one allocation, cannot reuse them: ≈ 10 MiB more at the
		// peak for a 67 MiB packet (1.61-1.80 times it; 1.52-1.53 with
		// them given back). A buffer far above the heap's headroom starts
		// a collection anyway: this one comes first, and gives the free
		// pages back (bounded by the process's osmem.Limiter).
		b.release.FreeOSMemory(time.Now())
	}
	out := make([]byte, size)
	if _, err := spool.ReadAt(out, 0); err != nil {
		return nil, fmt.Errorf("read the spool of large packet %s: %w", name, err)
	}
	return out, nil
}

// spoolPattern names a spool file in CreateTemp's form; openSpoolDir
// removes the files whose names match it, and only those.
const spoolPattern = "lt-large-*.spool"

// spoolDir is where getLarge writes its spools.
func (b *Bus) spoolDir() string {
	if b.opts.SpoolDir != "" {
		return b.opts.SpoolDir
	}
	return os.TempDir()
}

// removeSpool closes and removes a spool, whatever the fetch's outcome.
// A spool that cannot be removed is logged, and removed at the next start
// (openSpoolDir).
func (b *Bus) removeSpool(f *os.File) {
	f.Close() // read or abandoned: nothing written is lost
	if err := os.Remove(f.Name()); err != nil {
		b.log.Warn("a large packet's spool file was not removed", zap.String("path", f.Name()), zap.Error(err))
	}
}

// openSpoolDir makes dir, the Bus's own spool directory, if it is not
// there, and removes the spools in it: a Bus removes its own, so those
// found at the start are a stopped process's, left mid-fetch.
func openSpoolDir(dir string, log *zap.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("bus: open: spool directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("bus: open: spool directory: %w", err)
	}
	for _, e := range entries {
		if ok, _ := filepath.Match(spoolPattern, e.Name()); !ok || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.Remove(path); err != nil {
			log.Warn("a stale spool file was not removed", zap.String("path", path), zap.Error(err))
			continue
		}
		log.Info("removed a stale spool file, a large packet's left by a fetch that did not end", zap.String("path", path))
	}
	return nil
}

// gatewayToken is the token of this gateway in the subjects of its large
// packets: Options.Gateway, or else Options.Name, with what NATS does not
// allow in a token replaced.
func (b *Bus) gatewayToken() string {
	if t := sanitize(b.opts.Gateway); t != "" {
		return t
	}
	if t := sanitize(b.opts.Name); t != "" {
		return t
	}
	return "gateway"
}

// hourToken reports whether s is a large packet's third name token: the
// hour, alone or followed by "-" and hex (a name of its own, see
// putLarge).
func hourToken(s string) bool {
	hour, suffix, found := strings.Cut(s, "-")
	if found {
		if _, err := hex.DecodeString(suffix); err != nil || suffix == "" || len(suffix) > 32 {
			return false
		}
	}
	return allDigits(hour)
}

// allDigits reports whether s is a decimal number of at most 19 digits
// (an int64).
func allDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// digestOK reports whether s is a hex SHA-256.
func digestOK(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 2*sha256.Size
}
