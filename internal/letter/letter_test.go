package letter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/letter"
)

func sample() letter.Letter {
	return letter.Letter{
		From:   letter.Agency{Code: "000.00.00.G22", Name: "Văn phòng Chính phủ"},
		To:     []letter.Agency{{Code: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"}},
		Number: "15", Notation: "VPCP-TH", Subject: "V/v thử nghiệm",
		At:          time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC),
		Attachments: []envelope.Attachment{{Name: "cv.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4")}},
	}
}

// TestLetter_Encode: what is encoded parses back to the letter, with its
// DocumentId.
func TestLetter_Encode(t *testing.T) {
	l := sample()
	b, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Edoc.Header
	if got, want := h.DocumentID, l.DocumentID(); got != want {
		t.Errorf("DocumentId = %q, want %q", got, want)
	}
	if got, want := h.Promulgation.Date, envelope.Date("2025/11/20"); got != want {
		t.Errorf("promulgated %q, want %q", got, want)
	}
	if got, want := len(p.Edoc.Attachments), 1; got != want {
		t.Errorf("%d attachments, want %d", got, want)
	}
	if len(h.To) != 1 || h.To[0].OrganID != "000.00.00.H41" {
		t.Errorf("To = %+v", h.To)
	}
}

// TestLetter_Options: the fields that differ among the builder's users
// reach the edoc.
func TestLetter_Options(t *testing.T) {
	l := sample()
	l.Promulgated, l.Paper, l.Revokes, l.Reason = "2025/01/02", true, "000.00.00.G22,2025/01/01,1/VPCP-TH", "Ban hành nhầm"
	e := l.Edoc()
	if got, want := e.Header.Promulgation.Date, envelope.Date("2025/01/02"); got != want {
		t.Errorf("promulgated %q, want %q", got, want)
	}
	if got, want := e.Header.DocumentID, l.DocumentID(); got != want {
		t.Errorf("DocumentId = %q, want %q", got, want)
	}
	b := e.Bussiness
	if b.Paper != "1" || b.BussinessDocType != envelope.BussinessRevoke || b.DocumentID != l.Revokes || b.BussinessDocReason != "Ban hành nhầm" {
		t.Errorf("Bussiness = %+v", b)
	}
}

// TestLetter_EncodeLenient: a letter that is not valid is refused by
// Encode and written by EncodeLenient.
func TestLetter_EncodeLenient(t *testing.T) {
	l := sample()
	l.Subject = ""
	var verrs envelope.ValidationErrors
	if _, err := l.Encode(); !errors.As(err, &verrs) {
		t.Fatalf("Encode without a subject: %v, want ValidationErrors", err)
	}
	if _, err := l.EncodeLenient(); err != nil {
		t.Fatalf("EncodeLenient: %v", err)
	}
}
