package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

// Codes of [Error]: what went wrong, stable for programs. The HTTP status
// of each is in the package documentation.
const (
	CodeMalformed            = "malformed"              // 400: not well-formed JSON, XML, multipart or edXML
	CodeForbiddenXML         = "forbidden-xml"          // 400: DOCTYPE, entities, too deep
	CodeBadParameter         = "bad-parameter"          // 400: a query parameter or header is not valid
	CodeUnauthorized         = "unauthorized"           // 401: no key, or an unknown one
	CodeForbidden            = "forbidden"              // 403: the key may not act for that agency
	CodeNotFound             = "not-found"              // 404
	CodeMethodNotAllowed     = "method-not-allowed"     // 405
	CodeDuplicate            = "duplicate"              // 409: the agency sent this DocumentId already
	CodeIdempotencyConflict  = "idempotency-conflict"   // 409: Idempotency-Key reused with another request
	CodeTransition           = "transition"             // 409: the lifecycle refuses the status
	CodeTooLarge             = "too-large"              // 413
	CodeUnsupportedMediaType = "unsupported-media-type" // 415
	CodeValidation           = "validation"             // 422: field errors
	CodeUnknownRecipient     = "unknown-recipient"      // 422: a recipient is not in the directory
	CodeStatusNotAllowed     = "status-not-allowed"     // 422: this side of the document does not send that code
	CodeReasonRequired       = "reason-required"        // 422: 02 and 13 need a description
	CodeSignature            = "signature"              // 422: a signed packet does not verify
	CodeRejected             = "rejected"               // 422: another refusal of the submission
	CodeUndecodable          = "undecodable-attachment" // 422: the attachment's content cannot be decoded
	CodeInternal             = "internal"               // 500
	CodeUnavailable          = "unavailable"            // 503: the gateway is closing
	CodeBusy                 = "busy"                   // 503 with Retry-After: too many requests at once (gateway.ErrBusy)
)

// Error is the body of every error response, under "error":
//
//	{"error": {"code": "validation", "messageVi": "…", "messageEn": "…",
//	           "fields": [{"path": "MessageHeader/Subject", "code": "required", …}]}}
//
// It implements error, so that a Go client can return it as it is.
type Error struct {
	// Status is the HTTP status; it is not in the body.
	Status int `json:"-"`
	// Code is one of the Code constants.
	Code      string `json:"code"`
	MessageVI string `json:"messageVi"`
	MessageEN string `json:"messageEn"`
	// Fields are the problems with single fields, for 400 and 422.
	Fields []FieldError `json:"fields,omitempty"`
	// Existing is the local id of the document already accepted, for
	// CodeDuplicate.
	Existing string `json:"existing,omitempty"`
}

// Error returns the status, the code, the English message and the fields.
func (e *Error) Error() string {
	s := fmt.Sprintf("api: %d %s: %s", e.Status, e.Code, e.MessageEN)
	for _, f := range e.Fields {
		s += "; " + f.Path + ": " + f.MessageEN
	}
	return s
}

// ErrorBody is the JSON object of an error response.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// FieldError is a problem with one field. For a packet, Path is the
// element path envelope.ValidationError gives ("MessageHeader/To[2]/OrganId",
// repeated elements counted from 1); for a JSON body or the query, the
// member or parameter name ("description", "limit").
type FieldError struct {
	Path string `json:"path"`
	// Code is envelope's ("required", "bad_format", "bad_agency_code" …)
	// or "unknown_recipient".
	Code      string `json:"code"`
	MessageVI string `json:"messageVi"`
	MessageEN string `json:"messageEn"`
}

func newError(status int, code, vi, en string, fields ...FieldError) *Error {
	return &Error{Status: status, Code: code, MessageVI: vi, MessageEN: en, Fields: fields}
}

func fieldError(path, code, vi, en string) FieldError {
	return FieldError{Path: path, Code: code, MessageVI: vi, MessageEN: en}
}

// badParameter is a 400 about one query parameter, header or JSON member.
func badParameter(path, vi, en string) *Error {
	return newError(http.StatusBadRequest, CodeBadParameter,
		"Tham số không hợp lệ: "+path, "invalid parameter: "+path,
		fieldError(path, "bad_format", vi, en))
}

// validationError turns envelope's field errors into a 422, paths
// unchanged.
func validationError(es envelope.ValidationErrors) *Error {
	e := newError(http.StatusUnprocessableEntity, CodeValidation,
		"Văn bản không hợp lệ; xem danh sách lỗi theo trường",
		"the document is not valid; see the fields")
	for _, v := range es {
		e.Fields = append(e.Fields, fieldError(v.Path, v.Code, v.MessageVI, v.MessageEN))
	}
	return e
}

