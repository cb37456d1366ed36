package bus_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/gateway/bus"
)

// TestBus_HandOver: an agency's subject is taken out of a consumer while
// its messages keep coming and the consumer keeps taking them; every
// message of the subject below the point HandOver returns went to that
// consumer, and every one from it on to a consumer that starts there —
// each exactly once, none lost.
func TestBus_HandOver(t *testing.T) {
	b, srv := withBus(t)
	js := rawJetStream(t, srv)
	ctx := t.Context()
	const stream, a, x = bus.StreamEdoc, "lt.edoc.HOA", "lt.edoc.HOX"
	c, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "gwc_edoc_test", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubjects: []string{a, x}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		gotA = map[uint64]bool{}
		gotX = map[uint64]int{}
	)
	cc, err := c.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		if m.Subject() == x {
			gotX[md.Sequence.Stream]++
		} else {
			gotA[md.Sequence.Stream] = true
		}
		mu.Unlock()
		time.Sleep(time.Millisecond) // a consumer busy storing
		m.Ack()
	}, jetstream.PullExpiry(2*time.Second)) // after the pause, pulls again within 2 s
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()

	const n = 400
	var sentA, sentX []uint64
	var next uint64
	handed := make(chan error, 1)
	for i := range n {
		subject := a
		if i%2 == 1 {
			subject = x
		}
		ack, err := js.Publish(ctx, subject, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if subject == x {
			sentX = append(sentX, ack.Sequence)
		} else {
			sentA = append(sentA, ack.Sequence)
		}
		if i == n/3 {
			go func() {
				var err error
				next, err = b.HandOver(ctx, stream, "gwc_edoc_test", []string{x})
				handed <- err
			}()
		}
		if i%20 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := <-handed; err != nil {
		t.Fatal(err)
	}
	// The consumer takes every message of the subject it kept.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		done := len(gotA) == len(sentA)
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer took %d of the %d messages it kept", len(gotA), len(sentA))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Whoever takes the subject starts at next.
	catchUp, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "gwu_edoc_test", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: x, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: next})
	if err != nil {
		t.Fatal(err)
	}
	after := map[uint64]bool{}
	want := 0
	for _, seq := range sentX {
		if seq >= next {
			want++
		}
	}
	for len(after) < want {
		batch, err := catchUp.Fetch(100, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			md, _ := m.Metadata()
			after[md.Sequence.Stream] = true
			m.Ack()
			got++
		}
		if got == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if next <= sentX[0] || next > sentX[len(sentX)-1] {
		t.Logf("the point %d is at an end of the subject's messages (%d–%d): the test shows less", next, sentX[0], sentX[len(sentX)-1])
	}
	for _, seq := range sentX {
		before := gotX[seq] > 0
		switch {
		case seq < next && !before:
			t.Errorf("message %d, before the point %d, did not reach the first consumer", seq, next)
		case seq >= next && before:
			t.Errorf("message %d, at or after the point %d, reached the first consumer", seq, next)
		case seq >= next && !after[seq]:
			t.Errorf("message %d, at or after the point %d, did not reach the next consumer", seq, next)
		case seq < next && after[seq]:
			t.Errorf("message %d, before the point %d, reached the next consumer too", seq, next)
		}
	}
	if i := slices.IndexFunc(sentX, func(s uint64) bool { return gotX[s] > 1 }); i >= 0 {
		t.Logf("message %d was redelivered to the first consumer (acknowledged late): it is still its own", sentX[i])
	}
	// Refused: a subject it does not have.
	if _, err := b.HandOver(ctx, stream, "gwc_edoc_test", []string{x}); err == nil {
		t.Error("a second hand-over of the same subject was not refused")
	}
	// Its last subject: it goes, once what it was given is settled, and
	// the next holder starts after it.
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, err := b.HandOver(ctx, stream, "gwc_edoc_test", []string{a})
	if err != nil {
		t.Fatalf("handing over the last subject: %v", err)
	}
	if last <= info.Delivered.Stream {
		t.Errorf("the last subject handed over from %d, at or before the last delivered %d", last, info.Delivered.Stream)
	}
	if _, err := js.Consumer(ctx, stream, "gwc_edoc_test"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the consumer after its last subject went: %v", err)
	}
}

// TestBus_HandOverPoint: the point is the one after the last message the
// consumer was given, to the sequence.
func TestBus_HandOverPoint(t *testing.T) {
	b, srv := withBus(t)
	js := rawJetStream(t, srv)
	ctx := t.Context()
	c, err := js.CreateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{Durable: "gwc_edoc_point", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubjects: []string{"lt.edoc.PTA", "lt.edoc.PTX"}})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for i := range 10 {
		ack, err := js.Publish(ctx, "lt.edoc.PTX", []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	batch, err := c.Fetch(4, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		m.Ack()
		n++
	}
	if n != 4 {
		t.Fatalf("fetched %d, want 4", n)
	}
	next, err := b.HandOver(ctx, bus.StreamEdoc, "gwc_edoc_point", []string{"lt.edoc.PTX"})
	if err != nil {
		t.Fatal(err)
	}
	if next != seqs[3]+1 {
		t.Errorf("the point is %d, want %d: the one after the 4th message given (%d)", next, seqs[3]+1, seqs[3])
	}
}
