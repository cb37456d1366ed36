package envelope

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// treeText serialises the tree read from b, with or without lifting.
func treeText(t testing.TB, b []byte, lift bool) (string, error) {
	var p Parser
	doc, _, err := p.readTree(b, lift)
	if err != nil {
		return "", err
	}
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s, nil
}

// sameTree checks that lifting base64 runs out of b changes nothing in the
// tree, nor whether b is accepted.
func sameTree(t testing.TB, b []byte) {
	t.Helper()
	slow, errSlow := treeText(t, b, false)
	fast, errFast := treeText(t, b, true)
	if (errSlow == nil) != (errFast == nil) {
		t.Fatalf("lifting changes the verdict: %v vs %v", errSlow, errFast)
	}
	if slow != fast {
		t.Fatalf("lifting changes the tree:\n%.400s\n---\n%.400s", slow, fast)
	}
}

func TestLiftBlobs_SameTree(t *testing.T) {
	names, err := filepath.Glob("testdata/samples/*.edxml")
	if err != nil || len(names) == 0 {
		t.Fatalf("samples: %v", err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, b)
	}
	run := strings.Repeat("QUJD", blobMin/4)
	cases := map[string]string{
		"Plain":        "<a>" + run + "</a>",
		"CRLF":         "<a>\r\n" + strings.Repeat("QUJD\r\n", blobMin/4) + "\r</a>",
		"OnlySpace":    "<a>" + strings.Repeat(" \n", blobMin) + "</a>",
		"TextAround":   "<a>x &gt; " + run + "<b/>" + run + "</a>",
		"InComment":    "<a><!-- >" + run + "< --></a>",
		"InCDATA":      "<a><![CDATA[>" + run + "<]]></a>",
		"InAttribute":  "<a x=\">" + run + "\"/>",
		"Unterminated": "<a>" + run,
		"Two":          "<a><b>" + run + "</b><c>" + run + run + "</c></a>",
		"ShortRun":     "<a>" + run[:blobMin-1] + "</a>",
		"CommentCRLF":  "<a><!-- >\r\n" + run + "\r\n< --></a>",
		"ProcInstCRLF": "<a><?pi >\r\n" + run + "\r< ?></a>",
		"CDATACRLF":    "<a><![CDATA[>\r\n" + run + "\r<]]></a>",
		"Directive":    "<a><!X <y>" + run + "<!-- z --> ></a>",
		"MarkerLike":   "<a>\uE000deadbeef:0\uE001" + run + "</a>",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) { sameTree(t, []byte(s)) })
	}
	if lifted, bl := liftBlobs([]byte(cases["Two"])); bl == nil || len(bl.runs) != 2 || bytes.Contains(lifted, []byte(run)) {
		t.Errorf("runs not lifted from %q", cases["Two"][:20])
	}
}

// FuzzLiftBlobs checks on arbitrary input that lifting never changes the
// tree or the verdict.
func FuzzLiftBlobs(f *testing.F) {
	run := strings.Repeat("QUJD", blobMin/4)
	f.Add("<a>", run, "</a>")
	f.Add("<a><!-- >", run, "< --></a>")
	f.Add("<a x=\">", run, "\"/>")
	f.Add("<a>\r\n", run+"\r", "\r\n</a>")
	f.Fuzz(func(t *testing.T, pre, mid, post string) {
		sameTree(t, []byte(pre+mid+post))
	})
}

// TestParse_DoesNotShareInput checks that a Packet keeps none of the
// input's memory, though the tree it is read from shares lifted runs with
// it: the caller may reuse the buffer. Each text here is a run long enough
// to lift that is shorter once trimmed.
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
