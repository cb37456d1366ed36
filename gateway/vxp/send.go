package vxp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/httpbody"
	"github.com/lienthong/lienthong/signing"
)

// sendEdoc takes a document or a status packet from the DMS: the body is
// the edXML (the SDK sends the file's bytes and a CRLF as
// application/octet-stream, although it meant multipart; a real multipart
// body's file_doc part is taken too). A document goes through the same
// submission as API v1's POST /documents; a status through the
// lifecycle, as POST /documents/{id}/status. DocId is the document's local
// id; the same DocumentId from the same agency sent again is accepted once
// and answered with the same DocId.
func (h *Handler) sendEdoc(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	// Admitted twice by the gateway, for the body's memory before it is
	// read and for a turn once it is (gateway.AdmitBody, AdmitWork):
	// when it has no room, code 99 as for a gateway that cannot do it
	// now, which DMSs send again, and Retry-After for those that read
	// it.
	limit := h.gw.MaxPacketSize() + 64<<10 // as readPacket reads
	if r.ContentLength > limit {
		f := tooLarge(h.gw.MaxPacketSize())
		writeFail(w, f, field{"DocId", ""})
		return f.Code
	}
	release, err := h.gw.AdmitBody(r.Context(), "vxp:"+sys.ID, "", r.ContentLength, limit)
	if f := admitFailure(w, err); f != nil {
		writeFail(w, f, field{"DocId", ""})
		return f.Code
	}
	defer release()
	body, read := httpbody.Watch(w, r, httpbody.IdleTimeout)
	r.Body = body
	docID, f := h.send(w, r, sys, p, read)
	if f != nil {
		writeFail(w, f, field{"DocId", docID})
		return f.Code
	}
	writeOK(w, field{"DocId", docID})
	return CodeOK
}

// send reads the packet (read is called once it is read) and sends it.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, sys *System, p params, read func()) (string, *Failure) {
	packet, f := h.readPacket(r)
	read()
	if f != nil {
		return "", f
	}
	if hf, ok, _ := p.get("hash-file"); !ok {
		return "", fail(CodeBadHashFile, "Thiếu tham số hash-file (SHA-256 của tệp gói tin)", "hash-file (the SHA-256 of the packet file) is missing")
	} else if !hashFileMatches(hf, packet) {
		return "", fail(CodeBadHashFile, "hash-file không khớp với nội dung gửi lên", "hash-file does not match the body")
	}
	allowed := sys.Agencies
	if from, ok, amb := p.get("from"); ok {
		if amb {
			return "", badParameter("from", "có nhiều giá trị", "has more than one value")
		}
		canon, ok := sys.allows(from)
		if !ok {
			return "", fail(CodeFromNotAllowed, "Đơn vị gửi %s không thuộc hệ thống %s", "the sender %s is not an agency of system %s", strings.TrimSpace(from), sys.ID)
		}
		allowed = []string{canon}
	}
	// messagetype is checked, but the packet says what it is: the SDK
	// sends a messagetype left from an earlier call when a DMS omits it.
	if _, f := messageType(p); f != nil {
		return "", f
	}
	kind := sniffKind(packet)
	// The body read, a turn to sign and commit it: a slow upload holds
	// none.
	releaseTurn, err := h.gw.AdmitWork(r.Context(), "vxp:"+sys.ID, kind)
	if f := admitFailure(w, err); f != nil {
		return "", f
	}
	defer releaseTurn()
	if kind == gateway.KindStatus {
		// Statuses are routed by ResponseFor; a "to" is the last
		// document's, left in the SDK's map (DMSs give none with a
		// status): not read.
		return h.sendStatus(r, sys, allowed, packet)
	}
	to, f := recipientsParam(p)
	if f != nil {
		return "", f
	}
	// The SDK has no idempotency key and DMSs send again what they are
	// not sure was taken: the packet's own digest is the key, so that the
	// same bytes are the same document, with the same DocId.
	sum := sha256.Sum256(packet)
	key := hex.EncodeToString(sum[:])
	doc, _, err := h.gw.Submit(r.Context(), gateway.Submission{
		Packet: packet, Allowed: allowed, Recipients: to, IdempotencyKey: "vxp:" + key, RequestHash: key, GiveUp: true,
	})
	var dup *gateway.DuplicateError
	switch {
	case err == nil:
		return doc.ID, nil
	case errors.As(err, &dup):
		// Another packet with a DocumentId the agency used before: not
		// taken, and DocId says which document has it.
		return dup.Existing, fail(CodeDuplicate, "Đơn vị đã gửi một văn bản khác có cùng mã DocumentId (DocId %s); văn bản này không được nhận",
			"the agency already sent another packet with this DocumentId (DocId %s); this one is not taken", dup.Existing)
	}
	return "", h.submitFailure(err)
}

