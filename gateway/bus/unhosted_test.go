package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// handled records, by message id, how many times a gateway's handler saw a
// packet, and acknowledges it.
type handled struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *handled) handle(ctx context.Context, m gateway.Message) {
	h.mu.Lock()
	h.n[m.MsgID()]++
	h.mu.Unlock()
	m.Ack(ctx)
}

func (h *handled) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[id]
}

// TestBus_GateUnhosted: the administrator assigns a running gateway an
// agency before the gateway is restarted with it in its configuration.
// The agency's packets, old and new, do not reach the handler of the
// gateway that does not host it, and are not lost: they come once the
// gateway hosts it. Then the agency moves to another gateway while the
// first still holds one of its packets unacknowledged: the redelivery to
// the first is settled without its handler, and the second gets it.
func TestBus_GateUnhosted(t *testing.T) {
	b := embeddedBus(t)
	b.opts.GatewayConsumers = true
	b.unhostedDelay = 200 * time.Millisecond
	b.handedOverSettle = time.Second
	ctx := t.Context()
	h41, soyte := envelope.MustAgencyCode("000.00.00.H41"), envelope.MustAgencyCode("000.00.12.H41")
	publishEdoc(t, b, soyte, "early")

	// Configured with H41 only; assigned Sở Y tế too, ahead of it.
	first := &handled{n: map[string]int{}}
	spec := gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{h41}, AckWait: time.Second}
	c, err := b.Consume(ctx, spec, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Assign(ctx, Assignment{Gateway: "nghean", Agencies: []envelope.AgencyCode{h41, soyte}, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	publishEdoc(t, b, soyte, "later")
	publishEdoc(t, b, h41, "own")
	waitFor(t, "H41's own packet", func() bool { return first.count("own") == 1 })
	// Sở Y tế's two packets came again, so the gate had them — and
	// nakked them — before: had it handed them to the handler, which
	// acknowledges, they would not.
	waitFor(t, "Sở Y tế's packets delivered again", func() bool { return redelivered(t, b, "nghean") >= 2 })
	for _, id := range []string{"early", "later"} {
		if n := first.count(id); n != 0 {
			t.Errorf("%s, of an agency not configured, reached the handler %d times", id, n)
		}
	}
	c.Stop()

	// Restarted with it: both come, once.
	spec.Agencies = append(spec.Agencies, soyte)
	second := &handled{n: map[string]int{}}
	if c, err = b.Consume(ctx, spec, second.handle); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Sở Y tế's packets at the gateway now hosting it", func() bool { return second.count("early") == 1 && second.count("later") == 1 })
	c.Stop()

	// Held unacknowledged when the agency moves to another gateway (the
	// first one stuck, then stopped without settling it): the agency's
	// new gateway reads it; the first one, started again without the
	// agency, settles its redelivery without handling it.
	held := make(chan struct{})
	var once sync.Once
	holder := &handled{n: map[string]int{}}
	if c, err = b.Consume(ctx, spec, func(ctx context.Context, m gateway.Message) {
		if m.MsgID() == "held" {
			once.Do(func() { close(held) }) // and never acknowledged
			return
		}
		holder.handle(ctx, m)
	}); err != nil {
		t.Fatal(err)
	}
	publishEdoc(t, b, soyte, "held")
	<-held
	for {
		// (Once nghean's catch-up of Sở Y tế has ended.)
		err := b.Assign(ctx, Assignment{Gateway: "soyte", Agencies: []envelope.AgencyCode{soyte}, AckWait: time.Second})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrCatchUpRunning) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Stop()
	next := &handled{n: map[string]int{}}
	other, err := openSibling(t, b).Consume(ctx, gateway.ConsumerSpec{Gateway: "soyte", Agencies: []envelope.AgencyCode{soyte}, AckWait: time.Second}, next.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	waitFor(t, "the held packet at the agency's new gateway", func() bool { return next.count("held") == 1 })

	spec.Agencies = []envelope.AgencyCode{h41}
	after := &handled{n: map[string]int{}}
	if c, err = b.Consume(ctx, spec, after.handle); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	waitFor(t, "the held packet settled at the first gateway", func() bool {
		info, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("nghean", gateway.KindEdoc))
		return err == nil && info.CachedInfo().NumAckPending == 0 && info.CachedInfo().NumPending == 0
	})
	if n := after.count("held"); n != 0 {
		t.Errorf("the held packet reached the handler of the first gateway, which no longer hosts its agency, %d times", n)
	}
	if n := next.count("held"); n != 1 {
		t.Errorf("the held packet reached the agency's new gateway %d times", n)
	}
}

// gatewayConsumers are the names, by stream, of a gateway's consumer and
// catch-up.
func gatewayConsumers(gw string) map[string][]string {
	return map[string][]string{
		StreamEdoc:   {GatewayConsumerName(gw, gateway.KindEdoc), CatchUpConsumerName(gw, gateway.KindEdoc)},
		StreamStatus: {GatewayConsumerName(gw, gateway.KindStatus), CatchUpConsumerName(gw, gateway.KindStatus)},
	}
}

// drained waits until gw's consumers, its catch-up included, hold
// nothing: no packet waiting, none delivered and not settled (a nakked
// one stays so until it comes again). A handled handler counts before it
// acknowledges: from then on its counts are final until more is
// published, and a packet it did not get never comes.
func drained(t *testing.T, b *Bus, gw string) {
	t.Helper()
	waitFor(t, gw+"'s consumers to drain", func() bool {
		for stream, names := range gatewayConsumers(gw) {
			for _, name := range names {
				c, err := b.js.Consumer(t.Context(), stream, name)
				if errors.Is(err, jetstream.ErrConsumerNotFound) {
					continue
				}
				if err != nil {
					return false
				}
				if i := c.CachedInfo(); i.NumPending > 0 || i.NumAckPending > 0 {
					return false
				}
			}
		}
		return true
	})
}

// redelivered is how many packets gw's consumers, its catch-up included,
// delivered more than once and hold unsettled.
func redelivered(t *testing.T, b *Bus, gw string) int {
	t.Helper()
	n := 0
	for stream, names := range gatewayConsumers(gw) {
		for _, name := range names {
			c, err := b.js.Consumer(t.Context(), stream, name)
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			n += c.CachedInfo().NumRedelivered
		}
	}
	return n
}

// openSibling opens another gateway's bus on b's server, with gateway
// consumers and b's unhosted delay.
func openSibling(t *testing.T, b *Bus) *Bus {
	t.Helper()
	o, err := Open(t.Context(), Options{URL: b.nc.ConnectedUrl(), GatewayConsumers: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.unhostedDelay, o.handedOverSettle = b.unhostedDelay, b.handedOverSettle
	t.Cleanup(func() { o.Close() })
	return o
}

// publishEdoc publishes an edoc packet for agency a, its data and message
// id both id.
func publishEdoc(t *testing.T, b *Bus, a envelope.AgencyCode, id string) {
	t.Helper()
	if _, err := b.js.Publish(t.Context(), gateway.Subject(gateway.KindEdoc, a), []byte(id), jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits up to 20 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBus_AssignToIdleGateway: an agency moves to a gateway whose consumer
// has delivered nothing for a while (its agency sends nothing). That
// consumer goes on from where it last delivered, before the agency's
// earlier packets, which the agency's previous gateway handled: the new
// gateway does not handle them again, and gets every packet from the
// hand-over on, once.
func TestBus_AssignToIdleGateway(t *testing.T) {
	b := embeddedBus(t)
	b.opts.GatewayConsumers = true
	b.unhostedDelay = 200 * time.Millisecond
	ctx := t.Context()
	x, v := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02")
	first, second := &handled{n: map[string]int{}}, &handled{n: map[string]int{}}
	ca, err := b.Consume(ctx, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Stop()
	other := openSibling(t, b)
	specB := gateway.ConsumerSpec{Gateway: "gwB", Agencies: []envelope.AgencyCode{v}, AckWait: time.Second}
	cb, err := other.Consume(ctx, specB, second.handle)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		publishEdoc(t, b, x, fmt.Sprintf("before-%d", i))
	}
	waitFor(t, "the first gateway's packets", func() bool { return first.count("before-9") == 1 })

	// Taken by gwB while it runs without it, then gwB restarted with it.
	if err := b.Assign(ctx, Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{v, x}, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	cb.Stop()
	specB.Agencies = append(specB.Agencies, x)
	if cb, err = other.Consume(ctx, specB, second.handle); err != nil {
		t.Fatal(err)
	}
	defer cb.Stop()
	for i := range 5 {
		publishEdoc(t, b, x, fmt.Sprintf("after-%d", i))
	}
	waitFor(t, "the new gateway's packets", func() bool { return second.count("after-4") == 1 })
	drained(t, b, "gwB")
	for i := range 10 {
		if n := second.count(fmt.Sprintf("before-%d", i)); n != 0 {
			t.Errorf("before-%d, handled by the agency's previous gateway, reached the new one %d times", i, n)
		}
	}
	for i := range 5 {
		id := fmt.Sprintf("after-%d", i)
		if n, m := second.count(id), first.count(id); n != 1 || m != 0 {
			t.Errorf("%s reached the new gateway %d times and the previous one %d", id, n, m)
		}
	}
}

// TestBus_AssignCheckID: a gateway id its consumers' names could not tell
// from another (a.b and a_b would share gwc_edoc_a_b) is refused.
func TestBus_AssignCheckID(t *testing.T) {
	b := embeddedBus(t)
	for _, id := range []string{"", "a.b", "nghe an", "admin_x"} {
		if err := b.Assign(t.Context(), Assignment{Gateway: id, Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.H41")}}); err == nil {
			t.Errorf("gateway id %q assigned", id)
		}
	}
}

// TestBus_AssignDiesAfterHandOver: an assignment that dies once it has
// taken an agency from another gateway, before it recorded the exact
// point, is run again: the agency's new gateway starts where the other's
// acknowledgements reached, not at the agency's first message.
func TestBus_AssignDiesAfterHandOver(t *testing.T) {
	b := embeddedBus(t)
	b.opts.GatewayConsumers = true
	ctx := t.Context()
	x, v := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02")
	first := &handled{n: map[string]int{}}
	ca, err := b.Consume(ctx, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Stop()
	for i := range 10 {
		id := fmt.Sprintf("before-%d", i)
		publishEdoc(t, b, x, id)
	}
	waitFor(t, "gwA's packets", func() bool { return first.count("before-9") == 1 })
	waitFor(t, "gwA's acknowledgements", func() bool {
		c, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gwA", gateway.KindEdoc))
		return err == nil && c.CachedInfo().NumAckPending == 0 && c.CachedInfo().AckFloor.Stream >= 10
	})
	if err := b.Assign(ctx, Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{v}}); err != nil {
		t.Fatal(err)
	}
	b.handedOver = func() error { return errors.New("the process dies") }
	if err := b.Assign(ctx, Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{v, x}}); err == nil {
		t.Fatal("the assignment did not die")
	}
	b.handedOver = nil
	if err := b.Assign(ctx, Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{v, x}}); err != nil {
		t.Fatal(err)
	}
	second := &handled{n: map[string]int{}}
	cb, err := openSibling(t, b).Consume(ctx, gateway.ConsumerSpec{Gateway: "gwB", Agencies: []envelope.AgencyCode{v, x}, AckWait: time.Second}, second.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Stop()
	publishEdoc(t, b, x, "after")
	waitFor(t, "gwB's packet", func() bool { return second.count("after") == 1 })
	drained(t, b, "gwB")
	for i := range 10 {
		if n := second.count(fmt.Sprintf("before-%d", i)); n != 0 {
			t.Errorf("before-%d, handled by gwA, reached gwB %d times", i, n)
		}
	}
}

// TestBus_HandOverWhileNakked: an agency assigned to a gateway ahead of
// its configuration, its packet nakked there for later, is moved to
// another gateway, which gets the packet; the first never handles it.
// (The race the gate's handedOverWait closes — the first gateway
// acknowledging the packet while the hand-over still waits for its
// acknowledgements, so that the point passes it — needs the first
// gateway's pull requests waiting at that moment, which this test does
// not arrange every time: it passes without handedOverWait too.)
func TestBus_HandOverWhileNakked(t *testing.T) {
	b := embeddedBus(t)
	b.opts.GatewayConsumers = true
	b.unhostedDelay = 100 * time.Millisecond
	b.handedOverSettle = handoverDrain(time.Second) + time.Second
	ctx := t.Context()
	h41, x := envelope.MustAgencyCode("000.00.00.H41"), envelope.MustAgencyCode("000.00.00.G01")
	first := &handled{n: map[string]int{}}
	c, err := b.Consume(ctx, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{h41}, AckWait: time.Second}, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := b.Assign(ctx, Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{h41, x}, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "gwA's (empty) catch-up to come and go", func() bool {
		_, err := b.js.Consumer(ctx, StreamEdoc, CatchUpConsumerName("gwA", gateway.KindEdoc))
		return errors.Is(err, jetstream.ErrConsumerNotFound)
	})
	publishEdoc(t, b, x, "x")
	waitFor(t, "x nakked at gwA and delivered again", func() bool { return redelivered(t, b, "gwA") > 0 })
	waitFor(t, "the assignment to gwB", func() bool {
		err := b.Assign(ctx, Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second})
		return err == nil
	})
	second := &handled{n: map[string]int{}}
	cb, err := openSibling(t, b).Consume(ctx, gateway.ConsumerSpec{Gateway: "gwB", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}, second.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Stop()
	waitFor(t, "the packet at gwB", func() bool { return second.count("x") == 1 })
	if n := first.count("x"); n != 0 {
		t.Errorf("gwA, which never hosted x, handled its packet %d times", n)
	}
}

// TestBus_HandOverFromIdleHolder: an agency taken by a gateway that never
// read its consumer (down, or idle since before the agency's packets),
// then moved on again: its next holder starts where the idle gateway's
// hold began, not at the agency's first packet, which the gateway before
// it handled.
func TestBus_HandOverFromIdleHolder(t *testing.T) {
	b := embeddedBus(t)
	b.opts.GatewayConsumers = true
	ctx := t.Context()
	x, v, w := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02"), envelope.MustAgencyCode("000.00.00.G03")
	// gwG's consumer exists, nobody reads it.
	if err := b.Assign(ctx, Assignment{Gateway: "gwG", Agencies: []envelope.AgencyCode{v}}); err != nil {
		t.Fatal(err)
	}
	first := &handled{n: map[string]int{}}
	ca, err := b.Consume(ctx, gateway.ConsumerSpec{Gateway: "gwF", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Stop()
	for i := range 10 {
		id := fmt.Sprintf("before-%d", i)
		publishEdoc(t, b, x, id)
	}
	waitFor(t, "gwF's packets", func() bool { return first.count("before-9") == 1 })
	waitFor(t, "gwF's acknowledgements", func() bool {
		c, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gwF", gateway.KindEdoc))
		return err == nil && c.CachedInfo().NumAckPending == 0
	})
	assign := func(gw string, agencies ...envelope.AgencyCode) {
		t.Helper()
		waitFor(t, "assign "+gw, func() bool {
			err := b.Assign(ctx, Assignment{Gateway: gw, Agencies: agencies, AckWait: time.Second})
			if err != nil && !errors.Is(err, ErrCatchUpRunning) {
				t.Fatal(err)
			}
			return err == nil
		})
	}
	assign("gwG", v, x)
	assign("gwH", w, x)
	third := &handled{n: map[string]int{}}
	ch, err := openSibling(t, b).Consume(ctx, gateway.ConsumerSpec{Gateway: "gwH", Agencies: []envelope.AgencyCode{w, x}, AckWait: time.Second}, third.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Stop()
	publishEdoc(t, b, x, "after")
	waitFor(t, "gwH's packet", func() bool { return third.count("after") == 1 })
	drained(t, b, "gwH")
	for i := range 10 {
		if n := third.count(fmt.Sprintf("before-%d", i)); n != 0 {
			t.Errorf("before-%d, handled by gwF, reached gwH %d times", i, n)
		}
	}
}
