package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/beevik/etree"
)

// Default limits of a [Parser].
const (
	// DefaultMaxSize is the largest packet a zero Parser reads: 96 MiB,
	// room for a 50 MB attachment, which base64 makes about 67 MB, with
	// the rest of the packet and a few smaller attachments. It is
	// lienthong's one largest-packet limit: a gateway accepts and
	// receives packets up to it (gateway.DefaultMaxPacketSize, the
	// configuration's gateway.maxPacketSize) and "lienthong edxml"
	// reads them (-max-size), so that a packet a gateway took can be
	// inspected, validated, signed and verified offline.
	DefaultMaxSize = 96 << 20
	// DefaultMaxDepth is the deepest element nesting a zero Parser accepts.
	// edXML nests nine deep at most; XML-DSig a little more.
	DefaultMaxDepth = 48
	// DefaultMaxMarkup is the most markup ('<') a zero Parser accepts. A
	// packet to a hundred recipients has a few thousand.
	DefaultMaxMarkup = 200_000
	// DefaultMaxAttributes is the most attributes on one element a zero
	// Parser accepts. edXML and XML-DSig elements carry four at most.
	DefaultMaxAttributes = 128
	// DefaultMaxTotalAttributes is the most attributes in a packet a zero
	// Parser accepts. The official samples have sixteen; this is room for
	// one or two on every element of a very large packet.
	DefaultMaxTotalAttributes = 100_000
	// DefaultMaxAttributeValue is the longest attribute value, in bytes, a
	// zero Parser accepts. edXML keeps its data in text: attribute values
	// are namespace and algorithm URIs, identifiers and references.
	DefaultMaxAttributeValue = 64 << 10
	// DefaultMaxNamespaceDecls is the most namespace declarations (xmlns
	// and xmlns:p attributes) on one element a zero Parser accepts. The
	// official samples declare one on an element.
	DefaultMaxNamespaceDecls = 32
	// DefaultMaxTotalNamespaceDecls is the most namespace declarations in a
	// packet a zero Parser accepts: room for software that declares its
	// namespace again on every element of a large packet.
	DefaultMaxTotalNamespaceDecls = 20_000
	// DefaultMaxNamespacePrefixes is the most distinct prefixes (the
	// default namespace counting as one) a zero Parser accepts declared in
	// a packet. The official samples declare the default namespace and
	// edXML; ds, xsi and xsd are the others one meets.
	DefaultMaxNamespacePrefixes = 64
)

// Parser reads edXML packets leniently: see the package documentation for
// what it tolerates. Every tolerance is reported as a [Warning]. The zero
// Parser is ready to use with the default limits; set the fields before the
// first use.
//
// The limits on attributes and namespace declarations bound what MaxMarkup
// does not: one start tag can hold millions of attributes, each costing
// encoding/xml and etree a few hundred bytes (a 40 MB one took 1.9 GB and
// 40 s to refuse). Like MaxMarkup they are checked by a scan of the input
// before any tree is built, and input over one is refused with
// [ErrForbiddenXML] naming the limit.
type Parser struct {
	// MaxSize is the largest input accepted, in bytes. Zero means
	// [DefaultMaxSize]. Larger input is refused with [ErrTooLarge] without
	// being read past the limit.
	MaxSize int64
	// MaxDepth is the deepest element nesting accepted. Zero means
	// [DefaultMaxDepth].
	MaxDepth int
	// MaxMarkup bounds the number of '<' in the input, which bounds the
	// number of elements, comments and instructions and so the memory a
	// tree of them takes. Zero means [DefaultMaxMarkup].
	MaxMarkup int
	// MaxAttributes is the most attributes, namespace declarations
	// included, on one element. Zero means [DefaultMaxAttributes]. An
	// element costs time in proportion to its attributes: the reader
	// looks for duplicate names by comparing each attribute with those
	// before it on an element of 32 or fewer, through a map on a larger
	// one.
	MaxAttributes int
	// MaxTotalAttributes is the most attributes, namespace declarations
	// included, in the input. Zero means [DefaultMaxTotalAttributes].
	MaxTotalAttributes int
	// MaxAttributeValue is the longest attribute value accepted, in bytes
	// as written in the input: a value is copied into the tree, and the
	// input may instead be read by encoding/xml, which reads a value a
	// byte at a time into a doubling buffer, at about eight times its
	// length. Zero means [DefaultMaxAttributeValue].
	MaxAttributeValue int
	// MaxNamespaceDecls is the most namespace declarations (xmlns and
	// xmlns:p attributes) on one element. Zero means
	// [DefaultMaxNamespaceDecls].
	MaxNamespaceDecls int
	// MaxTotalNamespaceDecls is the most namespace declarations in the
	// input. Zero means [DefaultMaxTotalNamespaceDecls].
	MaxTotalNamespaceDecls int
	// MaxNamespacePrefixes is the most distinct prefixes declared in the
	// input, the default namespace counting as one. Canonicalisation for
	// signatures copies every prefix in scope for every element, so the
	// work of verifying grows with elements times prefixes. Zero means
	// [DefaultMaxNamespacePrefixes].
	MaxNamespacePrefixes int
}

