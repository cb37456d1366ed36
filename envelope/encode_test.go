package envelope_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

const ns = envelope.Namespace

// TestEncode_PrefixLayout checks the bytes the encoder writes against the
// layout of domain/edxml.md §1: root unprefixed in the default namespace,
// envelope elements prefixed edXML:, AttachmentEncoded outside the envelope
// and unprefixed, ContentTransferEncoded prefixed with its own declaration.
func TestEncode_PrefixLayout(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	p := g.edoc()
	p.Edoc.Attachments, p.Edoc.Manifest = nil, nil
	p.Edoc.AddAttachment(envelope.Attachment{Name: "a.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7")})
	p.Edoc.AddAttachment(envelope.Attachment{Name: "b.pdf", Data: []byte("second")})
	b, err := envelope.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	prefix := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
		"<edXML xmlns=\"" + ns + "\">\n" +
		"  <edXML:edXMLEnvelope xmlns:edXML=\"" + ns + "\">\n" +
		"    <edXML:edXMLHeader>\n" +
		"      <edXML:MessageHeader>\n" +
		"        <edXML:From>\n" +
		"          <edXML:OrganId>"
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("output starts\n%s\nwant\n%s", s[:min(len(s), len(prefix)+40)], prefix)
	}
	if !strings.HasSuffix(s, "    </Attachment>\n  </AttachmentEncoded>\n</edXML>\n") {
		t.Errorf("output ends %q", s[max(0, len(s)-80):])
	}
	if strings.Contains(s, "\r") {
		t.Error("output holds a CR; line ends must be LF (CRs in text are written &#xD;)")
	}
	// The order of the big pieces.
	order := []string{
		"<edXML:MessageHeader>", "</edXML:MessageHeader>",
		"<edXML:TraceHeaderList>", "<edXML:TraceHeader>", "<edXML:Bussiness>", "</edXML:TraceHeaderList>",
		"</edXML:edXMLHeader>", "<edXML:edXMLBody>", "<edXML:edXMLManifest version=\"1.0\">", "<edXML:Reference>",
		"</edXML:edXMLManifest>", "</edXML:edXMLBody>", "</edXML:edXMLEnvelope>",
		"<AttachmentEncoded>", "<Attachment>", "<ContentId>cid:1</ContentId>", "<AttachmentName>a.pdf</AttachmentName>",
		"<ContentType>application/pdf</ContentType>",
		"<edXML:ContentTransferEncoded xmlns:edXML=\"" + ns + "\">JVBERi0xLjc=</edXML:ContentTransferEncoded>",
		"</Attachment>", "<Attachment>", "<ContentId>cid:2</ContentId>", "</AttachmentEncoded>",
	}
	assertOrder(t, s, order)
	// The children of MessageHeader in the order of §2.
	header := s[strings.Index(s, "<edXML:MessageHeader>"):strings.Index(s, "</edXML:MessageHeader>")]
	assertOrder(t, header, []string{"<edXML:From>", "<edXML:To>", "<edXML:Code>", "<edXML:PromulgationInfo>",
		"<edXML:DocumentType>", "<edXML:Subject>", "<edXML:Content>", "<edXML:SignerInfo>"})
	if i, j := strings.Index(header, "<edXML:SignerInfo>"), strings.Index(header, "<edXML:DocumentId>"); i < 0 || j < i {
		t.Error("DocumentId is not after SignerInfo")
	}
	if !strings.HasSuffix(strings.TrimRight(header, " "), "</edXML:DocumentId>\n") {
		t.Error("DocumentId is not the last child of MessageHeader")
	}
	checkPrefixes(t, b)
}

