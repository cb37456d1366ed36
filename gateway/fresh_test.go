package gateway_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/testkit"
)

// countingStore counts the packets read back from the store.
type countingStore struct {
	gateway.Store
	packets atomic.Int64
}

func (s *countingStore) Packet(ctx context.Context, id string) (*gateway.Packet, error) {
	s.packets.Add(1)
	return s.Store.Packet(ctx, id)
}

// TestGateway_FreshPackets: what a gateway stores to send — a document
// accepted, the 01 of one received, a status posted — its dispatcher
// publishes without reading it back from the store, and the other end
// gets it whole.
func TestGateway_FreshPackets(t *testing.T) {
	ax := testkit.NewAxis(t)
	var counted *countingStore
	a := ax.Gateway("vpcp", func(o *gateway.Options) {
		counted = &countingStore{Store: o.Store}
		o.Store = counted
	}, [2]string{vpcp, "Văn phòng Chính phủ"})
	b := ax.Gateway("nghean", nil, [2]string{nghean, "UBND tỉnh Nghệ An"})
	ctx := t.Context()
	testkit.Eventually(t, "each in the other's directory", func() bool {
		_, ok1 := a.Directory().Lookup(nghean)
		_, ok2 := b.Directory().Lookup(vpcp)
		return ok1 && ok2
	})

	// A document from vpcp, its buffer given up as the API does, and its
	// 01 back.
	out, _, err := a.Submit(ctx, gateway.Submission{Packet: testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghean}}.Packet(t), GiveUp: true})
	if err != nil {
		t.Fatal(err)
	}
	// A document to vpcp, which answers 01; then vpcp accepts it (03).
	in, _, err := b.Submit(ctx, gateway.Submission{Packet: testkit.Letter{From: nghean, FromName: "UBND tỉnh Nghệ An", To: []string{vpcp}, Number: "16"}.Packet(t)})
	if err != nil {
		t.Fatal(err)
	}
	var received string
	testkit.Eventually(t, "the document at vpcp", func() bool {
		page, err := a.Store().Documents(ctx, gateway.DocumentQuery{Direction: gateway.Incoming})
		if err == nil && len(page.Documents) == 1 {
			received = page.Documents[0].ID
		}
		return received != ""
	})
	if _, err := a.PostStatusResult(ctx, gateway.StatusRequest{Document: received, Code: envelope.StatusAccepted}); err != nil {
		t.Fatal(err)
	}
	state := func(g *gateway.Gateway, id string) envelope.State {
		d, err := g.Store().Document(ctx, id)
		if err != nil || len(d.Deliveries) != 1 {
			t.Fatalf("%s: %v", id, err)
		}
		return d.Deliveries[0].Lifecycle.State
	}
	testkit.Eventually(t, "vpcp's document arrived, nghean's accepted", func() bool {
		return state(a, out.ID) == envelope.StateArrived && state(b, in.ID) == envelope.StateAccepted
	})
	if n := counted.packets.Load(); n != 0 {
		t.Errorf("vpcp read %d packets back from its store to send them, want none", n)
	}
}
