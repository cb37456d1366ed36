package envelope

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/beevik/etree"
)

// Every packet received or accepted is read into a tree, and etree over
// encoding/xml made that 6–8 % of a national day's CPU and a third of its
// allocations: encoding/xml reads a byte at a time through an interface,
// copies every token and allocates each name, value and attribute list,
// then etree copies them again into nodes it allocates one by one. So the
// parser reads the XML it accepts itself, in one pass over the bytes, into
// the tree etree would build: the same elements, Space and Tag, attributes
// in the same order, the same text, comments and processing instructions,
// and the same refusals, but one: an attribute repeated on an element,
// which etree merges (the last value in the first place), is refused, as
// XML and its namespaces require (see refuseDuplicates).
// TestReadXML_SameAsEtree and FuzzReadTree compare the two, etree reading
// with its duplicates kept and refused after.
//
// What it follows is encoding/xml's RawToken, Strict, without entities of
// its own, and etree's ReadSettings defaults (not Permissive, CDATA read as
// plain text) but for duplicate attributes, refused rather than merged:
//
//   - Text ends at '<'; "]]>" in it is an error. The five predefined
//     entities and &#N; or &#xN; (a lower-case x) are decoded, anything
//     else after '&' is an error; a character reference to a surrogate
//     gives U+FFFD, as string(rune) does. CR LF and a lone CR become LF, in
//     text, CDATA and attribute values alike; no other white space is
//     touched, in attribute values neither. The text, once decoded, must be
//     UTF-8 of characters in XML's Char range.
//   - Comments end at the first "--", which must be followed by '>';
//     processing instructions at the first "?>" after their target and
//     the white space after it. Their content is kept as it is, unchecked
//     and not normalised; an "xml" instruction may only declare version
//     1.0 (its encoding is ignored, as etree's pass-through CharsetReader
//     ignores it).
//   - Names are runs of ASCII name bytes and non-ASCII bytes that are XML
//     names; element and attribute names have at most one colon, which
//     splits them into Space and Tag (or Key) unless either side is empty.
//     White space may be missing between attributes, never the '=' and the
//     quotes.
//   - End tags must match, elements must be closed by the end of the input,
//     and elements nested deeper than the limit are refused with
//     etree.ErrMaxDepth when their start tag has been read.
//
// Several root elements and text around them are accepted, as etree
// accepts them; readTree takes the first element for the root. A <!…>
// declaration other than a comment or a CDATA section, which encoding/xml
// reads and etree keeps as a Directive, is refused with ErrForbiddenXML,
// as the scan before refuses it: edXML has none, and the reader makes no
// Directive.
//
// Memory: elements, text nodes, attributes and child lists are allocated a
// slab at a time, the first sized by what the scan counted up to
// firstSlab, each next one twice the last, so that what is allocated
// follows what has been read; the strings of names, values, comments and
// short or decoded text are copied into a few large byte chunks (text
// that is a line end and the indentation of the next line, most text
// nodes of a packet, is a constant). Long base64 text
// (attachments, certificates, signature values) is not copied: as before,
// when the whole of a text node is a run of base64 characters and white
// space of blobMin bytes or more with no CR in it, its string shares the
// input's memory, so that a 67 MB packet is not held twice (see
// Parser.ReadTree; FromTree copies what a Packet keeps, but for the text
// of a large attachment). Nothing else refers to the input: a Packet made
// from the tree keeps only its own strings, the chunks of copied markup
// and that text.

// readXML reads b into doc as etree's ReadFromBytes does with
// doc.ReadSettings (MaxDepth set to maxDepth, the rest by default). counts,
// from the scan of b, size the slabs; they may be wrong without harm.
func readXML(doc *etree.Document, b []byte, maxDepth int, counts scanCounts) error {
	r := xmlReader{b: b, maxDepth: maxDepth}
	// The stacks, sized so that a packet seldom grows them: edXML nests
	// nine deep, and the children of the elements open at once are a few
	// dozen but in the recipients' list of a large packet.
	r.open = make([]openElement, 0, min(maxDepth, 16))
	r.pending = make([]etree.Token, 0, min(counts.nodes, 64))
	r.scratch = make([]rawAttr, 0, 8)
	r.scope.bindings = r.scope.room[:0]
	r.elements.expect(counts.elements)
	r.texts.expect(counts.texts)
	r.tokens.expect(counts.nodes)
	r.attrs.expect(counts.attrs)
	r.strs.size = min(max(counts.copied, 256), 32<<10)
	return r.read(doc)
}

// xmlReader is the state of one readXML.
type xmlReader struct {
	b        []byte
	i        int // the next byte to read
	maxDepth int

	elements slab[etree.Element]
	texts    slab[etree.CharData]
	tokens   slab[etree.Token]
	attrs    slab[etree.Attr]
	strs     arena
	names    nameChecker

	open    []openElement     // the elements whose end tag is still to come
	pending []etree.Token     // their children so far, outermost first
	scratch []rawAttr         // the attributes of the start tag being read
	seen    map[[2]string]int // for refuseDuplicatesMap, empty between start tags
	scope   namespaceScope    // the prefixes bound by the open elements
}

