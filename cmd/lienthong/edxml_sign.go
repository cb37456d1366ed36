package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

func runEdxmlSign(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("edxml sign", "edxml sign -key KEY -cert CERT [-o FILE] FILE", `
Signs a packet: one enveloped XML-DSig Signature (RSA-SHA256, exclusive
C14N, URI="") covering the whole packet, placed in edXMLHeader right after
TraceHeaderList (after MessageHeader in a status packet), with the
certificate in KeyInfo. The packet's bytes are otherwise left exactly as
they were. KEY is an RSA-2048 or RSA-3072 private key in PEM (PKCS#8 or
PKCS#1); CERT holds the signer's certificate, then any intermediate CAs.
FILE may be "-" for standard input.

Make a development key and certificate with "lienthong pki".`)
	keyFile := fs.String("key", "", "the signer's private key (PEM `file`)")
	certFile := fs.String("cert", "", "the signer's certificate and chain (PEM `file`)")
	out := fs.String("o", "-", "write the signed packet to this `file` (- for standard output)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneFile(fs, "edxml sign")
	if err != nil {
		return err
	}
	if *keyFile == "" || *certFile == "" {
		return usageError{msg: "edxml sign: -key and -cert are required", hint: "lienthong edxml sign -help"}
	}
	key, err := signing.LoadPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	chain, err := signing.LoadCertificates(*certFile)
	if err != nil {
		return err
	}
	signer, err := signing.NewSigner(key, chain)
	if err != nil {
		return err
	}
	raw, _, _, err := m.readPacket(name, envelope.DefaultMaxSize)
	if err != nil {
		return err
	}
	signed, err := signer.Sign(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *out == "-" {
		_, err = m.Stdout.Write(signed)
		return err
	}
	return os.WriteFile(*out, signed, 0o644)
}