// Warning is something the parser, or the receive profile of
// [ValidateWithWarnings], tolerated.
type Warning struct {
	// Path is where, e.g. "MessageHeader/ReplyFors"; empty for
	// the input as a whole.
	Path string `json:"path,omitempty"`
	// Code is a stable identifier of the kind of warning, e.g.
	// "unknown-element".
	Code      string `json:"code"`
	MessageVI string `json:"messageVi"`
	MessageEN string `json:"messageEn"`
}

func (w Warning) String() string {
	if w.Path == "" {
		return w.MessageEN
	}
	return w.Path + ": " + w.MessageEN
}

// Parse reads a packet with a zero [Parser].
func Parse(b []byte) (*Packet, []Warning, error) {
	var p Parser
	return p.ParseBytes(b)
}

// Parse reads a packet from r. It reads at most MaxSize+1 bytes; when r is a
// file whose size is known to be too large, it reads nothing.
func (p *Parser) Parse(r io.Reader) (*Packet, []Warning, error) {
	b, err := p.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	return p.ParseBytes(b)
}

// ReadAll reads r up to the size limit and returns its bytes, or
// [ErrTooLarge] as soon as r proves longer than the limit.
func (p *Parser) ReadAll(r io.Reader) ([]byte, error) {
	limit := p.maxSize()
	var sizeHint int64 = -1
	switch v := r.(type) {
	case interface{ Len() int }:
		sizeHint = int64(v.Len())
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			sizeHint = fi.Size()
		}
	}
	if sizeHint > limit {
		return nil, tooLarge(sizeHint, limit)
	}
	var buf bytes.Buffer
	if sizeHint >= 0 {
		buf.Grow(int(sizeHint) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("envelope: read packet: %w", err)
	}
	if n > limit {
		return nil, tooLarge(-1, limit)
	}
	return buf.Bytes(), nil
}

func tooLarge(size, limit int64) error {
	if size >= 0 {
		return fmt.Errorf("%w: %d bytes, the limit is %d bytes", ErrTooLarge, size, limit)
	}
	return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
}

// ParseBytes reads a packet from b. The returned packet does not alias b,
// but for the base64 text of its attachments of more than 1 MiB, which it
// keeps undecoded (see [Attachment.Data]): b must not be modified while
// their content is read.
func (p *Parser) ParseBytes(b []byte) (*Packet, []Warning, error) {
	doc, warns, err := p.ReadTree(b)
	if err != nil {
		return nil, warns, err
	}
	pkt, more, err := FromTree(doc.Root())
	return pkt, append(warns, more...), err
}

// ReadTree reads b into an XML tree with the parser's tolerances and
// limits, without interpreting it as edXML. The signing package verifies
// this tree, then hands the verified element to [FromTree].
//
// The tree is the one etree's ReadFromBytes builds over encoding/xml, read
// by this package's own reader at a fraction of the cost. It shares memory
// with b: long base64 text (attachments, certificates, signature values) is
// not copied, so that a 67 MB packet is not held twice. b must not be
// modified while the tree is in use. A Packet made by FromTree shares it
// only through the text of large attachments (see [Attachment.Data]).
func (p *Parser) ReadTree(b []byte) (*etree.Document, []Warning, error) {
	return p.readTree(b, readXML)
}