// TestEncode_HeaderOrder fills every optional element and checks the 14
// parts of the edoc header come in the order of §2.
func TestEncode_HeaderOrder(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	p := g.edoc()
	h := &p.Edoc.Header
	h.DueDate = "2030/01/01"
	h.ToPlaces = []string{"Các bộ"}
	h.OtherInfo.Priority = envelope.PriorityUrgent
	h.ResponseFor = []envelope.ResponseFor{{OrganID: "000.00.00.H41", DocumentID: "000.00.00.H41,2025/01/02,1/UBND"}}
	h.SteeringType = envelope.SteeringDirective
	b, err := envelope.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	header := s[strings.Index(s, "<edXML:MessageHeader>"):strings.Index(s, "</edXML:MessageHeader>")]
	assertOrder(t, header, []string{"<edXML:From>", "<edXML:To>", "<edXML:Code>", "<edXML:PromulgationInfo>",
		"<edXML:DocumentType>", "<edXML:Subject>", "<edXML:Content>", "<edXML:SignerInfo>", "<edXML:DueDate>",
		"<edXML:ToPlaces>", "<edXML:OtherInfo>", "<edXML:ResponseFor>", "<edXML:SteeringType>", "<edXML:DocumentId>"})
	assertOrder(t, header, []string{"<edXML:OrganId>", "<edXML:OrganizationInCharge>", "<edXML:OrganName>",
		"<edXML:OrganAdd>", "<edXML:Email>", "<edXML:Telephone>", "<edXML:Fax>", "<edXML:Website>"})
}

func TestEncode_StatusLayout(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(5, 6))}
	p := g.status()
	b, err := envelope.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	assertOrder(t, s, []string{"<edXML:edXMLHeader>", "<edXML:MessageHeader>", "<edXML:From>", "<edXML:ResponseFor>",
		"<edXML:StaffInfo>", "<edXML:StatusCode>", "<edXML:Description>", "<edXML:Timestamp>",
		"</edXML:MessageHeader>", "</edXML:edXMLHeader>", "</edXML:edXMLEnvelope>", "</edXML>"})
	for _, absent := range []string{"TraceHeaderList", "edXMLBody", "AttachmentEncoded", "<edXML:To>"} {
		if strings.Contains(s, absent) {
			t.Errorf("status packet holds %s", absent)
		}
	}
	checkPrefixes(t, b)
}

func TestEncode_Deterministic(t *testing.T) {
	for seed := range uint64(20) {
		a, err := envelope.Encode(gen{rand.New(rand.NewPCG(seed, 7))}.edoc())
		if err != nil {
			t.Fatal(err)
		}
		b, err := envelope.Encode(gen{rand.New(rand.NewPCG(seed, 7))}.edoc())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: the same packet encodes to different bytes", seed)
		}
	}
}

func TestEncode_Escaping(t *testing.T) {
	p := gen{rand.New(rand.NewPCG(8, 9))}.edoc()
	p.Edoc.Header.Subject = "Về việc <khẩn> & \"quan trọng\"\r\ndòng hai"
	b, err := envelope.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("<edXML:Subject>Về việc &lt;khẩn&gt; &amp; \"quan trọng\"&#xD;\ndòng hai</edXML:Subject>")) {
		t.Errorf("Subject not escaped as expected:\n%s", b)
	}
	got, _, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Edoc.Header.Subject != p.Edoc.Header.Subject {
		t.Errorf("Subject read back as %q", got.Edoc.Header.Subject)
	}
}

func TestEncode_Refuses(t *testing.T) {
	t.Run("Invalid", func(t *testing.T) {
		p := gen{rand.New(rand.NewPCG(10, 11))}.edoc()
		p.Edoc.Header.Subject = ""
		_, err := envelope.Encode(p)
		if !errors.Is(err, envelope.ErrRequired) {
			t.Errorf("Encode = %v, want ErrRequired", err)
		}
	})
	t.Run("LenientStillNeedsOneKind", func(t *testing.T) {
		_, err := envelope.Encoder{Lenient: true}.Encode(&envelope.Packet{})
		if err == nil {
			t.Error("Encode of an empty packet succeeded")
		}
	})
	t.Run("LenientInvalidCharacter", func(t *testing.T) {
		p := gen{rand.New(rand.NewPCG(12, 13))}.status()
		p.Status.Description = "bell \x07"
		if _, err := (envelope.Encoder{Lenient: true}).Encode(p); err == nil {
			t.Error("Encode wrote a character XML cannot carry")
		}
	})
}

