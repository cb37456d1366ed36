package signing

import (
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Exclusive canonicalisation done in place with one scope for the whole
// tree. It is etreeutils.TransformExcC14n (without comments) and etree's
// canonical writer, byte for byte, failing where they fail: goxmldsig
// copies two maps of namespaces for every element and etree escapes text
// rune by rune, which together were most of the cost of digesting a packet.
// TestExcC14n_SameAsGoxmldsig holds the two to the same bytes.

const (
	xmlNamespace   = etreeutils.XMLNamespace
	xmlnsNamespace = etreeutils.XMLNSNamespace
)

// excC14n transforms a tree into exclusive canonical form.
type excC14n struct {
	inclusive map[string]bool // the InclusiveNamespaces prefix list; nil for none
	// scope maps the prefixes in scope at the element being transformed
	// to their namespaces; declared, those the canonical form declares
	// around it. Both start as etreeutils.NewDefaultNSContext, which
	// maps the default prefix to the XML namespace.
	scope, declared map[string]string
	undo            []binding
	used            []string // visibly utilised prefixes, reused between elements
}

// binding is what a map held for a prefix before an element changed it.
type binding struct {
	m      map[string]string
	prefix string
	value  string
	had    bool
}

func newExcC14n(prefixList string) *excC14n {
	c := &excC14n{}
	for _, p := range strings.Fields(prefixList) {
		if c.inclusive == nil {
			c.inclusive = make(map[string]bool)
		}
		c.inclusive[p] = true
	}
	defaults := func() map[string]string {
		return map[string]string{"": xmlNamespace, "xml": xmlNamespace, "xmlns": xmlnsNamespace}
	}
	c.scope, c.declared = defaults(), defaults()
	return c
}

// set binds prefix in m, remembering what it was.
func (c *excC14n) set(m map[string]string, prefix, value string) {
	old, had := m[prefix]
	c.undo = append(c.undo, binding{m: m, prefix: prefix, value: old, had: had})
	m[prefix] = value
}

// restore undoes the bindings made since the undo log had n entries.
func (c *excC14n) restore(n int) {
	for i := len(c.undo) - 1; i >= n; i-- {
		b := c.undo[i]
		if b.had {
			b.m[b.prefix] = b.value
		} else {
			delete(b.m, b.prefix)
		}
	}
	c.undo = c.undo[:n]
}

// enter brings el's namespace declarations into scope, refusing what
// etreeutils.NSContext.SubContext refuses.
func (c *excC14n) enter(el *etree.Element) error {
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns":
			if (a.Key == "xml" && a.Value != xmlNamespace) || a.Key == "xmlns" {
				return etreeutils.ErrReservedNamespace
			}
			c.set(c.scope, a.Key, a.Value)
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == xmlnsNamespace {
				return etreeutils.ErrInvalidDefaultNamespace
			}
			c.set(c.scope, "", a.Value)
		}
	}
	return nil
}

// transform puts el and its descendants in exclusive canonical form: the
// namespace declarations each element visibly utilises and its output
// ancestors do not already make, attributes in canonical order, no
// comments.
func (c *excC14n) transform(el *etree.Element) error {
	mark := len(c.undo)
	defer c.restore(mark)
	if err := c.enter(el); err != nil {
		return err
	}
	used := append(c.used[:0], el.Space)
	kept := el.Attr[:0]
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns":
			if c.inclusive[a.Key] {
				used = addPrefix(used, a.Key)
			}
		case a.Space == "" && a.Key == "xmlns":
			// Never so: strings.Fields gives no empty prefix. goxmldsig
			// looks the default namespace up so, and so does this.
			if c.inclusive[""] {
				used = addPrefix(used, "")
			}
		default:
			if a.Space != "" {
				used = addPrefix(used, a.Space)
			}
			kept = append(kept, a)
		}
	}
	el.Attr = kept
	for _, p := range used {
		ns, inScope := c.scope[p]
		if d, ok := c.declared[p]; ok && inScope && d == ns {
			continue
		}
		if !inScope {
			return etreeutils.ErrUndeclaredNSPrefix{Prefix: p}
		}
		c.set(c.declared, p, ns)
		if p == "" {
			el.Attr = append(el.Attr, etree.Attr{Key: "xmlns", Value: ns})
		} else {
			el.Attr = append(el.Attr, etree.Attr{Space: "xmlns", Key: p, Value: ns})
		}
	}
	c.used = used[:0]
	if len(el.Attr) > 1 {
		sort.Sort(etreeutils.SortedAttrs(el.Attr))
	}
	for i := 0; i < len(el.Child); {
		if _, ok := el.Child[i].(*etree.Comment); ok {
			el.RemoveChildAt(i)
		} else {
			i++
		}
	}
	for _, t := range el.Child {
		if child, ok := t.(*etree.Element); ok {
			if err := c.transform(child); err != nil {
				return err
			}
		}
	}
	return nil
}