// readTree is ReadTree with the reader given: readXML, or in the tests
// etree's ReadFromBytes, the reference it is compared with.
func (p *Parser) readTree(b []byte, read func(doc *etree.Document, b []byte, maxDepth int, counts scanCounts) error) (*etree.Document, []Warning, error) {
	if limit := p.maxSize(); int64(len(b)) > limit {
		return nil, nil, tooLarge(int64(len(b)), limit)
	}
	var warns []Warning
	start, w := xmlStart(b)
	warns = append(warns, w...)
	b = b[start:]
	if len(b) == 0 {
		return nil, warns, fmt.Errorf("%w: the input holds no XML", ErrMalformed)
	}
	counts, err := scanMarkup(b, p.scanLimits())
	if err != nil {
		return nil, warns, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = p.maxDepth()
	// A <!…> declaration is refused by the scan, and by the reader should
	// the two ever disagree on where one is (ErrForbiddenXML).
	if err := read(doc, b, p.maxDepth(), counts); err != nil {
		switch {
		case errors.Is(err, etree.ErrMaxDepth):
			return nil, warns, fmt.Errorf("%w: elements nested deeper than %d", ErrForbiddenXML, p.maxDepth())
		case errors.Is(err, ErrForbiddenXML):
			return nil, warns, err
		}
		return nil, warns, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, warns, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return doc, warns, nil
}

func (p *Parser) maxSize() int64 {
	if p.MaxSize > 0 {
		return p.MaxSize
	}
	return DefaultMaxSize
}

func (p *Parser) maxDepth() int {
	if p.MaxDepth > 0 {
		return p.MaxDepth
	}
	return DefaultMaxDepth
}

func (p *Parser) scanLimits() scanLimits {
	or := func(v, dflt int) int {
		if v > 0 {
			return v
		}
		return dflt
	}
	return scanLimits{
		markup:       or(p.MaxMarkup, DefaultMaxMarkup),
		attrs:        or(p.MaxAttributes, DefaultMaxAttributes),
		totalAttrs:   or(p.MaxTotalAttributes, DefaultMaxTotalAttributes),
		attrValue:    or(p.MaxAttributeValue, DefaultMaxAttributeValue),
		nsDecls:      or(p.MaxNamespaceDecls, DefaultMaxNamespaceDecls),
		totalNSDecls: or(p.MaxTotalNamespaceDecls, DefaultMaxTotalNamespaceDecls),
		prefixes:     or(p.MaxNamespacePrefixes, DefaultMaxNamespacePrefixes),
	}
}

// leadingJunkWindow is how far into the input the parser looks for the
// start of the XML past stray bytes.
const leadingJunkWindow = 1024

// xmlStart finds where the XML begins: after a byte order mark, or after
// stray bytes without markup that some senders put before "<?xml" (one
// official sample starts with "1212").
func xmlStart(b []byte) (int, []Warning) {
	var warns []Warning
	start := 0
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		start = 3
		warns = append(warns, Warning{Code: "bom",
			MessageVI: "Bỏ qua dấu BOM ở đầu gói tin",
			MessageEN: "skipped a byte order mark before the XML"})
	}
	rest := b[start:]
	trimmed := bytes.TrimLeft(rest, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("<")) {
		return start + len(rest) - len(trimmed), warns
	}
	// Only bytes without markup are skipped: the XML starts at the first
	// '<'. Skipping to a later "<?xml" would hide whatever markup came
	// before it — an element of its own — from the parser and the
	// signature, while it stays in the packet kept and passed on.
	window := rest[:min(len(rest), leadingJunkWindow)]
	i := bytes.IndexByte(window, '<')
	if i < 0 {
		return len(b), warns
	}
	warns = append(warns, Warning{Code: "leading-bytes",
		MessageVI: fmt.Sprintf("Bỏ qua %d byte lạ trước phần XML: %q", i, window[:i]),
		MessageEN: fmt.Sprintf("skipped %d stray bytes before the XML: %q", i, window[:i])})
	return start + i, warns
}

// firstWord is the word a <!…> declaration starts with, for an error.
func firstWord(b []byte) string {
	s := strings.TrimSpace(string(b[:min(len(b), 40)]))
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	return s
}
