package store_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestStore_Stats: the outbox with its oldest item, the quarantine, and
// the incoming documents past their due date that are still open.
func TestStore_Stats(t *testing.T) {
	s := mustOpenStore(t)
	stats := func(now time.Time) gateway.StoreStats {
		t.Helper()
		st, err := s.Stats(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// The writer's batches since Open (its migrations and more), not
	// compared here.
	writer := func(st gateway.StoreStats) gateway.StoreStats {
		st.WriterBatches, st.WriterUpdates = 0, 0
		return st
	}
	if got := writer(stats(t0)); got != (gateway.StoreStats{}) {
		t.Errorf("empty store: got %+v", got)
	}

	mustAccept(t, s, newAccept(vpcp, "doc-1", t0.Add(-time.Hour), hanoi, hue)) // 2 outbox items
	// t0 is 2026/03/02 08:30 in Vietnam.
	for _, in := range []struct {
		id  string
		due envelope.Date
	}{
		{"in-past", "2026/03/01"},  // overdue
		{"in-today", "2026/03/02"}, // due today: not yet
		{"in-done", "2026/02/20"},  // past, but rejected below
		{"in-none", ""},            // no due date
		{"in-odd", "2026-02-01"},   // not a due date the store can read
	} {
		r := newReceive(vpcp, hanoi, in.id, t0) // each queues its 01
		r.Document.DueDate = in.due
		d := mustReceive(t, s, r)
		if in.id == "in-done" {
			err := s.EmitStatus(t.Context(), gateway.EmitStatus{
				Document: d.ID, Recipients: []string{vpcp}, Party: envelope.PartyRecipient,
				Reply: gateway.Reply{Packet: newPacket(gateway.KindStatus, t0, 512), Code: envelope.StatusRejected,
					By: vpcp, Description: "không thuộc thẩm quyền", At: t0},
				SendTo: []string{hanoi}, At: t0,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	bad := newQuarantine("bad-1", t0, false)
	if err := s.Quarantine(t.Context(), bad); err != nil {
		t.Fatal(err)
	}

	want := gateway.StoreStats{OutboxItems: 2 + 5 + 1, OldestOutbox: t0.Add(-time.Hour), QuarantineItems: 1,
		QuarantineBytes: int64(len(bad.Packet.Data)), Overdue: 1}
	if got := writer(stats(t0)); got != want {
		t.Errorf("at t0: got %+v, want %+v", got, want)
	}
	// The next day in Vietnam (00:30 on 2026/03/03), the one due on
	// 2026/03/02 is overdue too.
	want.Overdue = 2
	if got := writer(stats(time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC))); got != want {
		t.Errorf("a day later: got %+v, want %+v", got, want)
	}

	// Once published, the outbox is empty and has no oldest item.
	items := mustDue(t, s, t0.Add(time.Hour))
	if _, err := s.MarkSent(t.Context(), items, t0); err != nil {
		t.Fatal(err)
	}
	if got := stats(t0); got.OutboxItems != 0 || !got.OldestOutbox.IsZero() {
		t.Errorf("after MarkSent: got %+v", got)
	}
}

// TestStore_StatsWriter: Stats counts the writer's batches and the
// updates in them, and the updates queued.
func TestStore_StatsWriter(t *testing.T) {
	s := mustOpenStore(t)
	before, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s, gateway.NewID(t0))
	const queued = 3
	var wg sync.WaitGroup
	for i := range queued {
		wg.Go(func() {
			if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { return insertRow(t.Context(), tx, gateway.NewID(t0)) }); err != nil {
				t.Error(err)
			}
		})
		waitPending(t, s, i+1)
	}
	st, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	// The held batch is counted once the writer took it.
	if st.WriterQueue != queued || st.WriterBatches != before.WriterBatches+1 || st.WriterUpdates != before.WriterUpdates+1 {
		t.Errorf("with %d updates queued behind a batch: %+v, before %+v", queued, st, before)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	st, err = s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.WriterQueue != 0 || st.WriterBatches != before.WriterBatches+2 || st.WriterUpdates != before.WriterUpdates+1+queued {
		t.Errorf("once committed (one batch of %d): %+v, before %+v", queued, st, before)
	}
}

// TestStore_Ping: a write commits on an open store, and a closed one or a
// context already done says so.
func TestStore_Ping(t *testing.T) {
	s := mustOpenStore(t)
	for range 3 {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with a cancelled context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
}