// tooLarge is the 413.
func tooLarge() *Error {
	return newError(http.StatusRequestEntityTooLarge, CodeTooLarge,
		"Gói tin vượt quá dung lượng cho phép", "the packet is larger than the gateway accepts")
}

// unknownRecipients is the 422 naming recipients not in the directory.
func unknownRecipients(fields []FieldError) *Error {
	if len(fields) == 0 {
		fields = []FieldError{fieldError("MessageHeader/To", "unknown_recipient",
			"Có nơi nhận không có trong danh bạ liên thông", "a recipient is not in the directory")}
	}
	return newError(http.StatusUnprocessableEntity, CodeUnknownRecipient,
		"Nơi nhận không có trong danh bạ liên thông", "a recipient is not in the directory", fields...)
}

func unknownRecipientField(path, code string) FieldError {
	return fieldError(path, "unknown_recipient",
		fmt.Sprintf("Mã định danh %q không có trong danh bạ liên thông", code),
		fmt.Sprintf("agency %q is not in the directory", code))
}

// forbiddenAgency is the 403 of acting for an agency outside the key's.
func forbiddenAgency(path, agency string) *Error {
	return newError(http.StatusForbidden, CodeForbidden,
		fmt.Sprintf("Khóa API này không được gửi văn bản thay cho cơ quan %s", agency),
		fmt.Sprintf("this API key may not act for agency %s", agency),
		fieldError(path, "forbidden",
			"Cơ quan không thuộc phạm vi của khóa API hoặc không do cổng này phục vụ",
			"the agency is outside the key's scope or not hosted by this gateway"))
}

// signatureCauses are the verdict causes that make a pre-signed packet
// the DMS's problem.
var signatureCauses = []error{
	signing.ErrUnreadablePacket, signing.ErrNoSignature, signing.ErrManySignatures,
	signing.ErrSignatureNamespace, signing.ErrSignaturePlace, signing.ErrSignatureShape,
	signing.ErrAlgorithmNotAllowed, signing.ErrBadCertificate, signing.ErrCertificateExpired,
	signing.ErrUntrustedChain, signing.ErrCertificateRevoked, signing.ErrSignatureMismatch,
	signing.ErrSignerNotRegistered,
}

// packetError maps what reading a packet can fail with, or returns nil.
func packetError(err error) *Error {
	switch {
	case errors.Is(err, gateway.ErrTooLarge), errors.Is(err, envelope.ErrTooLarge):
		return tooLarge()
	case errors.Is(err, envelope.ErrForbiddenXML):
		return newError(http.StatusBadRequest, CodeForbiddenXML,
			"Gói tin dùng cấu trúc XML bị cấm (DOCTYPE, khai báo thực thể, lồng quá sâu)",
			"the packet uses a forbidden XML construct: "+err.Error())
	case errors.Is(err, envelope.ErrMalformed), errors.Is(err, envelope.ErrAttachment):
		return newError(http.StatusBadRequest, CodeMalformed,
			"Gói tin không phải XML hợp lệ hoặc không phải gói tin edXML",
			"the packet is not well-formed edXML: "+err.Error())
	}
	if es, ok := envelope.IsValidationError(err); ok {
		return validationError(es)
	}
	return nil
}

