package envelope

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// FromTree reads a packet from the root element of an edXML tree, as
// returned by [Parser.ReadTree] or by signature verification. Element order
// is not enforced, unknown elements are kept as [Extra] values, and every
// tolerance is reported as a [Warning]. It fails only when the tree is not
// an edXML packet at all.
func FromTree(root *etree.Element) (*Packet, []Warning, error) {
	if root == nil {
		return nil, nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	r := &reader{}
	if root.Tag != "edXML" {
		return nil, nil, fmt.Errorf("%w: the root element is <%s>, not <edXML>", ErrMalformed, root.FullTag())
	}
	r.checkNamespace(root, "edXML")
	pkt := &Packet{}
	var envelope *etree.Element
	for _, el := range root.ChildElements() {
		switch el.Tag {
		case "edXMLEnvelope":
			if r.first(&envelope, el, "edXMLEnvelope") {
				r.checkNamespace(el, "edXMLEnvelope")
			}
		case "AttachmentEncoded":
			r.checkNamespace(el, "AttachmentEncoded")
			pkt.Edoc = r.edoc(pkt.Edoc)
			r.attachments(pkt.Edoc, el)
		default:
			r.extra(el, "edXML/"+el.Tag)
		}
	}
	if envelope == nil {
		return nil, r.warns, fmt.Errorf("%w: no edXMLEnvelope element", ErrMalformed)
	}
	var header, body *etree.Element
	for _, el := range envelope.ChildElements() {
		switch el.Tag {
		case "edXMLHeader":
			r.first(&header, el, "edXMLHeader")
		case "edXMLBody":
			r.first(&body, el, "edXMLBody")
		default:
			r.extra(el, "edXMLEnvelope/"+el.Tag)
		}
	}
	if header == nil {
		return nil, r.warns, fmt.Errorf("%w: no edXMLHeader element", ErrMalformed)
	}
	var msg, trace *etree.Element
	for _, el := range header.ChildElements() {
		switch el.Tag {
		case "MessageHeader":
			r.first(&msg, el, "MessageHeader")
		case "TraceHeaderList":
			r.first(&trace, el, "TraceHeaderList")
		case "Signature":
			r.signature(pkt, el)
		default:
			r.extra(el, "edXMLHeader/"+el.Tag)
		}
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
	pkt.Extras = r.extras
	return pkt, r.warns, nil
}

// reader walks an edXML tree, collecting warnings and extras.
type reader struct {
	warns  []Warning
	extras []Extra
}

func (r *reader) warn(path, code, vi, en string) {
	r.warns = append(r.warns, Warning{Path: path, Code: code, MessageVI: vi, MessageEN: en})
}

// checkNamespace warns about an element outside the edXML namespace.
func (r *reader) checkNamespace(el *etree.Element, path string) {
	switch ns := el.NamespaceURI(); {
	case ns == Namespace:
	case ns == "" && el.Space != "":
		r.warn(path, "undeclared-prefix",
			fmt.Sprintf("Tiền tố %q chưa được khai báo", el.Space),
			fmt.Sprintf("prefix %q is used without a namespace declaration", el.Space))
	default:
		r.warn(path, "namespace",
			fmt.Sprintf("Phần tử không thuộc không gian tên edXML (%q)", ns),
			fmt.Sprintf("element is not in the edXML namespace (%q)", ns))
	}
}

// first stores el in *dst unless one was already found; a repeat is warned
// about and ignored.
func (r *reader) first(dst **etree.Element, el *etree.Element, path string) bool {
	if *dst != nil {
		r.warn(path, "repeated-element", "Phần tử lặp lại; chỉ dùng phần tử đầu tiên",
			"element repeated; only the first is used")
		return false
	}
	*dst = el
	return true
}

// extra keeps an unknown element.
func (r *reader) extra(el *etree.Element, path string) {
	doc := etree.NewDocumentWithRoot(el.Copy())
	doc.WriteSettings.CanonicalEndTags = true
	s, err := doc.WriteToString()
	if err != nil {
		s = ""
	}
	r.extras = append(r.extras, Extra{Path: path, XML: s})
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
// a leaf are kept as extras.
func (r *reader) text(el *etree.Element, path string) string {
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

// leaf sets *dst from a leaf element; a repeated leaf is warned about and
// ignored.
func (r *reader) leaf(dst *string, seen map[string]bool, el *etree.Element, path string) {
	if seen[el.Tag] {
		r.warn(path, "repeated-element", "Phần tử lặp lại; chỉ dùng phần tử đầu tiên",
			"element repeated; only the first is used")
		return
	}
	seen[el.Tag] = true
	*dst = r.text(el, path)
}

// indexed returns path[i] with i counting from 1, as XPath does.
func indexed(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func (r *reader) organization(el *etree.Element, path string) Organization {
	var o Organization
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "OrganId":
			r.leaf(&o.OrganID, seen, c, p)
		case "OrganizationInCharge":
			r.leaf(&o.OrganizationInCharge, seen, c, p)
		case "OrganName":
			r.leaf(&o.OrganName, seen, c, p)
		case "OrganAdd":
			r.leaf(&o.OrganAdd, seen, c, p)
		case "Email":
			r.leaf(&o.Email, seen, c, p)
		case "Telephone":
			r.leaf(&o.Telephone, seen, c, p)
		case "Fax":
			r.leaf(&o.Fax, seen, c, p)
		case "Website":
			r.leaf(&o.Website, seen, c, p)
		default:
			r.extra(c, p)
		}
	}
	return o
}

func (r *reader) messageHeader(el *etree.Element) MessageHeader {
	const path = "MessageHeader"
	var h MessageHeader
	seen := map[string]bool{}
	var from *etree.Element
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "From":
			if r.first(&from, c, p) {
				h.From = r.organization(c, p)
			}
		case "To":
			h.To = append(h.To, r.organization(c, indexed(p, len(h.To)+1)))
		case "Code":
			if !r.once(seen, c, p) {
				continue
			}
			sub := map[string]bool{}
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				switch cc.Tag {
				case "CodeNumber":
					r.leaf(&h.Code.Number, sub, cc, pp)
				case "CodeNotation":
					r.leaf(&h.Code.Notation, sub, cc, pp)
				default:
					r.extra(cc, pp)
				}
			}
		case "PromulgationInfo":
			if !r.once(seen, c, p) {
				continue
			}
			sub := map[string]bool{}
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				switch cc.Tag {
				case "Place":
					r.leaf(&h.Promulgation.Place, sub, cc, pp)
				case "PromulgationDate":
					r.leaf((*string)(&h.Promulgation.Date), sub, cc, pp)
				default:
					r.extra(cc, pp)
				}
			}
		case "DocumentType":
			if !r.once(seen, c, p) {
				continue
			}
			sub := map[string]bool{}
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				switch cc.Tag {
				case "Type":
					r.leaf(&h.DocumentType.Type, sub, cc, pp)
				case "TypeDetail":
					r.leaf(&h.DocumentType.TypeDetail, sub, cc, pp)
				case "TypeName":
					r.leaf(&h.DocumentType.TypeName, sub, cc, pp)
				default:
					r.extra(cc, pp)
				}
			}
		case "Subject":
			r.leaf(&h.Subject, seen, c, p)
		case "Content":
			r.leaf(&h.Content, seen, c, p)
		case "SignerInfo":
			if !r.once(seen, c, p) {
				continue
			}
			sub := map[string]bool{}
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				switch cc.Tag {
				case "Competence":
					r.leaf(&h.SignerInfo.Competence, sub, cc, pp)
				case "Position":
					r.leaf(&h.SignerInfo.Position, sub, cc, pp)
				case "FullName":
					r.leaf(&h.SignerInfo.FullName, sub, cc, pp)
				default:
					r.extra(cc, pp)
				}
			}
		case "DueDate":
			r.leaf((*string)(&h.DueDate), seen, c, p)
		case "ToPlaces":
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				if cc.Tag != "Place" {
					r.extra(cc, pp)
					continue
				}
				if s := r.text(cc, pp); s != "" {
					h.ToPlaces = append(h.ToPlaces, s)
				}
			}
		case "OtherInfo":
			if r.once(seen, c, p) {
				h.OtherInfo = r.otherInfo(c, p)
			}
		case "ResponseFor":
			rf := r.responseFor(c, indexed(p, len(h.ResponseFor)+1))
			if rf.isZero() {
				r.warn(p, "empty-element", "Bỏ qua phần tử ResponseFor rỗng", "ignored an empty ResponseFor")
				continue
			}
			h.ResponseFor = append(h.ResponseFor, rf)
		case "SteeringType":
			r.leaf((*string)(&h.SteeringType), seen, c, p)
		case "DocumentId":
			r.leaf(&h.DocumentID, seen, c, p)
		default:
			r.extra(c, p)
		}
	}
	return h
}

