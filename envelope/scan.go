package envelope

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The limits on markup are checked by scanning the input once before it is
// parsed. encoding/xml and etree cost some hundred bytes of memory for each
// attribute (a name, a value, an xml.Attr, an etree.Attr, an entry in
// etree's duplicate check) and read attribute values a byte at a time into
// a buffer that doubles as it grows, so a 40 MB start tag of 3.5 million
// attributes used to take 40 s and 1.9 GB before anything could refuse it.
// Namespace declarations are attributes too, and each distinct prefix in
// scope is copied into a map for every element by the exclusive
// canonicalisation that verifies a signature. The scan allocates nothing
// but the set of declared prefixes: it jumps from '<' to '<' with
// bytes.IndexByte, about as fast as bytes.Count, and reads only the inside
// of tags byte by byte (a 36 MB attachment is crossed in a few
// milliseconds).
//
// The scan follows encoding/xml's tokeniser (RawToken, which etree uses),
// so that it sees the same start tags and attributes the parser will: text
// runs to the next '<'; comments end at the first "--", CDATA sections at
// the first "]]>", processing instructions at the first "?>", quoted
// attribute values at their closing quote, and names are runs of name
// bytes. Where encoding/xml would stop with a syntax error, the scan stops
// counting tags too, and leaves the error to the parser: nothing past that
// point is ever read into a tree. It never counts fewer attributes than
// encoding/xml reads (an unquoted value, which the strict parser refuses
// anyway, counts as one more attribute), so a limit cannot be slipped past;
// FuzzScanMarkup checks this against encoding/xml.

// scanLimits are a Parser's limits on markup, defaults applied.
type scanLimits struct {
	markup       int // '<' in the input
	attrs        int // attributes on one element
	totalAttrs   int // attributes in the input
	nsDecls      int // namespace declarations on one element
	totalNSDecls int // namespace declarations in the input
	prefixes     int // distinct prefixes declared in the input
	attrValue    int // bytes in one attribute value
}

// scanner holds the counts of one scan.
type scanner struct {
	b                []byte
	lim              scanLimits
	markup           int
	attrs, nsDecls   int       // in the whole input
	elAttrs, elDecls int       // on the current element
	prefixes         prefixSet // declared so far
	counts           scanCounts
}

// scanCounts are what the scan saw of the tree to come, for the reader to
// allocate it in few pieces: exact for well-formed input.
type scanCounts struct {
	elements int // start tags
	texts    int // text nodes and CDATA sections
	nodes    int // elements, texts, comments and processing instructions
	attrs    int // attributes
	// copied estimates the bytes of names, values and text the reader
	// copies, to size its chunks: those of markup but end tags, and of
	// text runs too short to share the input's memory (blobMin). A long
	// text run that is not base64 is copied too, uncounted.
	copied int
}

// scanMarkup refuses b with an error wrapping ErrForbiddenXML as soon as it
// exceeds one of lim, or holds a <!…> declaration (edXML has none, and
// entity declarations are the stuff of expansion attacks). Otherwise it
// returns the counts of what b holds.
func scanMarkup(b []byte, lim scanLimits) (scanCounts, error) {
	s := scanner{b: b, lim: lim}
	err := s.run()
	s.counts.attrs = s.attrs
	return s.counts, err
}

func (s *scanner) run() error {
	b := s.b
	i := 0
	for {
		lt := bytes.IndexByte(b[i:], '<')
		if lt != 0 && i < len(b) {
			s.counts.texts++ // text runs up to the next markup
			s.counts.nodes++
			n := lt
			if lt < 0 {
				n = len(b) - i
			}
			if n < blobMin {
				s.counts.copied += n // longer, it may be shared: an estimate
			}
		}
		if lt < 0 {
			return nil
		}
		i += lt
		if err := s.addMarkup(1); err != nil {
			return err
		}
		next, ok, err := s.token(i + 1)
		if err != nil {
			return err
		}
		if !ok {
			// encoding/xml stops here; the '<' after it still count, so
			// that MaxMarkup means what it says.
			return s.addMarkup(bytes.Count(b[next:], []byte{'<'}))
		}
		s.count(b[i+1 : next])
		i = next
	}
}

// token reads the markup that starts after the '<' at i-1 and returns where
// it ends. When encoding/xml will stop at a syntax error in it, ok is false
// and next is how far its '<' have been counted.
func (s *scanner) token(i int) (next int, ok bool, err error) {
	b := s.b
	if i >= len(b) {
		return len(b), false, nil
	}
	switch {
	case b[i] == '/': // end tag
		return s.skipTo(i+1, ">")
	case b[i] == '?': // processing instruction; its target has no '?'
		return s.skipTo(i+1, "?>")
	case bytes.HasPrefix(b[i:], []byte("!--")):
		end, ok, err := s.skipTo(i+3, "--")
		if !ok || err != nil {
			return end, ok, err
		}
		if end >= len(b) || b[end] != '>' {
			return end, false, nil // "--" inside a comment is an error
		}
		return end + 1, true, nil
	case bytes.HasPrefix(b[i:], []byte("![CDATA[")):
		return s.skipTo(i+8, "]]>")
	case b[i] == '!' && i+1 < len(b) && b[i+1] != '-' && b[i+1] != '[':
		return i, false, fmt.Errorf("%w: a <!%s> declaration; edXML packets have none", ErrForbiddenXML, firstWord(b[i+1:]))
	case b[i] == '!':
		return i, false, nil // "<!-" or "<![" not followed by what encoding/xml wants
	}
	return s.startTag(i)
}

