package envelope_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// benchPacket returns an edoc of about size bytes once encoded: a typical
// header to three recipients and one attachment filling the rest.
func benchPacket(tb testing.TB, size int) (*envelope.Packet, []byte) {
	tb.Helper()
	g := gen{rand.New(rand.NewPCG(42, 42))}
	p := g.edoc()
	e := p.Edoc
	e.Attachments, e.Manifest = nil, nil
	head, err := envelope.Encode(p)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, (size-len(head)-300)*3/4)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = byte(r.IntN(256))
	}
	e.AddAttachment(envelope.Attachment{Name: "Công văn 7816.pdf", ContentType: "application/pdf", Data: data})
	b, err := envelope.Encode(p)
	if err != nil {
		tb.Fatal(err)
	}
	return p, b
}

var benchSizes = []struct {
	name string
	size int
}{{"20KB", 20 << 10}, {"20MB", 20 << 20}}

func BenchmarkParse(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			_, raw := benchPacket(b, bs.size)
			p := envelope.Parser{MaxSize: 64 << 20}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := p.ParseBytes(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			pkt, raw := benchPacket(b, bs.size)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := envelope.Encode(pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse_Samples parses the official samples, for comparison with
// what real software sends.
func BenchmarkParse_Samples(b *testing.B) {
	for _, name := range []string{"status_inbox_01.edxml", "edoc_new.edxml"} {
		b.Run(name, func(b *testing.B) {
			raw := readSample(b, name)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := envelope.Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadTree reads packets into a tree as every packet a gateway
// receives or accepts is read (Parser.ReadTree, before signature
// verification and FromTree): an edoc with a 360 KB attachment, a small one
// and a status packet, all official samples. Each read is followed by a
// SHA-256 of the same bytes, the floor of anything that looks at every byte
// of a packet, and the two are timed in turn, as signing's againstRSA
// does, because the machine's load changes while a benchmark runs. ns/op
// is the read's alone (the floor's is sha256-ns/op), x-sha256 their ratio;
// B/op and allocs/op are the read's (SHA-256 allocates nothing).
//
//	go test ./envelope -run '^$' -bench ReadTree -count 3
func BenchmarkReadTree(b *testing.B) {
	for _, name := range []string{"edoc_new.edxml", "edoc.edxml", "status_inbox_01.edxml"} {
		b.Run(name, func(b *testing.B) {
			raw := readSample(b, name)
			var p envelope.Parser
			var readNS, shaNS time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if _, _, err := p.ReadTree(raw); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				sha256.Sum256(raw)
				readNS += t1.Sub(t0)
				shaNS += time.Since(t1)
			}
			b.ReportMetric(float64(readNS)/float64(b.N), "ns/op")
			b.ReportMetric(float64(shaNS)/float64(b.N), "sha256-ns/op")
			b.ReportMetric(float64(readNS)/float64(shaNS), "x-sha256")
		})
	}
}

// BenchmarkReadTreeHostile reads the packet of the security review of
// issue 20 (see hostileNamespaces): 0.9 MB of children carrying p0:x …
// p31:x under 46 elements of 120 attributes, the prefixes declared at the
// root (Bound) or not (Unbound, refused).
//
//	go test ./envelope -run '^$' -bench 'ReadTree|Hostile' -benchtime 2x
func BenchmarkReadTreeHostile(b *testing.B) {
	for _, bound := range []bool{true, false} {
		name := map[bool]string{true: "Bound", false: "Unbound"}[bound]
		b.Run(name, func(b *testing.B) {
			raw := envelope.HostileNamespaces(bound)
			var p envelope.Parser
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				p.ReadTree(raw)
			}
		})
	}
}

// BenchmarkParse_Crafted reads hostile packets of 40 MB: each crafted
// shape filling the packet, then 4 MB of the same shape after a 36 MB
// attachment, so that the scan reads the attachment before it crosses a
// limit; and, for
// comparison, a packet whose one text node fills it. Every hostile shape
// is refused (ErrForbiddenXML) by a scan that allocates nothing: the time
// is that of the scan, the memory that of the error.
func BenchmarkParse_Crafted(b *testing.B) {
	const size = 40 << 20
	run := func(b *testing.B, raw []byte, wantErr error) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := envelope.Parse(raw); !errors.Is(err, wantErr) {
				b.Fatalf("Parse = %v, want %v", err, wantErr)
			}
		}
	}
	for _, shape := range craftedShapes {
		// n for about size bytes, from the size of a thousand.
		n := size / (len(shape.make(2000)) - len(shape.make(1000))) * 1000
		b.Run(shape.name, func(b *testing.B) {
			run(b, shape.make(n), envelope.ErrForbiddenXML)
		})
		b.Run(shape.name+"/AfterAttachment", func(b *testing.B) {
			run(b, afterAttachment(shape.make(n/10), size), envelope.ErrForbiddenXML)
		})
	}
	b.Run("Text", func(b *testing.B) {
		run(b, statusWithDescription(size), nil)
	})
}

// afterAttachment returns pkt with an attachment inserted after its
// envelope, making it size bytes long (when pkt is shorter).
func afterAttachment(pkt []byte, size int) []byte {
	const end = "</edXML:edXMLEnvelope>"
	i := bytes.Index(pkt, []byte(end)) + len(end)
	var b bytes.Buffer
	b.Grow(size)
	b.Write(pkt[:i])
	b.WriteString("<edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentTransferEncoded>")
	line := strings.Repeat("QUJD", 19) + "\n"
	for b.Len() < size-len(pkt)-100 {
		b.WriteString(line)
	}
	b.WriteString("</edXML:ContentTransferEncoded></edXML:Attachment></edXML:AttachmentEncoded>")
	b.Write(pkt[i:])
	return b.Bytes()
}
