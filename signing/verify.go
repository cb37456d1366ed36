package signing

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"

	"github.com/lienthong/lienthong/envelope"
)

// Outcome is what verifying a packet's signature concluded.
type Outcome string

// The outcomes. Only [Valid] means the packet is signed, intact, by a
// trusted certificate registered for its sender.
const (
	Valid         Outcome = "valid"
	Invalid       Outcome = "invalid"        // digest or signature mismatch: the packet was changed
	Untrusted     Outcome = "untrusted"      // no chain to a configured CA, or the wrong key usage
	Expired       Outcome = "expired"        // the certificate is expired or not yet valid
	Revoked       Outcome = "revoked"        // the certificate is on its CA's revocation list
	WeakAlgorithm Outcome = "weak-algorithm" // an algorithm or key size the policy does not allow
	Missing       Outcome = "missing"        // no Signature
	NotBound      Outcome = "not-bound"      // the certificate is not registered for the sender
	Malformed     Outcome = "malformed"      // a Signature that cannot be checked, or a packet that cannot be read
)

// Label says the outcome in a few Vietnamese words, for clerks and
// printed summaries; an unknown outcome is named as it is.
func (o Outcome) Label() string {
	switch o {
	case Valid:
		return "Chữ ký số hợp lệ"
	case Invalid:
		return "Chữ ký số không hợp lệ: nội dung đã bị thay đổi sau khi ký"
	case Untrusted:
		return "Chứng thư số không do tổ chức được tin cậy cấp"
	case Expired:
		return "Chứng thư số đã hết hạn hoặc chưa có hiệu lực"
	case Revoked:
		return "Chứng thư số đã bị thu hồi"
	case WeakAlgorithm:
		return "Thuật toán ký đã lỗi thời, không được chấp nhận"
	case Missing:
		return "Văn bản không có chữ ký số"
	case NotBound:
		return "Chữ ký số không phải của cơ quan gửi"
	case Malformed:
		return "Chữ ký số sai cấu trúc"
	case "":
		return "Chưa kiểm tra chữ ký số"
	}
	return "Kết quả kiểm tra chữ ký: " + string(o)
}

