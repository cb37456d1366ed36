package envelope

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Profile is a set of validation rules.
type Profile struct {
	// Name is "send" or "receive".
	Name string
	// Strict applies every rule of the regulation: lengths, formats, code
	// lists, the DocumentId rule. Without it only what a receiver needs to
	// route, store and answer a packet is required.
	Strict bool
	// Codes is how strictly agency codes are judged.
	Codes CodeMode
}

// The two profiles: functions, not variables, so that no package can
// change them for every other. Copy one and change Codes to make agency
// code checks stricter or laxer.

// ProfileSend is for what lienthong sends: every rule, official agency code
// forms only.
func ProfileSend() Profile { return Profile{Name: "send", Strict: true, Codes: CodeStrict} }

// ProfileReceive is for what lienthong receives: a packet is taken if it can
// be routed, stored and answered; agency codes need only be usable as
// routing tokens.
func ProfileReceive() Profile { return Profile{Name: "receive", Strict: false, Codes: CodeAny} }

// ValidationError is one problem with one field.
type ValidationError struct {
	// Path is the field, as the element path inside the packet:
	// "MessageHeader/To[2]/OrganId". Repeated elements count from 1.
	Path string `json:"path"`
	// Code is a stable identifier of the kind of problem: "required",
	// "too_long", "bad_format", "bad_code", "bad_agency_code",
	// "duplicate_recipient", "document_id", "inconsistent".
	Code      string `json:"code"`
	MessageVI string `json:"messageVi"`
	MessageEN string `json:"messageEn"`
	err       error
}

func (e *ValidationError) Error() string { return e.Path + ": " + e.MessageEN }

// NewValidationError is a problem found outside [Validate] (the gateway,
// which knows the directory, finds two recipients that are one agency):
// kind is one of the package's sentinels, such as
// [ErrDuplicateRecipient].
func NewValidationError(path string, kind error, vi, en string) *ValidationError {
	return &ValidationError{Path: path, Code: codeOf[kind], MessageVI: vi, MessageEN: en, err: kind}
}

// Unwrap returns the sentinel of the error's kind, such as [ErrRequired].
func (e *ValidationError) Unwrap() error { return e.err }

// ValidationErrors is every problem [Validate] found.
type ValidationErrors []*ValidationError

