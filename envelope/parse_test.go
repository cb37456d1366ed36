package envelope_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// minimalStatus is a small valid status packet in the shape real software
// sends.
const minimalStatus = `<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:From>
        <edXML:ResponseFor><edXML:OrganId>000.00.00.G22</edXML:OrganId><edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId></edXML:ResponseFor>
        <edXML:StatusCode>01</edXML:StatusCode>
        <edXML:Timestamp>2025/11/20 09:00:00</edXML:Timestamp>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>
`

func TestParse_Tolerances(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantWarn string // a warning code, "" for none
	}{
		{"Clean", minimalStatus, ""},
		{"BOM", "\xef\xbb\xbf" + minimalStatus, "bom"},
		{"StrayBytes", "1212" + minimalStatus, "leading-bytes"},
		{"BOMAndStrayBytes", "\xef\xbb\xbfxx" + minimalStatus, "leading-bytes"},
		{"LeadingWhitespace", "\r\n  " + minimalStatus, ""},
		{"CRLF", strings.ReplaceAll(minimalStatus, "\n", "\r\n"), ""},
		{"NoDeclaration", minimalStatus[strings.Index(minimalStatus, "<edXML "):], ""},
		{"UnknownElement", strings.Replace(minimalStatus, "<edXML:StatusCode>", "<edXML:ApplicationType>x</edXML:ApplicationType><edXML:StatusCode>", 1), "unknown-element"},
		{"NoPrefixes", strings.NewReplacer("edXML:", "", "xmlns:edXML", "xmlns:unused").Replace(minimalStatus), ""},
		{"ShortStatusCode", strings.Replace(minimalStatus, ">01<", "> 1 <", 1), "status-code"},
		{"Comments", strings.Replace(minimalStatus, "<edXML:StatusCode>01", "<!-- c --><edXML:StatusCode><!-- c -->01", 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warns, err := envelope.Parse([]byte(tt.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Status == nil || p.Status.StatusCode != envelope.StatusArrived || p.Status.ResponseFor.OrganID != "000.00.00.G22" {
				t.Fatalf("read %+v", p.Status)
			}
			codes := warningCodes(warns)
			if tt.wantWarn == "" && len(codes) != 0 {
				t.Errorf("warnings %v, want none", codes)
			}
			if tt.wantWarn != "" && !strings.Contains(strings.Join(codes, ","), tt.wantWarn) {
				t.Errorf("warnings %v, want %s", codes, tt.wantWarn)
			}
		})
	}
}

// TestParse_WarningPaths: warnings and extras name where they are, for an
// element inside a leaf and an unknown element in a container, whose paths
// the reader makes only when it needs them. (A repeated leaf, warned about
// before issue 20, is refused: TestParse_AmbiguousRefused.)
func TestParse_WarningPaths(t *testing.T) {
	in := strings.NewReplacer(
		"<edXML:OrganId>000.00.00.H41</edXML:OrganId>", "<edXML:OrganId>000.00.00.H41<edXML:Note>n</edXML:Note></edXML:OrganId><edXML:Extra>e</edXML:Extra>",
	).Replace(minimalStatus)
	p, warns, err := envelope.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.Code+" "+w.Path)
	}
	want := []string{
		"unknown-element MessageHeader/From/OrganId/Note",
		"unknown-element MessageHeader/From/Extra",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	var extras []string
	for _, e := range p.Extras {
		extras = append(extras, e.Path)
	}
	if want := []string{"MessageHeader/From/OrganId/Note", "MessageHeader/From/Extra"}; !reflect.DeepEqual(extras, want) {
		t.Errorf("extras %q, want %q", extras, want)
	}
	if p.Status.From.OrganID != "000.00.00.H41" || p.Status.StatusCode != envelope.StatusArrived {
		t.Errorf("read %+v", p.Status)
	}
}

