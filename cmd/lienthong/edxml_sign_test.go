package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

func TestEdxmlSign(t *testing.T) {
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
