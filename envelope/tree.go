package envelope

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// FromTree reads a packet from the root element of an edXML tree, as
// returned by [Parser.ReadTree] or by signature verification. Element order
// is not enforced, unknown elements are kept as [Extra] values, and every
// tolerance is reported as a [Warning]. It fails when the tree is not an
// edXML packet at all, and when it is ambiguous: an element of the format
// repeated where the format has one (edXMLEnvelope, edXMLHeader,
// MessageHeader, From, a leaf…), or an element of the format's names, where
// the format has it, outside the edXML namespace. Either made lienthong
// read one element (the first) while a DMS reading the packet by namespace,
// or keeping the last, read another: a packet whose first
// <x:MessageHeader xmlns:x="urn:other"> said From H99 went to lienthong
// from H99, and to the DMS from the From of the edXML MessageHeader after
// it (issue 20). The elements that repeat (To, ResponseFor, TraceHeader,
// Reference, Attachment, …) may, and unknown elements of any namespace are
// kept. An attachment of more than 1 MiB of base64 keeps the tree's text
// rather than decoded bytes (see [Attachment.Data]).
func FromTree(root *etree.Element) (*Packet, []Warning, error) {
	if root == nil {
		return nil, nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	r := &reader{}
	if root.Tag != "edXML" {
		return nil, nil, fmt.Errorf("%w: the root element is <%s>, not <edXML>", ErrMalformed, root.FullTag())
	}
	if !r.inEdXML(root, root.NamespaceURI(), "") {
		return nil, r.warns, r.err
	}
	pkt := &Packet{}
	var envelope, attached *etree.Element
	for _, el := range root.ChildElements() {
		switch el.Tag {
		case "edXMLEnvelope":
			r.single(&envelope, el, "")
		case "AttachmentEncoded":
			r.attached = true
			if r.single(&attached, el, "") {
				pkt.Edoc = r.edoc(pkt.Edoc)
				r.attachments(pkt.Edoc, el)
			}
			r.attached = false
		default:
			r.extra(el, "edXML/"+el.Tag)
		}
	}
	if r.err != nil {
		return nil, r.warns, r.err
	}
	if envelope == nil {
		return nil, r.warns, fmt.Errorf("%w: no edXMLEnvelope element", ErrMalformed)
	}
	var header, body *etree.Element
	for _, el := range envelope.ChildElements() {
		switch el.Tag {
		case "edXMLHeader":
			r.single(&header, el, "edXMLEnvelope")
		case "edXMLBody":
			r.single(&body, el, "edXMLEnvelope")
		default:
			r.extra(el, "edXMLEnvelope/"+el.Tag)
		}
	}
	if r.err != nil {
		return nil, r.warns, r.err
	}
	if header == nil {
		return nil, r.warns, fmt.Errorf("%w: no edXMLHeader element", ErrMalformed)
	}
	var msg, trace *etree.Element
	for _, el := range header.ChildElements() {
		switch el.Tag {
		case "MessageHeader":
			r.single(&msg, el, "edXMLHeader")
		case "TraceHeaderList":
			r.single(&trace, el, "edXMLHeader")
		case "Signature":
			r.signature(pkt, el)
		default:
			r.extra(el, "edXMLHeader/"+el.Tag)
		}
	}
	if r.err != nil {
		return nil, r.warns, r.err
	}
	if msg == nil {
		return nil, r.warns, fmt.Errorf("%w: no MessageHeader element", ErrMalformed)
	}
	if msg.SelectElement("StatusCode") != nil {
		if pkt.Edoc != nil || trace != nil || body != nil {
			r.warn("", "status-with-body", "Gói tin trạng thái có phần dành cho văn bản; đã bỏ qua",
				"a status packet carries edoc parts (trace list, body or attachments); ignored")
		}
		pkt.Edoc = nil
		pkt.Status = r.status(msg)
	} else {
		pkt.Edoc = r.edoc(pkt.Edoc)
		pkt.Edoc.Header = r.messageHeader(msg)
		if trace != nil {
			r.traceList(pkt.Edoc, trace)
		}
		if body != nil {
			r.body(pkt.Edoc, body)
		}
		if pkt.Signature == nil {
			r.warn("Signature", "no-signature", "Văn bản không có chữ ký số (Signature)",
				"the edoc carries no Signature")
		}
	}
	if r.err != nil {
		return nil, r.warns, r.err
	}
	pkt.Extras = r.extras
	return pkt, r.warns, nil
}

// reader walks an edXML tree, collecting warnings and extras.
type reader struct {
	warns  []Warning
	extras []Extra
	err    error // the first ambiguity found, which makes the packet malformed
	// attached is set while AttachmentEncoded, a child of the root outside
	// edXMLEnvelope, is read: the one place the prefix edXML may be
	// undeclared (inEdXML).
	attached bool
}

// fail records err, unless one was recorded before.
func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) warn(path, code, vi, en string) {
	r.warns = append(r.warns, Warning{Path: path, Code: code, MessageVI: vi, MessageEN: en})
}

