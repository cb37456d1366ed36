package signing_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// A fuzzBase is a validly signed packet the fuzzer mutates, with what the
// oracle compares a mutation's verdict against: the packet the verifier
// read from it, and the canonical forms of the content it signs, computed
// independently of the verifier (a plain etree parse and goxmldsig's
// canonicalisers, the Signature found by its place in the tree).
type fuzzBase struct {
	name   string
	signed []byte
	alg    string // the Reference's canonicalisation
	packet *envelope.Packet
	cert   *x509.Certificate
	canon  canonForms
	// infoset is the document minus the Signature as encoding/xml reads
	// it: namespace URIs, local names, attributes and text, a third,
	// parser-independent view of the signed content.
	infoset string
}

// canonForms are the canonical forms the oracle compares: the document
// without the Signature (its element, and the processing instructions
// around it, which URI="" covers) under each canonicalisation the bases'
// References use, and SignedInfo and the whole Signature under exclusive
// C14N in their context.
type canonForms struct {
	doc                   map[string][]byte // by algorithm; missing when it cannot be computed
	signedInfo, signature []byte
	// oneSignature says that the document has exactly one element named
	// Signature, in the XML-DSig namespace, a child of
	// edXML/edXMLEnvelope/edXMLHeader: the only place the verifier
	// accepts.
	oneSignature bool
}

// fuzzFixture is the trust, the verifier and the signed packets FuzzVerify
// mutates.
type fuzzFixture struct {
	verifier *signing.Verifier
	bases    []*fuzzBase
}

