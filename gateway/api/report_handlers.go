package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
)

// reportFormats are the formats of GET /api/v1/reports/{agency}/{quarter}:
// content type, file extension and writer.
var reportFormats = map[string]struct {
	contentType, ext string
	write            func(*report.Report, io.Writer) error
}{
	"json": {"application/json; charset=utf-8", "json", (*report.Report).WriteJSON},
	"html": {"text/html; charset=utf-8", "html", (*report.Report).WriteHTML},
	"csv":  {"text/csv; charset=utf-8", "csv", (*report.Report).WriteCSV},
	"xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", (*report.Report).WriteXLSX},
}

// getReport answers the quarterly report of an agency (and everything
// under it) computed from this gateway's store, in the format asked
// (?format=json|html|csv|xlsx, JSON by default), with the declarations
// given as parameters. A key may ask for the report of an agency in its
// scope or under one.
func (h *handler) getReport(w http.ResponseWriter, r *http.Request) {
	code, quarter, declared, ok := h.reportRequest(w, r)
	if !ok {
		return
	}
	if !callerOf(r).reportsFor(code) {
		jsonError(w, newError(http.StatusForbidden, CodeForbidden,
			"Khóa API này không được lập báo cáo cho cơ quan "+code.String(),
			"this API key may not make the report of agency "+code.String()))
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	f, ok := reportFormats[format]
	if !ok {
		jsonBadRequest(w, badParameter("format", "Định dạng là json, html, csv hoặc xlsx", "format is json, html, csv or xlsx"))
		return
	}
	rep, err := report.Of(r.Context(), h.gw, code.String(), quarter, declared)
	if err != nil {
		var e *Error
		if errors.Is(err, gateway.ErrClosed) {
			e = unavailable()
		}
		jsonFailure(w, r, h.log, e, err)
		return
	}
	var buf bytes.Buffer
	if err := f.write(rep, &buf); err != nil {
		jsonServerError(w, r, h.log, fmt.Errorf("api: write the report as %s: %w", format, err))
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	if format != "json" {
		w.Header().Set("Content-Disposition", contentDisposition(ReportFileName(rep, f.ext)))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// ReportFileName is the file name of a report: "bao-cao-lien-thong_H41_2026-Q3.html".
func ReportFileName(rep *report.Report, ext string) string {
	tokens := rep.Agency.Code
	if c, err := envelope.ParseAgencyCode(rep.Agency.Code, envelope.CodeAny); err == nil {
		tokens = c.Tokens()
	}
	return "bao-cao-lien-thong_" + strings.ReplaceAll(tokens, ".", "-") + "_" + rep.Quarter + "." + ext
}

// reportsFor reports whether the caller may make the report of agency:
// it is one of the key's agencies or under one.
func (p *principal) reportsFor(agency envelope.AgencyCode) bool {
	for _, a := range p.key.agencies {
		if a.Contains(agency) {
			return true
		}
	}
	return false
}

// SubmittedReport is the answer of POST /api/v1/reports/{agency}/{quarter}/submit.
type SubmittedReport struct {
	// Document is the outgoing document that carries the report.
	Document *gateway.Document `json:"document"`
}

// submitReport computes the report as getReport does and sends it, as a
// signed edXML document with the report in JSON and HTML, from the agency
// to ?to= (its parent, or the Government Office), whose gateway builds the
// national summary. The agency must be hosted here and in the key's scope.
func (h *handler) submitReport(w http.ResponseWriter, r *http.Request) {
	code, quarter, declared, ok := h.reportRequest(w, r)
	if !ok {
		return
	}
	if !callerOf(r).allows(code.String()) {
		jsonError(w, forbiddenAgency("agency", code.String()))
		return
	}
	to := r.URL.Query().Get("to")
	if to == "" {
		jsonBadRequest(w, badParameter("to", "Thiếu nơi nhận báo cáo (to=mã định danh)", "to (the recipient's agency code) is required"))
		return
	}
	rep, err := report.Of(r.Context(), h.gw, code.String(), quarter, declared)
	if err != nil {
		jsonFailure(w, r, h.log, storeError(err), err)
		return
	}
	d, err := report.Submit(r.Context(), h.gw, rep, to, callerOf(r).scope())
	switch {
	case errors.Is(err, gateway.ErrUnknownRecipient):
		jsonUnprocessable(w, unknownRecipients([]FieldError{unknownRecipientField("to", to)}))
	case errors.Is(err, gateway.ErrNotHosted):
		jsonError(w, forbiddenAgency("agency", code.String()))
	case err != nil:
		jsonFailure(w, r, h.log, storeError(err), err)
	default:
		jsonAccepted(w, r, SubmittedReport{Document: d})
	}
}

// getSummary answers the national summary of a quarter from the reports
// this gateway's agency ?hub= (default: the first hosted agency) received.
func (h *handler) getSummary(w http.ResponseWriter, r *http.Request) {
	quarter, err := report.ParseQuarter(r.PathValue("quarter"))
	if err != nil {
		jsonBadRequest(w, badParameter("quarter", "Quý viết dạng 2026-Q3", err.Error()))
		return
	}
	hub := r.URL.Query().Get("hub")
	if hub == "" {
		hub = h.gw.HostedAgencies()[0].Code.String()
	}
	if !callerOf(r).allows(hub) {
		jsonError(w, forbiddenAgency("hub", hub))
		return
	}
	s, err := report.Summarize(r.Context(), h.gw, hub, quarter)
	if err != nil {
		jsonFailure(w, r, h.log, storeError(err), err)
		return
	}
	jsonOK(w, r, s)
}

// reportRequest reads the agency and quarter of a report's path and the
// declarations of its query; on a bad one it answers 400 and returns
// false.
func (h *handler) reportRequest(w http.ResponseWriter, r *http.Request) (envelope.AgencyCode, report.Quarter, report.Declarations, bool) {
	agency := r.PathValue("agency")
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		jsonBadRequest(w, badParameter("agency", fmt.Sprintf("Mã định danh %q không hợp lệ", agency), err.Error()))
		return code, report.Quarter{}, report.Declarations{}, false
	}
	quarter, err := report.ParseQuarter(r.PathValue("quarter"))
	if err != nil {
		jsonBadRequest(w, badParameter("quarter", "Quý viết dạng 2026-Q3", err.Error()))
		return code, quarter, report.Declarations{}, false
	}
	declared, err := report.ParseDeclarations(r.URL.Query().Get)
	if err != nil {
		jsonBadRequest(w, badParameter("declarations", "Số liệu kê khai không hợp lệ: "+err.Error(), err.Error()))
		return code, quarter, declared, false
	}
	return code, quarter, declared, true
}
