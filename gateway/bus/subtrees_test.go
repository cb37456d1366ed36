package bus_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// TestBus_GatewaySubtrees: a gateway delegated a province's subtree reads
// it through two filters per stream, whatever the number of agencies
// under it. A packet for an agency under the root that it does not host —
// any sender may publish to any code under it, made up or not — goes to
// its handler at once (which keeps it aside) rather than being made to
// come again: nothing is left holding the consumer's ack-pending slots.
// No other gateway may take an agency under the subtree, and per-agency
// consumers refuse subtrees.
func TestBus_GatewaySubtrees(t *testing.T) {
	srv := startServer(t, t.TempDir())
	busA := openBus(t, srv.ClientURL(), bus.Options{GatewayConsumers: true, Gateway: "gwA"})
	province, hosted, later := envelope.MustAgencyCode("000.00.00.H41"), envelope.MustAgencyCode("000.00.01.H41"), envelope.MustAgencyCode("000.00.02.H41")
	roots := []envelope.AgencyCode{province}

	col := newCollector(nil)
	c := consume(t, busA, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{province, hosted}, Subtrees: roots}, col.handle)
	js := rawJetStream(t, srv)
	for _, s := range []struct{ stream, kind string }{{bus.StreamEdoc, "edoc"}, {bus.StreamStatus, "status"}} {
		jc, err := js.Consumer(t.Context(), s.stream, "gwc_"+s.kind+"_gwA")
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(jc.CachedInfo().Config.FilterSubjects)
		slices.Sort(got)
		if want := []string{"lt." + s.kind + ".H41", "lt." + s.kind + ".H41.>"}; !slices.Equal(got, want) {
			t.Errorf("%s filters %v, want %v", s.stream, got, want)
		}
	}

	// More packets for codes under the root than the consumer may have
	// in hand: were they made to come again, the consumer would stop.
	var want []string
	for i := range 1100 {
		id := fmt.Sprintf("made-up-%d", i)
		publish(t, busA, gateway.KindEdoc, envelope.MustAgencyCode(fmt.Sprintf("%03d.%02d.02.H41", i/100, i%100)), id, []byte(id))
		want = append(want, id)
	}
	publish(t, busA, gateway.KindEdoc, later, "later-1", []byte("later-1"))
	publish(t, busA, gateway.KindEdoc, province, "province-1", []byte("province-1"))
	publish(t, busA, gateway.KindEdoc, hosted, "hosted-1", []byte("hosted-1"))
	want = append(want, "later-1", "province-1", "hosted-1")
	var got []string
	for range want {
		got = append(got, col.nextWithin(t, 30*time.Second).MsgID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("the handler got %d packets, want the %d published", len(got), len(want))
	}
	jc, err := js.Consumer(t.Context(), bus.StreamEdoc, "gwc_edoc_gwA")
	if err != nil {
		t.Fatal(err)
	}
	info, err := jc.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("consumer with %d in hand and %d waiting, want none", info.NumAckPending, info.NumPending)
	}

	// Another gateway cannot take an agency under the delegated root.
	busB := openBus(t, srv.ClientURL(), bus.Options{GatewayConsumers: true, Gateway: "gwB"})
	if cB, err := busB.Consume(t.Context(), gateway.ConsumerSpec{Gateway: "gwB", Agencies: []envelope.AgencyCode{later}}, col.handle); err == nil {
		cB.Stop()
		t.Fatal("gwB took an agency under gwA's subtree")
	}
	// Per-agency consumers read one agency each: no subtree.
	busP := openBus(t, srv.ClientURL(), bus.Options{Gateway: "gwP"})
	if cP, err := busP.Consume(t.Context(), gateway.ConsumerSpec{Gateway: "gwP", Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G01")}, Subtrees: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G01")}}, col.handle); !errors.Is(err, bus.ErrInvalidOption) {
		if cP != nil {
			cP.Stop()
		}
		t.Fatalf("per-agency consumers with a subtree: %v, want ErrInvalidOption", err)
	}

	c.Stop()
}

// TestBus_SubtreeLetGo: a gateway no longer delegated its subtree, given
// its agencies one by one, goes on reading them with no catch-up (which
// would read their past again); an agency under the subtree it let go is
// read by its next gateway from where the subtree was let go, not from
// the stream's first message, which the first gateway had handled.
func TestBus_SubtreeLetGo(t *testing.T) {
	srv := startServer(t, t.TempDir())
	busA := openBus(t, srv.ClientURL(), bus.Options{GatewayConsumers: true, Gateway: "gwA"})
	province, kept, moved := envelope.MustAgencyCode("000.00.00.H41"), envelope.MustAgencyCode("000.00.01.H41"), envelope.MustAgencyCode("000.00.02.H41")

	colA := newCollector(nil)
	cA := consume(t, busA, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{province, kept, moved}, Subtrees: []envelope.AgencyCode{province}}, colA.handle)
	publish(t, busA, gateway.KindEdoc, kept, "kept-0", []byte("kept-0"))
	publish(t, busA, gateway.KindEdoc, moved, "moved-1", []byte("moved-1"))
	got := []string{colA.next(t).MsgID, colA.next(t).MsgID}
	slices.Sort(got)
	if want := []string{"kept-0", "moved-1"}; !slices.Equal(got, want) {
		t.Fatalf("gwA got %v, want %v", got, want)
	}

	// gwA keeps the province and one agency, one by one.
	cA.Stop()
	consume(t, busA, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{province, kept}}, colA.handle)
	js := rawJetStream(t, srv)
	if _, err := js.Consumer(t.Context(), bus.StreamEdoc, "gwu_edoc_gwA"); err == nil {
		t.Fatal("a catch-up was made for agencies gwA read already under its subtree")
	}
	publish(t, busA, gateway.KindEdoc, moved, "moved-2", []byte("moved-2"))

	// gwB takes the agency nobody has: from where gwA let it go.
	busB := openBus(t, srv.ClientURL(), bus.Options{GatewayConsumers: true, Gateway: "gwB"})
	colB := newCollector(nil)
	consume(t, busB, gateway.ConsumerSpec{Gateway: "gwB", Agencies: []envelope.AgencyCode{moved}}, colB.handle)
	publish(t, busA, gateway.KindEdoc, kept, "kept-3", []byte("kept-3"))
	if r := colA.next(t); r.MsgID != "kept-3" {
		t.Fatalf("gwA got %s, want kept-3", r.MsgID)
	}
	// The catch-up delivers in stream order: moved-1, had it been read
	// again, would have come before moved-2.
	if r := colB.next(t); r.MsgID != "moved-2" {
		t.Fatalf("gwB got %s first, want moved-2 (moved-1 was gwA's, handled)", r.MsgID)
	}
}
