package envelope_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// Packets as real systems produce them (issue 15): written here by hand, in
// the shapes seen on the national axis, not copied.

// encodedEdoc encodes validEdoc strictly and applies edits, each replacing
// the first occurrence of its old text, which must be there.
func encodedEdoc(t *testing.T, edits ...[2]string) []byte {
	t.Helper()
	b, err := envelope.Encode(validEdoc(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range edits {
		if !strings.Contains(s, e[0]) {
			t.Fatalf("no %q in the packet", e[0])
		}
		s = strings.Replace(s, e[0], e[1], 1)
	}
	return []byte(s)
}

// hubTraces adds after the sender's TraceHeader one a hub added with only
// a Timestamp, and one whose OrganId is the text "null".
var hubTraces = [2]string{"</edXML:TraceHeader>\n", "</edXML:TraceHeader>\n" +
	"        <edXML:TraceHeader>\n          <edXML:Timestamp>2026/12/07 10:00:01</edXML:Timestamp>\n        </edXML:TraceHeader>\n" +
	"        <edXML:TraceHeader>\n          <edXML:OrganId>null</edXML:OrganId>\n          <edXML:Timestamp>2026/12/07 10:00:02</edXML:Timestamp>\n        </edXML:TraceHeader>\n"}

// unsignedOnly drops the warning that the packet is not signed: these are
// not.
func unsignedOnly(ws []envelope.Warning) []envelope.Warning {
	return slices.DeleteFunc(ws, func(w envelope.Warning) bool { return w.Path == "Signature" })
}

// pathCodes gives each warning as "path code", failing t for one without
// messages.
func pathCodes(t *testing.T, ws []envelope.Warning) []string {
	t.Helper()
	var out []string
	for _, w := range ws {
		out = append(out, w.Path+" "+w.Code)
		if w.MessageVI == "" || w.MessageEN == "" {
			t.Errorf("warning %s without a message in both languages", w.Code)
		}
	}
	return out
}

func TestFirstContact_HubTraceHeaders(t *testing.T) {
	b := encodedEdoc(t, hubTraces)
	p, warns, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if warns = unsignedOnly(warns); len(warns) != 0 {
		t.Errorf("parse warnings %v, want none", warns)
	}
	tr := p.Edoc.Trace
	if len(tr) != 3 || tr[1].OrganID != "" || tr[1].Timestamp != "2026/12/07 10:00:01" || tr[2].OrganID != "null" {
		t.Fatalf("trace = %+v", tr)
	}

	// Receive: taken, with a warning per header.
	ws, err := envelope.ValidateWithWarnings(p, envelope.ProfileReceive())
	if err != nil {
		t.Fatalf("receive profile: %v", err)
	}
	want := []string{"TraceHeaderList/TraceHeader[2]/OrganId trace-organ-missing", "TraceHeaderList/TraceHeader[3]/OrganId trace-organ-null"}
	if got := pathCodes(t, ws); !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	if err := envelope.Validate(p, envelope.ProfileReceive()); err != nil {
		t.Errorf("Validate receive: %v", err)
	}

	// Send: refused, naming both headers.
	ws, err = envelope.ValidateWithWarnings(p, envelope.ProfileSend())
	es, ok := envelope.IsValidationError(err)
	if !ok || len(es) != 2 || es[0].Path != "TraceHeaderList/TraceHeader[2]/OrganId" || !errors.Is(es[0], envelope.ErrRequired) ||
		es[1].Path != "TraceHeaderList/TraceHeader[3]/OrganId" || !errors.Is(es[1], envelope.ErrBadAgencyCode) {
		t.Errorf("send profile: %v", err)
	}
	if len(ws) != 0 {
		t.Errorf("send profile warnings %v, want none", ws)
	}

	// The trace is written back as it came: no empty OrganId added.
	out, err := envelope.Encoder{Lenient: true}.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, b) {
		t.Errorf("encoded again:\n%s\nwant:\n%s", out, b)
	}
}

func TestFirstContact_OneAgencyTwoCodes(t *testing.T) {
	p := validEdoc(t)
	p.Edoc.Header.To = []envelope.Organization{
		{OrganID: "G12", OrganName: "Bộ Tài chính"},
		{OrganID: "000.00.00.G12", OrganName: "Bộ tài chính (Mã cũ)"},
	}
	ws, err := envelope.ValidateWithWarnings(p, envelope.ProfileReceive())
	if err != nil {
		t.Fatalf("receive profile: %v", err)
	}
	if got, want := pathCodes(t, ws), []string{"MessageHeader/To[2]/OrganId duplicate-recipient"}; !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	if !strings.Contains(ws[0].MessageEN, `"G12"`) || !strings.Contains(ws[0].MessageVI, "To[1]") {
		t.Errorf("warning %+v should name the first form", ws[0])
	}
	err = envelope.Validate(p, envelope.ProfileSend())
	if es, ok := envelope.IsValidationError(err); !ok || len(es) != 1 || !errors.Is(es[0], envelope.ErrDuplicateRecipient) {
		t.Errorf("send profile: %v, want one duplicate_recipient", err)
	}
}

// brokenZip is a one-file ZIP archive whose end-of-central-directory record
// is cut short, as a truncated upload leaves it.
func brokenZip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("Cong van.pdf")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("%PDF-1.4 một công văn\n%%EOF\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:buf.Len()-10]
}

func TestFirstContact_BrokenZip(t *testing.T) {
	data := brokenZip(t)
	a := envelope.Attachment{Name: "Cong van.zip", ContentType: "application/zip", Data: data}
	if !a.IsZip() {
		t.Fatal("IsZip = false for content beginning as a ZIP")
	}
	err := a.ZipError()
	if !errors.Is(err, envelope.ErrBrokenZip) || !strings.Contains(err.Error(), "Cong van.zip") {
		t.Fatalf("ZipError = %v, want ErrBrokenZip naming the attachment", err)
	}
	if _, err := a.Inner(0); err == nil {
		t.Error("Inner opened a broken archive")
	}

	// Carried and given back as received.
	p := validEdoc(t)
	p.Edoc.AddAttachment(a)
	b, err := envelope.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Edoc.Attachments[len(q.Edoc.Attachments)-1]; !bytes.Equal(got.Data, data) || got.ZipError() == nil {
		t.Errorf("attachment after a round trip: %d bytes (want %d), ZipError %v", len(got.Data), len(data), got.ZipError())
	}

	// A whole archive and what is not a ZIP have no ZipError.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.Create("a.txt")
	zw.Close()
	for _, d := range [][]byte{buf.Bytes(), []byte("%PDF-1.4")} {
		ok := envelope.Attachment{Name: "x", Data: d}
		if err := ok.ZipError(); err != nil {
			t.Errorf("ZipError(%q…) = %v", d[:4], err)
		}
	}
}

func TestFirstContact_Direction(t *testing.T) {
	for _, v := range []string{"true", "false"} {
		b := encodedEdoc(t, [2]string{"</edXML:OtherInfo>", "  <edXML:Direction>" + v + "</edXML:Direction>\n        </edXML:OtherInfo>"})
		p, warns, err := envelope.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if warns = unsignedOnly(warns); len(warns) != 0 || len(p.Extras) != 0 {
			t.Errorf("Direction %s: warnings %v, extras %v; want none", v, warns, p.Extras)
		}
		if p.Edoc.Header.OtherInfo.Direction != v {
			t.Errorf("Direction = %q, want %q", p.Edoc.Header.OtherInfo.Direction, v)
		}
		out, err := envelope.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Errorf("encoded again:\n%s\nwant:\n%s", out, b)
		}
	}

	// Not a boolean: refused on send, kept on receive.
	p := validEdoc(t)
	p.Edoc.Header.OtherInfo.Direction = "1"
	if err := envelope.Validate(p, envelope.ProfileSend()); !errors.Is(err, envelope.ErrBadCode) || !strings.Contains(err.Error(), "OtherInfo/Direction") {
		t.Errorf("send: %v, want bad_code at OtherInfo/Direction", err)
	}
	if err := envelope.Validate(p, envelope.ProfileReceive()); err != nil {
		t.Errorf("receive: %v", err)
	}

	// The samples of the national axis write false.
	p, _, err := envelope.Parse(readSample(t, "edoc_new.edxml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Edoc.Header.OtherInfo.Direction != "false" || len(p.Extras) != 0 {
		t.Errorf("sample: Direction %q, extras %v", p.Edoc.Header.OtherInfo.Direction, p.Extras)
	}
}