type openElement struct {
	el    *etree.Element
	name  string // as written, for its end tag
	first int    // where its children start in pending
	scope int    // the bindings in scope before its start tag
}

// rawAttr is an attribute of the start tag being read, with the namespace
// its prefix is bound to: "" when it has none, or is xmlns (its attributes
// are declarations, in no namespace). A prefix not declared is refused.
type rawAttr struct{ space, key, value, ns string }

func (r *xmlReader) read(doc *etree.Document) error {
	b := r.b
	for r.i < len(b) {
		if b[r.i] != '<' {
			if err := r.text(); err != nil {
				return err
			}
			continue
		}
		r.i++
		if r.i >= len(b) {
			return r.syntaxError("unexpected EOF after <")
		}
		var err error
		switch b[r.i] {
		case '/':
			err = r.endTag()
		case '?':
			err = r.procInst()
		case '!':
			err = r.bang()
		default:
			err = r.startTag()
		}
		if err != nil {
			return err
		}
	}
	if n := len(r.open); n > 0 {
		return r.syntaxError("unexpected EOF: <" + r.open[n-1].el.FullTag() + "> not closed")
	}
	r.close(&doc.Element, 0)
	return nil
}

// syntaxError is an error at the current position.
func (r *xmlReader) syntaxError(msg string) error {
	line := 1 + bytes.Count(r.b[:min(r.i, len(r.b))], []byte{'\n'})
	return fmt.Errorf("XML syntax error on line %d: %s", line, msg)
}

// startTag reads a start tag from its name (r.i is just after '<').
func (r *xmlReader) startTag() error {
	name, space, tag, err := r.nsName("element name after <")
	if err != nil {
		return err
	}
	attrs := r.scratch[:0]
	empty := false
	b := r.b
	for {
		r.skipSpace()
		if r.i >= len(b) {
			return r.syntaxError("unexpected EOF in a start tag")
		}
		if b[r.i] == '>' {
			r.i++
			break
		}
		if b[r.i] == '/' {
			if r.i+1 >= len(b) || b[r.i+1] != '>' {
				return r.syntaxError("expected /> in element")
			}
			r.i += 2
			empty = true
			break
		}
		var a rawAttr
		if _, a.space, a.key, err = r.nsName("attribute name in element"); err != nil {
			return err
		}
		r.skipSpace()
		if r.i >= len(b) || b[r.i] != '=' {
			return r.syntaxError("attribute name without = in element")
		}
		r.i++
		r.skipSpace()
		if r.i >= len(b) || (b[r.i] != '"' && b[r.i] != '\'') {
			return r.syntaxError("unquoted or missing attribute value in element")
		}
		if a.value, err = r.attrValue(); err != nil {
			return err
		}
		attrs = append(attrs, a)
	}
	r.scratch = attrs
	// etree's stack holds the document under the open elements.
	if 1+len(r.open) > r.maxDepth {
		return etree.ErrMaxDepth
	}
	el := r.elements.one()
	el.Space, el.Tag = space, tag
	scope := len(r.scope.bindings)
	if err := r.namespaces(name, space, tag, attrs); err != nil {
		return err
	}
	if err := r.refuseDuplicates(name, attrs); err != nil {
		return err
	}
	if len(attrs) == 0 {
		el.Attr = make([]etree.Attr, 0) // as etree: empty, not nil; allocates nothing
	} else {
		// CreateAttr is what sets an Attr's element, but it looks for
		// its key among the attributes before: it makes one, of which
		// the attributes are copies, so that an element costs time in
		// proportion to its attributes. They are appended within the
		// capacity of the run.
		el.Attr = r.attrs.run(len(attrs))[:0]
		at := *el.CreateAttr("", "")
		el.Attr = el.Attr[:0]
		for _, a := range attrs {
			at.Space, at.Key, at.Value = a.space, a.key, a.value
			el.Attr = append(el.Attr, at)
		}
	}
	r.pending = append(r.pending, el)
	if empty {
		el.Child = make([]etree.Token, 0)
		r.scope.pop(scope)
		return nil
	}
	r.open = append(r.open, openElement{el, name, len(r.pending), scope})
	return nil
}

// xmlNamespace is the namespace the prefix xml is bound to by definition
// (Namespaces in XML §3); no declaration is needed for it. xmlnsNamespace
// is the prefix xmlns's, which must never be declared.
const (
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
)

// maxDeclarations is the most namespace declarations a start tag may
// carry: edXML's carry one or two. It bounds what one element adds to the
// prefixes in scope.
const maxDeclarations = 32