func TestParse_Refuses(t *testing.T) {
	deep := func(n int) string {
		return minimalStatus[:strings.Index(minimalStatus, "</edXML>")] + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + "</edXML>"
	}
	tests := []struct {
		name    string
		input   string
		wantErr error
	}{
		{"Empty", "", envelope.ErrMalformed},
		{"NotXML", "hello, world", envelope.ErrMalformed},
		{"Truncated", minimalStatus[:len(minimalStatus)/2], envelope.ErrMalformed},
		{"OtherRoot", `<?xml version="1.0"?><html><body/></html>`, envelope.ErrMalformed},
		{"NoEnvelope", `<edXML xmlns="` + ns + `"></edXML>`, envelope.ErrMalformed},
		{"NoHeader", `<edXML xmlns="` + ns + `"><edXMLEnvelope/></edXML>`, envelope.ErrMalformed},
		{"NoMessageHeader", `<edXML xmlns="` + ns + `"><edXMLEnvelope><edXMLHeader/></edXMLEnvelope></edXML>`, envelope.ErrMalformed},
		{"MismatchedTags", `<edXML><edXMLEnvelope></edXML></edXMLEnvelope>`, envelope.ErrMalformed},
		{"UndefinedEntity", strings.Replace(minimalStatus, ">01<", ">&lol;<", 1), envelope.ErrMalformed},
		{"NulCharacterReference", strings.Replace(minimalStatus, ">01<", ">&#0;<", 1), envelope.ErrMalformed},
		{"InvalidUTF8", strings.Replace(minimalStatus, ">01<", ">\xff\xfe<", 1), envelope.ErrMalformed},
		{"BillionLaughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>` +
			strings.Replace(minimalStatus[strings.Index(minimalStatus, "<edXML "):], ">01<", ">&lol2;<", 1), envelope.ErrForbiddenXML},
		{"ExternalEntity", `<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			strings.Replace(minimalStatus[strings.Index(minimalStatus, "<edXML "):], ">01<", ">&xxe;<", 1), envelope.ErrForbiddenXML},
		{"DirectiveInElement", strings.Replace(minimalStatus, "<edXML:StatusCode>", "<!ELEMENT x ANY><edXML:StatusCode>", 1), envelope.ErrForbiddenXML},
		{"DeepNesting", deep(1000), envelope.ErrForbiddenXML},
		{"VeryDeepNesting", deep(150_000), envelope.ErrForbiddenXML},
		{"DirectiveAfterRoot", minimalStatus + `<!DOCTYPE x>`, envelope.ErrForbiddenXML},
		// Hostile shapes the default limits refuse before parsing; their
		// cost is checked in TestParse_CraftedLinear.
		{"AttributesOnOneElement", string(attributesOnOne(envelope.DefaultMaxAttributes + 1)), envelope.ErrForbiddenXML},
		{"AttributesSpread", string(attributesSpread(envelope.DefaultMaxTotalAttributes + 1)), envelope.ErrForbiddenXML},
		{"NamespaceDeclsOnOneElement", string(namespaceDeclsOnOne(envelope.DefaultMaxNamespaceDecls + 1)), envelope.ErrForbiddenXML},
		{"NamespaceDeclsSpread", string(namespaceDeclsSpread(envelope.DefaultMaxTotalNamespaceDecls + 1)), envelope.ErrForbiddenXML},
		{"DistinctPrefixes", string(distinctPrefixes(envelope.DefaultMaxNamespacePrefixes)), envelope.ErrForbiddenXML},
		{"LongAttributeValue", string(longAttributeValue(envelope.DefaultMaxAttributeValue + 1)), envelope.ErrForbiddenXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := envelope.Parse([]byte(tt.input))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "passwd") && tt.name != "ExternalEntity" {
				t.Errorf("error leaks input: %v", err)
			}
		})
	}
}

// countingReader yields n bytes of a packet-like stream and counts what was
// read.
type countingReader struct {
	r    io.Reader
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

// zeros is an endless stream of 'A's (valid base64).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestParser_SizeLimit(t *testing.T) {
	t.Run("StreamStopsAtLimit", func(t *testing.T) {
		p := envelope.Parser{MaxSize: 1 << 20}
		cr := &countingReader{r: io.MultiReader(strings.NewReader(minimalStatus), zeros{})}
		_, _, err := p.Parse(cr)
		if !errors.Is(err, envelope.ErrTooLarge) {
			t.Fatalf("Parse = %v, want ErrTooLarge", err)
		}
		if cr.read > p.MaxSize+1 {
			t.Errorf("read %d bytes, more than the limit %d + 1", cr.read, p.MaxSize)
		}
		if !strings.Contains(err.Error(), "1048576") {
			t.Errorf("error %q does not name the limit", err)
		}
	})
	t.Run("KnownLengthNotRead", func(t *testing.T) {
		p := envelope.Parser{MaxSize: 100}
		r := bytes.NewReader([]byte(minimalStatus))
		_, _, err := p.Parse(r)
		if !errors.Is(err, envelope.ErrTooLarge) {
			t.Fatalf("Parse = %v, want ErrTooLarge", err)
		}
		if r.Len() != len(minimalStatus) {
			t.Errorf("read %d bytes of a reader whose length was known to be too large", len(minimalStatus)-r.Len())
		}
	})
	t.Run("Bytes", func(t *testing.T) {
		p := envelope.Parser{MaxSize: 100}
		if _, _, err := p.ParseBytes([]byte(minimalStatus)); !errors.Is(err, envelope.ErrTooLarge) {
			t.Fatalf("ParseBytes = %v, want ErrTooLarge", err)
		}
	})
	t.Run("AtLimit", func(t *testing.T) {
		p := envelope.Parser{MaxSize: int64(len(minimalStatus))}
		if _, _, err := p.Parse(strings.NewReader(minimalStatus)); err != nil {
			t.Fatalf("Parse of a packet exactly at the limit: %v", err)
		}
	})
	t.Run("MarkupLimit", func(t *testing.T) {
		p := envelope.Parser{MaxMarkup: 20}
		if _, _, err := p.ParseBytes([]byte(minimalStatus)); !errors.Is(err, envelope.ErrForbiddenXML) {
			t.Fatalf("ParseBytes = %v, want ErrForbiddenXML", err)
		}
	})
}

// Hostile shapes: minimalStatus with n of something cheap to send and
// costly to parse added after its envelope. minimalStatus has two
// attributes of its own, both namespace declarations (the default
// namespace and the prefix edXML).
const baseAttrs = 2

func crafted(body func(b *bytes.Buffer)) []byte {
	var b bytes.Buffer
	end := strings.Index(minimalStatus, "</edXML>")
	b.WriteString(minimalStatus[:end])
	body(&b)
	b.WriteString(minimalStatus[end:])
	return b.Bytes()
}

// attributesOnOne has one element with n attributes.
func attributesOnOne(n int) []byte {
	return crafted(func(b *bytes.Buffer) {
		b.WriteString("<x")
		for i := range n {
			fmt.Fprintf(b, ` a%d="v"`, i)
		}
		b.WriteString("/>")
	})
}

// attributesSpread has n attributes, a hundred on each element: under the
// limit per element.
func attributesSpread(n int) []byte {
	return crafted(func(b *bytes.Buffer) {
		for i := range n {
			if i%100 == 0 {
				b.WriteString("<x")
			}
			fmt.Fprintf(b, ` a%d="v"`, i%100)
			if i%100 == 99 || i == n-1 {
				b.WriteString("/>")
			}
		}
	})
}

// namespaceDeclsOnOne has one element declaring n prefixes.
func namespaceDeclsOnOne(n int) []byte {
	return crafted(func(b *bytes.Buffer) {
		b.WriteString("<x")
		for i := range n {
			fmt.Fprintf(b, ` xmlns:p%d="u"`, i)
		}
		b.WriteString("/>")
	})
}

// namespaceDeclsSpread has n namespace declarations, thirty on each
// element: under the limit per element, and of the same thirty prefixes.
func namespaceDeclsSpread(n int) []byte {
	return crafted(func(b *bytes.Buffer) {
		for i := range n {
			if i%30 == 0 {
				b.WriteString("<x")
			}
			fmt.Fprintf(b, ` xmlns:p%d="u"`, i%30)
			if i%30 == 29 || i == n-1 {
				b.WriteString("/>")
			}
		}
	})
}

// distinctPrefixes has n elements, each declaring and using a prefix of
// its own.
func distinctPrefixes(n int) []byte {
	return crafted(func(b *bytes.Buffer) {
		for i := range n {
			fmt.Fprintf(b, `<p%d:x xmlns:p%[1]d="u"/>`, i)
		}
	})
}

// longAttributeValue has one attribute n bytes long.
func longAttributeValue(n int) []byte {
	return crafted(func(b *bytes.Buffer) {
		b.WriteString(`<x a="`)
		b.Write(bytes.Repeat([]byte("v"), n))
		b.WriteString(`"/>`)
	})
}

