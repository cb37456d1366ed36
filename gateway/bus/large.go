package bus

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Large packets. A packet above the inline limit does not travel in its
// message: it is stored once in StreamLarge, cut in chunks of LargeChunk
// bytes under the subjects ltlarge.<sending gateway>.<hex SHA-256>.<n>,
// and the message to each recipient names it (HeaderLarge) and carries
// the key that decrypts it (HeaderKey).
//
// Three properties hold against a gateway with valid credentials:
//
//   - Nobody can destroy or alter what another gateway sent: a gateway may
//     publish only under its own token (GatewayPermissions), and the
//     stream refuses deletes and purges (DenyDelete, DenyPurge) to
//     everyone; chunks leave only when they expire.
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
	// ltlarge.<gateway>.<hex SHA-256>.<chunk number>. It is not under
	// lt., so that it crosses a leaf node's link to the hub, where the
	// stream is.
	LargeSubjectPrefix = "ltlarge."
	// LargeChunk is the size of a chunk: well under nats-server's default
	// max payload of 1 MiB.
	LargeChunk = 256 << 10
)

// Headers of a message whose packet is in StreamLarge (its body is empty).
const (
	// HeaderLarge names the packet: <gateway>.<hex SHA-256>, the middle
	// tokens of its chunks' subjects.
	HeaderLarge = "Lt-Large"
	// HeaderSize is the packet's size in bytes.
	HeaderSize = "Lt-Size"
	// HeaderKey is the key that decrypts the chunks, base64.
	HeaderKey = "Lt-Key"
)

// largeKeyDomain separates the key of a packet's chunks from the
// packet's SHA-256, which the subjects show.
const largeKeyDomain = "lienthong large packet key v1\n"

// largeConfig is the stream of large packets' chunks: kept as long as the
// messages that refer to them, one message per chunk subject (a repeated
// put replaces a chunk with the same bytes), and no deletes or purges
// through the API, for anyone.
func largeConfig(o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              StreamLarge,
		Description:       "lienthong packets above the inline limit: encrypted chunks, by sending gateway and SHA-256",
		Subjects:          []string{LargeSubjectPrefix + ">"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		MaxAge:            o.MaxAge,
		Replicas:          o.Replicas,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgsPerSubject: 1,
		MaxConsumers:      -1,
		AllowDirect:       true,
		DenyDelete:        true,
		DenyPurge:         true,
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
	return cipher.NewCTR(block, make([]byte, aes.BlockSize)), nil
}

func chunksOf(size int) int { return (size + LargeChunk - 1) / LargeChunk }

// putLarge stores data, whose hex SHA-256 is digest, in StreamLarge under
// this gateway's token, unless its last chunk is there and young enough
// to outlive the message that will refer to it, and sets the headers of
// that message.
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
	name := b.gatewayToken() + "." + digest
	subject := func(i int) string { return LargeSubjectPrefix + name + "." + strconv.Itoa(i) }
	n := chunksOf(len(data))
	h.Set(HeaderLarge, name)
	h.Set(HeaderSize, strconv.Itoa(len(data)))
	h.Set(HeaderKey, base64.StdEncoding.EncodeToString(key[:]))

	last, err := s.GetLastMsgForSubject(ctx, subject(n-1))
	switch {
	case err == nil && time.Since(last.Time) < b.opts.MaxAge/2:
		return nil
	case err != nil && !errors.Is(err, jetstream.ErrMsgNotFound):
		return fmt.Errorf("look up large packet %s: %w", name, err)
	}
	ctr, err := largeCipher(key[:])
	if err != nil {
		return err
	}
	buf := make([]byte, min(len(data), LargeChunk))
	for i := range n {
		part := data[i*LargeChunk : min(len(data), (i+1)*LargeChunk)]
		ctr.XORKeyStream(buf[:len(part)], part)
		// A synchronous publish: buf is reused once the chunk is stored.
		if _, err := b.hub.PublishMsg(ctx, &nats.Msg{Subject: subject(i), Data: buf[:len(part)]}, jetstream.WithExpectStream(StreamLarge)); err != nil {
			return fmt.Errorf("put chunk %d of %d of large packet %s (%d bytes): %w", i+1, n, name, len(data), err)
		}
	}
	return nil
}

// getLarge reads and decrypts the large packet the headers h name. It
// checks what a sender may lie about before it allocates or reads: the
// name's form, that it names the packet the message's SHA-256 says
// (digest), and the size against the largest packet accepted. A missing
// chunk gives ErrPacketMissing, a chunk of the wrong size
// ErrPacketMismatch; the caller checks the decrypted bytes' SHA-256.
func (b *Bus) getLarge(ctx context.Context, h nats.Header, digest string) ([]byte, error) {
	name := h.Get(HeaderLarge)
	gw, sum, ok := strings.Cut(name, ".")
	if !ok || gw == "" || sanitize(gw) != gw || !strings.EqualFold(sum, digest) {
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
	ctr, err := largeCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	n := chunksOf(size)
	for i := range n {
		subject := LargeSubjectPrefix + name + "." + strconv.Itoa(i)
		m, err := s.GetLastMsgForSubject(ctx, subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return nil, fmt.Errorf("%w: chunk %d of %d (%s) is not in %s", ErrPacketMissing, i+1, n, subject, StreamLarge)
		case err != nil:
			return nil, fmt.Errorf("get chunk %d of %d (%s): %w", i+1, n, subject, err)
		}
		part := out[i*LargeChunk : min(size, (i+1)*LargeChunk)]
		if len(m.Data) != len(part) {
			return nil, fmt.Errorf("%w: chunk %d of %d (%s) has %d bytes, want %d", ErrPacketMismatch, i+1, n, subject, len(m.Data), len(part))
		}
		ctr.XORKeyStream(part, m.Data)
	}
	return out, nil
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

// digestOK reports whether s is a hex SHA-256.
func digestOK(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 2*sha256.Size
}
