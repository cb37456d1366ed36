package signing

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1, for the legacy policy only
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Legacy algorithm identifiers, accepted only under Policy.AllowSHA1.
const (
	AlgRSASHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	AlgSHA1    = "http://www.w3.org/2000/09/xmldsig#sha1"
	AlgC14N10  = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	AlgC14N11  = "http://www.w3.org/2006/12/xml-c14n11"
)

// signatureHashes and digestHashes map XML-DSig algorithm identifiers to
// hashes. Whether an algorithm is allowed is decided in checkShape.
var (
	signatureHashes = map[string]crypto.Hash{
		AlgRSASHA1:   crypto.SHA1,
		AlgRSASHA256: crypto.SHA256,
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": crypto.SHA384,
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": crypto.SHA512,
	}
	digestHashes = map[string]crypto.Hash{
		AlgSHA1:   crypto.SHA1,
		AlgSHA256: crypto.SHA256,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
		"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
	}
)

// checkSignature is XML-DSig core validation of sig, an enveloped signature
// over the whole document whose element is root, with pub: reference
// validation (the document without the Signature, transformed and
// canonicalised, hashed, compared with DigestValue), then signature
// validation (SignedInfo canonicalised, its hash checked against
// SignatureValue). checkShape has already checked sig's shape and
// algorithms, and shape is what it read: nothing that decides how the
// signature is checked is read from SignedInfo here, since canonicalising
// it changes it.
//
// It returns the tree that was digested: root itself, with sig removed and,
// under exclusive canonicalisation, namespace declarations moved where the
// canonical form puts them. The caller reads the packet from that tree only,
// so nothing outside what was signed can reach it.
//
// It is written here rather than taken from goxmldsig's ValidationContext
// for four reasons. goxmldsig v1.6.1 looks for the Signature with a
// traversal budget of 1000 elements, so a genuine packet with a long trace
// list or receiver list would be judged invalid. It verifies with
// x509.Certificate.CheckSignature, which refuses SHA-1 outright, so a legacy
// policy cannot be honoured. It checks certificate validity with its own
// clock, which the verifier already did at its own time. And it re-parses
// the canonical bytes of the whole packet to return a tree, which made a
// 2 MB packet cost 75 ms. goxmldsig's inclusive canonicalisers are still
// used, on copies where they would change the tree the caller keeps; its
// exclusive one is redone in excc14n.go, byte for byte, at a fraction of
// the cost.
func checkSignature(root, sig *etree.Element, shape signedInfoShape, pub *rsa.PublicKey) (*etree.Element, error) {
	// A map lookup of an algorithm checkShape did not allow in that place
	// would give crypto.Hash(0), whose New panics: fail closed instead.
	digestHash, err := hashOf(digestHashes, shape.digest)
	if err != nil {
		return nil, fmt.Errorf("DigestMethod: %w", err)
	}
	signatureHash, err := hashOf(signatureHashes, shape.signature)
	if err != nil {
		return nil, fmt.Errorf("SignatureMethod: %w", err)
	}
	si := sig.SelectElement("SignedInfo")
	digestValue, err := decodeBase64Text(si.SelectElement("Reference").SelectElement("DigestValue"))
	if err != nil {
		return nil, fmt.Errorf("DigestValue: %w", err)
	}
	signatureValue, err := decodeBase64Text(sig.SelectElement("SignatureValue"))
	if err != nil {
		return nil, fmt.Errorf("SignatureValue: %w", err)
	}
	signedInfo, err := canonicalSignedInfo(si, shape.c14n, shape.c14nPrefixes)
	if err != nil {
		return nil, fmt.Errorf("canonicalise SignedInfo: %w", err)
	}
	// From here on SignedInfo may be in canonical form, its attributes
	// sorted: nothing more is read from it.

	// Reference validation. URI="" is the whole document without comments;
	// the enveloped-signature transform removes sig; the Reference's
	// canonicalisation gives the octets.
	sig.Parent().RemoveChild(sig)
	d := digestHash.New()
	if err := digestCanonical(d, root, shape.transform, shape.transformPrefixes); err != nil {
		return nil, fmt.Errorf("canonicalise the packet: %w", err)
	}
	if !bytes.Equal(d.Sum(nil), digestValue) {
		return nil, errDigestMismatch
	}

	// Signature validation.
	d = signatureHash.New()
	d.Write(signedInfo)
	if err := rsa.VerifyPKCS1v15(pub, signatureHash, d.Sum(nil), signatureValue); err != nil {
		return nil, errSignatureMismatch
	}
	return root, nil
}

