package bus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// wait bounds every wait in the tests.
const wait = 10 * time.Second

// Agencies of the tests.
var (
	agencyH41 = envelope.MustAgencyCode("000.00.12.H41") // tokens H41.12
	agencyG22 = envelope.MustAgencyCode("000.00.00.G22") // tokens G22
	agencyH37 = envelope.MustAgencyCode("H37.02.02")     // tokens H37.02.02
)

// startServer starts an embedded server with JetStream in dir on a free
// loopback port, shut down when the test ends.
func startServer(t testing.TB, dir string) *server.Server {
	t.Helper()
	return startServerPort(t, dir, -1)
}

// startServerPort is startServer on a given port.
func startServerPort(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{Dir: dir, Port: port, Name: "test"})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// openBus opens a Bus on url, closed when the test ends.
func openBus(t testing.TB, url string, opts bus.Options) *bus.Bus {
	t.Helper()
	opts.URL = url
	if opts.ReconnectWait == 0 {
		opts.ReconnectWait = 50 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = wait
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := bus.Open(ctx, opts, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// withBus starts a server in a temporary directory and opens a Bus on it.
func withBus(t testing.TB) (*bus.Bus, *server.Server) {
	t.Helper()
	srv := startServer(t, t.TempDir())
	return openBus(t, srv.ClientURL(), bus.Options{}), srv
}

// rawJetStream connects to srv directly, for what the Bus does not offer:
// reading raw messages, damaging objects, deleting directory entries.
func rawJetStream(t testing.TB, srv *server.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// publish publishes a packet to kind's subject for agency and fails the
// test on error.
func publish(t testing.TB, b *bus.Bus, kind gateway.PacketKind, agency envelope.AgencyCode, msgID string, packet []byte) gateway.PubAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ack, err := b.Publish(ctx, gateway.Publication{Subject: gateway.Subject(kind, agency), MsgID: msgID, Packet: packet})
	if err != nil {
		t.Fatalf("Publish %s: %v", msgID, err)
	}
	return ack
}

// received is what a handler saw of one message.
type received struct {
	Subject      string
	MsgID        string
	Kind         gateway.PacketKind
	Packet       []byte
	PacketErr    error
	NumDelivered uint64
}

// collector is a handler that records each message (packet included)
// and settles it with settle, acking when settle is nil.
type collector struct {
	settle func(m gateway.Message) // nil: Ack
	ch     chan received
	mu     sync.Mutex
	all    []received
	busy   int // handlers running
}

func newCollector(settle func(m gateway.Message)) *collector {
	return &collector{settle: settle, ch: make(chan received, 1024)}
}

func (c *collector) handle(ctx context.Context, m gateway.Message) {
	c.mu.Lock()
	c.busy++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.busy--
		c.mu.Unlock()
	}()
	p, err := m.Packet(ctx)
	r := received{Subject: m.Subject(), MsgID: m.MsgID(), Kind: m.Kind(), Packet: p, PacketErr: err, NumDelivered: m.NumDelivered()}
	if c.settle != nil {
		c.settle(m)
	} else if err := m.Ack(ctx); err != nil {
		r.PacketErr = err
	}
	c.mu.Lock()
	c.all = append(c.all, r)
	c.mu.Unlock()
	c.ch <- r
}

// next returns the next message, failing the test after wait.
func (c *collector) next(t testing.TB) received {
	t.Helper()
	return c.nextWithin(t, wait)
}

// nextWithin returns the next message, failing the test after d.
func (c *collector) nextWithin(t testing.TB, d time.Duration) received {
	t.Helper()
	select {
	case r := <-c.ch:
		return r
	case <-time.After(d):
		t.Fatalf("no message after %s", d)
		return received{}
	}
}

// none fails the test if a message comes within d.
func (c *collector) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case r := <-c.ch:
		t.Fatalf("unexpected message %s on %s (delivery %d)", r.MsgID, r.Subject, r.NumDelivered)
	case <-time.After(d):
	}
}

// settled is the barrier after which nothing more comes unless it is
// published (quiet), and fails the test if the collector then has a
// message the test has not taken.
func (c *collector) settled(t testing.TB, cons gateway.Consumer) {
	t.Helper()
	c.quiet(t, cons)
	select {
	case r := <-c.ch:
		t.Fatalf("unexpected message %s on %s (delivery %d)", r.MsgID, r.Subject, r.NumDelivered)
	default:
	}
}

// quiet waits until cons holds nothing — no message waiting on the
// streams, none delivered and not settled (a nakked one stays so until it
// comes again) — and then until the collector's handlers, which settle
// before they record, are done: from then on the collector has all it
// will get until more is published.
func (c *collector) quiet(t testing.TB, cons gateway.Consumer) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		p, err := cons.Pending(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if p[bus.StreamEdoc] == 0 && p[bus.StreamStatus] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumers still hold %v after %s", p, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		c.mu.Lock()
		busy := c.busy
		c.mu.Unlock()
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d handlers still running after %s", busy, wait)
		}
		time.Sleep(time.Millisecond)
	}
}

// consume starts consumers for gatewayID on agencies with c's handler;
// they are stopped when the test ends.
func consume(t testing.TB, b *bus.Bus, spec gateway.ConsumerSpec, h gateway.Handler) gateway.Consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := b.Consume(ctx, spec, h)
	if err != nil {
		cancel()
		t.Fatalf("Consume: %v", err)
	}
	t.Cleanup(func() {
		c.Stop()
		cancel()
	})
	return c
}