func newFuzzFixture(tb testing.TB) *fuzzFixture {
	tb.Helper()
	ca, err := signing.InitCA(filepath.Join(tb.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		tb.Fatal(err)
	}
	dir := signing.StaticDirectory{}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	crl, err := ca.CRL()
	if err != nil {
		tb.Fatal(err)
	}
	v := &signing.Verifier{Roots: roots, CRLs: []*x509.RevocationList{crl}, Directory: dir}
	issue := func(agency string) *signing.Issued {
		is, err := ca.Issue(signing.IssueRequest{Agency: agency, Name: "Cơ quan " + agency})
		if err != nil {
			tb.Fatal(err)
		}
		if err := dir.Register(agency, is.Certificate); err != nil {
			tb.Fatal(err)
		}
		return is
	}
	vpcp, nghean := issue("000.00.00.G22"), issue("000.00.00.H41")
	signer := func(is *signing.Issued) *signing.Signer {
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	sign := func(is *signing.Issued, packet []byte) []byte {
		b, err := signer(is).Sign(packet)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}

	// An edoc whose attachment is long enough for the parser to share its
	// base64 with the input instead of copying it (envelope's blobMin is
	// 256 characters).
	withAttachment := fuzzEdoc(tb, 3200)
	// The same edoc, small, with other prefixes: a prefixed document
	// element, the edXML namespace under "e", declared twice.
	small := fuzzEdoc(tb, 40)
	prefixed := bytes.ReplaceAll(small, []byte("edXML:"), []byte("e:"))
	prefixed = bytes.Replace(prefixed, []byte(`<edXML xmlns="`+envelope.Namespace+`">`), []byte(`<e:edXML xmlns:e="`+envelope.Namespace+`" xmlns="`+envelope.Namespace+`">`), 1)
	prefixed = bytes.Replace(prefixed, []byte("</edXML>"), []byte("</e:edXML>"), 1)
	// Comments, CDATA, character references, a processing instruction,
	// an unused namespace declaration and white space in tags, all
	// present when it is signed.
	commented := small
	for _, r := range [][2]string{
		{"<edXML:edXMLHeader>", "<edXML:edXMLHeader ><!-- header -->"},
		{"<edXML:Subject>V/v", "<edXML:Subject xmlns:unused=\"urn:unused\">V/v<!-- in the subject -->"},
		{"<edXML:Content></edXML:Content>", "<edXML:Content><![CDATA[a < b & c]]>&#x20;d&#233;</edXML:Content>"},
		{"<edXML:TraceHeaderList>", "<edXML:TraceHeaderList\n\t><?lienthong trace?>"},
		{"</edXML>", "</edXML>\n<!-- after -->\n"},
		{"<edXML:edXMLManifest version=\"1.0\">", "<edXML:edXMLManifest  version = '1.0' >"},
	} {
		if !bytes.Contains(commented, []byte(r[0])) {
			tb.Fatalf("%q not in the packet", r[0])
		}
		commented = bytes.Replace(commented, []byte(r[0]), []byte(r[1]), 1)
	}

	packets := []struct {
		name   string
		signed []byte
		alg    string
	}{
		{"attachment", sign(vpcp, withAttachment), signing.AlgExcC14N},
		{"status", sign(nghean, fuzzStatus(tb)), signing.AlgExcC14N},
		{"prefixed", sign(vpcp, prefixed), signing.AlgExcC14N},
		{"commented", sign(vpcp, commented), signing.AlgExcC14N},
		// Legacy inclusive canonicalisations of the Reference, as other
		// document systems sign.
		{"c14n10", signInclusive(tb, vpcp, commented, signing.AlgC14N10), signing.AlgC14N10},
		{"c14n11", signInclusive(tb, nghean, fuzzStatus(tb), signing.AlgC14N11), signing.AlgC14N11},
	}
	fx := &fuzzFixture{verifier: v}
	for _, p := range packets {
		vd, err := v.Verify(tb.Context(), p.signed)
		if err != nil || vd.Outcome != signing.Valid {
			tb.Fatalf("%s: the unchanged packet: %v %+v", p.name, err, vd)
		}
		cf, err := oracleCanon(p.signed)
		if err != nil || !cf.oneSignature || cf.doc[p.alg] == nil {
			tb.Fatalf("%s: the oracle cannot read the unchanged packet: %v", p.name, err)
		}
		info, err := infoset(p.signed)
		if err != nil {
			tb.Fatalf("%s: %v", p.name, err)
		}
		fx.bases = append(fx.bases, &fuzzBase{name: p.name, signed: p.signed, alg: p.alg, packet: vd.Packet, cert: vd.Certificate, canon: cf, infoset: info})
	}
	return fx
}

// fuzzEdoc is edocPacket with an attachment of n bytes and an extra
// element the parser keeps as an Extra.
func fuzzEdoc(tb testing.TB, n int) []byte {
	tb.Helper()
	p, _, err := envelope.Parse(edocPacket(tb))
	if err != nil {
		tb.Fatal(err)
	}
	e := p.Edoc
	e.Attachments, e.Manifest = nil, nil
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	e.AddAttachment(envelope.Attachment{Name: "congvan.pdf", ContentType: "application/pdf", Data: data})
	b, err := envelope.Encode(p)
	if err != nil {
		tb.Fatal(err)
	}
	// An element outside the regulation, kept as an Extra: its serialised
	// form reaches the Packet.
	return bytes.Replace(b, []byte("</edXML:MessageHeader>"), []byte(`<edXML:OtherInfo><edXML:Priority a="1" b="2">0</edXML:Priority></edXML:OtherInfo></edXML:MessageHeader>`), 1)
}

func fuzzStatus(tb testing.TB) []byte {
	tb.Helper()
	b, err := envelope.Encode(&envelope.Packet{Status: &envelope.Status{
		From:        envelope.Organization{OrganID: "000.00.00.H41", OrganName: "UBND tỉnh Nghệ An"},
		ResponseFor: envelope.ResponseFor{OrganID: "000.00.00.G22", DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"},
		StatusCode:  envelope.StatusAccepted,
		Description: "Đã tiếp nhận",
		Timestamp:   "2025/11/20 10:00:00",
	}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// signInclusive signs packet as lienthong does, but with an inclusive
// canonicalisation (C14N 1.0 by default, with no canonicalisation
// transform; C14N 1.1 named) for the Reference, as a legacy document
// system might. SignedInfo stays under exclusive C14N.
func signInclusive(tb testing.TB, is *signing.Issued, packet []byte, alg string) []byte {
	tb.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(packet); err != nil {
		tb.Fatal(err)
	}
	var c dsig.Canonicalizer = dsig.MakeC14N10RecCanonicalizer()
	transform := ""
	if alg == signing.AlgC14N11 {
		c = dsig.MakeC14N11Canonicalizer()
		transform = `<Transform Algorithm="` + alg + `"></Transform>`
	}
	canon, err := c.Canonicalize(doc.Root())
	if err != nil {
		tb.Fatal(err)
	}
	digest := sha256.Sum256(canon)
	si := `<CanonicalizationMethod Algorithm="` + signing.AlgExcC14N + `"></CanonicalizationMethod>` +
		`<SignatureMethod Algorithm="` + signing.AlgRSASHA256 + `"></SignatureMethod>` +
		`<Reference URI=""><Transforms><Transform Algorithm="` + signing.AlgEnveloped + `"></Transform>` + transform + `</Transforms>` +
		`<DigestMethod Algorithm="` + signing.AlgSHA256 + `"></DigestMethod><DigestValue>` + base64.StdEncoding.EncodeToString(digest[:]) + `</DigestValue></Reference>`
	signed := sha256.Sum256([]byte(`<SignedInfo xmlns="` + signing.XMLDSigNS + `">` + si + `</SignedInfo>`))
	value, err := is.Key.Sign(rand.Reader, signed[:], crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	sig := `<Signature xmlns="` + signing.XMLDSigNS + `"><SignedInfo>` + si + `</SignedInfo><SignatureValue>` + base64.StdEncoding.EncodeToString(value) +
		`</SignatureValue><KeyInfo><X509Data><X509Certificate>` + base64.StdEncoding.EncodeToString(is.Certificate.Raw) + `</X509Certificate></X509Data></KeyInfo></Signature>`
	at := bytes.Index(packet, []byte("</edXML:MessageHeader>"))
	if i := bytes.Index(packet, []byte("</edXML:TraceHeaderList>")); i >= 0 {
		at = i + len("</edXML:TraceHeaderList>")
	} else {
		at += len("</edXML:MessageHeader>")
	}
	return slices.Concat(packet[:at], []byte(sig), packet[at:])
}

// oracleCanon computes the canonical forms of packet independently of the
// verifier: etree without the parser's tolerances (but for the leading
// bytes it skips) and its own reader of XML, goxmldsig's
// canonicalisers on the document element from which the one Signature was
// removed. An error means the forms cannot be computed (malformed XML, an
// undeclared prefix, no single Signature).
func oracleCanon(packet []byte) (canonForms, error) {
	cf := canonForms{doc: map[string][]byte{}}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(packet[oracleStart(packet):]); err != nil {
		return cf, err
	}
	root := doc.Root()
	if root == nil {
		return cf, errors.New("no root")
	}
	var sigs []*etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if c.Tag == "Signature" {
				sigs = append(sigs, c)
			}
			walk(c)
		}
	}
	walk(root)
	if len(sigs) != 1 {
		return cf, fmt.Errorf("%d Signatures", len(sigs))
	}
	sig := sigs[0]
	p := sig.Parent()
	cf.oneSignature = sig.NamespaceURI() == signing.XMLDSigNS && p.Tag == "edXMLHeader" && p.Parent() != nil &&
		p.Parent().Tag == "edXMLEnvelope" && p.Parent().Parent() == root
	inContext := func(el *etree.Element) ([]byte, error) {
		if el == nil {
			return nil, errors.New("missing")
		}
		ctx, err := etreeutils.NSBuildParentContext(el)
		if err != nil {
			return nil, err
		}
		detached, err := etreeutils.NSDetatch(ctx, el)
		if err != nil {
			return nil, err
		}
		return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
	}
	// Outside SignedInfo nothing in the Signature is signed: a form that
	// cannot be computed (an undeclared prefix…) only leaves completeness
	// unchecked.
	cf.signature, _ = inContext(sig)
	var err error
	if cf.signedInfo, err = inContext(sig.SelectElement("SignedInfo")); err != nil {
		return cf, err
	}
	p.RemoveChild(sig)
	// URI="" is the whole document: processing instructions outside the
	// document element are part of its canonical form (the XML
	// declaration is not one).
	var before, after []byte
	seenRoot := false
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Element:
			seenRoot = true
		case *etree.ProcInst:
			if t.Target == "xml" {
				continue
			}
			if seenRoot {
				after = fmt.Appendf(after, "\n<?%s %s?>", t.Target, t.Inst)
			} else {
				before = fmt.Appendf(before, "<?%s %s?>\n", t.Target, t.Inst)
			}
		}
	}
	// The inclusive canonicalisers work on copies; the exclusive one
	// changes the tree, so it goes last.
	for _, alg := range []string{signing.AlgC14N10, signing.AlgC14N11, signing.AlgExcC14N} {
		var c dsig.Canonicalizer
		switch alg {
		case signing.AlgExcC14N:
			c = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		case signing.AlgC14N11:
			c = dsig.MakeC14N11Canonicalizer()
		default:
			c = dsig.MakeC14N10RecCanonicalizer()
		}
		if b, err := c.Canonicalize(root); err == nil {
			cf.doc[alg] = slices.Concat(before, b, after)
		}
	}
	return cf, nil
}

// oracleStart skips what the parser skips before the XML: a byte order
// mark, white space, stray bytes before "<?xml" or the first '<'. The
// oracle takes that tolerance as given and so does not judge it: stray
// bytes that hold a whole element before "<?xml" are skipped by both.
func oracleStart(b []byte) int {
	start := 0
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	rest := b[start:]
	if t := bytes.TrimLeft(rest, " \t\r\n"); bytes.HasPrefix(t, []byte("<")) {
		return start + len(rest) - len(t)
	}
	window := rest[:min(len(rest), 1024)]
	i := bytes.Index(window, []byte("<?xml"))
	if i < 0 {
		i = bytes.IndexByte(window, '<')
	}
	if i < 0 {
		return len(b)
	}
	return start + i
}

// infoset renders the document minus its XML-DSig Signature elements as
// encoding/xml reads it: elements by namespace URI and local name,
// attributes other than namespace declarations in order of name, and
// text, with comments and processing instructions left out. It fails for
// what is not one well-formed document (encoding/xml's own checks, and a
// second element or text after the document element), and for a declared
// encoding other than UTF-8.
func infoset(packet []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(packet[oracleStart(packet):]))
	dec.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf8") {
			return r, nil // UTF-8 by another name
		}
		return nil, fmt.Errorf("encoding %q", charset)
	}
	var out strings.Builder
	depth, skip := 0, 0
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			fmt.Fprintf(&out, "T%q\n", text.String())
			text.Reset()
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && out.Len() > 0 {
				return "", errors.New("a second document element")
			}
			depth++
			if skip > 0 || (t.Name.Space == signing.XMLDSigNS && t.Name.Local == "Signature") {
				skip++
				continue
			}
			flush()
			var attrs []string
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				attrs = append(attrs, fmt.Sprintf("{%s}%s=%q", a.Name.Space, a.Name.Local, a.Value))
			}
			slices.Sort(attrs)
			fmt.Fprintf(&out, "S{%s}%s %s\n", t.Name.Space, t.Name.Local, strings.Join(attrs, " "))
		case xml.EndElement:
			depth--
			if skip > 0 {
				skip--
				continue
			}
			flush()
			out.WriteString("E\n")
		case xml.CharData:
			if depth == 0 && len(bytes.Trim(t, " \t\r\n")) > 0 {
				return "", errors.New("text outside the document element")
			}
			if skip == 0 && depth > 0 {
				text.Write(t)
			}
		}
	}
	return out.String(), nil
}

