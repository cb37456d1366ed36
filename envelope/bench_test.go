package envelope_test

import (
	"math/rand/v2"
	"testing"

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