func addPrefix(set []string, p string) []string {
	for _, q := range set {
		if q == p {
			return set
		}
	}
	return append(set, p)
}

// writeCanonical writes el as etree's WriteTo does with canonicalWrite,
// escaping text a run of plain bytes at a time.
func writeCanonical(w etree.Writer, el *etree.Element) {
	w.WriteByte('<')
	writeName(w, el.Space, el.Tag)
	for _, a := range el.Attr {
		w.WriteByte(' ')
		writeName(w, a.Space, a.Key)
		w.WriteString(`="`)
		escapeCanonical(w, a.Value, true)
		w.WriteByte('"')
	}
	w.WriteByte('>')
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			writeCanonical(w, t)
		case *etree.CharData:
			if t.IsCData() {
				t.WriteTo(w, &canonicalWrite)
			} else {
				escapeCanonical(w, t.Data, false)
			}
		default:
			t.WriteTo(w, &canonicalWrite)
		}
	}
	w.WriteString("</")
	writeName(w, el.Space, el.Tag)
	w.WriteByte('>')
}

// writeName writes a qualified name, as etree's FullTag and FullKey make
// it, without making it.
func writeName(w etree.Writer, space, local string) {
	if space != "" {
		w.WriteString(space)
		w.WriteByte(':')
	}
	w.WriteString(local)
}

// escapeCanonical writes s as etree escapes canonical text, or an
// attribute value if attr is set: &, < and carriage return as references,
// and > in text, and ", tab and line feed in an attribute; a character XML
// does not allow (or a byte that is not UTF-8) as U+FFFD.
//
// Runs of bytes written as they are (plainText, plainAttr) are crossed
// eight at a time and written in one piece: an attachment's base64 is
// nearly all of a large packet, and looking at it a byte at a time, with
// the switch below, was three quarters of what verifying a 2 MB packet
// cost (BenchmarkVerify).
func escapeCanonical(w etree.Writer, s string, attr bool) {
	plain := plainText()
	if attr {
		plain = plainAttr()
	}
	last := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) {
			r := s[i : i+8]
			if plain[r[0]]&plain[r[1]]&plain[r[2]]&plain[r[3]]&plain[r[4]]&plain[r[5]]&plain[r[6]]&plain[r[7]] == 0 {
				break
			}
			i += 8
		}
		for i < len(s) && plain[s[i]] != 0 {
			i++
		}
		if i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			var esc string
			switch {
			case b == '&':
				esc = "&amp;"
			case b == '<':
				esc = "&lt;"
			case b == '>' && !attr:
				esc = "&gt;"
			case b == '"' && attr:
				esc = "&quot;"
			case b == '\t' && attr:
				esc = "&#x9;"
			case b == '\n' && attr:
				esc = "&#xA;"
			case b == '\r':
				esc = "&#xD;"
			default:
				esc = "\uFFFD"
			}
			w.WriteString(s[last:i])
			w.WriteString(esc)
			i++
			last = i
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && width == 1) || !xmlChar(r) {
			w.WriteString(s[last:i])
			w.WriteString("\uFFFD")
			i += width
			last = i
			continue
		}
		i += width
	}
	w.WriteString(s[last:])
}

// plainText and plainAttr are 1 for the bytes escapeCanonical writes as
// they are, in text and in an attribute value: ASCII from the space up
// that it does not escape, and in text tab and line feed. A byte of a
// multi-byte character is looked at, with the character. Made at their
// first use, not when the package loads.
var (
	plainText = sync.OnceValue(func() *[256]uint8 { return plainBytes(false) })
	plainAttr = sync.OnceValue(func() *[256]uint8 { return plainBytes(true) })
)

func plainBytes(attr bool) *[256]uint8 {
	t := new([256]uint8)
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = 1
	}
	t['&'], t['<'] = 0, 0
	if attr {
		t['"'] = 0
	} else {
		t['>'], t['\t'], t['\n'] = 0, 1, 1
	}
	return t
}

// xmlChar reports whether r, at least U+0080, is a character XML allows.
func xmlChar(r rune) bool {
	return r <= 0xD7FF || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