// The vocabulary of the structured mutations.
var (
	fuzzPrefixes = []string{"", "edXML", "e", "ds", "x", "xml"}
	fuzzURIs     = []string{envelope.Namespace, signing.XMLDSigNS, "", "urn:x", "http://www.w3.org/XML/1998/namespace"}
	fuzzTags     = []string{"Signature", "SignedInfo", "Reference", "Object", "edXMLHeader", "edXMLEnvelope", "MessageHeader",
		"Subject", "AttachmentEncoded", "Attachment", "ContentTransferEncoded", "X509Certificate", "Transform", "From",
		"OrganId", "TraceHeaderList", "edXMLBody", "DigestValue", "KeyInfo", "Transforms"}
	fuzzAttrKeys = []string{"URI", "Id", "ID", "Algorithm", "xml:space", "xml:id", "x:URI", "version", "Type", "ds:URI"}
	fuzzValues   = []string{"", "#", "#xpointer(/)", "#id", "preserve", signing.AlgExcC14N, signing.AlgC14N10, signing.AlgEnveloped,
		"000.00.00.H42", "1.0", " ", "urn:x", signing.AlgRSASHA256, signing.AlgSHA256, "http://www.w3.org/2000/09/xmldsig#sha1"}
	fuzzTexts = []string{"", " ", "000.00.00.H42", "000.00.00.G22", "x", `&<>"'`, "V/v kết nối", "\t", "\r\n", "\n  ", "AAAA", "=="}
	fuzzWhite = []string{" ", "\n", "\t", "\r\n", "\n    ", "\u00a0"}
	fuzzNotes = []string{"", " c ", "-", "x\ny", " Signature "}
	fuzzBytes = []string{" ", "\n", "\r\n", "\t", "\r", "<!---->", "<!-- x -->", "<?pi x?>", "&#x20;", "&#32;", "&amp;", "&#xD;",
		"<![CDATA[]]>", "<![CDATA[x]]>", "\xef\xbb\xbf", ` xmlns:x="urn:x"`, ` x:a="1"`, ` xmlns=""`, "<x/>", "</", ">", `"`, "'",
		"\x00", "&lt;", "]]>", "<!DOCTYPE edXML>", `<?xml version="1.0"?>`, "1212"}
	fuzzSelfClose = regexp.MustCompile(`<([A-Za-z_][\w.:-]*)((?:\s+[^<>/]*)?)></([A-Za-z_][\w.:-]*)>`)
)

