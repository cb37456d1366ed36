package bus_test

import (
	"fmt"
	"path/filepath"
	"slices"
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