// namespaces checks the start tag of the element named element (space and
// tag, as nsName splits it) against Namespaces in XML 1.0, pushes the
// prefixes it declares onto the scope, then resolves the prefix of the
// element and of each of its attributes, attrs, once, the attributes' into
// their ns. Refused as not namespace-well-formed, as libxml2 (and so
// xmlsec1) refuses them, so that no two readers of a packet see different
// elements or attributes (issue 20):
//
//   - a name with a colon that does not split it into a prefix and a
//     local name (":a", "a:", which encoding/xml reads as local names);
//   - the prefix xml bound to anything but its namespace, any declaration
//     of xmlns, any other prefix (or the default namespace) bound to the
//     namespace of xml or of xmlns (§3);
//   - a prefix declared empty, xmlns:p="" (XML 1.0 namespaces cannot
//     undeclare a prefix);
//   - an element named with the prefix xmlns.
//
// A prefix not declared in scope is the one violation still read: the
// official sample edoc.edxml, as the national axis's client library ships
// it, has both an element (edXML:AttachmentEncoded, outside the
// edXMLEnvelope that declares edXML) and an attribute (xlink:href on
// edXML:Reference) whose prefix is declared nowhere, and every official
// sample must be read. Such a name is in no namespace, as libxml2 reads it
// when it recovers from the error: attributes of undeclared prefixes are
// told apart by their names as written (a:x and b:x are two), and the
// reader of the tree warns about such an element or refuses it where the
// edXML namespace is required (FromTree).
//
// Before issue 20 the prefix of each
// pair of attributes of one local name was looked for through the
// attributes of the element and of every open element: 46 elements of 120
// attributes above children carrying p0:x … p31:x, 0.9 MB, took 17 s to
// read. Now a start tag costs a lookup per prefixed attribute, in the
// bindings in scope alone, by a map once they are many (namespaceScope).
func (r *xmlReader) namespaces(element, space, tag string, attrs []rawAttr) error {
	declared := 0
	for i := range attrs {
		a := &attrs[i]
		switch {
		case a.space == "xmlns":
			switch {
			case a.key == "xmlns":
				return r.namespaceError("element <%s> declares the prefix xmlns, which is bound by definition and must not be declared", r.short(element))
			case a.key == "xml":
				if a.value != xmlNamespace {
					return r.namespaceError("element <%s> binds the prefix xml to %q; it is bound to %s alone", r.short(element), shortName([]byte(a.value)), xmlNamespace)
				}
			case a.value == xmlNamespace || a.value == xmlnsNamespace:
				return r.namespaceError("element <%s> binds the prefix %s to %s, which is reserved to the prefix %s",
					r.short(element), shortName([]byte(a.key)), a.value, map[bool]string{true: "xml", false: "xmlns"}[a.value == xmlNamespace])
			case a.value == "":
				return r.namespaceError("element <%s> declares the prefix %s empty (xmlns:%s=\"\"); XML 1.0 namespaces cannot undeclare a prefix",
					r.short(element), shortName([]byte(a.key)), shortName([]byte(a.key)))
			default:
				r.scope.push(a.key, a.value)
			}
		case a.space == "" && a.key == "xmlns":
			if a.value == xmlNamespace || a.value == xmlnsNamespace {
				return r.namespaceError("element <%s> makes %s its default namespace, which is reserved to a prefix", r.short(element), a.value)
			}
		default:
			continue
		}
		if declared++; declared > maxDeclarations {
			return r.syntaxError(fmt.Sprintf("element <%s> declares more than %d namespaces", r.short(element), maxDeclarations))
		}
	}
	switch {
	case space == "" && strings.IndexByte(tag, ':') >= 0:
		return r.namespaceError("element <%s> has a name that is no prefix and local name", r.short(element))
	case space == "xmlns":
		return r.namespaceError("element <%s> has the prefix xmlns, which elements must not have", r.short(element))
	}
	for i := range attrs {
		a := &attrs[i]
		switch a.space {
		case "":
			if strings.IndexByte(a.key, ':') >= 0 {
				return r.namespaceError("element <%s> carries the attribute %s, whose name is no prefix and local name", r.short(element), shortName([]byte(a.key)))
			}
		case "xmlns":
		case "xml":
			a.ns = xmlNamespace
		default:
			a.ns, _ = r.scope.lookup(a.space) // "" when not declared
		}
	}
	return nil
}

// short is an element's name for an error: computed there only, as it
// allocates.
func (r *xmlReader) short(element string) string { return shortName([]byte(element)) }

// namespaceError is an error at the current position for a start tag that
// is not namespace-well-formed.
func (r *xmlReader) namespaceError(format string, args ...any) error {
	line := 1 + bytes.Count(r.b[:min(r.i, len(r.b))], []byte{'\n'})
	return fmt.Errorf("XML namespace error on line %d: %s", line, fmt.Sprintf(format, args...))
}

// namespaceScope holds the prefixes bound by the start tags of the open
// elements, in the order of their declarations: an element's are pushed
// when its start tag is read and popped at its end. A prefix is looked up
// from the innermost binding out, along the slice while it is short (an
// edXML packet binds one or two prefixes), else in a map of the innermost
// binding of each prefix, made when the slice grows past scanBindings and
// kept up to date after, so that a lookup never costs more than a few
// comparisons or a map access, whatever the elements above declare.
type namespaceScope struct {
	bindings  []nsBinding
	innermost map[string]int // prefix → its binding in bindings; nil while few
	room      [4]nsBinding   // the first bindings, allocated with the reader
}

type nsBinding struct {
	prefix, uri string
	shadowed    int // the binding of the same prefix it hides, or -1 (kept with the map only)
}

const scanBindings = 16

