package vxp

import "fmt"

// Failure is an answer with status FAIL: its ErrorCode and the reason, in
// Vietnamese and in English (ErrorDesc carries both, the Vietnamese
// escaped as \uXXXX so that it survives the SDK's US-ASCII reading).
type Failure struct {
	Code   string
	VI, EN string
}

// Desc is the ErrorDesc of the failure.
func (f *Failure) Desc() string { return f.VI + " (" + f.EN + ")" }

func (f *Failure) Error() string { return "vxp: " + f.Code + ": " + f.EN }

// The ErrorCodes of the VXP face. The real axis's non-zero codes are not
// known; these are lienthong's, one per kind of failure, so that a DMS's
// log says what went wrong (doc.go has the table).
const (
	CodeOK               = "0"
	CodeUnknownSystem    = "1"  // XroadVnpt-systemid is not a configured system, or the HMAC is not its secret's
	CodeBadHeader        = "3"  // the signed header is missing, not JSON, or names another system
	CodeFromNotAllowed   = "4"  // from is not an agency of the system
	CodeBadHashFile      = "5"  // hash-file is not the SHA-256 of the body
	CodeMalformed        = "6"  // the body is not an edXML packet
	CodeInvalid          = "7"  // the packet breaks QCVN 102's rules for sending
	CodeUnknownRecipient = "8"  // a recipient is not in the directory
	CodeTransition       = "9"  // the status is not allowed where the document stands
	CodeUnknownDocID     = "10" // no item of this system has that docId
	CodeBadParameter     = "11" // a parameter's value is not one the operation takes
	CodeNotPermitted     = "12" // the operation is not for this system (the directory is the administrator's)
	CodeTooLarge         = "13" // the packet is larger than the gateway takes
	CodeUnknownOperation = "14" // no such operation
	CodeUnknownDocument  = "15" // a status names a document the agency does not have
	CodeDuplicate        = "16" // the agency sent another packet with this DocumentId (DocId names it)
	CodeUnavailable      = "99" // the gateway could not do it now (store, NATS): try again
)

func fail(code, vi, en string, args ...any) *Failure {
	return &Failure{Code: code, VI: fmt.Sprintf(vi, args...), EN: fmt.Sprintf(en, args...)}
}

// badParameter is CodeBadParameter about a parameter.
func badParameter(name, vi, en string) *Failure {
	return &Failure{Code: CodeBadParameter, VI: "Tham số " + name + " không đúng: " + vi, EN: "parameter " + name + ": " + en}
}

// unavailable is CodeUnavailable, the cause left to the log.
func unavailable() *Failure {
	return fail(CodeUnavailable, "Cổng liên thông tạm thời không thực hiện được yêu cầu, hãy thử lại", "the gateway cannot do it now; try again")
}
