package testkit

import (
	"context"
	"sync"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// Bus wraps a gateway.Bus and injects Faults into its methods, by their
// names ("Publish", "Consume", "Heartbeat" …); a call given a fault
// returns its error without reaching the bus. Every message Consume
// delivers is handed to the handler as a *Message with the Messages
// faults, and then, once the handler returned, sent to Handled if it is
// not nil: a test waits there for what the gateway did with each
// delivery, instead of sleeping.
type Bus struct {
	gateway.Bus
	Faults *Faults
	// Messages are the faults of the delivered messages, counted over
	// all of them ("Ack", "Nak", "Packet" …).
	Messages *Faults
	// NakNow makes every delivered message's Nak ask for redelivery at
	// once, whatever delay the handler asked for (which its Message
	// records): a redelivery test then does not wait out the gateway's
	// back-off.
	NakNow bool
	// Handled receives every delivered message after its handler
	// returned. It should be buffered, or read: a full channel holds the
	// consumer.
	Handled chan *Message

	mu      sync.Mutex
	handler gateway.Handler
}

var _ gateway.Bus = (*Bus)(nil)

// Handler returns the handler the gateway gave Consume, unwrapped, or
// nil before it did: a test calls it with messages of its own.
func (b *Bus) Handler() gateway.Handler {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.handler
}

// Publish is gateway.Bus's, unless Faults says otherwise.
func (b *Bus) Publish(ctx context.Context, m gateway.Publication) (gateway.PubAck, error) {
	if err := b.Faults.enter(ctx, "Publish"); err != nil {
		return gateway.PubAck{}, err
	}
	return b.Bus.Publish(ctx, m)
}

// Consume is gateway.Bus's, unless Faults says otherwise; it wraps h so
// that each message is a *Message (see Bus).
func (b *Bus) Consume(ctx context.Context, c gateway.ConsumerSpec, h gateway.Handler) (gateway.Consumer, error) {
	if err := b.Faults.enter(ctx, "Consume"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.handler = h
	b.mu.Unlock()
	return b.Bus.Consume(ctx, c, func(ctx context.Context, m gateway.Message) {
		w := &Message{Message: m, Faults: b.Messages, NakNow: b.NakNow}
		h(ctx, w)
		if b.Handled != nil {
			select {
			case b.Handled <- w:
			case <-ctx.Done():
			}
		}
	})
}

// WatchDirectory is gateway.Bus's, unless Faults says otherwise.
func (b *Bus) WatchDirectory(ctx context.Context, held func(key string, revision uint64) bool, fn func(gateway.DirectoryUpdate)) error {
	if err := b.Faults.enter(ctx, "WatchDirectory"); err != nil {
		return err
	}
	return b.Bus.WatchDirectory(ctx, held, fn)
}

// DirectoryRecord is gateway.Bus's, unless Faults says otherwise.
func (b *Bus) DirectoryRecord(ctx context.Context, key string) ([]byte, error) {
	if err := b.Faults.enter(ctx, "DirectoryRecord"); err != nil {
		return nil, err
	}
	return b.Bus.DirectoryRecord(ctx, key)
}

// Heartbeat is gateway.Bus's, unless Faults says otherwise.
func (b *Bus) Heartbeat(ctx context.Context, h gateway.GatewayBeat) error {
	if err := b.Faults.enter(ctx, "Heartbeat"); err != nil {
		return err
	}
	return b.Bus.Heartbeat(ctx, h)
}

// Gateways is gateway.Bus's, unless Faults says otherwise.
func (b *Bus) Gateways(ctx context.Context) ([]gateway.GatewayBeat, error) {
	if err := b.Faults.enter(ctx, "Gateways"); err != nil {
		return nil, err
	}
	return b.Bus.Gateways(ctx)
}

// Connected is gateway.Bus's, or false while Faults gives its call an
// error: a connection that is down.
func (b *Bus) Connected() bool {
	if err := b.Faults.enter(nil, "Connected"); err != nil {
		return false
	}
	return b.Bus.Connected()
}

// Close is gateway.Bus's, unless Faults says otherwise.
func (b *Bus) Close() error {
	if err := b.Faults.enter(nil, "Close"); err != nil {
		return err
	}
	return b.Bus.Close()
}

// Message wraps a gateway.Message: it injects Faults into its methods
// ("Packet", "Ack", "Nak", "InProgress", "Term"), can report another
// delivery count, and records how the handler settled it.
type Message struct {
	gateway.Message
	Faults *Faults
	// Delivered, if not 0, is what NumDelivered reports: a message as
	// its n-th delivery, without n deliveries.
	Delivered uint64
	// NakNow passes every Nak on with no delay (see Bus.NakNow).
	NakNow bool

	mu   sync.Mutex
	acts []Act
}

var _ gateway.Message = (*Message)(nil)

// Act is one call of a message's Ack, Nak, InProgress or Term, and what
// it returned.
type Act struct {
	Op     string        // "Ack", "Nak", "InProgress" or "Term"
	Delay  time.Duration // Nak's delay, as asked
	Reason string        // Term's reason
	Err    error
}

// Acts returns the calls of Ack, Nak, InProgress and Term, in order.
func (m *Message) Acts() []Act {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Act(nil), m.acts...)
}

// Settled returns the last call of Ack, Nak or Term, and false if there
// was none: the message is then left to its ack wait.
func (m *Message) Settled() (Act, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.acts) - 1; i >= 0; i-- {
		if m.acts[i].Op != "InProgress" {
			return m.acts[i], true
		}
	}
	return Act{}, false
}

