package envelope_test

import (
	"errors"
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
