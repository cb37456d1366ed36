package bus_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
// the same reply from the hub's side (a positive control) is taken.
func TestBus_LeafForgedFlowControl(t *testing.T) {
	p := newLeafPair(t)
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
