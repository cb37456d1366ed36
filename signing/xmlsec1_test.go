package signing_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/signing"
)

// xmlsec1 returns the path of the xmlsec1 program. .ci/run installs it and
// sets LIENTHONG_REQUIRE_XMLSEC1, so that CI cannot skip the interop tests.
func xmlsec1(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("LIENTHONG_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmlsec1 is required (LIENTHONG_REQUIRE_XMLSEC1 is set) but not installed")
		}
		t.Skip("xmlsec1 not installed (apt-get install xmlsec1)")
	}
	return path
}

func writePEM(t *testing.T, path string, cert *x509.Certificate) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestXMLSec1_VerifiesLienthong: what lienthong signs verifies with
// xmlsec1 --verify, for an edoc and a status packet.
func TestXMLSec1_VerifiesLienthong(t *testing.T) {
	bin := xmlsec1(t)
	key, cert := selfSigned(t, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted.pem")
	writePEM(t, trusted, cert)
	for name, packet := range map[string][]byte{"edoc": edocPacket(t), "status": statusPacket(t)} {
		t.Run(name, func(t *testing.T) {
			signed, err := s.Sign(packet)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, name+".edxml")
			if err := os.WriteFile(file, signed, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "--verify", "--trusted-pem", trusted, file).CombinedOutput()
			if err != nil {
				t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
			}
			tampered := filepath.Join(dir, name+"-tampered.edxml")
			if err := os.WriteFile(tampered, bytes.Replace(signed, []byte("000.00.00.H41"), []byte("000.00.00.H42"), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "--verify", "--trusted-pem", trusted, tampered).CombinedOutput(); err == nil {
				t.Fatalf("xmlsec1 --verify accepts a tampered packet:\n%s", out)
			}
		})
	}
}