// TestParser_AttributeLimits checks each limit on attributes and namespace
// declarations: a packet at the limit is read, one more is refused with an
// error that says which limit and its number.
func TestParser_AttributeLimits(t *testing.T) {
	tests := []struct {
		name          string
		p             envelope.Parser
		atLimit, over []byte
		wantMsg       string
	}{
		{"PerElement", envelope.Parser{MaxAttributes: 5},
			attributesOnOne(5), attributesOnOne(6), "element <x> has more than 5 attributes"},
		{"Total", envelope.Parser{MaxTotalAttributes: baseAttrs + 300},
			attributesSpread(300), attributesSpread(301), "more than 302 attributes in the packet"},
		{"Value", envelope.Parser{MaxAttributeValue: 100},
			longAttributeValue(100), longAttributeValue(101), "attribute a of element <x> is longer than 100 bytes"},
		{"NamespaceDeclsPerElement", envelope.Parser{MaxNamespaceDecls: 5},
			namespaceDeclsOnOne(5), namespaceDeclsOnOne(6), "element <x> has more than 5 namespace declarations"},
		{"NamespaceDeclsTotal", envelope.Parser{MaxTotalNamespaceDecls: baseAttrs + 90},
			namespaceDeclsSpread(90), namespaceDeclsSpread(91), "more than 92 namespace declarations in the packet"},
		{"Prefixes", envelope.Parser{MaxNamespacePrefixes: baseAttrs + 10},
			distinctPrefixes(10), distinctPrefixes(11), "more than 12 distinct namespace prefixes declared"},
		{"LongName", envelope.Parser{MaxAttributes: 1},
			crafted(func(b *bytes.Buffer) { b.WriteString("<" + strings.Repeat("x", 200) + ` a="1"/>`) }),
			crafted(func(b *bytes.Buffer) { b.WriteString("<" + strings.Repeat("x", 200) + ` a="1" b="2"/>`) }),
			"element <" + strings.Repeat("x", 64) + "…> has more than 1 attributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := tt.p.ParseBytes(tt.atLimit); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			_, _, err := tt.p.ParseBytes(tt.over)
			if !errors.Is(err, envelope.ErrForbiddenXML) {
				t.Fatalf("over the limit: %v, want ErrForbiddenXML", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
	t.Run("OnlyInStartTags", func(t *testing.T) {
		// What looks like attributes in comments, CDATA, instructions and
		// text is not counted, nor is what follows a quoted '>' or '='.
		p := envelope.Parser{MaxAttributes: 1, MaxTotalAttributes: baseAttrs + 1, MaxNamespaceDecls: 1, MaxTotalNamespaceDecls: baseAttrs}
		b := crafted(func(b *bytes.Buffer) {
			b.WriteString(`<x a='b=&quot;c&quot; d="e" >/>'>` +
				`<!-- <y a="1" b="2" xmlns:q="u"> --><![CDATA[<y a="1" b="2">]]><?pi a="1" b="2"?>a="1" b="2"</x>`)
		})
		if _, _, err := p.ParseBytes(b); err != nil {
			t.Fatalf("ParseBytes: %v", err)
		}
	})
}

// statusWithDescription returns a status packet whose Description holds n
// bytes of text.
func statusWithDescription(n int) []byte {
	var b bytes.Buffer
	b.Grow(len(minimalStatus) + n + 64)
	i := strings.Index(minimalStatus, "<edXML:Timestamp>")
	b.WriteString(minimalStatus[:i])
	b.WriteString("<edXML:Description>")
	b.Write(bytes.Repeat([]byte("Đ"), n/2))
	b.WriteString("</edXML:Description>")
	b.WriteString(minimalStatus[i:])
	return b.Bytes()
}

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParse_HugeTextNode parses a packet with a 100 MB text node: refused
// by the default limit, read when the limit allows it, with memory linear in
// the size (checked by comparing what 25 MB and 100 MB allocate; timings are
// in BenchmarkParse_Crafted).
func TestParse_HugeTextNode(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 1 GB in all")
	}
	huge := statusWithDescription(100 << 20)
	if _, _, err := envelope.Parse(huge); !errors.Is(err, envelope.ErrTooLarge) {
		t.Fatalf("default Parser on %d bytes = %v, want ErrTooLarge", len(huge), err)
	}
	p := envelope.Parser{MaxSize: 128 << 20}
	var got *envelope.Packet
	big := allocated(func() {
		var err error
		got, _, err = p.ParseBytes(huge)
		if err != nil {
			t.Fatalf("ParseBytes: %v", err)
		}
	})
	if n := len(got.Status.Description); n != 100<<20 {
		t.Fatalf("Description is %d bytes, want %d", n, 100<<20)
	}
	quarter := statusWithDescription(25 << 20)
	small := allocated(func() {
		if _, _, err := p.ParseBytes(quarter); err != nil {
			t.Fatalf("ParseBytes: %v", err)
		}
	})
	t.Logf("allocated %d MB for 25 MB, %d MB for 100 MB", small>>20, big>>20)
	if big > 5*small {
		t.Errorf("allocation grows faster than the input: %d for 25 MB, %d for 100 MB", small, big)
	}
	if big > 8*uint64(len(huge)) {
		t.Errorf("allocated %d bytes for a %d byte packet", big, len(huge))
	}
}

// craftedShapes are hostile packets: each is made of n of something cheap
// to send and costly to parse. The default limits refuse every one of them
// at n = 200_000, with an error saying refused.
var craftedShapes = []struct {
	name    string
	make    func(n int) []byte
	refused string
}{
	{"AttributesOnOneElement", attributesOnOne, "element <x> has more than 128 attributes"},
	{"DuplicateAttributes", func(n int) []byte {
		return crafted(func(b *bytes.Buffer) { b.WriteString("<x" + strings.Repeat(` a="v"`, n) + "/>") })
	}, "element <x> has more than 128 attributes"},
	{"AttributesSpread", attributesSpread, "more than 100000 attributes in the packet"},
	{"NamespaceDeclsOnOneElement", namespaceDeclsOnOne, "element <x> has more than 32 namespace declarations"},
	{"NamespaceDeclsSpread", namespaceDeclsSpread, "more than 20000 namespace declarations in the packet"},
	{"DistinctPrefixes", distinctPrefixes, "more than 64 distinct namespace prefixes"},
	{"LongAttributeValue", func(n int) []byte { return longAttributeValue(100 * n) }, "is longer than 65536 bytes"},
	{"Elements", func(n int) []byte {
		return crafted(func(b *bytes.Buffer) { b.WriteString(strings.Repeat("<x/>", n)) })
	}, "more than 200000 pieces of markup"},
	{"Recipients", func(n int) []byte {
		to := "<edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To>"
		return []byte(strings.Replace(minimalStatus, "<edXML:StatusCode>01</edXML:StatusCode>", strings.Repeat(to, n), 1))
	}, "more than 200000 pieces of markup"},
}

// TestParse_CraftedLinear checks that hostile shapes cost memory linear in
// their size. Each is read twice:
//
//   - with every limit out of the way, 4× the input must allocate at most
//     6× the memory: the parser itself is linear (encoding/xml does not
//     look for duplicate attributes, etree does with a map, and neither
//     resolves namespaces while reading);
//   - with the default limits, it must be refused with ErrForbiddenXML
//     before any tree is built: for less memory than a quarter of its
//     size, where reading it would take tens of times its size.
//
// Memory is measured as bytes allocated, which unlike time does not
// depend on the machine.
func TestParse_CraftedLinear(t *testing.T) {
	raised := envelope.Parser{MaxMarkup: 10_000_000, MaxAttributes: 1 << 30, MaxTotalAttributes: 1 << 30,
		MaxAttributeValue: 1 << 30, MaxNamespaceDecls: 1 << 30, MaxTotalNamespaceDecls: 1 << 30, MaxNamespacePrefixes: 1 << 30}
	for _, shape := range craftedShapes {
		t.Run(shape.name, func(t *testing.T) {
			t.Run("Linear", func(t *testing.T) {
				small, large := shape.make(10_000), shape.make(40_000)
				parse := func(b []byte) func() {
					return func() { _, _, _ = raised.ParseBytes(b) }
				}
				a, b := allocated(parse(small)), allocated(parse(large))
				if b > 6*a {
					t.Errorf("4× the input allocates %.1f× the memory (%d → %d bytes)", float64(b)/float64(a), a, b)
				}
			})
			t.Run("Refused", func(t *testing.T) {
				hostile := shape.make(200_000)
				var err error
				n := allocated(func() { _, _, err = envelope.Parse(hostile) })
				switch {
				case !errors.Is(err, envelope.ErrForbiddenXML):
					t.Errorf("Parse = %v, want ErrForbiddenXML", err)
				case !strings.Contains(err.Error(), shape.refused):
					t.Errorf("error %q does not say %q", err, shape.refused)
				}
				t.Logf("%d bytes: %d bytes allocated, %v", len(hostile), n, err)
				if n > uint64(len(hostile))/4 {
					t.Errorf("refusing %d bytes allocated %d bytes", len(hostile), n)
				}
			})
		})
	}
}

// FuzzParse feeds the parser mutations of the official samples. The parser
// must never panic; what it accepts must encode (leniently) and read back
// to the same values.
func FuzzParse(f *testing.F) {
	big := regexp.MustCompile(`(?s)(ContentTransferEncoded[^>]*>)([A-Za-z0-9+/=\s]{64})[A-Za-z0-9+/=\s]*`)
	for _, name := range sampleNames(f) {
		b := readSample(f, name)
		// The large samples' attachments make every run slow; the fuzzer
		// learns as much from their first bytes.
		f.Add(big.ReplaceAll(b, []byte("$1$2")))
	}
	f.Add([]byte(minimalStatus))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := envelope.Parser{MaxSize: 1 << 20}
		pkt, _, err := p.ParseBytes(b)
		if err != nil {
			if !errors.Is(err, envelope.ErrMalformed) && !errors.Is(err, envelope.ErrForbiddenXML) && !errors.Is(err, envelope.ErrTooLarge) {
				t.Fatalf("Parse error of an unknown kind: %v", err)
			}
			return
		}
		_ = envelope.Validate(pkt, envelope.ProfileSend())
		_ = envelope.Validate(pkt, envelope.ProfileReceive())
		out, err := envelope.Encoder{Lenient: true}.Encode(pkt)
		if err != nil {
			t.Fatalf("a parsed packet does not encode: %v", err)
		}
		again, _, err := envelope.Parse(out)
		if err != nil {
			t.Fatalf("an encoded packet does not parse: %v\n%s", err, out)
		}
		pkt.Signature, pkt.Extras = nil, nil
		if !reflect.DeepEqual(again, pkt) {
			t.Fatalf("encode(parse(x)) reads back differently\n got: %#v\nwant: %#v", show(again), show(pkt))
		}
	})
}

// TestParse_SignatureAlgorithmUnprefixed: the description of a signature
// names the algorithm of the unprefixed Algorithm attribute, the one the
// verifier reads, not a prefixed one written before it.
func TestParse_SignatureAlgorithmUnprefixed(t *testing.T) {
	b, err := os.ReadFile("testdata/samples/edoc.edxml")
	if err != nil {
		t.Fatal(err)
	}
	const sha1 = "http://www.w3.org/2000/09/xmldsig#sha1"
	old := `<DigestMethod Algorithm="` + sha1 + `" />`
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not in the sample", old)
	}
	b = bytes.Replace(b, []byte(old), []byte(`<DigestMethod xmlns:x="urn:x" x:Algorithm="urn:bogus" Algorithm="`+sha1+`" />`), 1)
	p, _, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Signature == nil {
		t.Fatal("no signature described")
	}
	if got := p.Signature.DigestMethod; got != sha1 {
		t.Errorf("DigestMethod %q, want %q", got, sha1)
	}
}

