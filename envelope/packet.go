package envelope

import "strconv"

// Packet is one edXML packet: exactly one of Edoc and Status is set.
type Packet struct {
	Edoc   *Edoc   `json:"edoc,omitempty"`
	Status *Status `json:"status,omitempty"`

	// Signature describes the Signature element the parser found in the
	// header, nil when there was none. It is for display; verification is
	// the signing package's work, on the packet's bytes. Encode never
	// writes a Signature: signing adds it to the encoded bytes.
	Signature *SignatureInfo `json:"signature,omitempty"`

	// Extras are elements the parser did not know (vendor extensions such
	// as MessageHeader/ReplyFors), kept as they came. Encode does not emit
	// them.
	Extras []Extra `json:"extras,omitempty"`
}

// IsStatus reports whether p is a status packet.
func (p *Packet) IsStatus() bool { return p.Status != nil }

// From returns the agency that emitted the packet.
func (p *Packet) From() Organization {
	switch {
	case p.Edoc != nil:
		return p.Edoc.Header.From
	case p.Status != nil:
		return p.Status.From
	}
	return Organization{}
}

// Edoc is a document packet (văn bản điện tử).
type Edoc struct {
	Header MessageHeader `json:"header"`
	// Trace is TraceHeaderList/TraceHeader: one entry per hop.
	Trace []TraceHeader `json:"trace,omitempty"`
	// Bussiness is TraceHeaderList/Bussiness (spelled as in the
	// regulation): what this packet does to a document. Nil when absent.
	Bussiness *Bussiness `json:"bussiness,omitempty"`
	// Manifest is edXMLBody/edXMLManifest: one Reference per attachment.
	Manifest []Reference `json:"manifest,omitempty"`
	// Attachments are AttachmentEncoded/Attachment, decoded (a large
	// one when its content is read: see [Attachment.Data]).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// AddAttachment appends a to the attachments and a matching Reference to
// the manifest. An empty ContentID becomes "cid:<n>", n counting from 1.
func (e *Edoc) AddAttachment(a Attachment) {
	if a.ContentID == "" {
		a.ContentID = "cid:" + strconv.Itoa(len(e.Attachments)+1)
	}
	e.Attachments = append(e.Attachments, a)
	e.Manifest = append(e.Manifest, Reference{
		ContentID:      a.ContentID,
		ContentType:    a.ContentType,
		Description:    a.Description,
		AttachmentName: a.Name,
	})
}

// MessageHeader is the header of an edoc, children in the regulation's
// order.
type MessageHeader struct {
	From         Organization     `json:"from"`
	To           []Organization   `json:"to"`
	Code         Code             `json:"code"`
	Promulgation PromulgationInfo `json:"promulgationInfo"`
	DocumentType DocumentType     `json:"documentType"`
	// Subject is the trích yếu.
	Subject    string     `json:"subject"`
	Content    string     `json:"content,omitempty"`
	SignerInfo SignerInfo `json:"signerInfo"`
	// DueDate is the hạn xử lý.
	DueDate Date `json:"dueDate,omitempty"`
	// ToPlaces is the free-text "Nơi nhận"; it does not route.
	ToPlaces     []string      `json:"toPlaces,omitempty"`
	OtherInfo    OtherInfo     `json:"otherInfo"`
	ResponseFor  []ResponseFor `json:"responseFor,omitempty"`
	SteeringType SteeringType  `json:"steeringType,omitempty"`
	DocumentID   string        `json:"documentId"`
}

// Organization is a From or To element.
type Organization struct {
	OrganID              string `json:"organId"`
	OrganizationInCharge string `json:"organizationInCharge,omitempty"`
	OrganName            string `json:"organName,omitempty"`
	OrganAdd             string `json:"organAdd,omitempty"`
	Email                string `json:"email,omitempty"`
	Telephone            string `json:"telephone,omitempty"`
	Fax                  string `json:"fax,omitempty"`
	Website              string `json:"website,omitempty"`
}

// Code is the document's số (CodeNumber) and ký hiệu (CodeNotation).
type Code struct {
	Number   string `json:"codeNumber"`
	Notation string `json:"codeNotation"`
}

// String returns "số/ký hiệu", as written inside DocumentIds.
func (c Code) String() string { return c.Number + "/" + c.Notation }

// PromulgationInfo is where and when the document was promulgated.
type PromulgationInfo struct {
	Place string `json:"place,omitempty"`
	Date  Date   `json:"promulgationDate"`
}

// DocumentType is the document's type as the sender filled it. Senders fill
// Type inconsistently; [DocumentType.Kind] resolves it.
type DocumentType struct {
	Type       string `json:"type"`
	TypeDetail string `json:"typeDetail,omitempty"`
	TypeName   string `json:"typeName,omitempty"`
}

// Kind resolves the document's type the way the regulation's users fill
// it: TypeName first; then Type 1|2 naming the table with TypeDetail the
// row; then Type alone as a row of table B (senders who put 18 for Công văn).
func (t DocumentType) Kind() (DocKind, bool) {
	if k, ok := DocKindByName(t.TypeName); ok {
		return k, true
	}
	typ, errT := atoi(t.Type)
	row, errD := atoi(t.TypeDetail)
	if errT == nil && errD == nil && (typ == int(DocTableLegal) || typ == int(DocTableAdmin)) {
		if k, ok := LookupDocKind(DocTable(typ), row); ok {
			return k, true
		}
	}
	if errT == nil && typ > 2 {
		return LookupDocKind(DocTableAdmin, typ)
	}
	return DocKind{}, false
}

// SignerInfo names who signed the document.
type SignerInfo struct {
	// Competence is the signing capacity: "KT. BỘ TRƯỞNG", "TL. …".
	Competence string `json:"competence,omitempty"`
	Position   string `json:"position,omitempty"`
	FullName   string `json:"fullName,omitempty"`
}

// OtherInfo holds the document's remaining particulars.
type OtherInfo struct {
	Priority             Priority `json:"priority,omitempty"`
	SphereOfPromulgation string   `json:"sphereOfPromulgation,omitempty"`
	TyperNotation        string   `json:"typerNotation,omitempty"`
	PromulgationAmount   string   `json:"promulgationAmount,omitempty"`
	PageAmount           string   `json:"pageAmount,omitempty"`
	Appendixes           []string `json:"appendixes,omitempty"`
	// Direction is OtherInfo/Direction, a boolean of the national axis's
	// reference library ("true" or "false"), kept as written so that
	// encoding gives it back unchanged. Empty when absent.
	Direction string `json:"direction,omitempty"`
}

func (o OtherInfo) isZero() bool {
	return o.Priority == "" && o.SphereOfPromulgation == "" && o.TyperNotation == "" &&
		o.PromulgationAmount == "" && o.PageAmount == "" && len(o.Appendixes) == 0 && o.Direction == ""
}

// ResponseFor names the document this one answers (in an edoc) or the
// document a status is about (in a status packet).
type ResponseFor struct {
	OrganID string `json:"organId"`
	// Code is "số/ký hiệu".
	Code             string `json:"code,omitempty"`
	PromulgationDate Date   `json:"promulgationDate,omitempty"`
	DocumentID       string `json:"documentId"`
}

func (r ResponseFor) isZero() bool { return r == ResponseFor{} }

// TraceHeader is one hop of an edoc's path.
type TraceHeader struct {
	OrganID   string    `json:"organId"`
	Timestamp Timestamp `json:"timestamp"`
}

// Bussiness says what the packet does: send a new document, or revoke,
// update or replace an earlier one.
type Bussiness struct {
	// DocumentID names the original document, for types 1–3.
	DocumentID         string           `json:"documentId,omitempty"`
	BussinessDocType   BussinessDocType `json:"bussinessDocType"`
	BussinessDocReason string           `json:"bussinessDocReason,omitempty"`
	// Paper is "1" when a paper copy is also sent, "0" when the document
	// travels only electronically.
	Paper     string      `json:"paper,omitempty"`
	StaffInfo []StaffInfo `json:"staffInfo,omitempty"`
	// DocumentInfo is BussinessDocumentInfo, for updates (type 2).
	DocumentInfo *BussinessDocumentInfo `json:"bussinessDocumentInfo,omitempty"`
	// Replacements is ReplacementInfoList, for replacements (type 3).
	Replacements []ReplacementInfo `json:"replacementInfoList,omitempty"`
}

// PaperCopy reports whether a paper copy travels alongside.
func (b *Bussiness) PaperCopy() bool { return b != nil && b.Paper == "1" }

// BussinessDocumentInfo says what an update changes.
type BussinessDocumentInfo struct {
	// DocumentInfo is "1" when the document's metadata changed.
	DocumentInfo string `json:"documentInfo"`
	// DocumentReceiver is "1" when the recipients changed.
	DocumentReceiver string     `json:"documentReceiver"`
	ReceiverList     []Receiver `json:"receiverList,omitempty"`
}

// Receiver is one entry of an update's receiver list.
type Receiver struct {
	OrganID      string `json:"organId"`
	ReceiverType string `json:"receiverType"`
}

// ReplacementInfo names a document being replaced and at which agencies.
type ReplacementInfo struct {
	DocumentID  string   `json:"documentId"`
	OrganIDList []string `json:"organIdList,omitempty"`
}

// StaffInfo names the person acting.
type StaffInfo struct {
	Department string `json:"department,omitempty"`
	Staff      string `json:"staff,omitempty"`
	Mobile     string `json:"mobile,omitempty"`
	Email      string `json:"email,omitempty"`
}

func (s StaffInfo) isZero() bool { return s == StaffInfo{} }

// Reference is one entry of an edoc's manifest.
type Reference struct {
	ContentID      string `json:"contentId"`
	ContentType    string `json:"contentType,omitempty"`
	Description    string `json:"description,omitempty"`
	AttachmentName string `json:"attachmentName,omitempty"`
}

// Status is a status packet: what an agency did with a document.
type Status struct {
	// From is the agency emitting the status.
	From Organization `json:"from"`
	// ResponseFor is the document the status is about. Its OrganId routes
	// the status, except for code 13, which the original sender sends to the
	// recipient.
	ResponseFor ResponseFor `json:"responseFor"`
	StaffInfo   StaffInfo   `json:"staffInfo"`
	StatusCode  StatusCode  `json:"statusCode"`
	// Description is free text: a reason, a comment.
	Description string    `json:"description,omitempty"`
	Timestamp   Timestamp `json:"timestamp"`
}

// SignatureInfo describes a Signature element as found. It says nothing
// about validity.
type SignatureInfo struct {
	// Namespace is the element's namespace: the XML-DSig one, or the edXML
	// one when the sender forgot the xmlns (the parser warns).
	Namespace              string `json:"namespace"`
	CanonicalizationMethod string `json:"canonicalizationMethod,omitempty"`
	SignatureMethod        string `json:"signatureMethod,omitempty"`
	DigestMethod           string `json:"digestMethod,omitempty"`
	// SubjectName is KeyInfo/X509Data/X509SubjectName when given.
	SubjectName string `json:"subjectName,omitempty"`
	// Certificates are the base64 texts of KeyInfo/X509Data/X509Certificate.
	Certificates []string `json:"certificates,omitempty"`
}

// Extra is an element the parser kept without understanding it.
type Extra struct {
	// Path is where it was, e.g. "MessageHeader/ReplyFors".
	Path string `json:"path"`
	// XML is the element, serialised.
	XML string `json:"xml"`
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi reads a plain non-negative decimal number: no sign, no spaces.
func atoi(s string) (int, error) {
	if !digits(s) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}
