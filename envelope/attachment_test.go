package envelope_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// pdfObjects are the objects of a small one-page PDF, unsigned.
const pdfObjects = "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
	"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n" +
	"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"

// pdf returns a PDF file: the header, the objects of pdfObjects, the given
// objects, then a trailer.
func pdf(objects ...string) []byte {
	return []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + pdfObjects + strings.Join(objects, "") +
		"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n0\n%%EOF\n")
}

// sigObject is a signature dictionary as signing software writes it, with
// dict the keys before /ByteRange.
func sigObject(dict string) string {
	return "5 0 obj\n<<" + dict + " /ByteRange [0 1234 5678 910] /Contents <3082" +
		strings.Repeat("0", 64) + "> /M (D:20260302083000+07'00') /Reason (Ph\xea duy\xeat) >>\nendobj\n"
}

// zipOf returns a ZIP holding data as one file, stored or deflated.
func zipOf(t *testing.T, data []byte, method uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "công văn.pdf", Method: method})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAttachment_SignedPDF(t *testing.T) {
	signed := pdf(sigObject(" /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached"))
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"Signed/PKCS7Detached", signed, true},
		{"Signed/CAdESCompact", pdf(sigObject("/Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached")), true},
		{"Signed/SubFilterOnly", pdf(sigObject(" /SubFilter /adbe.pkcs7.sha1")), true},
		{"Signed/X509RSASHA1", pdf(sigObject(" /Filter /Adobe.PPKMS /SubFilter /adbe.x509.rsa_sha1")), true},
		{"Signed/FilterOnly", pdf(sigObject(" /Filter /Adobe.PPKLite")), true},
		{"Signed/TypeSigOnly", pdf(sigObject("\r\n/Type\r\n/Sig")), true},
		{"Signed/AfterJunk", append(bytes.Repeat([]byte{'x'}, 1024), signed...), true},
		{"Signed/SecondObject", pdf(
			"4 0 obj\n<< /ByteRange [0 1 2 3] /Note (not a signature) >>\nendobj\n",
			sigObject(" /Type /Sig /SubFilter /ETSI.CAdES.detached")), true},
		{"Signed/IncrementalUpdate", append(pdf(), pdf(sigObject(" /Type /Sig /Filter /Adobe.PPKLite"))[9:]...), true},
		{"Signed/Unterminated", signed[:bytes.Index(signed, []byte("endobj\ntrailer"))], true},

		{"Unsigned", pdf(), false},
		{"Unsigned/EmptySignatureField", pdf("4 0 obj\n<< /FT /Sig /T (Signature1) /Type /Annot /Subtype /Widget >>\nendobj\n"), false},
		{"Unsigned/ByteRangeAlone", pdf("4 0 obj\n<< /ByteRange [0 1 2 3] >>\nendobj\n"), false},
		{"Unsigned/SigAndByteRangeApart", pdf(
			"4 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite >>\nendobj\n",
			"5 0 obj\n<< /ByteRange [0 1 2 3] >>\nendobj\n"), false},
		{"Unsigned/DocTimeStamp", pdf(sigObject(" /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161")), false},
		{"Unsigned/LongerNames", pdf(sigObject(" /Type /SigRef /SubFilter /adbe.pkcs7.detachedX /Filter /Adobe.PPKLiteY")), false},
		{"Unsigned/TypeXSig", pdf(sigObject(" /TypeX /Sig")), false},
		{"Unsigned/JunkTooLong", append(bytes.Repeat([]byte{'x'}, 1025), signed...), false},
		{"Unsigned/HeaderOnly", []byte("%PDF-"), false},

		{"NotPDF/Empty", nil, false},
		{"NotPDF/Text", []byte("<< /Type /Sig /Filter /Adobe.PPKLite /ByteRange [0 1 2 3] >>"), false},
		{"NotPDF/DOCX", append([]byte("PK\x03\x04"), signed...), false},
		{"NotPDF/ZipStored", zipOf(t, signed, zip.Store), false},
		{"NotPDF/ZipDeflated", zipOf(t, signed, zip.Deflate), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := envelope.Attachment{Name: "công văn.pdf", Data: c.data}
			if got := a.SignedPDF(); got != c.want {
				t.Errorf("SignedPDF() = %t, want %t", got, c.want)
			}
		})
	}
}

// TestAttachment_SignedPDF_Large: a large PDF with many objects that
// mention /ByteRange is scanned in linear time.
func TestAttachment_SignedPDF_Large(t *testing.T) {
	var b strings.Builder
	for range 5000 {
		b.WriteString("4 0 obj\n<< /ByteRange [0 1 2 3] ")
		b.WriteString(strings.Repeat("/K (v) ", 100))
		b.WriteString(">>\nendobj\n")
	}
	data := pdf(b.String(), sigObject(" /Type /Sig"))
	a := envelope.Attachment{Data: data}
	if !a.SignedPDF() {
		t.Errorf("SignedPDF() = false for a %d-byte signed PDF", len(data))
	}
	a.Data = pdf(strings.Repeat("<< /ByteRange [0 1 2 3] /K (v) >>\n", 20000))
	if a.SignedPDF() {
		t.Error("SignedPDF() = true for a PDF whose /ByteRange objects are not signatures")
	}
}