// count counts the node that markup m, what follows its '<', makes.
func (s *scanner) count(m []byte) {
	switch {
	case m[0] == '/':
		return
	case m[0] == '!' && m[1] == '[': // a CDATA section, the only "<![" read
		s.counts.texts++
	case m[0] == '?' || m[0] == '!': // an instruction; a comment
	default:
		s.counts.elements++
	}
	s.counts.nodes++
	s.counts.copied += len(m)
}

// skipTo returns the end of the first sep at or after i, counting the '<'
// before it; ok is false when there is none.
func (s *scanner) skipTo(i int, sep string) (next int, ok bool, err error) {
	j := bytes.Index(s.b[i:], []byte(sep))
	if j < 0 {
		return i, false, nil
	}
	return i + j + len(sep), true, s.addMarkup(bytes.Count(s.b[i:i+j], []byte{'<'}))
}

// startTag reads a start tag from its name at i, counting its attributes.
func (s *scanner) startTag(i int) (next int, ok bool, err error) {
	b := s.b
	nameEnd := skipName(b, i)
	if nameEnd == i {
		return i, false, nil // "expected element name after <"
	}
	el := b[i:nameEnd]
	s.elAttrs, s.elDecls = 0, 0
	i = nameEnd
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, false, nil
		}
		switch b[i] {
		case '>':
			return i + 1, true, nil
		case '/':
			if i+1 < len(b) && b[i+1] == '>' {
				return i + 2, true, nil
			}
			return i, false, nil
		}
		end := skipName(b, i)
		if end == i {
			return i, false, nil // "expected attribute name in element"
		}
		name := b[i:end]
		if err := s.attribute(el, name); err != nil {
			return i, false, err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != '=' {
			continue // no value: an error, but for a permissive parser
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return i, false, nil
		}
		q := b[i]
		if q != '"' && q != '\'' {
			continue // unquoted: as above; its bytes count as a name
		}
		n := bytes.IndexByte(b[i+1:], q)
		if n < 0 {
			return i, false, nil
		}
		if n > s.lim.attrValue {
			return i, false, fmt.Errorf("%w: attribute %s of element <%s> is longer than %d bytes",
				ErrForbiddenXML, shortName(name), shortName(el), s.lim.attrValue)
		}
		// '<' in a value is an error; it counts as markup all the same.
		if err := s.addMarkup(bytes.Count(b[i+1:i+1+n], []byte{'<'})); err != nil {
			return i, false, err
		}
		i += n + 2
	}
}

// attribute counts the attribute name on element el.
func (s *scanner) attribute(el, name []byte) error {
	s.elAttrs++
	s.attrs++
	if s.elAttrs > s.lim.attrs {
		return fmt.Errorf("%w: element <%s> has more than %d attributes", ErrForbiddenXML, shortName(el), s.lim.attrs)
	}
	if s.attrs > s.lim.totalAttrs {
		return fmt.Errorf("%w: more than %d attributes in the packet", ErrForbiddenXML, s.lim.totalAttrs)
	}
	prefix, ok := declaredPrefix(name)
	if !ok {
		return nil
	}
	s.elDecls++
	s.nsDecls++
	if s.elDecls > s.lim.nsDecls {
		return fmt.Errorf("%w: element <%s> has more than %d namespace declarations", ErrForbiddenXML, shortName(el), s.lim.nsDecls)
	}
	if s.nsDecls > s.lim.totalNSDecls {
		return fmt.Errorf("%w: more than %d namespace declarations in the packet", ErrForbiddenXML, s.lim.totalNSDecls)
	}
	if s.prefixes.has(prefix) {
		return nil
	}
	if s.prefixes.len() == s.lim.prefixes {
		return fmt.Errorf("%w: more than %d distinct namespace prefixes declared in the packet", ErrForbiddenXML, s.lim.prefixes)
	}
	s.prefixes.add(prefix)
	return nil
}

// prefixSet is a set of prefixes: a packet declares two or three, which a
// short list holds without allocating, and a map holds the rest. The
// prefixes are the input's bytes, which the scan does not outlive.
type prefixSet struct {
	few  [8][]byte
	n    int
	many map[string]struct{}
}

func (p *prefixSet) has(prefix []byte) bool {
	for _, f := range p.few[:min(p.n, len(p.few))] {
		if bytes.Equal(f, prefix) {
			return true
		}
	}
	_, ok := p.many[string(prefix)]
	return ok
}

func (p *prefixSet) add(prefix []byte) {
	if p.n < len(p.few) {
		p.few[p.n] = prefix
	} else {
		if p.many == nil {
			p.many = make(map[string]struct{})
		}
		p.many[string(prefix)] = struct{}{}
	}
	p.n++
}

func (p *prefixSet) len() int { return p.n }

// declaredPrefix returns the prefix an attribute named name declares ("" for
// the default namespace), and whether it is a namespace declaration.
func declaredPrefix(name []byte) ([]byte, bool) {
	if string(name) == "xmlns" {
		return nil, true
	}
	if p, ok := bytes.CutPrefix(name, []byte("xmlns:")); ok {
		return p, true
	}
	return nil, false
}

func (s *scanner) addMarkup(n int) error {
	s.markup += n
	if s.markup > s.lim.markup {
		return fmt.Errorf("%w: more than %d pieces of markup", ErrForbiddenXML, s.lim.markup)
	}
	return nil
}

// skipName returns the end of the name at i: the bytes encoding/xml reads
// as a name before it checks them.
func skipName(b []byte, i int) int {
	for i < len(b) && (b[i] >= utf8.RuneSelf || isNameByte(b[i])) {
		i++
	}
	return i
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// shortName returns a name from the input fit for an error message: at most
// 64 bytes of it, valid UTF-8.
func shortName(b []byte) string {
	const max = 64
	if len(b) <= max {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(b[:max]), "\uFFFD") + "…"
}
