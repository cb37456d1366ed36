package envelope_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// TestReadTree_GeneratedSameAsEtree reads generated packets, as Encode
// writes them and with CR LF line ends, with the parser's own reader and
// with etree, and compares the trees: Vietnamese, characters Encode
// escapes, line ends in text and attachments of every size.
func TestReadTree_GeneratedSameAsEtree(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(19, 20))}
	for i := range 200 {
		p := g.edoc()
		if i%2 == 1 {
			p = g.status()
		}
		b, err := envelope.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		envelope.SameTreeAsEtree(t, b)
		envelope.SameTreeAsEtree(t, bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
	}
}
