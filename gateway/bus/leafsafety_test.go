package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// TestLeafPermissions_FlowControl lists the flow-control subjects a leaf
// node may publish at the hub: for the packet streams only its own
// consumers' (a reply acknowledges an AckFlowControl consumer up to its
// Nats-Last-Stream), in both of nats-server's formats
// ($JS.FC.<stream>.<consumer>.<token>, $JS.FC.<domain>.<account
// hash>.<stream>.<consumer>.<token>); for the mirrors of the directory and
// the heartbeats (AckNone consumers with names nats-server makes up) the
// whole stream.
func TestLeafPermissions_FlowControl(t *testing.T) {
	p := bus.LeafPermissions("h41", "hub", []string{"nghean"})
	var got []string
	for _, s := range p.Publish {
		if len(s) > len("$JS.FC.") && s[:len("$JS.FC.")] == "$JS.FC." {
			got = append(got, s)
		}
	}
	var want []string
	for _, kv := range []string{"KV_" + bus.BucketDirectory, "KV_" + bus.BucketGateways} {
		want = append(want, "$JS.FC."+kv+".>", "$JS.FC.hub.*."+kv+".>")
	}
	for _, s := range []struct {
		stream string
		kind   gateway.PacketKind
	}{{bus.StreamEdoc, gateway.KindEdoc}, {bus.StreamStatus, gateway.KindStatus}} {
		for _, name := range []string{bus.LeafConsumerName("h41", s.kind), bus.LeafCatchUpConsumerName("h41", s.kind)} {
			want = append(want, "$JS.FC."+s.stream+"."+name+".*", "$JS.FC.hub.*."+s.stream+"."+name+".*")
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("flow-control subjects:\n got %q\nwant %q", got, want)
	}
}

// TestBus_LeafForgedFlowControl: a leaf node answering another leaf's
// consumer's flow control (whose link is down, so its token stays) would
// acknowledge what that leaf has not stored, which its source then skips
// when it resets to the ack floor on reconnecting. The hub drops the reply;
// the same reply from the hub's side (a positive control) is taken. Both of
// nats-server's forms of the flow-control subject: v1,
// $JS.FC.<stream>.<consumer>.<token>, and v2 (feature flag js_ack_fc_v2),
// $JS.FC.<domain>.<account hash>.<stream>.<consumer>.<token>; a consumer
// listens on both and takes a reply on the one it sent.
func TestBus_LeafForgedFlowControl(t *testing.T) {
	for _, form := range []struct {
		name, prefix string
		hubFlags     []string
	}{
		{"v1", "$JS.FC." + bus.StreamEdoc + ".", nil},
		{"v2", "$JS.FC.hub.", []string{"js_ack_fc_v2"}},
	} {
		t.Run(form.name, func(t *testing.T) {
			testLeafForgedFlowControl(t, form.prefix, form.hubFlags)
		})
	}
}

// testLeafForgedFlowControl is TestBus_LeafForgedFlowControl with the
// hub's feature flags hubFlags, under which the flow-control requests'
// replies start with prefix.
func testLeafForgedFlowControl(t *testing.T, prefix string, hubFlags []string) {
	p := newLeafPair(t, hubFlags...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	defer cancel()
	admin := p.adminJetStream()
	other := bus.LeafConsumerName("h42", gateway.KindEdoc)
	if _, err := admin.CreatePushConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
		Durable: other, DeliverSubject: bus.LeafDeliverPrefix("h42") + ".src.edoc", DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy: jetstream.AckFlowControlPolicy, FlowControl: true, IdleHeartbeat: time.Second, MaxAckPending: 1000,
		FilterSubjects: []string{"lt.edoc.H42"},
	}); err != nil {
		t.Fatal(err)
	}
	// The hub's side of h42's link: it receives, never answers.
	anc := admin.Conn()
	fc := make(chan string, 10)
	sub, err := anc.Subscribe(bus.LeafDeliverPrefix("h42")+".src.edoc", func(m *nats.Msg) {
		if m.Header.Get("Status") == "100" && m.Reply != "" {
			fc <- m.Reply
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := anc.Flush(); err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 3 {
		a, err := admin.Publish(ctx, "lt.edoc.H42", []byte("for-h42-"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		last = a.Sequence
	}
	var reply string
	select {
	case reply = <-fc:
	case <-time.After(wait):
		t.Fatal("no flow-control request from h42's consumer")
	}
	if !strings.HasPrefix(reply, prefix) || !strings.HasSuffix(reply, "."+bus.StreamEdoc+"."+other+"."+reply[len(reply)-4:]) {
		t.Fatalf("flow-control reply %s, want %s….%s.%s.<token>", reply, prefix, bus.StreamEdoc, other)
	}
	forge := func(nc *nats.Conn) {
		t.Helper()
		m := nats.NewMsg(reply)
		m.Header.Set("Nats-Last-Consumer", "3")
		m.Header.Set("Nats-Last-Stream", strconv.FormatUint(last, 10))
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	ackFloor := func() uint64 {
		t.Helper()
		c, err := admin.PushConsumer(ctx, bus.StreamEdoc, other)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().AckFloor.Stream
	}
	if f := ackFloor(); f >= last {
		t.Fatalf("h42's consumer is acknowledged to %d before anything answered", f)
	}

	lnc, err := nats.Connect(p.leaf.ClientURL(), nats.CustomInboxPrefix(bus.InboxPrefix("nghean")))
	if err != nil {
		t.Fatal(err)
	}
	defer lnc.Close()
	forge(lnc)
	// A request through the same link after it: the hub has handled the
	// forged reply (its consumer's flow control runs as the link's
	// message is delivered) when the answer comes.
	if _, err := lnc.Request("$JS.hub.API.CONSUMER.INFO."+bus.StreamEdoc+"."+bus.LeafConsumerName("h41", gateway.KindEdoc), nil, wait); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if f := ackFloor(); f >= last {
		t.Errorf("the leaf h41 acknowledged h42's consumer to %d through its flow control %s", f, reply)
	}
	// The same reply from the hub's side is taken: the token was live.
	forge(anc)
	deadline := time.Now().Add(wait)
	for ackFloor() < last {
		if time.Now().After(deadline) {
			t.Fatalf("the positive control: h42's flow-control reply %s from the hub did not acknowledge to %d", reply, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLeafPermissions_JetStreamReplies lists the answers to JetStream
// requests a leaf node may send and hear at the hub: in nats-server's
// scoped form only ($JSC.R.<domain>.<account hash>.<stream>.<consumer>.<id>),
// the answers to the hub's requests to its own domain about its
// out-streams, and those about its own consumers of the packet streams and
// the mirrors'; never $JSC.R.>, which is every such answer in the account.
func TestLeafPermissions_JetStreamReplies(t *testing.T) {
	p := bus.LeafPermissions("h41", "hub", []string{"nghean"})
	pick := func(subjects []string) []string {
		var got []string
		for _, s := range subjects {
			if strings.HasPrefix(s, "$JSC.") {
				got = append(got, s)
			}
		}
		return got
	}
	wantPub := []string{"$JSC.R.h41.*." + bus.StreamOutEdoc + ".*.*", "$JSC.R.h41.*." + bus.StreamOutStatus + ".*.*"}
	wantSub := []string{"$JSC.R.hub.*.KV_" + bus.BucketDirectory + ".*.*", "$JSC.R.hub.*.KV_" + bus.BucketGateways + ".*.*"}
	for _, s := range []struct {
		stream string
		kind   gateway.PacketKind
	}{{bus.StreamEdoc, gateway.KindEdoc}, {bus.StreamStatus, gateway.KindStatus}} {
		for _, name := range []string{bus.LeafConsumerName("h41", s.kind), bus.LeafCatchUpConsumerName("h41", s.kind)} {
			wantSub = append(wantSub, "$JSC.R.hub.*."+s.stream+"."+name+".*")
		}
	}
	slices.Sort(wantPub)
	slices.Sort(wantSub)
	if got := pick(p.Publish); !slices.Equal(got, wantPub) {
		t.Errorf("publish:\n got %q\nwant %q", got, wantPub)
	}
	if got := pick(p.Subscribe); !slices.Equal(got, wantSub) {
		t.Errorf("subscribe:\n got %q\nwant %q", got, wantSub)
	}
}

// TestBus_LeafJetStreamReplies: through the link, the leaf node can send
// no answer to a JetStream request but the hub's to its own domain about
// its out-streams, and hears none but those about its own consumers (a
// leaf with $JSC.R.> heard the hub's answers to every other leaf's
// sources, their filters and positions, and could answer any request
// whose id it learnt). Each refusal is checked between two answers that
// pass, so that the link's interest is known to be in place.
func TestBus_LeafJetStreamReplies(t *testing.T) {
	p := newLeafPair(t)
	anc := p.adminJetStream().Conn()
	lnc, err := nats.Connect(p.leaf.ClientURL(), nats.CustomInboxPrefix(bus.InboxPrefix("nghean")))
	if err != nil {
		t.Fatal(err)
	}
	defer lnc.Close()
	own := bus.LeafConsumerName("h41", gateway.KindEdoc)
	// through sends the refused subjects from one side between two sends
	// of allowed, and fails if the other side gets any of them. It
	// subscribes to $JSC.R.> and to each subject, as a requester does to
	// its reply subject: the hub tells the leaf of interest only in
	// subjects it may send all of, and the leaf the hub only of those it
	// may receive.
	through := func(from, to *nats.Conn, allowed string, refused []string) {
		t.Helper()
		got := make(chan *nats.Msg, 100)
		for _, subj := range append([]string{"$JSC.R.>", allowed}, refused...) {
			sub, err := to.Subscribe(subj, func(m *nats.Msg) {
				// The servers' own answers (the leaf's mirrors') are
				// not this test's.
				if d := string(m.Data); d == "before" || d == "after" || d == "refused" {
					got <- m
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
		}
		if err := to.Flush(); err != nil {
			t.Fatal(err)
		}
		// settled fails if anything but allowed came, once the link has
		// had time to deliver what it would.
		settled := func() {
			t.Helper()
			time.Sleep(300 * time.Millisecond)
			for len(got) > 0 {
				if m := <-got; m.Subject != allowed {
					t.Fatalf("%s came through the link", m.Subject)
				}
			}
		}
		// pass sends allowed, again until one of its sends (marked)
		// comes.
		pass := func(mark string) {
			t.Helper()
			for deadline := time.Now().Add(wait); ; {
				if err := from.Publish(allowed, []byte(mark)); err != nil {
					t.Fatal(err)
				}
				for wait := time.After(100 * time.Millisecond); ; {
					select {
					case m := <-got:
						if m.Subject != allowed {
							t.Fatalf("%s came through the link", m.Subject)
						}
						if string(m.Data) == mark {
							return
						}
						continue
					case <-wait:
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the allowed answer %s did not come through the link", allowed)
				}
			}
		}
		pass("before")
		settled()
		for _, s := range refused {
			if err := from.Publish(s, []byte("refused")); err != nil {
				t.Fatal(err)
			}
		}
		pass("after")
		settled()
	}
	// The leaf answering: the hub's requests to its own domain about its
	// out-streams pass; the opaque form, another leaf's domain, another
	// of the hub's streams do not.
	through(lnc, anc, "$JSC.R.h41.HASH."+bus.StreamOutEdoc+".JS_SRC_x.id1", []string{
		"$JSC.R.id2",
		"$JSC.R.h42.HASH." + bus.StreamOutEdoc + ".JS_SRC_x.id3",
		"$JSC.R.hub.HASH." + bus.StreamEdoc + "." + own + ".id4",
		"$JSC.R.h41.HASH." + bus.StreamEdoc + ".JS_SRC_x.id5",
	})
	// The leaf hearing: the answers about its own consumers pass; those
	// about another leaf's, a gateway's, or in the opaque form do not.
	through(anc, lnc, "$JSC.R.hub.HASH."+bus.StreamEdoc+"."+own+".id1", []string{
		"$JSC.R.id2",
		"$JSC.R.hub.HASH." + bus.StreamEdoc + "." + bus.LeafConsumerName("h42", gateway.KindEdoc) + ".id3",
		"$JSC.R.hub.HASH." + bus.StreamEdoc + "." + bus.GatewayConsumerName("vpcp", gateway.KindEdoc) + ".id4",
		"$JSC.R.h42.HASH." + bus.StreamOutEdoc + ".JS_SRC_x.id5",
	})
}

// leafSpy subscribes, on the leaf node, to what the hub's consumer
// leaf_edoc_h41 delivers, as a lying leaf would: it records the messages'
// IDs and never answers their flow control.
type leafSpy struct {
	nc  *nats.Conn
	mu  sync.Mutex
	ids []string
}

func newLeafSpy(t *testing.T, p *leafPair) *leafSpy {
	t.Helper()
	nc, err := nats.Connect(p.leaf.ClientURL(), nats.CustomInboxPrefix(bus.InboxPrefix("nghean")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s := &leafSpy{nc: nc}
	if _, err := nc.Subscribe(bus.LeafDeliverPrefix("h41")+".src.edoc", func(m *nats.Msg) {
		if id := m.Header.Get("Nats-Msg-Id"); id != "" {
			s.mu.Lock()
			s.ids = append(s.ids, id)
			s.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *leafSpy) has(pred func(id string) bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []string
	for _, id := range s.ids {
		if pred(id) {
			got = append(got, id)
		}
	}
	return got
}

// waitFor waits until the spy has seen the message id.
func (s *leafSpy) waitFor(t *testing.T, id string) {
	t.Helper()
	for deadline := time.Now().Add(wait); len(s.has(func(g string) bool { return g == id })) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the leaf was not delivered %s", id)
		}
	}
}

// reset sends, as the leaf node, a reset of its consumer leaf_edoc_h41
// (body nil: to its ack floor + 1) and returns the answer.
func (s *leafSpy) reset(t *testing.T, body []byte) string {
	t.Helper()
	m, err := s.nc.Request("$JS.hub.API.CONSUMER.RESET."+bus.StreamEdoc+"."+bus.LeafConsumerName("h41", gateway.KindEdoc), body, wait)
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	return string(m.Data)
}

// assignLeafAgain is AssignLeaf, again while the consumer moves
// (ErrLeafBehind).
func assignLeafAgain(t *testing.T, ctx context.Context, b *bus.Bus, a bus.LeafAssignment) {
	t.Helper()
	for {
		err := b.AssignLeaf(ctx, a)
		if errors.Is(err, bus.ErrLeafBehind) {
			t.Logf("assign: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("AssignLeaf: %v", err)
		}
		return
	}
}

// TestBus_LeafRewindAfterSecondMove: the leaf's consumer, made again by
// start sequence from the point of an agency moved to a quiet leaf, is
// given a second agency whose point is above that start. A leaf may reset
// a consumer made by start sequence to any sequence from its start: it
// must not get the second agency's packets below its point, which the
// gateway that held it had.
func TestBus_LeafRewindAfterSecondMove(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l0, y1, y2 := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02")
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait})
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{y1, y2}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub, onLeaf := newCollector(nil), newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{y1, y2}, AckWait: 2 * time.Second}, atHub.handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, y1, y2}}, onLeaf.handle)
	waitGot := func(c *collector, id string) {
		t.Helper()
		for deadline := time.Now().Add(wait); gotIDs(c)[id] == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not arrive", id)
			}
		}
	}
	// y1 to the quiet leaf: its consumer is made again from y1's point.
	publish(t, p.hubBus, gateway.KindEdoc, y1, "y1-before", []byte("y1-before"))
	waitGot(atHub, "y1-before")
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, y1}, Wait: wait})
	admin := p.adminJetStream()
	c, err := admin.PushConsumer(ctx, bus.StreamEdoc, bus.LeafConsumerName("h41", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	start := c.CachedInfo().Config.OptStartSeq
	if c.CachedInfo().Config.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || start == 0 {
		t.Fatalf("the leaf's consumer was not made again by start sequence: %+v", c.CachedInfo().Config)
	}
	// y2's packets at the hub's gateway, then one for the leaf: its
	// consumer reads past y2's point.
	for i := range 3 {
		id := "y2-before-" + strconv.Itoa(i)
		publish(t, p.hubBus, gateway.KindEdoc, y2, id, []byte(id))
		waitGot(atHub, id)
	}
	publish(t, p.hubBus, gateway.KindEdoc, l0, "l0-after", []byte("l0-after"))
	waitGot(onLeaf, "l0-after")
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, y1, y2}, Wait: wait})

	spy := newLeafSpy(t, p)
	t.Logf("reset to %d: %s", start, spy.reset(t, []byte(`{"seq":`+strconv.FormatUint(start, 10)+`}`)))
	publish(t, p.hubBus, gateway.KindEdoc, y2, "y2-after", []byte("y2-after"))
	spy.waitFor(t, "y2-after")
	waitGot(onLeaf, "y2-after")
	before := func(id string) bool { return strings.HasPrefix(id, "y2-before") }
	if got := spy.has(before); len(got) > 0 {
		t.Errorf("after a reset to %d the leaf was delivered %v, below y2's point", start, got)
	}
	for id := range gotIDs(onLeaf) {
		if before(id) {
			t.Errorf("the leaf's gateway got %s, which the hub's gateway had", id)
		}
	}
}

// TestBus_LeafResetAfterMoveUnderTraffic: a leaf node whose consumer has
// delivered past an agency's point but which has not confirmed it (under
// traffic its ack floor lags; a lying leaf holds its flow-control replies
// back) is not given the agency (ErrLeafBehind): a reset with no sequence,
// which the leaf may always send, would start the consumer again at its
// ack floor + 1 with the agency in its filters and deliver the agency's
// packets below the point, which the previous holder had. Once the leaf
// confirms, the move goes through and the same reset delivers nothing
// below the point.
func TestBus_LeafResetAfterMoveUnderTraffic(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l0, y := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01")
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait})
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{y}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub := newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{y}, AckWait: 2 * time.Second}, atHub.handle)
	waitGot := func(c *collector, id string) {
		t.Helper()
		for deadline := time.Now().Add(wait); gotIDs(c)[id] == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not arrive", id)
			}
		}
	}
	// The leaf takes its consumer's deliveries itself, unconfirmed: its
	// stream no longer sources through it.
	leafJS := rawJetStream(t, p.leaf)
	in, err := leafJS.Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	orig := in.CachedInfo().Config
	lying := orig
	lying.Sources = nil
	if _, err := leafJS.UpdateStream(ctx, lying); err != nil {
		t.Fatal(err)
	}
	spy := newLeafSpy(t, p)
	publish(t, p.hubBus, gateway.KindEdoc, l0, "l0-0", []byte("l0-0"))
	for i := range 3 {
		id := "y-before-" + strconv.Itoa(i)
		publish(t, p.hubBus, gateway.KindEdoc, y, id, []byte(id))
		waitGot(atHub, id)
	}
	publish(t, p.hubBus, gateway.KindEdoc, l0, "l0-1", []byte("l0-1"))
	spy.waitFor(t, "l0-1")
	admin := p.adminJetStream()
	c, err := admin.PushConsumer(ctx, bus.StreamEdoc, bus.LeafConsumerName("h41", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	if info := c.CachedInfo(); info.AckFloor.Stream >= info.Delivered.Stream {
		t.Fatalf("the leaf's consumer is confirmed to %d, delivered %d: nothing to test", info.AckFloor.Stream, info.Delivered.Stream)
	}

	err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, y}})
	if !errors.Is(err, bus.ErrLeafBehind) {
		t.Errorf("AssignLeaf with the leaf's consumer unconfirmed: %v, want ErrLeafBehind", err)
	}
	// Refused once y was taken from gwA: the refusal says y is held by
	// nobody until assigned again.
	if err == nil || !strings.Contains(err.Error(), "["+gateway.Subject(gateway.KindEdoc, y)+"] were taken from their holders and are held by nobody") {
		t.Errorf("the refusal after y was taken does not say so: %v", err)
	}
	before := func(id string) bool { return strings.HasPrefix(id, "y-before") }
	check := func(marker string) {
		t.Helper()
		t.Logf("reset: %.120s", spy.reset(t, nil))
		publish(t, p.hubBus, gateway.KindEdoc, l0, marker, []byte(marker))
		spy.waitFor(t, marker)
		if got := spy.has(before); len(got) > 0 {
			t.Fatalf("after a reset the leaf was delivered %v, below y's point", got)
		}
	}
	check("l0-2")

	// The leaf confirms again (its stream sources through the consumer):
	// the move goes through.
	if _, err := leafJS.UpdateStream(ctx, orig); err != nil {
		t.Fatal(err)
	}
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, y}, Wait: wait})
	check("l0-3")
	publish(t, p.hubBus, gateway.KindEdoc, y, "y-after", []byte("y-after"))
	spy.waitFor(t, "y-after")
	if got := spy.has(before); len(got) > 0 {
		t.Fatalf("the leaf was delivered %v, below y's point", got)
	}
}