// submitError maps an error of gateway.Submit to the response, or returns
// nil for a fault of the server (500). unknown names the recipients that
// are not in the directory, for ErrUnknownRecipient.
func submitError(err error, unknown func() []FieldError) *Error {
	if errors.Is(err, gateway.ErrClosed) {
		return unavailable()
	}
	var se *gateway.SubmitError
	if !errors.As(err, &se) {
		return nil
	}
	if e := packetError(se.Err); e != nil {
		return e
	}
	var dup *gateway.DuplicateError
	switch {
	case errors.As(se.Err, &dup):
		e := newError(http.StatusConflict, CodeDuplicate,
			"Cơ quan đã gửi văn bản có DocumentId này; xem văn bản "+dup.Existing,
			"the agency already sent a document with this DocumentId: "+dup.Existing,
			fieldError("MessageHeader/DocumentId", "duplicate", "DocumentId đã được dùng", "DocumentId already used"))
		e.Existing = dup.Existing
		return e
	case errors.Is(se.Err, gateway.ErrDuplicateDocument):
		return newError(http.StatusConflict, CodeDuplicate,
			"Cơ quan đã gửi văn bản có DocumentId này", "the agency already sent a document with this DocumentId",
			fieldError("MessageHeader/DocumentId", "duplicate", "DocumentId đã được dùng", "DocumentId already used"))
	case errors.Is(se.Err, gateway.ErrIdempotencyConflict):
		return newError(http.StatusConflict, CodeIdempotencyConflict,
			"Idempotency-Key này đã được dùng cho một yêu cầu khác",
			"the Idempotency-Key was used before with a different request",
			fieldError("Idempotency-Key", "conflict", "Khóa đã dùng với nội dung khác", "key used with another body"))
	case errors.Is(se.Err, gateway.ErrUnknownRecipient):
		return unknownRecipients(unknown())
	case errors.Is(se.Err, gateway.ErrNotHosted):
		return newError(http.StatusForbidden, CodeForbidden,
			"Khóa API này không được gửi văn bản thay cho cơ quan gửi",
			"this API key may not send for the packet's sender",
			fieldError("MessageHeader/From/OrganId", "forbidden",
				"Cơ quan gửi không thuộc phạm vi của khóa API hoặc không do cổng này phục vụ",
				"the sender is outside the key's scope or not hosted by this gateway"))
	case errors.Is(se.Err, signing.ErrKey):
		return nil // the gateway's own key: a fault of the server
	}
	for _, cause := range signatureCauses {
		if errors.Is(se.Err, cause) {
			return newError(http.StatusUnprocessableEntity, CodeSignature,
				"Chữ ký số của gói tin không hợp lệ", "the packet's signature does not verify: "+se.Err.Error())
		}
	}
	return newError(http.StatusUnprocessableEntity, CodeRejected,
		"Cổng liên thông không tiếp nhận văn bản", "the gateway refuses the document: "+se.Err.Error())
}

// statusError maps an error of gateway.PostStatus, or returns nil for a
// fault of the server.
func statusError(err error) *Error {
	if es, ok := envelope.IsValidationError(err); ok {
		// Before ErrBadCode, which field errors unwrap to as well.
		return validationError(es)
	}
	var te *envelope.TransitionError
	switch {
	case errors.Is(err, gateway.ErrClosed):
		return unavailable()
	case errors.As(err, &te):
		return newError(http.StatusConflict, CodeTransition, te.MessageVI(), te.Error())
	case errors.Is(err, gateway.ErrStatusNotAllowed):
		return newError(http.StatusUnprocessableEntity, CodeStatusNotAllowed,
			"Bên này của văn bản không được gửi mã trạng thái này",
			"this side of the document does not send that status code",
			fieldError("code", "not_allowed",
				"Mã 13 do bên gửi gửi cho văn bản đi; các mã khác (trừ 01) do bên nhận gửi cho văn bản đến",
				"13 is sent by the sender of an outgoing document; the other codes but 01 by the recipient of an incoming one"))
	case errors.Is(err, gateway.ErrReasonRequired):
		return newError(http.StatusUnprocessableEntity, CodeReasonRequired,
			"Trạng thái 02 và 13 phải có lý do", "statuses 02 and 13 need a description",
			fieldError("description", "required", "Thiếu lý do (description)", "description is required"))
	case errors.Is(err, envelope.ErrBadCode):
		return newError(http.StatusUnprocessableEntity, CodeValidation,
			"Mã trạng thái không hợp lệ", "not a status code",
			fieldError("code", "bad_code", "Mã trạng thái phải là 01–06, 13, 15 hoặc 16", "the code must be 01–06, 13, 15 or 16"))
	case errors.Is(err, gateway.ErrNotHosted):
		return newError(http.StatusForbidden, CodeForbidden,
			"Khóa API này không được gửi trạng thái thay cho cơ quan của văn bản",
			"this API key may not act for the document's agency")
	case errors.Is(err, gateway.ErrNotFound):
		// The document was read just before: what is missing is one of
		// the recipients named.
		return unknownRecipients([]FieldError{fieldError("recipients", "unknown_recipient",
			"Không có nơi nhận nào của văn bản khớp với danh sách recipients",
			"none of the recipients named is a recipient of the document")})
	}
	return nil
}

// busy is the answer to a request the gateway has no turn for now
// (gateway.BusyError); the caller sets Retry-After.
func busy() *Error {
	return newError(http.StatusServiceUnavailable, CodeBusy,
		"Cổng liên thông đang xử lý nhiều yêu cầu; xin gửi lại sau vài giây (Retry-After), chưa có gì được nhận",
		"the gateway is working on as many requests as it takes at once; nothing was taken: send it again after Retry-After")
}

func unavailable() *Error {
	return newError(http.StatusServiceUnavailable, CodeUnavailable,
		"Cổng liên thông đang dừng; xin thử lại sau", "the gateway is closing; try again later")
}
