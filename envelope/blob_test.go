package envelope

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestParse_DoesNotShareInput checks that a Packet keeps none of the
// input's memory, though the tree it is read from shares long base64 runs
// with it: the caller may reuse the buffer. Each text here is a run long
// enough to share that is shorter once trimmed.
func TestParse_DoesNotShareInput(t *testing.T) {
	b, err := os.ReadFile("testdata/samples/edoc.edxml")
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat(" \n", blobMin)
	const subject = "QUJDRA=="
	const subjectName = "CN=Tuan"
	for _, r := range [][2]string{
		{"<edXML:Subject>Văn bản liên thông chỉ đạo - 190701</edXML:Subject>", "<edXML:Subject>" + pad + subject + pad + "</edXML:Subject>"},
		{"<X509Certificate>", "<X509Certificate>" + pad},
		{"</X509Certificate>", pad + "</X509Certificate>"},
		{"<X509Data>", "<X509Data><X509SubjectName>" + pad + subjectName + pad + "</X509SubjectName>"},
	} {
		if !bytes.Contains(b, []byte(r[0])) {
			t.Fatalf("%q not in the sample", r[0])
		}
		b = bytes.Replace(b, []byte(r[0]), []byte(r[1]), 1)
	}
	p, _, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Signature == nil || len(p.Signature.Certificates) != 1 {
		t.Fatalf("signature %+v", p.Signature)
	}
	cert := strings.Clone(p.Signature.Certificates[0])
	for i := range b {
		b[i] = 'x'
	}
	if got := p.Edoc.Header.Subject; got != subject {
		t.Errorf("Subject %.20q after the input changed, want %q", got, subject)
	}
	if got := p.Signature.SubjectName; got != subjectName {
		t.Errorf("SubjectName %.20q after the input changed, want %q", got, subjectName)
	}
	if got := p.Signature.Certificates[0]; got != cert {
		t.Errorf("certificate %.20q after the input changed, want %.20q", got, cert)
	}
}
