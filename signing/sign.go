package signing

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lienthong/lienthong/envelope"
)

// Algorithm identifiers lienthong signs with.
const (
	AlgRSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgSHA256     = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgExcC14N    = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgEnveloped  = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	XMLDSigNS     = envelope.XMLDSigNamespace
	minRSAKeyBits = 2048
	maxRSAKeyBits = 3072
)

// Signer signs edXML packets with one key and its certificate. The key is a
// crypto.Signer so that a hardware token can stand in for a key in memory.
type Signer struct {
	key  crypto.Signer
	cert *x509.Certificate
	// chain is what KeyInfo carries: the signer's certificate, then any
	// intermediates, DER.
	chain [][]byte
}

// NewSigner returns a Signer for key, whose certificate is chain[0]; the
// rest of chain (intermediate CAs) travels in KeyInfo too. The key must be
// RSA, 2048 or 3072 bits, and belong to the certificate.
func NewSigner(key crypto.Signer, chain []*x509.Certificate) (*Signer, error) {
	if key == nil || len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: a key and its certificate are needed", ErrKey)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is %T, not RSA", ErrKey, key.Public())
	}
	if bits := pub.N.BitLen(); bits != minRSAKeyBits && bits != maxRSAKeyBits {
		return nil, fmt.Errorf("%w: an RSA key of %d bits; 2048 or 3072 are allowed", ErrKey, bits)
	}
	if certPub, ok := chain[0].PublicKey.(*rsa.PublicKey); !ok || !certPub.Equal(pub) {
		return nil, fmt.Errorf("%w: the key does not belong to the certificate %q", ErrKey, chain[0].Subject.String())
	}
	s := &Signer{key: key, cert: chain[0]}
	for _, c := range chain {
		s.chain = append(s.chain, c.Raw)
	}
	return s, nil
}

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Sign returns packet with one enveloped XML-DSig Signature covering the
// whole packet (URI="", enveloped-signature and exclusive C14N transforms,
// SHA-256 digest, RSA-SHA256), KeyInfo carrying the certificate. The
// Signature goes into edXMLHeader right after TraceHeaderList (after
// MessageHeader in a status packet).
//
// The packet's bytes are not re-serialised: the Signature element is
// spliced into them, and nothing else changes — no re-indentation, no white
// space around the Signature (white space there would be signed content).
func (s *Signer) Sign(packet []byte) ([]byte, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(packet, " \t\r\n"), []byte("<")) {
		return nil, fmt.Errorf("%w: bytes before the XML; encode the packet again", ErrNotSignable)
	}
	var parser envelope.Parser
	doc, _, err := parser.ReadTree(packet)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSignable, err)
	}
	root := doc.Root()
	var sigs []*etree.Element
	if findSignatures(root, &sigs); len(sigs) > 0 {
		return nil, fmt.Errorf("%w (%d Signature elements)", ErrAlreadySigned, len(sigs))
	}
	at, err := signaturePlace(packet)
	if err != nil {
		return nil, err
	}
	ctx, err := dsig.NewSigningContext(s.key, s.chain)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	// An unprefixed Signature in the XML-DSig default namespace, as the
	// national axis library writes it.
	ctx.Prefix = ""
	ctx.Hash = crypto.SHA256
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	// goxmldsig canonicalises the element it digests in place: give it a
	// copy, so that root stays as parsed. SignEnveloped is not used: it
	// appends the Signature to the root's children without setting its
	// parent pointer, and re-serialising its tree would change the bytes;
	// the Signature alone is serialised and spliced in below.
	sig, err := ctx.ConstructSignature(root.Copy(), true)
	if err != nil {
		return nil, fmt.Errorf("signing: construct the signature: %w", err)
	}
	sigDoc := etree.NewDocumentWithRoot(sig)
	sigDoc.WriteSettings.CanonicalEndTags = true
	var sigBytes bytes.Buffer
	if _, err := sigDoc.WriteTo(&sigBytes); err != nil {
		return nil, fmt.Errorf("signing: write the signature: %w", err)
	}
	out := make([]byte, 0, len(packet)+sigBytes.Len())
	out = append(out, packet[:at]...)
	out = append(out, sigBytes.Bytes()...)
	out = append(out, packet[at:]...)
	return out, nil
}

// signaturePlace returns the byte offset in packet just after the end tag
// of edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList, or of MessageHeader
// when there is no trace list (a status packet). It reads only as far as
// the header.
func signaturePlace(packet []byte) (int, error) {
	dec := xml.NewDecoder(bytes.NewReader(packet))
	var path []string
	afterMessage := -1
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrNotSignable, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
		case xml.EndElement:
			if len(path) == 0 {
				return 0, fmt.Errorf("%w: unbalanced end tag", ErrNotSignable)
			}
			inHeader := len(path) == 4 && path[0] == "edXML" && path[1] == "edXMLEnvelope" && path[2] == "edXMLHeader"
			switch {
			case inHeader && t.Name.Local == "TraceHeaderList":
				return int(dec.InputOffset()), nil
			case inHeader && t.Name.Local == "MessageHeader":
				afterMessage = int(dec.InputOffset())
			case len(path) == 3 && t.Name.Local == "edXMLHeader" && afterMessage >= 0:
				return afterMessage, nil
			}
			path = path[:len(path)-1]
		}
	}
	return 0, fmt.Errorf("%w: no edXMLHeader/MessageHeader to place the Signature after", ErrNotSignable)
}
