package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

// The page's messages, in one place.
const (
	msgNotSignedIn    = "Vui lòng đăng nhập để tiếp tục."
	msgSessionExpired = "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại; thao tác vừa rồi chưa được thực hiện."
	msgBadCSRF        = "Biểu mẫu không hợp lệ hoặc đã cũ (thiếu mã xác thực biểu mẫu). Vui lòng tải lại trang rồi thử lại; thao tác chưa được thực hiện."
	msgLoginEmpty     = "Vui lòng nhập tên đăng nhập và mật khẩu."
	msgLoginFailed    = "Tên đăng nhập hoặc mật khẩu không đúng."
	msgServerError    = "Hệ thống gặp lỗi, chưa hiển thị được trang. Vui lòng thử lại sau ít phút hoặc báo quản trị viên."
	msgNotFound       = "Không tìm thấy văn bản này, hoặc văn bản không thuộc đơn vị của bạn."
	msgPageNotFound   = "Không có trang này. Hãy kiểm tra lại địa chỉ, hoặc chọn một mục trên thanh điều hướng."
	msgReasonRequired = "Vui lòng nhập lý do."
	msgUnavailable    = "Cổng kết nối đang tạm dừng. Vui lòng thử lại sau ít phút."
)

// msgLoginThrottled says how long to wait before signing in again, and
// until when (Vietnam time), after too many wrong passwords.
func msgLoginThrottled(wait time.Duration, at time.Time) string {
	var after string
	if wait < time.Minute {
		after = strconv.Itoa(int((wait+time.Second-1)/time.Second)) + " giây"
	} else {
		after = strconv.Itoa(int((wait+time.Minute-1)/time.Minute)) + " phút"
	}
	return "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau " + after +
		" (lúc " + at.In(envelope.VietnamTime()).Format("15:04:05") + "); lần đăng nhập này chưa được kiểm tra."
}

// chip is how one delivery's state shows: a short label, a CSS class for
// its colour, and the full name as a title.
type chip struct {
	Label string
	Class string
	Title string
	// Reason is what the recipient said with a refusal, or the sender
	// with a recall request.
	Reason string
}

// chipOf returns the chip of a delivery. A delivery still in the outbox
// shows as waiting to be sent, apart from one the axis took.
func chipOf(d gateway.Delivery) chip {
	s := d.Lifecycle.State
	if s == envelope.StateSent && d.Transport == gateway.Queued {
		return chip{Label: "Chờ gửi", Class: "chip-queued", Title: "Đang chờ chuyển lên trục liên thông"}
	}
	c := chip{Title: s.Name()}
	switch s {
	case envelope.StateSent:
		c.Label, c.Class = "Đã gửi", "chip-sent"
	case envelope.StateArrived:
		c.Label, c.Class = "Đã đến", "chip-arrived"
	case envelope.StateAccepted:
		c.Label, c.Class = "Đã tiếp nhận", "chip-accepted"
	case envelope.StateAssigned:
		c.Label, c.Class = "Đã phân công", "chip-assigned"
	case envelope.StateProcessing:
		c.Label, c.Class = "Đang xử lý", "chip-processing"
	case envelope.StateDone:
		c.Label, c.Class = "Hoàn thành", "chip-done"
	case envelope.StateRejected:
		c.Label, c.Class = "Từ chối", "chip-rejected"
		c.Reason = "Từ chối tiếp nhận"
		if d.Note != "" {
			c.Reason += ", lý do: " + d.Note
		}
	case envelope.StateRecallRequested:
		c.Label, c.Class = "Yêu cầu lấy lại", "chip-recall"
		if d.Note != "" {
			c.Reason = "Lý do lấy lại: " + d.Note
		}
	case envelope.StateRecalled:
		c.Label, c.Class = "Đã lấy lại", "chip-recalled"
	default:
		c.Label, c.Class = s.Name(), "chip-sent"
	}
	return c
}

// states are the lifecycle states in the order the filter lists them.
var states = []envelope.State{
	envelope.StateSent, envelope.StateArrived, envelope.StateAccepted, envelope.StateAssigned,
	envelope.StateProcessing, envelope.StateDone, envelope.StateRejected,
	envelope.StateRecallRequested, envelope.StateRecalled,
}

// priorityLabel names a priority (0 Thường … 4 Hỏa tốc hẹn giờ).
func priorityLabel(p int) string {
	pr := envelope.Priority(strconv.Itoa(p))
	if !pr.Valid() {
		return "Độ khẩn " + strconv.Itoa(p)
	}
	return pr.Label()
}

// outcomeWords says a signature verdict's outcome in plain words.
func outcomeWords(outcome string) string { return signing.Outcome(outcome).Label() }

// action is a status a clerk may send from the page.
type action struct {
	Code envelope.StatusCode
	// Label is the button's text.
	Label string
	// Reason: the status takes a reason or comment; Required: it must
	// have one (02, 13).
	Reason   bool
	Required bool
	// Danger marks the actions that end or undo the exchange.
	Danger bool
}

// recipientActions are the statuses a recipient's clerk may send, in the
// order the page shows them.
var recipientActions = []action{
	{Code: envelope.StatusAccepted, Label: "Tiếp nhận"},
	{Code: envelope.StatusAssigned, Label: "Phân công xử lý"},
	{Code: envelope.StatusProcessing, Label: "Đang xử lý"},
	{Code: envelope.StatusDone, Label: "Hoàn thành"},
	{Code: envelope.StatusRecallAccepted, Label: "Đồng ý lấy lại"},
	{Code: envelope.StatusRecallRefused, Label: "Từ chối lấy lại", Reason: true},
	{Code: envelope.StatusRejected, Label: "Từ chối tiếp nhận", Reason: true, Required: true, Danger: true},
}

