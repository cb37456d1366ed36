package signing_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// trust is a development CA, a directory and a verifier trusting the CA.
type trust struct {
	ca       *signing.CA
	dir      signing.StaticDirectory
	verifier *signing.Verifier
}

func newTrust(t *testing.T) *trust {
	t.Helper()
	ca, err := signing.InitCA(filepath.Join(t.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trust{ca: ca, dir: signing.StaticDirectory{}}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	tr.verifier = &signing.Verifier{Roots: roots, Directory: tr.dir}
	tr.reloadCRL(t)
	return tr
}

func (tr *trust) reloadCRL(t *testing.T) {
	t.Helper()
	crl, err := tr.ca.CRL()
	if err != nil {
		t.Fatal(err)
	}
	tr.verifier.CRLs = []*x509.RevocationList{crl}
}

// signer issues a certificate for agency, registers it for registerAs (if
// not empty) and returns a Signer with it.
func (tr *trust) signer(t *testing.T, req signing.IssueRequest, registerAs string) (*signing.Signer, *x509.Certificate) {
	t.Helper()
	if req.Name == "" {
		req.Name = "Cơ quan " + req.Agency
	}
	is, err := tr.ca.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	if registerAs != "" {
		if err := tr.dir.Register(registerAs, is.Certificate); err != nil {
			t.Fatal(err)
		}
	}
	s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	return s, is.Certificate
}

func mustSign(t *testing.T, s *signing.Signer, packet []byte) []byte {
	t.Helper()
	b, err := s.Sign(packet)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (tr *trust) wantVerdict(t *testing.T, packet []byte, want signing.Outcome, cause error) *signing.Verdict {
	t.Helper()
	vd, err := tr.verifier.Verify(t.Context(), packet)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if vd.Outcome != want || (cause != nil && !errors.Is(vd.Cause, cause)) {
		t.Fatalf("verdict %s (%v: %s), want %s (%v)", vd.Outcome, vd.Cause, vd.ReasonEN, want, cause)
	}
	if vd.ReasonVI == "" || vd.ReasonEN == "" {
		t.Errorf("verdict %s without reasons", vd.Outcome)
	}
	return vd
}

// swap replaces the first old in b, failing if there is none.
func swap(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not in the packet", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func TestVerifier_Verdicts(t *testing.T) {
	tr := newTrust(t)
	vpcp, vpcpCert := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	signed := mustSign(t, vpcp, edocPacket(t))

	t.Run("Valid", func(t *testing.T) {
		vd := tr.wantVerdict(t, signed, signing.Valid, nil)
		if vd.Packet == nil || vd.Packet.Edoc.Header.Subject != "V/v kết nối, liên thông phần mềm quản lý văn bản" {
			t.Errorf("business data not read from the verified tree: %+v", vd.Packet)
		}
		if !vd.Certificate.Equal(vpcpCert) || len(vd.Fingerprint) != 64 || vd.Subject == "" {
			t.Errorf("verdict names %q %q", vd.Subject, vd.Fingerprint)
		}
	})
	t.Run("ValidStatus", func(t *testing.T) {
		nghean, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H41"}, "000.00.00.H41")
		tr.wantVerdict(t, mustSign(t, nghean, statusPacket(t)), signing.Valid, nil)
	})
	t.Run("TamperedSubject", func(t *testing.T) {
		tr.wantVerdict(t, swap(t, signed, "V/v kết nối", "V/v ngắt kết nối"), signing.Invalid, signing.ErrSignatureMismatch)
	})
	t.Run("TamperedAttachment", func(t *testing.T) {
		tr.wantVerdict(t, swap(t, signed, "JVBERi0xLjcg", "JVBERi0xLjgg"), signing.Invalid, signing.ErrSignatureMismatch)
	})
	t.Run("TamperedOrganId", func(t *testing.T) {
		tr.wantVerdict(t, swap(t, signed, "<edXML:OrganId>000.00.00.H41<", "<edXML:OrganId>000.00.00.H42<"), signing.Invalid, signing.ErrSignatureMismatch)
	})
	t.Run("SignatureMoved", func(t *testing.T) {
		start, end := bytes.Index(signed, []byte("<Signature ")), bytes.Index(signed, []byte("</Signature>"))+len("</Signature>")
		sig := string(signed[start:end])
		moved := append(append([]byte{}, signed[:start]...), signed[end:]...)
		moved = swap(t, moved, "</edXML:edXMLBody>", "</edXML:edXMLBody>"+sig)
		tr.wantVerdict(t, moved, signing.Malformed, signing.ErrSignaturePlace)
	})
	// Issue 20: the sender's own signature over a packet whose first
	// MessageHeader, of another namespace, names it, while the edXML one
	// a DMS reads names another agency, is no valid packet of the sender.
	t.Run("ForeignMessageHeader", func(t *testing.T) {
		h99, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H99"}, "000.00.00.H99")
		spoof := swap(t, statusPacket(t), "<edXML:MessageHeader>",
			`<x:MessageHeader xmlns:x="urn:evil"><x:From><x:OrganId>000.00.00.H99</x:OrganId></x:From><x:StatusCode>03</x:StatusCode></x:MessageHeader><edXML:MessageHeader>`)
		tr.wantVerdict(t, mustSign(t, h99, spoof), signing.Malformed, signing.ErrUnreadablePacket)
	})
	// Issue 20, re-review S3: envelope and header of the default edXML
	// namespace, <edXML:MessageHeader> of the prefix undeclared, signed
	// under inclusive C14N (exclusive C14N refuses the prefix). The
	// Signature is in its place and the digest holds, but a DMS reading by
	// namespace finds no edXML MessageHeader: no packet the recipient can
	// read.
	t.Run("UndeclaredPrefixMessageHeader", func(t *testing.T) {
		is, err := tr.ca.Issue(signing.IssueRequest{Agency: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.dir.Register("000.00.00.H41", is.Certificate); err != nil {
			t.Fatal(err)
		}
		b := swap(t, statusPacket(t), `<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">`, "<edXMLEnvelope>")
		b = swap(t, b, "</edXML:edXMLEnvelope>", "</edXMLEnvelope>")
		b = swap(t, b, "<edXML:edXMLHeader>", "<edXMLHeader>")
		b = swap(t, b, "</edXML:edXMLHeader>", "</edXMLHeader>")
		tr.wantVerdict(t, signInclusive(t, is, b, signing.AlgC14N10), signing.Malformed, signing.ErrUnreadablePacket)
	})
	t.Run("ForeignHeader", func(t *testing.T) {
		nghean, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H41"}, "000.00.00.H41")
		b := mustSign(t, nghean, statusPacket(t))
		b = swap(t, b, "<edXML:edXMLHeader>", `<edXML:edXMLHeader xmlns:edXML="urn:evil">`)
		tr.wantVerdict(t, b, signing.Malformed, signing.ErrSignaturePlace)
	})
	t.Run("SecondEnvelope", func(t *testing.T) {
		i := bytes.Index(signed, []byte("  <edXML:edXMLEnvelope"))
		j := bytes.Index(signed, []byte("</edXML:edXMLEnvelope>")) + len("</edXML:edXMLEnvelope>\n")
		fake := bytes.Replace(signed[i:j], []byte("V/v kết nối"), []byte("Lệnh chuyển tiền"), 1)
		fs, fe := bytes.Index(fake, []byte("<Signature ")), bytes.Index(fake, []byte("</Signature>"))+len("</Signature>")
		fake = append(append([]byte{}, fake[:fs]...), fake[fe:]...)
		wrapped := append(append(append([]byte{}, signed[:i]...), fake...), signed[i:]...)
		vd, err := tr.verifier.Verify(t.Context(), wrapped)
		if err != nil {
			t.Fatal(err)
		}
		// The whole packet is signed, so an added envelope breaks the
		// digest; the parser alone would have read the first envelope.
		if vd.Outcome != signing.Invalid {
			t.Fatalf("a packet with a second envelope: %s (%s), want invalid", vd.Outcome, vd.ReasonEN)
		}
	})
	t.Run("TwoSignatures", func(t *testing.T) {
		start, end := bytes.Index(signed, []byte("<Signature ")), bytes.Index(signed, []byte("</Signature>"))+len("</Signature>")
		twice := append(append(append([]byte{}, signed[:end]...), signed[start:end]...), signed[end:]...)
		tr.wantVerdict(t, twice, signing.Malformed, signing.ErrManySignatures)
	})
	t.Run("UntrustedCA", func(t *testing.T) {
		other := newTrust(t)
		s, cert := other.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "")
		if err := tr.dir.Register("000.00.00.G22", cert); err != nil {
			t.Fatal(err)
		}
		tr.wantVerdict(t, mustSign(t, s, edocPacket(t)), signing.Untrusted, signing.ErrUntrustedChain)
	})
	t.Run("Expired", func(t *testing.T) {
		s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22", NotBefore: time.Now().AddDate(-2, 0, 0), Validity: 365 * 24 * time.Hour}, "000.00.00.G22")
		tr.wantVerdict(t, mustSign(t, s, edocPacket(t)), signing.Expired, signing.ErrCertificateExpired)
	})
	t.Run("Revoked", func(t *testing.T) {
		s, cert := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
		packet := mustSign(t, s, edocPacket(t))
		tr.wantVerdict(t, packet, signing.Valid, nil)
		if err := tr.ca.RevokeCertificate(cert); err != nil {
			t.Fatal(err)
		}
		tr.reloadCRL(t)
		tr.wantVerdict(t, packet, signing.Revoked, signing.ErrCertificateRevoked)
	})
	t.Run("BoundToAnotherAgency", func(t *testing.T) {
		s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H41"}, "000.00.00.H41")
		vd := tr.wantVerdict(t, mustSign(t, s, edocPacket(t)), signing.NotBound, signing.ErrSignerNotRegistered)
		if vd.Packet == nil {
			t.Error("a not-bound verdict carries no packet")
		}
	})
	t.Run("RegisteredForAnotherAgency", func(t *testing.T) {
		// An entry of the sender (edocPacket is from G22) that lists a
		// certificate issued to H29: the certificate names its agency, so
		// it signs for H29 only, whatever the entry says.
		s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H29"}, "000.00.00.G22")
		vd := tr.wantVerdict(t, mustSign(t, s, edocPacket(t)), signing.NotBound, signing.ErrSignerNotRegistered)
		if !strings.Contains(vd.ReasonEN, "000.00.00.H29") {
			t.Errorf("the reason does not name the certificate's agency: %s", vd.ReasonEN)
		}
		// A gateway certificate registered for the sender may sign for it.
		gw, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H29", Gateway: true}, "000.00.00.G22")
		tr.wantVerdict(t, mustSign(t, gw, edocPacket(t)), signing.Valid, nil)
	})
	t.Run("NoSignature", func(t *testing.T) {
		tr.wantVerdict(t, edocPacket(t), signing.Missing, signing.ErrNoSignature)
	})
	t.Run("NotXML", func(t *testing.T) {
		tr.wantVerdict(t, []byte("<edXML"), signing.Malformed, signing.ErrUnreadablePacket)
	})
}

// TestVerifier_Samples: the official samples' placeholder signatures get
// a clear verdict, never valid and never an error.
func TestVerifier_Samples(t *testing.T) {
	tr := newTrust(t)
	want := map[string]struct {
		outcome signing.Outcome
		cause   error
	}{
		"edoc.edxml":             {signing.WeakAlgorithm, signing.ErrAlgorithmNotAllowed}, // rsa-sha1
		"edoc_new.edxml":         {signing.Malformed, signing.ErrSignatureNamespace},
		"edoc_replacement.edxml": {signing.Malformed, signing.ErrSignatureNamespace},
		"edoc_revocation.edxml":  {signing.Malformed, signing.ErrSignatureNamespace},
		"edoc_update.edxml":      {signing.Malformed, signing.ErrSignatureNamespace},
	}
	names, err := filepath.Glob("../envelope/testdata/samples/*.edxml")
	if err != nil || len(names) != 15 {
		t.Fatalf("samples: %v (%d)", err, len(names))
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[filepath.Base(name)]
			if !ok {
				w.outcome, w.cause = signing.Missing, signing.ErrNoSignature // the status samples are unsigned
			}
			tr.wantVerdict(t, b, w.outcome, w.cause)
		})
	}
}

// TestVerifier_Policy: MD5 is refused under any policy; SHA-1 only by
// default; a signature whose algorithm was changed to SHA-1 does not verify
// under the legacy policy either; and the samples' placeholder signatures
// are not valid under the legacy policy.
func TestVerifier_Policy(t *testing.T) {
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	signed := mustSign(t, s, edocPacket(t))
	legacy := *tr.verifier
	legacy.Policy.AllowSHA1 = true
	verdictOf := func(v *signing.Verifier, packet []byte) *signing.Verdict {
		t.Helper()
		vd, err := v.Verify(t.Context(), packet)
		if err != nil {
			t.Fatal(err)
		}
		return vd
	}
	if vd := verdictOf(&legacy, signed); vd.Outcome != signing.Valid || vd.Legacy {
		t.Fatalf("an RSA-SHA256 signature under the legacy policy: %s, legacy %v", vd.Outcome, vd.Legacy)
	}
	md5 := swap(t, signed, signing.AlgSHA256, "http://www.w3.org/2001/04/xmldsig-more#md5")
	for _, v := range []*signing.Verifier{tr.verifier, &legacy} {
		if vd := verdictOf(v, md5); vd.Outcome != signing.WeakAlgorithm {
			t.Errorf("MD5 digest with AllowSHA1=%v: %s", v.Policy.AllowSHA1, vd.Outcome)
		}
	}
	sha1 := swap(t, signed, signing.AlgRSASHA256, signing.AlgRSASHA1)
	tr.wantVerdict(t, sha1, signing.WeakAlgorithm, signing.ErrAlgorithmNotAllowed)
	if vd := verdictOf(&legacy, sha1); vd.Outcome != signing.Invalid {
		t.Errorf("RSA-SHA256 relabelled RSA-SHA1 under the legacy policy: %s", vd.Outcome)
	}
	b, err := os.ReadFile("../envelope/testdata/samples/edoc.edxml")
	if err != nil {
		t.Fatal(err)
	}
	if vd := verdictOf(&legacy, b); vd.Outcome == signing.Valid {
		t.Errorf("the sample's placeholder RSA-SHA1 signature is valid under the legacy policy: %s", vd.ReasonEN)
	}
}

// TestVerifier_Shape: transforms other than enveloped-signature followed by
// one canonicalisation are refused as malformed, as is a Signature without
// its SignatureValue.
func TestVerifier_Shape(t *testing.T) {
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	signed := mustSign(t, s, edocPacket(t))
	enveloped := `<Transform Algorithm="` + signing.AlgEnveloped + `"></Transform>`
	for name, packet := range map[string][]byte{
		"NoEnveloped":      swap(t, signed, enveloped, ""),
		"NoSignatureValue": swap(t, swap(t, signed, "<SignatureValue>", "<Nothing>"), "</SignatureValue>", "</Nothing>"),
		"OtherReference":   swap(t, signed, `<Reference URI="">`, `<Reference URI="#body">`),
	} {
		t.Run(name, func(t *testing.T) {
			tr.wantVerdict(t, packet, signing.Malformed, signing.ErrSignatureShape)
		})
	}
}

// TestVerifier_LongPacket: a packet with thousands of elements before its
// Signature verifies. goxmldsig v1.6.1 looks for the Signature with a
// budget of 1000 elements; lienthong's verification does not depend on it.
func TestVerifier_LongPacket(t *testing.T) {
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	p, _, err := envelope.Parse(edocPacket(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		p.Edoc.Trace = append(p.Edoc.Trace, envelope.TraceHeader{OrganID: "000.00.00.G22", Timestamp: envelope.Timestamp(fmt.Sprintf("2025/11/20 09:%02d:%02d", i/60%60, i%60))})
	}
	b, err := envelope.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	vd := tr.wantVerdict(t, mustSign(t, s, b), signing.Valid, nil)
	if n := len(vd.Packet.Edoc.Trace); n != 1501 {
		t.Errorf("%d trace headers read from the verified tree, want 1501", n)
	}
}

// craftSigned signs packet with a Signature whose SignedInfo content is si,
// as a signer that writes its own XML-DSig would: "{{digest}}" in si
// becomes the digest under digestHash of the packet's canonical form by
// canon, and SignatureValue is the signature under sigHash of SignedInfo,
// canonicalised in its context by goxmldsig's exclusive canonicaliser. The
// Signature goes where lienthong's signer puts it.
func craftSigned(t *testing.T, is *signing.Issued, packet []byte, si string, canon dsig.Canonicalizer, digestHash, sigHash crypto.Hash) []byte {
	t.Helper()
	return craftSignature(t, is, packet, `<Signature xmlns="`+signing.XMLDSigNS+`"><SignedInfo>`+si+`</SignedInfo><SignatureValue>{{signature}}`+
		`</SignatureValue><KeyInfo><X509Data><X509Certificate>{{certificate}}</X509Certificate></X509Data></KeyInfo></Signature>`,
		canon, digestHash, sigHash)
}

// craftSignature is craftSigned with the whole Signature given, its
// SignedInfo found by local name: "{{certificate}}" in sig becomes the
// signer's certificate, "{{digest}}" and "{{signature}}" as craftSigned
// makes them.
func craftSignature(t *testing.T, is *signing.Issued, packet []byte, sig string, canon dsig.Canonicalizer, digestHash, sigHash crypto.Hash) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(packet); err != nil {
		t.Fatal(err)
	}
	c, err := canon.Canonicalize(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	d := digestHash.New()
	d.Write(c)
	sig = strings.Replace(sig, "{{digest}}", base64.StdEncoding.EncodeToString(d.Sum(nil)), 1)
	sig = strings.Replace(sig, "{{certificate}}", base64.StdEncoding.EncodeToString(is.Certificate.Raw), 1)
	const placeholder = "{{signature}}"
	at := bytes.Index(packet, []byte("</edXML:TraceHeaderList>"))
	if at < 0 {
		t.Fatal("no TraceHeaderList in the packet")
	}
	at += len("</edXML:TraceHeaderList>")
	signed := slices.Concat(packet[:at], []byte(sig), packet[at:])

	doc = etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	el := doc.FindElement("//SignedInfo")
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatal(err)
	}
	c, err = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
	if err != nil {
		t.Fatal(err)
	}
	d = sigHash.New()
	d.Write(c)
	value, err := is.Key.Sign(rand.Reader, d.Sum(nil), sigHash)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(signed, []byte(placeholder), []byte(base64.StdEncoding.EncodeToString(value)), 1)
}

// TestVerifier_SignedInfoReadOnce: the algorithms, transforms and prefix
// list the verifier uses are those it checked, read once. Canonicalising
// SignedInfo in place sorts each element's attributes, unprefixed before
// prefixed, so a DigestMethod with x:Algorithm (SHA-256) before Algorithm
// (SHA-1 or an unknown URI) was checked as SHA-256 and then digested with
// SHA-1 (valid, not legacy, under the default policy) or with crypto.Hash(0)
// (a panic, before any signature was checked); so too SignatureMethod, the
// Transforms and InclusiveNamespaces' PrefixList. An element with two
// attributes of one of those names is now malformed, and a prefixed one is
// not read at all. Under the legacy policy, a digest algorithm named as the
// SignatureMethod, or a signature algorithm as the DigestMethod, panicked
// the same way. Controls: the same crafting, unambiguous, is valid.
func TestVerifier_SignedInfoReadOnce(t *testing.T) {
	tr := newTrust(t)
	is, err := tr.ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.dir.Register("000.00.00.G22", is.Certificate); err != nil {
		t.Fatal(err)
	}
	legacy := *tr.verifier
	legacy.Policy.AllowSHA1 = true
	packet := edocPacket(t)

	const x = `xmlns:x="urn:x" `
	alg := func(a string) string { return `Algorithm="` + a + `"` }
	xalg := func(a string) string { return `x:Algorithm="` + a + `"` }
	exc := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	type parts struct {
		c14n, method, uri, enveloped, transform, digest string
	}
	// build makes SignedInfo's content from p, lienthong's where empty;
	// transform "-" is none.
	build := func(p parts) string {
		or := func(s, d string) string {
			if s == "" {
				return d
			}
			return s
		}
		transform := `<Transform ` + or(p.transform, alg(signing.AlgExcC14N)+`>`) + `</Transform>`
		if p.transform == "-" {
			transform = ""
		}
		return `<CanonicalizationMethod ` + or(p.c14n, alg(signing.AlgExcC14N)) + `></CanonicalizationMethod>` +
			`<SignatureMethod ` + or(p.method, alg(signing.AlgRSASHA256)) + `></SignatureMethod>` +
			`<Reference ` + or(p.uri, `URI=""`) + `><Transforms><Transform ` + or(p.enveloped, alg(signing.AlgEnveloped)) + `></Transform>` +
			transform + `</Transforms>` +
			`<DigestMethod ` + or(p.digest, alg(signing.AlgSHA256)) + `></DigestMethod><DigestValue>{{digest}}</DigestValue></Reference>`
	}
	for _, c := range []struct {
		name          string
		si            parts
		canon         dsig.Canonicalizer
		digest, sigH  crypto.Hash
		want, wantOld signing.Outcome // wantOld: the legacy policy's verdict
	}{
		{"Control", parts{}, exc, crypto.SHA256, crypto.SHA256, signing.Valid, signing.Valid},
		// An unused declaration of the prefix "Algorithm" is no second
		// Algorithm attribute (SelectAttrValue read it as the algorithm).
		{"ControlDeclaration", parts{digest: `xmlns:Algorithm="urn:x" ` + alg(signing.AlgSHA256)}, exc, crypto.SHA256, crypto.SHA256, signing.Valid, signing.Valid},
		// (a): panicked in h.New().
		{"DigestUnknown", parts{digest: x + xalg(signing.AlgSHA256) + ` Algorithm="urn:bogus"`}, exc, crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		// (b): valid, not legacy, under the default policy.
		{"DigestSHA1", parts{digest: x + xalg(signing.AlgSHA256) + " " + alg(signing.AlgSHA1)}, exc, crypto.SHA1, crypto.SHA256, signing.Malformed, signing.Malformed},
		{"DigestPrefixedOnly", parts{digest: x + xalg(signing.AlgSHA256)}, exc, crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		{"SignatureUnknown", parts{method: x + xalg(signing.AlgRSASHA256) + ` Algorithm="urn:bogus"`}, exc, crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		{"SignatureSHA1", parts{method: x + xalg(signing.AlgRSASHA256) + " " + alg(signing.AlgRSASHA1)}, exc, crypto.SHA256, crypto.SHA1, signing.Malformed, signing.Malformed},
		{"CanonicalizationTwice", parts{c14n: x + xalg(signing.AlgExcC14N) + " " + alg(signing.AlgC14N10)}, exc, crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		// The Reference's canonicalisation: checked as exclusive, digested
		// with C14N 1.0 (the default for an unknown one).
		{"TransformUnknown", parts{transform: x + xalg(signing.AlgExcC14N) + ` Algorithm="urn:bogus">`}, dsig.MakeC14N10RecCanonicalizer(), crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		// The only transform checked as enveloped-signature, read as
		// exclusive C14N (C14N 1.0 applies when there is none).
		{"EnvelopedTwice", parts{enveloped: x + xalg(signing.AlgEnveloped) + " " + alg(signing.AlgExcC14N), transform: "-"}, exc, crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		// InclusiveNamespaces read after the sort: PrefixList "edXML", not
		// x:PrefixList "" before it.
		{"PrefixListTwice", parts{transform: alg(signing.AlgExcC14N) + `><InclusiveNamespaces xmlns="` + signing.AlgExcC14N + `" ` + x + `x:PrefixList="" PrefixList="edXML"></InclusiveNamespaces>`},
			dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("edXML"), crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		{"ControlPrefixList", parts{transform: alg(signing.AlgExcC14N) + `><InclusiveNamespaces xmlns="` + signing.AlgExcC14N + `" PrefixList="edXML"></InclusiveNamespaces>`},
			dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("edXML"), crypto.SHA256, crypto.SHA256, signing.Valid, signing.Valid},
		{"ReferenceURITwice", parts{uri: x + `URI="" x:URI="#body"`}, exc, crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		// A known algorithm in the wrong place: allowed by the legacy
		// policy as "SHA-1", then looked up in the other table (zero).
		{"SHA1AsSignatureMethod", parts{method: alg(signing.AlgSHA1)}, exc, crypto.SHA256, crypto.SHA1, signing.Malformed, signing.Malformed},
		{"RSASHA1AsDigestMethod", parts{digest: alg(signing.AlgRSASHA1)}, exc, crypto.SHA1, crypto.SHA256, signing.Malformed, signing.Malformed},
		{"SHA1AsTransform", parts{transform: alg(signing.AlgSHA1) + ">"}, dsig.MakeC14N10RecCanonicalizer(), crypto.SHA256, crypto.SHA256, signing.Malformed, signing.Malformed},
		{"ControlLegacy", parts{method: alg(signing.AlgRSASHA1), digest: alg(signing.AlgSHA1)}, exc, crypto.SHA1, crypto.SHA1, signing.WeakAlgorithm, signing.Valid},
	} {
		t.Run(c.name, func(t *testing.T) {
			signed := craftSigned(t, is, packet, build(c.si), c.canon, c.digest, c.sigH)
			for _, v := range []struct {
				v    *signing.Verifier
				want signing.Outcome
			}{{tr.verifier, c.want}, {&legacy, c.wantOld}} {
				vd, err := v.v.Verify(t.Context(), signed)
				if err != nil {
					t.Fatal(err)
				}
				if vd.Outcome != v.want {
					t.Errorf("AllowSHA1=%v: verdict %s (%s), want %s", v.v.Policy.AllowSHA1, vd.Outcome, vd.ReasonEN, v.want)
				}
				if vd.Outcome == signing.Valid && vd.Legacy != (c.sigH == crypto.SHA1 || c.digest == crypto.SHA1) {
					t.Errorf("AllowSHA1=%v: valid with Legacy %v", v.v.Policy.AllowSHA1, vd.Legacy)
				}
			}
		})
	}
}

// TestVerifier_SignatureElementsInXMLDSigNamespace: every element of the
// Signature the verifier reads is XML-DSig's (InclusiveNamespaces exclusive
// C14N's). Each case is signed correctly over what it carries, so that
// only the namespace is wrong: matched by local name, every one was valid.
func TestVerifier_SignatureElementsInXMLDSigNamespace(t *testing.T) {
	tr := newTrust(t)
	is, err := tr.ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.dir.Register("000.00.00.G22", is.Certificate); err != nil {
		t.Fatal(err)
	}
	packet := edocPacket(t)
	const evil = ` xmlns="urn:evil"`
	control := `<Signature xmlns="` + signing.XMLDSigNS + `"><SignedInfo>` +
		`<CanonicalizationMethod Algorithm="` + signing.AlgExcC14N + `"/>` +
		`<SignatureMethod Algorithm="` + signing.AlgRSASHA256 + `"/>` +
		`<Reference URI=""><Transforms><Transform Algorithm="` + signing.AlgEnveloped + `"/>` +
		`<Transform Algorithm="` + signing.AlgExcC14N + `"><InclusiveNamespaces xmlns="` + signing.AlgExcC14N + `" PrefixList="edXML"/></Transform></Transforms>` +
		`<DigestMethod Algorithm="` + signing.AlgSHA256 + `"/><DigestValue>{{digest}}</DigestValue></Reference></SignedInfo>` +
		`<SignatureValue>{{signature}}</SignatureValue>` +
		`<KeyInfo><X509Data><X509Certificate>{{certificate}}</X509Certificate></X509Data></KeyInfo></Signature>`
	canon := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("edXML")
	for _, c := range []struct {
		name, old, new string // control with old replaced by new, once
		cause          error
	}{
		{"Control", "", "", nil},
		{"ControlUnusedPrefix", `<SignedInfo>`, `<SignedInfo xmlns:e="urn:evil">`, nil},
		{"SignedInfo", `<SignedInfo>`, `<SignedInfo` + evil + `>`, signing.ErrSignatureShape},
		{"e:SignedInfo", `<SignedInfo>…</SignedInfo>`, `<e:SignedInfo xmlns:e="urn:evil">…</e:SignedInfo>`, signing.ErrSignatureShape},
		{"CanonicalizationMethod", `<CanonicalizationMethod`, `<CanonicalizationMethod` + evil, signing.ErrSignatureShape},
		{"SignatureMethod", `<SignatureMethod`, `<SignatureMethod` + evil, signing.ErrSignatureShape},
		{"Reference", `<Reference`, `<Reference` + evil, signing.ErrSignatureShape},
		{"Transforms", `<Transforms>`, `<Transforms` + evil + `>`, signing.ErrSignatureShape},
		{"Transform", `<Transform Algorithm="` + signing.AlgExcC14N + `"`, `<Transform` + evil + ` Algorithm="` + signing.AlgExcC14N + `"`, signing.ErrSignatureShape},
		{"InclusiveNamespaces", `<InclusiveNamespaces xmlns="` + signing.AlgExcC14N + `"`, `<InclusiveNamespaces`, signing.ErrSignatureShape},
		{"DigestMethod", `<DigestMethod`, `<DigestMethod` + evil, signing.ErrSignatureShape},
		{"DigestValue", `<DigestValue>`, `<DigestValue` + evil + `>`, signing.ErrSignatureShape},
		{"SignatureValue", `<SignatureValue>`, `<SignatureValue` + evil + `>`, signing.ErrSignatureShape},
		{"KeyInfo", `<KeyInfo>`, `<KeyInfo` + evil + `>`, signing.ErrBadCertificate},
		{"X509Data", `<X509Data>`, `<X509Data` + evil + `>`, signing.ErrBadCertificate},
		{"X509Certificate", `<X509Certificate>`, `<X509Certificate` + evil + `>`, signing.ErrBadCertificate},
	} {
		t.Run(c.name, func(t *testing.T) {
			sig := control
			// "…" in old and new stands for what lies between their two
			// parts, each replaced once.
			olds, news := strings.Split(c.old, "…"), strings.Split(c.new, "…")
			for i := range olds {
				if olds[i] == "" {
					continue
				}
				if !strings.Contains(sig, olds[i]) {
					t.Fatalf("%q not in the Signature", olds[i])
				}
				sig = strings.Replace(sig, olds[i], news[i], 1)
			}
			signed := craftSignature(t, is, packet, sig, canon, crypto.SHA256, crypto.SHA256)
			vd, err := tr.verifier.Verify(t.Context(), signed)
			if err != nil {
				t.Fatal(err)
			}
			if c.cause == nil {
				if vd.Outcome != signing.Valid {
					t.Fatalf("verdict %s (%s), want valid", vd.Outcome, vd.ReasonEN)
				}
				return
			}
			if vd.Outcome != signing.Malformed || !errors.Is(vd.Cause, c.cause) {
				t.Fatalf("verdict %s (%s, %v), want malformed (%v)", vd.Outcome, vd.ReasonEN, vd.Cause, c.cause)
			}
			if !strings.Contains(vd.ReasonEN, "<"+c.name+">") || !strings.Contains(vd.ReasonEN, `namespace "urn:evil"`) &&
				!strings.Contains(vd.ReasonEN, `namespace "`+signing.XMLDSigNS+`"`) {
				t.Errorf("reason %q does not name <%s> and its namespace", vd.ReasonEN, c.name)
			}
		})
	}
}
