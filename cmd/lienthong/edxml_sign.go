package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/lienthong/lienthong/signing"
)

func runEdxmlSign(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("edxml sign", "edxml sign (-key KEY -cert CERT | -p12 FILE) [-max-size BYTES] [-o FILE] FILE", `
Signs a packet: one enveloped XML-DSig Signature (RSA-SHA256, exclusive
C14N, URI="") covering the whole packet, placed in edXMLHeader right after
TraceHeaderList (after MessageHeader in a status packet), with the
certificate in KeyInfo. The packet's bytes are otherwise left exactly as
they were. KEY is an RSA-2048 or RSA-3072 private key in PEM (PKCS#8 or
PKCS#1); CERT holds the signer's certificate, then any intermediate CAs.
Instead of both, -p12 names a PKCS#12 file (.p12, .pfx) holding the key
and the chain; its password is read from the file named by
-p12-password-file, else from the environment variable
LIENTHONG_P12_PASSWORD (never from the command line, where other users
could see it), else it is empty. FILE may be "-" for standard input.

Make a development key and certificate with "lienthong pki".`)
	keyFile := fs.String("key", "", "the signer's private key (PEM `file`)")
	certFile := fs.String("cert", "", "the signer's certificate and chain (PEM `file`)")
	p12File := fs.String("p12", "", "the signer's key and chain in PKCS#12 (`file`)")
	p12Password := fs.String("p12-password-file", "", "read the PKCS#12 password from this `file` (its first line)")
	out := fs.String("o", "-", "write the signed packet to this `file` (- for standard output)")
	maxSize := maxSizeFlag(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneFile(fs, "edxml sign")
	if err != nil {
		return err
	}
	key, chain, err := loadSigningKey(*keyFile, *certFile, *p12File, *p12Password)
	if err != nil {
		return err
	}
	signer, err := signing.NewSigner(key, chain)
	if err != nil {
		return err // signing.ErrKey: errors.go says why in Vietnamese
	}
	raw, _, _, err := m.readPacket(name, *maxSize)
	if err != nil {
		return err
	}
	signed, err := signer.Sign(raw)
	if err != nil {
		return withVI(fmt.Errorf("%s: %w", name, err), "Không ký được gói tin từ %s", source(name))
	}
	if *out == "-" {
		_, err = m.Stdout.Write(signed)
		return err
	}
	return os.WriteFile(*out, signed, 0o644)
}

// loadSigningKey reads a signer's key and chain from PEM files or from a
// PKCS#12 file, whichever the flags name.
func loadSigningKey(keyFile, certFile, p12File, p12PasswordFile string) (crypto.Signer, []*x509.Certificate, error) {
	switch {
	case p12File != "" && (keyFile != "" || certFile != ""):
		return nil, nil, usageError{msg: "edxml sign: give either -p12 or -key and -cert, not both",
			vi: "Chỉ dùng một trong hai: -p12, hoặc -key cùng -cert.", hint: "lienthong edxml sign -help"}
	case p12File != "":
		password := os.Getenv("LIENTHONG_P12_PASSWORD")
		if p12PasswordFile != "" {
			var err error
			if password, err = firstLine(p12PasswordFile); err != nil {
				return nil, nil, withVI(err, "Không đọc được mật khẩu PKCS#12 trong tệp %q", p12PasswordFile)
			}
		}
		return loadPKCS12(p12File, password)
	case keyFile == "" || certFile == "":
		return nil, nil, usageError{msg: "edxml sign: -key and -cert (or -p12) are required",
			vi: "Cần khóa ký: -key và -cert, hoặc -p12.", hint: "lienthong edxml sign -help"}
	}
	return loadKeyPair(keyFile, certFile)
}

// firstLine returns the first line of a file, without its line end: a
// password or a key kept in a file of its own.
func firstLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}
