package gateway_test

import (
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/testkit"
)

// changesUntil reads ch until every document of want was changed, and
// returns how many changes each document had; it fails the test after
// 15 s, on a closed channel or on lost changes.
func changesUntil(t *testing.T, ch <-chan gateway.Change, agency string, want map[string]int) map[string]int {
	t.Helper()
	got := make(map[string]int)
	var seq uint64
	deadline := time.After(15 * time.Second)
	for {
		done := true
		for doc, n := range want {
			done = done && got[doc] >= n
		}
		if done {
			return got
		}
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("the change feed closed; got %v, want %v", got, want)
			}
			if c.Lost || c.Agency != agency {
				t.Errorf("change %+v, want one of %s and nothing lost", c, agency)
			}
			if c.Seq <= seq {
				t.Errorf("change %+v after one numbered %d", c, seq)
			}
			seq = c.Seq
			got[c.Document]++
		case <-deadline:
			t.Fatalf("timed out waiting for changes: got %v, want %v", got, want)
		}
	}
}

// nextChange returns the next change on ch, waiting up to 15 s; it fails
// the test if none comes or ch is closed.
func nextChange(t *testing.T, ch <-chan gateway.Change) gateway.Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("the change feed closed")
		}
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no change")
	}
	return gateway.Change{}
}

// immediateChange returns the change already waiting on ch, or fails.
func immediateChange(t *testing.T, ch <-chan gateway.Change) gateway.Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("the change feed closed")
		}
		return c
	default:
		t.Fatal("no change waiting")
	}
	return gateway.Change{}
}

// closedSoon fails unless ch is closed once what it holds is read.
func closedSoon(t *testing.T, ch <-chan gateway.Change, what string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: the change feed is not closed", what)
		}
	}
}

// TestGateway_Changes: the change feeds of both ends tell of a document
// accepted, sent and answered (01) at the sender, received at the
// recipient, of a status posted at the recipient at both ends, and of a
// revocation and the document it revokes, each numbered after the one
// before; ending a subscription or closing the gateway closes the feed.
func TestGateway_Changes(t *testing.T) {
	ax := testkit.NewAxis(t)
	g22 := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	h41 := ax.Gateway("nghean", nil, [2]string{nghean, "UBND tỉnh Nghệ An"})
	testkit.Eventually(t, "the directory", func() bool { _, ok := g22.Directory().Lookup(nghean); return ok })
	out, stopOut := g22.Subscribe()
	in, _ := h41.Subscribe() // ended by h41's Close

	doc, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: letter(t, vpcp, "Văn phòng Chính phủ", nghean)})
	if err != nil {
		t.Fatal(err)
	}
	if c := immediateChange(t, out); c != (gateway.Change{Document: doc.ID, Agency: vpcp, Seq: 1}) {
		t.Errorf("on Submit: got %+v", c)
	}
	// Then sent, and the 01 applied, in either order.
	changesUntil(t, out, vpcp, map[string]int{doc.ID: 2})
	d, err := g22.Store().Document(t.Context(), doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := d.Deliveries[0]; v.Transport != gateway.Sent || v.State != envelope.StateArrived {
		t.Errorf("after three changes the delivery is %s, %s; want sent, arrived", v.Transport, v.State)
	}

	c := nextChange(t, in)
	received := incoming(t, h41, nghean)
	if len(received) != 1 || c != (gateway.Change{Document: received[0].ID, Agency: nghean, Seq: 1}) {
		t.Fatalf("at the recipient: got %+v, incoming %+v", c, received)
	}
	inID := received[0].ID

	// A status posted at the recipient: told there at once, and at the
	// sender once applied.
	if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: inID, Code: envelope.StatusAccepted, Description: "Đã vào sổ"}); err != nil {
		t.Fatal(err)
	}
	if c := immediateChange(t, in); c != (gateway.Change{Document: inID, Agency: nghean, Seq: 2}) {
		t.Errorf("on PostStatus: got %+v", c)
	}
	if n := h41.LastChange(); n != 2 {
		t.Errorf("after two changes LastChange is %d", n)
	}
	changesUntil(t, out, vpcp, map[string]int{doc.ID: 1})
	if got := deliveryState(t, g22, doc.ID, nghean); got != envelope.StateAccepted {
		t.Errorf("after the status's change the sender's delivery is %s, want accepted", got)
	}

	// A revocation: the new document and the one it revokes, at both
	// ends.
	revocation := testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghean}, Number: "16",
		Revokes: doc.DocumentID}.Packet(t)
	rev, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: revocation})
	if err != nil {
		t.Fatal(err)
	}
	changesUntil(t, out, vpcp, map[string]int{rev.ID: 1, doc.ID: 1})
	got := changesUntil(t, in, nghean, map[string]int{inID: 1})
	if len(got) != 2 {
		t.Errorf("changes at the recipient on the revocation: %v, want the revoked document and the revocation", got)
	}

	stopOut()
	stopOut()
	closedSoon(t, out, "after its end")
	if err := h41.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	closedSoon(t, in, "after Close")
	late, stopLate := h41.Subscribe()
	closedSoon(t, late, "subscribed after Close")
	stopLate()
}