func (s *namespaceScope) push(prefix, uri string) {
	b := nsBinding{prefix, uri, -1}
	if s.innermost == nil && len(s.bindings) >= scanBindings {
		s.innermost = make(map[string]int, 2*scanBindings)
		for i := range s.bindings {
			s.bindings[i].shadowed = -1
			if j, ok := s.innermost[s.bindings[i].prefix]; ok {
				s.bindings[i].shadowed = j
			}
			s.innermost[s.bindings[i].prefix] = i
		}
	}
	if s.innermost != nil {
		if j, ok := s.innermost[prefix]; ok {
			b.shadowed = j
		}
		s.innermost[prefix] = len(s.bindings)
	}
	s.bindings = append(s.bindings, b)
}

// pop drops the bindings from n on.
func (s *namespaceScope) pop(n int) {
	if s.innermost != nil {
		for i := len(s.bindings) - 1; i >= n; i-- {
			b := s.bindings[i]
			if b.shadowed >= 0 {
				s.innermost[b.prefix] = b.shadowed
			} else {
				delete(s.innermost, b.prefix)
			}
		}
	}
	s.bindings = s.bindings[:n]
}

// lookup returns the namespace prefix is bound to in scope, if it is.
func (s *namespaceScope) lookup(prefix string) (string, bool) {
	if s.innermost != nil {
		i, ok := s.innermost[prefix]
		if !ok {
			return "", false
		}
		return s.bindings[i].uri, true
	}
	for i := len(s.bindings) - 1; i >= 0; i-- {
		if s.bindings[i].prefix == prefix {
			return s.bindings[i].uri, true
		}
	}
	return "", false
}

// refuseDuplicates refuses a start tag that carries an attribute twice:
// by its name as written, which XML 1.0 (§3.1, Unique Att Spec) calls not
// well-formed, or by two prefixes bound to the same namespace with the same
// local name, which Namespaces in XML (§6.3) refuses too. etree keeps the
// last value, encoding/xml hands over both, other software takes the
// first: each reader of such a packet would see another value than the
// one checked (a signature's Algorithm, a DMS's ID). Up to 32 attributes,
// each is compared with those before; past that, they are looked up in a
// map that serves every element, cleared after each (unless one grew it
// large). The namespaces of prefixes were resolved before, once per
// attribute (namespaces).
func (r *xmlReader) refuseDuplicates(element string, attrs []rawAttr) error {
	if len(attrs) < 2 {
		return nil
	}
	if len(attrs) > 32 {
		return r.refuseDuplicatesMap(element, attrs)
	}
	for i := 1; i < len(attrs); i++ {
		a := &attrs[i]
		for j := range attrs[:i] {
			b := &attrs[j]
			if b.key != a.key {
				continue
			}
			if b.space == a.space {
				return r.duplicateAttr(element, *a)
			}
			if a.ns != "" && a.ns == b.ns {
				return r.sameNamespaceAttrs(element, *b, *a, a.ns)
			}
		}
	}
	return nil
}

func (r *xmlReader) refuseDuplicatesMap(element string, attrs []rawAttr) error {
	if r.seen == nil {
		r.seen = make(map[[2]string]int, len(attrs))
	}
	seen := r.seen
	defer func() {
		if len(attrs) > 256 {
			// Clearing a map costs time in proportion to the most it
			// has held: one grown past the attributes of an ordinary
			// element is dropped, and the next large element makes its
			// own.
			r.seen = nil
		} else {
			clear(seen)
		}
	}()
	prefixed := false
	for i, a := range attrs {
		k := [2]string{a.space, a.key}
		if _, ok := seen[k]; ok {
			return r.duplicateAttr(element, a)
		}
		seen[k] = i
		prefixed = prefixed || a.ns != ""
	}
	if !prefixed {
		return nil
	}
	// No two share a name as written, so two of the same namespace and
	// local name have different prefixes: the map is keyed by namespace
	// now.
	clear(seen)
	for i, a := range attrs {
		if a.ns == "" {
			continue
		}
		k := [2]string{a.ns, a.key}
		if j, ok := seen[k]; ok {
			return r.sameNamespaceAttrs(element, attrs[j], a, a.ns)
		}
		seen[k] = i
	}
	return nil
}

// duplicateAttr is the error for an attribute a written twice on the
// element named element.
func (r *xmlReader) duplicateAttr(element string, a rawAttr) error {
	return r.syntaxError(fmt.Sprintf("element <%s> carries the attribute %s twice; XML allows an attribute once on an element",
		shortName([]byte(element)), shortName([]byte(qualified(a.space, a.key)))))
}

// sameNamespaceAttrs is the error for two attributes whose prefixes are
// bound to the same namespace ns, with the same local name.
func (r *xmlReader) sameNamespaceAttrs(element string, a, b rawAttr, ns string) error {
	return r.syntaxError(fmt.Sprintf("element <%s> carries the attributes %s and %s, both {%s}%s; XML namespaces allow an attribute once on an element",
		shortName([]byte(element)), shortName([]byte(qualified(a.space, a.key))), shortName([]byte(qualified(b.space, b.key))),
		shortName([]byte(ns)), shortName([]byte(a.key))))
}

func qualified(space, key string) string {
	if space == "" {
		return key
	}
	return space + ":" + key
}

