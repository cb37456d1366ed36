package signing_test

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/lienthong/lienthong/signing"
)

// TestLoadPKCS12: a .p12 written with the modern (PBES2, AES) and the
// legacy (3DES, RC2) encryptions loads into a working Signer, the leaf
// first in the chain; a wrong password, another file and a key that is too
// small are refused with errors that name the file and not the key.
func TestLoadPKCS12(t *testing.T) {
	tr := newTrust(t)
	is, err := tr.ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.dir.Register("000.00.00.G22", is.Certificate); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const password = "mật khẩu 2026"
	for name, enc := range map[string]*pkcs12.Encoder{"modern": pkcs12.Modern, "legacy": pkcs12.LegacyDES} {
		t.Run(name, func(t *testing.T) {
			pfx, err := enc.Encode(is.Key, is.Certificate, []*x509.Certificate{tr.ca.Certificate()}, password)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".p12")
			if err := os.WriteFile(path, pfx, 0o600); err != nil {
				t.Fatal(err)
			}
			key, chain, err := signing.LoadPKCS12(path, password)
			if err != nil {
				t.Fatal(err)
			}
			if len(chain) != 2 || !chain[0].Equal(is.Certificate) || !chain[1].Equal(tr.ca.Certificate()) {
				t.Fatalf("chain of %d certificates, not leaf then CA", len(chain))
			}
			s, err := signing.NewSigner(key, chain)
			if err != nil {
				t.Fatal(err)
			}
			tr.wantVerdict(t, mustSign(t, s, edocPacket(t)), signing.Valid, nil)

			_, _, err = signing.LoadPKCS12(path, "sai mật khẩu")
			if !errors.Is(err, signing.ErrKey) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "password") {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
	t.Run("NotPKCS12", func(t *testing.T) {
		path := filepath.Join(dir, "not.p12")
		if err := os.WriteFile(path, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := signing.LoadPKCS12(path, ""); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("a PEM file read as PKCS#12: %v", err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		if _, _, err := signing.LoadPKCS12(filepath.Join(dir, "none.p12"), ""); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a missing file: %v", err)
		}
	})
	t.Run("SmallKey", func(t *testing.T) {
		key, cert := selfSigned(t, 1024)
		pfx, err := pkcs12.Modern.Encode(key, cert, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "small.p12")
		if err := os.WriteFile(path, pfx, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := signing.LoadPKCS12(path, ""); !errors.Is(err, signing.ErrKey) {
			t.Errorf("an RSA-1024 key: %v", err)
		}
	})
}
