package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// sameAsEtree reads b with the parser's own reader and with etree's
// ReadFromBytes, as readTree did before, and fails unless both accept it
// and build the same tree, or both refuse it with the same kind of error.
func sameAsEtree(t testing.TB, p *Parser, b []byte) {
	t.Helper()
	want, _, errWant := p.readTree(b, readEtree)
	got, _, errGot := p.readTree(b, readXML)
	if kind(errGot) != kind(errWant) {
		t.Fatalf("input %.200q\nown reader: %v\netree:      %v", b, errGot, errWant)
	}
	if errWant != nil {
		return
	}
	if err := sameDocument(got, want); err != nil {
		t.Fatalf("input %.200q\n%v", b, err)
	}
	// Without the scan's counts, the slabs and the arena grow as they
	// go, in small pieces: the tree is the same.
	start, _ := xmlStart(b)
	small := etree.NewDocument()
	small.ReadSettings.MaxDepth = p.maxDepth()
	if err := readXML(small, b[start:], p.maxDepth(), scanCounts{}); err != nil {
		t.Fatalf("input %.200q\nwithout counts: %v", b, err)
	}
	if err := sameDocument(small, want); err != nil {
		t.Fatalf("input %.200q\nwithout counts: %v", b, err)
	}
}

// readEtree is the reference readXML is compared with: etree's
// ReadFromBytes, with the refusal of <!…> declarations readTree made
// before it had a reader of its own (the scan refuses them first), and of
// duplicate attributes, which etree reads with PreserveDuplicateAttrs and
// this function looks for in the tree, before etree's own error: what etree
// read before an error is in the tree, so a duplicate there came first.
func readEtree(doc *etree.Document, b []byte, _ int, _ scanCounts) error {
	doc.ReadSettings.PreserveDuplicateAttrs = true
	err := doc.ReadFromBytes(b)
	doc.ReadSettings.PreserveDuplicateAttrs = false
	if dup := refuseDuplicateAttrs(&doc.Element); dup != nil {
		return dup
	}
	if nsErr := refuseNamespaceErrors(&doc.Element); nsErr != nil {
		return nsErr
	}
	if err != nil {
		return err
	}
	return refuseDirectives(&doc.Element)
}