// hashOf returns the hash hashes maps alg to, failing for an algorithm it
// does not map or a hash not linked into the binary.
func hashOf(hashes map[string]crypto.Hash, alg string) (crypto.Hash, error) {
	h, ok := hashes[alg]
	if !ok || !h.Available() {
		return 0, fmt.Errorf("no hash for algorithm %q", alg)
	}
	return h, nil
}

// canonicalSignedInfo returns the canonical octets of si under alg (with
// the InclusiveNamespaces prefix list prefixes, for exclusive
// canonicalisation), in its context: the namespaces declared on its
// ancestors count as in scope. Under exclusive canonicalisation it changes
// si and its descendants in place (namespace declarations replaced,
// attributes sorted, comments removed), so the caller must have read all
// it needs from them before; checkSignature then removes them from the
// packet's tree with the Signature.
func canonicalSignedInfo(si *etree.Element, alg, prefixes string) ([]byte, error) {
	switch alg {
	case AlgC14N10:
		// goxmldsig's C14N 1.0 copies the element and adds what its
		// ancestors declare (namespaces and xml: attributes) itself.
		return dsig.MakeC14N10RecCanonicalizer().Canonicalize(si)
	case AlgC14N11:
		// It canonicalises a detached copy carrying every namespace in
		// scope.
		ctx, err := etreeutils.NSBuildParentContext(si)
		if err != nil {
			return nil, err
		}
		detached, err := etreeutils.NSDetatch(ctx, si)
		if err != nil {
			return nil, err
		}
		return dsig.MakeC14N11Canonicalizer().Canonicalize(detached)
	case AlgExcC14N:
		// What goxmldsig's NSBuildParentContext, NSDetatch and exclusive
		// canonicaliser do to a copy of si, done to si itself: copying
		// the namespace context once for each ancestor and the subtree
		// twice was a tenth of what verifying a status packet cost
		// beyond RSA.
		return excC14nInContext(si, prefixes)
	default:
		return nil, fmt.Errorf("no canonicaliser for %q", alg)
	}
}

// excC14nInContext returns the exclusive canonical form of el, the
// namespaces its ancestors declare in scope, changing el and its
// descendants: what etreeutils.NSBuildParentContext, NSDetatch and
// goxmldsig's exclusive canonicaliser return for a copy.
func excC14nInContext(el *etree.Element, prefixList string) ([]byte, error) {
	if err := detachInPlace(el); err != nil {
		return nil, err
	}
	if err := newExcC14n(prefixList).transform(el); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(1 << 10)
	writeCanonical(&b, el)
	return b.Bytes(), nil
}

// detachLimit is the most elements etreeutils.NSDetatch accepts in the
// subtree it detaches (NewDefaultNSContext's traversal limit).
const detachLimit = 1000

