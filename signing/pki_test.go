package signing_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// mustInitCA makes a CA with a 2048-bit key, to keep the tests quick.
func mustInitCA(tb testing.TB) *signing.CA {
	tb.Helper()
	ca, err := signing.InitCA(filepath.Join(tb.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

// mustIssue issues an agency certificate for code.
func mustIssue(tb testing.TB, ca *signing.CA, code string) *signing.Issued {
	tb.Helper()
	is, err := ca.Issue(signing.IssueRequest{Agency: code, Name: "Văn phòng Chính phủ"})
	if err != nil {
		tb.Fatal(err)
	}
	return is
}

// wantMode fails the test unless the file at path has mode perm.
func wantMode(tb testing.TB, path string, perm fs.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != perm {
		tb.Errorf("%s: mode %v, want %v", path, got, perm)
	}
}

func verify(ca *signing.CA, cert *x509.Certificate, at time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: at,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

func TestInitCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, envelope.VietnamTime())
	ca, err := signing.InitCA(dir, signing.CAOptions{KeyBits: 2048, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	wantMode(t, dir, 0o700)
	wantMode(t, filepath.Join(dir, signing.CAKeyFile), 0o600)
	wantMode(t, filepath.Join(dir, signing.CACertFile), 0o644)
	wantMode(t, filepath.Join(dir, signing.CRLFile), 0o644)
	wantMode(t, filepath.Join(dir, signing.IssuedDir), 0o700)

	cert := ca.Certificate()
	if got, want := cert.Subject.CommonName, signing.DefaultCAName; got != want {
		t.Errorf("CN %q, want %q", got, want)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 || cert.KeyUsage&x509.KeyUsageCRLSign == 0 {
		t.Errorf("not a CA certificate: IsCA %v, key usage %b", cert.IsCA, cert.KeyUsage)
	}
	if !cert.NotBefore.Equal(now) {
		t.Errorf("NotBefore %v, want %v (CAOptions.Now)", cert.NotBefore, now)
	}
	if got, want := cert.NotAfter.Sub(cert.NotBefore), signing.DefaultCAValidity; got != want {
		t.Errorf("validity %v, want %v", got, want)
	}
	if got := cert.PublicKey.(*rsa.PublicKey).N.BitLen(); got != 2048 {
		t.Errorf("key of %d bits, want 2048", got)
	}

	crl, err := signing.LoadCRL(filepath.Join(dir, signing.CRLFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(cert); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 0 {
		t.Errorf("new CRL has %d entries", len(crl.RevokedCertificateEntries))
	}
	if got, want := crl.Number.Int64(), int64(1); got != want {
		t.Errorf("CRL number %d, want %d", got, want)
	}

	t.Run("Open", func(t *testing.T) {
		opened, err := signing.OpenCA(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !opened.Certificate().Equal(cert) {
			t.Error("OpenCA returned another certificate")
		}
		if s := opened.String(); strings.Contains(s, "PRIVATE") || !strings.Contains(s, dir) {
			t.Errorf("String() = %q", s)
		}
	})

	t.Run("Twice", func(t *testing.T) {
		_, err := signing.InitCA(dir, signing.CAOptions{KeyBits: 2048})
		if !errors.Is(err, signing.ErrCAExists) {
			t.Fatalf("second InitCA: %v, want ErrCAExists", err)
		}
		if !strings.Contains(err.Error(), signing.CAKeyFile) {
			t.Errorf("error does not name the file: %v", err)
		}
		// The first CA is intact.
		if _, err := signing.OpenCA(dir); err != nil {
			t.Errorf("OpenCA after a refused InitCA: %v", err)
		}
	})
}

func TestInitCA_BadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    signing.CAOptions
		wantErr string
	}{
		{"SmallKey", signing.CAOptions{KeyBits: 1024}, "key size 1024 bits"},
		{"LongName", signing.CAOptions{Name: strings.Repeat("ạ", 65)}, "65 characters"},
		{"BlankName", signing.CAOptions{Name: "  "}, "name is empty"},
		{"NegativeValidity", signing.CAOptions{KeyBits: 2048, Validity: -time.Hour}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			_, err := signing.InitCA(dir, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "signing: ") {
				t.Fatalf("InitCA: %v, want an error about %q", err, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(dir, signing.CAKeyFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused InitCA left a key: %v", err)
			}
		})
	}
}

func TestCA_Issue(t *testing.T) {
	ca := mustInitCA(t)
	tests := []struct {
		name     string
		req      signing.IssueRequest
		wantCode string
		wantBits int
	}{
		{"Agency", signing.IssueRequest{Agency: "000.00.00.G01", Name: "Văn phòng Chính phủ"}, "000.00.00.G01", 2048},
		{"AgencyQD20", signing.IssueRequest{Agency: "H41.12", Name: "UBND huyện Nghi Lộc"}, "000.00.12.H41", 2048},
		{"Gateway", signing.IssueRequest{Agency: "000.00.00.H40", Name: "Cổng liên thông tỉnh Nghệ An", Gateway: true, KeyBits: 3072}, "000.00.00.H40", 3072},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, err := ca.Issue(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			cert := is.Certificate
			if err := verify(ca, cert, time.Now()); err != nil {
				t.Errorf("does not chain to the CA: %v", err)
			}
			if got, want := cert.KeyUsage, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment; got != want {
				t.Errorf("key usage %b, want %b", got, want)
			}
			if len(cert.ExtKeyUsage) != 0 || cert.IsCA {
				t.Errorf("ExtKeyUsage %v, IsCA %v; want none, false", cert.ExtKeyUsage, cert.IsCA)
			}
			code, ok := signing.AgencyCodeOf(cert)
			if !ok || code != tt.wantCode {
				t.Errorf("AgencyCodeOf = %q, %v; want %q", code, ok, tt.wantCode)
			}
			if got, want := cert.Subject.CommonName, tt.req.Name; got != want {
				t.Errorf("CN %q, want %q", got, want)
			}
			if got, want := cert.Subject.SerialNumber, tt.wantCode; got != want {
				t.Errorf("subject serialNumber %q, want %q", got, want)
			}
			if got, want := signing.IsGatewayCertificate(cert), tt.req.Gateway; got != want {
				t.Errorf("IsGatewayCertificate = %v, want %v (OU %q)", got, want, cert.Subject.OrganizationalUnit)
			}
			if got := cert.Subject.Organization; len(got) != 1 || got[0] != signing.Organization {
				t.Errorf("O %q", got)
			}
			if got := is.Key.N.BitLen(); got != tt.wantBits {
				t.Errorf("key of %d bits, want %d", got, tt.wantBits)
			}
			if !is.Key.PublicKey.Equal(cert.PublicKey) {
				t.Error("the key is not the certificate's")
			}
			if got, want := cert.NotAfter.Sub(cert.NotBefore), signing.DefaultValidity; got != want {
				t.Errorf("validity %v, want %v", got, want)
			}
			if n := cert.SerialNumber.BitLen(); n > 128 || n < 64 {
				t.Errorf("serial number of %d bits", n)
			}
			if _, err := os.Stat(filepath.Join(ca.Dir(), signing.IssuedDir, cert.SerialNumber.Text(16)+".crt")); err != nil {
				t.Errorf("not recorded: %v", err)
			}
		})
	}
}

func TestCA_Issue_Refuses(t *testing.T) {
	ca := mustInitCA(t)
	tests := []struct {
		name    string
		req     signing.IssueRequest
		wantErr string
		is      error
	}{
		{"LowerCaseCode", signing.IssueRequest{Agency: "h41.12", Name: "X"}, `"h41.12"`, envelope.ErrBadAgencyCode},
		{"BadCode", signing.IssueRequest{Agency: "H41..12", Name: "X"}, `"H41..12"`, envelope.ErrBadAgencyCode},
		{"NoCode", signing.IssueRequest{Name: "X"}, "empty", envelope.ErrBadAgencyCode},
		{"SmallKey", signing.IssueRequest{Agency: "H41", Name: "X", KeyBits: 1024}, "key size 1024 bits: want 2048 or 3072", nil},
		{"LargeKey", signing.IssueRequest{Agency: "H41", Name: "X", KeyBits: 4096}, "key size 4096 bits: want 2048 or 3072", nil},
		{"NoName", signing.IssueRequest{Agency: "H41"}, "name is empty", nil},
		{"ControlInName", signing.IssueRequest{Agency: "H41", Name: "a\nb"}, "control characters", nil},
		{"NegativeValidity", signing.IssueRequest{Agency: "H41", Name: "X", Validity: -time.Hour}, "negative", nil},
		{"AfterCA", signing.IssueRequest{Agency: "H41", Name: "X", NotBefore: time.Now().AddDate(20, 0, 0)}, "CA certificate expires", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.Issue(tt.req)
			if err == nil {
				t.Fatal("Issue succeeded")
			}
			if !strings.HasPrefix(err.Error(), "signing: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want one mentioning %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestCA_Issue_Validity(t *testing.T) {
	ca := mustInitCA(t)
	now := time.Now()

	t.Run("Expired", func(t *testing.T) {
		is, err := ca.Issue(signing.IssueRequest{
			Agency: "H41", Name: "UBND tỉnh Nghệ An",
			NotBefore: now.AddDate(-3, 0, 0), Validity: 365 * 24 * time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		var ce x509.CertificateInvalidError
		if err := verify(ca, is.Certificate, now); !errors.As(err, &ce) || ce.Reason != x509.Expired {
			t.Errorf("Verify of an expired certificate: %v, want Expired", err)
		}
	})
	t.Run("NotYetValid", func(t *testing.T) {
		is, err := ca.Issue(signing.IssueRequest{Agency: "H41", Name: "UBND tỉnh Nghệ An", NotBefore: now.Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := verify(ca, is.Certificate, now); err == nil {
			t.Error("Verify of a certificate not yet valid succeeded")
		}
		if err := verify(ca, is.Certificate, now.Add(72*time.Hour)); err != nil {
			t.Errorf("Verify once valid: %v", err)
		}
	})
	t.Run("CutToCA", func(t *testing.T) {
		is, err := ca.Issue(signing.IssueRequest{Agency: "H41", Name: "UBND tỉnh Nghệ An", Validity: 50 * 365 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := is.Certificate.NotAfter, ca.Certificate().NotAfter; !got.Equal(want) {
			t.Errorf("NotAfter %v, want the CA's %v", got, want)
		}
	})
}

func TestIssued_WriteFiles(t *testing.T) {
	ca := mustInitCA(t)
	is := mustIssue(t, ca, "000.00.00.G01")
	prefix := filepath.Join(t.TempDir(), "vpcp")
	if err := is.WriteFiles(prefix); err != nil {
		t.Fatal(err)
	}
	wantMode(t, prefix+".key", 0o600)
	wantMode(t, prefix+".crt", 0o644)

	certs, err := signing.LoadCertificates(prefix + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || !certs[0].Equal(is.Certificate) {
		t.Errorf("LoadCertificates: %d certificates, not the one written", len(certs))
	}
	key, err := signing.LoadPrivateKey(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if !is.Key.Equal(key) {
		t.Error("LoadPrivateKey: not the key written")
	}
	b, _ := os.ReadFile(prefix + ".key")
	if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file is not PKCS#8 PEM: %.30q", b)
	}

	t.Run("NoOverwrite", func(t *testing.T) {
		other := mustIssue(t, ca, "000.00.00.G01")
		err := other.WriteFiles(prefix)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("WriteFiles over existing files: %v, want fs.ErrExist", err)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("error shows key material: %v", err)
		}
		if key, err := signing.LoadPrivateKey(prefix + ".key"); err != nil || !is.Key.Equal(key) {
			t.Errorf("the first key was changed (%v)", err)
		}
	})
	t.Run("OnlyCertExists", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x")
		if err := os.WriteFile(p+".crt", []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := is.WriteFiles(p); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("WriteFiles: %v, want fs.ErrExist", err)
		}
		if _, err := os.Stat(p + ".key"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a key was written although the certificate could not be: %v", err)
		}
	})
}

func TestCA_Revoke(t *testing.T) {
	ca := mustInitCA(t)
	a := mustIssue(t, ca, "000.00.00.G01")
	b := mustIssue(t, ca, "000.00.00.H40")
	crlPath := filepath.Join(ca.Dir(), signing.CRLFile)

	loadCRL := func(t *testing.T) *x509.RevocationList {
		t.Helper()
		crl, err := signing.LoadCRL(crlPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(ca.Certificate()); err != nil {
			t.Fatalf("CRL signature: %v", err)
		}
		return crl
	}

	if err := ca.Revoke(a.Certificate.SerialNumber, signing.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	crl := loadCRL(t)
	if len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d CRL entries, want 1", len(crl.RevokedCertificateEntries))
	}
	e := crl.RevokedCertificateEntries[0]
	if e.SerialNumber.Cmp(a.Certificate.SerialNumber) != 0 || e.ReasonCode != signing.ReasonKeyCompromise {
		t.Errorf("entry %x reason %d, want %x reason %d", e.SerialNumber, e.ReasonCode, a.Certificate.SerialNumber, signing.ReasonKeyCompromise)
	}
	if got, want := crl.Number.Int64(), int64(2); got != want {
		t.Errorf("CRL number %d, want %d", got, want)
	}
	if got, want := crl.NextUpdate.Sub(crl.ThisUpdate), signing.CRLValidity; got != want {
		t.Errorf("NextUpdate - ThisUpdate = %v, want %v", got, want)
	}
	wantMode(t, crlPath, 0o644)

	t.Run("Twice", func(t *testing.T) {
		err := ca.RevokeCertificate(a.Certificate)
		if !errors.Is(err, signing.ErrAlreadyRevoked) {
			t.Fatalf("second revocation: %v, want ErrAlreadyRevoked", err)
		}
		if got := loadCRL(t).Number.Int64(); got != 2 {
			t.Errorf("CRL number %d after a refused revocation, want it unchanged at 2", got)
		}
	})
	t.Run("ReopenedCA", func(t *testing.T) {
		reopened, err := signing.OpenCA(ca.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if err := reopened.RevokeCertificate(b.Certificate); err != nil {
			t.Fatal(err)
		}
		crl := loadCRL(t)
		if got, want := crl.Number.Int64(), int64(3); got != want {
			t.Errorf("CRL number %d, want %d", got, want)
		}
		var serials []string
		for _, e := range crl.RevokedCertificateEntries {
			serials = append(serials, e.SerialNumber.Text(16))
		}
		if len(serials) != 2 || serials[0] != a.Certificate.SerialNumber.Text(16) || serials[1] != b.Certificate.SerialNumber.Text(16) {
			t.Errorf("CRL serials %v, want a then b", serials)
		}
		if got := crl.RevokedCertificateEntries[0].ReasonCode; got != signing.ReasonKeyCompromise {
			t.Errorf("first entry's reason became %d", got)
		}
	})
	t.Run("Refresh", func(t *testing.T) {
		before := loadCRL(t)
		if err := ca.RefreshCRL(); err != nil {
			t.Fatal(err)
		}
		after := loadCRL(t)
		if after.Number.Cmp(before.Number) <= 0 || len(after.RevokedCertificateEntries) != len(before.RevokedCertificateEntries) {
			t.Errorf("refreshed CRL: number %v → %v, %d → %d entries", before.Number, after.Number,
				len(before.RevokedCertificateEntries), len(after.RevokedCertificateEntries))
		}
	})
	t.Run("NotIssued", func(t *testing.T) {
		if err := ca.Revoke(big.NewInt(12345), 0); !errors.Is(err, signing.ErrNotIssued) {
			t.Errorf("Revoke of an unknown serial: %v, want ErrNotIssued", err)
		}
		other := mustIssue(t, mustInitCA(t), "000.00.00.G01")
		if err := ca.RevokeCertificate(other.Certificate); !errors.Is(err, signing.ErrNotIssued) {
			t.Errorf("RevokeCertificate of another CA's certificate: %v, want ErrNotIssued", err)
		}
	})
	t.Run("BadReason", func(t *testing.T) {
		for _, reason := range []int{-1, 7, 8, 11} {
			c := mustIssue(t, ca, "H41")
			if err := ca.Revoke(c.Certificate.SerialNumber, reason); err == nil || !strings.Contains(err.Error(), "reason") {
				t.Errorf("reason %d: %v, want an error", reason, err)
			}
		}
	})
}

func TestAgencyCodeOf(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	oidUID := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	tests := []struct {
		name     string
		subject  pkix.Name
		wantCode string
		wantOK   bool
	}{
		{"UIDFirst", pkix.Name{SerialNumber: "H40", ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: "G01"}}}, "000.00.00.G01", true},
		{"SerialNumberOnly", pkix.Name{CommonName: "Bộ Tài chính", SerialNumber: "000.00.00.G12"}, "000.00.00.G12", true},
		{"Lenient", pkix.Name{SerialNumber: " h41.12 "}, "000.00.12.H41", true},
		{"NotACode", pkix.Name{SerialNumber: "MST:0101234567"}, "", false},
		{"BadUIDThenSerial", pkix.Name{SerialNumber: "H40", ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: "nguyenvana"}}}, "000.00.00.H40", true},
		{"None", pkix.Name{CommonName: "Nguyễn Văn A"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: tt.subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			code, ok := signing.AgencyCodeOf(cert)
			if code != tt.wantCode || ok != tt.wantOK {
				t.Errorf("AgencyCodeOf = %q, %v; want %q, %v", code, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
	if code, ok := signing.AgencyCodeOf(nil); ok || code != "" {
		t.Errorf("AgencyCodeOf(nil) = %q, %v", code, ok)
	}
}

func TestLoadPrivateKey(t *testing.T) {
	const secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secret"
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	smallKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	garbagePEM := pemOf("PRIVATE KEY", []byte(secret))

	tests := []struct {
		name    string
		content string
		wantErr string // "" for success
	}{
		{"PKCS1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ""},
		{"AfterCertificate", pemOf("CERTIFICATE", []byte("x")) + pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ""},
		{"Garbage", secret + "\n", "no PEM PRIVATE KEY"},
		{"GarbageInPEM", garbagePEM, "not a valid PKCS#8 key"},
		{"GarbagePKCS1", pemOf("RSA PRIVATE KEY", []byte(secret)), "not a valid PKCS#1 key"},
		{"Encrypted", pemOf("ENCRYPTED PRIVATE KEY", []byte(secret)), "encrypted"},
		{"ECDSA", pemOf("PRIVATE KEY", ecDER), "only RSA"},
		{"Small", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(smallKey)), "1024 bits"},
		{"Two", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)) + pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), "more than one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := signing.LoadPrivateKey(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !rsaKey.Equal(key) {
					t.Error("not the key written")
				}
				return
			}
			if err == nil {
				t.Fatal("LoadPrivateKey succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) || !strings.Contains(msg, path) || !strings.HasPrefix(msg, "signing: ") {
				t.Errorf("error %q, want one naming the file and %q", msg, tt.wantErr)
			}
			// Neither the bytes nor their base64 may leak.
			for _, leak := range []string{secret, secret[:16], base64.StdEncoding.EncodeToString([]byte(secret))[:16], "BEGIN"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error shows the file's content (%q): %s", leak, msg)
				}
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		if _, err := signing.LoadPrivateKey(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file: %v, want fs.ErrNotExist", err)
		}
	})
}

func TestLoadCertificates(t *testing.T) {
	ca := mustInitCA(t)
	is := mustIssue(t, ca, "H41")
	dir := t.TempDir()
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate().Raw})...)
	tests := []struct {
		name    string
		content []byte
		want    int
		wantErr string
	}{
		{"Bundle", bundle, 2, ""},
		{"DER", is.Certificate.Raw, 1, ""},
		{"NoCertificate", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{1}}), 0, "no CERTIFICATE block"},
		{"Garbage", []byte("hello"), 0, "neither PEM nor a DER certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			certs, err := signing.LoadCertificates(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tt.want || !certs[0].Equal(is.Certificate) {
				t.Errorf("%d certificates, want %d starting with the issued one", len(certs), tt.want)
			}
		})
	}
}

func TestLoadCRL_DER(t *testing.T) {
	ca := mustInitCA(t)
	is := mustIssue(t, ca, "H41")
	if err := ca.Revoke(is.Certificate.SerialNumber, signing.ReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ca.Dir(), signing.CRLFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	path := filepath.Join(t.TempDir(), "crl.der")
	if err := os.WriteFile(path, block.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	crl, err := signing.LoadCRL(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(is.Certificate.SerialNumber) != 0 {
		t.Errorf("DER CRL entries: %v", crl.RevokedCertificateEntries)
	}
	if err := crl.CheckSignatureFrom(ca.Certificate()); err != nil {
		t.Error(err)
	}
}
