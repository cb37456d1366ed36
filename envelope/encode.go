package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Encoder writes packets in the one layout lienthong sends: the prefix
// layout of QCVN 102:2016 as the national axis uses it (root unprefixed in
// the default namespace, envelope elements prefixed "edXML:", attachments
// outside the envelope, unprefixed, with a locally declared
// edXML:ContentTransferEncoded), children in the regulation's order, two
// spaces of indentation, LF line ends. The same packet always gives the same
// bytes.
type Encoder struct {
	// Lenient makes the encoder write the packet as it is, without
	// validating it: for writing out again a packet as it was received
	// (tools, tests). The layout is the same; an attachment that could not
	// be decoded is written back as it came. What lienthong sends is always
	// encoded strictly.
	Lenient bool
}

// Encode writes p strictly: it refuses a packet that does not pass
// [Validate] under [ProfileSend()], returning the [ValidationErrors].
func Encode(p *Packet) ([]byte, error) {
	return Encoder{}.Encode(p)
}

// Encode writes p. Unless the encoder is lenient, the error is a
// [ValidationErrors] when p does not pass validation under [ProfileSend()].
func (e Encoder) Encode(p *Packet) ([]byte, error) {
	w, err := e.encode(p)
	if err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// EncodedStatus is a status packet as [Encode] writes it, with what a
// signer needs to know of it, so that signing the status does not read
// the packet back: a gateway signs every status it sends.
type EncodedStatus struct {
	// Packet is the bytes Encode returns for the status packet.
	Packet []byte
	// Root is Packet's document element, <edXML>…</edXML>: Packet
	// without the XML declaration before it and the line end after it.
	// It shares Packet's memory.
	//
	// The encoder writes it in exclusive canonical form (XML-EXC-C14N,
	// without comments) to begin with: the default namespace is declared
	// on edXML and edXML: on edXMLEnvelope, the outermost elements whose
	// names use them, and on no other element; no element has other
	// attributes; an empty element has an end tag; text is escaped as
	// canonical XML escapes it (&amp; &lt; &gt; &#xD;, nothing else; white
	// space and LF line ends as they are). So the canonical form of the
	// unsigned packet, which its Signature's digest covers, is Root's
	// bytes as they are. Signing's tests hold the two to the same bytes.
	Root []byte
	// SignatureAt is the offset in Packet where its enveloped Signature
	// goes: just after the end tag of MessageHeader, where signing puts
	// the Signature of a packet without a trace list.
	SignatureAt int
}

// EncodeStatus writes the status packet of s strictly, as [Encode] does,
// and says where its document element is and where its Signature goes.
func EncodeStatus(s *Status) (*EncodedStatus, error) {
	w, err := Encoder{}.encode(&Packet{Status: s})
	if err != nil {
		return nil, err
	}
	b := w.buf.Bytes()
	return &EncodedStatus{Packet: b, Root: b[w.rootStart:w.rootEnd], SignatureAt: w.signatureAt}, nil
}

// encode writes p into a writer, which holds the bytes and the places
// marked in them.
func (e Encoder) encode(p *Packet) (*writer, error) {
	if !e.Lenient {
		if err := Validate(p, ProfileSend()); err != nil {
			return nil, err
		}
	}
	if p == nil || (p.Edoc == nil) == (p.Status == nil) {
		return nil, errors.New("envelope: encode: the packet must be exactly one of an edoc and a status")
	}
	w := &writer{}
	w.buf.Grow(w.sizeHint(p))
	w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	w.rootStart = w.buf.Len()
	w.raw("<edXML xmlns=\"" + Namespace + "\">\n")
	w.raw("  <edXML:edXMLEnvelope xmlns:edXML=\"" + Namespace + "\">\n")
	w.open(2, "edXMLHeader")
	if p.Status != nil {
		w.status(p.Status)
		w.close(2, "edXMLHeader")
		w.raw("  </edXML:edXMLEnvelope>\n</edXML>")
		w.rootEnd = w.buf.Len()
		w.raw("\n")
	} else {
		w.edoc(p.Edoc)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w, nil
}

// errInvalidChar is what the writer meets when text holds something XML 1.0
// cannot carry. Validation reports it first, with the field's path.
var errInvalidChar = errors.New("envelope: text holds a character XML cannot carry")

type writer struct {
	buf bytes.Buffer
	err error
	// rootStart and rootEnd are the offsets of the document element's
	// start tag and of the end of its end tag; signatureAt is the offset
	// just after MessageHeader's end tag. Only a status's are kept.
	rootStart, rootEnd, signatureAt int
}

const indent = "                                " // enough for the deepest element

func (w *writer) sizeHint(p *Packet) int {
	n := 4096
	if p.Edoc != nil {
		n += 1024 * len(p.Edoc.Header.To)
		for _, a := range p.Edoc.Attachments {
			n += base64.StdEncoding.EncodedLen(a.Size()) + 512
		}
	}
	return n
}

func (w *writer) raw(s string) { w.buf.WriteString(s) }

// open writes <edXML:name> on its own line at depth.
func (w *writer) open(depth int, name string) {
	w.buf.WriteString(indent[:2*depth])
	w.buf.WriteString("<edXML:")
	w.buf.WriteString(name)
	w.buf.WriteString(">\n")
}

func (w *writer) close(depth int, name string) {
	w.endTag(depth, name)
	w.buf.WriteByte('\n')
}

// endTag writes </edXML:name> at depth without the line end, so that the
// offset just after it can be marked.
func (w *writer) endTag(depth int, name string) {
	w.buf.WriteString(indent[:2*depth])
	w.buf.WriteString("</edXML:")
	w.buf.WriteString(name)
	w.buf.WriteByte('>')
}

// leaf writes <edXML:name>text</edXML:name> at depth.
func (w *writer) leaf(depth int, name, text string) {
	w.leafPrefixed(depth, "edXML:", name, text)
}

// optional writes a leaf only when text is not empty.
func (w *writer) optional(depth int, name, text string) {
	if text != "" {
		w.leaf(depth, name, text)
	}
}

func (w *writer) leafPrefixed(depth int, prefix, name, text string) {
	w.buf.WriteString(indent[:2*depth])
	w.buf.WriteByte('<')
	w.buf.WriteString(prefix)
	w.buf.WriteString(name)
	w.buf.WriteByte('>')
	w.text(text)
	w.buf.WriteString("</")
	w.buf.WriteString(prefix)
	w.buf.WriteString(name)
	w.buf.WriteString(">\n")
}

// text writes s escaped for element content. Carriage returns are written
// as character references so that they survive XML's line-end
// normalisation.
func (w *writer) text(s string) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case c == '\n' || c == '\t':
			i++
			continue
		case c < 0x20:
			w.fail(s)
			return
		case c < utf8.RuneSelf:
			i++
			continue
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !validXMLRune(r, size) {
				w.fail(s)
				return
			}
			i += size
			continue
		}
		w.buf.WriteString(s[last:i])
		w.buf.WriteString(esc)
		i++
		last = i
	}
	w.buf.WriteString(s[last:])
}