// TestBus_LeafCatchUpUnfinished: an assignment whose catch-up the leaf
// has not read when the wait ends says so (ErrLeafCatchUpUnfinished), for
// "nats setup" to tell the administrator to run it again; the next
// assignment ends the catch-up once read.
func TestBus_LeafCatchUpUnfinished(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	defer cancel()
	publish(t, p.hubBus, gateway.KindEdoc, leafAgencies[0], "waiting", []byte("waiting"))
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: leafAgencies, Wait: time.Nanosecond})
	if !errors.Is(err, bus.ErrLeafCatchUpUnfinished) {
		t.Fatalf("AssignLeaf with a catch-up and no time to wait: %v, want ErrLeafCatchUpUnfinished", err)
	}
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: leafAgencies, Wait: wait})
	if _, err := p.adminJetStream().PushConsumer(ctx, bus.StreamEdoc, bus.LeafCatchUpConsumerName("h41", gateway.KindEdoc)); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the catch-up after the next assignment: %v", err)
	}
}

// TestBus_LeafRemakeDied: the administrator's process dies while it makes
// a quiet leaf's consumer again from the handover point of an agency moved
// to the leaf (remakeLeafConsumer): after taking the leaf stream's source
// out, after deleting the consumer, after making it again. The next
// assignment, the same, finishes it: the leaf's own agency's packets, and
// the moved agency's from its point, reach the leaf once; none of the moved
// agency's before it. Without the record of the remake: died after taking
// the source out, the next assignments found the consumer behind the point
// (the leaf agency's packets waiting, the source gone, ErrLeafBehind) and
// never put the source back; died after the deletion, they found the
// consumer gone and the leaf's own agency starting below the moved one's
// point (ErrMixedStarts): the leaf got nothing until the agencies were
// given in turn. Died once it was made again, the assignment after put the
// source back anyway: finishing it does no harm.
func TestBus_LeafRemakeDied(t *testing.T) {
	for _, step := range []string{"unsourced", "deleted", "made"} {
		t.Run(step, func(t *testing.T) { testLeafRemakeDied(t, step) })
	}
}

