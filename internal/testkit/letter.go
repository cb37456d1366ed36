package testkit

import (
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/letter"
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
	files := l.Attachments
	if len(files) == 0 {
		files = []File{{Name: "công văn.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 công văn thử nghiệm\n%%EOF\n")}}
	}
	lt := letter.Letter{
		From: letter.Agency{Code: l.From, Name: l.FromName}, Number: l.Number, Notation: l.Notation,
		Subject: l.Subject, Priority: l.Priority, DueDate: l.DueDate, Paper: l.Paper,
	}
	if l.Revokes != "" {
		lt.Revokes, lt.Reason = l.Revokes, "Ban hành nhầm"
	}
	for _, c := range l.To {
		lt.To = append(lt.To, letter.Agency{Code: c, Name: "Cơ quan " + c})
	}
	for _, f := range files {
		lt.Attachments = append(lt.Attachments, envelope.Attachment{Name: f.Name, ContentType: f.ContentType, Data: f.Data})
	}
	b, err := lt.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
