package envelope_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// TestParse_AmbiguousRefused: an element of the format repeated where the
// format has one, or an element of its names where the format has it
// outside the edXML namespace, makes the packet malformed, naming the
// element. Before issue 20 the reader kept the first by local name: a
// packet whose first <x:MessageHeader xmlns:x="urn:evil"> said From H99
// was read from H99 (and verified as H99's), while a DMS reading
// {edXML}MessageHeader by namespace read the one after it, From H41.
// Elements that repeat by the format, and unknown elements of other
// namespaces, are read as before.
func TestParse_AmbiguousRefused(t *testing.T) {
	edoc := string(readSample(t, "edoc_update.edxml"))
	const ns = `xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"`
	first := func(s, old, new string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in the packet", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	// before puts extra before the first el of s.
	before := func(s, el, extra string) string { return first(s, el, extra+el) }
	spoofHeader := `<x:MessageHeader xmlns:x="urn:evil"><x:From><x:OrganId>000.00.00.H99</x:OrganId></x:From>` +
		`<x:ResponseFor><x:OrganId>000.00.00.G22</x:OrganId></x:ResponseFor><x:StatusCode>01</x:StatusCode></x:MessageHeader>`
	for _, tc := range []struct {
		name, in string
		refused  []string // what the error says; nil: accepted
	}{
		// The review's packet: a MessageHeader of another namespace first.
		{"ForeignMessageHeaderFirst", before(minimalStatus, "<edXML:MessageHeader>", spoofHeader),
			[]string{"<x:MessageHeader>", "edXMLHeader/MessageHeader", `"urn:evil"`}},
		{"ForeignMessageHeaderAfter", first(minimalStatus, "</edXML:MessageHeader>", "</edXML:MessageHeader>"+spoofHeader),
			[]string{"<x:MessageHeader>", `"urn:evil"`}},
		{"ForeignMessageHeaderAlone", first(minimalStatus, "<edXML:MessageHeader>", `<edXML:MessageHeader xmlns:edXML="urn:evil">`),
			[]string{"<edXML:MessageHeader>", `"urn:evil"`}},
		{"RepeatedMessageHeader", before(minimalStatus, "<edXML:MessageHeader>",
			`<edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.H99</edXML:OrganId></edXML:From><edXML:StatusCode>01</edXML:StatusCode></edXML:MessageHeader>`),
			[]string{"<edXML:MessageHeader>", "edXMLHeader/MessageHeader", "repeated"}},
		{"NoNamespaceMessageHeader", before(minimalStatus, "<edXML:MessageHeader>", `<MessageHeader xmlns=""><From><OrganId>000.00.00.H99</OrganId></From></MessageHeader>`),
			[]string{"<MessageHeader>", "no namespace"}},
		{"UndeclaredPrefixMessageHeader", before(minimalStatus, "<edXML:MessageHeader>", `<x:MessageHeader><x:From><x:OrganId>000.00.00.H99</x:OrganId></x:From></x:MessageHeader>`),
			[]string{"<x:MessageHeader>", `prefix "x"`}},
		{"ForeignRoot", first(minimalStatus, `<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">`, `<edXML xmlns="urn:evil">`),
			[]string{"<edXML>", `"urn:evil"`}},
		{"RepeatedEnvelope", first(minimalStatus, "</edXML>", `<edXML:edXMLEnvelope `+ns+`/></edXML>`),
			[]string{"<edXML:edXMLEnvelope>", "repeated"}},
		{"ForeignEnvelope", before(minimalStatus, "<edXML:edXMLEnvelope", `<e:edXMLEnvelope xmlns:e="urn:evil"/>`),
			[]string{"<e:edXMLEnvelope>", `"urn:evil"`}},
		{"RepeatedHeader", first(minimalStatus, "</edXML:edXMLEnvelope>", `<edXML:edXMLHeader/></edXML:edXMLEnvelope>`),
			[]string{"<edXML:edXMLHeader>", "edXMLEnvelope/edXMLHeader", "repeated"}},
		{"ForeignHeader", before(minimalStatus, "<edXML:edXMLHeader>", `<edXMLHeader xmlns="urn:evil"/>`),
			[]string{"<edXMLHeader>", `"urn:evil"`}},
		{"RepeatedFrom", before(minimalStatus, "<edXML:From>", `<edXML:From><edXML:OrganId>000.00.00.H99</edXML:OrganId></edXML:From>`),
			[]string{"<edXML:From>", "MessageHeader/From", "repeated"}},
		{"ForeignFrom", before(minimalStatus, "<edXML:From>", `<From xmlns="urn:evil"><OrganId>000.00.00.H99</OrganId></From>`),
			[]string{"<From>", "MessageHeader/From", `"urn:evil"`}},
		{"ForeignOrganId", first(minimalStatus, "<edXML:OrganId>000.00.00.H41", `<OrganId xmlns="urn:evil">000.00.00.H99</OrganId><edXML:OrganId>000.00.00.H41`),
			[]string{"<OrganId>", "MessageHeader/From/OrganId", `"urn:evil"`}},
		{"RepeatedStatusCode", first(minimalStatus, "<edXML:StatusCode>01</edXML:StatusCode>", "<edXML:StatusCode>01</edXML:StatusCode><edXML:StatusCode>03</edXML:StatusCode>"),
			[]string{"<edXML:StatusCode>", "MessageHeader/StatusCode", "repeated"}},
		{"ForeignStatusCodeInEdoc", before(edoc, "<edXML:Subject>", `<s:StatusCode xmlns:s="urn:evil">02</s:StatusCode>`),
			[]string{"<s:StatusCode>", `"urn:evil"`}},
		{"RepeatedTraceHeaderList", before(edoc, "<edXML:TraceHeaderList>", `<edXML:TraceHeaderList/>`),
			[]string{"<edXML:TraceHeaderList>", "repeated"}},
		{"RepeatedBody", before(edoc, "<edXML:edXMLBody>", `<edXML:edXMLBody/>`),
			[]string{"<edXML:edXMLBody>", "repeated"}},
		{"RepeatedBussiness", before(edoc, "<edXML:Bussiness>", `<edXML:Bussiness/>`),
			[]string{"<edXML:Bussiness>", "TraceHeaderList/Bussiness", "repeated"}},
		{"RepeatedDocumentId", before(edoc, "<edXML:DocumentId>000.00.00.G22,2015", `<edXML:DocumentId>x</edXML:DocumentId>`),
			[]string{"<edXML:DocumentId>", "MessageHeader/DocumentId", "repeated"}},
		{"ForeignTo", before(edoc, "<edXML:To>", `<t:To xmlns:t="urn:evil"><t:OrganId>000.00.00.H99</t:OrganId></t:To>`),
			[]string{"<t:To>", "MessageHeader/To", `"urn:evil"`}},
		{"RepeatedAttachmentEncoded", first(edoc, "</edXML>", "<AttachmentEncoded/></edXML>"),
			[]string{"<AttachmentEncoded>", "repeated"}},
		// Read as before.
		{"RepeatedTo", edoc, nil},
		{"RepeatedTraceHeader", before(edoc, "<edXML:TraceHeader>", `<edXML:TraceHeader><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:TraceHeader>`), nil},
		{"ForeignUnknownElement", before(minimalStatus, "<edXML:MessageHeader>", `<v:Note xmlns:v="urn:vendor">n</v:Note>`), nil},
		{"ForeignUnknownLeaf", before(minimalStatus, "<edXML:StatusCode>", `<v:Priority xmlns:v="urn:vendor">1</v:Priority>`), nil},
		{"DefaultNamespace", strings.NewReplacer("edXML:", "", "xmlns:edXML", "xmlns:unused").Replace(minimalStatus), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt, _, err := envelope.Parse([]byte(tc.in))
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("Parse = %v (From %q), want ErrMalformed", err, from(pkt))
			}
			for _, s := range tc.refused {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func from(pkt *envelope.Packet) string {
	if pkt == nil {
		return ""
	}
	return pkt.From().OrganID
}

// undeclareEdXML rewrites a packet written with the prefix edXML, declared
// on edXMLEnvelope, so that edXMLEnvelope, edXMLHeader and edXMLBody are of the
// default edXML namespace the root declares and the prefix edXML is
// declared nowhere: MessageHeader and the rest keep it, undeclared.
func undeclareEdXML(t testing.TB, s string) string {
	t.Helper()
	const decl = `<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">`
	if !strings.Contains(s, decl) {
		t.Fatalf("%q not in the packet", decl)
	}
	return strings.NewReplacer(decl, "<edXMLEnvelope>", "</edXML:edXMLEnvelope>", "</edXMLEnvelope>",
		"<edXML:edXMLHeader>", "<edXMLHeader>", "</edXML:edXMLHeader>", "</edXMLHeader>",
		"<edXML:edXMLBody>", "<edXMLBody>", "</edXML:edXMLBody>", "</edXMLBody>").Replace(s)
}

// TestParse_UndeclaredEdXMLPrefix: the prefix edXML undeclared is read, with
// a warning, only where the official sample edoc.edxml has it, on
// AttachmentEncoded and its subtree outside edXMLEnvelope; on the root and
// inside edXMLEnvelope (header, body, the Signature's header) it makes the
// packet malformed, naming the element and the prefix. Before, it was read
// anywhere: a packet whose envelope and header were of the default edXML
// namespace, with <edXML:MessageHeader> of the prefix undeclared, was
// valid on receive and routed by its From, while a DMS reading by
// namespace found no edXML MessageHeader in it, and Xerces refuses it
// (issue 20, re-review S3).
func TestParse_UndeclaredEdXMLPrefix(t *testing.T) {
	edoc := string(readSample(t, "edoc_update.edxml"))
	plain := strings.NewReplacer("edXML:", "", "xmlns:edXML", "xmlns:unused").Replace(edoc)
	first := func(s, old, new string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in the packet", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	for _, tc := range []struct {
		name, in string
		refused  []string // what the error says; nil: accepted
	}{
		// The re-reviewer's packet.
		{"MessageHeader", undeclareEdXML(t, minimalStatus),
			[]string{"<edXML:MessageHeader>", "edXMLHeader/MessageHeader", `prefix "edXML"`}},
		{"EdocMessageHeader", undeclareEdXML(t, edoc),
			[]string{"<edXML:MessageHeader>", "edXMLHeader/MessageHeader", `prefix "edXML"`}},
		{"ManifestAttachmentName", first(first(plain, "<AttachmentName>", "<edXML:AttachmentName>"), "</AttachmentName>", "</edXML:AttachmentName>"),
			[]string{"<edXML:AttachmentName>", "edXMLBody/edXMLManifest/Reference[1]/AttachmentName", `prefix "edXML"`}},
		{"From", first(first(plain, "<From>", "<edXML:From>"), "</From>", "</edXML:From>"),
			[]string{"<edXML:From>", "MessageHeader/From", `prefix "edXML"`}},
		{"OrganId", first(first(plain, "<OrganId>", "<edXML:OrganId>"), "</OrganId>", "</edXML:OrganId>"),
			[]string{"<edXML:OrganId>", `prefix "edXML"`}},
		{"Envelope", first(minimalStatus, `<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">`, `<edXML:edXMLEnvelope>`),
			[]string{"<edXML:edXMLEnvelope>", `prefix "edXML"`}},
		{"Header", first(first(plain, "<edXMLHeader>", "<edXML:edXMLHeader>"), "</edXMLHeader>", "</edXML:edXMLHeader>"),
			[]string{"<edXML:edXMLHeader>", "edXMLEnvelope/edXMLHeader", `prefix "edXML"`}},
		{"Body", first(first(plain, "<edXMLBody>", "<edXML:edXMLBody>"), "</edXMLBody>", "</edXML:edXMLBody>"),
			[]string{"<edXML:edXMLBody>", "edXMLEnvelope/edXMLBody", `prefix "edXML"`}},
		{"TraceHeaderList", first(first(plain, "<TraceHeaderList>", "<edXML:TraceHeaderList>"), "</TraceHeaderList>", "</edXML:TraceHeaderList>"),
			[]string{"<edXML:TraceHeaderList>", `prefix "edXML"`}},
		{"Root", first(strings.TrimSpace(plain)[:len(strings.TrimSpace(plain))-len("</edXML>")]+"</edXML:edXML>",
			`<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">`, `<edXML:edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">`),
			[]string{"<edXML:edXML>", `prefix "edXML"`}},
		// Read as before, as the official sample has it: AttachmentEncoded
		// and its subtree, outside edXMLEnvelope.
		{"AttachmentEncoded", first(first(plain, "<AttachmentEncoded>", "<edXML:AttachmentEncoded>"), "</AttachmentEncoded>", "</edXML:AttachmentEncoded>"), nil},
		{"Attachment", first(first(plain, "<Attachment>", "<edXML:Attachment>"), "</Attachment>", "</edXML:Attachment>"), nil},
		{"AttachmentName", attached(t, plain, "AttachmentName"), nil},
		{"ContentType", attached(t, plain, "ContentType"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt, warns, err := envelope.Parse([]byte(tc.in))
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !slices.ContainsFunc(warns, func(w envelope.Warning) bool { return w.Code == "undeclared-prefix" }) {
					t.Errorf("no undeclared-prefix warning in %+v", warns)
				}
				return
			}
			if !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("Parse = %v (From %q), want ErrMalformed", err, from(pkt))
			}
			for _, s := range tc.refused {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	// The official sample keeps its tolerance, with its warning.
	_, warns, err := envelope.Parse(readSample(t, "edoc.edxml"))
	if err != nil {
		t.Fatalf("edoc.edxml: %v", err)
	}
	if !slices.ContainsFunc(warns, func(w envelope.Warning) bool {
		return w.Code == "undeclared-prefix" && w.Path == "AttachmentEncoded"
	}) {
		t.Errorf("edoc.edxml: no undeclared-prefix warning on AttachmentEncoded in %+v", warns)
	}
}

// attached gives tag, in the AttachmentEncoded of s, the prefix edXML,
// declared nowhere.
func attached(t testing.TB, s, tag string) string {
	t.Helper()
	i := strings.Index(s, "<AttachmentEncoded>")
	if i < 0 || !strings.Contains(s[i:], "<"+tag+">") {
		t.Fatalf("<%s> not in the AttachmentEncoded of the packet", tag)
	}
	return s[:i] + strings.NewReplacer("<"+tag+">", "<edXML:"+tag+">", "</"+tag+">", "</edXML:"+tag+">").Replace(s[i:])
}