// TestParse_DuplicateAttributeRefused: an attribute written twice on an
// element, by the same name or through two prefixes bound to the same
// namespace, makes the packet not well-formed: it is refused, naming the
// element and the attribute, rather than read with one of its values (etree
// keeps the last, other software the first). Attributes of the same local
// name in different namespaces, or with and without a prefix, are allowed.
func TestParse_DuplicateAttributeRefused(t *testing.T) {
	b, err := os.ReadFile("testdata/samples/edoc.edxml")
	if err != nil {
		t.Fatal(err)
	}
	const sha1 = "http://www.w3.org/2000/09/xmldsig#sha1"
	old := `<DigestMethod Algorithm="` + sha1 + `" />`
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not in the sample", old)
	}
	status := strings.Replace(minimalStatus, "<edXML:StatusCode>", `<edXML:StatusCode xmlns:a="urn:x" xmlns:b="urn:x" %s>`, 1)
	for _, tc := range []struct {
		name, in string
		refused  []string // what the error names; nil: accepted
	}{
		{"SameName", string(bytes.Replace(b, []byte(old), []byte(`<DigestMethod Algorithm="`+sha1+`" Algorithm="urn:other" />`), 1)),
			[]string{"<DigestMethod>", "attribute Algorithm twice"}},
		{"SamePrefixedName", fmt.Sprintf(status, `a:id="1" a:id="2"`), []string{"<edXML:StatusCode>", "attribute a:id twice"}},
		{"SameNamespace", fmt.Sprintf(status, `a:id="1" b:id="2"`), []string{"<edXML:StatusCode>", "a:id and b:id", "{urn:x}id"}},
		{"SameNamespaceDeclaredAbove", strings.Replace(minimalStatus, "<edXML:StatusCode>", `<edXML:StatusCode xmlns:e="http://www.mic.gov.vn/TBT/QCVN_102_2016" e:id="1" edXML:id="2">`, 1),
			[]string{"<edXML:StatusCode>", "e:id and edXML:id"}},
		{"XMLNamespace", fmt.Sprintf(status, `xml:lang="vi" xmlns:l="http://www.w3.org/XML/1998/namespace" l:lang="en"`), []string{"binds the prefix l to http://www.w3.org/XML/1998/namespace"}},
		{"SameDeclaration", fmt.Sprintf(status, `xmlns:c="urn:y" xmlns:c="urn:z"`), []string{"attribute xmlns:c twice"}},
		{"OtherNamespace", fmt.Sprintf(status, `xmlns:c="urn:y" a:id="1" c:id="2"`), nil},
		{"PrefixedAndNot", fmt.Sprintf(status, `a:id="1" id="2"`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := envelope.Parse([]byte(tc.in))
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
			for _, s := range tc.refused {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}