// once marks a container element as seen; a repeat is warned about and
// must be skipped.
func (r *reader) once(seen map[string]bool, el *etree.Element, path string) bool {
	if seen[el.Tag] {
		r.warn(path, "repeated-element", "Phần tử lặp lại; chỉ dùng phần tử đầu tiên",
			"element repeated; only the first is used")
		return false
	}
	seen[el.Tag] = true
	return true
}

func (r *reader) otherInfo(el *etree.Element, path string) OtherInfo {
	var o OtherInfo
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "Priority":
			r.leaf((*string)(&o.Priority), seen, c, p)
		case "SphereOfPromulgation":
			r.leaf(&o.SphereOfPromulgation, seen, c, p)
		case "TyperNotation":
			r.leaf(&o.TyperNotation, seen, c, p)
		case "PromulgationAmount":
			r.leaf(&o.PromulgationAmount, seen, c, p)
		case "PageAmount":
			r.leaf(&o.PageAmount, seen, c, p)
		case "Appendixes":
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				if cc.Tag != "Appendix" {
					r.extra(cc, pp)
					continue
				}
				if s := r.text(cc, pp); s != "" {
					o.Appendixes = append(o.Appendixes, s)
				}
			}
		default:
			r.extra(c, p)
		}
	}
	return o
}