// inEdXML reports whether el, of one of the format's names where the
// format has it, is in the edXML namespace, ns being the namespace it is
// in; an element outside it makes the packet malformed. The one exception
// is the prefix edXML undeclared, which the official sample edoc.edxml
// writes on AttachmentEncoded, outside the edXMLEnvelope that declares it:
// there alone (AttachmentEncoded and its subtree, r.attached) it is read,
// with a warning, as the edXML namespace it can only mean; the warning is
// not repeated for the elements inside one warned about. Anywhere else, the
// root, edXMLEnvelope and all inside it (header, body, the Signature's
// context), it makes the packet malformed like any undeclared prefix: an
// <edXML:MessageHeader> of an undeclared prefix, in a header of the
// default edXML namespace, was read and routed by its From, while a DMS
// reading by namespace finds no edXML MessageHeader there, and Xerces
// refuses the document (issue 20).
//
// The element's path is parent/Tag, or its Tag when parent is empty, made
// only for a warning or an error.
func (r *reader) inEdXML(el *etree.Element, ns, parent string) bool {
	switch {
	case ns == Namespace:
		return true
	case ns == "" && el.Space == "edXML" && r.attached:
		if p := el.Parent(); p != nil && p.Space == "edXML" && p.NamespaceURI() == "" {
			return true // warned about above
		}
		r.warn(childPath(parent, el), "undeclared-prefix",
			fmt.Sprintf("Tiền tố %q chưa được khai báo", el.Space),
			fmt.Sprintf("prefix %q is used without a namespace declaration", el.Space))
		return true
	case ns == "" && el.Space != "":
		r.fail(fmt.Errorf("%w: <%s> (%s) has the prefix %q, declared nowhere, where the format has an element of the edXML namespace%s",
			ErrMalformed, el.FullTag(), childPath(parent, el), el.Space, undeclaredNote(el)))
	case ns == "":
		r.fail(fmt.Errorf("%w: <%s> (%s) is in no namespace, where the format has an element of the edXML namespace %s",
			ErrMalformed, el.FullTag(), childPath(parent, el), Namespace))
	default:
		r.fail(fmt.Errorf("%w: <%s> (%s) is in the namespace %q, where the format has an element of the edXML namespace %s",
			ErrMalformed, el.FullTag(), childPath(parent, el), ns, Namespace))
	}
	return false
}

// undeclaredNote explains, for el of the prefix edXML undeclared, where
// that prefix is read and why not here.
func undeclaredNote(el *etree.Element) string {
	if el.Space != "edXML" {
		return ""
	}
	return " (the undeclared prefix edXML is read only on AttachmentEncoded outside edXMLEnvelope, as the official sample has it; here a reader by namespace finds no edXML element)"
}

// single stores el, the envelope, the attachments or a child of the
// envelope or the header (parent), in *dst when it is in the edXML
// namespace and the first of its name; else the packet is malformed.
func (r *reader) single(dst **etree.Element, el *etree.Element, parent string) bool {
	if !r.inEdXML(el, el.NamespaceURI(), parent) {
		return false
	}
	if *dst != nil {
		r.fail(repeated(el, parent))
		return false
	}
	*dst = el
	return true
}

// repeated is the error for el, a child of the element at parent,
// repeated where the format has it once.
func repeated(el *etree.Element, parent string) error {
	return fmt.Errorf("%w: <%s> (%s) is repeated; the format has one, and readers that keep the first or the last would read different packets",
		ErrMalformed, el.FullTag(), childPath(parent, el))
}

// childPath is the path of el, a child of the element at parent.
func childPath(parent string, el *etree.Element) string {
	if parent == "" {
		return el.Tag
	}
	return parent + "/" + el.Tag
}

