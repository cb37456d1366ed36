package signing_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
