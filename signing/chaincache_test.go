package signing_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing"
)

// issueCert makes an RSA-2048 key and a certificate for it from tmpl,
// signed by parent's key (self-signed when parent is nil).
func issueCert(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// A chain remembered is reused only while every certificate in it is
// valid: here the intermediate's validity is shorter than the leaf's, so
// the leaf's own check does not catch it, and it ends before the cache's
// age bound would.
func TestVerifier_ChainsValidity(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	ca := func(name string, from, to time.Time) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(from.UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: from, NotAfter: to,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		}
	}
	rootKey, root := issueCert(t, ca("Root", t0.Add(-48*time.Hour), t0.Add(48*time.Hour)), nil, nil)
	interKey, inter := issueCert(t, ca("Intermediate", t0.Add(-time.Hour), t0.Add(2*time.Minute)), root, rootKey)
	leafKey, leaf := issueCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "Văn phòng Chính phủ", SerialNumber: "000.00.00.G22"},
		NotBefore:    t0.Add(-24 * time.Hour), NotAfter: t0.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, inter, interKey)
	s, err := signing.NewSigner(leafKey, []*x509.Certificate{leaf, inter})
	if err != nil {
		t.Fatal(err)
	}
	signed := mustSign(t, s, edocPacket(t))
	roots := x509.NewCertPool()
	roots.AddCert(root)
	dir := signing.StaticDirectory{}
	if err := dir.Register("000.00.00.G22", leaf); err != nil {
		t.Fatal(err)
	}
	now := t0
	v := &signing.Verifier{Roots: roots, Directory: dir, Chains: &signing.ChainCache{}, Now: func() time.Time { return now }}
	for _, step := range []struct {
		name string
		at   time.Time
		want signing.Outcome
	}{
		{"first", t0, signing.Valid},
		{"remembered", t0.Add(time.Minute), signing.Valid},
		{"after the intermediate expired", t0.Add(2*time.Minute + time.Second), signing.Untrusted},
		{"before the intermediate was valid", t0.Add(-time.Hour - time.Second), signing.Untrusted},
		{"valid again", t0, signing.Valid},
	} {
		now = step.at
		vd, err := v.Verify(t.Context(), signed)
		if err != nil {
			t.Fatal(err)
		}
		if vd.Outcome != step.want {
			t.Errorf("%s: %s (%s), want %s", step.name, vd.Outcome, vd.ReasonEN, step.want)
		}
	}
}

// A chain remembered under one Roots pool is not reused under another,
// though the Verifiers share the cache.
func TestVerifier_ChainsRoots(t *testing.T) {
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	signed := mustSign(t, s, edocPacket(t))
	cache := &signing.ChainCache{}
	tr.verifier.Chains = cache
	tr.wantVerdict(t, signed, signing.Valid, nil)

	other, err := signing.InitCA(filepath.Join(t.TempDir(), "other"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	reloaded := x509.NewCertPool()
	reloaded.AddCert(other.Certificate())
	v := &signing.Verifier{Roots: reloaded, Directory: tr.dir, Chains: cache}
	vd, err := v.Verify(t.Context(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if vd.Outcome != signing.Untrusted {
		t.Errorf("under a trust store without its CA: %s (%s), want untrusted", vd.Outcome, vd.ReasonEN)
	}
	tr.wantVerdict(t, signed, signing.Valid, nil)
}

// Revocation is judged on every packet, a remembered chain or not.
func TestVerifier_ChainsRevocation(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		tr := newTrust(t)
		s, cert := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
		signed := mustSign(t, s, edocPacket(t))
		tr.verifier.Chains = &signing.ChainCache{}
		tr.verifier.Revocations = nil
		if indexed {
			tr.verifier.Revocations = signing.NewRevocations(tr.verifier.CRLs)
		}
		tr.wantVerdict(t, signed, signing.Valid, nil)
		vd := tr.wantVerdict(t, signed, signing.Valid, nil)
		if sum := sha256.Sum256(cert.Raw); vd.Fingerprint != hex.EncodeToString(sum[:]) || vd.Subject != cert.Subject.String() || !vd.Certificate.Equal(cert) {
			t.Errorf("a verdict from memory names %q %q", vd.Subject, vd.Fingerprint)
		}
		if err := tr.ca.RevokeCertificate(cert); err != nil {
			t.Fatal(err)
		}
		tr.reloadCRL(t)
		if indexed {
			tr.verifier.Revocations = signing.NewRevocations(tr.verifier.CRLs)
		}
		tr.wantVerdict(t, signed, signing.Revoked, signing.ErrCertificateRevoked)
	}
}

// Verifiers sharing a cache may verify at once (run with -race).
func TestVerifier_ChainsConcurrent(t *testing.T) {
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "000.00.00.G22")
	signed := mustSign(t, s, edocPacket(t))
	tr.verifier.Chains = &signing.ChainCache{}
	other := *tr.verifier
	other.Roots = x509.NewCertPool()
	other.Roots.AddCert(tr.ca.Certificate())
	errs := make(chan error, 8)
	start := make(chan struct{})
	for i := range 8 {
		v := tr.verifier
		if i%2 == 1 {
			v = &other
		}
		go func() {
			<-start
			for range 10 {
				vd, err := v.Verify(t.Context(), signed)
				if err == nil && vd.Outcome != signing.Valid {
					err = fmt.Errorf("%s: %s", vd.Outcome, vd.ReasonEN)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	close(start)
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
