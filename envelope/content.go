package envelope

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// A large packet is mostly one attachment's base64 text, and decoding it
// into a new buffer held the attachment a second time, in full, on each
// gateway it passed through (docs/design/large-packets.md, step A1), when
// nothing on the way needs its bytes: accepting or receiving a packet
// needs whether the text decodes, the decoded size, the first bytes (the
// content type, a ZIP), whether it is a signed PDF and whether a ZIP's
// directory reads. So FromTree decodes an attachment of more than
// lazyMin bytes of text once, a window at a time, into a scratch buffer,
// keeps those answers and the text, and decodes the text again only for
// whoever asks for the bytes (Attachment.Content, Attachment.Open).
//
// The answers must be what the same methods give on the decoded bytes:
// content.go's tests and FuzzSummary hold the two to the same values,
// including the error of text that does not decode.

// lazyMin is the length of base64 text above which FromTree does not
// decode an attachment's bytes (1 MiB): below, the bytes cost less than
// the text they come from, and callers that have them need no decoding.
const lazyMin = 1 << 20

// decodeWindow is the size of the scratch buffer the text is decoded
// into: 48 KiB, a whole number of base64 groups' bytes (3) and of the
// fast path's (6).
const decodeWindow = 48 << 10

// markEvery is how far apart, in decoded bytes, the places are where
// decoding may start again: a read at an offset decodes at most this much
// (and one window) before it.
const markEvery = 64 << 10

// headSize is how much of the start of the content is kept: as much as
// SignedPDF looks for the PDF header in, more than content type sniffing
// reads (512 bytes).
const headSize = pdfJunkLimit + len(pdfHeader)

// encoded is what FromTree keeps of a large attachment in place of its
// bytes: its text and what one decoding of it found. It is not changed
// once made, and may be shared by copies of the Attachment.
type encoded struct {
	// text is the base64 text, trimmed; it may be the memory of the
	// packet it was read from (see Parser.ReadTree).
	text string
	// size is the number of bytes it decodes to.
	size int
	// head holds the first headSize bytes, or all when there are fewer.
	head []byte
	// signedPDF is what SignedPDF says of the bytes.
	signedPDF bool
	// zipErr is why zip.NewReader refuses the bytes, when they begin as
	// a ZIP.
	zipErr error
	// marks are places where decoding may start again, the first at
	// the start, in increasing order.
	marks []mark
}

// mark is a place where decoding may start again: the start of a group of
// four characters of the text, at offset text, which decodes to the bytes
// from offset at.
type mark struct {
	at, text int
}

// summarize decodes the text of an attachment, window bytes at a time (at
// least 3), and tells what it decodes to. When the text is not base64 as
// decodeBase64 reads it, it returns decodeBase64's error instead.
func summarize(text string, window int) (*encoded, error) {
	e := &encoded{text: text}
	buf := make([]byte, max(window, 3))
	var sn sniffer
	i := 0
	for {
		if len(e.marks) == 0 || e.size >= e.marks[len(e.marks)-1].at+markEvery {
			e.marks = append(e.marks, mark{at: e.size, text: i})
		}
		n, next := decodeGroups(buf, text, i)
		sn.write(buf[:n])
		e.size += n
		i = next
		if n+3 > len(buf) {
			continue // the window is full; the text may go on
		}
		tail, k, ok := decodeTail(text, i)
		if !ok {
			if err := stdDecodeError(text); err != nil {
				return nil, err
			}
			// Not reached: what decodeBase64 refuses, so does
			// encoding/base64.
			return nil, errors.New("the text is not base64")
		}
		sn.write(tail[:k])
		e.size += k
		break
	}
	e.head = sn.head
	e.signedPDF = sn.finish()
	if isZip(e.head) {
		if _, err := zip.NewReader(e.reader(), int64(e.size)); err != nil {
			e.zipErr = err
		}
	}
	return e, nil
}