// detachInPlace does to el what etreeutils.NSDetatch does to a copy of
// it, with the context etreeutils.NSBuildParentContext builds for it, and
// fails where they fail: el's namespace declarations are replaced by one
// for every prefix in scope at el but xml and xmlns (and the default
// namespace when it is the XML namespace, as it is when nothing declares
// it), and its attributes sorted as etreeutils.SortedAttrs sorts them.
// TestExcC14nInContext_SameAsGoxmldsig holds excC14nInContext, which
// calls it, to the bytes goxmldsig's copy gives.
func detachInPlace(el *etree.Element) error {
	scope := map[string]string{"": xmlNamespace, "xml": xmlNamespace, "xmlns": xmlnsNamespace}
	declare := func(e *etree.Element) error {
		for _, a := range e.Attr {
			switch {
			case a.Space == "xmlns":
				if (a.Key == "xml" && a.Value != xmlNamespace) || a.Key == "xmlns" {
					return etreeutils.ErrReservedNamespace
				}
				scope[a.Key] = a.Value
			case a.Space == "" && a.Key == "xmlns":
				if a.Value == xmlnsNamespace {
					return etreeutils.ErrInvalidDefaultNamespace
				}
				scope[""] = a.Value
			}
		}
		return nil
	}
	var ancestors []*etree.Element
	for e := el.Parent(); e != nil; e = e.Parent() {
		ancestors = append(ancestors, e)
	}
	for i := len(ancestors) - 1; i >= 0; i-- {
		if err := declare(ancestors[i]); err != nil {
			return err
		}
	}
	budget := detachLimit
	if !withinElements(el, &budget) {
		return etreeutils.ErrTraversalLimit
	}
	if err := declare(el); err != nil {
		return err
	}
	attrs := make([]etree.Attr, 0, len(el.Attr)+len(scope))
	for _, a := range el.Attr {
		if a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") {
			attrs = append(attrs, a)
		}
	}
	for prefix, ns := range scope {
		switch {
		case prefix == "xml" || prefix == "xmlns" || (prefix == "" && ns == xmlNamespace):
		case prefix == "":
			attrs = append(attrs, etree.Attr{Key: "xmlns", Value: ns})
		default:
			attrs = append(attrs, etree.Attr{Space: "xmlns", Key: prefix, Value: ns})
		}
	}
	sort.Sort(etreeutils.SortedAttrs(attrs))
	el.Attr = attrs
	return nil
}

// withinElements reports whether el's subtree, el included, has at most
// *budget elements, spending the budget as it counts.
func withinElements(el *etree.Element, budget *int) bool {
	if *budget <= 0 {
		return false
	}
	*budget--
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && !withinElements(c, budget) {
			return false
		}
	}
	return true
}

// canonicalWrite writes etree elements in canonical form, as goxmldsig's
// canonicalisers do once they have prepared the tree.
var canonicalWrite = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}

// digestCanonical writes the canonical form of el under alg into h (a
// hash), with the InclusiveNamespaces prefix list prefixes for exclusive
// canonicalisation. Exclusive canonicalisation — what lienthong signs
// with — transforms el in place (excC14n) and streams it, so a 67 MB
// packet is never held a second time as canonical bytes; the inclusive
// forms, for legacy input, go through goxmldsig's canonicalisers, which
// work on a copy.
func digestCanonical(h io.Writer, el *etree.Element, alg, prefixes string) error {
	var c dsig.Canonicalizer
	switch alg {
	case AlgExcC14N:
		if err := newExcC14n(prefixes).transform(el); err != nil {
			return err
		}
		// A few hash blocks per write are enough to make the calls cheap;
		// a larger buffer was most of what verifying a 4 KB packet
		// allocated (4 KiB were still a seventh of it).
		w := bufio.NewWriterSize(h, 1<<10)
		writeCanonical(w, el)
		return w.Flush()
	case AlgC14N10:
		c = dsig.MakeC14N10RecCanonicalizer()
	case AlgC14N11:
		c = dsig.MakeC14N11Canonicalizer()
	default:
		return fmt.Errorf("no canonicaliser for %q", alg)
	}
	b, err := c.Canonicalize(el)
	if err != nil {
		return err
	}
	_, err = h.Write(b)
	return err
}

// inclusivePrefixes is the PrefixList of the InclusiveNamespaces child
// of a canonicalisation method (an element naming one), or "" when it has
// none; problem says why it cannot be read: more than one, which would
// leave readers to choose, or one outside exclusive C14N's namespace,
// which a reader matching namespaces would not see.
func inclusivePrefixes(method *etree.Element) (prefixes, problem string) {
	if method == nil {
		return "", ""
	}
	els, wrong := childrenIn(method, "InclusiveNamespaces", AlgExcC14N)
	switch {
	case wrong != "":
		return "", wrong
	case len(els) > 1:
		return "", fmt.Sprintf("%d InclusiveNamespaces; at most one is allowed", len(els))
	case len(els) == 1:
		prefixes, _ = attrValue(els[0], "PrefixList")
	}
	return prefixes, ""
}

