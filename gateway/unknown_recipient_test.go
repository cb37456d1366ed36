package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/metrics"
	"github.com/lienthong/lienthong/internal/testkit"
)

// subtreeGateway opens gateway id on ax, delegated the subtree of root
// (gateway consumers, as gateway.subtrees configures them) and hosting
// root only, with its metrics on a registry of its own. configure, if not
// nil, changes the options further.
func subtreeGateway(t *testing.T, ax *testkit.Axis, id, root, name string, configure func(*gateway.Options)) (*gateway.Gateway, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	gw := ax.Gateway(id, func(o *gateway.Options) {
		b, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: id, GatewayConsumers: true, Gateway: id}, zaptest.NewLogger(t).Named(id+"-bus"))
		if err != nil {
			t.Fatal(err)
		}
		// Registered before the gateway's own clean-up: closed after it.
		t.Cleanup(func() { b.Close() })
		o.Bus, o.Observer = b, m
		o.Subtrees = []envelope.AgencyCode{envelope.MustAgencyCode(root)}
		if configure != nil {
			configure(o)
		}
	}, [2]string{root, name})
	return gw, reg
}

// receivedCount returns lienthong_packets_received_total{kind,outcome} summed
// over its peers.
func receivedCount(t *testing.T, reg *prometheus.Registry, kind gateway.PacketKind, outcome gateway.ReceiveOutcome) float64 {
	t.Helper()
	return counterSum(t, reg, "lienthong_packets_received_total", map[string]string{"kind": string(kind), "outcome": string(outcome)})
}

