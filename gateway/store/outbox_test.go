package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

func TestStore_DueOutbox(t *testing.T) {
	s := mustOpenStore(t)
	a := mustAccept(t, s, newAccept(vpcp, "doc-a", t0, hanoi))
	b := mustAccept(t, s, newAccept(vpcp, "doc-b", t0.Add(time.Second), hanoi, hue))
	c := mustAccept(t, s, newAccept(vpcp, "doc-c", t0.Add(2*time.Second), hue))

	ids := func(items []gateway.OutboxItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Document+" "+it.Recipient)
		}
		return out
	}
	if got, want := ids(mustDue(t, s, t0.Add(time.Second))), []string{a.ID + " " + hanoi, b.ID + " " + hanoi, b.ID + " " + hue}; !equal(got, want) {
		t.Errorf("due at t0+1s: got %q, want %q", got, want)
	}
	if got := mustDue(t, s, t0.Add(-time.Millisecond)); len(got) != 0 {
		t.Errorf("due before t0: got %d items", len(got))
	}
	items, err := s.DueOutbox(t.Context(), t0.Add(time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(items), []string{a.ID + " " + hanoi, b.ID + " " + hanoi}; !equal(got, want) {
		t.Errorf("limit 2: got %q, want %q", got, want)
	}

	// a's publish fails: it comes after the others, once due again.
	first := items[0]
	next := t0.Add(10 * time.Second)
	if err := s.Postpone(t.Context(), first.ID, next, "nats: timeout"); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(mustDue(t, s, t0.Add(5*time.Second))), []string{b.ID + " " + hanoi, b.ID + " " + hue, c.ID + " " + hue}; !equal(got, want) {
		t.Errorf("due at t0+5s: got %q, want %q", got, want)
	}
	all := mustDue(t, s, next)
	if got, want := ids(all), []string{b.ID + " " + hanoi, b.ID + " " + hue, c.ID + " " + hue, a.ID + " " + hanoi}; !equal(got, want) {
		t.Errorf("due at t0+10s: got %q, want %q", got, want)
	}
	p := all[3]
	if p.Attempts != 1 || !p.NextAt.Equal(next) || p.LastError != "nats: timeout" || !p.CreatedAt.Equal(t0) || p.ID != first.ID ||
		p.Agency != vpcp {
		t.Errorf("postponed item: got %+v", p)
	}
	if err := s.Postpone(t.Context(), first.ID, next.Add(time.Minute), "nats: no responders"); err != nil {
		t.Fatal(err)
	}
	all = mustDue(t, s, next.Add(time.Minute))
	if p := all[3]; p.Attempts != 2 || p.LastError != "nats: no responders" {
		t.Errorf("postponed twice: got %+v", p)
	}
}

func TestStore_MarkSent(t *testing.T) {
	t.Run("NotTheItem", func(t *testing.T) {
		// An item whose id now names another packet (a stale list) is an
		// error, and nothing of the batch is marked.
		s := mustOpenStore(t)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		items := mustDue(t, s, t0)
		stale := items[1]
		stale.PacketID = gateway.NewID(t0.Add(time.Hour))
		if n, err := s.MarkSent(t.Context(), []gateway.OutboxItem{items[0], stale}, t0); err == nil || n != 0 {
			t.Fatalf("MarkSent of a stale item: %d, %v; want an error", n, err)
		}
		if got := mustDue(t, s, t0); len(got) != 2 {
			t.Errorf("outbox after a failed MarkSent: %d items, want 2", len(got))
		}
		if d := mustDocument(t, s, doc.ID); deliveryTo(t, d, hanoi).Transport != gateway.Queued || len(d.Events) != 2 {
			t.Errorf("document after a failed MarkSent: %+v", d)
		}
	})
	t.Run("Edoc", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		items := mustDue(t, s, t0)
		at := t0.Add(3 * time.Second)
		if n, err := s.MarkSent(t.Context(), items[:1], at); err != nil || n != 1 {
			t.Fatalf("MarkSent: %d, %v", n, err)
		}
		d := mustDocument(t, s, doc.ID)
		v := deliveryTo(t, d, hanoi)
		if v.Transport != gateway.Sent || v.SentAt == nil || !v.SentAt.Equal(at) || v.State != envelope.StateSent {
			t.Errorf("delivery to Hà Nội: got %s sent at %v, state %s", v.Transport, v.SentAt, v.State)
		}
		if w := deliveryTo(t, d, hue); w.Transport != gateway.Queued || w.SentAt != nil {
			t.Errorf("delivery to Huế: got %s", w.Transport)
		}
		if got, want := eventKinds(d), []string{"queued " + hanoi, "queued " + hue, "sent " + hanoi}; !equal(got, want) {
			t.Errorf("events: got %q, want %q", got, want)
		}
		if e := d.Events[2]; !e.At.Equal(at) || e.PacketID != doc.PacketID {
			t.Errorf("sent event: got %+v", e)
		}
		if got := mustDue(t, s, t0.Add(time.Hour)); len(got) != 1 || got[0].Recipient != hue {
			t.Errorf("outbox after MarkSent: got %+v", got)
		}
		if n, err := s.MarkSent(t.Context(), items[:1], at); err != nil || n != 0 {
			t.Errorf("MarkSent twice: got %d, %v, want 0 marked", n, err)
		}
		if got, want := auditActions(t, path), []string{"accept " + doc.ID, "sent " + doc.ID}; !equal(got, want) {
			t.Errorf("audit: got %q, want %q", got, want)
		}
		// A status arriving after the publish ack moves the state, not the
		// transport.
		if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "doc-1", envelope.StatusArrived, t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if v := deliveryTo(t, mustDocument(t, s, doc.ID), hanoi); v.Transport != gateway.Sent || v.State != envelope.StateArrived {
			t.Errorf("after 01: got %s %s", v.Transport, v.State)
		}
	})

	t.Run("Status", func(t *testing.T) {
		s := mustOpenStore(t)
		doc := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
		items := mustDue(t, s, t0)
		if len(items) != 1 || items[0].Kind != gateway.KindStatus {
			t.Fatalf("outbox: got %+v, want the 01", items)
		}
		if _, err := s.MarkSent(t.Context(), items[:1], t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		d := mustDocument(t, s, doc.ID)
		if v := deliveryTo(t, d, vpcp); v.Transport != gateway.Received || v.SentAt != nil {
			t.Errorf("incoming delivery after its 01 was sent: %s %v", v.Transport, v.SentAt)
		}
		if got := len(d.Events); got != 2 {
			t.Errorf("events: got %d, want 2", got)
		}
		if got := mustDue(t, s, t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("outbox: got %d items, want none", len(got))
		}
	})

	t.Run("WrongItem", func(t *testing.T) {
		s := mustOpenStore(t)
		mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		it := mustDue(t, s, t0)[0]
		it.Recipient = hue
		if _, err := s.MarkSent(t.Context(), []gateway.OutboxItem{it}, t0); err == nil {
			t.Error("MarkSent of an item with another recipient: no error")
		}
	})
}

func TestStore_Postpone(t *testing.T) {
	s := mustOpenStore(t)
	if err := s.Postpone(t.Context(), 42, t0, "nats: timeout"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Postpone of a missing item: got %v, want ErrNotFound", err)
	}
}

// TestStore_DueOutbox_Earliest: the store keeps when the earliest outbox
// item is due, and DueOutbox reads nothing before it; whatever queues,
// takes out or puts off items moves it, and what the store cannot be
// sure of (an update undone, another process's commit) makes it read
// again.
func TestStore_DueOutbox_Earliest(t *testing.T) {
	// reads returns what DueOutbox(now) returns, and how many statements
	// it read with.
	reads := func(t *testing.T, s *store.Store, now time.Time) ([]gateway.OutboxItem, int64) {
		t.Helper()
		before := store.CostOf(s)
		items := mustDue(t, s, now)
		return items, store.CostOf(s).Sub(before).Reads
	}
	t.Run("NothingDue", func(t *testing.T) {
		s := mustOpenStore(t)
		if items, n := reads(t, s, t0); len(items) != 0 || n != 0 {
			t.Errorf("a new store: %d items, %d reads; want none", len(items), n)
		}
		mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		items, n := reads(t, s, t0)
		if len(items) != 2 || n != 1 {
			t.Fatalf("after an accept: %d items, %d reads; want 2 items, read", len(items), n)
		}
		if _, err := s.MarkSent(t.Context(), items, t0); err != nil {
			t.Fatal(err)
		}
		if items, n := reads(t, s, t0.Add(time.Hour)); len(items) != 0 || n != 0 {
			t.Errorf("all sent: %d items, %d reads; want none", len(items), n)
		}
		mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0.Add(time.Minute)))
		if items, n := reads(t, s, t0); len(items) != 0 || n != 0 {
			t.Errorf("the 01 of a received document, before it is due: %d items, %d reads; want none", len(items), n)
		}
		if items, n := reads(t, s, t0.Add(time.Minute)); len(items) != 1 || n != 1 {
			t.Errorf("the 01 of a received document: %d items, %d reads; want it, read", len(items), n)
		}
	})
	t.Run("Postponed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		it := mustDue(t, s, t0)[0]
		if err := s.Postpone(t.Context(), it.ID, t0.Add(10*time.Second), "nats: timeout"); err != nil {
			t.Fatal(err)
		}
		if items, n := reads(t, s, t0.Add(5*time.Second)); len(items) != 0 || n != 0 {
			t.Errorf("before the retry: %d items, %d reads; want none", len(items), n)
		}
		if items, _ := reads(t, s, t0.Add(10*time.Second)); len(items) != 1 || items[0].ID != it.ID {
			t.Errorf("at the retry: %+v, want the item", items)
		}
		// A restart knows it too.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpenStoreAt(t, path)
		if items, n := reads(t, s, t0.Add(5*time.Second)); len(items) != 0 || n != 0 {
			t.Errorf("reopened, before the retry: %d items, %d reads; want none", len(items), n)
		}
		if items, _ := reads(t, s, t0.Add(10*time.Second)); len(items) != 1 {
			t.Errorf("reopened, at the retry: %d items, want 1", len(items))
		}
	})
	t.Run("FailedMarkSent", func(t *testing.T) {
		// A MarkSent that fails half way marks nothing, and both items
		// stay due.
		s := mustOpenStore(t)
		mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		items := mustDue(t, s, t0)
		stale := items[1]
		stale.PacketID = gateway.NewID(t0.Add(time.Hour))
		if _, err := s.MarkSent(t.Context(), []gateway.OutboxItem{items[0], stale}, t0); err == nil {
			t.Fatal("MarkSent of a stale item: no error")
		}
		if got := mustDue(t, s, t0); len(got) != 2 {
			t.Errorf("after a failed MarkSent: %d items due, want 2", len(got))
		}
	})
	t.Run("FailedInABatch", func(t *testing.T) {
		// Two MarkSent committed together (group commit), the second
		// failing half way: the first's item is marked, the second's
		// are all still due, and the store reads them.
		s := mustOpenStore(t)
		mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		mustAccept(t, s, newAccept(vpcp, "doc-2", t0, hanoi, hue))
		items := mustDue(t, s, t0)
		stale := items[2]
		stale.PacketID = gateway.NewID(t0.Add(time.Hour))
		// An update holds the writer, so that the two queue behind
		// it and are committed in one batch.
		holding, release := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- store.Update(s, t.Context(), func(*sql.Tx) error { close(holding); <-release; return nil })
		}()
		<-holding
		first, second := make(chan error, 1), make(chan error, 1)
		go func() {
			_, err := s.MarkSent(t.Context(), items[:1], t0)
			first <- err
		}()
		waitPending(t, s, 1)
		go func() {
			_, err := s.MarkSent(t.Context(), []gateway.OutboxItem{items[1], stale}, t0)
			second <- err
		}()
		waitPending(t, s, 2)
		close(release)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		if err := <-first; err != nil {
			t.Fatalf("the first MarkSent: %v", err)
		}
		if err := <-second; err == nil {
			t.Fatal("the second MarkSent, of a stale item: no error")
		}
		got, n := reads(t, s, t0)
		if len(got) != 2 || got[0].ID != items[1].ID || got[1].ID != items[2].ID || n != 1 {
			t.Errorf("after the batch: %+v, %d reads; want the second's two items, read", got, n)
		}
	})
	t.Run("AnotherProcess", func(t *testing.T) {
		// Another process brings an item forward: the store sees it once
		// it writes again (PRAGMA data_version).
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		it := mustDue(t, s, t0)[0]
		if err := s.Postpone(t.Context(), it.ID, t0.Add(time.Hour), "nats: timeout"); err != nil {
			t.Fatal(err)
		}
		if _, err := rawDB(t, path).Exec(`UPDATE outbox SET next_at = ? WHERE id = ?`, t0.UnixMilli(), it.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := mustDue(t, s, t0); len(got) != 1 {
			t.Errorf("after another process's change and a write: %d items due, want 1", len(got))
		}
	})
}

