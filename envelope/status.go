package envelope

import (
	"fmt"
	"strings"
)

// StatusCode is the processing-status code of a status packet
// (MessageHeader/StatusCode), kept as the two digits that are on the wire.
//
// A StatusCode read from a packet may be outside the code list; [StatusCode.Valid]
// tells, and [ParseStatusCode] normalizes and checks a code typed by a person
// or sent by lenient software.
type StatusCode string

// The nine processing-status codes of QCVN 102:2016 (see [Lifecycle] for the
// order in which the gateway accepts them).
const (
	// StatusArrived (01 Đã đến): the recipient's system has the packet; no
	// clerk has acted yet. Sent automatically by the recipient.
	StatusArrived StatusCode = "01"
	// StatusRejected (02 Từ chối tiếp nhận): the recipient's clerk refused
	// the document; the status Description gives the reason.
	StatusRejected StatusCode = "02"
	// StatusAccepted (03 Đã tiếp nhận): accepted and registered in the
	// recipient's incoming register (sổ văn bản đến).
	StatusAccepted StatusCode = "03"
	// StatusAssigned (04 Phân công xử lý): a leader of the recipient assigned
	// the document to someone.
	StatusAssigned StatusCode = "04"
	// StatusProcessing (05 Đang xử lý): the document is being processed. It
	// may be sent several times.
	StatusProcessing StatusCode = "05"
	// StatusDone (06 Hoàn thành): processing is finished.
	StatusDone StatusCode = "06"
	// StatusRecallRequested (13 Yêu cầu lấy lại): the original sender asks
	// the recipient to give the document back (recall or update it), with a
	// reason. It is the only code sent by the sender rather than the
	// recipient.
	StatusRecallRequested StatusCode = "13"
	// StatusRecallAccepted (15 Đồng ý lấy lại/cập nhật): the recipient agrees
	// to the recall or update.
	StatusRecallAccepted StatusCode = "15"
	// StatusRecallRefused (16 Từ chối lấy lại/cập nhật): the recipient
	// refuses the recall or update.
	StatusRecallRefused StatusCode = "16"
)

// statusInfo is the code list: codes in order with their names.
var statusInfo = [...]struct {
	code   StatusCode
	nameVI string
	nameEN string
}{
	{StatusArrived, "Đã đến", "Arrived"},
	{StatusRejected, "Từ chối tiếp nhận", "Rejected"},
	{StatusAccepted, "Đã tiếp nhận", "Accepted"},
	{StatusAssigned, "Phân công xử lý", "Assigned"},
	{StatusProcessing, "Đang xử lý", "Processing"},
	{StatusDone, "Hoàn thành", "Done"},
	{StatusRecallRequested, "Yêu cầu lấy lại", "Recall requested"},
	{StatusRecallAccepted, "Đồng ý lấy lại/cập nhật", "Recall accepted"},
	{StatusRecallRefused, "Từ chối lấy lại/cập nhật", "Recall refused"},
}

// statusIndex returns the position of c in the code list, or -1.
func statusIndex(c StatusCode) int {
	for i, s := range statusInfo {
		if s.code == c {
			return i
		}
	}
	return -1
}

// StatusCodes returns the nine status codes in code-list order:
// 01, 02, 03, 04, 05, 06, 13, 15, 16. The slice is new on every call.
func StatusCodes() []StatusCode {
	codes := make([]StatusCode, len(statusInfo))
	for i, s := range statusInfo {
		codes[i] = s.code
	}
	return codes
}

// Valid reports whether c is one of the nine codes of the code list, written
// as on the wire (two digits: "01", not "1").
func (c StatusCode) Valid() bool { return statusIndex(c) >= 0 }

// Name returns the Vietnamese name of the code as the regulation gives it,
// such as "Đã đến" for 01. For a code outside the code list it returns
// "Mã trạng thái không xác định (xx)" with the code in parentheses.
func (c StatusCode) Name() string {
	if i := statusIndex(c); i >= 0 {
		return statusInfo[i].nameVI
	}
	return "Mã trạng thái không xác định (" + string(c) + ")"
}

// NameEN returns the English name of the code, such as "Arrived" for 01. For
// a code outside the code list it returns "unknown status code (xx)".
func (c StatusCode) NameEN() string {
	if i := statusIndex(c); i >= 0 {
		return statusInfo[i].nameEN
	}
	return "unknown status code (" + string(c) + ")"
}

// SentBy returns the party that emits the code: [PartySender] for 13
// (Yêu cầu lấy lại), [PartyRecipient] for every other code, including codes
// outside the code list.
func (c StatusCode) SentBy() Party {
	if c == StatusRecallRequested {
		return PartySender
	}
	return PartyRecipient
}

// ParseStatusCode reads a status code as lenient software writes it: spaces
// around it are trimmed and a single digit gets its leading zero ("1" and
// " 01 " both give [StatusArrived]). Anything else that is not one of the
// nine codes is refused with an error that names the input and wraps
// [ErrBadCode].
func ParseStatusCode(s string) (StatusCode, error) {
	t := strings.TrimSpace(s)
	if len(t) == 1 && t[0] >= '0' && t[0] <= '9' {
		t = "0" + t
	}
	c := StatusCode(t)
	if !c.Valid() {
		return "", fmt.Errorf("envelope: status code %q: %w", s, ErrBadCode)
	}
	return c, nil
}
