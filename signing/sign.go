package signing

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/beevik/etree"

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
	// keyInfo is the Signature's KeyInfo element, serialised: the same in
	// every Signature, made once rather than encoding the chain in base64
	// for each packet.
	keyInfo string
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
	ki := []byte(`<KeyInfo><X509Data>`)
	for _, c := range chain {
		s.chain = append(s.chain, c.Raw)
		ki = append(ki, `<X509Certificate>`...)
		ki = base64.StdEncoding.AppendEncode(ki, c.Raw)
		ki = append(ki, `</X509Certificate>`...)
	}
	s.keyInfo = string(append(ki, `</X509Data></KeyInfo>`...))
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
//
// Sign reads the packet to find the Signature's place and canonicalise
// it; a status made from an envelope.Status is signed by SignStatus
// without that.
func (s *Signer) Sign(packet []byte) ([]byte, error) {
	// The caller bounded the packet's size; the parser's default limit
	// must not refuse what the caller accepted.
	parser := envelope.Parser{MaxSize: max(envelope.DefaultMaxSize, int64(len(packet)))}
	doc, _, err := parser.ReadTree(packet)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSignable, err)
	}
	return s.SignTree(packet, doc)
}

// SignTree is Sign for a packet already read: doc must be packet as
// envelope.Parser.ReadTree read it, and it is changed (canonicalised) by
// signing, so it must not be used afterwards. A caller that parses the
// packet anyway, to validate it, saves a second parse.
func (s *Signer) SignTree(packet []byte, doc *etree.Document) ([]byte, error) {
	at, sig, err := s.signatureFor(packet, doc)
	if err != nil {
		return nil, err
	}
	return splice(packet, at, sig), nil
}

// SignTreeInPlace is SignTree, but when packet's spare capacity holds the
// Signature it is spliced into packet's own memory, so that a large
// packet is not held twice while it is signed. The caller gives packet
// up: its bytes must not be used afterwards (nor strings doc shared with
// them), only the returned slice.
func (s *Signer) SignTreeInPlace(packet []byte, doc *etree.Document) ([]byte, error) {
	at, sig, err := s.signatureFor(packet, doc)
	if err != nil {
		return nil, err
	}
	n := len(packet)
	if cap(packet)-n < len(sig) {
		return splice(packet, at, sig), nil
	}
	out := packet[:n+len(sig)]
	copy(out[at+len(sig):], out[at:n]) // copy handles the overlap
	copy(out[at:], sig)
	return out, nil
}

// SignStatus encodes the status packet of st strictly, as envelope.Encode
// does, and signs it as Sign signs what Encode returns: the bytes are the
// same. It does not read the packet back, as Sign must: the encoder says
// where the Signature goes and writes the document element in exclusive
// canonical form already (see envelope.EncodedStatus), so what signing a
// status costs beyond the RSA signature is writing it, a SHA-256 of its
// 1–2 KB and the Signature: under 1 % of the RSA-2048 signature, where
// reading it back was 8–13 % (BenchmarkSignStatus). A gateway signs every
// status it sends. A status that does not validate is
// refused with envelope's ValidationErrors, wrapped.
func (s *Signer) SignStatus(st *envelope.Status) ([]byte, error) {
	es, err := envelope.EncodeStatus(st)
	if err != nil {
		return nil, fmt.Errorf("signing: encode the status: %w", err)
	}
	digest := sha256.Sum256(es.Root)
	sig, err := s.signatureOf(digest[:])
	if err != nil {
		return nil, err
	}
	return splice(es.Packet, es.SignatureAt, sig), nil
}

// signatureFor checks that packet, read as doc, can be signed, and
// returns where its Signature goes and the Signature.
func (s *Signer) signatureFor(packet []byte, doc *etree.Document) (at int, sig []byte, err error) {
	if !bytes.HasPrefix(bytes.TrimLeft(packet, " \t\r\n"), []byte("<")) {
		return 0, nil, fmt.Errorf("%w: bytes before the XML; encode the packet again", ErrNotSignable)
	}
	root := doc.Root()
	if root == nil {
		return 0, nil, fmt.Errorf("%w: no root element", ErrNotSignable)
	}
	if _, en := documentProblem(doc); en != "" {
		return 0, nil, fmt.Errorf("%w: %s", ErrNotSignable, en)
	}
	var sigs []*etree.Element
	if findSignatures(root, &sigs); len(sigs) > 0 {
		return 0, nil, fmt.Errorf("%w (%d Signature elements)", ErrAlreadySigned, len(sigs))
	}
	if at, err = signaturePlace(packet); err != nil {
		return 0, nil, err
	}
	if sig, err = s.signature(root); err != nil {
		return 0, nil, err
	}
	return at, sig, nil
}

