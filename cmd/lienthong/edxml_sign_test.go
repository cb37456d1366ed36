package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// TestEdxmlSign signs with a development CA's certificate, then verifies what
// was signed through every verdict the command line reaches.
func TestEdxmlSign(t *testing.T) {
	weakSample, err := filepath.Abs(sample("edoc.edxml")) // newPacket changes directory
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "vpcp")
	if err := issued.WriteFiles(prefix); err != nil {
		t.Fatal(err)
	}
	packet := newPacket(t, testdata(t, "edoc.yaml"), newTime)
	in := filepath.Join(dir, "doc.edxml")
	if err := os.WriteFile(in, packet, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "signed.edxml")
	run(t, nil, "edxml", "sign", "-key", prefix+".key", "-cert", prefix+".crt", "-o", out, in).wantCode(t, exitOK)
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := envelope.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	if p.Signature == nil || p.Signature.SignatureMethod != signing.AlgRSASHA256 || len(p.Signature.Certificates) != 1 {
		t.Fatalf("Signature = %+v", p.Signature)
	}
	start, end := bytes.Index(signed, []byte("<Signature ")), bytes.Index(signed, []byte("</Signature>"))+len("</Signature>")
	if rest := append(append([]byte{}, signed[:start]...), signed[end:]...); !bytes.Equal(rest, packet) {
		t.Error("signing changed the packet besides adding the Signature")
	}

	// From standard input to standard output, the same bytes (RSA PKCS#1
	// v1.5 is deterministic).
	r := run(t, packet, "edxml", "sign", "-key", prefix+".key", "-cert", prefix+".crt", "-")
	r.wantCode(t, exitOK)
	if r.stdout != string(signed) {
		t.Error("signing from stdin gives other bytes")
	}

	// The same key and certificate from a PKCS#12 file give the same bytes,
	// its password from a file or from the environment.
	pfx, err := pkcs12.Modern.Encode(issued.Key, issued.Certificate, nil, "bí mật")
	if err != nil {
		t.Fatal(err)
	}
	p12, passwordFile := filepath.Join(dir, "vpcp.p12"), filepath.Join(dir, "password")
	if err := os.WriteFile(p12, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passwordFile, []byte("bí mật\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, packet, "edxml", "sign", "-p12", p12, "-p12-password-file", passwordFile, "-")
	r.wantCode(t, exitOK)
	if r.stdout != string(signed) {
		t.Error("signing with the PKCS#12 file gives other bytes")
	}
	t.Setenv("LIENTHONG_P12_PASSWORD", "bí mật")
	if r = run(t, packet, "edxml", "sign", "-p12", p12, "-"); r.stdout != string(signed) {
		t.Errorf("signing with the password from the environment: %s", r.stderr)
	}
	t.Setenv("LIENTHONG_P12_PASSWORD", "sai")
	if r = run(t, packet, "edxml", "sign", "-p12", p12, "-"); r.code == exitOK || !strings.Contains(r.stderr, "password is wrong") {
		t.Errorf("a wrong password: %d %s", r.code, r.stderr)
	}
	run(t, packet, "edxml", "sign", "-p12", p12, "-key", prefix+".key", "-").wantCode(t, exitUsage)

	// Verify what was signed, with every verdict the command line can reach.
	caCrt, crl := filepath.Join(dir, "ca", "ca.crt"), filepath.Join(dir, "ca", "crl.pem")
	r = run(t, nil, "edxml", "verify", "-ca", caCrt, "-crl", crl, "-registered", prefix+".crt", out)
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stdout, ": valid\n") || !strings.Contains(r.stdout, "Chữ ký số hợp lệ") {
		t.Errorf("verify output:\n%s", r.stdout)
	}
	run(t, nil, "edxml", "verify", "-ca", caCrt, out).wantCode(t, verdictExit[signing.NotBound])
	tampered := filepath.Join(dir, "tampered.edxml")
	if err := os.WriteFile(tampered, bytes.Replace(signed, []byte("000.00.00.H41"), []byte("000.00.00.H42"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "edxml", "verify", "-ca", caCrt, "-registered", prefix+".crt", tampered).wantCode(t, verdictExit[signing.Invalid])
	run(t, nil, "edxml", "verify", "-ca", caCrt, "-registered", prefix+".crt", in).wantCode(t, verdictExit[signing.Missing])
	run(t, nil, "edxml", "verify", "-ca", caCrt, weakSample).wantCode(t, verdictExit[signing.WeakAlgorithm])
	// Under the legacy policy SHA-1 passes, and the sample's 2017
	// certificate is judged next.
	run(t, nil, "edxml", "verify", "-allow-sha1", "-ca", caCrt, weakSample).wantCode(t, verdictExit[signing.Expired])
	if err := ca.RevokeCertificate(issued.Certificate); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "edxml", "verify", "-json", "-ca", caCrt, "-crl", crl, "-registered", prefix+".crt", out)
	r.wantCode(t, verdictExit[signing.Revoked])
	if !strings.Contains(r.stdout, `"outcome": "revoked"`) {
		t.Errorf("verify -json output:\n%s", r.stdout)
	}
	run(t, nil, "edxml", "verify", out).wantCode(t, exitUsage)
	// -max-size bounds what sign and verify read, as it does inspect's.
	r = run(t, nil, "edxml", "verify", "-max-size", "1000", "-ca", caCrt, "-registered", prefix+".crt", out)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "larger than the size limit")
	r = run(t, nil, "edxml", "sign", "-max-size", "1000", "-key", prefix+".key", "-cert", prefix+".crt", in)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "larger than the size limit")

	run(t, nil, "edxml", "sign", "-cert", prefix+".crt", in).wantCode(t, exitUsage)
	r = run(t, nil, "edxml", "sign", "-key", prefix+".key", "-cert", prefix+".crt", out)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "already signed")
	r = run(t, nil, "edxml", "sign", "-key", prefix+".crt", "-cert", prefix+".crt", in)
	r.wantCode(t, exitTrouble)
	r = run(t, nil, "edxml", "sign", "-key", filepath.Join(dir, "ca", "ca.key"), "-cert", prefix+".crt", in)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "does not belong")
}