func testLeafRemakeDied(t *testing.T, step string) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l0, x := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01")
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait}); err != nil {
		t.Fatal(err)
	}
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub, onLeaf := newCollector(nil), newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}, atHub.handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, x}}, onLeaf.handle)
	var want []string // what the leaf is to get, once each
	pub := func(a envelope.AgencyCode, id string, toLeaf bool) {
		t.Helper()
		publish(t, p.hubBus, gateway.KindEdoc, a, id, []byte(id))
		if toLeaf {
			want = append(want, id)
		}
	}
	waitGot := func(what string, c *collector, ids ...string) {
		t.Helper()
		for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
			got := gotIDs(c)
			if !slices.ContainsFunc(ids, func(id string) bool { return got[id] == 0 }) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %v, want %v", what, got, ids)
			}
		}
	}
	// The leaf's agency has had packets (its stream holds them, so its
	// start, given anew, would be one past the last), then only X, at
	// the hub's gateway.
	for i := range 3 {
		pub(l0, fmt.Sprintf("l0-before-%d", i), true)
	}
	waitGot("the leaf's first packets", onLeaf, want...)
	var atGW []string
	for i := range 10 {
		id := fmt.Sprintf("x-before-%d", i)
		pub(x, id, false)
		atGW = append(atGW, id)
	}
	waitGot("the hub gateway's packets", atHub, atGW...)
	// X leaves the hub's gateway, its point kept, and is given to the
	// leaf, whose consumer has read only to the leaf agency's last packet:
	// it is made again from the point, and the process dies on the way.
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G09")}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	assign := func() error {
		return p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
	}
	died := false
	p.hubBus.SetLeafRemaking(func(s string) error {
		if s == step {
			died = true
			return errors.New("the process dies")
		}
		return nil
	})
	err := assign()
	p.hubBus.SetLeafRemaking(nil)
	if !died || err == nil {
		t.Fatalf("the assignment did not die %s: %v", step, err)
	}
	for i := range 3 {
		pub(l0, fmt.Sprintf("l0-during-%d", i), true)
		pub(x, fmt.Sprintf("x-during-%d", i), true)
	}
	// The consumer before, still there, has the leaf agency's packets to
	// deliver: ErrLeafBehind says to assign again, as the command does.
	for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
		err := assign()
		if err == nil {
			break
		}
		if !errors.Is(err, bus.ErrLeafBehind) || time.Now().After(deadline) {
			t.Fatalf("the assignment after the one that died %s: %v", step, err)
		}
		t.Logf("assign: %v", err)
	}
	waitGot("the leaf's packets after the assignment", onLeaf, want...)
	time.Sleep(time.Second) // what would come twice, or X's from before the point
	got := gotIDs(onLeaf)
	for id, n := range got {
		if n > 1 || !slices.Contains(want, id) {
			t.Errorf("%s reached the leaf %d times", id, n)
		}
	}
	if step == "unsourced" {
		// The consumer before was left, and delivered the leaf agency's
		// packets past the point: no remake was needed after all.
		return
	}
	c, err := p.adminJetStream().PushConsumer(ctx, bus.StreamEdoc, bus.LeafConsumerName("h41", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	if cfg := c.CachedInfo().Config; cfg.DeliverPolicy != jetstream.DeliverByStartSequencePolicy {
		t.Errorf("the leaf's consumer was not made again from the point: %+v", cfg)
	}
}

// TestBus_LeafMixedStartsRefusedBeforeTaking: agencies added to a leaf
// node whose catch-up could not have one start (ErrMixedStarts) are
// refused before any is taken from its holder: two agencies of two hub
// gateways, whose points differ; an agency of a hub gateway beside a new
// one whose packets wait from before that gateway's point. Each holder
// keeps its agency (refused after the hand-overs, they were held by
// nobody until assigned again). Added in turn, both go to the leaf.
func TestBus_LeafMixedStartsRefusedBeforeTaking(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l0 := leafAgencies[0]
	x, y, z := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02"), envelope.MustAgencyCode("000.00.00.G03")
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait}); err != nil {
		t.Fatal(err)
	}
	// Z's packets wait at the hub, read by nobody, from before X's and
	// Y's gateways were given them; a packet between the two makes their
	// points differ.
	publish(t, p.hubBus, gateway.KindEdoc, z, "z-0", []byte("z-0"))
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}}); err != nil {
		t.Fatal(err)
	}
	publish(t, p.hubBus, gateway.KindEdoc, l0, "l0-0", []byte("l0-0"))
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{y}}); err != nil {
		t.Fatal(err)
	}
	admin := p.adminJetStream()
	holds := func(gw string, a envelope.AgencyCode) bool {
		t.Helper()
		c, err := admin.Consumer(ctx, bus.StreamEdoc, bus.GatewayConsumerName(gw, gateway.KindEdoc))
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			return false // a gateway given nothing has no consumer
		case err != nil:
			t.Fatal(err)
		}
		cfg := c.CachedInfo().Config
		return cfg.FilterSubject == gateway.Subject(gateway.KindEdoc, a) || slices.Contains(cfg.FilterSubjects, gateway.Subject(gateway.KindEdoc, a))
	}
	for _, c := range []struct {
		name     string
		agencies []envelope.AgencyCode
	}{
		{"TwoHolders", []envelope.AgencyCode{l0, x, y}},
		{"WaitingBelowThePoint", []envelope.AgencyCode{l0, x, z}},
	} {
		err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: c.agencies, Wait: wait})
		if !errors.Is(err, bus.ErrMixedStarts) {
			t.Errorf("%s: AssignLeaf = %v, want ErrMixedStarts", c.name, err)
		}
		if !holds("gwA", x) || !holds("gwB", y) {
			t.Fatalf("%s: refused (%v), and X or Y was taken from its gateway", c.name, err)
		}
	}
	// In turn: X, then Z and Y.
	for _, as := range [][]envelope.AgencyCode{{l0, x}, {l0, x, z}, {l0, x, z, y}} {
		if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: as, Wait: wait}); err != nil {
			t.Fatalf("AssignLeaf %v: %v", as, err)
		}
	}
	if holds("gwA", x) || holds("gwB", y) {
		t.Error("X or Y still at its gateway once given to the leaf")
	}
}