// endTag reads an end tag from its '/' and closes the element it ends.
// The name is compared as written: encoding/xml's split of a name into
// prefix and local part is a function of it, and is one to one.
func (r *xmlReader) endTag() error {
	r.i++
	b := r.b
	n, _ := r.name()
	if len(n) == 0 {
		return r.syntaxError("expected element name after </")
	}
	r.skipSpace()
	if r.i >= len(b) || b[r.i] != '>' {
		return r.syntaxError("invalid characters between </" + shortName(n) + " and >")
	}
	r.i++
	if len(r.open) == 0 {
		return r.syntaxError("unexpected end element </" + shortName(n) + ">")
	}
	top := r.open[len(r.open)-1]
	if string(n) != top.name {
		return r.syntaxError("element <" + top.name + "> closed by </" + shortName(n) + ">")
	}
	r.open = r.open[:len(r.open)-1]
	r.scope.pop(top.scope)
	r.close(top.el, top.first)
	return nil
}

// close gives el the children pending from first on.
func (r *xmlReader) close(el *etree.Element, first int) {
	kids := r.pending[first:]
	if len(kids) == 0 {
		if el.Child == nil {
			el.Child = make([]etree.Token, 0)
		}
		return
	}
	// AddChild is what sets a token's parent and index; it appends
	// within the capacity given.
	el.Child = r.tokens.run(len(kids))[:0]
	for _, t := range kids {
		el.AddChild(t)
	}
	r.pending = r.pending[:first] // what is left above is overwritten, or dropped with r
}

// procInst reads a processing instruction from its '?'.
func (r *xmlReader) procInst() error {
	r.i++
	n, ascii := r.name()
	if len(n) == 0 {
		return r.syntaxError("expected target name after <?")
	}
	if !r.isName(n, ascii) {
		return r.syntaxError("invalid XML name: " + shortName(n))
	}
	r.skipSpace()
	end := bytes.Index(r.b[r.i:], []byte("?>"))
	if end < 0 {
		r.i = len(r.b)
		return r.syntaxError("unexpected EOF in a processing instruction")
	}
	inst := r.b[r.i : r.i+end]
	if string(n) == "xml" {
		if v := procInstParam("version", inst); v != "" && v != "1.0" {
			return r.syntaxError(fmt.Sprintf("unsupported version %q; only version 1.0 is supported", v))
		}
	}
	r.i += end + 2
	r.pending = append(r.pending, &etree.ProcInst{Target: r.strs.copy(n), Inst: r.strs.copy(inst)})
	return nil
}

// procInstParam is encoding/xml's procInst: the value of param="…" or
// param='…' in s, found the way it finds it.
func procInstParam(param string, s []byte) string {
	param += "="
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := bytes.Index(sub, []byte(param))
		if k < 0 || len(param)+k >= len(sub) {
			return ""
		}
		i += len(param) + k + 1
		if c := sub[len(param)+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := bytes.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return string(s[i : i+j])
}

// bang reads what starts with "<!": a comment or a CDATA section, and
// refuses anything else.
func (r *xmlReader) bang() error {
	b := r.b
	r.i++
	if r.i >= len(b) {
		return r.syntaxError("unexpected EOF after <!")
	}
	switch b[r.i] {
	case '-':
		if r.i+1 >= len(b) || b[r.i+1] != '-' {
			return r.syntaxError("invalid sequence <!- not part of <!--")
		}
		r.i += 2
		end := bytes.Index(b[r.i:], []byte("--"))
		if end < 0 {
			r.i = len(b)
			return r.syntaxError("unexpected EOF in a comment")
		}
		data := b[r.i : r.i+end]
		r.i += end + 2
		if r.i >= len(b) || b[r.i] != '>' {
			return r.syntaxError(`invalid sequence "--" not allowed in comments`)
		}
		r.i++
		r.pending = append(r.pending, &etree.Comment{Data: r.strs.copy(data)})
		return nil
	case '[':
		if !bytes.HasPrefix(b[r.i+1:], []byte("CDATA[")) {
			return r.syntaxError("invalid <![ sequence")
		}
		r.i += len("[CDATA[")
		end := bytes.Index(b[r.i:], []byte("]]>"))
		if end < 0 {
			r.i = len(b)
			return r.syntaxError("unexpected EOF in CDATA section")
		}
		data, err := r.cdata(b[r.i : r.i+end])
		if err != nil {
			return err
		}
		r.i += end + 3
		r.addText(data)
		return nil
	}
	return fmt.Errorf("%w: a <!%s> declaration; edXML packets have none", ErrForbiddenXML, firstWord(b[r.i:]))
}

// name reads the bytes encoding/xml reads as a name: ASCII name bytes and
// any non-ASCII byte, to be checked after; ascii says there is none of the
// latter.
func (r *xmlReader) name() (n []byte, ascii bool) {
	b := r.b
	i := r.i
	var high byte
	for i < len(b) && (b[i] >= utf8.RuneSelf || nameBytes[b[i]]) {
		high |= b[i]
		i++
	}
	n = b[r.i:i]
	r.i = i
	return n, high < utf8.RuneSelf
}

// nsName reads an element or attribute name as encoding/xml's nsname does
// and returns it, copied, with its prefix and local part.
func (r *xmlReader) nsName(what string) (name, space, local string, err error) {
	start := r.i
	n, ascii := r.name()
	colon := bytes.IndexByte(n, ':')
	if len(n) == 0 || colon >= 0 && bytes.IndexByte(n[colon+1:], ':') >= 0 {
		r.i = start
		return "", "", "", r.syntaxError("expected " + what)
	}
	if !r.isName(n, ascii) {
		return "", "", "", r.syntaxError("invalid XML name: " + shortName(n))
	}
	name = r.strs.copy(n)
	if colon <= 0 || colon == len(n)-1 {
		return name, "", name, nil // no prefix, or an empty side: all local
	}
	return name, name[:colon], name[colon+1:], nil
}

// nameBytes are the ASCII bytes encoding/xml reads into a name.
var nameBytes = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = isNameByte(byte(c))
	}
	return t
}()