// senderActions are the statuses a sender's clerk may send.
var senderActions = []action{
	{Code: envelope.StatusRecallRequested, Label: "Yêu cầu lấy lại", Reason: true, Required: true, Danger: true},
}

// agencyName names an agency: a hosted one or one of the directory, or
// its code.
func (h *Handler) agencyName(code string) string {
	if a, ok := h.gw.Hosted(code); ok {
		return a.Name
	}
	if a, ok := h.gw.Agency(code); ok && a.Name != "" {
		return a.Name
	}
	return code
}

// agencyLabel names an agency by the directory (or as hosted) when it
// knows the code, else by the name the packet gave, else by its code: the
// directory is what agencies registered, a packet's name is what a sender
// typed.
func (h *Handler) agencyLabel(code, packetName string) string {
	if name := h.agencyName(code); name != code {
		return name
	}
	if packetName != "" {
		return packetName
	}
	return code
}

// eventWords says what an event records, in a sentence.
func (h *Handler) eventWords(e gateway.Event) string {
	to := h.agencyName(e.Recipient)
	switch e.Kind {
	case gateway.EventQueued:
		return "Đưa vào hàng đợi gửi tới " + to
	case gateway.EventSent:
		return "Đã chuyển lên trục liên thông tới " + to
	case gateway.EventReceived:
		return "Đã nhận văn bản"
	case gateway.EventStatus:
		return h.agencyName(e.By) + ": " + e.StatusCode.Name()
	case gateway.EventStatusRefused:
		return h.agencyName(e.By) + " báo " + strings.ToLower(e.StatusCode.Name()) + ", nhưng trạng thái này không áp dụng được"
	case gateway.EventRevoked:
		return "Văn bản bị thu hồi"
	case gateway.EventUpdated:
		return "Văn bản được cập nhật bằng văn bản khác"
	case gateway.EventReplaced:
		return "Văn bản được thay thế bằng văn bản khác"
	}
	return string(e.Kind)
}

// signerName says who signed, from a certificate subject as
// pkix.Name.String writes it ("SERIALNUMBER=…,CN=Văn phòng Chính
// phủ,O=…"): the common name, with the organisation when there is one;
// the subject as it is when it has no common name.
func signerName(subject string) string {
	var cn, org, code string
	for _, attr := range splitDN(subject) {
		k, v, ok := strings.Cut(attr, "=")
		if !ok {
			continue
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "CN":
			cn = v
		case "O":
			org = v
		case "SERIALNUMBER", "UID", "0.9.2342.19200300.100.1.1":
			if c, err := envelope.ParseAgencyCode(v, envelope.CodeLenient); err == nil {
				code = c.String()
			}
		}
	}
	// The agency code the certificate names says more than its
	// organisation (the development CA writes "lienthong" there).
	switch {
	case cn == "":
		return subject
	case code != "":
		return cn + " (" + code + ")"
	case org != "" && org != cn && org != signing.Organization:
		return cn + " (" + org + ")"
	}
	return cn
}

// splitDN splits a distinguished name at the commas that are not escaped,
// and unescapes the parts.
func splitDN(dn string) []string {
	var (
		parts []string
		cur   strings.Builder
	)
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c == '\\' && i+1 < len(dn):
			i++
			cur.WriteByte(dn[i])
		case c == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

// tier is an agency's place on the axis, as Danh bạ shows it.
type tier struct {
	Level int
	Label string
}

// kindLabel names what an agency is, by the kind its directory entry
// gives (the administrator's words, gateway.Agency.Kind); "" for no kind
// or one the page does not know.
func kindLabel(kind string) string {
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "ministry":
		return "Bộ, ngành trung ương"
	case "province":
		return "Tỉnh, thành phố trực thuộc trung ương"
	case "department":
		return "Sở, ban, ngành"
	case "commune":
		return "Xã, phường, đặc khu"
	case "other":
		return "Cơ quan khác"
	}
	return ""
}

// tierOf names the tier of an agency: by the kind its entry gives, or,
// for an entry without a kind (or with one the page does not know), by
// the level of its code. Since the 2025 reform (districts abolished,
// communes directly under the provinces) a code's level no longer tells
// a commune from a department, so below level 1 the code only says
// where the agency stands, never "UBND cấp huyện" or "cấp xã".
func tierOf(a gateway.Agency) tier {
	c, err := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
	level := 0
	if err == nil {
		level = c.Level()
	}
	if label := kindLabel(a.Kind); label != "" {
		return tier{Level: level, Label: label}
	}
	switch {
	case err != nil || level == 0:
		return tier{Label: "Không xác định"}
	case level == 1:
		// By the letter of the code: G ministries, H provinces, …
		return tier{Level: 1, Label: c.TierName()}
	case level == 2:
		return tier{Level: 2, Label: "Cấp 2: đơn vị trực thuộc bộ, ngành, tỉnh"}
	}
	return tier{Level: level, Label: "Cấp " + strconv.Itoa(level) + ": đơn vị thuộc cấp " + strconv.Itoa(level-1)}
}

// tierOfCode names the tier of the agency with code, by its directory
// entry when there is one.
func (h *Handler) tierOfCode(code string) tier {
	if a, ok := h.gw.Agency(code); ok {
		return tierOf(a)
	}
	return tierOf(gateway.Agency{Code: code})
}

// documentKind names what a BussinessDocType does.
func documentKind(t int) string {
	switch t {
	case 0:
		return "Văn bản mới"
	case 1:
		return "Thu hồi văn bản"
	case 2:
		return "Cập nhật văn bản"
	case 3:
		return "Thay thế văn bản"
	}
	return "Loại nghiệp vụ " + strconv.Itoa(t)
}
