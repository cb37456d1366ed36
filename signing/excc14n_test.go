package signing

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
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

// goxmldsigInContext is what canonicalSignedInfo did under exclusive
// canonicalisation before excC14nInContext: goxmldsig's canonicaliser on a
// detached copy of el carrying the namespaces in scope.
func goxmldsigInContext(el *etree.Element, prefixList string) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList).Canonicalize(detached)
}

// decisions is what checkShape and checkSignature read from el's subtree,
// element by element: names, the unprefixed Algorithm, URI and PrefixList,
// whether one is repeated, the InclusiveNamespaces prefix list, the text.
// Canonicalising in place must leave it as it was, so that reading it
// after would make no difference (checkSignature reads it before all the
// same).
func decisions(el *etree.Element) string {
	var b strings.Builder
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		fmt.Fprintf(&b, "<%s alg=%q", e.FullTag(), algorithmOf(e))
		for _, name := range decisionAttrs {
			v, ok := attrValue(e, name)
			fmt.Fprintf(&b, " %s=%q,%v", name, v, ok)
		}
		p, ok := inclusivePrefixes(e)
		fmt.Fprintf(&b, " prefixes=%q,%v repeated=%q text=%q>", p, ok, repeatedDecisionAttr(e), e.Text())
		for _, c := range e.ChildElements() {
			walk(c)
		}
		b.WriteString("</>")
	}
	walk(el)
	return b.String()
}

// bothUndeclared reports whether both errors are undeclared prefixes.
// goxmldsig collects an element's prefixes in a map, so which of several
// undeclared ones it names changes from run to run.
func bothUndeclared(a, b error) bool {
	var ea, eb etreeutils.ErrUndeclaredNSPrefix
	return errors.As(a, &ea) && errors.As(b, &eb)
}

// sameInContext checks that excC14nInContext canonicalises every element
// of doc in its context as goxmldsig does, failing where it fails, and
// leaves what the verifier reads from it (decisions) as it was.
func sameInContext(t *testing.T, doc []byte, prefixList string) {
	t.Helper()
	read := func() []*etree.Element {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(doc); err != nil || d.Root() == nil {
			return nil
		}
		return append([]*etree.Element{d.Root()}, d.Root().FindElements("//*")...)
	}
	a, b := read(), read()
	for i := range a {
		want, wantErr := goxmldsigInContext(a[i], prefixList)
		before := decisions(b[i])
		got, err := excC14nInContext(b[i], prefixList)
		if after := decisions(b[i]); err == nil && after != before {
			t.Fatalf("%q, element %d (%s), prefixes %q: what the verifier reads changed:\nbefore %s\n after %s", doc, i, a[i].FullTag(), prefixList, before, after)
		}
		if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error() && !bothUndeclared(err, wantErr)) {
			t.Fatalf("%q, element %d (%s), prefixes %q: error %v, goxmldsig's %v", doc, i, a[i].FullTag(), prefixList, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q, element %d (%s), prefixes %q:\n got %q\nwant %q", doc, i, a[i].FullTag(), prefixList, got, want)
		}
		if err != nil {
			// A failure leaves b[i] half transformed, and with it the
			// context of the elements after it; the verifier gives up on
			// such a tree, so the next element is canonicalised in a
			// fresh one (goxmldsig works on copies).
			b = read()
		}
	}
}

// TestExcC14nInContext_SameAsGoxmldsig holds excC14nInContext, which
// canonicalises SignedInfo, to goxmldsig: the same bytes for every element
// of the seeds, the samples and a signed packet, an error where goxmldsig
// fails (a reserved prefix declared on an ancestor, more elements than
// NSDetatch traverses).
func TestExcC14nInContext_SameAsGoxmldsig(t *testing.T) {
	for _, s := range excC14nInContextSeeds() {
		sameInContext(t, []byte(s.doc), s.prefixes)
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
		sameInContext(t, b, "")
		sameInContext(t, b, "edXML ds")
	}
}

func excC14nInContextSeeds() []struct{ doc, prefixes string } {
	seeds := append([]struct{ doc, prefixes string }{
		{`<a xmlns="urn:a" xmlns:p="urn:p" xmlns:q="urn:q"><s:SignedInfo xmlns:s="urn:s" p:x="1"><s:Ref q:y="2" z="3"/></s:SignedInfo></a>`, "q"},
		{`<a xmlns="urn:a" xmlns:p="urn:p"><b xmlns=""><c xmlns:p="urn:p2"><d p:x="1" xmlns:p="urn:p3"/></c></b></a>`, "p"},
		{`<a xmlns:xml="urn:wrong"><b/></a>`, ""},
		{`<a xmlns="http://www.w3.org/2000/xmlns/"><b/></a>`, ""},
		{`<a xmlns="http://www.w3.org/XML/1998/namespace"><b xmlns:c="urn:c"/></a>`, "c"},
		{`<a xmlns:p="urn:p" xmlns:q="urn:p"><b p:x="1" q:x="2"/></a>`, ""},
		{`<a><b><c:d/></b></a>`, ""},
		{`<a><!-- c --><b xmlns:u="urn:u"><!-- d --><u:c/></b></a>`, "u"},
		// Attributes the verifier decides by, behind prefixed ones of the
		// same name and declarations of a prefix of that name, which the
		// canonical order puts after and before them; comments in text.
		{`<SignedInfo xmlns="urn:d"><M xmlns:x="urn:x" x:Algorithm="a" Algorithm="b"/><R xmlns:z="urn:z" z:URI="#x" URI=""><T xmlns:Algorithm="urn:a" Algorithm="c"><I xmlns:y="urn:y" y:PrefixList="p" PrefixList="q" xmlns:q="urn:q"/></T><DigestValue>AB<!-- c -->CD</DigestValue></R></SignedInfo>`, ""},
		{`<s:SignedInfo xmlns:s="urn:d" xmlns:x="urn:x"><s:M x:Algorithm="a"/><s:InclusiveNamespaces x:PrefixList="x" PrefixList="s"/><s:InclusiveNamespaces PrefixList="x"/></s:SignedInfo>`, "x"},
	}, excC14nSeeds...)
	// NSDetatch traverses 1,000 elements at most.
	for _, n := range []int{999, 1000, 1001} {
		seeds = append(seeds, struct{ doc, prefixes string }{"<a>" + strings.Repeat("<b/>", n-1) + "</a>", ""})
	}
	return seeds
}

func FuzzExcC14nInContext(f *testing.F) {
	for _, s := range excC14nInContextSeeds() {
		f.Add([]byte(s.doc), s.prefixes)
	}
	f.Fuzz(func(t *testing.T, doc []byte, prefixes string) {
		sameInContext(t, doc, prefixes)
	})
}
