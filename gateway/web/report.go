package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
)

// reportPage is the data of Báo cáo.
type reportPage struct {
	Agency   string
	Quarter  string
	Quarters []quarterChoice
	Form     url.Values
	Report   *report.Report
	// Charts are the report's SVG charts, drawn on the server, each with
	// the title the page shows above it.
	Charts []reportChart
	// Downloads are the report's files.
	Downloads []download
}

// reportChart is a chart of Báo cáo and its title.
type reportChart struct {
	Title string
	SVG   template.HTML
}

type quarterChoice struct {
	ID, Label string
}

type download struct {
	Label, URL string
}

// reportFormats are the files of a report: label, content type,
// extension, writer.
var reportFormats = []struct {
	id, label, contentType string
	write                  func(*report.Report, io.Writer) error
}{
	{"html", "Báo cáo in được (HTML)", "text/html; charset=utf-8", (*report.Report).WriteHTML},
	{"xlsx", "Bảng tính (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (*report.Report).WriteXLSX},
	{"csv", "Bảng số liệu (CSV)", "text/csv; charset=utf-8", (*report.Report).WriteCSV},
	{"json", "Dữ liệu (JSON)", "application/json; charset=utf-8", (*report.Report).WriteJSON},
}

// defaultQuarter is the quarter Báo cáo opens on: the last one, which is
// what agencies report — unless the agency has no document before the
// current quarter (a gateway that started this quarter, the demo), whose
// last quarter would be an empty report.
func (h *Handler) defaultQuarter(r *http.Request, agency string) report.Quarter {
	now := h.opts.Now()
	current := report.QuarterOf(now)
	last := report.QuarterOf(now.AddDate(0, -3, 0))
	res, err := h.gw.Store().Documents(r.Context(), gateway.DocumentQuery{Agencies: []string{agency}, Until: current.Start(), Limit: 1})
	if err == nil && len(res.Documents) == 0 {
		return current
	}
	return last
}

// reportForm reads Báo cáo's form: the agency (one of the clerk's), the
// quarter (the last one by default) and the declarations.
func (h *Handler) reportForm(r *http.Request) (agency string, q report.Quarter, d report.Declarations, problems []string) {
	ss := sessionOf(r)
	qv := r.URL.Query()
	agency = qv.Get("don-vi")
	if agency == "" {
		agency = ss.clerk.agencies[0].Code
	} else if !ss.clerk.allows(agency) {
		problems = append(problems, fmt.Sprintf("Đơn vị “%s” không thuộc quyền của bạn.", agency))
	}
	q = h.defaultQuarter(r, agency)
	if s := qv.Get("quy"); s != "" {
		var err error
		if q, err = report.ParseQuarter(s); err != nil {
			problems = append(problems, fmt.Sprintf("Quý “%s” không hợp lệ; viết dạng 2026-Q3.", s))
		}
	}
	d, err := report.ParseDeclarations(qv.Get)
	if err != nil {
		problems = append(problems, "Số liệu kê khai không hợp lệ: "+err.Error())
	}
	return agency, q, d, problems
}

// showReport shows Báo cáo: the key figures of the quarterly report of
// one of the clerk's agencies, its charts, and its files.
func (h *Handler) showReport(w http.ResponseWriter, r *http.Request) {
	agency, q, d, problems := h.reportForm(r)
	page := &reportPage{Agency: agency, Quarter: q.String(), Form: r.URL.Query()}
	now := report.QuarterOf(h.opts.Now())
	for i := range 8 {
		c := report.Quarter{Year: now.Year, N: now.N - i}
		for c.N < 1 {
			c.N += 4
			c.Year--
		}
		page.Quarters = append(page.Quarters, quarterChoice{ID: c.String(), Label: c.Label()})
	}
	v := newView(r, "Báo cáo liên thông hằng quý", "bao-cao", page)
	if len(problems) > 0 {
		v.Message = strings.Join(problems, " ")
		h.render(w, r, http.StatusBadRequest, "report", v)
		return
	}
	rep, err := report.Of(r.Context(), h.gw, agency, q, d)
	if err != nil {
		h.storeFailure(w, r, err)
		return
	}
	page.Report = rep
	page.Charts = []reportChart{
		{"Số văn bản đi và văn bản đến theo tháng", report.MonthlyVolumeChart(rep)},
		{"Tỷ lệ văn bản điện tử có ký số theo tháng", report.SignedShareChart(rep)},
		{"Thời gian trung vị đến khi nơi nhận báo đã đến (01), theo tháng", report.DeliveryTimeChart(rep)},
	}
	for _, f := range reportFormats {
		qv := r.URL.Query()
		qv.Set("don-vi", agency)
		qv.Set("quy", q.String())
		qv.Set("dinh-dang", f.id)
		page.Downloads = append(page.Downloads, download{Label: f.label, URL: "/bao-cao/tai-ve?" + qv.Encode()})
	}
	h.render(w, r, http.StatusOK, "report", v)
}

// downloadReport sends the report as a file.
func (h *Handler) downloadReport(w http.ResponseWriter, r *http.Request) {
	agency, q, d, problems := h.reportForm(r)
	if len(problems) > 0 {
		h.renderError(w, r, sessionOf(r), http.StatusBadRequest, strings.Join(problems, " "))
		return
	}
	format := r.URL.Query().Get("dinh-dang")
	for _, f := range reportFormats {
		if f.id != format {
			continue
		}
		rep, err := report.Of(r.Context(), h.gw, agency, q, d)
		if err != nil {
			h.storeFailure(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := f.write(rep, &buf); err != nil {
			h.serverError(w, r, fmt.Errorf("web: write the report as %s: %w", f.id, err))
			return
		}
		code, _ := envelope.ParseAgencyCode(agency, envelope.CodeAny)
		name := "bao-cao-lien-thong_" + strings.ReplaceAll(code.Tokens(), ".", "-") + "_" + q.String() + "." + f.id
		w.Header().Set("Content-Type", f.contentType)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w.Header().Set("Cache-Control", "private, no-store")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
		return
	}
	h.renderError(w, r, sessionOf(r), http.StatusBadRequest, fmt.Sprintf("Định dạng “%s” không có; chọn html, xlsx, csv hoặc json.", format))
}
