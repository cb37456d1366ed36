package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/gateway"
)

// message is a received message: it implements gateway.Message.
type message struct {
	bus *Bus
	m   jetstream.Msg
}

// Subject returns the message's subject, lt.edoc.<tokens> or
// lt.status.<tokens>.
func (m *message) Subject() string { return m.m.Subject() }

// MsgID returns the message's Nats-Msg-Id.
func (m *message) MsgID() string { return m.m.Headers().Get(jetstream.MsgIDHeader) }

// Kind tells a status (lt.status.…) from a document.
func (m *message) Kind() gateway.PacketKind {
	if strings.HasPrefix(m.m.Subject(), gateway.StatusSubjectPrefix) {
		return gateway.KindStatus
	}
	return gateway.KindEdoc
}

// Packet returns the packet: the message body, or the large packet
// HeaderLarge names, fetched from StreamLarge and decrypted under ctx's
// deadline or Options.Timeout. The bytes are checked against
// HeaderSHA256. A missing chunk gives ErrPacketMissing, a mismatch or a
// missing or malformed header ErrPacketMismatch.
func (m *message) Packet(ctx context.Context) ([]byte, error) {
	h := m.m.Headers()
	want := h.Get(HeaderSHA256)
	if !digestOK(want) {
		return nil, fmt.Errorf("%w: message %s on %s: header %s is %q, not a hex SHA-256", ErrPacketMismatch, m.MsgID(), m.Subject(), HeaderSHA256, want)
	}
	data := m.m.Data()
	if h.Get(HeaderLarge) != "" {
		ctx, cancel := m.bus.deadline(ctx)
		defer cancel()
		b, err := m.bus.getLarge(ctx, h, want)
		if err != nil {
			return nil, fmt.Errorf("bus: message %s on %s: %w", m.MsgID(), m.Subject(), err)
		}
		data = b
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
		return nil, fmt.Errorf("%w: message %s on %s: %d bytes with SHA-256 %s, the message says %s", ErrPacketMismatch, m.MsgID(), m.Subject(), len(data), got, strings.ToLower(want))
	}
	return data, nil
}

// NumDelivered returns how many times the message was delivered, this
// time included; 0 if its metadata cannot be read.
func (m *message) NumDelivered() uint64 {
	md, err := m.m.Metadata()
	if err != nil {
		return 0
	}
	return md.NumDelivered
}

// Ack acknowledges the message and waits for the server's confirmation,
// under ctx's deadline or Options.Timeout.
func (m *message) Ack(ctx context.Context) error {
	ctx, cancel := m.bus.deadline(ctx)
	defer cancel()
	if err := m.m.DoubleAck(ctx); err != nil {
		return fmt.Errorf("bus: ack %s on %s: %w", m.MsgID(), m.Subject(), err)
	}
	return nil
}

// Nak asks for redelivery after delay (at once if delay is not positive).
func (m *message) Nak(delay time.Duration) error {
	var err error
	if delay > 0 {
		err = m.m.NakWithDelay(delay)
	} else {
		err = m.m.Nak()
	}
	if err != nil {
		return fmt.Errorf("bus: nak %s on %s: %w", m.MsgID(), m.Subject(), err)
	}
	return nil
}

// InProgress resets the ack wait.
func (m *message) InProgress() error {
	if err := m.m.InProgress(); err != nil {
		return fmt.Errorf("bus: in progress %s on %s: %w", m.MsgID(), m.Subject(), err)
	}
	return nil
}

// Term stops redelivery for good, with reason recorded by the server.
func (m *message) Term(reason string) error {
	var err error
	if reason != "" {
		err = m.m.TermWithReason(reason)
	} else {
		err = m.m.Term()
	}
	if err != nil {
		return fmt.Errorf("bus: term %s on %s: %w", m.MsgID(), m.Subject(), err)
	}
	return nil
}