// isName reports whether n, as read by name and not empty (its callers
// refuse an empty one first), is a name to encoding/xml. An ASCII name
// only must not start with a digit, '.' or '-'. No edXML name is ever
// anything but ASCII; for others, encoding/xml's tables of XML 1.0
// letters decide (see nameChecker).
func (r *xmlReader) isName(n []byte, ascii bool) bool {
	if ascii {
		c := n[0]
		return !('0' <= c && c <= '9' || c == '.' || c == '-')
	}
	return r.names.check(n)
}

// nameChecker has encoding/xml check names: it reads each as the target
// of a processing instruction, which it checks and nothing else, one
// after the other from one decoder, so that a packet of many names costs
// no decoder each.
type nameChecker struct {
	dec *xml.Decoder
	in  []byte // "<?name?>"
	pos int    // what dec has read of it
}

func (c *nameChecker) check(n []byte) bool {
	if c.dec == nil {
		c.dec = xml.NewDecoder(c)
	}
	c.in = append(append(append(c.in[:0], "<?"...), n...), "?>"...)
	c.pos = 0
	_, err := c.dec.RawToken()
	if err != nil {
		c.dec = nil // it stops at its first error
	}
	return err == nil
}

// ReadByte makes the decoder read c without a buffer of its own.
func (c *nameChecker) ReadByte() (byte, error) {
	if c.pos >= len(c.in) {
		return 0, io.EOF
	}
	c.pos++
	return c.in[c.pos-1], nil
}

func (c *nameChecker) Read(p []byte) (int, error) {
	if c.pos >= len(c.in) {
		return 0, io.EOF
	}
	n := copy(p, c.in[c.pos:])
	c.pos += n
	return n, nil
}

func (r *xmlReader) skipSpace() {
	b := r.b
	for r.i < len(b) && (b[r.i] == ' ' || b[r.i] == '\t' || b[r.i] == '\r' || b[r.i] == '\n') {
		r.i++
	}
}

// Classes of bytes in text, for the loop that crosses it.
const (
	kNonSpace = 1 << iota // not XML white space
	kNonBlob              // not a byte of a run that may share the input (blobBytes)
	kStop                 // to look at: '<', '&', ']', CR, another control byte, non-ASCII
)

var textClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == ' ' || c == '\t' || c == '\n':
		case c == '<' || c == '&' || c == ']' || c == '\r' || c < ' ' || c >= utf8.RuneSelf:
			t[c] = kStop
		case blobBytes[c]:
			t[c] = kNonSpace
		default:
			t[c] = kNonSpace | kNonBlob
		}
	}
	return t
}()

