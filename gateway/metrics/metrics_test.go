package metrics_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/metrics"
	"github.com/lienthong/lienthong/internal/testkit"
)

const vpcp, nghean = "000.00.00.G22", "000.00.00.H41"

// TestMetrics_Exchange: VPCP sends three documents to Nghệ An, which
// answers each with 01 (by itself) and 03; then a duplicate, an unknown
// recipient and a tampered pre-signed packet are submitted, and a tampered
// copy is slipped onto the bus. Each side's registry lints clean and its
// counters say exactly that.
func TestMetrics_Exchange(t *testing.T) {
	ax := testkit.NewAxis(t)
	g22 := gatewayWithMetrics(t, ax, "vpcp", vpcp, "Văn phòng Chính phủ")
	h41 := gatewayWithMetrics(t, ax, "nghean", nghean, "UBND tỉnh Nghệ An")
	testkit.Eventually(t, "the directory", func() bool { _, ok := g22.gw.Directory().Lookup(nghean); return ok })

	const n = 3
	var docs []*gateway.Document
	for i := range n {
		d, _, err := g22.gw.Submit(t.Context(), gateway.Submission{Packet: letter(t, 100+i, vpcp, nghean)})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	state := func(id string) envelope.State {
		d, err := g22.gw.Store().Document(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Deliveries[0].State
	}
	for _, d := range docs {
		testkit.Eventually(t, "01 of "+d.ID, func() bool { return state(d.ID) == envelope.StateArrived })
	}
	page, err := h41.gw.Store().Documents(t.Context(), gateway.DocumentQuery{Direction: gateway.Incoming})
	if err != nil || len(page.Documents) != n {
		t.Fatalf("incoming at Nghệ An: %d documents, %v", len(page.Documents), err)
	}
	for _, d := range page.Documents {
		if err := h41.gw.PostStatus(t.Context(), gateway.StatusRequest{Document: d.ID, Code: envelope.StatusAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range docs {
		testkit.Eventually(t, "03 of "+d.ID, func() bool { return state(d.ID) == envelope.StateAccepted })
	}

	// Refusals at submission.
	if _, _, err := g22.gw.Submit(t.Context(), gateway.Submission{Packet: letter(t, 100, vpcp, nghean)}); !errors.Is(err, gateway.ErrDuplicateDocument) {
		t.Fatalf("the same document again: %v", err)
	}
	if _, _, err := g22.gw.Submit(t.Context(), gateway.Submission{Packet: letter(t, 200, vpcp, "000.00.00.H99")}); !errors.Is(err, gateway.ErrUnknownRecipient) {
		t.Fatalf("an unknown recipient: %v", err)
	}
	p, err := g22.gw.Store().Packet(t.Context(), docs[0].PacketID)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(p.Data, []byte("tình hình kết nối"), []byte("tình hình ngắt kết nối"), 1)
	var se *gateway.SubmitError
	if _, _, err := g22.gw.Submit(t.Context(), gateway.Submission{Packet: tampered}); !errors.As(err, &se) {
		t.Fatalf("a tampered signed packet: %v", err)
	}

	// A tampered copy on the bus is quarantined at Nghệ An.
	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "attacker"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: "lt.edoc.H41", MsgID: "replay:1", Packet: tampered}); err != nil {
		t.Fatal(err)
	}

	type want struct {
		value  float64
		name   string
		labels []string
	}
	check := func(who string, g prometheus.Gatherer, wants []want) {
		t.Helper()
		for _, w := range wants {
			wantSample(t, g, w.value, w.name, w.labels...)
		}
		problems, err := testutil.GatherAndLint(g)
		if err != nil {
			t.Fatalf("%s: lint: %v", who, err)
		}
		for _, p := range problems {
			t.Errorf("%s: lint: %s: %s", who, p.Metric, p.Text)
		}
	}
	check("vpcp", g22.reg, []want{
		{n, "lienthong_documents_submitted_total", []string{"outcome", "accepted"}},
		{1, "lienthong_documents_submitted_total", []string{"outcome", "duplicate"}},
		{1, "lienthong_documents_submitted_total", []string{"outcome", "invalid"}},
		{1, "lienthong_documents_submitted_total", []string{"outcome", "refused"}},
		{0, "lienthong_documents_submitted_total", []string{"outcome", "replay"}},
		{n, "lienthong_packets_sent_total", []string{"kind", "edoc", "peer", "H41"}},
		{0, "lienthong_publish_failures_total", []string{"kind", "edoc"}},
		{2 * n, "lienthong_packets_received_total", []string{"kind", "status", "outcome", "ok", "peer", "H41"}},
		{2 * n, "lienthong_signature_verdicts_total", []string{"kind", "status", "verdict", "valid"}},
		{n, "lienthong_delivery_latency_seconds", []string{"peer", "H41"}},
		{n, "lienthong_status_latency_seconds", []string{"code", "03", "peer", "H41"}},
		{n + 1, "lienthong_sign_duration_seconds", nil}, // the duplicate is signed before the store finds it
		{2*n + 1, "lienthong_verify_duration_seconds", nil},
		{0, "lienthong_outbox_items", nil},
		{0, "lienthong_outbox_oldest_age_seconds", nil},
		{0, "lienthong_quarantine_items", nil},
		{0, "lienthong_documents_overdue", nil},
		{0, "lienthong_consumer_pending", []string{"stream", "LT_EDOC"}},
		{0, "lienthong_consumer_pending", []string{"stream", "LT_STATUS"}},
		{1, "lienthong_nats_connected", nil},
		{1, "lienthong_gateway_info", []string{"gateway", "vpcp", "version", "test"}},
		{0, "lienthong_redeliveries_total", []string{"kind", "status"}},
	})
	check("nghean", h41.reg, []want{
		{n, "lienthong_packets_received_total", []string{"kind", "edoc", "outcome", "ok", "peer", "G22"}},
		// The tampered packet's sender is only a claim: it is not counted
		// as G22's.
		{1, "lienthong_packets_received_total", []string{"kind", "edoc", "outcome", "quarantined", "peer", "unknown"}},
		{n, "lienthong_signature_verdicts_total", []string{"kind", "edoc", "verdict", "valid"}},
		{1, "lienthong_signature_verdicts_total", []string{"kind", "edoc", "verdict", "invalid"}},
		{2 * n, "lienthong_packets_sent_total", []string{"kind", "status", "peer", "G22"}},
		{2 * n, "lienthong_sign_duration_seconds", nil},
		{n + 1, "lienthong_verify_duration_seconds", nil},
		{1, "lienthong_quarantine_items", nil},
		{0, "lienthong_outbox_items", nil},
		{0, "lienthong_consumer_pending", []string{"stream", "LT_EDOC"}},
		{0, "lienthong_documents_submitted_total", []string{"outcome", "accepted"}},
	})
	for _, nd := range []node{g22, h41} {
		code := nd.gw.HostedAgencies()[0].Code.String()
		v, ok := sample(t, nd.reg, "lienthong_certificate_expiry_seconds", "agency", code)
		if want := time.Until(nd.gw.HostedAgencies()[0].Signer.Certificate().NotAfter).Seconds(); !ok || v < want-60 || v > want+60 {
			t.Errorf("certificate expiry of %s = %v (%v), want about %v", code, v, ok, want)
		}
		if v, ok := sample(t, nd.reg, "lienthong_directory_age_seconds"); !ok || v < 0 || v > 60 {
			t.Errorf("directory age at %s = %v (%v)", nd.gw.ID(), v, ok)
		}
		if v, ok := sample(t, nd.reg, "lienthong_heartbeat_age_seconds"); !ok || v < 0 || v > 60 {
			t.Errorf("heartbeat age at %s = %v (%v)", nd.gw.ID(), v, ok)
		}
		// The store's writer committed the exchange, and a transaction
		// holds one update or more.
		batches, ok := sample(t, nd.reg, "lienthong_store_batches_total")
		updates, ok2 := sample(t, nd.reg, "lienthong_store_batched_updates_total")
		if !ok || !ok2 || batches < 1 || updates < batches {
			t.Errorf("store batches at %s = %v (%v), updates batched %v (%v)", nd.gw.ID(), batches, ok, updates, ok2)
		}
		if v, ok := sample(t, nd.reg, "lienthong_store_queue"); !ok || v < 0 {
			t.Errorf("store queue at %s = %v (%v)", nd.gw.ID(), v, ok)
		}
	}
	// Only the exchanged peers appear: no document id, no other label.
	if v, ok := sample(t, g22.reg, "lienthong_packets_sent_total", "kind", "status"); ok {
		t.Errorf("VPCP sent statuses: %v", v)
	}
}

// TestPeer: the peer label is the level-1 group of a code, in any form.
func TestPeer(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{"000.00.00.G22", "G22"},
		{"000.00.12.H41", "H41"},
		{"H41.12", "H41"},
		{"002.00.20.H13", "H13"},
		{"h37.02.02", "H37"},
		{"", metrics.UnknownPeer},
		{"vxp.saas.03", metrics.UnknownPeer},
		{"not a code", metrics.UnknownPeer},
	} {
		if got := metrics.Peer(tc.code); got != tc.want {
			t.Errorf("Peer(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

// TestNew: a registry takes one gateway's metrics; New and Watch refuse a
// second set, so that two gateways never share series by mistake.
func TestNew(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg); err == nil {
		t.Error("a second New on the same registry succeeds")
	}
	if _, err := metrics.New(nil); err == nil {
		t.Error("New(nil) succeeds")
	}
}

// TestWatch_NoGateway: Watch refuses no gateway, a nil *gateway.Gateway
// too (an interface holding it is not nil), rather than failing every
// scrape.
func TestWatch_NoGateway(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(nil); err == nil {
		t.Error("Watch(nil) succeeds")
	}
	var gw *gateway.Gateway
	if err := m.Watch(gw); err == nil {
		t.Error("Watch(nil *gateway.Gateway) succeeds")
	}
}

// TestObserveVXP: the VXP face's requests by operation, system and code,
// with the unknown ones under their own labels.
func TestObserveVXP(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveVXP("sendEdoc", "qlvb.vpcp", "0", 0.01)
	m.ObserveVXP("sendEdoc", "qlvb.vpcp", "0", 0.02)
	m.ObserveVXP("getEdoc", "", "1", 0.001)
	m.ObserveVXP("", "", "14", 0.001)
	want := `
# HELP lienthong_vxp_requests_total Requests of the VXP face (the national axis SDK's protocol), by operation, system id (unknown when not authenticated) and ErrorCode (0 for success).
# TYPE lienthong_vxp_requests_total counter
lienthong_vxp_requests_total{code="0",operation="sendEdoc",system="qlvb.vpcp"} 2
lienthong_vxp_requests_total{code="1",operation="getEdoc",system="unknown"} 1
lienthong_vxp_requests_total{code="14",operation="other",system="unknown"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lienthong_vxp_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "lienthong_vxp_request_duration_seconds"); n != 3 {
		t.Errorf("%d duration series, want 3 (sendEdoc, getEdoc, other)", n)
	}
}