func (es ValidationErrors) Error() string {
	var b strings.Builder
	b.WriteString("envelope: invalid packet: ")
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, so that errors.Is finds a kind among them.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

var codeOf = map[error]string{
	ErrRequired:           "required",
	ErrTooLong:            "too_long",
	ErrBadFormat:          "bad_format",
	ErrBadCode:            "bad_code",
	ErrBadAgencyCode:      "bad_agency_code",
	ErrDuplicateRecipient: "duplicate_recipient",
	ErrDocumentID:         "document_id",
	ErrInconsistent:       "inconsistent",
}

// Limits of the regulation, in characters.
const (
	maxOrganName            = 200
	maxOrganAdd             = 500
	maxOrganizationInCharge = 500
	maxEmail                = 100
	maxTelephone            = 20
	maxFax                  = 20
	maxCodeNumber           = 11
	maxCodeNotation         = 30
	maxPlace                = 50
	maxTypeName             = 100
	maxSubject              = 500
	maxContent              = 500
	maxToPlace              = 150
	maxSphere               = 100
	maxTyperNotation        = 10
)

// Validate checks p under a profile and returns nil or a
// [ValidationErrors] naming every problem found, grouped by the part of the
// packet it concerns. A value of only white space counts as missing.
// What the profile tolerates is not reported: [ValidateWithWarnings] gives
// it too.
func Validate(p *Packet, prof Profile) error {
	_, err := ValidateWithWarnings(p, prof)
	return err
}

// ValidateWithWarnings is [Validate] that also returns what the profile
// tolerated but a reader should know of. The receive profile tolerates,
// as packets real systems produce carry them: a TraceHeader whose OrganId
// is missing, the text "null" or not an agency code (hubs add trace
// headers with only a Timestamp; the trace routes nothing), and one agency
// listed twice in To, under both forms of its code ("G12" and
// "000.00.00.G12"), which is one recipient. The send profile refuses them
// as errors, and its warnings are always empty. Warnings are reported
// whether or not there are errors.
func ValidateWithWarnings(p *Packet, prof Profile) ([]Warning, error) {
	c := &checker{prof: prof}
	switch {
	case p == nil || (p.Edoc == nil && p.Status == nil):
		c.add("edXMLHeader/MessageHeader", ErrRequired, "Gói tin không có nội dung văn bản hay trạng thái",
			"the packet is neither an edoc nor a status")
	case p.Edoc != nil && p.Status != nil:
		c.add("edXMLHeader/MessageHeader", ErrInconsistent, "Gói tin vừa là văn bản vừa là trạng thái",
			"the packet is both an edoc and a status")
	case p.Edoc != nil:
		c.edoc(p.Edoc)
	default:
		c.status(p.Status)
	}
	if len(c.errs) == 0 {
		return c.warns, nil
	}
	return c.warns, c.errs
}

type checker struct {
	prof  Profile
	errs  ValidationErrors
	warns []Warning
}

// warn records something the profile tolerates. code is a stable
// identifier, as for [ValidationError].
func (c *checker) warn(path, code, vi, en string) {
	c.warns = append(c.warns, Warning{Path: path, Code: code, MessageVI: vi, MessageEN: en})
}

func (c *checker) add(path string, kind error, vi, en string) {
	c.errs = append(c.errs, &ValidationError{Path: path, Code: codeOf[kind], MessageVI: vi, MessageEN: en, err: kind})
}

// field returns the last element name of a path, for messages.
func field(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// text checks a text value: required when asked, at most max characters
// when strict (max 0: no limit), and only characters XML can carry. It
// reports whether the value is present and usable.
func (c *checker) text(path, v string, required bool, max int) bool {
	if strings.TrimSpace(v) == "" {
		if required {
			c.add(path, ErrRequired, "Thiếu "+field(path)+" (bắt buộc)", field(path)+" is required")
		}
		return false
	}
	if !xmlText(v) {
		c.add(path, ErrBadFormat, field(path)+" chứa ký tự không hợp lệ trong XML",
			field(path)+" holds a character XML cannot carry")
		return false
	}
	if c.prof.Strict && max > 0 {
		if n := utf8.RuneCountInString(v); n > max {
			c.add(path, ErrTooLong,
				fmt.Sprintf("%s dài %d ký tự, tối đa %d ký tự", field(path), n, max),
				fmt.Sprintf("%s is %d characters long; at most %d are allowed", field(path), n, max))
		}
	}
	return true
}

// xmlText reports whether s is valid UTF-8 holding only characters XML 1.0
// allows.
func xmlText(s string) bool {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !validXMLRune(r, size) {
			return false
		}
		i += size
	}
	return true
}

func (c *checker) agency(path, v string, required bool) {
	if !c.text(path, v, required, 0) {
		return
	}
	if _, err := ParseAgencyCode(v, c.prof.Codes); err != nil {
		c.add(path, ErrBadAgencyCode,
			fmt.Sprintf("Mã định danh %q không hợp lệ (%s)", v, c.prof.Codes),
			fmt.Sprintf("agency code %q is not valid (%s): %v", v, c.prof.Codes, err))
	}
}

// date checks a date. On receive only its presence counts: a date written
// otherwise is shown as it came, not a reason to refuse a document.
func (c *checker) date(path string, d Date, required bool) {
	if !c.text(path, string(d), required, 0) || !c.prof.Strict {
		return
	}
	if !d.Valid() {
		c.add(path, ErrBadFormat,
			fmt.Sprintf("%s phải là một ngày có thật, viết theo dạng yyyy/MM/dd; nhận được %q", field(path), d),
			fmt.Sprintf("%s must be a real date written yyyy/MM/dd; got %q", field(path), d))
	}
}

func (c *checker) timestamp(path string, ts Timestamp, required bool) {
	if !c.text(path, string(ts), required, 0) {
		return
	}
	if !ts.Valid() {
		c.add(path, ErrBadFormat,
			fmt.Sprintf("%s phải viết theo dạng yyyy/MM/dd HH:mm:ss (giờ Việt Nam); nhận được %q", field(path), ts),
			fmt.Sprintf("%s must be written yyyy/MM/dd HH:mm:ss (UTC+7); got %q", field(path), ts))
	}
}

func (c *checker) number(path, v string) {
	if c.text(path, v, false, 0) && !digits(v) {
		c.add(path, ErrBadFormat,
			fmt.Sprintf("%s phải là số; nhận được %q", field(path), v),
			fmt.Sprintf("%s must be a number; got %q", field(path), v))
	}
}

// code checks a value against its code list.
func (c *checker) code(path, v string, required bool, valid bool, list string) {
	if c.text(path, v, required, 0) && !valid {
		c.add(path, ErrBadCode,
			fmt.Sprintf("%s %q không thuộc danh mục (%s)", field(path), v, list),
			fmt.Sprintf("%s %q is not one of the codes %s", field(path), v, list))
	}
}

func (c *checker) email(path, v string, max int) {
	if !c.text(path, v, false, max) || !c.prof.Strict {
		return
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(v, " \t\r\n") || strings.Count(v, "@") != 1 {
		c.add(path, ErrBadFormat,
			fmt.Sprintf("%s %q không phải địa chỉ thư điện tử", field(path), v),
			fmt.Sprintf("%s %q is not an e-mail address", field(path), v))
	}
}

func (c *checker) organization(path string, o Organization) {
	strict := c.prof.Strict
	c.agency(path+"/OrganId", o.OrganID, true)
	c.text(path+"/OrganizationInCharge", o.OrganizationInCharge, false, maxOrganizationInCharge)
	c.text(path+"/OrganName", o.OrganName, strict, maxOrganName)
	c.text(path+"/OrganAdd", o.OrganAdd, false, maxOrganAdd)
	c.email(path+"/Email", o.Email, maxEmail)
	c.text(path+"/Telephone", o.Telephone, false, maxTelephone)
	c.text(path+"/Fax", o.Fax, false, maxFax)
	c.text(path+"/Website", o.Website, false, 0)
}

func (c *checker) staffInfo(path string, s StaffInfo) {
	c.text(path+"/Department", s.Department, false, 0)
	c.text(path+"/Staff", s.Staff, false, 0)
	c.text(path+"/Mobile", s.Mobile, false, maxTelephone)
	c.email(path+"/Email", s.Email, maxEmail)
}

func (c *checker) responseFor(path string, rf ResponseFor) {
	c.agency(path+"/OrganId", rf.OrganID, true)
	c.text(path+"/Code", rf.Code, false, maxCodeNumber+1+maxCodeNotation)
	c.date(path+"/PromulgationDate", rf.PromulgationDate, false)
	c.text(path+"/DocumentId", rf.DocumentID, true, 0)
}

func (c *checker) edoc(e *Edoc) {
	const mh = "MessageHeader"
	h := &e.Header
	strict := c.prof.Strict
	c.organization(mh+"/From", h.From)
	if len(h.To) == 0 {
		c.add(mh+"/To", ErrRequired, "Văn bản phải có ít nhất một nơi nhận (To)",
			"the edoc needs at least one recipient (To)")
	}
	seen := make(map[string]int, len(h.To))
	for i, to := range h.To {
		p := indexed(mh+"/To", i+1)
		c.organization(p, to)
		key := to.OrganID
		if code, err := ParseAgencyCode(to.OrganID, CodeAny); err == nil {
			key = code.Tokens()
		}
		first, dup := seen[key]
		switch {
		case !dup || to.OrganID == "":
			seen[key] = i + 1
		case strict:
			c.add(p+"/OrganId", ErrDuplicateRecipient,
				fmt.Sprintf("Nơi nhận %q trùng với To[%d]", to.OrganID, first),
				fmt.Sprintf("recipient %q repeats To[%d]", to.OrganID, first))
		default:
			// Routing goes by the code's tokens: both forms reach the
			// same agency, once.
			c.warn(p+"/OrganId", "duplicate-recipient",
				fmt.Sprintf("Nơi nhận %q là cùng cơ quan với To[%d] (%q); coi là một nơi nhận", to.OrganID, first, h.To[first-1].OrganID),
				fmt.Sprintf("recipient %q is the agency of To[%d] (%q); taken as one recipient", to.OrganID, first, h.To[first-1].OrganID))
		}
	}
	if c.text(mh+"/Code/CodeNumber", h.Code.Number, strict, maxCodeNumber) && strict && strings.ContainsAny(h.Code.Number, "/,") {
		c.add(mh+"/Code/CodeNumber", ErrBadFormat,
			fmt.Sprintf("CodeNumber %q không được chứa dấu \"/\" hay \",\"", h.Code.Number),
			fmt.Sprintf("CodeNumber %q must not hold \"/\" or \",\": they separate the parts of a DocumentId", h.Code.Number))
	}
	if c.text(mh+"/Code/CodeNotation", h.Code.Notation, strict, maxCodeNotation) && strict && strings.Contains(h.Code.Notation, ",") {
		c.add(mh+"/Code/CodeNotation", ErrBadFormat,
			fmt.Sprintf("CodeNotation %q không được chứa dấu \",\"", h.Code.Notation),
			fmt.Sprintf("CodeNotation %q must not hold \",\": it separates the parts of a DocumentId", h.Code.Notation))
	}
	c.text(mh+"/PromulgationInfo/Place", h.Promulgation.Place, false, maxPlace)
	c.date(mh+"/PromulgationInfo/PromulgationDate", h.Promulgation.Date, strict)
	c.documentType(mh+"/DocumentType", h.DocumentType)
	c.text(mh+"/Subject", h.Subject, strict, maxSubject)
	c.text(mh+"/Content", h.Content, false, maxContent)
	c.text(mh+"/SignerInfo/Competence", h.SignerInfo.Competence, false, 0)
	c.text(mh+"/SignerInfo/Position", h.SignerInfo.Position, false, 0)
	c.text(mh+"/SignerInfo/FullName", h.SignerInfo.FullName, false, 0)
	c.date(mh+"/DueDate", h.DueDate, false)
	for i, p := range h.ToPlaces {
		c.text(indexed(mh+"/ToPlaces/Place", i+1), p, strict, maxToPlace)
	}
	o := h.OtherInfo
	if strict {
		c.code(mh+"/OtherInfo/Priority", string(o.Priority), false, o.Priority.Valid(), "0–4")
	}
	c.text(mh+"/OtherInfo/SphereOfPromulgation", o.SphereOfPromulgation, false, maxSphere)
	c.text(mh+"/OtherInfo/TyperNotation", o.TyperNotation, false, maxTyperNotation)
	if strict {
		c.number(mh+"/OtherInfo/PromulgationAmount", o.PromulgationAmount)
		c.number(mh+"/OtherInfo/PageAmount", o.PageAmount)
	}
	for i, a := range o.Appendixes {
		c.text(indexed(mh+"/OtherInfo/Appendixes/Appendix", i+1), a, false, 0)
	}
	if strict {
		c.code(mh+"/OtherInfo/Direction", o.Direction, false, o.Direction == "true" || o.Direction == "false", "true, false")
	} else {
		c.text(mh+"/OtherInfo/Direction", o.Direction, false, 0)
	}
	for i, rf := range h.ResponseFor {
		c.responseFor(indexed(mh+"/ResponseFor", i+1), rf)
	}
	if strict {
		c.code(mh+"/SteeringType", string(h.SteeringType), false, h.SteeringType.Valid(), "0, 1, 2")
	}
	c.documentID(mh+"/DocumentId", h)
	for i, t := range e.Trace {
		p := indexed("TraceHeaderList/TraceHeader", i+1)
		if !strict {
			c.traceOrgan(p+"/OrganId", t.OrganID)
			continue
		}
		c.agency(p+"/OrganId", t.OrganID, true)
		c.timestamp(p+"/Timestamp", t.Timestamp, true)
	}
	c.bussiness(e.Bussiness)
	c.attachments(e)
}

// traceOrgan judges a TraceHeader's OrganId on receive, where the trace
// is history kept as it came, not routing: what is wrong with it is a
// warning.
func (c *checker) traceOrgan(path, v string) {
	switch t := strings.TrimSpace(v); {
	case t == "":
		c.warn(path, "trace-organ-missing", "TraceHeader không có OrganId (thường do trục trung gian thêm vào); giữ nguyên",
			"the TraceHeader has no OrganId (hubs add such headers in transit); kept as it is")
	case strings.EqualFold(t, "null"):
		c.warn(path, "trace-organ-null", "OrganId của TraceHeader là chữ \"null\", không phải mã định danh; giữ nguyên",
			"the TraceHeader's OrganId is the text \"null\", not an agency code; kept as it is")
	default:
		if _, err := ParseAgencyCode(v, c.prof.Codes); err != nil || !xmlText(v) {
			c.warn(path, "trace-organ-bad",
				fmt.Sprintf("OrganId %q của TraceHeader không phải mã định danh hợp lệ; giữ nguyên", v),
				fmt.Sprintf("the TraceHeader's OrganId %q is not a valid agency code; kept as it is", v))
		}
	}
}

func (c *checker) documentType(path string, t DocumentType) {
	c.text(path+"/TypeName", t.TypeName, false, maxTypeName)
	if !c.text(path+"/Type", t.Type, c.prof.Strict, 0) || !c.prof.Strict {
		c.text(path+"/TypeDetail", t.TypeDetail, false, 0)
		return
	}
	table, err := atoi(t.Type)
	if err != nil || (table != int(DocTableLegal) && table != int(DocTableAdmin)) {
		c.add(path+"/Type", ErrBadCode,
			fmt.Sprintf("Type phải là 1 (văn bản quy phạm pháp luật) hoặc 2 (văn bản hành chính); nhận được %q", t.Type),
			fmt.Sprintf("Type must be 1 (legal documents) or 2 (administrative documents); got %q", t.Type))
		return
	}
	if t.TypeDetail == "" {
		return
	}
	row, err := atoi(t.TypeDetail)
	if _, ok := LookupDocKind(DocTable(table), row); err != nil || !ok {
		c.add(path+"/TypeDetail", ErrBadCode,
			fmt.Sprintf("TypeDetail %q không phải một loại văn bản của bảng %s", t.TypeDetail, DocTable(table).Label()),
			fmt.Sprintf("TypeDetail %q is not a row of table %d", t.TypeDetail, table))
	}
}

// documentID checks the DocumentId rule: <From OrganId>,<yyyy/MM/dd>,
// <CodeNumber>/<CodeNotation>, with the date the promulgation date.
func (c *checker) documentID(path string, h *MessageHeader) {
	if !c.text(path, h.DocumentID, true, 0) || !c.prof.Strict {
		return
	}
	want := MakeDocumentID(h.From.OrganID, h.Promulgation.Date, h.Code)
	if h.DocumentID != want {
		c.add(path, ErrDocumentID,
			fmt.Sprintf("DocumentId phải là %q (mã định danh nơi gửi, ngày ban hành, số/ký hiệu); nhận được %q", want, h.DocumentID),
			fmt.Sprintf("DocumentId must be %q (sender code, promulgation date, number/notation); got %q", want, h.DocumentID))
	}
}

func (c *checker) bussiness(b *Bussiness) {
	const path = "TraceHeaderList/Bussiness"
	strict := c.prof.Strict
	if b == nil {
		if strict {
			c.add(path, ErrRequired, "Thiếu Bussiness (loại nghiệp vụ của văn bản)",
				"Bussiness (what the packet does to the document) is required")
		}
		return
	}
	if strict {
		c.code(path+"/BussinessDocType", string(b.BussinessDocType), true, b.BussinessDocType.Valid(), "0–3")
		c.code(path+"/Paper", b.Paper, false, b.Paper == "0" || b.Paper == "1", "0, 1")
	}
	c.text(path+"/DocumentId", b.DocumentID, strict && (b.BussinessDocType == BussinessRevoke || b.BussinessDocType == BussinessUpdate), 0)
	c.text(path+"/BussinessDocReason", b.BussinessDocReason, false, 0)
	for i, s := range b.StaffInfo {
		c.staffInfo(indexed(path+"/StaffInfo", i+1), s)
	}
	if di := b.DocumentInfo; di != nil {
		p := path + "/BussinessDocumentInfo"
		if strict {
			c.code(p+"/DocumentInfo", di.DocumentInfo, true, di.DocumentInfo == "0" || di.DocumentInfo == "1", "0, 1")
			c.code(p+"/DocumentReceiver", di.DocumentReceiver, true, di.DocumentReceiver == "0" || di.DocumentReceiver == "1", "0, 1")
		}
		for i, r := range di.ReceiverList {
			rp := indexed(p+"/ReceiverList/Receiver", i+1)
			c.agency(rp+"/OrganId", r.OrganID, true)
			c.text(rp+"/ReceiverType", r.ReceiverType, false, 0)
		}
	}
	for i, ri := range b.Replacements {
		p := indexed(path+"/ReplacementInfoList/ReplacementInfo", i+1)
		c.text(p+"/DocumentId", ri.DocumentID, true, 0)
		for j, id := range ri.OrganIDList {
			c.agency(indexed(p+"/OrganIdList/OrganId", j+1), id, true)
		}
	}
	if !strict {
		return
	}
	switch b.BussinessDocType {
	case BussinessUpdate:
		if b.DocumentInfo == nil {
			c.add(path+"/BussinessDocumentInfo", ErrRequired,
				"Văn bản cập nhật (BussinessDocType 2) phải có BussinessDocumentInfo",
				"an update (BussinessDocType 2) needs BussinessDocumentInfo")
		}
	case BussinessReplace:
		if len(b.Replacements) == 0 {
			c.add(path+"/ReplacementInfoList", ErrRequired,
				"Văn bản thay thế (BussinessDocType 3) phải có ReplacementInfoList",
				"a replacement (BussinessDocType 3) needs ReplacementInfoList")
		}
	}
	if b.DocumentInfo != nil && b.BussinessDocType != BussinessUpdate {
		c.add(path+"/BussinessDocumentInfo", ErrInconsistent,
			"BussinessDocumentInfo chỉ dùng cho văn bản cập nhật (BussinessDocType 2)",
			"BussinessDocumentInfo belongs to updates (BussinessDocType 2) only")
	}
	if len(b.Replacements) > 0 && b.BussinessDocType != BussinessReplace {
		c.add(path+"/ReplacementInfoList", ErrInconsistent,
			"ReplacementInfoList chỉ dùng cho văn bản thay thế (BussinessDocType 3)",
			"ReplacementInfoList belongs to replacements (BussinessDocType 3) only")
	}
}

func (c *checker) attachments(e *Edoc) {
	strict := c.prof.Strict
	ids := make(map[string]int, len(e.Attachments))
	for i, a := range e.Attachments {
		p := indexed("AttachmentEncoded/Attachment", i+1)
		c.text(p+"/ContentId", a.ContentID, strict, 0)
		c.text(p+"/AttachmentName", a.Name, strict, 0)
		c.text(p+"/Description", a.Description, false, 0)
		c.text(p+"/ContentType", a.ContentType, false, 0)
		if a.DecodeError != "" {
			c.add(p+"/ContentTransferEncoded", ErrBadFormat,
				"Nội dung tệp đính kèm không phải base64 hợp lệ",
				a.DecodeError)
		}
		if a.ContentID == "" {
			continue
		}
		id := trimCID(a.ContentID)
		if first, dup := ids[id]; dup {
			c.add(p+"/ContentId", ErrInconsistent,
				fmt.Sprintf("ContentId %q trùng với Attachment[%d]", a.ContentID, first),
				fmt.Sprintf("ContentId %q repeats Attachment[%d]", a.ContentID, first))
		} else {
			ids[id] = i + 1
		}
	}
	referenced := make(map[string]int, len(e.Manifest))
	for i, r := range e.Manifest {
		p := indexed("edXMLBody/edXMLManifest/Reference", i+1)
		c.text(p+"/ContentType", r.ContentType, false, 0)
		c.text(p+"/Description", r.Description, false, 0)
		c.text(p+"/AttachmentName", r.AttachmentName, false, 0)
		if !c.text(p+"/ContentId", r.ContentID, strict, 0) || !strict {
			continue
		}
		id := trimCID(r.ContentID)
		if first, dup := referenced[id]; dup {
			c.add(p+"/ContentId", ErrInconsistent,
				fmt.Sprintf("ContentId %q trùng với Reference[%d]", r.ContentID, first),
				fmt.Sprintf("ContentId %q repeats Reference[%d]", r.ContentID, first))
			continue
		}
		referenced[id] = i + 1
		if _, ok := ids[id]; !ok {
			c.add(p+"/ContentId", ErrInconsistent,
				fmt.Sprintf("Không có tệp đính kèm nào có ContentId %q", r.ContentID),
				fmt.Sprintf("no attachment has ContentId %q", r.ContentID))
		}
	}
	if !strict {
		return
	}
	for i, a := range e.Attachments {
		if _, ok := referenced[trimCID(a.ContentID)]; a.ContentID != "" && !ok {
			c.add(indexed("AttachmentEncoded/Attachment", i+1)+"/ContentId", ErrInconsistent,
				fmt.Sprintf("Tệp đính kèm %q không có trong danh mục (edXMLManifest)", a.Name),
				fmt.Sprintf("attachment %q is not listed in the manifest", a.Name))
		}
	}
}

func (c *checker) status(s *Status) {
	const mh = "MessageHeader"
	strict := c.prof.Strict
	c.organization(mh+"/From", s.From)
	c.responseFor(mh+"/ResponseFor", s.ResponseFor)
	c.staffInfo(mh+"/StaffInfo", s.StaffInfo)
	c.code(mh+"/StatusCode", string(s.StatusCode), true, s.StatusCode.Valid(), "01–06, 13, 15, 16")
	needReason := strict && (s.StatusCode == StatusRejected || s.StatusCode == StatusRecallRequested)
	c.text(mh+"/Description", s.Description, needReason, 0)
	if strict {
		c.timestamp(mh+"/Timestamp", s.Timestamp, true)
	} else {
		c.text(mh+"/Timestamp", string(s.Timestamp), false, 0)
	}
}

// IsValidationError reports whether err holds validation errors, and
// returns them.
func IsValidationError(err error) (ValidationErrors, bool) {
	var es ValidationErrors
	if errors.As(err, &es) {
		return es, true
	}
	return nil, false
}