// text reads a text node, up to the next '<' or the end of the input.
func (r *xmlReader) text() error {
	b := r.b
	start := r.i
	i := start
	var seen uint8
	refs, crs := false, false
	for {
		// Eight bytes at a time while none is to look at: an attachment
		// is crossed at about the speed of its SHA-256.
		for i+8 <= len(b) {
			w := (*[8]byte)(b[i : i+8])
			k := textClass[w[0]] | textClass[w[1]] | textClass[w[2]] | textClass[w[3]] |
				textClass[w[4]] | textClass[w[5]] | textClass[w[6]] | textClass[w[7]]
			if k >= kStop {
				break
			}
			seen |= k
			i += 8
		}
		for i < len(b) {
			k := textClass[b[i]]
			if k >= kStop {
				break
			}
			seen |= k
			i++
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c == '<' {
			break
		}
		switch {
		case c == '&':
			refs = true
			seen |= kNonSpace | kNonBlob
			i++
		case c == '\r':
			crs = true
			i++
		case c == ']':
			if i+2 < len(b) && b[i+1] == ']' && b[i+2] == '>' {
				r.i = i
				return r.syntaxError("unescaped ]]> not in CDATA section")
			}
			seen |= kNonSpace | kNonBlob
			i++
		case c < utf8.RuneSelf:
			r.i = i
			return r.syntaxError(fmt.Sprintf("illegal character code %U", rune(c)))
		default:
			n, err := r.char(i)
			if err != nil {
				return err
			}
			seen |= kNonSpace | kNonBlob
			i += n
		}
	}
	raw := b[start:i]
	r.i = i
	var s string
	if seen&kNonSpace == 0 && !refs {
		if s, ok := indentation(raw); ok {
			r.addText(s)
			return nil
		}
	}
	switch {
	case refs || crs:
		dst, err := decodeText(r.strs.room(len(raw)), raw, refs)
		if err != nil {
			r.i = start
			return r.syntaxError(err.Error())
		}
		s = r.strs.keep(dst)
	case len(raw) >= blobMin && seen&kNonBlob == 0 && seen&kNonSpace != 0 && i < len(b):
		// A run the tree may share with the input, as documented.
		s = unsafe.String(unsafe.SliceData(raw), len(raw))
	default:
		s = r.strs.copy(raw)
	}
	r.addText(s)
	return nil
}

// indents holds the indentation of a line, with spaces or tabs.
const indents = "\n                                                                " +
	"\n\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"

// indentation returns the text of raw, when it is a line end and the
// indentation of the next line, as a constant instead of a copy: most text
// nodes of a packet are that.
func indentation(raw []byte) (string, bool) {
	if len(raw) > 0 && raw[0] == '\r' {
		raw = raw[1:] // CR LF reads as LF
	}
	if len(raw) == 0 || raw[0] != '\n' {
		return "", false
	}
	pad := raw[1:]
	at := 0 // spaces
	if len(pad) > 0 && pad[0] == '\t' {
		at = strings.IndexByte(indents, '\t') - 1
	}
	in := indents[at:]
	if len(pad) >= len(in) || string(pad) != in[1:1+len(pad)] {
		return "", false
	}
	return in[:1+len(pad)], true
}

// addText adds a text node, flagged as white space as etree flags it.
func (r *xmlReader) addText(s string) {
	cd := r.texts.one()
	cd.SetData(s)
	r.pending = append(r.pending, cd)
}

// char checks the multi-byte character at b[i] and returns its length.
func (r *xmlReader) char(i int) (int, error) {
	c, n := utf8.DecodeRune(r.b[i:])
	if c == utf8.RuneError && n == 1 {
		r.i = i
		return 0, r.syntaxError("invalid UTF-8")
	}
	if !isInCharacterRange(c) {
		r.i = i
		return 0, r.syntaxError(fmt.Sprintf("illegal character code %U", c))
	}
	return n, nil
}

// cdata returns the content of a CDATA section, checked and with its line
// ends normalised.
func (r *xmlReader) cdata(raw []byte) (string, error) {
	decode := false
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c >= utf8.RuneSelf:
			n, err := r.char(r.i + i)
			if err != nil {
				return "", err
			}
			i += n
			continue
		case c == '\r':
			decode = true
		case c < ' ' && c != '\t' && c != '\n':
			r.i += i
			return "", r.syntaxError(fmt.Sprintf("illegal character code %U", rune(c)))
		}
		i++
	}
	if !decode {
		return r.strs.copy(raw), nil
	}
	return r.strs.keep(lineEnds(r.strs.room(len(raw)), raw)), nil
}

// attrValue reads a quoted attribute value from its opening quote.
func (r *xmlReader) attrValue() (string, error) {
	b := r.b
	q := b[r.i]
	r.i++
	start := r.i
	i := start
	decode := false
	for ; ; i++ {
		if i >= len(b) {
			r.i = i
			return "", r.syntaxError("unexpected EOF in an attribute value")
		}
		c := b[i]
		if textClass[c] < kStop && c != '"' && c != '\'' {
			continue
		}
		if c == q {
			break
		}
		switch {
		case c == '"' || c == '\'' || c == ']' || c == '\t' || c == '\n':
		case c == '<':
			r.i = i
			return "", r.syntaxError("unescaped < inside quoted string")
		case c == '&' || c == '\r':
			decode = true
		case c < utf8.RuneSelf:
			r.i = i
			return "", r.syntaxError(fmt.Sprintf("illegal character code %U", rune(c)))
		default:
			n, err := r.char(i)
			if err != nil {
				return "", err
			}
			i += n - 1
		}
	}
	raw := b[start:i]
	r.i = i + 1
	if !decode {
		return r.strs.copy(raw), nil
	}
	dst, err := decodeText(r.strs.room(len(raw)), raw, true)
	if err != nil {
		r.i = start
		return "", r.syntaxError(err.Error())
	}
	return r.strs.keep(dst), nil
}

// decodeText appends raw to dst with its line ends normalised and, when
// refs is set, its references replaced. It never makes raw longer.
func decodeText(dst, raw []byte, refs bool) ([]byte, error) {
	if !refs {
		return lineEnds(dst, raw), nil
	}
	for len(raw) > 0 {
		j := 0
		for j < len(raw) && raw[j] != '\r' && raw[j] != '&' {
			j++
		}
		dst = append(dst, raw[:j]...)
		if j == len(raw) {
			break
		}
		if raw[j] == '\r' {
			dst = append(dst, '\n')
			j++
			if j < len(raw) && raw[j] == '\n' {
				j++
			}
			raw = raw[j:]
			continue
		}
		c, n, err := reference(raw[j:])
		if err != nil {
			return nil, err
		}
		dst = utf8.AppendRune(dst, c)
		raw = raw[j+n:]
	}
	return dst, nil
}