func (r *reader) responseFor(el *etree.Element, path string) ResponseFor {
	var rf ResponseFor
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "OrganId":
			r.leaf(&rf.OrganID, seen, c, p)
		case "Code":
			r.leaf(&rf.Code, seen, c, p)
		case "PromulgationDate":
			r.leaf((*string)(&rf.PromulgationDate), seen, c, p)
		case "DocumentId":
			r.leaf(&rf.DocumentID, seen, c, p)
		default:
			r.extra(c, p)
		}
	}
	return rf
}

func (r *reader) staffInfo(el *etree.Element, path string) StaffInfo {
	var s StaffInfo
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "Department":
			r.leaf(&s.Department, seen, c, p)
		case "Staff":
			r.leaf(&s.Staff, seen, c, p)
		case "Mobile":
			r.leaf(&s.Mobile, seen, c, p)
		case "Email":
			r.leaf(&s.Email, seen, c, p)
		default:
			r.extra(c, p)
		}
	}
	return s
}

func (r *reader) traceList(e *Edoc, el *etree.Element) {
	const path = "TraceHeaderList"
	var bussiness *etree.Element
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "TraceHeader":
			ip := indexed(p, len(e.Trace)+1)
			var th TraceHeader
			seen := map[string]bool{}
			for _, cc := range c.ChildElements() {
				pp := ip + "/" + cc.Tag
				switch cc.Tag {
				case "OrganId":
					r.leaf(&th.OrganID, seen, cc, pp)
				case "Timestamp":
					r.leaf((*string)(&th.Timestamp), seen, cc, pp)
				default:
					r.extra(cc, pp)
				}
			}
			e.Trace = append(e.Trace, th)
		case "Bussiness":
			if r.first(&bussiness, c, p) {
				e.Bussiness = r.bussiness(c, p)
			}
		default:
			r.extra(c, p)
		}
	}
}