// refuseDuplicateAttrs refuses the first element, in document order, that
// carries two attributes of the same name as written, or of the same local
// name with prefixes etree resolves to the same namespace (xml being bound
// by definition, xmlns never an attribute's namespace).
func refuseDuplicateAttrs(el *etree.Element) error {
	ns := func(a *etree.Attr) string {
		switch a.Space {
		case "", "xmlns":
			return ""
		case "xml":
			return xmlNamespace
		}
		return a.NamespaceURI()
	}
	declared := 0
	for _, a := range el.Attr {
		if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
			declared++
		}
	}
	if declared > maxDeclarations {
		return fmt.Errorf("etree read <%s> with %d namespace declarations", el.FullTag(), declared)
	}
	for i := range el.Attr {
		for j := range el.Attr[:i] {
			a, b := &el.Attr[i], &el.Attr[j]
			if a.Key != b.Key {
				continue
			}
			if a.Space == b.Space {
				return fmt.Errorf("etree read <%s> with %s twice", el.FullTag(), a.FullKey())
			}
			if u := ns(a); u != "" && u == ns(b) {
				return fmt.Errorf("etree read <%s> with %s and %s in %q", el.FullTag(), b.FullKey(), a.FullKey(), u)
			}
		}
	}
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok {
			if err := refuseDuplicateAttrs(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// refuseNamespaceErrors refuses the first element of the tree that is not
// namespace-well-formed, as readXML refuses it (see namespaces): a name
// etree did not split at its colon, a reserved prefix or namespace
// declared, an empty prefixed declaration, or the prefix xmlns on an
// element. An undeclared prefix is read, in no namespace.
func refuseNamespaceErrors(el *etree.Element) error {
	if el.Parent() != nil { // not the document
		for _, a := range el.Attr {
			switch {
			case a.Space == "xmlns" && (a.Key == "xmlns" ||
				a.Key == "xml" && a.Value != xmlNamespace ||
				a.Key != "xml" && (a.Value == xmlNamespace || a.Value == xmlnsNamespace || a.Value == "")):
				return fmt.Errorf("etree read <%s> with %s=%q", el.FullTag(), a.FullKey(), a.Value)
			case a.Space == "" && a.Key == "xmlns" && (a.Value == xmlNamespace || a.Value == xmlnsNamespace):
				return fmt.Errorf("etree read <%s> with xmlns=%q", el.FullTag(), a.Value)
			}
		}
		switch el.Space {
		case "":
			if strings.Contains(el.Tag, ":") {
				return fmt.Errorf("etree read <%s>", el.Tag)
			}
		case "xmlns":
			return fmt.Errorf("etree read <%s>", el.FullTag())
		}
		for _, a := range el.Attr {
			if a.Space == "" && strings.Contains(a.Key, ":") {
				return fmt.Errorf("etree read <%s> with %s", el.FullTag(), a.Key)
			}
		}
	}
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok {
			if err := refuseNamespaceErrors(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// refuseDirectives refuses a <!…> declaration anywhere in the tree, as
// readXML refuses it.
func refuseDirectives(el *etree.Element) error {
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Directive:
			return fmt.Errorf("%w: a <!%s> declaration; edXML packets have none", ErrForbiddenXML, firstWord([]byte(t.Data)))
		case *etree.Element:
			if err := refuseDirectives(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// kind names the sentinel an error of readTree wraps.
func kind(err error) string {
	for _, s := range []error{ErrTooLarge, ErrMalformed, ErrForbiddenXML} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "accepted"
}

// sameDocument compares two documents node by node, through what etree
// exports of them (parents, indexes and flags included), then as etree
// writes them.
func sameDocument(got, want *etree.Document) error {
	if got.ReadSettings.MaxDepth != want.ReadSettings.MaxDepth || got.WriteSettings != want.WriteSettings {
		return fmt.Errorf("settings %+v %+v, want %+v %+v", got.ReadSettings, got.WriteSettings, want.ReadSettings, want.WriteSettings)
	}
	if got.Parent() != nil || got.Index() != want.Index() {
		return fmt.Errorf("document parent %p index %d, want none and %d", got.Parent(), got.Index(), want.Index())
	}
	if err := sameElement(&got.Element, &want.Element, "/"); err != nil {
		return err
	}
	gb, err := got.WriteToBytes()
	if err != nil {
		return err
	}
	wb, err := want.WriteToBytes()
	if err != nil {
		return err
	}
	if !bytes.Equal(gb, wb) {
		return fmt.Errorf("written:\n%.300q\nwant:\n%.300q", gb, wb)
	}
	return nil
}

func sameElement(got, want *etree.Element, path string) error {
	if got.Space != want.Space || got.Tag != want.Tag {
		return fmt.Errorf("%s: element %q:%q, want %q:%q", path, got.Space, got.Tag, want.Space, want.Tag)
	}
	path += want.FullTag()
	if (got.Attr == nil) != (want.Attr == nil) || len(got.Attr) != len(want.Attr) {
		return fmt.Errorf("%s: attributes %#v, want %#v", path, got.Attr, want.Attr)
	}
	for i := range want.Attr {
		g, w := &got.Attr[i], &want.Attr[i]
		if g.Space != w.Space || g.Key != w.Key || g.Value != w.Value {
			return fmt.Errorf("%s: attribute %d %q:%q=%q, want %q:%q=%q", path, i, g.Space, g.Key, g.Value, w.Space, w.Key, w.Value)
		}
		if g.Element() != got || w.Element() != want {
			return fmt.Errorf("%s: attribute %d's element is not its element", path, i)
		}
	}
	if (got.Child == nil) != (want.Child == nil) || len(got.Child) != len(want.Child) {
		return fmt.Errorf("%s: %d children (nil %t), want %d (nil %t)", path, len(got.Child), got.Child == nil, len(want.Child), want.Child == nil)
	}
	for i := range want.Child {
		g, w := got.Child[i], want.Child[i]
		at := fmt.Sprintf("%s/[%d]", path, i)
		if g.Parent() != got || w.Parent() != want || g.Index() != w.Index() || w.Index() != i {
			return fmt.Errorf("%s: parent %p index %d, want its element and %d", at, g.Parent(), g.Index(), w.Index())
		}
		switch w := w.(type) {
		case *etree.Element:
			g, ok := g.(*etree.Element)
			if !ok {
				return fmt.Errorf("%s: %T, want an element", at, got.Child[i])
			}
			if err := sameElement(g, w, path+"/"); err != nil {
				return err
			}
		case *etree.CharData:
			g, ok := g.(*etree.CharData)
			if !ok {
				return fmt.Errorf("%s: %T, want text %.40q", at, got.Child[i], w.Data)
			}
			if g.Data != w.Data || g.IsCData() != w.IsCData() || g.IsWhitespace() != w.IsWhitespace() {
				return fmt.Errorf("%s: text %.80q (CDATA %t, white space %t), want %.80q (%t, %t)",
					at, g.Data, g.IsCData(), g.IsWhitespace(), w.Data, w.IsCData(), w.IsWhitespace())
			}
		case *etree.Comment:
			if g, ok := g.(*etree.Comment); !ok || g.Data != w.Data {
				return fmt.Errorf("%s: %#v, want comment %q", at, got.Child[i], w.Data)
			}
		case *etree.ProcInst:
			if g, ok := g.(*etree.ProcInst); !ok || g.Target != w.Target || g.Inst != w.Inst {
				return fmt.Errorf("%s: %#v, want instruction %q %q", at, got.Child[i], w.Target, w.Inst)
			}
		case *etree.Directive:
			if g, ok := g.(*etree.Directive); !ok || g.Data != w.Data {
				return fmt.Errorf("%s: %#v, want directive %q", at, got.Child[i], w.Data)
			}
		default:
			return fmt.Errorf("%s: unknown token %T", at, w)
		}
	}
	return nil
}

// packetFiles are the packets on disk: the official samples, here and in
// the shared folder next to the checkout when there is one (the same
// today).
func packetFiles(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, pattern := range []string{
		"testdata/samples/*.edxml",
		"../../shared/samples/edxml/*",
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m...)
	}
	if len(names) < 15 {
		t.Fatalf("found %d packets, want the 15 samples at least", len(names))
	}
	return names
}

// trickyXML is XML at the edges of what encoding/xml accepts, each case
// accepted or refused by it for its own reason.
var trickyXML = []string{
	// References.
	`<a>&lt;&gt;&amp;&apos;&quot;</a>`,
	`<a>&#60;&#x3c;&#x3C;&#0060;&#x0000003c;&#X3c;</a>`,
	`<a>&#9;&#10;&#13;&#32;&#xD7FF;&#xE000;&#xFFFD;&#x10000;&#x10FFFF;</a>`,
	`<a>&#xD800;&#xDFFF;</a>`,
	`<a>&#0;</a>`, `<a>&#8;</a>`, `<a>&#xFFFE;</a>`, `<a>&#xFFFF;</a>`, `<a>&#x110000;</a>`,
	`<a>&#99999999999999999999999;</a>`, `<a>&#;</a>`, `<a>&#x;</a>`, `<a>&#12</a>`, `<a>&#x1g;</a>`,
	`<a>&lt</a>`, `<a>&ltx;</a>`, `<a>&LT;</a>`, `<a>&nbsp;</a>`, `<a>&;</a>`, `<a>&</a>`, `<a>& b</a>`, `<a>&é;</a>`,
	`<a b="&lt;&#38;&quot;&apos;"/>`, `<a b="&nbsp;"/>`, `<a b="&"/>`, `<a b='&#0;'/>`,
	// Line ends and white space.
	"<a>\r\n x\r y \r\r\n\n\r</a>", "<a b=\"\r\n\t x \r\n\" c='\r'/>", "<a>&#13;\n&#13;&#10;\r&#10;</a>",
	"<a>\t\n \r\n</a>", "<a>  </a>", "<a> \u00a0 </a>", "<a>\u3000</a>",
	"<a><![CDATA[\r\n]]></a>", "<a><![CDATA[ ]]></a>", "<a><![CDATA[]]></a>", "<a><!-- \r\n --></a>", "<?pi \r\n?><a/>",
	// Text.
	`<a>]]></a>`, `<a>]] ></a>`, `<a>]]]></a>`, `<a>]]&gt;</a>`, `<a>]</a>`, `<a>]]</a>`, `<a b="]]>"/>`,
	"<a>\x00</a>", "<a>\x01</a>", "<a>\x1f</a>", "<a>\x7f</a>", "<a>\u0085\u2028</a>",
	"<a>\xff</a>", "<a>\xc3</a>", "<a>\xc3\xa9</a>", "<a>\xed\xa0\x80</a>", "<a>\xef\xbf\xbe</a>", "<a>\xef\xbf\xbf</a>",
	"<a>\xf4\x90\x80\x80</a>", "<a>\xc0\xaf</a>", "<a>\xc3&amp;</a>", "<a>\xc3&#xa9;</a>", "<a b=\"\xff\"/>", "<a b=\"\x01\"/>",
	"<a><![CDATA[\x00]]></a>", "<a><![CDATA[\xff]]></a>", "<a><![CDATA[\xef\xbf\xbf]]></a>",
	"<a><!-- \x00\xff --></a>", "<?pi \x00\xff?><a/>",
	// Non-ASCII in attribute values and CDATA, and what encoding/xml
	// refuses there: U+FFFE, U+FFFF, surrogates, cut or overlong UTF-8.
	`<a b="Việt Nam" c='Hà Nội 😀'/>`, "<a b=\"Hà &amp; Nội\r\n😀&#x1F600;\"/>", "<a><![CDATA[Hà Nội\r\n😀]]></a>",
	"<a><![CDATA[Việt]]>Nam<![CDATA[\u00a0\u3000\U0010FFFD]]></a>",
	"<a b=\"\xef\xbf\xbe\"/>", "<a b=\"Việt \xef\xbf\xbf\"/>", "<a b=\"\xed\xa0\x80\"/>", "<a b='\xed\xbf\xbf Nam'/>",
	"<a b=\"&amp;\xed\xa0\x80\"/>", "<a b=\"\xf0\x9f\x98\"/>", "<a b=\"\xc0\xaf\"/>",
	"<a><![CDATA[\xef\xbf\xbe]]></a>", "<a><![CDATA[Hà \xef\xbf\xbe]]></a>", "<a><![CDATA[\xed\xa0\x80]]></a>",
	"<a><![CDATA[\r\n\xed\xbf\xbf]]></a>", "<a><![CDATA[\xf0\x9f\x98]]></a>", "<a><![CDATA[\xf4\x90\x80\x80]]></a>",
	// CDATA.
	`<a><![CDATA[<b>&amp;</b>]]]]><![CDATA[>]]></a>`, `<a><![CDATA[x]]]></a>`, `<a><![CDATA[x]></a>`,
	`<a><![CDATA[x`, `<a><![CDAT[x]]></a>`, `<a><![cdata[x]]></a>`, `<a>x<![CDATA[y]]>z</a>`,
	// Comments.
	`<a><!----></a>`, `<a><!-- - --></a>`, `<a><!-- -- --></a>`, `<a><!-- --->`, `<a><!---></a>`, `<a><!-></a>`,
	`<a><!--x--></a>`, `<!-- before --><a/><!-- after -->`, `<a><!--`, `<a><!`, `<a><!-`,
	// Processing instructions.
	`<?xml version="1.0"?><a/>`, `<?xml version='1.0' encoding='ISO-8859-1'?><a/>`, `<?xml version="1.1"?><a/>`,
	`<?xml version="2.0" encoding="UTF-8"?><a/>`, `<?xml encoding="x" version= "1.1"?><a/>`, `<?xml  version="1.0"   ?><a/>`,
	`<?xml?><a/>`, `<a><?xml version="1.1"?></a>`, `<?XML version="1.1"?><a/>`, `<?xmlversion="1.1"?><a/>`,
	`<?xml version=1.1?><a/>`, `<?xml versionx="1.1" version="1.0"?><a/>`, `<?xml version="1.1?><a/>`,
	`<?pi?><a/>`, `<?pi x?><a/>`, `<?pi  x ? > ?><a/>`, `<??><a/>`, `<? pi?><a/>`, `<?1pi?><a/>`, `<?a:b:c d?><a/>`,
	`<?pi`, `<?pi ?`, `<a><?é x?></a>`,
	// Names and namespaces.
	`<a:b xmlns:a="u"><a:c/></a:b>`, `<a:b:c/>`, `<:a/>`, `<a:/>`, `<:/>`, `<a :b="1"/>`, `<a b:="1"/>`, `<a b:c:d="1"/>`,
	`<a xmlns="u" xmlns:p="v" p:x="1" x="2"/>`, `<a xmlns:="u"/>`, `<1a/>`, `<.a/>`, `<-a/>`, `<_a/>`, `<a1.-_/>`,
	"<\u00e9l\u00e9 \u00e9=\"1\"/>", "<\u00e9/>", "<a\u0300/>", "<\u0300a/>", "<a\u00b7b/>", "<\u00b7/>", "<a\xff/>", "<\xff/>",
	"<a\u2028/>", "<\U00010000/>", `<a:é/>`,
	// Start and end tags.
	`<a b="1"c="2"/>`, `<a b = "1"	c	=	'2'/>`, `<a b/>`, `<a b=c/>`, `<a b=/>`, `<a b="1>`, `<a b="1"`, `<a b='1"/>`,
	`<a b="<"/>`, `<a b=">"/>`, `<a/ >`, `<a / >`, `<a /><b></b >`, `<a></a b>`, `<a></ a>`, `</a>`, `<a></b>`,
	`<a><b></a></b>`, `<a:b></b>`, `<a:b></a:c>`, `<b:a xmlns:b="u"></c:a>`, `<a>`, `<a><b/>`, `<a`, `<`, `<a/><`,
	`< a/>`, `<a	/>`, "<a\r\n/>", "<a\n b\n=\n\"1\"\n/>", `<a b="1" b="2" c="3" b="4"/>`, `<a p:b="1" p:b="2" b="3"/>`,
	`<a x="1" y="2" x="3" z="4" y="5"/>`,
	// The same attribute through two prefixes (Namespaces in XML §6.3),
	// declared on the element or above it; different namespaces, or
	// prefixes not declared, or a declaration and an attribute, are not.
	`<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, `<a p:x="1" q:x="2" xmlns:q="u" xmlns:p="u"/>`,
	`<r xmlns:p="u"><a xmlns:q="u" p:x="1" q:x="2"/></r>`, `<r xmlns:p="u" xmlns:q="u"><s><a p:x="1" q:x="2"/></s></r>`,
	`<r xmlns:p="u" xmlns:q="u"><a xmlns:q="v" p:x="1" q:x="2"/></r>`, `<a xmlns:p="u" xmlns:q="v" p:x="1" q:x="2"/>`,
	`<a p:x="1" q:x="2"/>`, `<a xmlns:p="u" p:x="1" q:x="2"/>`, `<a xmlns:p="" xmlns:q="" p:x="1" q:x="2"/>`,
	`<a xmlns:p="u" p:x="1" x="2"/>`, `<a xmlns="u" xmlns:p="u" p:x="1" x="2"/>`, `<a xmlns:x="u" x="1"/>`,
	`<a xml:lang="vi" xmlns:l="http://www.w3.org/XML/1998/namespace" l:lang="en"/>`, `<a xmlns:p="u" xmlns:p="u"/>`,
	`<a xmlns="u" xmlns="u"/>`, `<a xmlns:p="u" p:x="1" xmlns:q="u" y="2" q:x="3"/>`,
	// A duplicate before another error is refused first, as after it.
	`<a b="1" b="2"><c></a>`, `<a><c></a><b x="1" x="2"/>`,
	strings.Repeat("<a>", 47) + `<b x="1" x="2"/>` + strings.Repeat("</a>", 47),
	strings.Repeat("<a>", 48) + `<b x="1" x="2"/>` + strings.Repeat("</a>", 48),
	`<r x="1" x="2">` + strings.Repeat("<a>", 48) + strings.Repeat("</a>", 48) + `</r>`,
	manyAttributes(40, 7), manyAttributes(40, 40), manyAttributes(32, 5), manyAttributes(33, 5), manyAttributes(120, 3),
	manyAttributes(120, 3) + manyAttributes(40, 7) + manyAttributes(33, 4), // one map for all three
	manyAttributes(32, 33), manyAttributes(33, 34), manyAttributes(120, 121), manyAttributes(120, 121) + manyAttributes(40, 41),
	`<r xmlns:p="u" xmlns:q="u">` + manyAttributes(31, 32) + `</r>`, `<r xmlns:p="u" xmlns:q="u">` + manyAttributes(40, 41) + `</r>`,
	manyAttributes(40, 41) + manyAttributes(33, 32), // the map, cleared after an element, finds no duplicate from before
	// Declarations: 32 on an element at most; past scanBindings in scope,
	// prefixes are looked up in a map, which must follow the elements'
	// ends as the slice does.
	declarations(32, "") + "/>", declarations(33, "") + "/>", declarations(31, ` xmlns="u"`) + "/>", declarations(32, ` xmlns="u"`) + "/>",
	declarations(20, "") + `><a xmlns:q3="u" xmlns:p="u" p:x="1" q3:x="2"/></r>`,
	declarations(20, "") + `><a xmlns:q3="u" xmlns:p="u"/><b xmlns:p="u" p:x="1" q3:x="2"/><b xmlns:p="urn:q3" p:x="1" q3:x="2"/></r>`,
	declarations(20, "") + `><a xmlns:q3="u"><b xmlns:q4="u">` + declarations(20, "") + `/><c q3:x="1" q4:x="2"/></b><c q3:x="1" q4:x="2"/></a></r>`,
	`<r xmlns:p="u"><a xmlns:p="v"/><a xmlns:q="u" p:x="1" q:x="2"/></r>`, `<r xmlns:p="u"><a xmlns:p="v"></a><a xmlns:q="u" p:x="1" q:x="2"/></r>`,
	string(hostileNamespaces(true, 3)), string(hostileNamespaces(false, 3)),
	// Namespaces in XML §3: reserved prefixes and namespaces, empty
	// declarations, names that are no QName; undeclared prefixes are read.
	`<r xmlns:xml="urn:o"/>`, `<r xmlns:xml="http://www.w3.org/XML/1998/namespace"/>`, `<r xmlns:xmlns="urn:o"/>`,
	`<r xmlns:p="http://www.w3.org/XML/1998/namespace"/>`, `<r xmlns:p="http://www.w3.org/2000/xmlns/"/>`,
	`<r xmlns="http://www.w3.org/XML/1998/namespace"/>`, `<r xmlns="http://www.w3.org/2000/xmlns/"/>`, `<r xmlns=""/>`,
	`<r><c xmlns:p=""/></r>`, `<xmlns:r/>`, `<xml:r/>`, `<r xml:x="1"/>`, `<r xmlns:x="1"/>`, `<a:r/>`, `<r><a:c a:x="1" b:x="2"/></r>`,
	`<r xmlns:p="u"><p:c/></r><p:c/>`, `<r a:x="1" a:x="2"/>`, `<r :x="1"/>`, `<r x:="1"/>`,
	// Around the root.
	`<a/><b/>`, `<a/>text`, `<a/>text<b/>`, `<a/> `, `<a/>]]>`, `<a/></a>`, `<a/>&amp;`, `<a/>&bad;`,
	"<?xml version=\"1.0\"?>\r\n<a/>\r\n", `<!DOCTYPE a><a/>`, `<a><!ENTITY b "c"></a>`, `<a><!ELEMENT a ANY></a>`,
	// Depth.
	strings.Repeat("<a>", 47) + strings.Repeat("</a>", 47),
	strings.Repeat("<a>", 48) + strings.Repeat("</a>", 48),
	strings.Repeat("<a>", 49) + strings.Repeat("</a>", 49),
	strings.Repeat("<a>", 48) + "<b/>" + strings.Repeat("</a>", 48),
	strings.Repeat("<a>", 48) + "<b" + strings.Repeat("</a>", 48),
	strings.Repeat("<a>", 48) + "<b c='&bad;'/>" + strings.Repeat("</a>", 48),
	strings.Repeat("<a>", 48) + "&bad;<b/>" + strings.Repeat("</a>", 48),
	strings.Repeat("<a>", 49) + "<b/>" + strings.Repeat("</a>", 48),
	strings.Repeat("<a>", 60),
}

// manyAttributes is an element with n attributes of which every k-th
// repeats an earlier name (none when k > n), for the refusal of duplicates
// past a few; the last, when k == n+1, has the local name of the first
// under another prefix (q), which is a duplicate where p and q are bound
// to the same namespace.
func manyAttributes(n, k int) string {
	var b strings.Builder
	b.WriteString("<a")
	for i := range n {
		name, prefix := i, "p"
		if i%k == k-1 {
			name = i / 2
		}
		if k == n+1 && i == n-1 {
			name, prefix = 0, "q"
		}
		fmt.Fprintf(&b, " %s:x%d='%d'", prefix, name, i)
	}
	b.WriteString("/>")
	return b.String()
}

// declarations is the start of an element r declaring the prefixes q0 …
// q(n-1), each to a namespace of its own, then more.
func declarations(n int, more string) string {
	var b strings.Builder
	b.WriteString("<r")
	for i := range n {
		fmt.Fprintf(&b, ` xmlns:q%d="urn:q%d"`, i, i)
	}
	b.WriteString(more)
	return b.String()
}

// blobXML are the cases of the runs of base64 the reader may share with
// its input, among others like them that it may not.
func blobXML() []string {
	run := strings.Repeat("QUJD", blobMin/4)
	return []string{
		"<a>" + run + "</a>",
		"<a>" + run[:blobMin-1] + "</a>",
		"<a>\r\n" + strings.Repeat("QUJD\r\n", blobMin/4) + "\r</a>",
		"<a>\n" + strings.Repeat("QUJD\n", blobMin/4) + "</a>",
		"<a>" + strings.Repeat(" \n", blobMin) + "</a>",
		"<a>x &gt; " + run + "<b/>" + run + "</a>",
		"<a>" + run + "&amp;</a>",
		"<a>" + run + "é</a>",
		"<a>" + run + "]</a>",
		"<a><!-- >" + run + "< --></a>",
		"<a><![CDATA[>" + run + "<]]></a>",
		"<a x=\">" + run + "\"/>",
		"<a>" + run,
		"<a/>" + run,
		"<a><b>" + run + "</b><c>" + run + run + "</c></a>",
		"<a><!-- >\r\n" + run + "\r\n< --></a>",
		"<a><?pi >\r\n" + run + "\r< ?></a>",
		"<a><![CDATA[>\r\n" + run + "\r<]]></a>",
		"<a><!X <y>" + run + "<!-- z --> ></a>",
		"<a>\uE000deadbeef:0\uE001" + run + "</a>",
	}
}

func TestReadXML_SameAsEtree(t *testing.T) {
	var p Parser
	for _, name := range packetFiles(t) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sameAsEtree(t, &p, b)
		if _, _, err := p.ReadTree(b); filepath.Ext(name) == ".edxml" && err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, s := range append(trickyXML, blobXML()...) {
		sameAsEtree(t, &p, []byte(s))
		sameAsEtree(t, &p, []byte("\ufeff<?xml version=\"1.0\"?>\r\n<r>"+s+"</r>"))
	}
	// Elements of more attributes than a map is kept for, among smaller
	// ones.
	wide := Parser{MaxAttributes: 1000}
	sameAsEtree(t, &wide, []byte("<r>"+manyAttributes(300, 7)+manyAttributes(40, 5)+manyAttributes(600, 3)+manyAttributes(33, 2)+"</r>"))
	sameAsEtree(t, &wide, []byte("<r>"+manyAttributes(300, 301)+manyAttributes(40, 41)+manyAttributes(600, 601)+manyAttributes(33, 34)+"</r>"))
	sameAsEtree(t, &wide, []byte(`<r xmlns:p="u" xmlns:q="u">`+manyAttributes(300, 302)+manyAttributes(600, 601)+"</r>"))
	shallow := Parser{MaxDepth: 2}
	for _, s := range []string{`<a/>`, `<a><b/></a>`, `<a><b><c/></b></a>`, `<a><b></b><c></c></a>`, `<a/><b><c><d/></c></b>`} {
		sameAsEtree(t, &shallow, []byte(s))
	}
}

// TestReadXML_Refuses checks the kinds of refusal readTree maps the
// reader's errors to.
func TestReadXML_Refuses(t *testing.T) {
	var p Parser
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`<a>&bad;</a>`, ErrMalformed},
		{`<a><b></a>`, ErrMalformed},
		{`<a>`, ErrMalformed},
		{"<a>\xff</a>", ErrMalformed},
		{"<a b=\"Việt \xef\xbf\xbe\"/>", ErrMalformed},
		{"<a b=\"\xed\xa0\x80\"/>", ErrMalformed},
		{"<a><![CDATA[Hà Nội \xef\xbf\xbe]]></a>", ErrMalformed},
		{"<a><![CDATA[\xed\xb2\x80]]></a>", ErrMalformed},
		{`<a/><!DOCTYPE a>`, ErrForbiddenXML},
		{strings.Repeat("<a>", DefaultMaxDepth+1), ErrForbiddenXML},
		{`text`, ErrMalformed},
		{`<!-- only -->`, ErrMalformed},
	} {
		if _, _, err := p.ReadTree([]byte(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("ReadTree(%.40q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

// TestReadXML_RefusesDirectives checks that the reader itself refuses a
// <!…> declaration as the scan does, which it never sees behind the scan.
func TestReadXML_RefusesDirectives(t *testing.T) {
	for _, in := range []string{
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>`,
		`<a><!ENTITY b SYSTEM "file:///etc/passwd"></a>`,
		`<a/><!ELEMENT a ANY>`,
		"<a>x<!ATTLIST\r\na b CDATA #IMPLIED></a>",
		`<a><!x`,
	} {
		b := []byte(in)
		doc := etree.NewDocument()
		err := readXML(doc, b, DefaultMaxDepth, scanCounts{})
		if !errors.Is(err, ErrForbiddenXML) {
			t.Errorf("readXML(%q) = %v, want %v", in, err, ErrForbiddenXML)
			continue
		}
		if _, errScan := scanMarkup(b, (&Parser{}).scanLimits()); errScan == nil || err.Error() != errScan.Error() {
			t.Errorf("readXML(%q) = %v, the scan %v", in, err, errScan)
		}
	}
}

// TestReadTree_SharesOnlyBlobs checks that the tree shares the input's
// memory only through the text nodes documented to, which FromTree copies:
// overwriting the input after the read changes nothing else.
func TestReadTree_SharesOnlyBlobs(t *testing.T) {
	var p Parser
	for _, name := range packetFiles(t) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{b, bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))} {
			doc, _, err := p.ReadTree(b)
			if err != nil {
				continue
			}
			want, _, _ := p.ReadTree(bytes.Clone(b))
			for i := range b {
				b[i] = 'x'
			}
			var shared []string
			unshared(&doc.Element, &want.Element, &shared)
			for _, s := range shared {
				if len(s) < blobMin || strings.Trim(s, "x") != "" {
					t.Errorf("%s: text %.40q changed with the input", name, s)
				}
			}
		}
	}
}

