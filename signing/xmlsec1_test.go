package signing_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
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

// interopSizes are the packet sizes the interop tests use: a typical
// letter and a large one with a scanned attachment.
var interopSizes = []struct {
	name string
	n    int
}{{"20KB", 20 << 10}, {"5MB", 5 << 20}}

// TestXMLSec1_VerifiesLienthong: what lienthong signs verifies with
// xmlsec1 --verify against the CA, for edocs of 20 KB and 5 MB and a status
// packet, and xmlsec1 rejects them once changed.
func TestXMLSec1_VerifiesLienthong(t *testing.T) {
	bin := xmlsec1(t)
	tr := newTrust(t)
	s, _ := tr.signer(t, signing.IssueRequest{Agency: "000.00.00.G22"}, "")
	dir := t.TempDir()
	trusted := filepath.Join(dir, "ca.pem")
	writePEM(t, trusted, tr.ca.Certificate())
	packets := map[string][]byte{"status": statusPacket(t)}
	for _, size := range interopSizes {
		packets["edoc-"+size.name] = sizedPacket(t, size.n)
	}
	for name, packet := range packets {
		t.Run(name, func(t *testing.T) {
			signed := mustSign(t, s, packet)
			file := filepath.Join(dir, name+".edxml")
			if err := os.WriteFile(file, signed, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "--verify", "--trusted-pem", trusted, file).CombinedOutput(); err != nil {
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

// xmlsec1Algorithms are the two ways the issue asks xmlsec1 to sign:
// lienthong's own, and the legacy C14N 1.0 with RSA-SHA1.
var xmlsec1Algorithms = []struct {
	name                 string
	c14n, method, digest string
	legacy               bool
}{
	{"exc-c14n-rsa-sha256", signing.AlgExcC14N, signing.AlgRSASHA256, signing.AlgSHA256, false},
	{"c14n-rsa-sha1", signing.AlgC14N10, signing.AlgRSASHA1, signing.AlgSHA1, true},
}

// xmlsec1Sign signs packet with xmlsec1: it places a Signature template
// after TraceHeaderList and lets xmlsec1 fill it in, certificate included.
func xmlsec1Sign(t *testing.T, bin, dir, keyPrefix string, packet []byte, c14n, method, digest string) []byte {
	t.Helper()
	tmpl := fmt.Sprintf(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>`+
		`<CanonicalizationMethod Algorithm="%s"/><SignatureMethod Algorithm="%s"/>`+
		`<Reference URI=""><Transforms><Transform Algorithm="%s"/><Transform Algorithm="%s"/></Transforms>`+
		`<DigestMethod Algorithm="%s"/><DigestValue/></Reference></SignedInfo>`+
		`<SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>`,
		c14n, method, signing.AlgEnveloped, c14n, digest)
	const after = "</edXML:TraceHeaderList>"
	if bytes.Count(packet, []byte(after)) != 1 {
		t.Fatalf("the packet has no single %s", after)
	}
	in := filepath.Join(dir, "template.edxml")
	out := filepath.Join(dir, "signed.edxml")
	os.Remove(out)
	if err := os.WriteFile(in, bytes.Replace(packet, []byte(after), []byte(after+tmpl), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--sign", "--privkey-pem", keyPrefix+".key,"+keyPrefix+".crt", "--output", out, in)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// TestLienthong_VerifiesXMLSec1: what xmlsec1 signs verifies in lienthong,
// for packets of 20 KB and 5 MB: exclusive C14N with RSA-SHA256 under the
// default policy; C14N 1.0 with RSA-SHA1 only under the legacy policy, and
// as weak-algorithm otherwise. A changed packet is invalid either way.
func TestLienthong_VerifiesXMLSec1(t *testing.T) {
	bin := xmlsec1(t)
	tr := newTrust(t)
	is, err := tr.ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.dir.Register("000.00.00.G22", is.Certificate); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPrefix := filepath.Join(dir, "vpcp")
	if err := is.WriteFiles(keyPrefix); err != nil {
		t.Fatal(err)
	}
	legacy := *tr.verifier
	legacy.Policy = signing.Policy{AllowSHA1: true}
	for _, size := range interopSizes {
		packet := sizedPacket(t, size.n)
		for _, alg := range xmlsec1Algorithms {
			t.Run(size.name+"/"+alg.name, func(t *testing.T) {
				signed := xmlsec1Sign(t, bin, dir, keyPrefix, packet, alg.c14n, alg.method, alg.digest)
				if alg.legacy {
					tr.wantVerdict(t, signed, signing.WeakAlgorithm, signing.ErrAlgorithmNotAllowed)
				}
				v := tr.verifier
				if alg.legacy {
					v = &legacy
				}
				vd, err := v.Verify(t.Context(), signed)
				if err != nil {
					t.Fatal(err)
				}
				if vd.Outcome != signing.Valid || vd.Legacy != alg.legacy {
					t.Fatalf("verdict %s (legacy %v): %s", vd.Outcome, vd.Legacy, vd.ReasonEN)
				}
				if got := vd.Packet.Edoc.Header.Subject; got != "V/v kết nối, liên thông phần mềm quản lý văn bản" {
					t.Errorf("subject read from the verified tree: %q", got)
				}
				if n := len(vd.Packet.Edoc.Attachments); n != 1 || vd.Packet.Edoc.Attachments[0].Size() != len(bytes.Repeat([]byte{0x5a, 0x17, 0xc3}, size.n/4)) {
					t.Errorf("attachments read from the verified tree: %d", n)
				}
				tampered := bytes.Replace(signed, []byte("Hà Nội"), []byte("Hà Nam"), 1)
				vd, err = v.Verify(t.Context(), tampered)
				if err != nil {
					t.Fatal(err)
				}
				if vd.Outcome != signing.Invalid {
					t.Fatalf("tampered packet: verdict %s: %s", vd.Outcome, vd.ReasonEN)
				}
			})
		}
	}
}