// TestBus_LeafStaleRemake: a remake of the leaf's consumer dies after the
// consumer's deletion, the moved agency X recorded for it and shown by no
// consumer. A gateway's assignment of X is refused while the record
// exists, naming the leaf node (ErrLeafRemakePending); status lists the
// record. A holder of X made meanwhile otherwise (as before the refusal)
// is not doubled: the leaf's assignment with X is refused
// (ErrLeafRemakeHeldElsewhere), the one without X finishes the remake
// without it. X then goes to the hub's gateway, whose packets never reach
// the leaf. Before: the gateway's assignment succeeded, and the next
// AssignLeaf made the leaf's consumer again with X from the recorded
// point: X's packets went to both (the security review's M2).
func TestBus_LeafStaleRemake(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l0, x := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01")
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait}); err != nil {
		t.Fatal(err)
	}
	assignGW := func(a envelope.AgencyCode) error {
		return p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{a}, AckWait: 2 * time.Second})
	}
	if err := assignGW(x); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub, onLeaf := newCollector(nil), newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}, atHub.handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, x}}, onLeaf.handle)
	for i := range 3 {
		publish(t, p.hubBus, gateway.KindEdoc, l0, fmt.Sprintf("l0-before-%d", i), []byte("x"))
	}
	for i := range 5 {
		publish(t, p.hubBus, gateway.KindEdoc, x, fmt.Sprintf("x-before-%d", i), []byte("x"))
	}
	time.Sleep(2 * time.Second)
	if err := assignGW(envelope.MustAgencyCode("000.00.00.G09")); err != nil {
		t.Fatal(err)
	}
	p.hubBus.SetLeafRemaking(func(s string) error {
		if s == "deleted" {
			return errors.New("the process dies")
		}
		return nil
	})
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
	p.hubBus.SetLeafRemaking(nil)
	if err == nil {
		t.Fatal("the assignment did not die")
	}
	st, err := p.hubBus.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(st.PendingRemakes, bus.StreamEdoc+"."+bus.LeafConsumerName("h41", gateway.KindEdoc)) {
		t.Errorf("status lists remakes %v", st.PendingRemakes)
	}
	err = assignGW(x)
	if !errors.Is(err, bus.ErrLeafRemakePending) || !strings.Contains(err.Error(), "-leaf h41") {
		t.Fatalf("X given back to its gateway while the leaf's remake with X is pending: %v", err)
	}
	js := p.adminJetStream()
	// Refused on both streams, the other (with no remake) unchanged too.
	if c, err := js.Consumer(ctx, bus.StreamStatus, bus.GatewayConsumerName("gwA", gateway.KindStatus)); err != nil {
		t.Fatal(err)
	} else if got, want := filtersOf(c.CachedInfo().Config), []string{gateway.Subject(gateway.KindStatus, envelope.MustAgencyCode("000.00.00.G09"))}; !slices.Equal(got, want) {
		t.Errorf("gwA's status consumer filters %v, want %v", got, want)
	}
	// Assignments adding nothing the record has go ahead: one leaf
	// node's remake holds back its own subjects, not the hub. The
	// refusal names the record's key for a leaf out of reach.
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G09"), envelope.MustAgencyCode("000.00.00.G10")}, AckWait: 2 * time.Second}); err != nil {
		t.Fatalf("gwA given G10 while the leaf's remake with X is pending: %v", err)
	}
	// (h42 has no leaf node: its assignment fails later, unreached.)
	hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
	err = p.hubBus.AssignLeaf(hctx, bus.LeafAssignment{Domain: "h42", Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G11")}})
	hcancel()
	if errors.Is(err, bus.ErrLeafRemakePending) {
		t.Errorf("leaf h42 given G11 while h41's remake with X is pending: %v", err)
	}
	err = assignGW(x)
	if !errors.Is(err, bus.ErrLeafRemakePending) || !strings.Contains(err.Error(), "(remake."+bus.StreamEdoc+"."+bus.LeafConsumerName("h41", gateway.KindEdoc)+")") || !strings.Contains(err.Error(), "nats setup -leaf h41") || !strings.Contains(err.Error(), "do not delete the record") {
		t.Fatalf("X given back to its gateway while the leaf's remake with X is pending: %v", err)
	}
	// A holder of X made otherwise meanwhile.
	if _, err := js.CreateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{Durable: "gwc_edoc_gwB", FilterSubjects: []string{gateway.Subject(gateway.KindEdoc, x)},
		AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy}); err != nil {
		t.Fatal(err)
	}
	err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
	if !errors.Is(err, bus.ErrLeafRemakeHeldElsewhere) || !strings.Contains(err.Error(), "gwc_edoc_gwB") {
		t.Fatalf("the leaf given X, read by gwB: %v", err)
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(200 * time.Millisecond) {
		err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf given its own agency: %v", err)
		}
	}
	c, err := js.PushConsumer(ctx, bus.StreamEdoc, bus.LeafConsumerName("h41", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filtersOf(c.CachedInfo().Config), []string{gateway.Subject(gateway.KindEdoc, l0)}; !slices.Equal(got, want) {
		t.Errorf("the leaf's consumer made again with %v, want %v", got, want)
	}
	if err := js.DeleteConsumer(ctx, bus.StreamEdoc, "gwc_edoc_gwB"); err != nil {
		t.Fatal(err)
	}
	if err := assignGW(x); err != nil {
		t.Fatalf("X given back to its gateway once the remake is finished: %v", err)
	}
	var after []string
	for i := range 3 {
		id := fmt.Sprintf("x-after-%d", i)
		publish(t, p.hubBus, gateway.KindEdoc, x, id, []byte("x"))
		after = append(after, id)
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		got := gotIDs(atHub)
		if !slices.ContainsFunc(after, func(id string) bool { return got[id] == 0 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gwA got %v, want %v", got, after)
		}
	}
	time.Sleep(time.Second)
	for id := range gotIDs(onLeaf) {
		if _, ok := gotIDs(atHub)[id]; ok {
			t.Errorf("%s reached both gwA and the leaf", id)
		}
	}
}

// TestBus_LeafRemakeLinkLost: the leaf's link drops in the middle of a
// remake of its consumer, no process dying: at "recorded" the leaf's
// source cannot be taken out, and the consumer is the one before; at
// "unsourced" the consumer is made again but the source cannot be put
// back. Either way the record is deleted (nothing at the hub is left to
// finish), an unrelated assignment of the hub's gateway goes ahead, and
// once the link is back the leaf's assignment gives it X, whose packets
// reach the leaf alone. Before, the record stayed and refused every
// assignment of the hub (ErrLeafRemakePending) until the leaf, out of
// reach, was assigned again (the re-review's M1).
func TestBus_LeafRemakeLinkLostRecorded(t *testing.T) {
	leafRemakeLinkLost(t, "recorded", gateway.KindEdoc)
}
func TestBus_LeafRemakeLinkLostUnsourced(t *testing.T) {
	leafRemakeLinkLost(t, "unsourced", gateway.KindEdoc)
}

// TestBus_LeafRemakeFinishedUnreachable: the remake dies once the
// consumer is deleted, and the leaf's link then drops: its next
// assignment, the leaf out of reach, finishes the remake at the hub (the
// consumer and catch-up made, the record deleted) and fails; the rest
// is as TestBus_LeafRemakeLinkLost's. Before, it failed at once on the
// leaf's stream, and the record stayed until the link was back.
func TestBus_LeafRemakeFinishedUnreachable(t *testing.T) {
	leafRemakeLinkLost(t, "dies-deleted", gateway.KindEdoc)
}

// TestBus_LeafRemakeFinishedUnreachableStatus is the same on LT_STATUS,
// the second stream AssignLeaf assigns: out of reach on LT_EDOC, it still
// finishes LT_STATUS's remake at the hub. Before, it stopped at LT_EDOC's
// link error and LT_STATUS's record stayed until the link was back (the
// second re-review's M2).
func TestBus_LeafRemakeFinishedUnreachableStatus(t *testing.T) {
	leafRemakeLinkLost(t, "dies-deleted", gateway.KindStatus)
}

func leafRemakeLinkLost(t *testing.T, at string, kind gateway.PacketKind) {
	stream := bus.StreamEdoc
	if kind == gateway.KindStatus {
		stream = bus.StreamStatus
	}
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l0, x := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01")
	g09, g10 := envelope.MustAgencyCode("000.00.00.G09"), envelope.MustAgencyCode("000.00.00.G10")
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait}); err != nil {
		t.Fatal(err)
	}
	assignGW := func(a ...envelope.AgencyCode) error {
		return p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: a, AckWait: 2 * time.Second})
	}
	if err := assignGW(x); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub, onLeaf := newCollector(nil), newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}, atHub.handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, x}}, onLeaf.handle)
	for i := range 3 {
		publish(t, p.hubBus, kind, l0, fmt.Sprintf("l0-before-%d", i), []byte("x"))
	}
	for i := range 5 {
		publish(t, p.hubBus, kind, x, fmt.Sprintf("x-before-%d", i), []byte("x"))
	}
	time.Sleep(2 * time.Second)
	if err := assignGW(g09); err != nil {
		t.Fatal(err)
	}
	p.hubBus.SetLeafRemaking(func(s string) error {
		switch {
		case at == "dies-deleted" && s == "deleted":
			return errors.New("the process dies")
		case s == at:
			p.link.Cut() // the province drops its link; no process dies
		}
		return nil
	})
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
	p.hubBus.SetLeafRemaking(nil)
	if err == nil {
		t.Fatal("the assignment went through with the leaf's link cut")
	}
	t.Logf("with the link cut at %s: %v", at, err)
	if at == "dies-deleted" {
		p.link.Cut()
		err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
		if err == nil || !strings.Contains(err.Error(), "finished at the hub") {
			t.Errorf("the leaf assigned out of reach, its remake half-done: %v", err)
		}
		c, err := p.adminJetStream().PushConsumer(ctx, stream, bus.LeafConsumerName("h41", kind))
		if err != nil {
			t.Fatalf("the leaf's consumer not made again: %v", err)
		}
		if got, want := filtersOf(c.CachedInfo().Config), []string{gateway.Subject(kind, l0), gateway.Subject(kind, x)}; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("the leaf's consumer made again with %v, want %v", got, want)
		}
	}
	st, err := p.hubBus.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PendingRemakes) > 0 {
		t.Errorf("remakes %v left recorded with nothing at the hub to finish", st.PendingRemakes)
	}
	if err := assignGW(g09, g10); err != nil {
		t.Errorf("gwA given G10 with the leaf's link down: %v", err)
	}
	p.link.Restore()
	for deadline := time.Now().Add(wait); ; time.Sleep(200 * time.Millisecond) {
		err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf given X once its link is back: %v", err)
		}
	}
	var after []string
	for i := range 3 {
		id := fmt.Sprintf("x-after-%d", i)
		publish(t, p.hubBus, kind, x, id, []byte("x"))
		after = append(after, id)
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		got := gotIDs(onLeaf)
		if !slices.ContainsFunc(after, func(id string) bool { return got[id] == 0 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf got %v, want %v", got, after)
		}
	}
	time.Sleep(time.Second)
	for id := range gotIDs(onLeaf) {
		if _, ok := gotIDs(atHub)[id]; ok {
			t.Errorf("%s reached both gwA and the leaf", id)
		}
	}
}

