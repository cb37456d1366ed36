package report_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/internal/testkit"
)

// TestOldCodes: a commune that the 2025 reform gave a new code keeps its
// old one in the directory. A document sent to the old code reaches it,
// one it sends under the old code is received and bound to its
// certificate, every answer finds its way back, and the reports count
// both under the code it has now — the warnings keep both codes.
func TestOldCodes(t *testing.T) {
	const (
		vpcp   = "000.00.00.G22"
		xa     = "000.00.31.H41" // UBND xã Nghi Phong now
		xaOld  = "000.27.31.H41" // under the abolished district
		xaName = "UBND xã Nghi Phong"
	)
	ax := testkit.NewAxis(t)
	gov := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	nghean := ax.Gateway("nghean", nil, [2]string{xa, xaName})
	h, _ := nghean.Hosted(xa)
	entry := testkit.HostedEntry("nghean", *h)
	entry.OldCodes, entry.Kind = []string{xaOld}, "commune"
	ax.Register(entry)
	for _, gw := range []*gateway.Gateway{gov, nghean} {
		testkit.Eventually(t, "the old code in the directory", func() bool {
			now, ok := gw.Directory().CurrentCode(xaOld)
			return ok && now == xa
		})
	}
	hasOldCodeWarning := func(ws []envelope.Warning, path string) bool {
		return slices.ContainsFunc(ws, func(w envelope.Warning) bool { return w.Code == "old-code" && w.Path == path })
	}
	stateAt := func(gw *gateway.Gateway, id, recipient string) envelope.State {
		d, err := gw.Store().Document(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range d.Deliveries {
			if dl.Recipient == recipient {
				return dl.Lifecycle.State
			}
		}
		t.Fatalf("no delivery to %s: %+v", recipient, d.Deliveries)
		return 0
	}

	// To the old code: delivered to the commune, 01 back.
	out, _, err := gov.Submit(t.Context(), gateway.Submission{Packet: testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{xaOld}, Number: "71"}.Packet(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !hasOldCodeWarning(out.Warnings, "MessageHeader/To[1]/OrganId") {
		t.Errorf("the sender is not told of the old code: %+v", out.Warnings)
	}
	testkit.Eventually(t, "01 from the commune", func() bool { return stateAt(gov, out.ID, xa) == envelope.StateArrived })
	in := incoming(t, nghean, xa, "71")
	if in.From != vpcp || !hasOldCodeWarning(in.Warnings, "MessageHeader/To[1]/OrganId") {
		t.Errorf("at the commune: from %s, warnings %+v", in.From, in.Warnings)
	}

	// From the old code (its DMS still writes it): bound to the commune's
	// certificate, stored under the code it has now, 01 back.
	sent, _, err := nghean.Submit(t.Context(), gateway.Submission{Packet: testkit.Letter{From: xaOld, FromName: xaName, To: []string{vpcp}, Number: "9", Notation: "UBND"}.Packet(t)})
	if err != nil {
		t.Fatalf("a DMS writing the old code: %v", err)
	}
	if sent.Agency != xa || sent.From != xa || !hasOldCodeWarning(sent.Warnings, "MessageHeader/From/OrganId") {
		t.Errorf("sent as %s from %s, warnings %+v", sent.Agency, sent.From, sent.Warnings)
	}
	got := incoming(t, gov, vpcp, "9")
	if got.Verdict.Outcome != "valid" || got.From != xa || !hasOldCodeWarning(got.Warnings, "MessageHeader/From/OrganId") {
		t.Errorf("at the Government Office: verdict %s, from %s, warnings %+v", got.Verdict.Outcome, got.From, got.Warnings)
	}
	testkit.Eventually(t, "01 back to the commune", func() bool { return stateAt(nghean, sent.ID, vpcp) == envelope.StateArrived })

	// The Government Office's report counts the commune once, under its
	// code now.
	rep, err := rollup.Of(t.Context(), gov, vpcp, report.QuarterOf(time.Now()), report.Declarations{})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, c := range rep.Beyond.ByCounterpart {
		codes = append(codes, c.Code)
		if c.Code == xa && (c.Sent != 1 || c.Received != 1) {
			t.Errorf("the commune in the report: %+v", c)
		}
	}
	if !slices.Equal(codes, []string{xa}) {
		t.Errorf("counterparts %v, want the commune under %s only", codes, xa)
	}
}

// incoming waits for the document numbered number at agency and returns it.
func incoming(t *testing.T, gw *gateway.Gateway, agency, number string) *gateway.DocumentDetail {
	t.Helper()
	var found *gateway.DocumentDetail
	testkit.Eventually(t, "document "+number+" at "+agency, func() bool {
		page, err := gw.Store().Documents(t.Context(), gateway.DocumentQuery{Agencies: []string{agency}, Direction: gateway.Incoming})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Documents {
			if d.Number == number {
				found, err = gw.Store().Document(t.Context(), d.ID)
				if err != nil {
					t.Fatal(err)
				}
				return true
			}
		}
		return false
	})
	return found
}