// TestStore_DueOutbox_Concurrent: while documents are accepted and a
// dispatcher marks what it finds due, a document's item is due as soon as
// AcceptDocument returns, unless the dispatcher already marked it: what
// the store knows of the outbox never hides an item.
func TestStore_DueOutbox_Concurrent(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	stop := make(chan struct{})
	dispatched := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				dispatched <- nil
				return
			default:
			}
			items, err := s.DueOutbox(ctx, t0.Add(time.Hour), 16)
			if err == nil && len(items) > 0 {
				_, err = s.MarkSent(ctx, items, t0)
			}
			if err != nil {
				dispatched <- err
				return
			}
		}
	}()
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				doc, _, err := s.AcceptDocument(ctx, newAccept(vpcp, fmt.Sprintf("doc-%d-%d", w, i), t0, hanoi))
				if err != nil {
					errs <- err
					return
				}
				items, err := s.DueOutbox(ctx, t0.Add(time.Hour), 1000)
				if err != nil {
					errs <- err
					return
				}
				if slices.ContainsFunc(items, func(it gateway.OutboxItem) bool { return it.Document == doc.ID }) {
					continue
				}
				// Not due: then marked before DueOutbox read.
				if v := deliveryTo(t, mustDocument(t, s, doc.ID), hanoi); v.Transport != gateway.Sent {
					errs <- fmt.Errorf("document %s: neither due nor sent (%s)", doc.ID, v.Transport)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-dispatched; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// waitPending waits until n updates queue for the writer.
func waitPending(t *testing.T, s *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for store.Pending(s) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d updates pending, want %d", store.Pending(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// undo0019 makes the outbox of a store as 0018 left it: id AUTOINCREMENT,
// with its items and the last id kept in sqlite_sequence.
const undo0019 = `CREATE TABLE outbox_old (
		id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
		packet_id  TEXT    NOT NULL REFERENCES packets (id),
		kind       TEXT    NOT NULL CHECK (kind IN ('edoc', 'status')),
		recipient  TEXT    NOT NULL,
		document   TEXT    NOT NULL DEFAULT '',
		attempts   INTEGER NOT NULL DEFAULT 0,
		next_at    INTEGER NOT NULL,
		last_error TEXT    NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		UNIQUE (packet_id, recipient)
	) STRICT;
	INSERT INTO outbox_old SELECT * FROM outbox ORDER BY id;
	DROP TABLE outbox;
	ALTER TABLE outbox_old RENAME TO outbox;
	CREATE INDEX outbox_due ON outbox (next_at, id);
	PRAGMA user_version = 18`

// TestOpen_MigrateOutboxRebuilt: migration 0019, run on a store with
// items queued, sent and postponed, keeps every item queued with its id
// and what it holds, leaves no row of the outbox in sqlite_sequence, and
// queues the next item after the last one.
func TestOpen_MigrateOutboxRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	for i := range 3 {
		mustAccept(t, s, newAccept(vpcp, fmt.Sprintf("doc-%d", i), t0.Add(time.Duration(i)*time.Second), hanoi, hue))
	}
	items := mustDue(t, s, t0.Add(time.Hour))
	if len(items) != 6 {
		t.Fatalf("%d items queued, want 6", len(items))
	}
	if _, err := s.MarkSent(t.Context(), items[:2], t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Postpone(t.Context(), items[2].ID, t0.Add(time.Hour), "no route"); err != nil {
		t.Fatal(err)
	}
	want := mustDue(t, s, t0.Add(2*time.Hour))
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(undo0019); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'`); n != 1 {
		t.Fatalf("%d rows of the outbox in sqlite_sequence before 0019, want 1", n)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	if got := mustDue(t, s, t0.Add(2*time.Hour)); !slices.Equal(got, want) {
		t.Errorf("items after 0019:\n%+v\nbefore:\n%+v", got, want)
	}
	db = rawDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'`); n != 0 {
		t.Errorf("%d rows of the outbox in sqlite_sequence after 0019, want none", n)
	}
	var last int64
	for _, it := range want {
		last = max(last, it.ID)
	}
	mustAccept(t, s, newAccept(vpcp, "doc-next", t0.Add(time.Minute), btttt))
	next := count(t, db, `SELECT id FROM outbox WHERE recipient = ?`, btttt)
	if int64(next) != last+1 {
		t.Errorf("id of the item queued after 0019: %d, want %d", next, last+1)
	}
	if _, err := s.MarkSent(t.Context(), mustDue(t, s, t0.Add(2*time.Hour)), t0.Add(2*time.Hour)); err != nil {
		t.Errorf("MarkSent after 0019: %v", err)
	}
}
