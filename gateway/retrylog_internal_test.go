package gateway

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLoudAttempt(t *testing.T) {
	var loud []int
	for a := range 70 {
		if loudAttempt(a) {
			loud = append(loud, a)
		}
	}
	if want := []int{1, 2, 4, 8, 16, 32, 64}; !slices.Equal(loud, want) {
		t.Errorf("loud attempts %v, want %v", loud, want)
	}
}

// TestRetryJitter: the delay is shortened by up to a fifth, never
// lengthened; the same item and attempt get the same delay; items that
// failed together are spread over the fifth.
func TestRetryJitter(t *testing.T) {
	const d = 10 * time.Second
	seen := map[time.Duration]bool{}
	lo, hi := d, time.Duration(0)
	for id := int64(1); id <= 200; id++ {
		item := OutboxItem{ID: id, Attempts: 3}
		got := retryJitter(d, item)
		if got <= d*4/5 || got > d {
			t.Fatalf("retryJitter(%v, item %d) = %v, want in (%v, %v]", d, id, got, d*4/5, d)
		}
		if again := retryJitter(d, item); again != got {
			t.Fatalf("retryJitter(%v, item %d) = %v, then %v", d, id, got, again)
		}
		seen[got] = true
		lo, hi = min(lo, got), max(hi, got)
	}
	if len(seen) < 190 || lo > d*82/100 || hi < d*98/100 {
		t.Errorf("200 items: %d distinct delays from %v to %v, want them spread over (%v, %v]", len(seen), lo, hi, d*4/5, d)
	}
	if a, b := retryJitter(d, OutboxItem{ID: 7, Attempts: 1}), retryJitter(d, OutboxItem{ID: 7, Attempts: 2}); a == b {
		t.Errorf("item 7's retries 1 and 2 have the same jitter: %v", a)
	}
}

// failingOutbox is a Store whose outbox holds items that a Bus fails to
// publish (a test double of what the dispatcher uses, and nothing else).
type failingOutbox struct {
	Store
	mu        sync.Mutex
	items     []OutboxItem
	postponed map[int64]time.Time
}

func (s *failingOutbox) DueOutbox(context.Context, time.Time, int) ([]OutboxItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]OutboxItem(nil), s.items...), nil
}

func (s *failingOutbox) Postpone(_ context.Context, id int64, next time.Time, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.postponed[id] = next
	for i := range s.items {
		if s.items[i].ID == id {
			s.items[i].Attempts++
		}
	}
	return nil
}

func (s *failingOutbox) Packet(_ context.Context, id string) (*Packet, error) {
	return &Packet{ID: id, Data: []byte("<edXMLEnvelope/>")}, nil
}

type unreachableBus struct{ Bus }

var errUnreachable = errors.New("nats: no responders available for request")

func (unreachableBus) Publish(context.Context, Publication) (PubAck, error) {
	return PubAck{}, errUnreachable
}

// TestDispatch_FailureLogs: while NATS is away, each item's failure is
// warned of at its attempts 1, 2, 4, 8 only, the others once a minute in
// one summary; every item is postponed by its jittered back-off.
func TestDispatch_FailureLogs(t *testing.T) {
	const items = 20
	store := &failingOutbox{postponed: map[int64]time.Time{}}
	for i := range items {
		store.items = append(store.items, OutboxItem{ID: int64(i + 1), PacketID: "p", Kind: KindEdoc, Recipient: "000.00.00.H41"})
	}
	core, logs := observer.New(zapcore.WarnLevel)
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	g := &Gateway{
		opts:  Options{Now: func() time.Time { return now }, MaxRetryDelay: DefaultMaxRetryDelay},
		log:   zap.New(core),
		store: store, bus: unreachableBus{}, obs: NopObserver{},
		fresh: newFreshPackets(1 << 20),
	}
	warns := make([]int, 0, 8)
	for pass := 1; pass <= 8; pass++ {
		g.dispatchOnce(t.Context())
		warns = append(warns, logs.FilterMessage("publish failed; will retry").Len())
		logs.TakeAll()
		delays := map[time.Duration]bool{}
		for _, it := range store.items {
			base := g.retryDelay(it.Attempts - 1)
			got := store.postponed[it.ID].Sub(now)
			if got <= base*4/5 || got > base {
				t.Fatalf("pass %d: item %d postponed by %v, want in (%v, %v]", pass, it.ID, got, base*4/5, base)
			}
			delays[got] = true
		}
		if len(delays) < items*3/4 {
			t.Errorf("pass %d: %d items failed together postponed by %d different delays only", pass, items, len(delays))
		}
		now = now.Add(20 * time.Second)
	}
	// Attempts 1, 2, 4 and 8 of every item are warned of, none else.
	if want := []int{items, items, 0, items, 0, 0, 0, items}; !slices.Equal(warns, want) {
		t.Errorf("warnings per pass %v, want %v", warns, want)
	}
	if g.publishFailures.n == 0 {
		t.Error("no failure left for the next summary")
	}
}

// TestDispatch_FailureSummary: the failures not warned of one by one are
// summed up at once, then at most once a minute with their number.
func TestDispatch_FailureSummary(t *testing.T) {
	store := &failingOutbox{postponed: map[int64]time.Time{}, items: []OutboxItem{
		{ID: 1, PacketID: "p", Kind: KindEdoc, Recipient: "000.00.00.H41", Attempts: 2},
		{ID: 2, PacketID: "p", Kind: KindEdoc, Recipient: "000.00.00.H41", Attempts: 2},
	}}
	core, logs := observer.New(zapcore.WarnLevel)
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	g := &Gateway{
		opts:  Options{Now: func() time.Time { return now }, MaxRetryDelay: DefaultMaxRetryDelay},
		log:   zap.New(core),
		store: store, bus: unreachableBus{}, obs: NopObserver{},
		fresh: newFreshPackets(1 << 20),
	}
	summaries := func() []observer.LoggedEntry {
		var out []observer.LoggedEntry
		for _, e := range logs.TakeAll() {
			if e.Message != "publish failed; will retry" {
				out = append(out, e)
			}
		}
		return out
	}
	g.dispatchOnce(t.Context()) // attempts 3: quiet, summed up at once
	if s := summaries(); len(s) != 1 || s[0].ContextMap()["failures"] != int64(2) {
		t.Fatalf("first quiet failures: summaries %v, want one of 2", s)
	}
	for _, it := range store.items {
		if it.Attempts != 3 {
			t.Fatalf("item %d: %d attempts", it.ID, it.Attempts)
		}
	}
	store.items[0].Attempts, store.items[1].Attempts = 4, 4 // attempts 5: quiet
	now = now.Add(30 * time.Second)
	g.dispatchOnce(t.Context())
	if s := summaries(); len(s) != 0 {
		t.Fatalf("within the minute: %v", s)
	}
	store.items[0].Attempts, store.items[1].Attempts = 5, 5 // attempts 6: quiet
	now = now.Add(31 * time.Second)
	g.dispatchOnce(t.Context())
	if s := summaries(); len(s) != 1 || s[0].ContextMap()["failures"] != int64(4) {
		t.Fatalf("after the minute: summaries %v, want one of 4", s)
	}
}