// unshared blanks out in got the text nodes that differ from want's and
// collects them.
func unshared(got, want *etree.Element, shared *[]string) {
	for i, tok := range got.Child {
		switch g := tok.(type) {
		case *etree.Element:
			unshared(g, want.Child[i].(*etree.Element), shared)
		case *etree.CharData:
			if w := want.Child[i].(*etree.CharData); g.Data != w.Data {
				*shared = append(*shared, g.Data)
				g.Data = w.Data
			}
		}
	}
	if err := sameElement(got, want, "/"); err != nil {
		*shared = append(*shared, err.Error())
	}
}

// FuzzReadTree checks on arbitrary input that the parser's own reader
// accepts what etree over encoding/xml accepts, and builds the same tree,
// with the default depth limit and a small one.
func FuzzReadTree(f *testing.F) {
	for _, name := range packetFiles(f) {
		if fi, err := os.Stat(name); err != nil || fi.Size() > 16<<10 {
			continue // the large samples slow every run; their shapes are in the small ones
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range append(trickyXML, blobXML()...) {
		f.Add([]byte(s))
	}
	shallow := Parser{MaxDepth: 3}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Parser
		sameAsEtree(t, &p, b)
		sameAsEtree(t, &shallow, b)
	})
}

// TestReadTree_RefusedEarlyAllocatesLittle checks that the reader does not
// allocate the tree the scan counted before it has read any of it: input
// refused at its start, with 200,000 elements after, costs little more
// than what etree spent on it (5 KB), not the 19 MB of the nodes counted.
func TestReadTree_RefusedEarlyAllocatesLittle(t *testing.T) {
	b := []byte("<r>&bad;" + strings.Repeat("<c/>", 199_990) + "</r>")
	var p Parser
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := p.ReadTree(b)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("ReadTree = %v, want %v", err, ErrMalformed)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 2<<20 {
		t.Errorf("ReadTree of %d bytes refused at their start allocated %d bytes, want < 2 MB", len(b), n)
	}
}

