package signing_test

import (
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing"
)

// TestRevocations: a certificate its issuer's list revokes is revoked, from
// its revocation time on; the list counts only against the issuer that
// signed it, not another a made-up chain names.
func TestRevocations(t *testing.T) {
	ca, err := signing.InitCA(filepath.Join(t.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.InitCA(filepath.Join(t.TempDir(), "other"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.RevokeCertificate(is.Certificate); err != nil {
		t.Fatal(err)
	}
	crl, err := ca.CRL()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	chains, err := is.Certificate.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		t.Fatal(err)
	}
	r := signing.NewRevocations([]*x509.RevocationList{crl})
	if revoked, at := r.Revoked(is.Certificate, chains, time.Now()); !revoked || at.IsZero() {
		t.Errorf("Revoked = %v, %v; want revoked", revoked, at)
	}
	if revoked, _ := r.Revoked(is.Certificate, chains, crl.RevokedCertificateEntries[0].RevocationTime.Add(-time.Hour)); revoked {
		t.Error("revoked before its revocation time")
	}
	// The same list, judged against another issuer (a chain a packet
	// made up), revokes nothing.
	fake := [][]*x509.Certificate{{is.Certificate, other.Certificate()}}
	if revoked, _ := r.Revoked(is.Certificate, fake, time.Now()); revoked {
		t.Error("a list counted for an issuer that did not sign it")
	}
}