// childNamespace returns the namespace of c, a child of an element in the
// namespace parentNS: the parent's when c has its prefix and does not
// declare it, so that reading a list of children costs no walk up the
// tree for each (etree's NamespaceURI looks through the attributes of
// every ancestor).
func childNamespace(c, parent *etree.Element, parentNS string) string {
	if c.Space != parent.Space {
		return c.NamespaceURI()
	}
	for _, a := range c.Attr {
		if a.Space == "xmlns" && a.Key == c.Space || c.Space == "" && a.Space == "" && a.Key == "xmlns" {
			return c.NamespaceURI()
		}
	}
	return parentNS
}

// extra keeps an unknown element, as a document holding it would be
// written, with end tags for empty elements.
func (r *reader) extra(el *etree.Element, path string) {
	var b strings.Builder
	ws := etree.WriteSettings{CanonicalEndTags: true}
	el.WriteTo(&b, &ws)
	r.extras = append(r.extras, Extra{Path: path, XML: b.String()})
	r.warn(path, "unknown-element", "Phần tử không có trong quy chuẩn; đã giữ lại nguyên trạng",
		"element not in the regulation; kept as it is")
}

func (r *reader) edoc(e *Edoc) *Edoc {
	if e == nil {
		return &Edoc{}
	}
	return e
}

// text returns an element's character data, trimmed. Child elements inside
// a leaf are kept as extras. Text that may be the parser's input is
// copied, because the tree may share it (see Parser.ReadTree) and a Packet
// does not, but for a large attachment's text.
func (r *reader) text(el *etree.Element, path string) string {
	s := r.rawText(el, path)
	if mayShareInput(el) {
		return strings.Clone(s)
	}
	return s
}

// mayShareInput reports whether el's text may be memory of the parser's
// input: only a base64 run that is the whole of its node is (see
// readXML), and it is blobMin long at least before it is trimmed.
func mayShareInput(el *etree.Element) bool {
	if len(el.Child) != 1 {
		return false
	}
	t, ok := el.Child[0].(*etree.CharData)
	return ok && len(t.Data) >= blobMin
}

// rawText is text without the copy: what it returns may share memory with
// the parser's input, so it is only for an attachment's base64, which is
// decoded at once, or kept as it is when large (content.go).
func (r *reader) rawText(el *etree.Element, path string) string {
	if len(el.Child) == 1 {
		// The common case, and the only one for a large attachment: one
		// piece of text, returned without a copy.
		if t, ok := el.Child[0].(*etree.CharData); ok {
			return strings.TrimSpace(t.Data)
		}
	}
	var b strings.Builder
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			r.extra(t, path+"/"+t.Tag)
		}
	}
	return strings.TrimSpace(b.String())
}

// many marks a child element that may repeat, in a spec given to
// [reader.read]; it is called once per occurrence.
type many func(el *etree.Element, path string)

// read reads the children of el as spec says: a *string child is a leaf
// whose text is stored there; a func child is a container that appears
// once, handed the element; a [many] child may repeat. A child spec names
// must be in the edXML namespace, and a leaf or container must not repeat,
// else the packet is malformed (inEdXML, once); a child spec does not name
// is kept as an extra.
//
// A child's path (path/Tag) is made only where it is used, by a container
// and in warnings and extras, rather than allocated for every leaf.
func (r *reader) read(el *etree.Element, path string, spec map[string]any) {
	if r.err != nil {
		return
	}
	var room [16]string
	seen := room[:0] // the tags read once so far: a spec names a dozen at most
	var ok bool
	elNS := ""
	resolved := false
	for _, t := range el.Child {
		c, isElement := t.(*etree.Element)
		if !isElement {
			continue
		}
		f, known := spec[c.Tag]
		if !known {
			r.extra(c, path+"/"+c.Tag)
			continue
		}
		if !resolved {
			elNS, resolved = el.NamespaceURI(), true
		}
		if !r.inEdXML(c, childNamespace(c, el, elNS), path) {
			return
		}
		switch f := f.(type) {
		case *string:
			if seen, ok = r.once(seen, c, path); ok {
				*f = r.leaf(c, path)
			}
		case func(*etree.Element, string):
			if seen, ok = r.once(seen, c, path); ok {
				f(c, path+"/"+c.Tag)
			}
		case many:
			f(c, path+"/"+c.Tag)
		}
		if r.err != nil {
			return
		}
	}
}