func (m *Message) record(a Act) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acts = append(m.acts, a)
	return a.Err
}

// NumDelivered is Delivered, if set, or the wrapped message's.
func (m *Message) NumDelivered() uint64 {
	if m.Delivered != 0 {
		return m.Delivered
	}
	return m.Message.NumDelivered()
}

// Packet is gateway.Message's, unless Faults says otherwise.
func (m *Message) Packet(ctx context.Context) ([]byte, error) {
	if err := m.Faults.enter(ctx, "Packet"); err != nil {
		return nil, err
	}
	return m.Message.Packet(ctx)
}

// Ack is gateway.Message's, unless Faults says otherwise.
func (m *Message) Ack(ctx context.Context) error {
	err := m.Faults.enter(ctx, "Ack")
	if err == nil {
		err = m.Message.Ack(ctx)
	}
	return m.record(Act{Op: "Ack", Err: err})
}

// Nak is gateway.Message's, unless Faults says otherwise; with NakNow the
// wrapped message is nakked with no delay.
func (m *Message) Nak(delay time.Duration) error {
	err := m.Faults.enter(nil, "Nak")
	if err == nil {
		d := delay
		if m.NakNow {
			d = 0
		}
		err = m.Message.Nak(d)
	}
	return m.record(Act{Op: "Nak", Delay: delay, Err: err})
}

// InProgress is gateway.Message's, unless Faults says otherwise.
func (m *Message) InProgress() error {
	err := m.Faults.enter(nil, "InProgress")
	if err == nil {
		err = m.Message.InProgress()
	}
	return m.record(Act{Op: "InProgress", Err: err})
}

// Term is gateway.Message's, unless Faults says otherwise.
func (m *Message) Term(reason string) error {
	err := m.Faults.enter(nil, "Term")
	if err == nil {
		err = m.Message.Term(reason)
	}
	return m.record(Act{Op: "Term", Reason: reason, Err: err})
}

// NewMessage returns a message made in a test, as if the bus had
// delivered it for the first time on subject, with Nats-Msg-Id msgID and
// the packet data of kind. Settling it changes nothing on any bus: the
// Message records it, and its Faults (nil: none) apply. Set Delivered to
// make it a redelivery.
func NewMessage(subject, msgID string, kind gateway.PacketKind, data []byte) *Message {
	return &Message{Message: made{subject: subject, msgID: msgID, kind: kind, data: data}}
}

// made is the message of NewMessage.
type made struct {
	subject, msgID string
	kind           gateway.PacketKind
	data           []byte
}

func (m made) Subject() string                        { return m.subject }
func (m made) MsgID() string                          { return m.msgID }
func (m made) Kind() gateway.PacketKind               { return m.kind }
func (m made) Packet(context.Context) ([]byte, error) { return m.data, nil }
func (made) NumDelivered() uint64                     { return 1 }
func (made) Ack(context.Context) error                { return nil }
func (made) Nak(time.Duration) error                  { return nil }
func (made) InProgress() error                        { return nil }
func (made) Term(string) error                        { return nil }
