package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/disposition"
)

// reportPage is the data of Báo cáo.
type reportPage struct {
	Agency   string
	Quarter  string
	Quarters []quarterChoice
	Form     url.Values
	// Highlights are the report's key figures, nil until it is
	// computed.
	Highlights *gateway.ReportHighlights
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

// reportFormats are the files of a report (gateway.QuarterlyReport.Write):
// format, label, content type.
var reportFormats = []struct {
	id, label, contentType string
}{
	{"html", "Báo cáo in được (HTML)", "text/html; charset=utf-8"},
	{"xlsx", "Bảng tính (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"csv", "Bảng số liệu (CSV)", "text/csv; charset=utf-8"},
	{"json", "Dữ liệu (JSON)", "application/json; charset=utf-8"},
}

// defaultQuarter is the quarter Báo cáo opens on: the last one, which is
// what agencies report — unless the agency has no document before the
// current quarter (a gateway that started this quarter, the demo), whose
// last quarter would be an empty report. For an agency not the clerk's
// (refused) it is the last one, without reading its documents: which
// quarter is selected would tell whether it has any.
func (h *Handler) defaultQuarter(r *http.Request, agency string, refused bool) (string, error) {
	qs := h.reports.Quarters(h.opts.Now(), 2)
	if len(qs) != 2 {
		return "", fmt.Errorf("web: the reports gave %d quarters for the last two", len(qs))
	}
	current, last := qs[0], qs[1]
	if refused {
		return last.ID, nil
	}
	res, err := h.gw.Documents(r.Context(), gateway.DocumentQuery{Agencies: []string{agency}, Until: current.Start, Limit: 1})
	if err == nil && len(res.Documents) == 0 {
		return current.ID, nil
	}
	return last.ID, nil
}

// reportForm reads Báo cáo's form: the agency (one of the clerk's), the
// quarter (the last one by default) and the declarations. What the clerk
// got wrong is in problems; err is a fault of the page.
func (h *Handler) reportForm(r *http.Request) (req gateway.ReportRequest, problems []string, err error) {
	ss := sessionOf(r)
	qv := r.URL.Query()
	req.Agency = qv.Get("don-vi")
	if req.Agency == "" {
		req.Agency = ss.clerk.agencies[0].Code
	} else if !ss.clerk.allows(req.Agency) {
		problems = append(problems, fmt.Sprintf("Đơn vị “%s” không thuộc quyền của bạn.", req.Agency))
	}
	req.Quarter, req.Declared = qv.Get("quy"), qv.Get
	if req.Quarter == "" {
		if req.Quarter, err = h.defaultQuarter(r, req.Agency, len(problems) > 0); err != nil {
			return req, nil, err
		}
	}
	checked := h.reports.Check(req)
	bad := gateway.ReportRequestErrors(checked)
	for _, re := range bad {
		switch re.Param {
		case "quarter":
			problems = append(problems, fmt.Sprintf("Quý “%s” không hợp lệ; viết dạng 2026-Q3.", req.Quarter))
		case "declarations":
			problems = append(problems, "Số liệu kê khai không hợp lệ: "+re.Err.Error())
		default:
			problems = append(problems, "Yêu cầu báo cáo không hợp lệ: "+re.Error())
		}
	}
	if checked != nil && len(bad) == 0 {
		problems = append(problems, "Yêu cầu báo cáo không hợp lệ: "+checked.Error())
	}
	return req, problems, nil
}

// showReport shows Báo cáo: the key figures of the quarterly report of
// one of the clerk's agencies, its charts, and its files.
func (h *Handler) showReport(w http.ResponseWriter, r *http.Request) {
	req, problems, err := h.reportForm(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	page := &reportPage{Agency: req.Agency, Quarter: req.Quarter, Form: r.URL.Query()}
	for _, c := range h.reports.Quarters(h.opts.Now(), 8) {
		page.Quarters = append(page.Quarters, quarterChoice{ID: c.ID, Label: c.Label})
	}
	v := newView(r, "Báo cáo liên thông hằng quý", "bao-cao", page)
	if len(problems) > 0 {
		v.Message = strings.Join(problems, " ")
		h.render(w, r, http.StatusBadRequest, "report", v)
		return
	}
	rep, err := h.reports.Report(r.Context(), req)
	if err != nil {
		h.storeFailure(w, r, err)
		return
	}
	hl := rep.Highlights()
	page.Highlights = &hl
	for _, c := range rep.Charts() {
		// The report draws its charts and escapes what they say (its
		// tests parse them): trusted as they are.
		page.Charts = append(page.Charts, reportChart{Title: c.Title, SVG: template.HTML(c.SVG)})
	}
	for _, f := range reportFormats {
		qv := r.URL.Query()
		qv.Set("don-vi", req.Agency)
		qv.Set("quy", req.Quarter)
		qv.Set("dinh-dang", f.id)
		page.Downloads = append(page.Downloads, download{Label: f.label, URL: "/bao-cao/tai-ve?" + qv.Encode()})
	}
	h.render(w, r, http.StatusOK, "report", v)
}

// downloadReport sends the report as a file.
func (h *Handler) downloadReport(w http.ResponseWriter, r *http.Request) {
	req, problems, err := h.reportForm(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if len(problems) > 0 {
		h.renderError(w, r, sessionOf(r), http.StatusBadRequest, strings.Join(problems, " "))
		return
	}
	format := r.URL.Query().Get("dinh-dang")
	for _, f := range reportFormats {
		if f.id != format {
			continue
		}
		rep, err := h.reports.Report(r.Context(), req)
		if err != nil {
			h.storeFailure(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := rep.Write(&buf, f.id); err != nil {
			h.serverError(w, r, fmt.Errorf("web: write the report as %s: %w", f.id, err))
			return
		}
		w.Header().Set("Content-Type", f.contentType)
		w.Header().Set("Content-Disposition", disposition.Attachment(rep.FileName(f.id)))
		w.Header().Set("Cache-Control", "private, no-store")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
		return
	}
	h.renderError(w, r, sessionOf(r), http.StatusBadRequest, fmt.Sprintf("Định dạng “%s” không có; chọn html, xlsx, csv hoặc json.", format))
}