// isSpace reports whether c is white space that decodeBase64 skips.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// decodeGroups decodes whole groups of four base64 characters of s, from
// offset i, into dst, skipping white space. It stops when dst has no room
// for another group's three bytes, at the end of s, or before a group that
// holds a byte that is neither (padding, a byte not base64), and returns
// the bytes written and the offset in s of the first group not decoded.
// The caller tells a full dst from the rest by n+3 > len(dst).
func decodeGroups(dst []byte, s string, i int) (n, next int) {
	t := base64Places()
	for {
		// Eight characters at a time while they are all base64, as
		// decodeStd does.
		for i+8 <= len(s) && n+8 <= len(dst) {
			g := s[i : i+8]
			hi := t[0][g[0]] | t[1][g[1]] | t[2][g[2]] | t[3][g[3]]
			lo := t[0][g[4]] | t[1][g[5]] | t[2][g[6]] | t[3][g[7]]
			if (hi|lo)&base64Bad != 0 {
				break
			}
			binary.BigEndian.PutUint64(dst[n:], uint64(hi)<<40|uint64(lo)<<16)
			i += 8
			n += 6
		}
		if n+3 > len(dst) {
			return n, i
		}
		// One group, a character at a time: one broken by a line end,
		// the last ones, or the first that is not base64.
		var v uint32
		j, k := 0, i
		for j < 4 && k < len(s) {
			c := s[k]
			if x := t[j][c]; x != base64Bad {
				v |= x
				j++
			} else if !isSpace(c) {
				break
			}
			k++
		}
		if j < 4 {
			return n, i
		}
		dst[n], dst[n+1], dst[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
		i = k
	}
}

// decodeTail decodes what follows the last whole group of s, from offset
// i: white space, then two or three base64 characters or none, then
// padding and white space to the end. It returns the one or two bytes the
// characters hold, and false when s[i:] is anything else. With
// decodeGroups, it reads what decodeBase64 reads: text whose characters
// other than white space are base64 but for padding at the end, of any
// length, and whose count of base64 characters is not one more than a
// multiple of four.
func decodeTail(s string, i int) (b [2]byte, n int, ok bool) {
	t := base64Places()
	var v uint32
	j := 0
	for ; i < len(s) && s[i] != '='; i++ {
		c := s[i]
		if isSpace(c) {
			continue
		}
		if j == 3 || t[j][c] == base64Bad {
			return b, 0, false
		}
		v |= t[j][c]
		j++
	}
	for ; i < len(s); i++ {
		if s[i] != '=' && !isSpace(s[i]) {
			return b, 0, false
		}
	}
	switch j {
	case 0:
		return b, 0, true
	case 2:
		b[0] = byte(v >> 16)
		return b, 1, true
	case 3:
		b[0], b[1] = byte(v>>16), byte(v>>8)
		return b, 2, true
	}
	return b, 0, false
}

// stdDecodeError is the error of base64.StdEncoding.DecodeString(s), found
// without writing what decodes: the decoder's group-by-group reading
// (decodeQuantum in encoding/base64), which skips line ends, takes padding
// only in the last group and nothing after it but line ends.
// TestStdDecodeError holds it to encoding/base64's.
func stdDecodeError(s string) error {
	t := base64Places()
	for si := 0; si < len(s); {
		for j := 0; j < 4; j++ {
			if si == len(s) {
				if j > 0 {
					// A group cut short: padding is required.
					return base64.CorruptInputError(si - j)
				}
				return nil
			}
			c := s[si]
			si++
			if t[0][c] != base64Bad {
				continue
			}
			if c == '\n' || c == '\r' {
				j--
				continue
			}
			if c != '=' {
				return base64.CorruptInputError(si - 1)
			}
			// Padding ends the text.
			switch j {
			case 0, 1:
				return base64.CorruptInputError(si - 1)
			case 2:
				// "==": the second '=', after line ends.
				for si < len(s) && (s[si] == '\n' || s[si] == '\r') {
					si++
				}
				if si == len(s) {
					return base64.CorruptInputError(len(s))
				}
				if s[si] != '=' {
					return base64.CorruptInputError(si - 1)
				}
				si++
			}
			for si < len(s) && (s[si] == '\n' || s[si] == '\r') {
				si++
			}
			if si < len(s) {
				return base64.CorruptInputError(si) // something after the padding
			}
			return nil
		}
	}
	return nil
}

// sniffer reads decoded content as it comes: it keeps its head and, once
// the head says the content is a PDF, scans it for a signature.
type sniffer struct {
	head    []byte
	started bool
	pdf     *pdfScan
}

func (s *sniffer) write(b []byte) {
	if !s.started {
		k := min(len(b), headSize-len(s.head))
		s.head = append(s.head, b[:k]...)
		b = b[k:]
		if len(s.head) < headSize {
			return
		}
		s.start()
	}
	if s.pdf != nil {
		s.pdf.write(b)
	}
}

// start looks at the head, once it is whole or the content ended, as
// SignedPDF does: a ZIP is no PDF, and a PDF begins within its first
// bytes.
func (s *sniffer) start() {
	s.started = true
	if isZip(s.head) {
		return
	}
	if i := bytes.Index(s.head, []byte(pdfHeader)); i >= 0 {
		s.pdf = &pdfScan{}
		s.pdf.write(s.head[i:])
	}
}

// finish ends the content and says whether it is a signed PDF.
func (s *sniffer) finish() bool {
	if !s.started {
		s.start()
	}
	return s.pdf != nil && s.pdf.finish()
}

// pdfCarry is how many bytes of a window the next one begins with, so that
// a keyword cut by the windows' edge is found: one less than the longest
// ("/ByteRange").
const pdfCarry = len("/ByteRange") - 1

// pdfScan is SignedPDF's scan of the bytes from the PDF header on, made as
// they come in windows rather than over the whole: the same objects are
// looked at, each from the last "obj" before its /ByteRange to the first
// "endobj" after it (or the end), and an object's text, which may be any
// length, is read as it goes by sigScan. Positions are offsets from the
// PDF header.
type pdfScan struct {
	// win is the window: the last bytes of the one before (up to
	// pdfCarry), then the new ones; base is the position of win[0].
	win  []byte
	base int
	// inObject: a /ByteRange was found at at, and its object's end is
	// looked for. Otherwise the next /ByteRange is, from off.
	inObject bool
	off, at  int
	// Each keyword's next search starts at these positions (at least
	// off or at), so that none is found twice.
	objFrom, rangeFrom, endFrom int
	// obj reads the text of the object that may hold the next
	// /ByteRange, or that holds it; it has read up to fed.
	obj          sigScan
	fed          int
	signed, done bool
}

func (p *pdfScan) write(b []byte) {
	if p.done || len(b) == 0 {
		return
	}
	keep := min(len(p.win), pdfCarry)
	p.base += len(p.win) - keep
	p.win = p.win[:copy(p.win, p.win[len(p.win)-keep:])]
	p.win = append(p.win, b...)
	p.scan(false)
}

// finish ends the bytes and says whether they hold a signature dictionary.
func (p *pdfScan) finish() bool {
	if !p.done {
		p.scan(true)
	}
	return p.signed
}

// scan goes through the window as far as it can; at the end, final, it
// decides.
func (p *pdfScan) scan(final bool) {
	w, end := p.win, p.base+len(p.win)
	rel := func(pos int) int { return max(pos, p.base) - p.base }
	for !p.done {
		if !p.inObject {
			from := max(p.rangeFrom, p.off)
			limit := end
			i := bytes.Index(w[rel(from):], []byte("/ByteRange"))
			if i >= 0 {
				limit = max(from, p.base) + i
			}
			// Each "obj" before it may start its object: the last
			// does.
			s := max(p.objFrom, p.off)
			for s+len("obj") <= limit {
				j := bytes.Index(w[rel(s):rel(limit)], []byte("obj"))
				if j < 0 {
					break
				}
				s = max(s, p.base) + j + len("obj")
				p.obj, p.fed = sigScan{}, s
			}
			p.objFrom = max(s, limit-(len("obj")-1))
			if i < 0 {
				// The object may begin in this window and go on.
				p.feed(end)
				p.rangeFrom = end - pdfCarry
				if final {
					p.done = true // no /ByteRange: not signed
				}
				return
			}
			p.at = limit
			p.feed(p.at)
			p.inObject, p.endFrom = true, p.at
		}
		i := bytes.Index(w[rel(p.endFrom):], []byte("endobj"))
		if i < 0 {
			if final {
				p.feed(end)
				p.signed, p.done = p.obj.finish(), true
				return
			}
			// What may be the start of "endobj" is read with the next
			// window, once it is known not to be.
			p.feed(end - (len("endobj") - 1))
			p.endFrom = end - (len("endobj") - 1)
			return
		}
		e := max(p.endFrom, p.base) + i
		p.feed(e)
		if p.obj.finish() {
			p.signed, p.done = true, true
			return
		}
		p.inObject = false
		p.off = e
		p.obj, p.fed = sigScan{}, e
	}
}

// feed gives the object's reader the window's bytes up to position to.
func (p *pdfScan) feed(to int) {
	if to > p.fed {
		p.obj.write(p.win[p.fed-p.base : to-p.base])
		p.fed = to
	}
}

// maxName is the length of the longest name sigScan looks for
// ("/adbe.pkcs7.detached").
const maxName = 20

// The names of signatureObject besides the handlers.
const (
	nameType         = "/Type"
	nameSig          = "/Sig"
	nameDocTimeStamp = "/DocTimeStamp"
)

// sigScan is signatureObject over text that comes in pieces, of any
// length. Every name it looks for (/Type, /Sig, /DocTimeStamp, the
// handlers) holds no delimiter but its leading '/', so that one found
// "followed by a delimiter or the end" is the whole of a name: the bytes
// from a '/' to the next delimiter. A value of /Type is the next name
// after it and white space, or right after it.
type sigScan struct {
	name [maxName]byte
	// n is the length of the name being read, from its '/'; 0 when none
	// is, or when what was read of it begins none of the names looked
	// for: then nothing matters before the next '/'.
	n int
	// value: the name being read is a value of /Type. afterType: /Type
	// and white space were read, and the next name is one.
	value, afterType bool
	// What was found.
	typeSig, docTimeStamp, handler bool
}

func (s *sigScan) write(b []byte) {
	for i := 0; i < len(b); {
		if s.n == 0 && !s.afterType {
			j := bytes.IndexByte(b[i:], '/')
			if j < 0 {
				return
			}
			i += j
			if i+1 < len(b) && !nameSecond(b[i+1]) {
				// A name that begins none looked for, or "/"
				// alone: nothing, but for the next '/'.
				i++
				continue
			}
		}
		c := b[i]
		i++
		switch {
		case s.n > 0 && !pdfDelimiter(c):
			if s.n == maxName {
				s.n, s.value = 0, false
				break
			}
			s.name[s.n] = c
			s.n++
			if !s.begins() {
				s.n, s.value = 0, false
			}
		case s.n > 0:
			isType := s.endName()
			s.next(c, isType)
		default:
			s.next(c, s.afterType)
		}
	}
}

// nameSecond reports whether c may follow the '/' of a name looked for.
func nameSecond(c byte) bool {
	if c == nameType[1] || c == nameSig[1] || c == nameDocTimeStamp[1] {
		return true
	}
	for _, h := range signatureHandlers {
		if h[1] == c {
			return true
		}
	}
	return false
}

// begins reports whether the name read so far begins a name looked for.
func (s *sigScan) begins() bool {
	p := s.name[:s.n]
	if isPrefix(p, nameType) || isPrefix(p, nameSig) || isPrefix(p, nameDocTimeStamp) {
		return true
	}
	for _, h := range signatureHandlers {
		if bytes.HasPrefix(h, p) {
			return true
		}
	}
	return false
}

// isPrefix reports whether p begins s.
func isPrefix(p []byte, s string) bool {
	return len(p) <= len(s) && string(p) == s[:len(p)]
}

// endName ends the name being read and notes what it is; it reports
// whether it is /Type.
func (s *sigScan) endName() bool {
	name := s.name[:s.n]
	if s.value {
		switch string(name) {
		case nameSig:
			s.typeSig = true
		case nameDocTimeStamp:
			s.docTimeStamp = true
		}
	}
	for _, h := range signatureHandlers {
		if bytes.Equal(name, h) {
			s.handler = true
		}
	}
	s.n, s.value = 0, false
	return string(name) == nameType
}

// next reads c when no name is being read: afterType says whether /Type
// and white space came before.
func (s *sigScan) next(c byte, afterType bool) {
	s.afterType = false
	switch {
	case c == '/':
		s.name[0], s.n, s.value = '/', 1, afterType
	case afterType && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0):
		s.afterType = true
	}
}

