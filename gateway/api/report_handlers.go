package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/disposition"
)

// reportTypes are the formats of GET /api/v1/reports/{agency}/{quarter}
// (gateway.QuarterlyReport.Write) and their content types.
var reportTypes = map[string]string{
	"json": "application/json; charset=utf-8",
	"html": "text/html; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// getReport answers the quarterly report of an agency (and everything
// under it) computed from this gateway's store, in the format asked
// (?format=json|html|csv|xlsx, JSON by default), with the declarations
// given as parameters. A key may ask for the report of an agency in its
// scope or under one.
func (h *handler) getReport(w http.ResponseWriter, r *http.Request) {
	code, req, ok := h.reportRequest(w, r)
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
	contentType, ok := reportTypes[format]
	if !ok {
		jsonBadRequest(w, badParameter("format", "Định dạng là json, html, csv hoặc xlsx", "format is json, html, csv or xlsx"))
		return
	}
	rep, err := h.reports.Report(r.Context(), req)
	if err != nil {
		var e *Error
		if errors.Is(err, gateway.ErrClosed) {
			e = unavailable()
		}
		jsonFailure(w, r, h.log, e, err)
		return
	}
	var buf bytes.Buffer
	if err := rep.Write(&buf, format); err != nil {
		jsonServerError(w, r, h.log, fmt.Errorf("api: write the report as %s: %w", format, err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	if format != "json" {
		w.Header().Set("Content-Disposition", disposition.Attachment(rep.FileName(format)))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
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
	code, req, ok := h.reportRequest(w, r)
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
	d, err := h.reports.Submit(r.Context(), req, to, callerOf(r).scope())
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
	quarter := r.PathValue("quarter")
	if e := requestProblem(h.reports.Check(gateway.ReportRequest{Quarter: quarter}), "quarter"); e != nil {
		jsonBadRequest(w, badParameter("quarter", "Quý viết dạng 2026-Q3", e.Error()))
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
	s, err := h.reports.Summary(r.Context(), hub, quarter)
	if err != nil {
		jsonFailure(w, r, h.log, storeError(err), err)
		return
	}
	jsonOK(w, r, s)
}

// reportRequest reads the agency and quarter of a report's path and the
// declarations of its query; on a bad one it answers 400 and returns
// false.
func (h *handler) reportRequest(w http.ResponseWriter, r *http.Request) (envelope.AgencyCode, gateway.ReportRequest, bool) {
	agency := r.PathValue("agency")
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		jsonBadRequest(w, badParameter("agency", fmt.Sprintf("Mã định danh %q không hợp lệ", agency), err.Error()))
		return code, gateway.ReportRequest{}, false
	}
	req := gateway.ReportRequest{Agency: code.String(), Quarter: r.PathValue("quarter"), Declared: r.URL.Query().Get}
	err = h.reports.Check(req)
	if e := requestProblem(err, "quarter"); e != nil {
		jsonBadRequest(w, badParameter("quarter", "Quý viết dạng 2026-Q3", e.Error()))
		return code, req, false
	}
	if e := requestProblem(err, "declarations"); e != nil {
		jsonBadRequest(w, badParameter("declarations", "Số liệu kê khai không hợp lệ: "+e.Error(), e.Error()))
		return code, req, false
	}
	if err != nil {
		jsonServerError(w, r, h.log, fmt.Errorf("api: check the report's request: %w", err))
		return code, req, false
	}
	return code, req, true
}

// requestProblem returns the cause of the *gateway.ReportRequestError
// about param among the errors err joins, or nil.
func requestProblem(err error, param string) error {
	for _, re := range gateway.ReportRequestErrors(err) {
		if re.Param == param {
			return re.Err
		}
	}
	return nil
}
