package signing

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// goxmldsigExcC14n is what digestCanonical did before excC14n: goxmldsig's
// transform and etree's canonical writer.
func goxmldsigExcC14n(el *etree.Element, prefixList string) ([]byte, error) {
	if err := etreeutils.TransformExcC14n(el, prefixList, false); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	el.WriteTo(&b, &canonicalWrite)
	return b.Bytes(), nil
}

func excC14nOf(el *etree.Element, prefixList string) ([]byte, error) {
	if err := newExcC14n(prefixList).transform(el); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	writeCanonical(&b, el)
	return b.Bytes(), nil
}

// sameExcC14n checks that excC14n and goxmldsig canonicalise doc alike,
// and leave the tree alike.
func sameExcC14n(t *testing.T, doc []byte, prefixList string) {
	t.Helper()
	read := func() *etree.Element {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(doc); err != nil || d.Root() == nil {
			return nil
		}
		return d.Root()
	}
	a, b := read(), read()
	if a == nil {
		return
	}
	want, wantErr := goxmldsigExcC14n(a, prefixList)
	got, err := excC14nOf(b, prefixList)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q, prefixes %q: error %v, goxmldsig's %v", doc, prefixList, err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%q, prefixes %q:\n got %q\nwant %q", doc, prefixList, got, want)
	}
	// The trees the caller goes on reading are alike too.
	var ta, tb bytes.Buffer
	a.WriteTo(&ta, &etree.WriteSettings{})
	b.WriteTo(&tb, &etree.WriteSettings{})
	if !bytes.Equal(ta.Bytes(), tb.Bytes()) {
		t.Fatalf("%q: the trees differ:\n got %q\nwant %q", doc, tb.Bytes(), ta.Bytes())
	}
}

// sameText checks that the text s is written as etree writes it.
func sameText(t *testing.T, s string) {
	t.Helper()
	el := etree.NewElement("a")
	el.SetText(s)
	el.CreateCharData(s)
	el.CreateAttr("v", s)
	var want, got bytes.Buffer
	el.WriteTo(&want, &canonicalWrite)
	writeCanonical(&got, el)
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("%q:\n got %q\nwant %q", s, got.Bytes(), want.Bytes())
	}
}

var excC14nSeeds = []struct{ doc, prefixes string }{
	{`<a xmlns="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u"><b:c b:x="1" y="2" xmlns:b="urn:b"><d xmlns="urn:d"/><e xmlns=""/></b:c><!-- c --><?pi x?></a>`, ""},
	{`<a xmlns:b="urn:b" xmlns:c="urn:c"><x><y b:z="1"/></x><c:w xmlns:c="urn:c2"><c:v/></c:w></a>`, "c"},
	{`<a xmlns:b="urn:b" xmlns:c="urn:c"><x xmlns:b="urn:b2" b:q="" z="a&amp;b&lt;c&gt;&#xD;&#x9;&#xA;&quot;'"/></a>`, "b c #default"},
	{`<p:a xmlns:p="urn:p"><p:b>text &amp; &lt;more&gt;&#xD;
line 'q' "d" <![CDATA[x < y ]]]]><![CDATA[>]]></p:b><q:c/></p:a>`, ""},
	{`<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="vi"><b xml:space="preserve"/></a>`, "xml"},
	{`<a xmlns:xml="urn:wrong"/>`, ""},
	{`<a xmlns:xmlns="urn:x"/>`, ""},
	{`<a xmlns="http://www.w3.org/2000/xmlns/"/>`, ""},
	{`<a><b xmlns="urn:b"><c xmlns="urn:b"/><d xmlns="urn:d"><e xmlns="urn:b"/></d></b></a>`, ""},
	{`<a z="1" b="2" xmlns:y="urn:y" xmlns:x="urn:x" y:b="3" x:c="4" xmlns="urn:a"/>`, "x y"},
	{`<a><b:c xmlns:b="urn:b"/><b:d xmlns:b="urn:b"/></a>`, "b"},
}

// TestExcC14n_SameAsGoxmldsig holds excC14n to what goxmldsig and etree
// made: the same bytes, the same tree, an error for the same input.
func TestExcC14n_SameAsGoxmldsig(t *testing.T) {
	for _, s := range excC14nSeeds {
		sameExcC14n(t, []byte(s.doc), s.prefixes)
	}
	samples, err := filepath.Glob("../envelope/testdata/samples/*.edxml")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, name := range samples {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sameExcC14n(t, b, "")
		sameExcC14n(t, b, "edXML ds")
	}
	for _, s := range []string{
		"", "plain", "a&b<c>d\re\tf\ng'h\"i", "\x00\x01\x08\x0b\x0c\x1f\x7f",
		"Hà Nội – Nghệ An", "\xff\xfe", "\xed\xa0\x80", "\uFFFD\uFFFE\uFFFF", "\U0001F600\U0010FFFF",
		"tail\xc3", "\xc3(", "]]>",
		// Runs longer than the eight bytes escapeCanonical crosses at
		// once, with what it must look at in each place of a run.
		"QUJDREVGR0hJSktM\nTU5PUFFSU1RVVldY\nWVo=", "abcdefg&hijklmno<pqrstuv>wxyz\"0123456\r789abcde\tfghijklm\n",
		"abcdefgh\x01ijklmnop\x7fqrstuvwHà Nội 12345678\xffabcdefghij\xed\xa0\x80",
	} {
		sameText(t, s)
	}
}

func FuzzExcC14n(f *testing.F) {
	for _, s := range excC14nSeeds {
		f.Add([]byte(s.doc), s.prefixes)
	}
	f.Fuzz(func(t *testing.T, doc []byte, prefixes string) {
		sameExcC14n(t, doc, prefixes)
		sameText(t, string(doc))
	})
}