// splice returns a new packet: packet with sig inserted at at.
func splice(packet []byte, at int, sig []byte) []byte {
	out := make([]byte, 0, len(packet)+len(sig))
	out = append(out, packet[:at]...)
	out = append(out, sig...)
	return append(out, packet[at:]...)
}

// signature returns the Signature element, serialised, for the packet
// whose tree is root, which it transforms. It is built here rather than by
// goxmldsig's SigningContext so that the packet's canonical form streams into the
// digest instead of being held in memory (a 67 MB packet would otherwise
// cost another 67–134 MB), and because SignEnveloped appends the
// Signature without setting its parent pointer.
func (s *Signer) signature(root *etree.Element) ([]byte, error) {
	// Canonicalisation transforms root in place; Sign does not need it
	// afterwards.
	h := sha256.New()
	if err := digestCanonical(h, root, AlgExcC14N, ""); err != nil {
		return nil, fmt.Errorf("signing: canonicalise the packet: %w", err)
	}
	return s.signatureOf(h.Sum(nil))
}

// SignedInfo's content around the digest value: everything in it but
// the digest is the same in every Signature.
const (
	signedInfoHead = `<CanonicalizationMethod Algorithm="` + AlgExcC14N + `"></CanonicalizationMethod>` +
		`<SignatureMethod Algorithm="` + AlgRSASHA256 + `"></SignatureMethod>` +
		`<Reference URI=""><Transforms><Transform Algorithm="` + AlgEnveloped + `"></Transform>` +
		`<Transform Algorithm="` + AlgExcC14N + `"></Transform></Transforms>` +
		`<DigestMethod Algorithm="` + AlgSHA256 + `"></DigestMethod><DigestValue>`
	signedInfoTail = `</DigestValue></Reference>`
)

// signatureOf returns the Signature element, serialised, of a packet
// whose canonical form has the SHA-256 digest. Its SignedInfo is written
// in canonical form to begin with: the bytes signed are those bytes, with
// the namespace declaration exclusive canonicalisation puts on it. It is
// written into one buffer of the right size, and SignedInfo hashed from
// there: built with fmt and joined strings, with the certificates encoded
// again each time, it was about a third of what signing a status cost besides
// the RSA signature.
func (s *Signer) signatureOf(digest []byte) ([]byte, error) {
	const open = `<Signature xmlns="` + XMLDSigNS + `"><SignedInfo>`
	enc := base64.StdEncoding
	size := len(open) + len(signedInfoHead) + enc.EncodedLen(len(digest)) + len(signedInfoTail) +
		len(`</SignedInfo><SignatureValue>`) + enc.EncodedLen(s.cert.PublicKey.(*rsa.PublicKey).Size()) +
		len(`</SignatureValue>`) + len(s.keyInfo) + len(`</Signature>`)
	b := append(make([]byte, 0, size), open...)
	from := len(b)
	b = append(b, signedInfoHead...)
	b = enc.AppendEncode(b, digest)
	b = append(b, signedInfoTail...)
	h := sha256.New()
	h.Write([]byte(`<SignedInfo xmlns="` + XMLDSigNS + `">`))
	h.Write(b[from:])
	h.Write([]byte(`</SignedInfo>`))
	value, err := s.key.Sign(rand.Reader, h.Sum(nil), crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: sign: %w", err)
	}
	b = append(b, `</SignedInfo><SignatureValue>`...)
	b = enc.AppendEncode(b, value)
	b = append(b, `</SignatureValue>`...)
	b = append(b, s.keyInfo...)
	return append(b, `</Signature>`...), nil
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