func assertOrder(t *testing.T, s string, parts []string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(s[at:], p)
		if i < 0 {
			t.Fatalf("%q missing or out of order (looked after offset %d)", p, at)
		}
		at += i + len(p)
	}
}

// checkPrefixes walks the raw tokens: the root unprefixed, everything in
// the envelope prefixed edXML:, everything in AttachmentEncoded unprefixed
// except ContentTransferEncoded, which declares edXML itself.
func checkPrefixes(t *testing.T, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			prefix := el.Name.Space
			switch {
			case len(stack) == 0:
				if name != "edXML" || prefix != "" {
					t.Errorf("root is %s:%s", prefix, name)
				}
			case stack[0] == "edXML" && len(stack) >= 1 && (len(stack) == 1 && name == "AttachmentEncoded" || len(stack) > 1 && stack[1] == "AttachmentEncoded"):
				want := ""
				if name == "ContentTransferEncoded" {
					want = "edXML"
					if !hasAttr(el, "xmlns", "edXML", ns) {
						t.Error("ContentTransferEncoded does not declare xmlns:edXML")
					}
				}
				if prefix != want {
					t.Errorf("%s inside AttachmentEncoded has prefix %q, want %q", name, prefix, want)
				}
			default:
				if prefix != "edXML" {
					t.Errorf("%s inside the envelope has prefix %q, want edXML", name, prefix)
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func hasAttr(el xml.StartElement, space, local, value string) bool {
	for _, a := range el.Attr {
		if a.Name.Space == space && a.Name.Local == local && a.Value == value {
			return true
		}
	}
	return false
}

// TestEncodeStatus: the packet is Encode's, Root is its document element
// and SignatureAt is just after MessageHeader's end tag, for generated
// statuses of every code; a status Encode refuses, EncodeStatus refuses
// with the same errors. That Root is the packet's canonical form is held
// by signing's TestSigner_SignStatus.
func TestEncodeStatus(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(17, 18))}
	codes := map[envelope.StatusCode]bool{}
	for i := range 200 {
		p := g.status()
		codes[p.Status.StatusCode] = true
		want, err := envelope.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		es, err := envelope.EncodeStatus(p.Status)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(es.Packet, want) {
			t.Fatalf("status %d: EncodeStatus's packet differs from Encode's", i)
		}
		root := strings.TrimSuffix(strings.TrimPrefix(string(want), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), "\n")
		if string(es.Root) != root || !strings.HasPrefix(root, "<edXML ") || !strings.HasSuffix(root, "</edXML>") {
			t.Fatalf("status %d: Root =\n%s\nwant\n%s", i, es.Root, root)
		}
		if before, after := string(want[:es.SignatureAt]), string(want[es.SignatureAt:]); !strings.HasSuffix(before, "</edXML:MessageHeader>") ||
			!strings.HasPrefix(after, "\n    </edXML:edXMLHeader>\n") {
			t.Fatalf("status %d: SignatureAt %d is not just after MessageHeader's end tag", i, es.SignatureAt)
		}
	}
	if len(codes) != len(envelope.StatusCodes()) {
		t.Errorf("%d status codes generated, want all %d", len(codes), len(envelope.StatusCodes()))
	}
	bad := g.status().Status
	bad.StatusCode = "99"
	_, want := envelope.Encode(&envelope.Packet{Status: bad})
	var ve envelope.ValidationErrors
	if _, err := envelope.EncodeStatus(bad); !errors.As(err, &ve) || want == nil || err.Error() != want.Error() {
		t.Errorf("EncodeStatus of a bad code = %v, want %v", err, want)
	}
}
