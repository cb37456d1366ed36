package store_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// inboxDocs returns the Document of each item.
func inboxDocs(items []gateway.InboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Document)
	}
	return out
}

func mustInbox(tb testing.TB, s *store.Store, q gateway.InboxQuery) []gateway.InboxItem {
	tb.Helper()
	items, err := s.Inbox(tb.Context(), q)
	if err != nil {
		tb.Fatal(err)
	}
	return items
}

// TestStore_Inbox: a system's items are the documents its agencies
// received and the statuses others sent about their documents, each once
// under a UUID, listed until done, not seen by another system, and those
// of an agency the system takes on later are there too.
func TestStore_Inbox(t *testing.T) {
	const (
		h41  = "000.00.00.H41"
		soyt = "000.00.12.H41"
		g22  = "000.00.00.G22"
	)
	s := mustOpenStore(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	in1 := mustReceive(t, s, newReceive(h41, g22, g22+",2026/11/20,1/VPCP", at))
	in2 := mustReceive(t, s, newReceive(soyt, g22, g22+",2026/11/20,2/VPCP", at.Add(time.Minute)))
	out := mustAccept(t, s, newAccept(h41, h41+",2026/11/20,3/UBND", at.Add(2*time.Minute), g22))
	if _, err := s.ApplyStatus(ctx, newStatus(h41, g22, h41+",2026/11/20,3/UBND", envelope.StatusArrived, at.Add(3*time.Minute))); err != nil {
		t.Fatal(err)
	}

	edocs := gateway.InboxQuery{System: "qlvb-ubnd", Kind: gateway.KindEdoc, Agencies: []string{h41}}
	items := mustInbox(t, s, edocs)
	if got := inboxDocs(items); !equal(got, []string{in1.ID}) {
		t.Fatalf("edoc items %v, want the document H41 received (%s)", got, in1.ID)
	}
	it := items[0]
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(it.DocID) {
		t.Errorf("docId %q is not a UUID", it.DocID)
	}
	if it.Sender != g22 || it.Agency != h41 || it.State != gateway.InboxNew || it.PacketID == "" {
		t.Errorf("item %+v", it)
	}
	// Listed again, the same item under the same id.
	if again := mustInbox(t, s, edocs); len(again) != 1 || again[0].DocID != it.DocID {
		t.Errorf("listed again: %+v", again)
	}

	statuses := gateway.InboxQuery{System: "qlvb-ubnd", Kind: gateway.KindStatus, Agencies: []string{h41}}
	st := mustInbox(t, s, statuses)
	if len(st) != 1 || st[0].Document != out.ID || st[0].Sender != g22 || st[0].Event == 0 {
		t.Fatalf("status items %+v, want the 01 G22 sent about %s (not the 01 H41 sent itself)", st, out.ID)
	}
	if n, err := s.CountInbox(ctx, statuses); err != nil || n != 1 {
		t.Errorf("CountInbox: %d, %v", n, err)
	}

	// Another system does not find the item, nor acknowledge it.
	if _, err := s.InboxItem(ctx, "qlvb-soyte", it.DocID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("another system's InboxItem: %v, want ErrNotFound", err)
	}
	if err := s.SetInboxState(ctx, "qlvb-soyte", it.DocID, gateway.InboxDone, ""); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("another system's SetInboxState: %v, want ErrNotFound", err)
	}
	// fail keeps it listed; done takes it off.
	if err := s.SetInboxState(ctx, "qlvb-ubnd", it.DocID, gateway.InboxFailed, "disk full"); err != nil {
		t.Fatal(err)
	}
	if got := mustInbox(t, s, edocs); len(got) != 1 || got[0].State != gateway.InboxFailed || got[0].Description != "disk full" {
		t.Errorf("after fail: %+v", got)
	}
	if err := s.SetInboxState(ctx, "qlvb-ubnd", it.DocID, gateway.InboxDone, ""); err != nil {
		t.Fatal(err)
	}
	if got := mustInbox(t, s, edocs); len(got) != 0 {
		t.Errorf("after done: %+v", got)
	}
	// A document received later comes once.
	in3 := mustReceive(t, s, newReceive(h41, g22, g22+",2026/11/21,4/VPCP", at.Add(time.Hour)))
	if got := inboxDocs(mustInbox(t, s, edocs)); !equal(got, []string{in3.ID}) {
		t.Errorf("after a new document: %v, want %s", got, in3.ID)
	}

	// The system takes on the Sở: what the Sở received before is listed.
	edocs.Agencies = []string{h41, soyt}
	if got := inboxDocs(mustInbox(t, s, edocs)); !equal(got, []string{in2.ID, in3.ID}) {
		t.Errorf("with the Sở: %v, want %s and %s", got, in2.ID, in3.ID)
	}
	// Another system of the Sở has its own items, ids and states.
	other := mustInbox(t, s, gateway.InboxQuery{System: "qlvb-soyte", Kind: gateway.KindEdoc, Agencies: []string{soyt}})
	if len(other) != 1 || other[0].Document != in2.ID {
		t.Fatalf("the Sở's own system: %+v", other)
	}
	// Since leaves out what was stored before it.
	late := mustInbox(t, s, gateway.InboxQuery{System: "qlvb-new", Kind: gateway.KindEdoc, Agencies: []string{h41}, Since: at.Add(30 * time.Minute)})
	if got := inboxDocs(late); !equal(got, []string{in3.ID}) {
		t.Errorf("since: %v, want only %s", got, in3.ID)
	}
	// A status the lifecycle refused (15 with no recall asked) is not
	// listed: the DMS must not take it for a fact.
	if res, err := s.ApplyStatus(ctx, newStatus(h41, g22, h41+",2026/11/20,3/UBND", envelope.StatusRecallAccepted, at.Add(4*time.Minute))); err != nil || res.Refused == nil {
		t.Fatalf("15 without 13: %+v, %v", res, err)
	}
	if st := mustInbox(t, s, statuses); len(st) != 1 {
		t.Errorf("after a refused status: %d status items, want the 01 only", len(st))
	}

	// Items the system failed to take come after the others; After and
	// Before bound when they were received.
	in4 := mustReceive(t, s, newReceive(h41, g22, g22+",2026/11/21,5/VPCP", at.Add(2*time.Hour)))
	items = mustInbox(t, s, edocs)
	if got := inboxDocs(items); !equal(got, []string{in2.ID, in3.ID, in4.ID}) {
		t.Fatalf("before a failure: %v", got)
	}
	if err := s.SetInboxState(ctx, "qlvb-ubnd", items[0].DocID, gateway.InboxFailed, "không đọc được"); err != nil {
		t.Fatal(err)
	}
	if got := inboxDocs(mustInbox(t, s, edocs)); !equal(got, []string{in3.ID, in4.ID, in2.ID}) {
		t.Errorf("after a failure: %v, want the failed one last", got)
	}
	edocs.Limit = 2
	if got := inboxDocs(mustInbox(t, s, edocs)); !equal(got, []string{in3.ID, in4.ID}) {
		t.Errorf("two at most: %v", got)
	}
	edocs.Limit, edocs.After = 0, at.Add(90*time.Minute)
	if got := inboxDocs(mustInbox(t, s, edocs)); !equal(got, []string{in4.ID}) {
		t.Errorf("after %s: %v, want %s", edocs.After, got, in4.ID)
	}
	if n, err := s.CountInbox(ctx, edocs); err != nil || n != 1 {
		t.Errorf("count after: %d, %v", n, err)
	}
	edocs.After, edocs.Before = time.Time{}, at.Add(90*time.Minute)
	if got := inboxDocs(mustInbox(t, s, edocs)); !equal(got, []string{in3.ID, in2.ID}) {
		t.Errorf("before %s: %v", edocs.Before, got)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("check: %v", err)
	}
}