func decodeBase64Text(el *etree.Element) ([]byte, error) {
	if el == nil {
		return nil, errors.New("missing")
	}
	b, err := decodeSpacedBase64(el.Text())
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	return b, nil
}

// decodeSpacedBase64 decodes standard base64 written with white space
// anywhere, as base64.StdEncoding.DecodeString decodes the text without
// what strings.Fields counts as space (unicode.IsSpace), but without
// making the fields and joining them.
func decodeSpacedBase64(s string) ([]byte, error) {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || (c <= ' ' && c != '\n' && c != '\r') {
			plain = false
			break
		}
	}
	if plain {
		// Base64 as it is written: lines ended by LF or CR LF, which
		// the decoder skips itself.
		return base64.StdEncoding.DecodeString(s)
	}
	text := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c != ' ' && (c < '\t' || c > '\r') {
				text = append(text, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			text = append(text, s[i:i+n]...)
		}
		i += n
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(out, text)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// declaredEncoding returns the encoding an XML declaration's text (what
// follows "<?xml") names, if it names one.
func declaredEncoding(inst string) (string, bool) {
	for rest := inst; ; {
		i := strings.Index(rest, "encoding")
		if i < 0 {
			return "", false
		}
		before, after := rest[:i], strings.TrimLeft(rest[i+len("encoding"):], " \t\r\n")
		rest = rest[i+len("encoding"):]
		if before != "" && !strings.ContainsAny(before[len(before)-1:], " \t\r\n") {
			continue // part of another name
		}
		if !strings.HasPrefix(after, "=") {
			continue
		}
		after = strings.TrimLeft(after[1:], " \t\r\n")
		if after == "" || (after[0] != '"' && after[0] != '\'') {
			return "", false
		}
		end := strings.IndexByte(after[1:], after[0])
		if end < 0 {
			return "", false
		}
		return after[1 : 1+end], true
	}
}

// documentProblem says what, outside doc's document element, would make
// other software read its bytes otherwise than a signature over the
// document element covers them; "" when nothing does. The parser reads a
// packet's bytes as UTF-8 whatever its XML declaration says, so a
// declaration of another encoding is refused; and it reads the first
// element, so further elements or text after it (not well-formed XML, and
// not signed) are refused too. So are processing instructions outside the
// document element (an xml-stylesheet changes how the packet is shown):
// URI="" covers them in XML-DSig, but lienthong digests the document
// element only.
func documentProblem(doc *etree.Document) (vi, en string) {
	elements := 0
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.ProcInst:
			if !strings.EqualFold(t.Target, "xml") {
				return "Gói tin có chỉ dẫn xử lý <?" + t.Target + "?> nằm ngoài phần tử gốc",
					fmt.Sprintf("the packet has a processing instruction <?%s?> outside its document element", t.Target)
			}
			if enc, ok := declaredEncoding(t.Inst); ok {
				if !strings.EqualFold(enc, "UTF-8") && !strings.EqualFold(enc, "UTF8") {
					return fmt.Sprintf("Gói tin khai báo bảng mã %q; chỉ chấp nhận UTF-8", enc),
						fmt.Sprintf("the packet declares the encoding %q; only UTF-8 is accepted, as what is signed is its bytes read as UTF-8", enc)
				}
			}
		case *etree.Element:
			if elements++; elements > 1 {
				return "Gói tin có phần tử nằm ngoài phần tử gốc " + doc.Root().Tag,
					fmt.Sprintf("the packet has an element <%s> after its document element", t.FullTag())
			}
		case *etree.CharData:
			if strings.Trim(t.Data, " \t\r\n") != "" {
				return "Gói tin có nội dung nằm ngoài phần tử gốc " + doc.Root().Tag,
					"the packet has text outside its document element"
			}
		}
	}
	return "", ""
}