// TestBus_LeafRemakeHeldTwice: a remake of the leaf's consumer, X taken
// from gwA for it, dies once the consumer is made again with X: the
// error does not offer giving X back, refused while the record exists.
// Another consumer then reads X as well: the leaf's assignment is refused (ErrLeafRemakeHeldElsewhere)
// whatever it asks for, and the refusal names the ways out, the other
// holder assigned without X or the record's deletion. With the other
// holder gone, the assignment finishes the remake.
func TestBus_LeafRemakeHeldTwice(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l0, x := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01")
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait}); err != nil {
		t.Fatal(err)
	}
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}, newCollector(nil).handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, x}}, newCollector(nil).handle)
	for i := range 3 {
		publish(t, p.hubBus, gateway.KindEdoc, l0, fmt.Sprintf("l0-before-%d", i), []byte("x"))
	}
	for i := range 5 {
		publish(t, p.hubBus, gateway.KindEdoc, x, fmt.Sprintf("x-before-%d", i), []byte("x"))
	}
	time.Sleep(2 * time.Second)
	p.hubBus.SetLeafRemaking(func(s string) error {
		if s == "made" {
			return errors.New("the process dies")
		}
		return nil
	})
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
	p.hubBus.SetLeafRemaking(nil)
	if err == nil {
		t.Fatal("the assignment did not die")
	}
	// X, taken from gwA, cannot be given back while the record exists:
	// the error says so rather than offering it.
	if !strings.Contains(err.Error(), "giving them back is refused until then") {
		t.Errorf("the dead assignment's error offers giving X back: %v", err)
	}
	js := p.adminJetStream()
	if _, err := js.CreateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{Durable: "gwc_edoc_gwB", FilterSubjects: []string{gateway.Subject(gateway.KindEdoc, x)},
		AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy}); err != nil {
		t.Fatal(err)
	}
	key := "remake." + bus.StreamEdoc + "." + bus.LeafConsumerName("h41", gateway.KindEdoc)
	for _, as := range [][]envelope.AgencyCode{{l0, x}, {l0}} {
		err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: as, Wait: wait})
		if !errors.Is(err, bus.ErrLeafRemakeHeldElsewhere) || !strings.Contains(err.Error(), "assign their other holder without them") || !strings.Contains(err.Error(), key) {
			t.Errorf("the leaf assigned %v, X read by gwB too: %v", as, err)
		}
	}
	if err := js.DeleteConsumer(ctx, bus.StreamEdoc, "gwc_edoc_gwB"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(200 * time.Millisecond) {
		err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf given X with gwB gone: %v", err)
		}
	}
	if st, err := p.hubBus.Status(ctx); err != nil {
		t.Fatal(err)
	} else if len(st.PendingRemakes) > 0 {
		t.Errorf("remakes %v still recorded", st.PendingRemakes)
	}
}

