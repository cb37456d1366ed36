package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// fakeReports is a gateway.Reports of fixed answers, for the tests of
// Báo cáo that need no gateway: Check refuses a quarter not written
// "2026-Q3", and the declarations checkErr names; Report returns report;
// Quarters returns the first n of quarters (all of them if fewer).
type fakeReports struct {
	quarters []gateway.ReportQuarter
	checkErr error
	report   gateway.QuarterlyReport
}

var quarterID = regexp.MustCompile(`^[0-9]{4}-Q[1-4]$`)

func (f *fakeReports) Check(req gateway.ReportRequest) error {
	var errs []error
	if !quarterID.MatchString(req.Quarter) {
		errs = append(errs, &gateway.ReportRequestError{Param: "quarter", Err: fmt.Errorf("%q is not a quarter", req.Quarter)})
	}
	return errors.Join(append(errs, f.checkErr)...)
}

func (f *fakeReports) Report(ctx context.Context, req gateway.ReportRequest) (gateway.QuarterlyReport, error) {
	if err := f.Check(req); err != nil {
		return nil, err
	}
	if f.report == nil {
		return nil, errors.New("fakeReports: no report")
	}
	return f.report, nil
}

func (f *fakeReports) Submit(context.Context, gateway.ReportRequest, string, []string) (*gateway.Document, error) {
	return nil, errors.New("fakeReports: no submission")
}

func (f *fakeReports) Summary(context.Context, string, string) (any, error) {
	return nil, errors.New("fakeReports: no summary")
}

func (f *fakeReports) Quarters(now time.Time, n int) []gateway.ReportQuarter {
	return f.quarters[:min(n, len(f.quarters))]
}

// fakeReport is a computed report of fixed highlights and charts.
type fakeReport struct {
	highlights gateway.ReportHighlights
	charts     []gateway.Chart
}

func (r *fakeReport) Write(w io.Writer, format string) error {
	_, err := io.WriteString(w, "report as "+format)
	return err
}
func (r *fakeReport) FileName(format string) string        { return "bao-cao." + format }
func (r *fakeReport) Charts() []gateway.Chart              { return r.charts }
func (r *fakeReport) Highlights() gateway.ReportHighlights { return r.highlights }

var _ gateway.QuarterlyReport = (*fakeReport)(nil)

// The agencies of the tests of Báo cáo: the clerk's, and another hosted
// by the same gateway.
const (
	ownAgency   = "000.00.00.G22"
	otherAgency = "000.00.00.H41"
)

// pageGateway is the Gateway of the tests of Báo cáo: two hosted
// agencies, and documents before the current quarter for those of
// before. Any other call panics. It records the agencies whose documents
// were read.
type pageGateway struct {
	Gateway
	before map[string]bool

	mu   sync.Mutex
	read []string
}

func (g *pageGateway) HostedAgencies() []gateway.HostedAgency {
	return []gateway.HostedAgency{
		{Code: envelope.MustAgencyCode(ownAgency), Name: "Văn phòng Chính phủ"},
		{Code: envelope.MustAgencyCode(otherAgency), Name: "UBND tỉnh Nghệ An"},
	}
}

func (g *pageGateway) Hosted(code string) (*gateway.HostedAgency, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return nil, false
	}
	for _, a := range g.HostedAgencies() {
		if a.Code.Equal(c) {
			return &a, true
		}
	}
	return nil, false
}

func (g *pageGateway) Documents(ctx context.Context, q gateway.DocumentQuery) (gateway.DocumentPage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.read = append(g.read, q.Agencies...)
	var page gateway.DocumentPage
	for _, a := range q.Agencies {
		if g.before[a] {
			page.Documents = append(page.Documents, gateway.DocumentSummary{Document: gateway.Document{ID: "d1", Agency: a}})
		}
	}
	return page, nil
}

func (g *pageGateway) agenciesRead() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.read...)
}

