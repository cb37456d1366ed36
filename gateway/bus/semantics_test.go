package bus_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/gateway/bus"
)

// TestNATS_ConsumerSemantics pins what docs/design/consumers.md relies on
// of nats-server's consumers with several filter subjects, so that a
// nats-server upgrade that changes one of them fails here rather than
// losing or doubling documents:
//
//   - a subject added to a consumer's filters delivers none of its earlier
//     messages (hence the catch-up consumer when an agency is added);
//   - a subject removed leaves its unacknowledged messages with the
//     consumer, which redelivers them (hence "drained" before a move ends);
//   - a subject removed gives up its messages not yet delivered;
//   - a paused consumer delivers nothing, stays paused through a filter
//     update, and its delivered sequence does not move (the handover point).
func TestNATS_ConsumerSemantics(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SEM", Subjects: []string{"sem.>"}, Storage: jetstream.FileStorage, Duplicates: time.Hour}); err != nil {
		t.Fatal(err)
	}
	pub := func(subject, id string) uint64 {
		t.Helper()
		a, err := js.Publish(ctx, subject, []byte(id), jetstream.WithMsgID(id))
		if err != nil {
			t.Fatal(err)
		}
		return a.Sequence
	}
	// fetch returns the ids of up to n messages delivered within wait,
	// acking those ack names.
	fetch := func(c jetstream.Consumer, n int, wait time.Duration, ack ...string) []string {
		t.Helper()
		b, err := c.Fetch(n, jetstream.FetchMaxWait(wait))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for m := range b.Messages() {
			got = append(got, string(m.Data()))
			if slices.Contains(ack, string(m.Data())) {
				if err := m.Ack(); err != nil {
					t.Fatal(err)
				}
			}
		}
		return got
	}

	t.Run("AddRemove", func(t *testing.T) {
		cfg := jetstream.ConsumerConfig{Durable: "add_remove", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second,
			FilterSubjects: []string{"sem.a", "sem.x"}}
		c, err := js.CreateOrUpdateConsumer(ctx, "SEM", cfg)
		if err != nil {
			t.Fatal(err)
		}
		pub("sem.b", "b-early")
		pub("sem.a", "a-1")
		pub("sem.x", "x-1")
		if got := fetch(c, 2, 5*time.Second, "a-1"); !slices.Equal(got, []string{"a-1", "x-1"}) {
			t.Fatalf("before the update: %v", got)
		}
		// x-1 is delivered and not acknowledged. Now x goes, b comes.
		cfg.FilterSubjects = []string{"sem.a", "sem.b"}
		if c, err = js.CreateOrUpdateConsumer(ctx, "SEM", cfg); err != nil {
			t.Fatal(err)
		}
		pub("sem.x", "x-2")
		pub("sem.b", "b-late")
		var got []string
		deadline := time.Now().Add(15 * time.Second)
		for !slices.Contains(got, "x-1") || !slices.Contains(got, "b-late") {
			if time.Now().After(deadline) {
				t.Fatalf("after the update the consumer delivered %v: want x-1 again (a removed subject's pending) and b-late", got)
			}
			got = append(got, fetch(c, 10, time.Second, "x-1", "b-late")...)
		}
		for _, never := range []string{"b-early", "x-2"} {
			if slices.Contains(got, never) {
				t.Errorf("after the update the consumer delivered %s: %v", never, got)
			}
		}
	})

	t.Run("Pause", func(t *testing.T) {
		cfg := jetstream.ConsumerConfig{Durable: "pause", AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{"sem.p", "sem.q"}}
		c, err := js.CreateOrUpdateConsumer(ctx, "SEM", cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			pub("sem.p", fmt.Sprint("p", i))
			pub("sem.z", fmt.Sprint("z", i))
			pub("sem.q", fmt.Sprint("q", i))
		}
		if got := fetch(c, 3, 5*time.Second, "p0", "q0", "p1"); len(got) != 3 {
			t.Fatalf("before the pause: %v", got)
		}
		if _, err := js.PauseConsumer(ctx, "SEM", "pause", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Paused {
			t.Fatal("not paused")
		}
		d := info.Delivered.Stream
		if got := fetch(c, 3, 500*time.Millisecond); len(got) != 0 {
			t.Errorf("a paused consumer delivered %v", got)
		}
		cfg.FilterSubjects = []string{"sem.p"}
		if c, err = js.UpdateConsumer(ctx, "SEM", cfg); err != nil {
			t.Fatal(err)
		}
		if info, err = c.Info(ctx); err != nil || !info.Paused || info.Delivered.Stream != d {
			t.Fatalf("after a filter update: paused %v, delivered %d (was %d), %v", info.Paused, info.Delivered.Stream, d, err)
		}
		pub("sem.q", "q-after")
		pub("sem.p", "p-after")
		if _, err := js.ResumeConsumer(ctx, "SEM", "pause"); err != nil {
			t.Fatal(err)
		}
		var got []string
		deadline := time.Now().Add(15 * time.Second)
		for !slices.Contains(got, "p-after") {
			if time.Now().After(deadline) {
				t.Fatalf("after the resume: %v, want p-after", got)
			}
			got = append(got, fetch(c, 10, time.Second, "p1", "p2", "p-after")...)
		}
		// q1 and q2 were never delivered, q-after came after q left the
		// filter: none of them is the consumer's any more. p2 is.
		for _, never := range []string{"q1", "q2", "q-after"} {
			if slices.Contains(got, never) {
				t.Errorf("after q left the filter, %s was delivered: %v", never, got)
			}
		}
		if !slices.Contains(got, "p2") {
			t.Errorf("p2 was not delivered after the resume: %v", got)
		}
	})
}