// counterSum returns the sum of the counter name's series whose labels
// include want.
func counterSum(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			match := true
			for k, v := range want {
				match = match && labels[k] == v
			}
			if match {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// quarantinedSubjects returns the subjects of gw's quarantine, with how
// many entries each has.
func quarantinedSubjects(t *testing.T, gw *gateway.Gateway) map[string]int {
	t.Helper()
	q, err := gw.Store().QuarantineEntries(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range q {
		out[e.Subject]++
	}
	return out
}

// settled waits until gw's consumers have nothing waiting and nothing in
// hand on either stream.
func settled(t *testing.T, gw *gateway.Gateway) {
	t.Helper()
	testkit.Eventually(t, "the consumers to settle everything", func() bool {
		p, err := gw.Pending(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return p[bus.StreamEdoc] == 0 && p[bus.StreamStatus] == 0
	})
}

// TestGateway_UnknownRecipient: a sender with credentials to the hub may
// publish under a province's delegated subtree to any code, made up or
// not. A packet for a code the administered directory does not know at
// all is terminated and counted, and nothing of it is kept: however many
// a sender publishes, the quarantine does not grow. A packet for a code
// the directory knows — an agency just registered under the subtree, not
// yet in the gateway's configuration, or its former code — is quarantined
// as before, and one for the hosted province is received.
func TestGateway_UnknownRecipient(t *testing.T) {
	ax := testkit.NewAxis(t)
	// Registered under the subtree, to be hosted by Nghệ An's gateway,
	// whose configuration does not list it yet; 000.05.07.H41 was its
	// code before.
	const newcomer, former = "000.00.07.H41", "000.05.07.H41"
	ax.Register(gateway.Agency{Code: newcomer, Name: "Sở Khoa học và Công nghệ tỉnh Nghệ An", Parent: nghean, Gateway: "nghean", OldCodes: []string{former}})
	h41, reg := subtreeGateway(t, ax, "nghean", nghean, "UBND tỉnh Nghệ An", nil)
	testkit.Eventually(t, "the newcomer in Nghệ An's directory", func() bool {
		_, ok := h41.Directory().Lookup(former)
		return ok
	})

	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "attacker"}, zaptest.NewLogger(t).Named("attacker"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	publish := func(subject, id string) {
		t.Helper()
		if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: subject, MsgID: id, Packet: []byte("<not a packet " + id + "/>")}); err != nil {
			t.Fatal(err)
		}
	}
	// Made up: codes under the root that no entry has or had, one under
	// the newcomer's, tokens too long to be any code, and statuses as
	// well as documents.
	const madeUpEdocs, madeUpStatuses = 300, 20
	for i := range madeUpEdocs {
		publish(fmt.Sprintf("lt.edoc.H41.%02d.%02d", 50+i/100, i%100), fmt.Sprintf("made-up:%d", i))
	}
	publish("lt.edoc.H41.07.99", "under-the-newcomer")
	publish("lt.edoc.H41."+strings.Repeat("A", 40), "not-a-code")
	for i := range madeUpStatuses - 2 {
		publish(fmt.Sprintf("lt.status.H41.%02d", 50+i), fmt.Sprintf("made-up-status:%d", i))
	}
	publish("lt.status.H41.07.99", "status-under-the-newcomer")
	publish("lt.status.H41.99.99.999", "status-deep")
	// Known to the directory, not hosted: kept for a person.
	publish("lt.edoc.H41.07", "newcomer:1")
	publish("lt.edoc.H41.07.05", "former:1")
	publish("lt.status.H41.07", "newcomer-status:1")
	// Hosted: received (quarantined here as no packet, on its merits).
	publish("lt.edoc.H41", "province:1")

	settled(t, h41)
	const madeUp = madeUpEdocs + 2 + madeUpStatuses
	testkit.Eventually(t, "every packet counted", func() bool {
		return receivedCount(t, reg, gateway.KindEdoc, gateway.ReceiveUnknownRecipient)+
			receivedCount(t, reg, gateway.KindStatus, gateway.ReceiveUnknownRecipient)+
			receivedCount(t, reg, gateway.KindEdoc, gateway.ReceiveQuarantined)+
			receivedCount(t, reg, gateway.KindStatus, gateway.ReceiveQuarantined) >= madeUp+4
	})
	if got := receivedCount(t, reg, gateway.KindEdoc, gateway.ReceiveUnknownRecipient); got != madeUpEdocs+2 {
		t.Errorf("%v documents counted as to an unknown recipient, want %d", got, madeUpEdocs+2)
	}
	if got := receivedCount(t, reg, gateway.KindStatus, gateway.ReceiveUnknownRecipient); got != madeUpStatuses {
		t.Errorf("%v statuses counted as to an unknown recipient, want %d", got, madeUpStatuses)
	}
	want := map[string]int{"lt.edoc.H41.07": 1, "lt.edoc.H41.07.05": 1, "lt.status.H41.07": 1, "lt.edoc.H41": 1}
	got := quarantinedSubjects(t, h41)
	for s, n := range want {
		if got[s] != n {
			t.Errorf("%d quarantine entries for %s, want %d", got[s], s, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("quarantine has %d subjects (%v), want only the %d known to the directory", len(got), got, len(want))
	}
	for _, e := range mustQuarantine(t, h41) {
		if e.Subject != "lt.edoc.H41" && e.Reason != "not-hosted" {
			t.Errorf("%s quarantined as %q, want not-hosted", e.Subject, e.Reason)
		}
	}

	// Terminated, not made to come again: settled saw the consumers hold
	// nothing, not even a message nakked to come back later (it stays
	// unacknowledged until then), so nothing was, nor will be, delivered
	// twice.
	if n := redeliveries(t, reg); n != 0 {
		t.Errorf("%v messages delivered again, want none", n)
	}
	if got := quarantinedSubjects(t, h41); len(got) != len(want) {
		t.Errorf("quarantine grew to %v", got)
	}
}

// TestGateway_UnknownRecipientUnadministered: without a directory trust
// anchor the gateway knows only the agencies it hosts and cannot tell a
// made-up code from a real one: everything under its subtree that it
// does not host is quarantined, as before.
func TestGateway_UnknownRecipientUnadministered(t *testing.T) {
	ax := testkit.NewAxis(t)
	gw, reg := subtreeGateway(t, ax, "nghean", nghean, "UBND tỉnh Nghệ An", func(o *gateway.Options) { o.DirectoryAnchors = nil })
	if gw.Directory().Administered() {
		t.Fatal("the directory is administered")
	}
	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "attacker"}, zaptest.NewLogger(t).Named("attacker"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for i := range 5 {
		if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: fmt.Sprintf("lt.edoc.H41.%02d", 50+i), MsgID: fmt.Sprint("made-up:", i), Packet: []byte("<x/>")}); err != nil {
			t.Fatal(err)
		}
	}
	settled(t, gw)
	testkit.Eventually(t, "the quarantine", func() bool { return len(quarantinedSubjects(t, gw)) == 5 })
	if n := receivedCount(t, reg, gateway.KindEdoc, gateway.ReceiveUnknownRecipient); n != 0 {
		t.Errorf("%v dropped as to an unknown recipient, want none", n)
	}
}

func mustQuarantine(t *testing.T, gw *gateway.Gateway) []gateway.QuarantineEntry {
	t.Helper()
	q, err := gw.Store().QuarantineEntries(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// redeliveries returns lienthong_redeliveries_total summed over its kinds.
func redeliveries(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return counterSum(t, reg, "lienthong_redeliveries_total", nil)
}