func (w *writer) fail(s string) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %q", errInvalidChar, s[:min(len(s), 60)])
	}
}

// validXMLRune reports whether a decoded non-ASCII rune may appear in XML
// 1.0 text.
func validXMLRune(r rune, size int) bool {
	if r == utf8.RuneError && size == 1 {
		return false
	}
	return (r >= 0x80 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

func (w *writer) organization(depth int, name string, o Organization) {
	w.open(depth, name)
	d := depth + 1
	w.leaf(d, "OrganId", o.OrganID)
	w.leaf(d, "OrganizationInCharge", o.OrganizationInCharge)
	w.leaf(d, "OrganName", o.OrganName)
	w.leaf(d, "OrganAdd", o.OrganAdd)
	w.leaf(d, "Email", o.Email)
	w.leaf(d, "Telephone", o.Telephone)
	w.leaf(d, "Fax", o.Fax)
	w.leaf(d, "Website", o.Website)
	w.close(depth, name)
}

func (w *writer) responseFor(depth int, rf ResponseFor) {
	w.open(depth, "ResponseFor")
	w.leaf(depth+1, "OrganId", rf.OrganID)
	w.leaf(depth+1, "Code", rf.Code)
	w.leaf(depth+1, "PromulgationDate", string(rf.PromulgationDate))
	w.leaf(depth+1, "DocumentId", rf.DocumentID)
	w.close(depth, "ResponseFor")
}

func (w *writer) staffInfo(depth int, s StaffInfo) {
	w.open(depth, "StaffInfo")
	w.leaf(depth+1, "Department", s.Department)
	w.leaf(depth+1, "Staff", s.Staff)
	w.leaf(depth+1, "Mobile", s.Mobile)
	w.leaf(depth+1, "Email", s.Email)
	w.close(depth, "StaffInfo")
}

func (w *writer) status(s *Status) {
	w.open(3, "MessageHeader")
	w.organization(4, "From", s.From)
	w.responseFor(4, s.ResponseFor)
	w.staffInfo(4, s.StaffInfo)
	w.leaf(4, "StatusCode", string(s.StatusCode))
	w.leaf(4, "Description", s.Description)
	w.leaf(4, "Timestamp", string(s.Timestamp))
	w.endTag(3, "MessageHeader")
	w.signatureAt = w.buf.Len()
	w.buf.WriteByte('\n')
}

func (w *writer) edoc(e *Edoc) {
	h := &e.Header
	w.open(3, "MessageHeader")
	w.organization(4, "From", h.From)
	for _, to := range h.To {
		w.organization(4, "To", to)
	}
	w.open(4, "Code")
	w.leaf(5, "CodeNumber", h.Code.Number)
	w.leaf(5, "CodeNotation", h.Code.Notation)
	w.close(4, "Code")
	w.open(4, "PromulgationInfo")
	w.leaf(5, "Place", h.Promulgation.Place)
	w.leaf(5, "PromulgationDate", string(h.Promulgation.Date))
	w.close(4, "PromulgationInfo")
	w.open(4, "DocumentType")
	w.leaf(5, "Type", h.DocumentType.Type)
	w.optional(5, "TypeDetail", h.DocumentType.TypeDetail)
	w.optional(5, "TypeName", h.DocumentType.TypeName)
	w.close(4, "DocumentType")
	w.leaf(4, "Subject", h.Subject)
	w.leaf(4, "Content", h.Content)
	w.open(4, "SignerInfo")
	w.leaf(5, "Competence", h.SignerInfo.Competence)
	w.leaf(5, "Position", h.SignerInfo.Position)
	w.leaf(5, "FullName", h.SignerInfo.FullName)
	w.close(4, "SignerInfo")
	w.optional(4, "DueDate", string(h.DueDate))
	if len(h.ToPlaces) > 0 {
		w.open(4, "ToPlaces")
		for _, p := range h.ToPlaces {
			w.leaf(5, "Place", p)
		}
		w.close(4, "ToPlaces")
	}
	if o := h.OtherInfo; !o.isZero() {
		w.open(4, "OtherInfo")
		w.optional(5, "Priority", string(o.Priority))
		w.optional(5, "SphereOfPromulgation", o.SphereOfPromulgation)
		w.optional(5, "TyperNotation", o.TyperNotation)
		w.optional(5, "PromulgationAmount", o.PromulgationAmount)
		w.optional(5, "PageAmount", o.PageAmount)
		if len(o.Appendixes) > 0 {
			w.open(5, "Appendixes")
			for _, a := range o.Appendixes {
				w.leaf(6, "Appendix", a)
			}
			w.close(5, "Appendixes")
		}
		w.optional(5, "Direction", o.Direction)
		w.close(4, "OtherInfo")
	}
	for _, rf := range h.ResponseFor {
		w.responseFor(4, rf)
	}
	w.optional(4, "SteeringType", string(h.SteeringType))
	w.leaf(4, "DocumentId", h.DocumentID)
	w.close(3, "MessageHeader")

	w.open(3, "TraceHeaderList")
	for _, t := range e.Trace {
		w.open(4, "TraceHeader")
		// A hub's header may have no OrganId (or, in principle, no
		// Timestamp): it is given back as it came, not with an
		// empty element added.
		w.optional(5, "OrganId", t.OrganID)
		w.optional(5, "Timestamp", string(t.Timestamp))
		w.close(4, "TraceHeader")
	}
	if b := e.Bussiness; b != nil {
		w.bussiness(4, b)
	}
	w.close(3, "TraceHeaderList")
	w.close(2, "edXMLHeader")

	w.open(2, "edXMLBody")
	w.raw("      <edXML:edXMLManifest version=\"1.0\">\n")
	for _, r := range e.Manifest {
		w.open(4, "Reference")
		w.leaf(5, "ContentId", r.ContentID)
		w.optional(5, "ContentType", r.ContentType)
		w.optional(5, "Description", r.Description)
		w.optional(5, "AttachmentName", r.AttachmentName)
		w.close(4, "Reference")
	}
	w.close(3, "edXMLManifest")
	w.close(2, "edXMLBody")
	w.raw("  </edXML:edXMLEnvelope>\n")

	w.raw("  <AttachmentEncoded>\n")
	for _, a := range e.Attachments {
		w.attachment(a)
	}
	w.raw("  </AttachmentEncoded>\n</edXML>\n")
}

// bussiness writes the Bussiness element. The order of its children
// follows the official samples of the national axis library, which put
// BussinessDocumentInfo and ReplacementInfoList before StaffInfo.
func (w *writer) bussiness(depth int, b *Bussiness) {
	w.open(depth, "Bussiness")
	d := depth + 1
	w.optional(d, "DocumentId", b.DocumentID)
	w.leaf(d, "BussinessDocType", string(b.BussinessDocType))
	w.optional(d, "BussinessDocReason", b.BussinessDocReason)
	w.optional(d, "Paper", b.Paper)
	if di := b.DocumentInfo; di != nil {
		w.open(d, "BussinessDocumentInfo")
		w.leaf(d+1, "DocumentInfo", di.DocumentInfo)
		w.leaf(d+1, "DocumentReceiver", di.DocumentReceiver)
		if len(di.ReceiverList) > 0 {
			w.open(d+1, "ReceiverList")
			for _, r := range di.ReceiverList {
				w.open(d+2, "Receiver")
				w.leaf(d+3, "OrganId", r.OrganID)
				w.leaf(d+3, "ReceiverType", r.ReceiverType)
				w.close(d+2, "Receiver")
			}
			w.close(d+1, "ReceiverList")
		}
		w.close(d, "BussinessDocumentInfo")
	}
	if len(b.Replacements) > 0 {
		w.open(d, "ReplacementInfoList")
		for _, ri := range b.Replacements {
			w.open(d+1, "ReplacementInfo")
			w.leaf(d+2, "DocumentId", ri.DocumentID)
			if len(ri.OrganIDList) > 0 {
				w.open(d+2, "OrganIdList")
				for _, id := range ri.OrganIDList {
					w.leaf(d+3, "OrganId", id)
				}
				w.close(d+2, "OrganIdList")
			}
			w.close(d+1, "ReplacementInfo")
		}
		w.close(d, "ReplacementInfoList")
	}
	for _, s := range b.StaffInfo {
		w.staffInfo(d, s)
	}
	w.close(depth, "Bussiness")
}

// attachment writes one AttachmentEncoded/Attachment: unprefixed children,
// then the content in a prefixed element that declares the prefix itself,
// as the national axis library does.
func (w *writer) attachment(a Attachment) {
	w.raw("    <Attachment>\n")
	w.leafPrefixed(3, "", "ContentId", a.ContentID)
	w.leafPrefixed(3, "", "AttachmentName", a.Name)
	if a.Description != "" {
		w.leafPrefixed(3, "", "Description", a.Description)
	}
	if a.ContentType != "" {
		w.leafPrefixed(3, "", "ContentType", a.ContentType)
	}
	w.raw("      <edXML:ContentTransferEncoded xmlns:edXML=\"" + Namespace + "\">")
	if a.DecodeError != "" {
		w.text(a.Undecoded)
		w.raw("</edXML:ContentTransferEncoded>\n    </Attachment>\n")
		return
	}
	if a.Data == nil && a.encoded != nil {
		w.reencode(a.encoded)
	} else {
		n := base64.StdEncoding.EncodedLen(len(a.Data))
		w.buf.Grow(n)
		dst := w.buf.AvailableBuffer()[:n]
		base64.StdEncoding.Encode(dst, a.Data)
		w.buf.Write(dst)
	}
	w.raw("</edXML:ContentTransferEncoded>\n")
	w.raw("    </Attachment>\n")
}

// reencode writes the base64 of an attachment the parser did not decode,
// as Encode writes any other (one line, padded), decoding its text a
// window at a time rather than whole.
func (w *writer) reencode(e *encoded) {
	r := e.reader()
	buf := make([]byte, decodeWindow) // a multiple of 3: no padding but at the end
	w.buf.Grow(base64.StdEncoding.EncodedLen(e.size))
	for off := 0; off < e.size; {
		n, err := r.ReadAt(buf, int64(off))
		if err != nil && !(err == io.EOF && off+n == e.size) {
			if w.err == nil {
				w.err = fmt.Errorf("envelope: encode an attachment: %w", err)
			}
			return
		}
		dst := w.buf.AvailableBuffer()[:base64.StdEncoding.EncodedLen(n)]
		base64.StdEncoding.Encode(dst, buf[:n])
		w.buf.Write(dst)
		off += n
	}
}