// hostileNamespaces is the packet of the security review of issue 20:
// 46 nested elements of 120 attributes each, then children each carrying
// p0:x … p31:x, 32 attributes of one local name and as many prefixes,
// within the reader's limits (128 attributes on an element, 100,000 in
// all, depth 48); with 2,900 children, 0.9 MB. When bound, the root
// declares p0 … p31, each to a namespace of its own, so that the children
// are well-formed; otherwise the prefixes are not declared. Resolving each
// prefix through the attributes of every open element made it cost 17 s
// to read, for 18 ms before duplicates were looked for through namespaces.
func hostileNamespaces(bound bool, children int) []byte {
	var b strings.Builder
	b.WriteString("<r")
	if bound {
		for i := range 32 {
			fmt.Fprintf(&b, ` xmlns:p%d="urn:p%d"`, i, i)
		}
	}
	b.WriteString(">")
	for range 46 {
		b.WriteString("<a")
		for i := range 120 {
			fmt.Fprintf(&b, ` k%d=""`, i)
		}
		b.WriteString(">")
	}
	for range children {
		b.WriteString("<c")
		for i := range 32 {
			fmt.Fprintf(&b, ` p%d:x=""`, i)
		}
		b.WriteString("/>")
	}
	b.WriteString(strings.Repeat("</a>", 46) + "</r>")
	return []byte(b.String())
}