// admitFailure is the answer to a request the gateway did not admit (err
// not nil; it sets Retry-After for a busy one), or nil.
func admitFailure(w http.ResponseWriter, err error) *Failure {
	var be *gateway.BusyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(be.RetryAfter.Seconds()))))
		return fail(CodeUnavailable, "Cổng liên thông đang xử lý nhiều yêu cầu; hãy gửi lại sau vài giây", "the gateway is working on as many requests as it takes at once; send it again in a few seconds")
	}
	return unavailable()
}

// readPacket reads the body: the packet, without the CRLF the SDK adds.
func (h *Handler) readPacket(r *http.Request) ([]byte, *Failure) {
	max := h.gw.MaxPacketSize()
	body := http.MaxBytesReader(nil, r.Body, max+64<<10)
	if mt, ps, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, ps["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				return nil, fail(CodeMalformed, "Không có phần file_doc trong nội dung multipart", "the multipart body has no file_doc part")
			}
			if part.FormName() == "file_doc" || part.FileName() != "" {
				data, err := io.ReadAll(io.LimitReader(part, max+1))
				if err != nil {
					return nil, readFailure(err)
				}
				if int64(len(data)) > max {
					return nil, tooLarge(max)
				}
				return data, nil
			}
		}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, readFailure(err)
	}
	data = bytes.TrimSuffix(data, []byte("\r\n"))
	if int64(len(data)) > max {
		return nil, tooLarge(max)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail(CodeMalformed, "Nội dung gửi lên trống: không có gói tin edXML", "the body is empty: no edXML packet")
	}
	return data, nil
}

func readFailure(err error) *Failure {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return fail(CodeTooLarge, "Gói tin lớn hơn giới hạn của cổng", "the packet is larger than the gateway takes")
	}
	return fail(CodeMalformed, "Không đọc được nội dung gửi lên", "the body could not be read: %v", err)
}

func tooLarge(max int64) *Failure {
	return fail(CodeTooLarge, "Gói tin lớn hơn giới hạn %d byte của cổng", "the packet is larger than the gateway's limit of %d bytes", max)
}

// recipientsParam reads "to": the JSON text of a list (the SDK serialises
// what the caller gave: ["000.00.00.G22","000.00.15.H51"]), or of one code
// (with its quotes), or a bare code.
func recipientsParam(p params) ([]string, *Failure) {
	v, ok, amb := p.get("to")
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	if amb {
		return nil, badParameter("to", "có nhiều giá trị", "has more than one value")
	}
	var list []string
	var one string
	switch {
	case json.Unmarshal([]byte(v), &list) == nil:
	case json.Unmarshal([]byte(v), &one) == nil:
		list = []string{one}
	default:
		list = []string{v}
	}
	var out []string
	for _, code := range list {
		if code = strings.TrimSpace(code); code != "" {
			out = append(out, code)
		}
	}
	return out, nil
}

// messageType reads "messagetype": edoc or status, any case; "" when
// absent (the packet says).
func messageType(p params) (gateway.PacketKind, *Failure) {
	v, ok, amb := p.get("messagetype")
	if !ok {
		return "", nil
	}
	if amb {
		return "", badParameter("messagetype", "có nhiều giá trị", "has more than one value")
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "edoc":
		return gateway.KindEdoc, nil
	case "status":
		return gateway.KindStatus, nil
	}
	return "", badParameter("messagetype", "phải là edoc hoặc status", "must be edoc or status")
}

