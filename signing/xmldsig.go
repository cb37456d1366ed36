package signing

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1, for the legacy policy only
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

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
// algorithms.
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
// 2 MB packet cost 75 ms. goxmldsig's canonicalisers are still used, on
// copies where they would change the tree the caller keeps.
func checkSignature(root, sig *etree.Element, pub *rsa.PublicKey) (*etree.Element, error) {
	si := sig.SelectElement("SignedInfo")
	ref := si.SelectElement("Reference")
	digestValue, err := decodeBase64Text(ref.SelectElement("DigestValue"))
	if err != nil {
		return nil, fmt.Errorf("DigestValue: %w", err)
	}
	signatureValue, err := decodeBase64Text(sig.SelectElement("SignatureValue"))
	if err != nil {
		return nil, fmt.Errorf("SignatureValue: %w", err)
	}
	signedInfo, err := canonicalSignedInfo(si)
	if err != nil {
		return nil, fmt.Errorf("canonicalise SignedInfo: %w", err)
	}

	// Reference validation. URI="" is the whole document without comments;
	// the enveloped-signature transform removes sig; the last
	// canonicalisation transform (inclusive C14N 1.0 when there is none, as
	// XML-DSig prescribes for a node-set) gives the octets.
	sig.Parent().RemoveChild(sig)
	c14n := dsig.MakeC14N10RecCanonicalizer()
	if tr := ref.SelectElement("Transforms"); tr != nil {
		for _, t := range tr.SelectElements("Transform") {
			if alg := algorithmOf(t); alg != AlgEnveloped {
				c14n = canonicalizer(alg, t)
			}
		}
	}
	octets, err := c14n.Canonicalize(root)
	if err != nil {
		return nil, fmt.Errorf("canonicalise the packet: %w", err)
	}
	h := digestHashes[algorithmOf(ref.SelectElement("DigestMethod"))]
	d := h.New()
	d.Write(octets)
	if !bytes.Equal(d.Sum(nil), digestValue) {
		return nil, errDigestMismatch
	}

	// Signature validation.
	h = signatureHashes[algorithmOf(si.SelectElement("SignatureMethod"))]
	d = h.New()
	d.Write(signedInfo)
	if err := rsa.VerifyPKCS1v15(pub, h, d.Sum(nil), signatureValue); err != nil {
		return nil, errSignatureMismatch
	}
	return root, nil
}

// canonicalSignedInfo returns the canonical octets of si, in its context:
// the namespaces declared on its ancestors count as in scope.
func canonicalSignedInfo(si *etree.Element) ([]byte, error) {
	method := si.SelectElement("CanonicalizationMethod")
	alg := algorithmOf(method)
	if alg == AlgC14N10 {
		// goxmldsig's C14N 1.0 copies the element and adds what its
		// ancestors declare (namespaces and xml: attributes) itself.
		return dsig.MakeC14N10RecCanonicalizer().Canonicalize(si)
	}
	// The others canonicalise a detached copy carrying every namespace in
	// scope; exclusive canonicalisation then keeps only those used.
	ctx, err := etreeutils.NSBuildParentContext(si)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(ctx, si)
	if err != nil {
		return nil, err
	}
	return canonicalizer(alg, method).Canonicalize(detached)
}

// canonicalizer returns goxmldsig's canonicaliser for alg, which
// checkShape has allowed; el is the element naming it, which may carry an
// InclusiveNamespaces prefix list for exclusive canonicalisation.
func canonicalizer(alg string, el *etree.Element) dsig.Canonicalizer {
	switch alg {
	case AlgExcC14N:
		prefixes := ""
		for _, c := range el.ChildElements() {
			if c.Tag == "InclusiveNamespaces" {
				prefixes = c.SelectAttrValue("PrefixList", "")
			}
		}
		return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixes)
	case AlgC14N11:
		return dsig.MakeC14N11Canonicalizer()
	default:
		return dsig.MakeC14N10RecCanonicalizer()
	}
}

func decodeBase64Text(el *etree.Element) ([]byte, error) {
	if el == nil {
		return nil, errors.New("missing")
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	return b, nil
}
