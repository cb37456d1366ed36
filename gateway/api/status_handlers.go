package api

import (
	"mime"
	"net/http"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// StatusBody is the body of POST /api/v1/documents/{id}/status: a
// processing status the document's hosted agency reports — as recipient
// of an incoming document (02, 03, 04, 05, 06, 15, 16) or as sender of an
// outgoing one (13).
type StatusBody struct {
	// Code is the status code, "03"; "3" is read as "03".
	Code string `json:"code"`
	// Description is the reason or comment; required for 02 and 13.
	Description string `json:"description,omitempty"`
	// Staff is who acts.
	Staff envelope.StaffInfo `json:"staff"`
	// Recipients limits a recall (13) to some recipients of an outgoing
	// document; empty means all of them.
	Recipients []string `json:"recipients,omitempty"`
}

// StatusAccepted is the answer (202) to a status: it is recorded and will
// be sent.
type StatusAccepted struct {
	// ID is the document's local id.
	ID   string              `json:"id"`
	Code envelope.StatusCode `json:"code"`
	// Warning, when set, says that the status was recorded and sent but
	// changes no delivery's state: it came late (04 after 06, say).
	Warning *StatusWarning `json:"warning,omitempty"`
}

// StatusWarning is what a status was recorded as, when not as a change.
type StatusWarning struct {
	Code      string `json:"code"` // "late-status"
	MessageVI string `json:"messageVi"`
	MessageEN string `json:"messageEn"`
	// Recipients are the deliveries whose state the status does not
	// change.
	Recipients []string `json:"recipients"`
}

// postStatus records and sends a status about a document of the key's
// agencies.
func (h *handler) postStatus(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			jsonUnsupportedMediaType(w, "Nội dung phải là JSON (application/json)", "the body must be JSON (application/json)")
			return
		}
	}
	read, release, ok := h.admitBody(w, r, gateway.KindStatus, maxJSONBody)
	if !ok {
		return
	}
	defer release()
	var body StatusBody
	e := decodeJSON(r.Body, &body, "body")
	read()
	if e != nil {
		jsonError(w, e)
		return
	}
	releaseTurn, ok := h.admitWork(w, r, gateway.KindStatus)
	if !ok {
		return
	}
	defer releaseTurn()
	d, ok := h.document(w, r)
	if !ok {
		return
	}
	code, err := envelope.ParseStatusCode(body.Code)
	if err != nil {
		fe := fieldError("code", "bad_code", "Mã trạng thái phải là 01–06, 13, 15 hoặc 16", "the code must be 01–06, 13, 15 or 16")
		if strings.TrimSpace(body.Code) == "" {
			fe = fieldError("code", "required", "Thiếu mã trạng thái (code)", "code is required")
		}
		jsonUnprocessable(w, newError(0, CodeValidation, "Mã trạng thái không hợp lệ", "not a status code", fe))
		return
	}
	caller := callerOf(r)
	posted, err := h.gw.PostStatusResult(r.Context(), gateway.StatusRequest{
		Document: d.ID, Code: code, Description: strings.TrimSpace(body.Description),
		Staff: body.Staff, Recipients: body.Recipients, Allowed: caller.scope(),
	})
	if err != nil {
		jsonFailure(w, r, h.log, statusError(err), err)
		return
	}
	out := StatusAccepted{ID: d.ID, Code: code}
	if len(posted.Late) > 0 {
		out.Warning = &StatusWarning{Code: "late-status", Recipients: posted.Late,
			MessageVI: "Trạng thái " + string(code) + " (" + code.Name() + ") đến sau trạng thái đã có: được ghi nhận và gửi đi nhưng không đổi tình trạng xử lý của văn bản",
			MessageEN: "status " + string(code) + " (" + code.NameEN() + ") comes after a later one: it is recorded and sent but changes no delivery's state"}
	}
	jsonAccepted(w, r, out)
}