// sniffKind tells a status packet from a document without parsing: its
// header has a StatusCode.
func sniffKind(packet []byte) gateway.PacketKind {
	head := packet
	if len(head) > 64<<10 {
		head = head[:64<<10]
	}
	if bytes.Contains(head, []byte("StatusCode>")) && !bytes.Contains(head, []byte("Attachment")) {
		return gateway.KindStatus
	}
	return gateway.KindEdoc
}

// submitFailure maps an error of Submit.
func (h *Handler) submitFailure(err error) *Failure {
	var se *gateway.SubmitError
	if !errors.As(err, &se) {
		h.log.Error("vxp: submit", zap.Error(err))
		return unavailable()
	}
	if f := packetFailure(se.Err); f != nil {
		return f
	}
	switch {
	case errors.Is(se.Err, gateway.ErrRecipientsDiffer):
		return badParameter("to", "không cùng các nơi nhận trong gói tin (MessageHeader/To): "+se.Err.Error()+
			"; SDK gửi lại \"to\" của lần gọi trước nếu lần này không cho: hãy luôn cho \"to\" hoặc không bao giờ",
			"does not name the packet's recipients (MessageHeader/To): "+se.Err.Error()+
				`; the SDK sends the "to" of an earlier call when a call gives none: give "to" always or never`)
	case errors.Is(se.Err, gateway.ErrIdempotencyConflict):
		// Cannot be: the key is the digest of the request itself.
		h.log.Error("vxp: submit", zap.Error(err))
		return unavailable()
	case errors.Is(se.Err, gateway.ErrUnknownRecipient):
		return fail(CodeUnknownRecipient, "Nơi nhận không có trong danh bạ liên thông hoặc không thuộc To của gói tin: %s", "a recipient is not in the directory or not among the packet's To: %s", se.Err.Error())
	case errors.Is(se.Err, gateway.ErrNotHosted):
		return fail(CodeFromNotAllowed, "Đơn vị gửi trong gói tin (From) không thuộc hệ thống này", "the packet's sender (From) is not an agency of this system")
	case errors.Is(se.Err, signing.ErrKey):
		h.log.Error("vxp: submit: the gateway's own key", zap.Error(err))
		return unavailable()
	}
	return fail(CodeInvalid, "Cổng liên thông không tiếp nhận gói tin: %s", "the gateway refuses the packet: %s", se.Err.Error())
}

// packetFailure maps what is wrong with a packet itself; nil otherwise.
func packetFailure(err error) *Failure {
	switch {
	case errors.Is(err, gateway.ErrTooLarge), errors.Is(err, envelope.ErrTooLarge):
		return fail(CodeTooLarge, "Gói tin lớn hơn giới hạn của cổng", "the packet is larger than the gateway takes")
	case errors.Is(err, envelope.ErrForbiddenXML), errors.Is(err, envelope.ErrMalformed), errors.Is(err, envelope.ErrAttachment):
		return fail(CodeMalformed, "Nội dung không phải gói tin edXML hợp lệ", "the body is not a well-formed edXML packet: %v", err)
	}
	if es, ok := envelope.IsValidationError(err); ok {
		var vi, en []string
		for i, e := range es {
			if i == 3 {
				vi, en = append(vi, fmt.Sprintf("… (%d lỗi)", len(es))), append(en, fmt.Sprintf("… (%d errors)", len(es)))
				break
			}
			vi, en = append(vi, e.Path+": "+e.MessageVI), append(en, e.Path+": "+e.MessageEN)
		}
		return &Failure{Code: CodeInvalid, VI: "Gói tin không hợp lệ: " + strings.Join(vi, "; "), EN: "the packet is invalid: " + strings.Join(en, "; ")}
	}
	return nil
}