// Verdict is the outcome of verifying one packet's signature, with what a
// clerk, an operator and the statistics need to know about it.
type Verdict struct {
	Outcome Outcome `json:"outcome"`
	// Subject and Fingerprint (SHA-256 of the DER, hex) name the signer
	// certificate, when one could be read.
	Subject     string `json:"subject,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	ReasonVI    string `json:"reasonVi"`
	ReasonEN    string `json:"reasonEn"`
	// Legacy says that the signature used SHA-1 and was accepted only
	// because the verifier's Policy allows it.
	Legacy bool `json:"legacy,omitempty"`
	// Cause is the sentinel behind any outcome but valid.
	Cause error `json:"-"`
	// Certificate is the signer certificate, when one could be read.
	Certificate *x509.Certificate `json:"-"`
	// Packet is read from the tree that signature verification returned,
	// never from the received bytes. It is set when the signature itself
	// verified (valid and not-bound).
	Packet *envelope.Packet `json:"-"`
}

// Directory says which certificates may sign for an agency. A Directory
// that is also a [CertificateRegistry] is asked that instead: Verify then
// never calls its SigningCertificates.
type Directory interface {
	// SigningCertificates returns the certificates registered for agency
	// (its code as the packet's From/OrganId gives it) and for the gateway
	// that hosts it. No certificates and a nil error mean "none registered".
	SigningCertificates(ctx context.Context, agency string) ([]*x509.Certificate, error)
}

// CertificateRegistry is what a Directory may also do: say whether one
// certificate is registered to sign for an agency, rather than hand over
// the agency's certificates for the verifier to compare. A gateway's
// directory holds 111,000 agencies, and so keeps of their certificates
// only the SHA-256 of the DER (32 bytes where the DER is about 1 KB and a
// parsed certificate three times that): it can answer this question,
// without parsing anything, but not give the certificates back.
//
// The answer must be the one SigningCertificates would give followed by a
// comparison of DER: cert is registered if its exact DER (cert.Raw) is.
type CertificateRegistry interface {
	// HasSigningCertificate reports whether cert is registered to sign
	// for agency (its code as the packet's From/OrganId gives it), or for
	// the gateway that hosts it. An error is a fault of the registry, not
	// a "no".
	HasSigningCertificate(ctx context.Context, agency string, cert *x509.Certificate) (bool, error)
}

// CurrentCoder is what a Directory may also do: tell the code an agency
// has now for a code it had before (the 2025 reform gave many agencies new
// codes, and their documents still carry the old ones). A certificate
// naming the agency's current code then signs for its former codes too.
type CurrentCoder interface {
	CurrentCode(code string) (string, bool)
}

// StaticDirectory is a Directory held in memory, keyed by the agency code's
// NATS tokens so that both code forms find the same entry.
type StaticDirectory map[string][]*x509.Certificate

// Register adds certificates for an agency.
func (d StaticDirectory) Register(agency string, certs ...*x509.Certificate) error {
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		return fmt.Errorf("signing: register: %w", err)
	}
	d[code.Tokens()] = append(d[code.Tokens()], certs...)
	return nil
}

// SigningCertificates implements [Directory].
func (d StaticDirectory) SigningCertificates(_ context.Context, agency string) ([]*x509.Certificate, error) {
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		return nil, nil
	}
	return d[code.Tokens()], nil
}

// Verifier judges the signatures of received packets. Set its fields before
// the first use; it is safe for concurrent use afterwards.
type Verifier struct {
	// Roots are the trusted CAs.
	Roots *x509.CertPool
	// CRLs are the revocation lists of those CAs (and their
	// intermediates). A list is used only if it verifies against the
	// signer certificate's issuer.
	CRLs []*x509.RevocationList
	// Revocations, when set, are CRLs indexed (NewRevocations(CRLs)):
	// they are used instead, which a gateway verifying many packets wants.
	Revocations *Revocations
	// Directory binds certificates to agencies. It is required.
	Directory Directory
	// Now returns the time at which certificates are judged; nil means
	// time.Now.
	Now func() time.Time
	// Parser reads packets; its limits apply.
	Parser envelope.Parser
	// Policy widens what is accepted; the zero Policy is the default.
	Policy Policy
	// Chains, when set, remembers the certificates parsed and the chains
	// verified, for the packets of signers seen recently (see
	// [ChainCache]); a gateway verifying many packets wants one. Nil
	// parses and verifies every packet's certificates afresh. Copies of a
	// Verifier may share it, whatever their Roots.
	Chains *ChainCache
}

// Policy widens what a [Verifier] accepts beyond its defaults.
type Policy struct {
	// AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests, for
	// packets from document systems that cannot yet sign with SHA-256.
	// Such a signature, if it verifies, gets the valid verdict with Legacy
	// set and a reason that says so. MD5 is never accepted.
	AllowSHA1 bool
}

// Allowed algorithms. SHA-1 is allowed only under Policy.AllowSHA1.
var (
	allowedCanonicalization = map[string]bool{
		AlgExcC14N: true,
		AlgC14N10:  true,
		AlgC14N11:  true,
	}
	allowedSignatureMethods = map[string]bool{
		AlgRSASHA256: true,
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": true,
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": true,
	}
	allowedDigestMethods = map[string]bool{
		AlgSHA256: true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
		"http://www.w3.org/2001/04/xmlenc#sha512":       true,
	}
)

// algorithmUse is what the algorithm named in one place of SignedInfo may
// be. Each place has its own tables: under the legacy policy a single
// table of SHA-1 algorithms let the SHA-1 digest through as a
// SignatureMethod (and RSA-SHA1 as a DigestMethod, SHA-1 as a transform),
// which has no hash in the table checkSignature looks it up in.
type algorithmUse struct {
	what    string
	allowed map[string]bool // by default
	legacy  map[string]bool // under Policy.AllowSHA1 only
	weak    map[string]bool // refused as weak rather than as unsupported
}

var (
	canonicalizationUse = algorithmUse{what: "CanonicalizationMethod", allowed: allowedCanonicalization}
	transformUse        = algorithmUse{what: "Transform", allowed: allowedCanonicalization}
	signatureUse        = algorithmUse{
		what:    "SignatureMethod",
		allowed: allowedSignatureMethods,
		legacy:  map[string]bool{AlgRSASHA1: true},
		weak:    map[string]bool{AlgRSASHA1: true, "http://www.w3.org/2001/04/xmldsig-more#rsa-md5": true},
	}
	digestUse = algorithmUse{
		what:    "DigestMethod",
		allowed: allowedDigestMethods,
		legacy:  map[string]bool{AlgSHA1: true},
		weak:    map[string]bool{AlgSHA1: true, "http://www.w3.org/2001/04/xmldsig-more#md5": true},
	}
)

// Verify judges packet's signature. Every outcome about the signature is a
// [Verdict]; the error is only for faults of the verifier itself (the
// directory could not be asked, no directory is configured).
func (v *Verifier) Verify(ctx context.Context, packet []byte) (*Verdict, error) {
	if v.Directory == nil {
		return nil, errors.New("signing: verify: no directory configured")
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	doc, _, err := v.Parser.ReadTree(packet)
	if err != nil {
		return verdict(Malformed, ErrUnreadablePacket, "Không đọc được gói tin: "+err.Error(), "the packet cannot be read: "+err.Error()), nil
	}
	if vi, en := documentProblem(doc); en != "" {
		return verdict(Malformed, ErrUnreadablePacket, vi, en), nil
	}
	root := doc.Root()
	var sigs []*etree.Element
	findSignatures(root, &sigs)
	switch len(sigs) {
	case 0:
		return verdict(Missing, ErrNoSignature, "Gói tin không có chữ ký số", "the packet carries no Signature"), nil
	case 1:
	default:
		return verdict(Malformed, ErrManySignatures,
			fmt.Sprintf("Gói tin có %d chữ ký số; chỉ được có một", len(sigs)),
			fmt.Sprintf("the packet carries %d Signatures; exactly one is allowed", len(sigs))), nil
	}
	sig := sigs[0]
	if ns := sig.NamespaceURI(); ns != XMLDSigNS {
		return verdict(Malformed, ErrSignatureNamespace,
			"Phần tử Signature không thuộc không gian tên XML-DSig nên không kiểm tra được",
			fmt.Sprintf("the Signature is in namespace %q, not XML-DSig, so it cannot be checked", ns)), nil
	}
	// The elements are matched by namespace as well as name, as a DMS
	// reading {edXML}edXMLHeader matches them: a Signature in an
	// edXMLHeader of another namespace is not in the packet's header
	// (issue 20; FromTree refuses such a header after).
	if p := sig.Parent(); p == nil || !isEdXML(p, "edXMLHeader") || p.Parent() == nil || !isEdXML(p.Parent(), "edXMLEnvelope") ||
		p.Parent().Parent() != root || !isEdXML(root, "edXML") {
		return verdict(Malformed, ErrSignaturePlace,
			"Chữ ký số không nằm trong edXMLHeader thuộc không gian tên edXML",
			"the Signature is not a child of edXML/edXMLEnvelope/edXMLHeader in the edXML namespace"), nil
	}
	shape, vd := checkShape(sig, v.Policy)
	if vd != nil {
		return vd, nil
	}
	chain, texts, signer, vd := signerChain(sig, v.Chains)
	if vd != nil {
		return vd, nil
	}
	cert := chain[0]
	withCert := func(vd *Verdict) *Verdict {
		vd.Certificate = cert
		vd.Subject = signer.subject
		vd.Fingerprint = signer.fingerprint
		return vd
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < minRSAKeyBits {
		return withCert(verdict(WeakAlgorithm, ErrAlgorithmNotAllowed,
			"Khóa của chứng thư số không phải RSA từ 2048 bit",
			"the certificate's key is not RSA of at least 2048 bits")), nil
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return withCert(verdict(Expired, ErrCertificateExpired,
			fmt.Sprintf("Chứng thư số chỉ có hiệu lực từ %s đến %s", showTime(cert.NotBefore), showTime(cert.NotAfter)),
			fmt.Sprintf("the certificate is valid from %s to %s only", cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339)))), nil
	}
	chains, err := v.chain(chain, now)
	if err != nil {
		return withCert(verdict(Untrusted, ErrUntrustedChain,
			"Chứng thư số không được cấp bởi tổ chức chứng thực được tin cậy: "+err.Error(),
			"the certificate does not chain to a trusted CA: "+err.Error())), nil
	}
	if cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return withCert(verdict(Untrusted, ErrUntrustedChain,
			"Chứng thư số không được phép dùng để ký số",
			"the certificate's key usage does not allow digital signatures")), nil
	}
	if revoked, at := v.revoked(cert, chains, now); revoked {
		return withCert(verdict(Revoked, ErrCertificateRevoked,
			"Chứng thư số đã bị thu hồi từ "+showTime(at),
			"the certificate was revoked on "+at.UTC().Format(time.RFC3339))), nil
	}
	signed, err := checkSignature(root, sig, shape, pub)
	switch {
	case errors.Is(err, errDigestMismatch):
		return withCert(verdict(Invalid, ErrSignatureMismatch,
			"Nội dung gói tin không khớp với chữ ký số: gói tin đã bị thay đổi sau khi ký",
			"the packet's content does not match its signature: the packet was changed after signing")), nil
	case errors.Is(err, errSignatureMismatch):
		return withCert(verdict(Invalid, ErrSignatureMismatch,
			"Giá trị chữ ký số không khớp với phần SignedInfo và khóa của người ký",
			"the signature value does not match SignedInfo and the signer's key")), nil
	case err != nil:
		return withCert(verdict(Malformed, ErrSignatureShape,
			"Không kiểm tra được chữ ký số: "+err.Error(),
			"the signature cannot be checked: "+err.Error())), nil
	}
	// The texts are kept once the signature verified with the leaf's
	// key: a packet carrying someone else's certificate (they are public)
	// in other white space does not replace the text its holder sends.
	for i, text := range texts {
		v.Chains.keepText(text, chain[i])
	}
	pkt, _, err := envelope.FromTree(signed)
	if err != nil {
		return withCert(verdict(Malformed, ErrUnreadablePacket, "Không đọc được nội dung đã ký: "+err.Error(), "the signed content cannot be read: "+err.Error())), nil
	}
	from := pkt.From().OrganID
	registered, err := v.registered(ctx, from, cert)
	if err != nil {
		return nil, fmt.Errorf("signing: verify: ask the directory about %q: %w", from, err)
	}
	fromNow := from
	if cc, ok := v.Directory.(CurrentCoder); ok {
		if c, ok := cc.CurrentCode(from); ok {
			fromNow = c
		}
	}
	if code, ok := AgencyCodeOf(cert); ok && !IsGatewayCertificate(cert) && !sameAgency(code, from) && !sameAgency(code, fromNow) {
		// A certificate that names its agency signs for that agency only,
		// whatever a directory entry lists: an entry that registers
		// another agency's certificate is a mistake or an attack.
		vd = withCert(verdict(NotBound, ErrSignerNotRegistered,
			fmt.Sprintf("Chứng thư số được cấp cho cơ quan %s, không phải cơ quan gửi %s", code, from),
			fmt.Sprintf("the certificate was issued to agency %s, not to the sender %s", code, from)))
		vd.Packet = pkt
		return vd, nil
	}
	if registered {
		vd := withCert(&Verdict{Outcome: Valid, ReasonVI: "Chữ ký số hợp lệ", ReasonEN: "the signature is valid"})
		if shape.legacy {
			vd.Legacy = true
			vd.ReasonVI += " (dùng thuật toán SHA-1 cũ, chỉ được chấp nhận theo chính sách chuyển tiếp)"
			vd.ReasonEN += " (with legacy SHA-1, accepted under the legacy policy only)"
		}
		vd.Packet = pkt
		return vd, nil
	}
	vd = withCert(verdict(NotBound, ErrSignerNotRegistered,
		fmt.Sprintf("Chứng thư số không được đăng ký cho cơ quan gửi %s", from),
		fmt.Sprintf("the certificate is not registered for the sender %s or its gateway", from)))
	vd.Packet = pkt
	return vd, nil
}

// registered reports whether the directory registers cert for agency:
// asked as a [CertificateRegistry] if it is one, else by comparing the DER
// of the certificates it lists.
func (v *Verifier) registered(ctx context.Context, agency string, cert *x509.Certificate) (bool, error) {
	if r, ok := v.Directory.(CertificateRegistry); ok {
		return r.HasSigningCertificate(ctx, agency, cert)
	}
	certs, err := v.Directory.SigningCertificates(ctx, agency)
	if err != nil {
		return false, err
	}
	for _, c := range certs {
		if c.Equal(cert) {
			return true, nil
		}
	}
	return false, nil
}

// sameAgency reports whether two agency codes, in any of their forms,
// name the same agency.
func sameAgency(a, b string) bool {
	ca, err := envelope.ParseAgencyCode(a, envelope.CodeAny)
	if err != nil {
		return false
	}
	cb, err := envelope.ParseAgencyCode(b, envelope.CodeAny)
	return err == nil && ca.Equal(cb)
}

func verdict(o Outcome, cause error, vi, en string) *Verdict {
	return &Verdict{Outcome: o, Cause: cause, ReasonVI: vi, ReasonEN: en}
}

func showTime(t time.Time) string {
	return t.In(envelope.VietnamTime()).Format("15:04 02/01/2006")
}

// isEdXML reports whether el is the element tag of the edXML namespace.
func isEdXML(el *etree.Element, tag string) bool {
	return el.Tag == tag && el.NamespaceURI() == envelope.Namespace
}

// findSignatures collects Signature elements anywhere, in any namespace.
func findSignatures(el *etree.Element, out *[]*etree.Element) {
	for _, t := range el.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		if c.Tag == "Signature" {
			*out = append(*out, c)
		}
		findSignatures(c, out)
	}
}

// signedInfoShape is what checkShape read from a Signature and allowed:
// all that checkSignature takes from SignedInfo but the DigestValue.
// Canonicalising SignedInfo changes it in place (canonicalSignedInfo), so
// what decides how the signature is checked is read once, before, and
// only here.
type signedInfoShape struct {
	c14n, c14nPrefixes string // SignedInfo's CanonicalizationMethod and its InclusiveNamespaces PrefixList
	signature          string // SignatureMethod
	digest             string // the Reference's DigestMethod
	// transform is the Reference's canonicalisation: its transform after
	// enveloped-signature, or inclusive C14N 1.0, which XML-DSig
	// prescribes for a node-set when there is none.
	transform, transformPrefixes string
	legacy                       bool // an algorithm is allowed only by Policy.AllowSHA1
}

// decisionAttrs are the attributes of SignedInfo's elements that decide
// how the signature is checked. An element may carry each once, without
// a prefix: etree's SelectAttrValue would take the first of x:Algorithm
// and Algorithm, and which is first changes when canonicalisation sorts
// the attributes, and other XML-DSig implementations read the unprefixed
// one.
var decisionAttrs = [...]string{"Algorithm", "URI", "PrefixList"}

// checkShape checks the Signature: SignedInfo with one Reference to the
// whole document, the enveloped-signature transform and canonicalisations
// only, algorithms allowed by policy, a DigestValue and a SignatureValue,
// no decision attribute twice on an element, and every element it reads in
// the XML-DSig namespace (InclusiveNamespaces in exclusive C14N's). It
// returns what it checked, for checkSignature to use as it is.
//
// Elements are looked for by local name in any namespace, and one of those
// names in another namespace is refused, not skipped: a reader that
// matches local names (as etree's SelectElement does, and goxmldsig) and
// one that matches namespaces would otherwise read different elements of
// the same Signature, and a packet whose <x:DigestMethod> is not
// XML-DSig's is no XML-DSig signature to anyone else.
func checkShape(sig *etree.Element, policy Policy) (signedInfoShape, *Verdict) {
	var s signedInfoShape
	shape := func(en string) (signedInfoShape, *Verdict) {
		return signedInfoShape{}, verdict(Malformed, ErrSignatureShape, "Cấu trúc chữ ký số không đúng: "+en, "the Signature's shape is not accepted: "+en)
	}
	// one is parent's only child of local name name, which must be in the
	// XML-DSig namespace; or the reason it is not.
	one := func(parent *etree.Element, name string) (*etree.Element, string) {
		els, wrong := dsigChildren(parent, name)
		switch {
		case wrong != "":
			return nil, wrong
		case len(els) != 1:
			return nil, fmt.Sprintf("%d %s elements in %s; exactly one is needed", len(els), name, parent.FullTag())
		}
		return els[0], ""
	}
	si, en := one(sig, "SignedInfo")
	if en != "" {
		return shape(en)
	}
	if _, en := one(sig, "SignatureValue"); en != "" {
		return shape(en)
	}
	if en := repeatedDecisionAttr(si); en != "" {
		return shape(en)
	}
	refs, wrong := dsigChildren(si, "Reference")
	if wrong != "" {
		return shape(wrong)
	}
	if len(refs) != 1 {
		return shape(fmt.Sprintf("%d References; exactly one is allowed", len(refs)))
	}
	ref := refs[0]
	// One of each, so that no reader of the Signature can take another
	// than the one checked here.
	cm, en := one(si, "CanonicalizationMethod")
	if en != "" {
		return shape(en)
	}
	sm, en := one(si, "SignatureMethod")
	if en != "" {
		return shape(en)
	}
	dm, en := one(ref, "DigestMethod")
	if en != "" {
		return shape(en)
	}
	if _, en := one(ref, "DigestValue"); en != "" {
		return shape(en)
	}
	trs, wrong := dsigChildren(ref, "Transforms")
	if wrong != "" {
		return shape(wrong)
	}
	if len(trs) > 1 {
		return shape(fmt.Sprintf("%d Transforms elements; at most one is allowed", len(trs)))
	}
	if uri, ok := attrValue(ref, "URI"); !ok || uri != "" {
		return shape(fmt.Sprintf("the Reference URI is %q (present: %v); it must be \"\" (the whole packet)", uri, ok))
	}
	s.c14n = algorithmOf(cm)
	if s.c14nPrefixes, en = inclusivePrefixes(cm); en != "" {
		return shape("the CanonicalizationMethod: " + en)
	}
	s.signature = algorithmOf(sm)
	s.digest = algorithmOf(dm)
	uses := []struct {
		uri string
		use algorithmUse
	}{{s.c14n, canonicalizationUse}, {s.signature, signatureUse}, {s.digest, digestUse}}
	// The transforms are enveloped-signature, then at most one
	// canonicalisation.
	var transforms []*etree.Element
	if len(trs) == 1 {
		if transforms, wrong = dsigChildren(trs[0], "Transform"); wrong != "" {
			return shape(wrong)
		}
	}
	if len(transforms) == 0 || algorithmOf(transforms[0]) != AlgEnveloped {
		return shape("the first transform is not enveloped-signature")
	}
	if len(transforms) > 2 {
		return shape(fmt.Sprintf("%d transforms; enveloped-signature and one canonicalisation are allowed", len(transforms)))
	}
	s.transform = AlgC14N10
	if len(transforms) == 2 {
		s.transform = algorithmOf(transforms[1])
		if s.transformPrefixes, en = inclusivePrefixes(transforms[1]); en != "" {
			return shape("the Transform: " + en)
		}
		uses = append(uses, struct {
			uri string
			use algorithmUse
		}{s.transform, transformUse})
	}
	for _, a := range uses {
		switch {
		case a.use.allowed[a.uri]:
		case policy.AllowSHA1 && a.use.legacy[a.uri]:
			s.legacy = true
		case a.use.weak[a.uri]:
			return signedInfoShape{}, verdict(WeakAlgorithm, ErrAlgorithmNotAllowed,
				fmt.Sprintf("Thuật toán %s (%s) không còn được chấp nhận", a.use.what, a.uri),
				fmt.Sprintf("%s %s is not allowed", a.use.what, a.uri))
		default:
			return shape(fmt.Sprintf("%s %q is not supported", a.use.what, a.uri))
		}
	}
	return s, nil
}

// dsigChildren returns el's child elements of local name tag, in any
// namespace, as el.SelectElements(tag) does; wrong describes the first of
// them that is not in the XML-DSig namespace, "" when all are.
func dsigChildren(el *etree.Element, tag string) (els []*etree.Element, wrong string) {
	return childrenIn(el, tag, XMLDSigNS)
}

// childrenIn returns el's child elements of local name tag, in any
// namespace; wrong describes the first of them that is not in namespace
// ns, "" when all are.
func childrenIn(el *etree.Element, tag, ns string) (els []*etree.Element, wrong string) {
	for _, t := range el.Child {
		c, ok := t.(*etree.Element)
		if !ok || c.Tag != tag {
			continue
		}
		if u := c.NamespaceURI(); u != ns && wrong == "" {
			wrong = fmt.Sprintf("<%s> in <%s> is in namespace %q, not %s", c.FullTag(), el.FullTag(), u, ns)
		}
		els = append(els, c)
	}
	return els, wrong
}

// repeatedDecisionAttr describes the first element of el's subtree that
// carries one of decisionAttrs more than once, with or without a prefix,
// or returns "". A namespace declaration (xmlns:Algorithm) declares a
// prefix, not an attribute, and is not counted. The parser has already
// refused an attribute written twice, or twice through prefixes bound to
// one namespace (not well-formed XML); what is left to refuse here is
// what XML allows, Algorithm beside x:Algorithm, so this rule stays
// the signature's own.
func repeatedDecisionAttr(el *etree.Element) string {
	for _, name := range decisionAttrs {
		n := 0
		for _, a := range el.Attr {
			if a.Key == name && a.Space != "xmlns" {
				n++
			}
		}
		if n > 1 {
			return fmt.Sprintf("<%s> carries %d %s attributes; one is allowed", el.FullTag(), n, name)
		}
	}
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok {
			if en := repeatedDecisionAttr(c); en != "" {
				return en
			}
		}
	}
	return ""
}

// attrValue returns the value of el's attribute key without a prefix:
// what XML-DSig names Algorithm, URI or PrefixList. etree's SelectAttr
// would also match x:key, or a declaration of the prefix key.
func attrValue(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// algorithmOf is el's Algorithm attribute, unprefixed, or "".
func algorithmOf(el *etree.Element) string {
	if el == nil {
		return ""
	}
	alg, _ := attrValue(el, "Algorithm")
	return alg
}

// signerChain reads KeyInfo/X509Data/X509Certificate: the signer's
// certificate first, then any intermediates, with the base64 text each
// was read from; and the signer's names. Certificates parsed before come
// from cache, if not nil.
func signerChain(sig *etree.Element, cache *ChainCache) ([]*x509.Certificate, []string, *namedCert, *Verdict) {
	bad := func(en string) *Verdict {
		return verdict(Malformed, ErrBadCertificate, "Không đọc được chứng thư số của người ký: "+en, "the signer certificate cannot be read: "+en)
	}
	var chain []*x509.Certificate
	var texts []string
	var signer *namedCert
	// What sig.FindElements("KeyInfo/X509Data/X509Certificate") finds, in
	// the same order, without compiling the path for every packet; each in
	// the XML-DSig namespace, as checkShape requires of SignedInfo's, so
	// that the certificate checked is the one any other reader takes.
	kis, wrong := dsigChildren(sig, "KeyInfo")
	if wrong != "" {
		return nil, nil, nil, bad(wrong)
	}
	for _, ki := range kis {
		xds, wrong := dsigChildren(ki, "X509Data")
		if wrong != "" {
			return nil, nil, nil, bad(wrong)
		}
		for _, xd := range xds {
			certs, wrong := dsigChildren(xd, "X509Certificate")
			if wrong != "" {
				return nil, nil, nil, bad(wrong)
			}
			for _, el := range certs {
				text := el.Text()
				nc, ok := cache.byText(text)
				if !ok {
					der, err := decodeSpacedBase64(text)
					if err != nil {
						return nil, nil, nil, bad("not base64")
					}
					if nc, err = cache.certificate(der); err != nil {
						return nil, nil, nil, bad(err.Error())
					}
				}
				if signer == nil {
					signer = nc
				}
				chain = append(chain, nc.cert)
				texts = append(texts, text)
			}
		}
	}
	if len(chain) == 0 {
		return nil, nil, nil, bad("KeyInfo carries no X509Certificate")
	}
	return chain, texts, signer, nil
}

// chain verifies certs[0] against the roots at now, with the rest of
// certs as intermediates; chains verified recently come from v.Chains.
func (v *Verifier) chain(certs []*x509.Certificate, now time.Time) ([][]*x509.Certificate, error) {
	if v.Roots == nil {
		return nil, errors.New("no trusted CA is configured")
	}
	if chains, ok := v.Chains.verified(v.Roots, certs, now); ok {
		return chains, nil
	}
	pool := x509.NewCertPool()
	for _, c := range certs[1:] {
		pool.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         v.Roots,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, err
	}
	v.Chains.remember(v.Roots, certs, chains, now)
	return chains, nil
}

// revoked reports whether a CRL issued by cert's issuer lists it as
// revoked at now.
func (v *Verifier) revoked(cert *x509.Certificate, chains [][]*x509.Certificate, now time.Time) (bool, time.Time) {
	if v.Revocations != nil {
		return v.Revocations.Revoked(cert, chains, now)
	}
	for _, chain := range chains {
		if len(chain) < 2 {
			continue
		}
		issuer := chain[1]
		for _, crl := range v.CRLs {
			if crl.CheckSignatureFrom(issuer) != nil {
				continue
			}
			for _, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(cert.SerialNumber) == 0 && !e.RevocationTime.After(now) {
					return true, e.RevocationTime
				}
			}
		}
	}
	return false, time.Time{}
}