// TestBus_LeafTakeAndRemoveRefused: an assignment of a leaf node that
// takes an agency from a hub gateway and takes another away from the leaf
// is refused before anything is taken (ErrLeafTakeAndRemove): the gateway
// keeps its agency, the leaf its own. Before, it was refused (ErrLeafBehind)
// only once the agency was taken, should the leaf's consumer be behind its
// point, and the agency was held by nobody until assigned again.
func TestBus_LeafTakeAndRemoveRefused(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l0, l1, y := leafAgencies[0], leafAgencies[2], envelope.MustAgencyCode("000.00.00.G01")
	assignLeafAgain(t, ctx, p.hubBus, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, l1}, Wait: wait})
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{y}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, y}, Wait: wait})
	if !errors.Is(err, bus.ErrLeafTakeAndRemove) || !strings.Contains(err.Error(), "nothing was taken") {
		t.Errorf("the leaf given y and not l1: %v, want ErrLeafTakeAndRemove", err)
	}
	admin := p.adminJetStream()
	for name, want := range map[string][]string{
		bus.GatewayConsumerName("gwA", gateway.KindEdoc): {gateway.Subject(gateway.KindEdoc, y)},
		bus.LeafConsumerName("h41", gateway.KindEdoc):    {gateway.Subject(gateway.KindEdoc, l0), gateway.Subject(gateway.KindEdoc, l1)},
	} {
		var cfg jetstream.ConsumerConfig
		if strings.HasPrefix(name, "leaf_") {
			c, err := admin.PushConsumer(ctx, bus.StreamEdoc, name)
			if err != nil {
				t.Fatal(err)
			}
			cfg = c.CachedInfo().Config
		} else {
			c, err := admin.Consumer(ctx, bus.StreamEdoc, name)
			if err != nil {
				t.Fatal(err)
			}
			cfg = c.CachedInfo().Config
		}
		got := slices.Sorted(slices.Values(append(cfg.FilterSubjects, cfg.FilterSubject)))
		got = slices.DeleteFunc(got, func(f string) bool { return f == "" })
		if slices.Sort(want); !slices.Equal(got, want) {
			t.Errorf("%s filters %v, want %v", name, got, want)
		}
	}
}

