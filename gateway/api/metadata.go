package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Metadata is the "metadata" part of a multipart POST /api/v1/documents:
// the particulars of a document, from which the gateway writes the edXML
// packet. The file parts of the request become its attachments, in order.
//
// The DocumentId is made from From, PromulgationDate, Number and Notation
// (envelope.MakeDocumentID); the TraceHeader names From at the time of the
// request, in Vietnam time. Names of agencies left out are taken from the
// directory. The packet is validated strictly: errors come back as 422
// with the element paths of the packet ("MessageHeader/Subject").
type Metadata struct {
	// From is the sending agency's code; it must be one of the key's.
	From string `json:"from"`
	// To are the recipients: codes, or objects with a code and a name.
	To []Recipient `json:"to"`
	// Number and Notation are the số and ký hiệu: 7816 and "VPCP-TTĐT".
	Number   Text   `json:"number"`
	Notation string `json:"notation"`
	// Subject is the trích yếu; Content the optional summary.
	Subject string `json:"subject"`
	Content string `json:"content,omitempty"`
	// TypeName is the kind of document ("Công văn"); Type (1 legal, 2
	// administrative) and TypeDetail (the row) are derived from it when
	// left out, and TypeName from them.
	TypeName   string `json:"typeName,omitempty"`
	Type       Text   `json:"type,omitempty"`
	TypeDetail Text   `json:"typeDetail,omitempty"`
	// PromulgationPlace and PromulgationDate (yyyy/mm/dd or yyyy-mm-dd).
	PromulgationPlace string `json:"promulgationPlace,omitempty"`
	PromulgationDate  string `json:"promulgationDate"`
	// Priority is the độ khẩn, 0 (Thường, the default) to 4.
	Priority Text `json:"priority,omitempty"`
	// DueDate is the hạn xử lý (yyyy/mm/dd or yyyy-mm-dd).
	DueDate string `json:"dueDate,omitempty"`
	// Paper says a paper copy is sent too.
	Paper bool `json:"paper,omitempty"`
	// Signer is who signed the document.
	Signer Signer `json:"signer"`
	// ToPlaces is the free-text "Nơi nhận".
	ToPlaces []string `json:"toPlaces,omitempty"`
	// BussinessDocType is 0 (new, the default), 1 (revoke), 2 (update) or
	// 3 (replace) the document whose edXML DocumentId is Related, for
	// Reason.
	BussinessDocType Text   `json:"bussinessDocType,omitempty"`
	Related          string `json:"related,omitempty"`
	Reason           string `json:"reason,omitempty"`
	// Staff is the clerk sending it.
	Staff *envelope.StaffInfo `json:"staff,omitempty"`
}

// Recipient is an agency a document goes to. In JSON it is an object
// {"code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An"} or just the code.
type Recipient struct {
	Code string `json:"code"`
	// Name defaults to the directory's.
	Name string `json:"name,omitempty"`
}

// UnmarshalJSON reads a code or an object.
func (r *Recipient) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		*r = Recipient{}
		return json.Unmarshal(t, &r.Code)
	}
	type plain Recipient
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*r = Recipient(p)
	return nil
}

// Signer names who signed a document.
type Signer struct {
	Name     string `json:"name,omitempty"`
	Position string `json:"position,omitempty"`
	// Competence is the signing capacity: "KT. BỘ TRƯỞNG", "TL. …".
	Competence string `json:"competence,omitempty"`
}

// Text is a value that JSON may write as a string or a number: "18" and
// 18 are the same Text. Codes and numbers of edXML are text on the wire.
type Text string

// UnmarshalJSON reads a string or a number.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("must be a string or a number")
	}
	*t = Text(n.String())
	return nil
}

// party is a resolved sender or recipient.
type party struct {
	code string // canonical when known, else as given
	name string
}