func (r *reader) bussiness(el *etree.Element, path string) *Bussiness {
	b := &Bussiness{}
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "DocumentId":
			r.leaf(&b.DocumentID, seen, c, p)
		case "BussinessDocType":
			r.leaf((*string)(&b.BussinessDocType), seen, c, p)
		case "BussinessDocReason":
			r.leaf(&b.BussinessDocReason, seen, c, p)
		case "Paper":
			r.leaf(&b.Paper, seen, c, p)
		case "StaffInfo":
			if s := r.staffInfo(c, indexed(p, len(b.StaffInfo)+1)); !s.isZero() {
				b.StaffInfo = append(b.StaffInfo, s)
			}
		case "BussinessDocumentInfo":
			if r.once(seen, c, p) {
				b.DocumentInfo = r.documentInfo(c, p)
			}
		case "ReplacementInfoList":
			if !r.once(seen, c, p) {
				continue
			}
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				if cc.Tag != "ReplacementInfo" {
					r.extra(cc, pp)
					continue
				}
				b.Replacements = append(b.Replacements, r.replacement(cc, indexed(pp, len(b.Replacements)+1)))
			}
		default:
			r.extra(c, p)
		}
	}
	return b
}

func (r *reader) documentInfo(el *etree.Element, path string) *BussinessDocumentInfo {
	d := &BussinessDocumentInfo{}
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "DocumentInfo":
			r.leaf(&d.DocumentInfo, seen, c, p)
		case "DocumentReceiver":
			r.leaf(&d.DocumentReceiver, seen, c, p)
		case "ReceiverList":
			if !r.once(seen, c, p) {
				continue
			}
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				if cc.Tag != "Receiver" {
					r.extra(cc, pp)
					continue
				}
				ip := indexed(pp, len(d.ReceiverList)+1)
				var rc Receiver
				sub := map[string]bool{}
				for _, x := range cc.ChildElements() {
					xp := ip + "/" + x.Tag
					switch x.Tag {
					case "OrganId":
						r.leaf(&rc.OrganID, sub, x, xp)
					case "ReceiverType":
						r.leaf(&rc.ReceiverType, sub, x, xp)
					default:
						r.extra(x, xp)
					}
				}
				d.ReceiverList = append(d.ReceiverList, rc)
			}
		default:
			r.extra(c, p)
		}
	}
	return d
}

func (r *reader) replacement(el *etree.Element, path string) ReplacementInfo {
	var ri ReplacementInfo
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "DocumentId":
			r.leaf(&ri.DocumentID, seen, c, p)
		case "OrganIdList":
			for _, cc := range c.ChildElements() {
				pp := p + "/" + cc.Tag
				if cc.Tag != "OrganId" {
					r.extra(cc, pp)
					continue
				}
				if s := r.text(cc, pp); s != "" {
					ri.OrganIDList = append(ri.OrganIDList, s)
				}
			}
		default:
			r.extra(c, p)
		}
	}
	return ri
}

func (r *reader) body(e *Edoc, el *etree.Element) {
	const path = "edXMLBody"
	var manifest *etree.Element
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		if c.Tag != "edXMLManifest" {
			r.extra(c, p)
			continue
		}
		if !r.first(&manifest, c, p) {
			continue
		}
		for _, cc := range c.ChildElements() {
			pp := p + "/" + cc.Tag
			if cc.Tag != "Reference" {
				r.extra(cc, pp)
				continue
			}
			ip := indexed(pp, len(e.Manifest)+1)
			var ref Reference
			seen := map[string]bool{}
			for _, x := range cc.ChildElements() {
				xp := ip + "/" + x.Tag
				switch x.Tag {
				case "ContentId":
					r.leaf(&ref.ContentID, seen, x, xp)
				case "ContentType":
					r.leaf(&ref.ContentType, seen, x, xp)
				case "Description":
					r.leaf(&ref.Description, seen, x, xp)
				case "AttachmentName":
					r.leaf(&ref.AttachmentName, seen, x, xp)
				default:
					r.extra(x, xp)
				}
			}
			e.Manifest = append(e.Manifest, ref)
		}
	}
}