// The operations of a mutation program; each reads its arguments from the
// program's following bytes (zero when they run out).
const (
	opMoveChild     = iota // move a child token of an element to another position among its siblings
	opDuplicate            // insert a copy of an element after it
	opMove                 // move an element into another (anywhere: the Signature, an attachment…)
	opDelete               // remove an element
	opPrefix               // change an element's prefix
	opDeclare              // add a namespace declaration
	opUndeclare            // remove a namespace declaration
	opComment              // insert a comment among an element's children
	opWhite                // insert white space among an element's children
	opRotateAttrs          // change the order of an element's attributes
	opAddAttr              // add (or replace) an attribute
	opText                 // change an element's text
	opWrap                 // wrap an element in a new one
	opUnwrap               // replace an element by its children
	opRename               // change an element's local name
	opAttrValue            // change an attribute's value (a Reference URI, an Algorithm…)
	opProcInst             // insert a processing instruction among an element's children
	opCDATA                // turn an element's first text into CDATA
	opAddReference         // add a second Reference to SignedInfo
	opObject               // add an Object to the Signature holding a copy of an element
	opDocLevel             // insert a comment, a PI or white space outside the document element
	opTagSpace             // insert white space before the end of a start tag
	opQuotes               // quote an attribute value with apostrophes
	opCharRef              // write a character of text as a character reference
	opInsertBytes          // insert a snippet at a byte offset
	opFlip                 // flip bits of a byte
	opLineEnd              // turn a line feed into CR LF or CR
	opSelfClose            // write an empty element as <x/>
	opProlog               // change what comes before the document element
	opSpaceAroundEq        // white space around an attribute's '='
	opDeleteBytes          // delete a range of bytes
	opCount
)

// mutation applies a program to a packet, working on its tree or its
// bytes as each operation needs.
type mutation struct {
	prog []byte
	pc   int
	data []byte
	doc  *etree.Document
	// broken says the bytes no longer parse, so tree operations are
	// skipped.
	broken bool
}

func (m *mutation) arg() byte {
	if m.pc >= len(m.prog) {
		return 0
	}
	b := m.prog[m.pc]
	m.pc++
	return b
}

func (m *mutation) arg16() int { return int(m.arg()) | int(m.arg())<<8 }

func pick[T any](m *mutation, from []T) T { return from[int(m.arg())%len(from)] }

// tree returns the packet's tree, parsing the bytes if need be; nil if
// they do not parse.
func (m *mutation) tree() *etree.Document {
	if m.doc == nil && !m.broken {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(m.data); err != nil || doc.Root() == nil {
			m.broken = true
			return nil
		}
		m.doc = doc
	}
	return m.doc
}

// bytes returns the packet's bytes, serialising the tree if need be.
func (m *mutation) bytes() []byte {
	if m.doc != nil {
		if b, err := m.doc.WriteToBytes(); err == nil {
			m.data = b
		}
		m.doc = nil
	}
	return m.data
}