// TestNATS_DurableSourceSemantics pins what a leaf node's durable sources
// (docs/design/consumers.md, §2.8; AssignLeaf) rely on of nats-server:
//
//   - a consumer a stream sources by name must be a push consumer acked
//     by flow control, with an idle heartbeat of one second, a positive
//     MaxAckPending and no ack wait (checkConsumerCfg);
//   - the stream resets it (CONSUMER.RESET), which for a consumer
//     delivering new messages only goes back to its ack floor: a reset to
//     a sequence is refused;
//   - its delivered stream sequence is how far it has read the stream:
//     past messages its filters do not match once it delivers a later
//     one, not past those after its last delivery (so a subject added to
//     it is read from there: ErrLeafBehind);
//   - paused, it is idle, and the source's flow control brings its ack
//     floor up to what it delivered (HandOver's point for a leaf);
//   - the consumers of a source nats-server makes (JS_SRC_…) are not listed
//     by the JetStream API (tests count them through monitoring).
func TestNATS_DurableSourceSemantics(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SRC", Subjects: []string{"src.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	cfg := jetstream.ConsumerConfig{Durable: "dur", DeliverSubject: "deliver.dur", DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy: jetstream.AckFlowControlPolicy, FlowControl: true, IdleHeartbeat: time.Second, MaxAckPending: 1000,
		FilterSubjects: []string{"src.a"}}
	// (Not pinned: outside pedantic mode nats-server fills in the flow
	// control and the one-second heartbeat itself.)
	for what, change := range map[string]func(*jetstream.ConsumerConfig){
		"an ack wait":            func(c *jetstream.ConsumerConfig) { c.AckWait = 15 * time.Second },
		"no MaxAckPending":       func(c *jetstream.ConsumerConfig) { c.MaxAckPending = -1 },
		"a delivery limit":       func(c *jetstream.ConsumerConfig) { c.MaxDeliver = 5 },
		"no delivery subject":    func(c *jetstream.ConsumerConfig) { c.DeliverSubject = "" },
		"explicit acknowledging": func(c *jetstream.ConsumerConfig) { c.AckPolicy = jetstream.AckExplicitPolicy },
	} {
		bad := cfg
		bad.Durable = "bad"
		change(&bad)
		if what == "explicit acknowledging" {
			// Accepted as a consumer, refused by the sourcing stream
			// (NewJSSourceConsumerRequiresAckFCError): not pinned here.
			continue
		}
		if _, err := js.CreatePushConsumer(ctx, "SRC", bad); err == nil {
			t.Errorf("a flow-control-acked consumer with %s was accepted", what)
			_ = js.DeleteConsumer(ctx, "SRC", "bad")
		}
	}
	if _, err := js.CreatePushConsumer(ctx, "SRC", cfg); err != nil {
		t.Fatalf("the durable source's consumer: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IN", Storage: jetstream.FileStorage, Sources: []*jetstream.StreamSource{
		{Name: "SRC", Consumer: &jetstream.StreamConsumerSource{Name: "dur", DeliverSubject: "deliver.dur"}},
	}}); err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 3 {
		a, err := js.Publish(ctx, "src.a", fmt.Appendf(nil, "a-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "src.b", fmt.Appendf(nil, "b-%d", i)); err != nil {
			t.Fatal(err)
		}
		last = a.Sequence + 1
	}
	c, err := js.PushConsumer(ctx, "SRC", "dur")
	if err != nil {
		t.Fatal(err)
	}
	info := func() *jetstream.ConsumerInfo {
		t.Helper()
		i, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	until := func(what string, ok func(*jetstream.ConsumerInfo) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(info()); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: consumer info %+v", what, info())
			}
		}
	}
	// Read up to its last match, not past the src.b after it.
	until("delivered up to its last match", func(i *jetstream.ConsumerInfo) bool { return i.Delivered.Stream == last-1 })
	a, err := js.Publish(ctx, "src.a", []byte("a-3"))
	if err != nil {
		t.Fatal(err)
	}
	last = a.Sequence + 1
	until("delivered past the src.b before its next match", func(i *jetstream.ConsumerInfo) bool { return i.Delivered.Stream == last-1 })
	if _, err := js.PauseConsumer(ctx, "SRC", "dur", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	until("paused, acknowledged up to what it delivered", func(i *jetstream.ConsumerInfo) bool {
		return i.Paused && i.AckFloor.Stream == last-1 && i.NumAckPending == 0
	})
	in, err := js.Stream(ctx, "IN")
	if err != nil {
		t.Fatal(err)
	}
	if n := in.CachedInfo().State.Msgs; n != 4 {
		t.Errorf("the sourcing stream has %d messages, want the 4 of src.a", n)
	}
	// A reset to a sequence is refused; one to the ack floor is not.
	reset := func(body []byte) string {
		t.Helper()
		m, err := nc.Request("$JS.API.CONSUMER.RESET.SRC.dur", body, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return string(m.Data)
	}
	if r := reset([]byte(`{"seq":1}`)); !strings.Contains(r, `"error"`) {
		t.Errorf("a reset of a new-messages consumer to sequence 1: %s", r)
	}
	if r := reset(nil); strings.Contains(r, `"error"`) {
		t.Errorf("a reset to the ack floor: %s", r)
	}
	// The consumer of a source nats-server makes is not listed.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EPH", Storage: jetstream.FileStorage, Sources: []*jetstream.StreamSource{
		{Name: "SRC", FilterSubject: "src.b"}}}); err != nil {
		t.Fatal(err)
	}
	eph, err := js.Stream(ctx, "EPH")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		i, err := eph.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i.State.Msgs == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the filtered source delivered %d of 3", i.State.Msgs)
		}
	}
	src, err := js.Stream(ctx, "SRC")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for name := range src.ListConsumers(ctx).Info() {
		listed = append(listed, name.Name)
	}
	if !slices.Equal(listed, []string{"dur"}) {
		t.Errorf("SRC's consumers listed: %v, want the durable one only", listed)
	}
}
