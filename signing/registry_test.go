package signing_test

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/lienthong/lienthong/signing"
)

// registry is a Directory that answers as a CertificateRegistry what its
// answers say, and fails the test if asked for certificates.
type registry struct {
	t       *testing.T
	answers map[string]bool // by agency code and certificate subject
	err     error
	asked   int
}

func (r *registry) SigningCertificates(context.Context, string) ([]*x509.Certificate, error) {
	r.t.Error("SigningCertificates was called on a CertificateRegistry")
	return nil, nil
}

func (r *registry) HasSigningCertificate(_ context.Context, agency string, cert *x509.Certificate) (bool, error) {
	r.asked++
	return r.answers[agency+" "+cert.Subject.CommonName], r.err
}

// TestVerifier_CertificateRegistry: a Directory that is a
// CertificateRegistry is asked about the packet's certificate and its
// answer is the binding, under the rules that do not depend on the
// directory (a certificate naming another agency signs for none else).
func TestVerifier_CertificateRegistry(t *testing.T) {
	tr := newTrust(t)
	g22, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"}, "")
	h41, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"}, "")
	reg := &registry{t: t, answers: map[string]bool{
		"000.00.00.G22 Văn phòng Chính phủ": true,
		// The registry lists H41's certificate for G22 too: it names H41.
		"000.00.00.G22 UBND tỉnh Nghệ An": true,
	}}
	tr.verifier.Directory = reg
	fromG22 := edocPacket(t)
	tr.wantVerdict(t, mustSign(t, g22, fromG22), signing.Valid, nil)
	tr.wantVerdict(t, mustSign(t, h41, fromG22), signing.NotBound, signing.ErrSignerNotRegistered)
	tr.wantVerdict(t, mustSign(t, h41, statusPacket(t)), signing.NotBound, signing.ErrSignerNotRegistered)
	if reg.asked != 3 {
		t.Errorf("the registry was asked %d times, want 3", reg.asked)
	}

	reg.err = errors.New("the registry is down")
	_, err := tr.verifier.Verify(t.Context(), mustSign(t, g22, fromG22))
	if !errors.Is(err, reg.err) {
		t.Errorf("Verify with the registry failing = %v, want its error", err)
	}
}