// TestBus_LeafSourceStalled: a leaf node without the feature flag
// js_api_reply_v2 asks the hub for answers on subjects its permissions
// refuse: its sources of the hub's streams are never answered and stall,
// silently. AssignLeaf says so (ErrLeafSourceInactive, naming the flag),
// and Status shows the leaf's consumers not read. A hub stream's source
// of a leaf node's out-stream never heard from is listed by Status
// (InactiveSources). Before, AssignLeaf succeeded, and the leaf's packets
// waited at the hub until its streams' MaxAge took them (the security
// review's S2).
func TestBus_LeafSourceStalled(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{}, leafWithoutReplyV2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: leafAgencies[:1], Wait: wait})
	if !errors.Is(err, bus.ErrLeafSourceInactive) || !strings.Contains(err.Error(), "js_api_reply_v2") {
		t.Errorf("AssignLeaf with the leaf's sources stalled: %v, want ErrLeafSourceInactive", err)
	}
	st, err := p.hubBus.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Consumers {
		if strings.HasPrefix(c.Name, "leaf_") && c.Reading {
			t.Errorf("%s is read", c.Name)
		}
	}
	// A hub stream's source of a leaf node that never answers.
	admin := p.adminJetStream()
	s, err := admin.Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Sources = append(cfg.Sources, &jetstream.StreamSource{Name: bus.StreamOutEdoc, External: &jetstream.ExternalStream{APIPrefix: "$JS.h99.API", DeliverPrefix: bus.LeafDeliverPrefix("h99")}})
	if _, err := admin.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if st, err = p.hubBus.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(st.InactiveSources, func(s bus.SourceStatus) bool {
		return s.Stream == bus.StreamEdoc && s.Source == bus.StreamOutEdoc && s.Domain == "h99"
	}) {
		t.Errorf("inactive sources %+v, want LT_OUT_EDOC of h99", st.InactiveSources)
	}
	if slices.ContainsFunc(st.InactiveSources, func(s bus.SourceStatus) bool { return s.Domain == "h41" }) {
		t.Errorf("inactive sources %+v: h41's are heard from", st.InactiveSources)
	}
}

// filtersOf returns a consumer's filters, one or many.
func filtersOf(cfg jetstream.ConsumerConfig) []string {
	if cfg.FilterSubject != "" {
		return []string{cfg.FilterSubject}
	}
	return cfg.FilterSubjects
}
