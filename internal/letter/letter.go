// Package letter builds the edXML of a công văn (an official letter): the
// one builder behind the documents that lienthong demo and lienthong bench
// send and that the tests exchange. Each user sets what differs (number,
// recipients, date, attachments …); the rest is the same everywhere.
package letter

import (
	"fmt"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Agency is a sender or a recipient: its code and its name.
type Agency struct {
	Code, Name string
}

// Letter describes a công văn. The zero value of a field leaves it out of
// the packet, except where its comment says otherwise.
type Letter struct {
	From Agency
	To   []Agency
	// Number and Notation make its number ("15/VPCP-TH"), and with the
	// sender and the promulgation date its edXML DocumentId.
	Number, Notation string
	Subject          string
	// At is when it is written: its promulgation date and its
	// TraceHeader's timestamp. Zero means now.
	At time.Time
	// Promulgated, if set, is its promulgation date instead of At's
	// (a fixed date, or one shared by a run's documents).
	Promulgated envelope.Date
	DueDate     envelope.Date
	Priority    envelope.Priority
	SignerInfo  envelope.SignerInfo
	// Paper: a paper copy goes too (Bussiness/Paper = 1).
	Paper bool
	// Revokes, if set, makes the letter a revocation (BussinessDocType
	// 1) of the document with this edXML DocumentId, for Reason.
	Revokes, Reason string
	// Attachments are the files it carries, in order.
	Attachments []envelope.Attachment
}

// date is the promulgation date.
func (l Letter) date() envelope.Date {
	if l.Promulgated != "" {
		return l.Promulgated
	}
	return envelope.DateOf(l.at())
}

func (l Letter) at() time.Time {
	if l.At.IsZero() {
		return time.Now()
	}
	return l.At
}

// Code is the letter's number and notation.
func (l Letter) Code() envelope.Code {
	return envelope.Code{Number: l.Number, Notation: l.Notation}
}

// DocumentID is the letter's edXML DocumentId. With At zero it is
// today's: set At to know it before and after midnight alike.
func (l Letter) DocumentID() string {
	return envelope.MakeDocumentID(l.From.Code, l.date(), l.Code())
}

// Edoc returns the letter as an edoc, unsigned.
func (l Letter) Edoc() *envelope.Edoc {
	// One time for the date, the DocumentId and the trace, even at
	// midnight.
	l.At = l.at()
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From:         envelope.Organization{OrganID: l.From.Code, OrganName: l.From.Name},
			Code:         l.Code(),
			Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: l.date()},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      l.Subject,
			DueDate:      l.DueDate,
			SignerInfo:   l.SignerInfo,
			OtherInfo:    envelope.OtherInfo{Priority: l.Priority},
			DocumentID:   l.DocumentID(),
		},
		Trace:     []envelope.TraceHeader{{OrganID: l.From.Code, Timestamp: envelope.TimestampOf(l.at())}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	if l.Paper {
		e.Bussiness.Paper = "1"
	}
	if l.Revokes != "" {
		e.Bussiness.BussinessDocType = envelope.BussinessRevoke
		e.Bussiness.DocumentID = l.Revokes
		e.Bussiness.BussinessDocReason = l.Reason
	}
	for _, to := range l.To {
		e.Header.To = append(e.Header.To, envelope.Organization{OrganID: to.Code, OrganName: to.Name})
	}
	for _, a := range l.Attachments {
		e.AddAttachment(a)
	}
	return e
}

// Encode returns the letter's edXML, unsigned, encoded strictly: a letter
// that is not valid to send is an error.
func (l Letter) Encode() ([]byte, error) {
	return l.encode(envelope.Encoder{})
}

// EncodeLenient is Encode without validation, for tests that send what a
// strict encoder refuses.
func (l Letter) EncodeLenient() ([]byte, error) {
	return l.encode(envelope.Encoder{Lenient: true})
}

func (l Letter) encode(enc envelope.Encoder) ([]byte, error) {
	b, err := enc.Encode(&envelope.Packet{Edoc: l.Edoc()})
	if err != nil {
		return nil, fmt.Errorf("letter %s: %w", l.DocumentID(), err)
	}
	return b, nil
}
