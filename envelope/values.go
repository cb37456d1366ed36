package envelope

import (
	"fmt"
	"strings"
	"time"
)

// Namespace is the edXML namespace of QCVN 102:2016.
const Namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

// XMLDSigNamespace is the namespace of the W3C XML-DSig Signature element.
const XMLDSigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// Layouts of the regulation's date and timestamp values.
const (
	DateLayout      = "2006/01/02"
	TimestampLayout = "2006/01/02 15:04:05"
)

// vietnamTime is the fixed UTC+7 zone in which edXML timestamps are
// written. Vietnam has no daylight saving time, so a fixed zone is exact and
// needs no time zone database on the host.
var vietnamTime = time.FixedZone("ICT", 7*60*60)

// VietnamTime returns the fixed UTC+7 zone in which edXML timestamps are
// written: a function, not a variable, so that no package can change it
// for every other.
func VietnamTime() *time.Location { return vietnamTime }

// Date is a calendar date as written in edXML: yyyy/MM/dd. The empty Date
// means "not given".
type Date string

// DateOf returns the date of t in Vietnam (UTC+7).
func DateOf(t time.Time) Date {
	return Date(t.In(VietnamTime()).Format(DateLayout))
}

// NewDate returns the Date for a year, month and day. It does not check
// that the day exists; [Date.Time] does.
func NewDate(year int, month time.Month, day int) Date {
	return Date(fmt.Sprintf("%04d/%02d/%02d", year, int(month), day))
}

// Time returns midnight of d in Vietnam. It fails when d is not a real
// date written yyyy/MM/dd.
func (d Date) Time() (time.Time, error) {
	t, err := time.ParseInLocation(DateLayout, string(d), VietnamTime())
	if err != nil || len(d) != len(DateLayout) {
		return time.Time{}, fmt.Errorf("%q is not a date written yyyy/MM/dd", string(d))
	}
	return t, nil
}

// Valid reports whether d is a real date written yyyy/MM/dd.
func (d Date) Valid() bool {
	_, err := d.Time()
	return err == nil
}

// Timestamp is a moment as written in edXML: yyyy/MM/dd HH:mm:ss in UTC+7,
// with no zone. The empty Timestamp means "not given".
type Timestamp string

// TimestampOf returns t written as an edXML timestamp (UTC+7, to the second).
func TimestampOf(t time.Time) Timestamp {
	return Timestamp(t.In(VietnamTime()).Format(TimestampLayout))
}

// Time returns the moment ts names. It fails when ts is not written
// yyyy/MM/dd HH:mm:ss.
func (ts Timestamp) Time() (time.Time, error) {
	t, err := time.ParseInLocation(TimestampLayout, string(ts), VietnamTime())
	if err != nil || len(ts) != len(TimestampLayout) {
		return time.Time{}, fmt.Errorf("%q is not a timestamp written yyyy/MM/dd HH:mm:ss", string(ts))
	}
	return t, nil
}

// Valid reports whether ts is a real moment written yyyy/MM/dd HH:mm:ss.
func (ts Timestamp) Valid() bool {
	_, err := ts.Time()
	return err == nil
}

// DocumentID is the parsed form of a DocumentId:
// "<From OrganId>,<yyyy/MM/dd>,<CodeNumber>/<CodeNotation>", for example
// "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT".
type DocumentID struct {
	OrganID      string
	Date         Date
	CodeNumber   string
	CodeNotation string
}

// MakeDocumentID returns the DocumentId of a document promulgated by the
// agency from on date under code.
func MakeDocumentID(from string, date Date, code Code) string {
	return from + "," + string(date) + "," + code.String()
}

// ParseDocumentID splits a DocumentId into its parts. It checks the shape
// only: three comma-separated parts, the last holding a "/". Whether the date
// exists is for [Date.Valid]; many DocumentIds in the wild are UUIDs, which
// this rejects.
func ParseDocumentID(s string) (DocumentID, error) {
	organ, rest, ok1 := strings.Cut(s, ",")
	date, code, ok2 := strings.Cut(rest, ",")
	number, notation, ok3 := strings.Cut(code, "/")
	if !ok1 || !ok2 || !ok3 || organ == "" || date == "" || number == "" {
		return DocumentID{}, fmt.Errorf("%q is not a DocumentId of the form <OrganId>,<yyyy/MM/dd>,<number>/<notation>", s)
	}
	return DocumentID{OrganID: organ, Date: Date(date), CodeNumber: number, CodeNotation: notation}, nil
}

// String returns the DocumentId text.
func (id DocumentID) String() string {
	return MakeDocumentID(id.OrganID, id.Date, Code{Number: id.CodeNumber, Notation: id.CodeNotation})
}