// once marks an element, a child of the element at parent, as seen,
// returning seen with its tag; a repeat makes the packet malformed.
func (r *reader) once(seen []string, el *etree.Element, parent string) ([]string, bool) {
	if slices.Contains(seen, el.Tag) {
		r.fail(repeated(el, parent))
		return seen, false
	}
	return append(seen, el.Tag), true
}

// leaf is text of el, a child of the element at parent, making el's path
// only when text needs it: for child elements inside the leaf, kept as
// extras.
func (r *reader) leaf(el *etree.Element, parent string) string {
	for _, t := range el.Child {
		if _, ok := t.(*etree.Element); ok {
			return r.text(el, parent+"/"+el.Tag)
		}
	}
	return r.text(el, "")
}

// texts reads a list of leaves named item, such as ToPlaces/Place; empty
// ones are dropped.
func (r *reader) texts(el *etree.Element, path, item string) []string {
	var out []string
	r.read(el, path, map[string]any{item: many(func(c *etree.Element, p string) {
		if s := r.text(c, p); s != "" {
			out = append(out, s)
		}
	})})
	return out
}

// indexed returns path[i] with i counting from 1, as XPath does.
func indexed(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func (r *reader) organization(el *etree.Element, path string) Organization {
	var o Organization
	r.read(el, path, map[string]any{
		"OrganId":              &o.OrganID,
		"OrganizationInCharge": &o.OrganizationInCharge,
		"OrganName":            &o.OrganName,
		"OrganAdd":             &o.OrganAdd,
		"Email":                &o.Email,
		"Telephone":            &o.Telephone,
		"Fax":                  &o.Fax,
		"Website":              &o.Website,
	})
	return o
}

func (r *reader) messageHeader(el *etree.Element) MessageHeader {
	var h MessageHeader
	r.read(el, "MessageHeader", map[string]any{
		"From": func(c *etree.Element, p string) { h.From = r.organization(c, p) },
		"To": many(func(c *etree.Element, p string) {
			h.To = append(h.To, r.organization(c, indexed(p, len(h.To)+1)))
		}),
		"Code": func(c *etree.Element, p string) {
			r.read(c, p, map[string]any{"CodeNumber": &h.Code.Number, "CodeNotation": &h.Code.Notation})
		},
		"PromulgationInfo": func(c *etree.Element, p string) {
			r.read(c, p, map[string]any{"Place": &h.Promulgation.Place, "PromulgationDate": (*string)(&h.Promulgation.Date)})
		},
		"DocumentType": func(c *etree.Element, p string) {
			t := &h.DocumentType
			r.read(c, p, map[string]any{"Type": &t.Type, "TypeDetail": &t.TypeDetail, "TypeName": &t.TypeName})
		},
		"Subject": &h.Subject,
		"Content": &h.Content,
		"SignerInfo": func(c *etree.Element, p string) {
			si := &h.SignerInfo
			r.read(c, p, map[string]any{"Competence": &si.Competence, "Position": &si.Position, "FullName": &si.FullName})
		},
		"DueDate":   (*string)(&h.DueDate),
		"ToPlaces":  func(c *etree.Element, p string) { h.ToPlaces = r.texts(c, p, "Place") },
		"OtherInfo": func(c *etree.Element, p string) { h.OtherInfo = r.otherInfo(c, p) },
		"ResponseFor": many(func(c *etree.Element, p string) {
			rf := r.responseFor(c, indexed(p, len(h.ResponseFor)+1))
			if rf.isZero() {
				r.warn(p, "empty-element", "Bỏ qua phần tử ResponseFor rỗng", "ignored an empty ResponseFor")
				return
			}
			h.ResponseFor = append(h.ResponseFor, rf)
		}),
		"SteeringType": (*string)(&h.SteeringType),
		"DocumentId":   &h.DocumentID,
	})
	return h
}

func (r *reader) otherInfo(el *etree.Element, path string) OtherInfo {
	var o OtherInfo
	r.read(el, path, map[string]any{
		"Priority":             (*string)(&o.Priority),
		"SphereOfPromulgation": &o.SphereOfPromulgation,
		"TyperNotation":        &o.TyperNotation,
		"PromulgationAmount":   &o.PromulgationAmount,
		"PageAmount":           &o.PageAmount,
		"Appendixes":           func(c *etree.Element, p string) { o.Appendixes = r.texts(c, p, "Appendix") },
		"Direction":            &o.Direction,
	})
	return o
}

func (r *reader) responseFor(el *etree.Element, path string) ResponseFor {
	var rf ResponseFor
	r.read(el, path, map[string]any{
		"OrganId":          &rf.OrganID,
		"Code":             &rf.Code,
		"PromulgationDate": (*string)(&rf.PromulgationDate),
		"DocumentId":       &rf.DocumentID,
	})
	return rf
}

func (r *reader) staffInfo(el *etree.Element, path string) StaffInfo {
	var s StaffInfo
	r.read(el, path, map[string]any{"Department": &s.Department, "Staff": &s.Staff, "Mobile": &s.Mobile, "Email": &s.Email})
	return s
}

func (r *reader) traceList(e *Edoc, el *etree.Element) {
	r.read(el, "TraceHeaderList", map[string]any{
		"TraceHeader": many(func(c *etree.Element, p string) {
			var th TraceHeader
			r.read(c, indexed(p, len(e.Trace)+1), map[string]any{"OrganId": &th.OrganID, "Timestamp": (*string)(&th.Timestamp)})
			e.Trace = append(e.Trace, th)
		}),
		"Bussiness": func(c *etree.Element, p string) { e.Bussiness = r.bussiness(c, p) },
	})
}

func (r *reader) bussiness(el *etree.Element, path string) *Bussiness {
	b := &Bussiness{}
	r.read(el, path, map[string]any{
		"DocumentId":         &b.DocumentID,
		"BussinessDocType":   (*string)(&b.BussinessDocType),
		"BussinessDocReason": &b.BussinessDocReason,
		"Paper":              &b.Paper,
		"StaffInfo": many(func(c *etree.Element, p string) {
			if s := r.staffInfo(c, indexed(p, len(b.StaffInfo)+1)); !s.isZero() {
				b.StaffInfo = append(b.StaffInfo, s)
			}
		}),
		"BussinessDocumentInfo": func(c *etree.Element, p string) { b.DocumentInfo = r.documentInfo(c, p) },
		"ReplacementInfoList": func(c *etree.Element, p string) {
			r.read(c, p, map[string]any{"ReplacementInfo": many(func(cc *etree.Element, pp string) {
				ip := indexed(pp, len(b.Replacements)+1)
				var ri ReplacementInfo
				r.read(cc, ip, map[string]any{
					"DocumentId":  &ri.DocumentID,
					"OrganIdList": func(x *etree.Element, xp string) { ri.OrganIDList = r.texts(x, xp, "OrganId") },
				})
				b.Replacements = append(b.Replacements, ri)
			})})
		},
	})
	return b
}

func (r *reader) documentInfo(el *etree.Element, path string) *BussinessDocumentInfo {
	d := &BussinessDocumentInfo{}
	r.read(el, path, map[string]any{
		"DocumentInfo":     &d.DocumentInfo,
		"DocumentReceiver": &d.DocumentReceiver,
		"ReceiverList": func(c *etree.Element, p string) {
			r.read(c, p, map[string]any{"Receiver": many(func(cc *etree.Element, pp string) {
				var rc Receiver
				r.read(cc, indexed(pp, len(d.ReceiverList)+1), map[string]any{"OrganId": &rc.OrganID, "ReceiverType": &rc.ReceiverType})
				d.ReceiverList = append(d.ReceiverList, rc)
			})})
		},
	})
	return d
}

func (r *reader) body(e *Edoc, el *etree.Element) {
	r.read(el, "edXMLBody", map[string]any{
		"edXMLManifest": func(c *etree.Element, p string) {
			r.read(c, p, map[string]any{"Reference": many(func(cc *etree.Element, pp string) {
				var ref Reference
				r.read(cc, indexed(pp, len(e.Manifest)+1), map[string]any{
					"ContentId":      &ref.ContentID,
					"ContentType":    &ref.ContentType,
					"Description":    &ref.Description,
					"AttachmentName": &ref.AttachmentName,
				})
				e.Manifest = append(e.Manifest, ref)
			})})
		},
	})
}

func (r *reader) attachments(e *Edoc, el *etree.Element) {
	r.read(el, "AttachmentEncoded", map[string]any{"Attachment": many(func(c *etree.Element, p string) {
		ip := indexed(p, len(e.Attachments)+1)
		var a Attachment
		var encoded string
		r.read(c, ip, map[string]any{
			"ContentId":              &a.ContentID,
			"AttachmentName":         &a.Name,
			"Description":            &a.Description,
			"ContentType":            &a.ContentType,
			"ContentTransferEncoded": func(c *etree.Element, p string) { encoded = r.rawText(c, p) },
		})
		var err error
		if len(encoded) > lazyMin {
			// Not decoded into bytes, which nothing on the way
			// needs: see content.go.
			a.encoded, err = summarize(encoded, decodeWindow)
		} else {
			a.Data, err = decodeBase64(encoded)
		}
		if err != nil {
			a.DecodeError = "ContentTransferEncoded is not base64: " + err.Error()
			a.Undecoded = encoded
			if len(encoded) <= lazyMin {
				// A large one is kept as a large valid one is:
				// not copied (see Attachment.Data).
				a.Undecoded = strings.Clone(encoded)
			}
			r.warn(ip+"/ContentTransferEncoded", "attachment-decode",
				"Nội dung tệp đính kèm không phải base64; không giải mã được",
				"the attachment's content is not base64 and cannot be decoded: "+err.Error())
		}
		e.Attachments = append(e.Attachments, a)
	})})
}

// unprefixedAttr returns the value of el's attribute key written without
// a prefix, as the verifier reads it (signing's attrValue):
// SelectAttrValue would take the first of x:Algorithm, xmlns:Algorithm
// and Algorithm, and the description would then name an algorithm the
// verifier never used.
func unprefixedAttr(el *etree.Element, key string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

func (r *reader) signature(pkt *Packet, el *etree.Element) {
	const path = "Signature"
	if pkt.Signature != nil {
		r.warn(path, "multiple-signatures", "Gói tin có nhiều hơn một chữ ký số (Signature)",
			"the packet carries more than one Signature; only the first is described")
		return
	}
	si := &SignatureInfo{Namespace: el.NamespaceURI()}
	if si.Namespace != XMLDSigNamespace {
		r.warn(path, "signature-namespace",
			"Phần tử Signature không khai báo không gian tên XML-DSig",
			fmt.Sprintf("the Signature is not in the XML-DSig namespace (it is in %q)", si.Namespace))
	}
	algorithm := func(p string) string {
		if e := el.FindElement(p); e != nil {
			return unprefixedAttr(e, "Algorithm")
		}
		return ""
	}
	si.CanonicalizationMethod = algorithm("SignedInfo/CanonicalizationMethod")
	si.SignatureMethod = algorithm("SignedInfo/SignatureMethod")
	si.DigestMethod = algorithm("SignedInfo/Reference/DigestMethod")
	if e := el.FindElement("KeyInfo/X509Data/X509SubjectName"); e != nil {
		// Cloned, as text is: the tree may share it with the input.
		si.SubjectName = strings.Clone(strings.TrimSpace(e.Text()))
	}
	for _, e := range el.FindElements("KeyInfo/X509Data/X509Certificate") {
		si.Certificates = append(si.Certificates, strings.Clone(strings.Join(strings.Fields(e.Text()), "")))
	}
	pkt.Signature = si
}

func (r *reader) status(el *etree.Element) *Status {
	const path = "MessageHeader"
	s := &Status{}
	r.read(el, path, map[string]any{
		"From":        func(c *etree.Element, p string) { s.From = r.organization(c, p) },
		"ResponseFor": func(c *etree.Element, p string) { s.ResponseFor = r.responseFor(c, p) },
		"StaffInfo":   func(c *etree.Element, p string) { s.StaffInfo = r.staffInfo(c, p) },
		"StatusCode":  (*string)(&s.StatusCode),
		"Description": &s.Description,
		"Timestamp":   (*string)(&s.Timestamp),
	})
	if code, err := ParseStatusCode(string(s.StatusCode)); err == nil && code != s.StatusCode {
		r.warn(path+"/StatusCode", "status-code",
			fmt.Sprintf("Mã trạng thái %q được hiểu là %q", s.StatusCode, code),
			fmt.Sprintf("status code %q read as %q", s.StatusCode, code))
		s.StatusCode = code
	}
	return s
}
