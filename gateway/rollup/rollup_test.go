package rollup_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/internal/testkit"
)

// The agencies of the roll-up.
const (
	vpcp  = "000.00.00.G22" // Văn phòng Chính phủ (centre)
	tinh  = "000.00.00.H41" // UBND tỉnh Nghệ An (province)
	soyte = "000.00.12.H41" // Sở Y tế (department)
	hcm   = "000.00.00.H29" // UBND TP.HCM (another province)
)

// TestReport_RollUp: two provinces and one ministry send their reports to
// the Government Office's gateway; the hub's national summary counts them
// and names, one by one, the ministry and the province that did not
// report.
func TestReport_RollUp(t *testing.T) {
	ax := testkit.NewAxis(t)
	hub := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	byt := ax.Gateway("byt", nil, [2]string{"000.00.00.G18", "Bộ Y tế"})
	nghean := ax.Gateway("nghean", nil, [2]string{tinh, "UBND tỉnh Nghệ An"}, [2]string{soyte, "Sở Y tế tỉnh Nghệ An"})
	hcmGW := ax.Gateway("hcm", nil, [2]string{hcm, "UBND Thành phố Hồ Chí Minh"})
	// Registered, but they send no report.
	for _, a := range []gateway.Agency{
		{Code: "000.00.00.G01", Name: "Bộ Công an", Gateway: "bca"},
		{Code: "000.00.00.H02", Name: "UBND tỉnh Hà Giang", Gateway: "hagiang"},
	} {
		ax.Register(a)
	}
	testkit.Eventually(t, "the directory", func() bool {
		for _, gw := range []*gateway.Gateway{hub, byt, nghean, hcmGW} {
			for _, c := range []string{vpcp, "000.00.00.G18", tinh, hcm, "000.00.00.G01", "000.00.00.H02"} {
				if _, ok := gw.Directory().Lookup(c); !ok {
					return false
				}
			}
		}
		return true
	})
	q := report.QuarterOf(ax.CA.Certificate().NotBefore)
	// Nghệ An exchanged with TP.HCM during the quarter.
	if _, _, err := nghean.Submit(t.Context(), gateway.Submission{Packet: testkit.Letter{From: tinh, FromName: "UBND tỉnh Nghệ An", To: []string{hcm}}.Packet(t)}); err != nil {
		t.Fatal(err)
	}
	paper := 120
	for _, s := range []struct {
		gw     *gateway.Gateway
		agency string
	}{{byt, "000.00.00.G18"}, {nghean, tinh}, {hcmGW, hcm}} {
		rep, err := rollup.Of(t.Context(), s.gw, s.agency, q, report.Declarations{PaperOutgoing: &paper})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Deployment.NationalAxis {
			t.Errorf("%s's report says it is not connected", s.agency)
		}
		d, err := rollup.Submit(t.Context(), s.gw, rep, vpcp, nil)
		if err != nil {
			t.Fatalf("%s submits: %v", s.agency, err)
		}
		if !strings.HasPrefix(d.Subject, "Báo cáo tình hình kết nối, liên thông văn bản điện tử "+q.Label()) {
			t.Errorf("the report's document is %q", d.Subject)
		}
	}
	var sum *report.Summary
	testkit.Eventually(t, "three reports at the hub", func() bool {
		var err error
		sum, err = rollup.Summarize(t.Context(), hub, vpcp, q)
		if err != nil {
			t.Fatal(err)
		}
		return len(sum.Reports) == 3
	})
	if g := sum.Ministries; g.Connected != 2 || g.Total != 3 || len(g.NoReport) != 1 || g.NoReport[0].Name != "Bộ Công an" {
		t.Errorf("ministries: %+v", g)
	}
	if g := sum.Provinces; g.Connected != 2 || g.Total != 3 || len(g.NotConnected) != 1 || g.NotConnected[0].Name != "UBND tỉnh Hà Giang" {
		t.Errorf("provinces: %+v", g)
	}
	for _, want := range []string{
		q.Label() + ": 2/3 bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ và 2/3 tỉnh, thành phố trực thuộc trung ương đã kết nối",
		"Các cơ quan chưa kết nối: Bộ Công an, UBND tỉnh Hà Giang.",
		"Chưa gửi báo cáo: Bộ Công an, UBND tỉnh Hà Giang.",
	} {
		if !strings.Contains(sum.Text, want) {
			t.Errorf("the summary does not say %q:\n%s", want, sum.Text)
		}
	}
	for _, r := range sum.Reports {
		if r.Report.Use.PaperOutgoing.Value != 120 || !r.Report.Use.PaperOutgoing.Declared {
			t.Errorf("%s's report lost its declarations: %+v", r.Agency.Code, r.Report.Use.PaperOutgoing)
		}
	}
	// Sent again the same day, the later report wins; the summary is the
	// same.
	rep, err := rollup.Of(t.Context(), hcmGW, hcm, q, report.Declarations{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rollup.Submit(t.Context(), hcmGW, rep, vpcp, nil); err != nil {
		t.Fatalf("a second report the same day: %v", err)
	}
	testkit.Eventually(t, "the later report", func() bool {
		s, err := rollup.Summarize(t.Context(), hub, vpcp, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Reports {
			if r.Agency.Code == hcm {
				return !r.Report.Use.PaperOutgoing.Declared
			}
		}
		return false
	})
	// Read a document at a time, keeping the latest per agency between
	// pages, the summary is the same.
	s, err := rollup.Summarize(t.Context(), onePerPage{hub}, vpcp, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Reports) != 3 || s.Ministries.Connected != 2 || s.Provinces.Connected != 2 {
		t.Errorf("a document a page: %d reports, %+v, %+v", len(s.Reports), s.Ministries, s.Provinces)
	}
	for _, r := range s.Reports {
		if r.Agency.Code == hcm && r.Report.Use.PaperOutgoing.Declared {
			t.Errorf("a document a page: TP.HCM's earlier report won")
		}
	}
}

// onePerPage lists a document a page.
type onePerPage struct{ rollup.Gateway }

func (g onePerPage) Documents(ctx context.Context, q gateway.DocumentQuery) (gateway.DocumentPage, error) {
	q.Limit = 1
	return g.Gateway.Documents(ctx, q)
}