// element picks an element: one of the Signature's (itself included) for
// an argument from 0xC0, else one of the whole document's in document
// order. nil when there is no tree or the tree grew too large.
func (m *mutation) element() *etree.Element {
	doc := m.tree()
	if doc == nil {
		return nil
	}
	var all, sig []*etree.Element
	var walk func(el *etree.Element, inSig bool)
	walk = func(el *etree.Element, inSig bool) {
		inSig = inSig || el.Tag == "Signature"
		all = append(all, el)
		if inSig {
			sig = append(sig, el)
		}
		for _, c := range el.ChildElements() {
			walk(c, inSig)
		}
	}
	walk(doc.Root(), false)
	b := m.arg()
	if len(all) > 2000 {
		return nil
	}
	if b >= 0xC0 && len(sig) > 0 {
		return sig[int(b-0xC0)%len(sig)]
	}
	return all[int(b)%len(all)]
}

// apply runs the program's operations, at most 48 of them.
func (m *mutation) apply() []byte {
	for n := 0; n < 48 && m.pc < len(m.prog); n++ {
		m.step(int(m.arg()) % opCount)
		if len(m.data) > 1<<20 {
			break
		}
	}
	return m.bytes()
}

func (m *mutation) step(op int) {
	switch op {
	case opMoveChild:
		if el := m.element(); el != nil && len(el.Child) > 1 {
			tok := el.Child[int(m.arg())%len(el.Child)]
			el.InsertChildAt(int(m.arg())%(len(el.Child)+1), tok)
		}
	case opDuplicate:
		if el := m.element(); el != nil && el.Parent() != nil && el.Parent().Parent() != nil {
			el.Parent().InsertChildAt(el.Index()+1, el.Copy())
		}
	case opMove:
		el, dst := m.element(), m.element()
		if el == nil || dst == nil || el.Parent() == nil || el.Parent().Parent() == nil {
			return
		}
		for a := dst; a != nil; a = a.Parent() {
			if a == el {
				return
			}
		}
		dst.InsertChildAt(int(m.arg())%(len(dst.Child)+1), el)
	case opDelete:
		if el := m.element(); el != nil && el.Parent() != nil && el.Parent().Parent() != nil {
			el.Parent().RemoveChild(el)
		}
	case opPrefix:
		if el := m.element(); el != nil {
			el.Space = pick(m, fuzzPrefixes)
		}
	case opDeclare:
		if el := m.element(); el != nil {
			p, uri := pick(m, fuzzPrefixes), pick(m, fuzzURIs)
			if p == "" {
				el.CreateAttr("xmlns", uri)
			} else {
				el.CreateAttr("xmlns:"+p, uri)
			}
		}
	case opUndeclare:
		if el := m.element(); el != nil {
			var decls []int
			for i, a := range el.Attr {
				if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
					decls = append(decls, i)
				}
			}
			if len(decls) > 0 {
				i := decls[int(m.arg())%len(decls)]
				el.Attr = slices.Delete(el.Attr, i, i+1)
			}
		}
	case opComment:
		if el := m.element(); el != nil {
			el.InsertChildAt(int(m.arg())%(len(el.Child)+1), etree.NewComment(pick(m, fuzzNotes)))
		}
	case opWhite:
		if el := m.element(); el != nil {
			el.InsertChildAt(int(m.arg())%(len(el.Child)+1), etree.NewText(pick(m, fuzzWhite)))
		}
	case opRotateAttrs:
		if el := m.element(); el != nil && len(el.Attr) > 1 {
			k := int(m.arg()) % len(el.Attr)
			el.Attr = append(el.Attr[k:], el.Attr[:k]...)
			if m.arg()&1 == 1 {
				slices.Reverse(el.Attr)
			}
		}
	case opAddAttr:
		if el := m.element(); el != nil {
			el.CreateAttr(pick(m, fuzzAttrKeys), pick(m, fuzzValues))
		}
	case opText:
		if el := m.element(); el != nil {
			t := pick(m, fuzzTexts)
			switch m.arg() % 4 {
			case 0:
				el.SetText(t)
			case 1:
				el.SetText(el.Text() + t)
			case 2:
				el.SetText(t + el.Text())
			default:
				el.SetTail(t)
			}
		}
	case opWrap:
		if el := m.element(); el != nil && el.Parent() != nil && el.Parent().Parent() != nil {
			w := etree.NewElement(pick(m, fuzzTags))
			w.Space = pick(m, fuzzPrefixes)
			el.Parent().InsertChildAt(el.Index(), w)
			w.AddChild(el)
		}
	case opUnwrap:
		if el := m.element(); el != nil && el.Parent() != nil && el.Parent().Parent() != nil {
			p, at := el.Parent(), el.Index()
			for len(el.Child) > 0 {
				c := el.Child[len(el.Child)-1]
				p.InsertChildAt(at+1, c)
			}
			p.RemoveChild(el)
		}
	case opRename:
		if el := m.element(); el != nil {
			el.Tag = pick(m, fuzzTags)
		}
	case opAttrValue:
		if el := m.element(); el != nil && len(el.Attr) > 0 {
			el.Attr[int(m.arg())%len(el.Attr)].Value = pick(m, fuzzValues)
		}
	case opProcInst:
		if el := m.element(); el != nil {
			el.InsertChildAt(int(m.arg())%(len(el.Child)+1), etree.NewProcInst(pick(m, []string{"pi", "xml-stylesheet", "x"}), pick(m, fuzzNotes)))
		}
	case opCDATA:
		if el := m.element(); el != nil {
			for i, c := range el.Child {
				if cd, ok := c.(*etree.CharData); ok && !cd.IsCData() {
					el.RemoveChildAt(i)
					el.InsertChildAt(i, etree.NewCData(cd.Data))
					break
				}
			}
		}
	case opAddReference:
		doc := m.tree()
		if doc == nil {
			return
		}
		if si := doc.FindElement("//SignedInfo"); si != nil {
			if ref := si.SelectElement("Reference"); ref != nil {
				c := ref.Copy()
				c.CreateAttr("URI", pick(m, fuzzValues))
				si.InsertChildAt(int(m.arg())%(len(si.Child)+1), c)
			}
		}
	case opObject:
		doc := m.tree()
		if doc == nil {
			return
		}
		sig := doc.FindElement("//Signature")
		el := m.element()
		if sig == nil || el == nil {
			return
		}
		obj := etree.NewElement("Object")
		obj.Space = pick(m, fuzzPrefixes)
		obj.AddChild(el.Copy())
		sig.InsertChildAt(int(m.arg())%(len(sig.Child)+1), obj)
	case opDocLevel:
		doc := m.tree()
		if doc == nil {
			return
		}
		var tok etree.Token
		switch m.arg() % 3 {
		case 0:
			tok = etree.NewComment(pick(m, fuzzNotes))
		case 1:
			tok = etree.NewProcInst(pick(m, []string{"pi", "xml-stylesheet"}), pick(m, fuzzNotes))
		default:
			tok = etree.NewText(pick(m, fuzzWhite))
		}
		doc.InsertChildAt(int(m.arg())%(len(doc.Child)+1), tok)

	// Operations on the bytes.
	case opTagSpace:
		b := m.bytes()
		if i := nthStartTagEnd(b, int(m.arg())); i >= 0 {
			m.data = slices.Insert(slices.Clone(b), i, []byte(pick(m, fuzzWhite))...)
		}
	case opQuotes:
		b := m.bytes()
		if i := nthIndex(b, []byte(`="`), int(m.arg())); i >= 0 {
			if j := bytes.IndexByte(b[i+2:], '"'); j >= 0 && !bytes.Contains(b[i+2:i+2+j], []byte("'")) {
				b = slices.Clone(b)
				b[i+1], b[i+2+j] = '\'', '\''
				m.data = b
			}
		}
	case opCharRef:
		b := m.bytes()
		if i := nthTextLetter(b, int(m.arg16())); i >= 0 {
			m.data = slices.Concat(b[:i], fmt.Appendf(nil, "&#x%X;", b[i]), b[i+1:])
		}
	case opInsertBytes:
		b := m.bytes()
		at := m.arg16() % (len(b) + 1)
		m.data = slices.Insert(slices.Clone(b), at, []byte(pick(m, fuzzBytes))...)
		m.broken = false
	case opFlip:
		b := slices.Clone(m.bytes())
		if len(b) > 0 {
			b[m.arg16()%len(b)] ^= m.arg() | 1
			m.data = b
			m.broken = false
		}
	case opLineEnd:
		b := m.bytes()
		if i := nthIndex(b, []byte("\n"), m.arg16()); i >= 0 {
			m.data = slices.Concat(b[:i], []byte(pick(m, []string{"\r\n", "\r", "\n\n"})), b[i+1:])
		}
	case opSelfClose:
		b := m.bytes()
		ms := fuzzSelfClose.FindAllSubmatchIndex(b, -1)
		var same [][]int
		for _, x := range ms {
			if bytes.Equal(b[x[2]:x[3]], b[x[6]:x[7]]) {
				same = append(same, x)
			}
		}
		if len(same) > 0 {
			x := same[int(m.arg())%len(same)]
			m.data = slices.Concat(b[:x[0]], []byte("<"), b[x[2]:x[5]], []byte("/>"), b[x[1]:])
		}
	case opProlog:
		b := m.bytes()
		start := 0
		if bytes.HasPrefix(b, []byte("<?xml")) {
			start = bytes.Index(b, []byte("?>")) + 2
		}
		prolog := pick(m, []string{"", "\xef\xbb\xbf", "1212", `<?xml version="1.0" encoding="utf-8" standalone="yes"?>`,
			`<?xml version='1.0'?>` + "\n", "<!-- before -->", `<?xml version="1.0" encoding="ISO-8859-1"?>`, " \n", "<?pi?>"})
		m.data = slices.Concat([]byte(prolog), b[start:], []byte(pick(m, []string{"", "\n", "<!-- after -->", "<?pi after?>", "<x/>", "junk"})))
		m.broken = false
	case opSpaceAroundEq:
		b := m.bytes()
		if i := nthIndex(b, []byte(`="`), int(m.arg())); i >= 0 {
			m.data = slices.Concat(b[:i], []byte(pick(m, []string{" = ", "\n=\t", "= "})), b[i+1:])
		}
	case opDeleteBytes:
		b := m.bytes()
		if len(b) > 0 {
			at := m.arg16() % len(b)
			n := min(int(m.arg())%32+1, len(b)-at)
			m.data = slices.Delete(slices.Clone(b), at, at+n)
			m.broken = false
		}
	}
}