// finish ends the object's text and says whether it is a signature
// dictionary, as signatureObject does.
func (s *sigScan) finish() bool {
	if s.n > 0 {
		s.endName()
	}
	return !s.docTimeStamp && (s.typeSig || s.handler)
}

// reader returns a reader of the decoded bytes at any offset.
func (e *encoded) reader() *contentReader {
	return &contentReader{e: e}
}

// contentReader reads an encoded attachment's bytes at any offset: it
// decodes from the last mark before the offset, or goes on from where
// the last read ended. Reads may be concurrent, as io.ReaderAt allows:
// they take turns.
type contentReader struct {
	e  *encoded
	mu sync.Mutex
	// win holds the decoded bytes from offset at; next is where in the
	// text the next window starts, and ended says there is none.
	win   []byte
	at    int
	next  int
	ended bool
}

// errTextChanged is returned when an attachment's text does not decode
// as it did (its length or its structure): the packet it was read from was
// changed while in use. A change that keeps both is not seen.
var errTextChanged = errors.New("envelope: an attachment's text changed after it was read")

// ReadAt reads the decoded bytes from offset off, as bytes.Reader does.
func (r *contentReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("envelope: read an attachment at a negative offset")
	}
	if off >= int64(r.e.size) {
		return 0, io.EOF
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pos := int(off)
	n := 0
	for n < len(p) && pos < r.e.size {
		if pos >= r.at && pos < r.at+len(r.win) {
			k := copy(p[n:], r.win[pos-r.at:])
			n += k
			pos += k
			continue
		}
		m := r.e.marks[sort.Search(len(r.e.marks), func(i int) bool { return r.e.marks[i].at > pos })-1]
		if pos < r.at || r.at+len(r.win) < m.at || r.win == nil {
			// Start again from the mark rather than go on.
			r.win, r.at, r.next, r.ended = r.win[:0], m.at, m.text, false
		}
		if err := r.decode(); err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// decode reads the next window, after the one held.
func (r *contentReader) decode() error {
	if r.ended {
		return errTextChanged
	}
	if r.win == nil {
		r.win = make([]byte, 0, decodeWindow)
	}
	r.at += len(r.win)
	buf := r.win[:cap(r.win)]
	n, next := decodeGroups(buf, r.e.text, r.next)
	r.next = next
	if n+3 <= len(buf) {
		tail, k, ok := decodeTail(r.e.text, next)
		if !ok {
			return errTextChanged
		}
		n += copy(buf[n:], tail[:k])
		r.ended = true
	}
	r.win = buf[:n]
	if r.at+n > r.e.size || (r.ended && r.at+n != r.e.size) {
		return errTextChanged
	}
	return nil
}

// content decodes the whole text.
func (e *encoded) content() ([]byte, error) {
	b := make([]byte, e.size)
	n, next := decodeGroups(b, e.text, 0)
	tail, k, ok := decodeTail(e.text, next)
	if !ok || n+k != len(b) {
		return nil, fmt.Errorf("%w: %d bytes of %d", errTextChanged, n+k, len(b))
	}
	copy(b[n:], tail[:k])
	return b, nil
}