// TestReadTree_HostileNamespaces reads the hostile packet of
// hostileNamespaces: it must cost about what a packet of its size and
// elements costs, not seconds (17 s before the prefixes in scope were kept
// on a stack of their own; some 20 ms after).
func TestReadTree_HostileNamespaces(t *testing.T) {
	for _, bound := range []bool{true, false} {
		b := hostileNamespaces(bound, 2900)
		var p Parser
		start := time.Now()
		_, _, err := p.ReadTree(b)
		took := time.Since(start)
		if bound && err != nil {
			t.Errorf("bound: ReadTree: %v", err)
		}
		if took > 2*time.Second {
			t.Errorf("bound=%v: ReadTree of %d bytes took %v, want well under a second", bound, len(b), took)
		}
	}
}

// TestReadXML_NamespaceErrors: a start tag that breaks Namespaces in XML
// §3 is refused, naming the element and the prefix, as libxml2 (and so
// xmlsec1) refuses it, rather than read as etree reads it; before issue 20
// every one of them was read. An undeclared prefix is still read, in no
// namespace: the official sample edoc.edxml has two.
func TestReadXML_NamespaceErrors(t *testing.T) {
	const xmlNS, xmlnsNS = "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/2000/xmlns/"
	for _, tc := range []struct {
		in      string
		refused []string // what the error says; nil: accepted
	}{
		{`<r xmlns:xml="urn:o"/>`, []string{"<r>", `binds the prefix xml to "urn:o"`}},
		{`<r xmlns:xml="urn:o" xmlns:p="urn:o" xml:x="1" p:x="2"/>`, []string{"<r>", "prefix xml"}},
		{`<r><c xmlns:p=""/></r>`, []string{"<c>", "declares the prefix p empty"}},
		{`<r xmlns:p="" p:x="1"/>`, []string{"<r>", "prefix p empty"}},
		{`<r xmlns:xmlns="urn:o"/>`, []string{"<r>", "declares the prefix xmlns"}},
		{`<r xmlns:xmlns="` + xmlnsNS + `"/>`, []string{"prefix xmlns"}},
		{`<r xmlns:p="` + xmlNS + `" xml:lang="1" p:lang="2"/>`, []string{"<r>", "binds the prefix p to " + xmlNS, "reserved to the prefix xml"}},
		{`<r xmlns:p="` + xmlnsNS + `"/>`, []string{"<r>", "binds the prefix p to " + xmlnsNS, "reserved to the prefix xmlns"}},
		{`<r xmlns="` + xmlNS + `"/>`, []string{"<r>", "default namespace"}},
		{`<r xmlns="` + xmlnsNS + `"/>`, []string{"<r>", "default namespace"}},
		{`<xmlns:r/>`, []string{"<xmlns:r>", "prefix xmlns"}},
		{`<r><:c/></r>`, []string{"<:c>", "no prefix and local name"}},
		{`<r><c: x="1"/></r>`, []string{"<c:>", "no prefix and local name"}},
		{`<r a:="1"/>`, []string{"<r>", "attribute a:", "no prefix and local name"}},
		{`<r xmlns:="u"/>`, []string{"<r>", "attribute xmlns:"}},
		// Read.
		{`<r xmlns:xml="` + xmlNS + `" xml:lang="vi"/>`, nil},
		{`<r xmlns:p="u"><c xmlns:p="v" p:x="1"/></r>`, nil},
		{`<r xmlns="u"><c xmlns=""/></r>`, nil},
		{`<xml:r/>`, nil},
		{`<a:r/>`, nil},
		{`<r a:x="1" b:x="2"/>`, nil},
		{`<r xmlns:b="u" a:x="1" b:x="2"/>`, nil},
	} {
		var p Parser
		_, _, err := p.ReadTree([]byte(tc.in))
		if tc.refused == nil {
			if err != nil {
				t.Errorf("ReadTree(%s): %v", tc.in, err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ReadTree(%s) = %v, want ErrMalformed", tc.in, err)
			continue
		}
		for _, s := range append(tc.refused, "namespace error") {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("ReadTree(%s): error %q does not say %q", tc.in, err, s)
			}
		}
	}
}