// testQuarters are the quarters of the fake reports, the current one
// first.
var testQuarters = []gateway.ReportQuarter{
	{ID: "2026-Q2", Label: "Quý II năm 2026", Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))},
	{ID: "2026-Q1", Label: "Quý I năm 2026", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))},
	{ID: "2025-Q4", Label: "Quý IV năm 2025", Start: time.Date(2025, 10, 1, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))},
}

// reportTestPage returns a page of gw and reports with one clerk,
// "van-thu", of ownAgency.
func reportTestPage(t *testing.T, gw Gateway, reports gateway.Reports) *Handler {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("mat-khau"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(gw, reports, Options{Clerks: []Clerk{{Username: "van-thu", PasswordHash: string(hash), Agencies: []string{ownAgency}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// getReport asks h for Báo cáo (or, under /bao-cao/tai-ve, a file of it)
// as the clerk "van-thu", signed in.
func getReport(t *testing.T, h *Handler, target string) (status int, body string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, &session{clerk: h.clerks["van-thu"], csrf: "csrf"}))
	w := httptest.NewRecorder()
	if strings.HasPrefix(target, "/bao-cao/tai-ve") {
		h.downloadReport(w, r)
	} else {
		h.showReport(w, r)
	}
	return w.Code, w.Body.String()
}

// TestShowReport_Highlights: Báo cáo shows the figures of the report's
// Highlights, whatever implements it: a fake report renders a correct
// page.
func TestShowReport_Highlights(t *testing.T) {
	rep := &fakeReport{
		highlights: gateway.ReportHighlights{
			Agency: "Văn phòng Chính phủ", QuarterLabel: "Quý I năm 2026",
			Outgoing: 1234, Incoming: 56,
			Connected:      gateway.ReportRatio{Num: 3, Den: 4, Percent: 75},
			SignedInternal: 56.7, SignedExternal: 86,
			Delivered:       gateway.ReportRatio{Num: 1200, Den: 1234, Percent: 97.2},
			To03:            gateway.ReportMedian{},
			To06:            gateway.ReportMedian{Count: 2, Seconds: 8100},
			Refused:         7,
			OverdueOutgoing: 2, OverdueIncoming: 3,
			Deployment:   "Trường hợp 3: một số đơn vị chưa kết nối",
			NationalAxis: "Đã kết nối với Trục liên thông văn bản quốc gia",
			NotConnected: []string{"Vụ Tổng hợp", "Vụ Pháp luật"},
		},
		charts: []gateway.Chart{{Title: "Biểu đồ thử", SVG: `<svg xmlns="http://www.w3.org/2000/svg"></svg>`}},
	}
	h := reportTestPage(t, &pageGateway{}, &fakeReports{quarters: testQuarters, report: rep})
	status, body := getReport(t, h, "/bao-cao?quy=2026-Q1")
	if status != http.StatusOK {
		t.Fatalf("Báo cáo: %d\n%s", status, body)
	}
	for _, want := range []string{
		"Văn phòng Chính phủ — Quý I năm 2026",
		"<dt>Văn bản đi điện tử</dt><dd>1.234</dd>",
		"<dt>Văn bản đến</dt><dd>56</dd>",
		"<dt>Đơn vị đã kết nối</dt><dd>3/4 (75,0%)</dd>",
		"<dt>Ký số trong nội bộ (trung bình tháng)</dt><dd>56,7%</dd>",
		"<dt>Ký số với cơ quan khác (trung bình tháng)</dt><dd>86,0%</dd>",
		"<dt>Lượt gửi đã đến nơi nhận</dt><dd>1.200/1.234 (97,2%)</dd>",
		"<dt>Thời gian đến khi tiếp nhận (trung vị)</dt><dd>—</dd>",
		"<dt>Thời gian đến khi hoàn thành (trung vị)</dt><dd>2 giờ 15 phút</dd>",
		"<dt>Từ chối tiếp nhận</dt><dd>7</dd>",
		"<dt>Quá hạn xử lý</dt><dd>2 đi · 3 đến</dd>",
		"Trường hợp 3: một số đơn vị chưa kết nối. Đã kết nối với Trục liên thông văn bản quốc gia.",
		"Chưa kết nối: Vụ Tổng hợp, Vụ Pháp luật.",
		"<figcaption>Biểu đồ thử</figcaption><svg",
		"dinh-dang=xlsx",
		`<option value="2026-Q1" selected>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Báo cáo lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("the page:\n%s", body)
	}
}

// TestReportForm_Problems: each parameter Check refuses is told as what
// it is: the declarations as such, anything else with the generic
// message, not as declarations.
func TestReportForm_Problems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		checkErr error
		want     string
		not      string
	}{
		{"declarations", &gateway.ReportRequestError{Param: "declarations", Err: errors.New("units: not a number")},
			"Số liệu kê khai không hợp lệ: units: not a number", "Yêu cầu báo cáo không hợp lệ"},
		{"another parameter", &gateway.ReportRequestError{Param: "agency", Err: errors.New("not an agency code")},
			"Yêu cầu báo cáo không hợp lệ: report: agency: not an agency code", "Số liệu kê khai"},
		{"another error", errors.New("something else"),
			"Yêu cầu báo cáo không hợp lệ: something else", "Số liệu kê khai"},
	} {
		h := reportTestPage(t, &pageGateway{}, &fakeReports{quarters: testQuarters, checkErr: tc.checkErr})
		status, body := getReport(t, h, "/bao-cao?quy=2026-Q1")
		if status != http.StatusBadRequest || !strings.Contains(body, tc.want) || strings.Contains(body, tc.not) {
			t.Errorf("%s: %d, want 400 saying %q, not %q:\n%s", tc.name, status, tc.want, tc.not, body)
		}
	}
}

// TestReport_FewQuarters: reports that give fewer quarters than asked
// make an error page, not a panic.
func TestReport_FewQuarters(t *testing.T) {
	for _, target := range []string{"/bao-cao", "/bao-cao/tai-ve?dinh-dang=json"} {
		h := reportTestPage(t, &pageGateway{}, &fakeReports{quarters: testQuarters[:1]})
		status, _ := getReport(t, h, target)
		if status != http.StatusInternalServerError {
			t.Errorf("%s with one quarter: %d, want 500", target, status)
		}
	}
}

// TestReport_DefaultQuarter: Báo cáo opens on the current quarter for an
// agency with no document before it, else on the last one; asked for an
// agency not the clerk's, it reads nothing of that agency and opens on
// the last quarter, whatever that agency has.
func TestReport_DefaultQuarter(t *testing.T) {
	current, last := testQuarters[0].ID, testQuarters[1].ID
	selected := func(body string) string {
		m := regexp.MustCompile(`<option value="([^"]+)" selected>[^<]*Quý`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	rep := &fakeReport{highlights: gateway.ReportHighlights{Agency: "Văn phòng Chính phủ"}}
	for _, before := range []bool{false, true} {
		gw := &pageGateway{before: map[string]bool{ownAgency: before, otherAgency: !before}}
		h := reportTestPage(t, gw, &fakeReports{quarters: testQuarters, report: rep})
		want := current
		if before {
			want = last
		}
		if status, body := getReport(t, h, "/bao-cao"); status != http.StatusOK || selected(body) != want {
			t.Errorf("documents before this quarter %v: %d, %q selected, want %q", before, status, selected(body), want)
		}
		status, body := getReport(t, h, "/bao-cao?don-vi="+otherAgency)
		if status != http.StatusBadRequest || selected(body) != last {
			t.Errorf("another agency (documents before this quarter %v): %d, %q selected, want %q", !before, status, selected(body), last)
		}
		for _, a := range gw.agenciesRead() {
			if a != ownAgency {
				t.Errorf("the documents of %s were read", a)
			}
		}
	}
}
