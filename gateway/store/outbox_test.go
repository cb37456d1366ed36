package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
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