// nthIndex is the offset of the n-th (modulo their number) occurrence of
// sep in b, or -1.
func nthIndex(b, sep []byte, n int) int {
	count := bytes.Count(b, sep)
	if count == 0 {
		return -1
	}
	n %= count
	at := 0
	for {
		i := bytes.Index(b[at:], sep)
		if n == 0 {
			return at + i
		}
		n--
		at += i + len(sep)
	}
}

// nthStartTagEnd is the offset of the '>' (or "/>") closing the n-th start
// tag (modulo their number), or -1.
func nthStartTagEnd(b []byte, n int) int {
	var ends []int
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '<' || !(b[i+1] == '_' || b[i+1] >= 'A' && b[i+1] <= 'Z' || b[i+1] >= 'a' && b[i+1] <= 'z') {
			continue
		}
		j := bytes.IndexByte(b[i:], '>')
		if j < 0 {
			break
		}
		end := i + j
		if b[end-1] == '/' {
			end--
		}
		ends = append(ends, end)
	}
	if len(ends) == 0 {
		return -1
	}
	return ends[n%len(ends)]
}

// nthTextLetter is the offset of the n-th (modulo their number) ASCII
// letter or digit in text between '>' and '<', or -1.
func nthTextLetter(b []byte, n int) int {
	var at []int
	inText := false
	for i, c := range b {
		switch {
		case c == '>':
			inText = true
		case c == '<':
			inText = false
		case inText && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'):
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return -1
	}
	return at[n%len(at)]
}

// FuzzVerify mutates validly signed packets — structurally, by a program
// of operations on their tree and bytes (see the op constants), and byte by
// byte through raw — and checks the verdict:
//
//   - Verify never panics, returns an error only for its own faults (none
//     here) and does not change its input;
//   - a valid (or not-bound) verdict is only for a mutation whose signed
//     content is unchanged: its canonical forms (the document element
//     without the Signature under the Reference's canonicalisation, and
//     SignedInfo), computed independently, are those of the packet it came
//     from, and so is its content as encoding/xml reads it; its
//     Verdict.Packet equals that packet's and its certificate is that
//     packet's signer's (registered, so never not-bound);
//   - conversely, a mutation that the parser and encoding/xml both read,
//     whose canonical forms (the whole Signature's included) are
//     unchanged, with its one Signature in edXMLHeader, is valid: white
//     space inside tags, attribute order, comments, redundant namespace
//     declarations, CDATA for text and the like do not break a signature.
func FuzzVerify(f *testing.F) {
	fx := newFuzzFixture(f)
	for i, b := range fx.bases {
		f.Add(uint8(i), []byte{}, []byte{})
		// One of each operation, on the document and on the Signature.
		if i == 0 || i == 3 || i == 4 {
			for op := range opCount {
				f.Add(uint8(i), []byte{byte(op), 5, 1, 2, 3, 4}, []byte{})
				f.Add(uint8(i), []byte{byte(op), 0xC3, 0xC1, 2, 3, 4}, []byte{})
			}
		}
		if i == 1 || i == 3 {
			f.Add(uint8(i), []byte{}, b.signed)
		}
	}
	f.Fuzz(func(t *testing.T, base uint8, prog, raw []byte) {
		if len(prog) > 512 || len(raw) > 64<<10 {
			return
		}
		start := fx.bases[int(base)%len(fx.bases)].signed
		if len(raw) > 0 {
			start = raw
		}
		m := &mutation{prog: prog, data: start}
		packet := m.apply()
		before := slices.Clone(packet)
		vd, err := fx.verifier.Verify(t.Context(), packet)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !bytes.Equal(packet, before) {
			t.Fatal("Verify changed its input")
		}
		if len(raw) == 0 && len(prog) == 0 && vd.Outcome != signing.Valid {
			t.Fatalf("an unchanged signed packet: %s (%s)", vd.Outcome, vd.ReasonEN)
		}
		checkVerdict(t, fx, packet, vd)
	})
}

// checkVerdict is FuzzVerify's oracle.
func checkVerdict(t *testing.T, fx *fuzzFixture, packet []byte, vd *signing.Verdict) {
	t.Helper()
	verified := vd.Outcome == signing.Valid || vd.Outcome == signing.NotBound
	if vd.ReasonEN == "" || vd.ReasonVI == "" {
		t.Errorf("verdict %s without reasons", vd.Outcome)
	}
	if verified != (vd.Packet != nil) {
		t.Errorf("verdict %s with packet %v", vd.Outcome, vd.Packet != nil)
	}
	var match *fuzzBase
	cf, err := oracleCanon(packet)
	if err != nil {
		if verified {
			t.Fatalf("verdict %s for a packet the oracle cannot read: %v\n%s", vd.Outcome, err, packet)
		}
		return
	}
	for _, b := range fx.bases {
		if d := cf.doc[b.alg]; d != nil && bytes.Equal(d, b.canon.doc[b.alg]) && bytes.Equal(cf.signedInfo, b.canon.signedInfo) {
			match = b
			break
		}
	}
	if verified {
		if match == nil {
			t.Fatalf("verdict %s for content that was never signed:\n%s", vd.Outcome, packet)
		}
		if vd.Outcome != signing.Valid {
			t.Fatalf("verdict %s for %s, signed by a registered certificate", vd.Outcome, match.name)
		}
		if !reflect.DeepEqual(vd.Packet, match.packet) {
			t.Fatalf("the verified packet differs from %s's:\n got: %+v\nwant: %+v\n%s", match.name, vd.Packet, match.packet, packet)
		}
		if !vd.Certificate.Equal(match.cert) {
			t.Fatalf("valid with certificate %q, %s was signed with %q", vd.Subject, match.name, match.cert.Subject)
		}
		info, err := infoset(packet)
		if err != nil || info != match.infoset {
			t.Fatalf("valid, but encoding/xml reads other content than %s's (%v):\n%s", match.name, err, packet)
		}
	}
	if match == nil || !cf.oneSignature || cf.signature == nil || !bytes.Equal(cf.signature, match.canon.signature) || vd.Outcome == signing.Valid {
		return
	}
	if _, _, err := fx.verifier.Parser.ReadTree(packet); err != nil {
		return // refused by the parser's rules (a DOCTYPE, …)
	}
	if _, err := infoset(packet); err != nil {
		return // not XML as encoding/xml reads it (another encoding declared, …)
	}
	t.Fatalf("verdict %s (%s) for %s with its canonical forms unchanged:\n%s", vd.Outcome, vd.ReasonEN, match.name, packet)
}

// TestVerifier_OutsideDocumentElement: the parser reads a packet as UTF-8
// whatever its XML declaration says, and reads its first element only. So
// a signed packet whose declaration was changed to another encoding, or to
// which an element or text was appended after the document element,
// verified as valid, though software that honours the declaration reads
// other characters from it, and the appended content is neither
// well-formed XML nor signed (FuzzVerify found both). Such packets are
// malformed, and the signer refuses to sign them. So are processing
// instructions outside the document element, which XML-DSig's URI=""
// covers but lienthong's digest does not.
func TestVerifier_OutsideDocumentElement(t *testing.T) {
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	signed := mustSign(t, s, edocPacket(t))
	decl := `<?xml version="1.0" encoding="UTF-8"?>`
	for _, enc := range []string{"ISO-8859-1", "windows-1258", "UTF-16", "us-ascii"} {
		tr.wantVerdict(t, swap(t, signed, decl, `<?xml version="1.0" encoding="`+enc+`"?>`), signing.Malformed, signing.ErrUnreadablePacket)
		tr.wantVerdict(t, swap(t, signed, decl, `<?xml version='1.0' encoding = '`+enc+`' ?>`), signing.Malformed, signing.ErrUnreadablePacket)
	}
	for _, same := range []string{`<?xml version="1.0" encoding="utf-8"?>`, `<?xml version="1.0" encoding="UTF8"?>`, `<?xml version="1.0"?>`, ""} {
		tr.wantVerdict(t, swap(t, signed, decl, same), signing.Valid, nil)
	}
	for _, after := range []string{"<x/>", "<edXML><edXMLEnvelope/></edXML>", "junk", "<?pi after?>"} {
		tr.wantVerdict(t, append(slices.Clone(signed), after...), signing.Malformed, signing.ErrUnreadablePacket)
	}
	for _, after := range []string{"\n", "<!-- after -->\n"} {
		tr.wantVerdict(t, append(slices.Clone(signed), after...), signing.Valid, nil)
	}
	// URI="" covers processing instructions outside the document element,
	// which lienthong does not digest: refused.
	tr.wantVerdict(t, swap(t, signed, "?>\n<edXML", "?>\n<?xml-stylesheet type=\"text/xsl\" href=\"other.xsl\"?>\n<edXML"), signing.Malformed, signing.ErrUnreadablePacket)
	tr.wantVerdict(t, swap(t, signed, "?>\n<edXML", "?>\n<!-- before -->\n<edXML"), signing.Valid, nil)
	// Stray bytes before the XML are skipped only if they hold no markup:
	// a whole fake packet before "<?xml" would be read by nobody here and
	// by whatever reads the stored packet later.
	tr.wantVerdict(t, append([]byte("1212"), signed...), signing.Valid, nil)
	fake := "x<edXML><edXMLEnvelope><edXMLHeader/><edXMLBody>Lệnh chuyển tiền</edXMLBody></edXMLEnvelope></edXML>"
	if vd, err := tr.verifier.Verify(t.Context(), append([]byte(fake), signed...)); err != nil || vd.Outcome == signing.Valid {
		t.Errorf("a packet behind a fake one verified as %v (%v)", vd.Outcome, err)
	}
	if _, err := s.Sign(swap(t, edocPacket(t), decl, `<?xml version="1.0" encoding="windows-1258"?>`)); !errors.Is(err, signing.ErrNotSignable) {
		t.Errorf("signing a packet that declares windows-1258: %v", err)
	}
	if _, err := s.Sign(append(edocPacket(t), "<x/>"...)); !errors.Is(err, signing.ErrNotSignable) {
		t.Errorf("signing a packet with an element after its document element: %v", err)
	}
}