// buildPacket writes the edoc described by m: from and to are resolved
// (codes canonical, names filled), files are the attachments. It does not
// validate: envelope.Encode does.
func buildPacket(m *Metadata, from party, to []party, files []envelope.Attachment, now time.Time) *envelope.Packet {
	code := envelope.Code{Number: strings.TrimSpace(string(m.Number)), Notation: strings.TrimSpace(m.Notation)}
	date := envelope.Date(normalizeDate(m.PromulgationDate))
	h := envelope.MessageHeader{
		From:         envelope.Organization{OrganID: from.code, OrganName: from.name},
		Code:         code,
		Promulgation: envelope.PromulgationInfo{Place: strings.TrimSpace(m.PromulgationPlace), Date: date},
		DocumentType: documentType(m),
		Subject:      strings.TrimSpace(m.Subject),
		Content:      strings.TrimSpace(m.Content),
		SignerInfo: envelope.SignerInfo{
			Competence: strings.TrimSpace(m.Signer.Competence),
			Position:   strings.TrimSpace(m.Signer.Position),
			FullName:   strings.TrimSpace(m.Signer.Name),
		},
		DueDate:    envelope.Date(normalizeDate(m.DueDate)),
		ToPlaces:   m.ToPlaces,
		OtherInfo:  envelope.OtherInfo{Priority: envelope.Priority(strings.TrimSpace(string(m.Priority)))},
		DocumentID: envelope.MakeDocumentID(from.code, date, code),
	}
	if h.OtherInfo.Priority == "" {
		h.OtherInfo.Priority = envelope.PriorityNormal
	}
	for _, t := range to {
		h.To = append(h.To, envelope.Organization{OrganID: t.code, OrganName: t.name})
	}
	b := &envelope.Bussiness{
		BussinessDocType:   envelope.BussinessDocType(strings.TrimSpace(string(m.BussinessDocType))),
		DocumentID:         strings.TrimSpace(m.Related),
		BussinessDocReason: strings.TrimSpace(m.Reason),
		Paper:              "0",
	}
	if b.BussinessDocType == "" {
		b.BussinessDocType = envelope.BussinessNew
	}
	if m.Paper {
		b.Paper = "1"
	}
	if m.Staff != nil {
		b.StaffInfo = []envelope.StaffInfo{*m.Staff}
	}
	switch b.BussinessDocType {
	case envelope.BussinessUpdate:
		b.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: "1", DocumentReceiver: "0"}
	case envelope.BussinessReplace:
		ri := envelope.ReplacementInfo{DocumentID: b.DocumentID}
		for _, t := range to {
			ri.OrganIDList = append(ri.OrganIDList, t.code)
		}
		b.Replacements = []envelope.ReplacementInfo{ri}
	}
	e := &envelope.Edoc{
		Header:    h,
		Trace:     []envelope.TraceHeader{{OrganID: from.code, Timestamp: envelope.TimestampOf(now)}},
		Bussiness: b,
	}
	for _, f := range files {
		e.AddAttachment(f)
	}
	return &envelope.Packet{Edoc: e}
}

// documentType fills Type and TypeDetail from TypeName, or TypeName from
// them, when one side is missing.
func documentType(m *Metadata) envelope.DocumentType {
	t := envelope.DocumentType{
		Type:       strings.TrimSpace(string(m.Type)),
		TypeDetail: strings.TrimSpace(string(m.TypeDetail)),
		TypeName:   strings.TrimSpace(m.TypeName),
	}
	switch {
	case t.Type == "" && t.TypeDetail == "" && t.TypeName != "":
		if k, ok := envelope.DocKindByName(t.TypeName); ok {
			t.Type, t.TypeDetail = strconv.Itoa(int(k.Table)), strconv.Itoa(k.Row)
		}
	case t.TypeName == "" && t.Type != "" && t.TypeDetail != "":
		table, err1 := strconv.Atoi(t.Type)
		row, err2 := strconv.Atoi(t.TypeDetail)
		if err1 == nil && err2 == nil {
			if k, ok := envelope.LookupDocKind(envelope.DocTable(table), row); ok {
				t.TypeName = k.Name
			}
		}
	}
	return t
}

// normalizeDate turns yyyy-mm-dd into edXML's yyyy/mm/dd; anything else
// is kept for validation to judge.
func normalizeDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		return s[:4] + "/" + s[5:7] + "/" + s[8:]
	}
	return s
}

// resolveParties checks the sender against the caller's scope and finds
// the recipients in the directory. It leaves codes that cannot be read as
// they are, for validation to report with their paths.
func (h *handler) resolveParties(m *Metadata, caller *principal) (party, []party, *Error) {
	from := party{code: strings.TrimSpace(m.From)}
	if c, err := envelope.ParseAgencyCode(from.code, envelope.CodeAny); err == nil {
		// The key's scope names agencies by their codes now; a DMS may
		// still write a former one, which Hosted resolves.
		hosted, ok := h.gw.Hosted(from.code)
		if !ok || !caller.allows(hosted.Code.String()) {
			return party{}, nil, forbiddenAgency("from", c.String())
		}
		from = party{code: hosted.Code.String(), name: hosted.Name}
		if from.name == "" {
			if a, ok := h.gw.Agency(from.code); ok {
				from.name = a.Name
			}
		}
	}
	var to []party
	var unknown []FieldError
	for i, r := range m.To {
		p := party{code: strings.TrimSpace(r.Code), name: strings.TrimSpace(r.Name)}
		if _, err := envelope.ParseAgencyCode(p.code, envelope.CodeAny); err == nil {
			a, ok := h.gw.Agency(p.code)
			if !ok {
				unknown = append(unknown, unknownRecipientField(fmt.Sprintf("MessageHeader/To[%d]/OrganId", i+1), p.code))
			} else {
				p.code = a.Code
				if p.name == "" {
					p.name = a.Name
				}
			}
		}
		to = append(to, p)
	}
	if len(unknown) > 0 {
		return party{}, nil, unknownRecipients(unknown)
	}
	return from, to, nil
}

// decodeJSON reads one JSON value strictly: unknown members are errors,
// and so is anything after the value. what names the body in messages.
func decodeJSON(r io.Reader, v any, what string) *Error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge()
	}
	path := what
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		path = te.Field
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		path = strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	}
	return newError(http.StatusBadRequest, CodeMalformed,
		what+" không phải JSON hợp lệ", what+" is not valid JSON: "+err.Error(),
		fieldError(path, "bad_format", "Giá trị không đọc được: "+err.Error(), "cannot read the value: "+err.Error()))
}
