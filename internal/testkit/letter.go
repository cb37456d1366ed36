package testkit

import (
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Letter describes a document for a test: who sends it to whom, and what
// a clerk reads of it.
type Letter struct {
	From, FromName string
	To             []string
	Number         string // default "15"
	Notation       string // default "VPCP-TH"
	Subject        string // default a công văn's
	Priority       envelope.Priority
	DueDate        envelope.Date
	// Paper: a paper copy goes too (Bussiness/Paper = 1).
	Paper bool
	// Revokes, if set, makes the letter a revocation (BussinessDocType
	// 1) of the document with this edXML DocumentId.
	Revokes string
	// Attachments are file names with contents; none means one small PDF
	// named "công văn.pdf".
	Attachments []File
}

// File is an attachment of a Letter.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Packet encodes the letter as an unsigned edXML edoc, promulgated today.
func (l Letter) Packet(t testing.TB) []byte {
	t.Helper()
	if l.Number == "" {
		l.Number = "15"
	}
	if l.Notation == "" {
		l.Notation = "VPCP-TH"
	}
	if l.Subject == "" {
		l.Subject = "V/v báo cáo tình hình kết nối liên thông"
	}
	date := envelope.DateOf(time.Now())
	code := envelope.Code{Number: l.Number, Notation: l.Notation}
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From:         envelope.Organization{OrganID: l.From, OrganName: l.FromName},
			Code:         code,
			Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: date},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      l.Subject,
			DueDate:      l.DueDate,
			OtherInfo:    envelope.OtherInfo{Priority: l.Priority},
			DocumentID:   envelope.MakeDocumentID(l.From, date, code),
		},
		Trace:     []envelope.TraceHeader{{OrganID: l.From, Timestamp: envelope.TimestampOf(time.Now())}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	if l.Paper {
		e.Bussiness.Paper = "1"
	}
	if l.Revokes != "" {
		e.Bussiness.BussinessDocType = envelope.BussinessRevoke
		e.Bussiness.DocumentID = l.Revokes
		e.Bussiness.BussinessDocReason = "Ban hành nhầm"
	}
	for _, c := range l.To {
		e.Header.To = append(e.Header.To, envelope.Organization{OrganID: c, OrganName: "Cơ quan " + c})
	}
	files := l.Attachments
	if len(files) == 0 {
		files = []File{{Name: "công văn.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 công văn thử nghiệm\n%%EOF\n")}}
	}
	for _, f := range files {
		e.AddAttachment(envelope.Attachment{Name: f.Name, ContentType: f.ContentType, Data: f.Data})
	}
	b, err := envelope.Encode(&envelope.Packet{Edoc: e})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
