package signing

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadCertificates reads the certificates in a file: PEM with one or more
// CERTIFICATE blocks (other blocks are skipped), or one DER certificate.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	var certs []*x509.Certificate
	rest, sawPEM := data, false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing: %s: certificate %d: %w", path, len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if !sawPEM {
		cert, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("signing: %s: neither PEM nor a DER certificate", path)
		}
		return []*x509.Certificate{cert}, nil
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("signing: %s: no CERTIFICATE block", path)
	}
	return certs, nil
}

// LoadPrivateKey reads an RSA private key from a PEM file: a PKCS#8
// "PRIVATE KEY" or a PKCS#1 "RSA PRIVATE KEY" block, unencrypted, of at
// least 2048 bits. Other PEM blocks in the file, such as certificates, are
// skipped. The returned signer is an *rsa.PrivateKey. Errors name the file
// and what is wrong, never any of its content.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	var key *rsa.PrivateKey
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var k any
		switch block.Type {
		case "PRIVATE KEY":
			if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
				// The parser's message is dropped: it could describe
				// the key's content.
				return nil, fmt.Errorf("signing: %s: the PRIVATE KEY block is not a valid PKCS#8 key", path)
			}
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["Proc-Type"]; encrypted {
				return nil, fmt.Errorf("signing: %s: the key is encrypted; give an unencrypted key", path)
			}
			if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				return nil, fmt.Errorf("signing: %s: the RSA PRIVATE KEY block is not a valid PKCS#1 key", path)
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("signing: %s: the key is encrypted; give an unencrypted key", path)
		case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY":
			return nil, fmt.Errorf("signing: %s: %s: only RSA keys in PKCS#8 or PKCS#1 are supported", path, strings.ToLower(block.Type))
		default:
			continue
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing: %s: a %T: only RSA keys are supported", path, k)
		}
		if key != nil {
			return nil, fmt.Errorf("signing: %s: more than one private key", path)
		}
		key = rk
	}
	if key == nil {
		return nil, fmt.Errorf("signing: %s: no PEM PRIVATE KEY or RSA PRIVATE KEY block", path)
	}
	if bits := key.N.BitLen(); bits < 2048 {
		return nil, fmt.Errorf("signing: %s: RSA key of %d bits: want at least 2048", path, bits)
	}
	return key, nil
}

// LoadCRL reads a certificate revocation list in PEM (an "X509 CRL" block)
// or DER. It does not check the signature: see
// [x509.RevocationList.CheckSignatureFrom].
func LoadCRL(path string) (*x509.RevocationList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "X509 CRL" {
			return nil, fmt.Errorf("signing: %s: a %s PEM block, want X509 CRL", path, block.Type)
		}
		der = block.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("signing: %s: %w", path, err)
	}
	return crl, nil
}

// LoadPKCS12 reads a signer's private key and certificate chain from a
// PKCS#12 (.p12, .pfx) file, as Vietnamese CAs hand them out and as
// "openssl pkcs12 -export" writes them: the key must be RSA of at least
// 2048 bits, the leaf certificate comes first in the chain, then the CA
// certificates the file carries. Both the legacy (RC2, 3DES) and the
// current (PBES2 with AES) encryptions are read. Errors name the file and
// what is wrong, never any of its content.
func LoadPKCS12(path, password string) (crypto.Signer, []*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	k, leaf, cas, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, nil, fmt.Errorf("signing: %s: %w: the PKCS#12 password is wrong", path, ErrKey)
	case err != nil:
		return nil, nil, fmt.Errorf("signing: %s: not a PKCS#12 file with one key and its certificate: %w", path, err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("signing: %s: %w: a %T; only RSA keys are supported", path, ErrKey, k)
	}
	if bits := key.N.BitLen(); bits < minRSAKeyBits {
		return nil, nil, fmt.Errorf("signing: %s: %w: RSA key of %d bits; want at least %d", path, ErrKey, bits, minRSAKeyBits)
	}
	return key, append([]*x509.Certificate{leaf}, cas...), nil
}