// sendStatus applies a status packet of the DMS: the document is the one
// the status is about (ResponseFor/DocumentId) at the agency that sends it
// (From) — received from ResponseFor/OrganId for a recipient's status,
// sent by the agency for its recall (13, to the recipients "to" names, or
// all). The gateway then records it and sends its own status packet,
// signed, as for API v1. DocId is a digest of the packet, the same when a
// DMS sends it again.
func (h *Handler) sendStatus(r *http.Request, sys *System, allowed []string, packet []byte) (string, *Failure) {
	parser := envelope.Parser{MaxSize: int64(len(packet)) + 1}
	pkt, _, err := parser.ParseBytes(packet)
	if err != nil {
		if f := packetFailure(err); f != nil {
			return "", f
		}
		return "", fail(CodeMalformed, "Nội dung không phải gói tin edXML hợp lệ", "the body is not a well-formed edXML packet: %v", err)
	}
	st := pkt.Status
	if st == nil {
		return "", fail(CodeMalformed, "Gói tin có StatusCode nhưng không phải gói tin trạng thái", "the packet has a StatusCode but is not a status packet")
	}
	if err := envelope.Validate(pkt, envelope.ProfileReceive()); err != nil {
		if f := packetFailure(err); f != nil {
			return "", f
		}
	}
	from, ok := sys.allows(st.From.OrganID)
	if !ok || !containsText(allowed, from) {
		return "", fail(CodeFromNotAllowed, "Đơn vị gửi trạng thái %s không thuộc hệ thống %s", "the status's sender %s is not an agency of system %s", st.From.OrganID, sys.ID)
	}
	q := gateway.DocumentQuery{Agencies: []string{from}, DocumentID: st.ResponseFor.DocumentID, Limit: 2}
	if st.StatusCode == envelope.StatusRecallRequested {
		q.Direction = gateway.Outgoing
	} else {
		q.Direction = gateway.Incoming
		sender, err := envelope.ParseAgencyCode(st.ResponseFor.OrganID, envelope.CodeAny)
		if err != nil {
			return "", fail(CodeUnknownDocument, "ResponseFor/OrganId %q không phải mã định danh", "ResponseFor/OrganId %q is not an agency code", st.ResponseFor.OrganID)
		}
		q.From = sender.String()
	}
	page, err := h.store.Documents(r.Context(), q)
	if err != nil {
		return "", h.storeFailure("find the document of a status", err, nil)
	}
	if len(page.Documents) != 1 {
		return "", fail(CodeUnknownDocument, "Đơn vị %s không có văn bản %s", "the agency %s has no document %s", from, st.ResponseFor.DocumentID)
	}
	sum := sha256.Sum256(packet)
	docID := hex.EncodeToString(sum[:12])
	d := page.Documents[0]
	if st.StatusCode != envelope.StatusProcessing && allSeen(d.Deliveries, st.StatusCode) {
		// Sent again (the DMS was not sure it was taken): recorded
		// already, the same answer. 05 may be reported again and is.
		return docID, nil
	}
	req := gateway.StatusRequest{
		Document: d.ID, Code: st.StatusCode, Description: st.Description, Staff: st.StaffInfo, Allowed: allowed,
	}
	if _, err := h.gw.PostStatusResult(r.Context(), req); err != nil {
		return "", h.statusFailure(err)
	}
	return docID, nil
}

// allSeen reports whether every delivery has had the code already.
func allSeen(deliveries []gateway.Delivery, code envelope.StatusCode) bool {
	for _, dl := range deliveries {
		if !dl.Lifecycle.Seen.Has(code) {
			return false
		}
	}
	return len(deliveries) > 0
}

// statusFailure maps an error of PostStatus.
func (h *Handler) statusFailure(err error) *Failure {
	var te *envelope.TransitionError
	switch {
	case errors.As(err, &te):
		return fail(CodeTransition, "Trạng thái không hợp lệ với tình trạng hiện tại của văn bản: %s", "the status is not allowed where the document stands: %s", te.Error())
	case errors.Is(err, gateway.ErrStatusNotAllowed), errors.Is(err, gateway.ErrReasonRequired), errors.Is(err, envelope.ErrBadCode):
		return fail(CodeTransition, "Trạng thái không gửi được cho văn bản này: %s", "the status cannot be sent for this document: %s", err.Error())
	case errors.Is(err, gateway.ErrNotHosted):
		return fail(CodeFromNotAllowed, "Đơn vị gửi trạng thái không thuộc hệ thống này", "the status's sender is not an agency of this system")
	case errors.Is(err, gateway.ErrNotFound):
		return fail(CodeUnknownDocument, "Không tìm thấy văn bản hoặc nơi nhận của trạng thái", "the status's document or recipient is not found")
	}
	h.log.Error("vxp: post a status", zap.Error(err))
	return unavailable()
}

func containsText(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