func (r *reader) attachments(e *Edoc, el *etree.Element) {
	const path = "AttachmentEncoded"
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		if c.Tag != "Attachment" {
			r.extra(c, p)
			continue
		}
		ip := indexed(p, len(e.Attachments)+1)
		var a Attachment
		var encoded string
		seen := map[string]bool{}
		for _, x := range c.ChildElements() {
			xp := ip + "/" + x.Tag
			switch x.Tag {
			case "ContentId":
				r.leaf(&a.ContentID, seen, x, xp)
			case "AttachmentName":
				r.leaf(&a.Name, seen, x, xp)
			case "Description":
				r.leaf(&a.Description, seen, x, xp)
			case "ContentType":
				r.leaf(&a.ContentType, seen, x, xp)
			case "ContentTransferEncoded":
				r.leaf(&encoded, seen, x, xp)
			default:
				r.extra(x, xp)
			}
		}
		data, err := decodeBase64(encoded)
		if err != nil {
			a.DecodeError = "ContentTransferEncoded is not base64: " + err.Error()
			a.Undecoded = encoded
			r.warn(ip+"/ContentTransferEncoded", "attachment-decode",
				"Nội dung tệp đính kèm không phải base64; không giải mã được",
				"the attachment's content is not base64 and cannot be decoded: "+err.Error())
		} else {
			a.Data = data
		}
		e.Attachments = append(e.Attachments, a)
	}
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
			return e.SelectAttrValue("Algorithm", "")
		}
		return ""
	}
	si.CanonicalizationMethod = algorithm("SignedInfo/CanonicalizationMethod")
	si.SignatureMethod = algorithm("SignedInfo/SignatureMethod")
	si.DigestMethod = algorithm("SignedInfo/Reference/DigestMethod")
	if e := el.FindElement("KeyInfo/X509Data/X509SubjectName"); e != nil {
		si.SubjectName = strings.TrimSpace(e.Text())
	}
	for _, e := range el.FindElements("KeyInfo/X509Data/X509Certificate") {
		si.Certificates = append(si.Certificates, strings.Join(strings.Fields(e.Text()), ""))
	}
	pkt.Signature = si
}

func (r *reader) status(el *etree.Element) *Status {
	const path = "MessageHeader"
	s := &Status{}
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		p := path + "/" + c.Tag
		switch c.Tag {
		case "From":
			if r.once(seen, c, p) {
				s.From = r.organization(c, p)
			}
		case "ResponseFor":
			if r.once(seen, c, p) {
				s.ResponseFor = r.responseFor(c, p)
			}
		case "StaffInfo":
			if r.once(seen, c, p) {
				s.StaffInfo = r.staffInfo(c, p)
			}
		case "StatusCode":
			r.leaf((*string)(&s.StatusCode), seen, c, p)
		case "Description":
			r.leaf(&s.Description, seen, c, p)
		case "Timestamp":
			r.leaf((*string)(&s.Timestamp), seen, c, p)
		default:
			r.extra(c, p)
		}
	}
	if code, err := ParseStatusCode(string(s.StatusCode)); err == nil && code != s.StatusCode {
		r.warn(path+"/StatusCode", "status-code",
			fmt.Sprintf("Mã trạng thái %q được hiểu là %q", s.StatusCode, code),
			fmt.Sprintf("status code %q read as %q", s.StatusCode, code))
		s.StatusCode = code
	}
	return s
}