// lineEnds appends raw to dst with its line ends normalised, as in an
// attachment written with CR LF.
func lineEnds(dst, raw []byte) []byte {
	for {
		j := bytes.IndexByte(raw, '\r')
		if j < 0 {
			return append(dst, raw...)
		}
		dst = append(append(dst, raw[:j]...), '\n')
		raw = raw[j+1:]
		if len(raw) > 0 && raw[0] == '\n' {
			raw = raw[1:]
		}
	}
}

// reference decodes the reference at the start of p, which starts with
// '&', and returns its character and length.
func reference(p []byte) (rune, int, error) {
	if len(p) > 1 && p[1] == '#' {
		i, base := 2, uint64(10)
		if i < len(p) && p[i] == 'x' {
			i, base = 3, 16
		}
		start := i
		var n uint64
		for ; i < len(p); i++ {
			d := digitValue(p[i])
			if d >= base {
				break
			}
			if n <= utf8.MaxRune {
				n = n*base + d // once above MaxRune it stays above
			}
		}
		if i == start || i >= len(p) || p[i] != ';' || n > utf8.MaxRune {
			return 0, 0, fmt.Errorf("invalid character entity %s", refText(p))
		}
		c := rune(n)
		if !utf8.ValidRune(c) {
			c = utf8.RuneError // a surrogate: string(rune(n)), as encoding/xml makes it
		}
		if !isInCharacterRange(c) {
			return 0, 0, fmt.Errorf("illegal character code %U", c)
		}
		return c, i + 1, nil
	}
	for _, e := range predefined {
		if len(p) > len(e.name) && string(p[1:1+len(e.name)]) == e.name {
			return e.char, 1 + len(e.name), nil
		}
	}
	return 0, 0, fmt.Errorf("invalid character entity %s", refText(p))
}

// predefined are XML's entities, with their ';': encoding/xml reads the
// longest name and looks it up, so "&ltx;" is no "&lt;".
var predefined = [...]struct {
	name string
	char rune
}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"apos;", '\''}, {"quot;", '"'}}

func digitValue(c byte) uint64 {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0')
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 99
}

// refText is the start of a reference for an error message.
func refText(p []byte) string {
	if i := bytes.IndexByte(p[:min(len(p), 16)], ';'); i >= 0 {
		return shortName(p[:i+1])
	}
	return shortName(p[:min(len(p), 16)]) + " (no semicolon)"
}

// isInCharacterRange is encoding/xml's: the Char production of XML 1.0.
func isInCharacterRange(r rune) bool {
	return r == 0x09 ||
		r == 0x0A ||
		r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// slab hands out values of T from chunks allocated in one piece, so that a
// tree of thousands of nodes costs a few allocations. A chunk lives as long
// as any value in it.
type slab[T any] struct {
	free []T
	next int // the size of the next chunk
	left int // the values counted that no chunk has held yet
}

// firstSlab is the most values of one kind the first chunk holds: a packet
// to a hundred recipients has a few thousand nodes, and input refused at
// its start costs no more than 0.4 MB of elements, whatever the scan
// counted after.
const firstSlab = 4096

// expect sizes the chunks for n values: the first holds firstSlab at
// most, each next one twice the last, the last no more than is left of n,
// so that what is allocated follows what has been read.
func (s *slab[T]) expect(n int) {
	s.next = min(n, firstSlab)
	s.left = n
}

func (s *slab[T]) one() *T {
	if len(s.free) == 0 {
		s.grow(1)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// run returns n consecutive values, n > 0, with a capacity of n: an
// append to it never writes over the values handed out after.
func (s *slab[T]) run(n int) []T {
	if len(s.free) < n {
		s.grow(n)
	}
	r := s.free[:n:n]
	s.free = s.free[n:]
	return r
}

func (s *slab[T]) grow(n int) {
	size := max(s.next, n, 16)
	if n <= s.left && s.left < size {
		size = s.left // the rest of what was counted
	}
	s.free = make([]T, size)
	s.left = max(s.left-size, 0)
	s.next = 2 * size
}

// arena holds the strings of a tree in byte chunks: a string is made by
// copying into the current chunk, which is never written again where it
// has been handed out.
type arena struct {
	buf  []byte // the current chunk: its length is what is handed out
	size int    // the size of a chunk
	own  bool   // the last room was allocated apart
}

// copy returns p as a string in the arena.
func (a *arena) copy(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	return a.keep(append(a.room(len(p)), p...))
}

// room returns an empty slice with room for n bytes, for keep. A large one
// is allocated apart, so that the rest of the chunk is not lost.
func (a *arena) room(n int) []byte {
	if n > a.size/2 {
		a.own = true
		return make([]byte, 0, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, a.size)
	}
	a.own = false
	free := a.buf[len(a.buf):cap(a.buf)]
	return free[:0:n]
}

// keep returns what was written into the last room as a string and
// marks it handed out.
func (a *arena) keep(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if !a.own && len(p) <= cap(a.buf)-len(a.buf) && unsafe.SliceData(p) == unsafe.SliceData(a.buf[len(a.buf):cap(a.buf)]) {
		a.buf = a.buf[:len(a.buf)+len(p)]
	}
	return unsafe.String(unsafe.SliceData(p), len(p))
}
