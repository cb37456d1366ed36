package signing_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/benchfloor"
	"github.com/lienthong/lienthong/signing"
)

// sizedPacket returns an encoded edoc of about size bytes.
func sizedPacket(b testing.TB, size int) []byte {
	b.Helper()
	p, _, err := envelope.Parse(edocPacket(b))
	if err != nil {
		b.Fatal(err)
	}
	e := p.Edoc
	e.Attachments, e.Manifest = nil, nil
	e.AddAttachment(envelope.Attachment{Name: "congvan.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte{0x5a, 0x17, 0xc3}, size/4)})
	out, err := envelope.Encode(p)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkSign signs 20 KB and 2 MB packets, each in turn with its floor
// (benchfloor.InTurn), so that the ratio is measured in one run. The floor
// of the 20 KB packet is a raw RSA-2048 PKCS#1 v1.5 signature of one
// SHA-256 digest (x-rsa); that of the 2 MB packet, in whose cost the
// digest of its bytes counts too, is the SHA-256 of the packet's bytes and
// the raw signature (x-floor).
//
//	go test ./signing -run '^$' -bench 'Sign$' -benchtime 2s
func BenchmarkSign(b *testing.B) {
	key, cert := selfSigned(b, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("RawRSA2048", func(b *testing.B) {
		digest := sha256.Sum256([]byte("lienthong"))
		for b.Loop() {
			if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("20KB", func(b *testing.B) {
		packet := sizedPacket(b, 20<<10)
		b.SetBytes(int64(len(packet)))
		againstRSA(b, key, func() error {
			_, err := s.Sign(packet)
			return err
		})
	})
	b.Run("2MB", func(b *testing.B) {
		packet := sizedPacket(b, 2<<20)
		b.SetBytes(int64(len(packet)))
		b.ReportAllocs()
		benchfloor.InTurn(b, "floor", nil, func() error {
			_, err := s.Sign(packet)
			return err
		}, func() error {
			digest := sha256.Sum256(packet)
			_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
			return err
		})
	})
}

// BenchmarkVerify verifies 20 KB and 2 MB packets, and packets signed as
// the gateways sign them (Issued), each in turn with its floor
// (againstVerifying): the SHA-256 of the packet's bytes and a raw RSA-2048
// PKCS#1 v1.5 verification of that digest, what no verification of a
// signature over the whole packet can go below. x-floor is how far from
// it verifying is.
//
//	go test ./signing -run '^$' -bench 'Verify/(20KB|2MB)' -benchtime 2s
func BenchmarkVerify(b *testing.B) {
	key, cert := selfSigned(b, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	dir := signing.StaticDirectory{}
	if err := dir.Register("000.00.00.G22", cert); err != nil {
		b.Fatal(err)
	}
	v := &signing.Verifier{Roots: roots, Directory: dir}
	b.Run("RawRSA2048", func(b *testing.B) {
		digest := sha256.Sum256([]byte("lienthong"))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, size := range []struct {
		name string
		n    int
	}{{"20KB", 20 << 10}, {"2MB", 2 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			signed, err := s.Sign(sizedPacket(b, size.n))
			if err != nil {
				b.Fatal(err)
			}
			againstVerifying(b, v, key, signed)
		})
	}
	// 8 KB and 20 KB documents and a 4 KB status signed as the gateways sign: by
	// a gateway certificate a CA issued, the CA trusted, its revocation
	// list indexed; verified afresh, and with a ChainCache.
	b.Run("Issued", func(b *testing.B) {
		ca, err := signing.InitCA(filepath.Join(b.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
		if err != nil {
			b.Fatal(err)
		}
		is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Cổng liên thông Văn phòng Chính phủ", Gateway: true})
		if err != nil {
			b.Fatal(err)
		}
		crl, err := ca.CRL()
		if err != nil {
			b.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			b.Fatal(err)
		}
		signed, err := s.Sign(sizedPacket(b, 5<<10))
		if err != nil {
			b.Fatal(err)
		}
		// The documents of the sim, about 20 KB.
		signed20, err := s.Sign(sizedPacket(b, 16<<10))
		if err != nil {
			b.Fatal(err)
		}
		// The status packets the document's receivers send back, about
		// 4 KB: half of what a gateway verifies.
		status, err := s.Sign(statusPacket(b))
		if err != nil {
			b.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Certificate())
		dir := signing.StaticDirectory{}
		for _, agency := range []string{"000.00.00.G22", "000.00.00.H41"} {
			if err := dir.Register(agency, is.Certificate); err != nil {
				b.Fatal(err)
			}
		}
		crls := []*x509.RevocationList{crl}
		v := &signing.Verifier{Roots: roots, CRLs: crls, Revocations: signing.NewRevocations(crls), Directory: dir}
		for _, chains := range []*signing.ChainCache{nil, {}} {
			name := "fresh"
			if chains != nil {
				name = "chains"
			}
			v.Chains = chains
			for _, p := range []struct {
				name   string
				packet []byte
			}{{"edoc8KB", signed}, {"edoc20KB", signed20}, {"status4KB", status}} {
				b.Run(name+"/"+p.name, func(b *testing.B) {
					againstVerifying(b, v, is.Key, p.packet)
				})
			}
		}
	})
}

// againstVerifying verifies packet with v b.N times, each time in turn
// with the floor of verifying it (benchfloor.InTurn): the SHA-256 of its
// bytes and a raw RSA PKCS#1 v1.5 verification of that digest with the
// public half of key, which signed it. x-floor is how far verifying the
// packet is from it.
func againstVerifying(b *testing.B, v *signing.Verifier, key *rsa.PrivateKey, packet []byte) {
	b.Helper()
	digest := sha256.Sum256(packet)
	value, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	benchfloor.InTurn(b, "floor", nil, func() error {
		vd, err := v.Verify(b.Context(), packet)
		if err != nil || vd.Outcome != signing.Valid {
			return fmt.Errorf("%v %+v", err, vd)
		}
		return nil
	}, func() error {
		digest := sha256.Sum256(packet)
		return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], value)
	})
}

// BenchmarkOpenKept opens a directory record of the usual size (an
// agency's entry with its certificate) as a gateway's restart does for
// every kept record, next to the SHA-256 of the same bytes, in one run.
//
//	go test ./signing -run '^$' -bench OpenKept
func BenchmarkOpenKept(b *testing.B) {
	ca, err := signing.InitCA(filepath.Join(b.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		b.Fatal(err)
	}
	is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Quản trị", DirectoryScopes: []string{"*"}})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate, ca.Certificate()})
	if err != nil {
		b.Fatal(err)
	}
	agency, err := ca.Issue(signing.IssueRequest{Agency: "000.00.12.H41", Name: "Sở Y tế tỉnh Nghệ An"})
	if err != nil {
		b.Fatal(err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: agency.Certificate.Raw})
	record, _ := json.Marshal(map[string]any{"agency": map[string]any{
		"code": "000.00.12.H41", "name": "Sở Y tế tỉnh Nghệ An", "parent": "000.00.00.H41", "kind": "department",
		"gateway": "nghean", "version": 1, "certificates": []string{string(pemCert)},
	}})
	signed, err := admin.SignRecord(record)
	if err != nil {
		b.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	v := &signing.RecordVerifier{Anchors: anchors}
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(signed)))
		for b.Loop() {
			sha256.Sum256(signed)
		}
	})
	b.Run("OpenKept", func(b *testing.B) {
		b.SetBytes(int64(len(signed)))
		for b.Loop() {
			if _, err := v.OpenKept(signed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchStatus is a status a gateway sends for an agency: a 03 about a
// document, with the clerk who registered it.
func benchStatus() *envelope.Status {
	return &envelope.Status{
		From: envelope.Organization{OrganID: "000.00.12.H41", OrganName: "Sở Y tế tỉnh Nghệ An"},
		ResponseFor: envelope.ResponseFor{
			OrganID: "000.00.00.G22", Code: "7816/VPCP-TTĐT", PromulgationDate: "2025/11/20",
			DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT",
		},
		StaffInfo:   envelope.StaffInfo{Department: "Văn phòng Sở", Staff: "Nguyễn Thị Hoa", Mobile: "0912345678", Email: "vanthu@syt.nghean.gov.vn"},
		StatusCode:  envelope.StatusAccepted,
		Description: "Đã vào sổ văn bản đến số 1234",
		Timestamp:   "2025/11/20 10:00:00",
	}
}

// againstRSA runs op b.N times, each time in turn with a raw RSA PKCS#1
// v1.5 signature of a SHA-256 digest with key, and reports op's process
// CPU time against the signature's (benchfloor.InTurn: x-rsa is how far
// op is from the floor of signing).
func againstRSA(b *testing.B, key *rsa.PrivateKey, op func() error) {
	b.Helper()
	digest := sha256.Sum256([]byte("lienthong"))
	b.ReportAllocs()
	benchfloor.InTurn(b, "rsa", nil, op, func() error {
		_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		return err
	})
}

// BenchmarkSignStatus makes a signed status packet from a Status, as a
// gateway does for every status it sends (166,000 in the national day),
// and reports its CPU against a raw RSA-2048 signature of one SHA-256
// digest in the same run: x-rsa is how far signing a status is from the
// floor. RawRSA2048 holds the floor against itself, which shows the
// measurement's own noise.
//
//	go test ./signing -run '^$' -bench SignStatus -count 3
func BenchmarkSignStatus(b *testing.B) {
	key, cert := selfSigned(b, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("RawRSA2048", func(b *testing.B) {
		digest := sha256.Sum256([]byte("lienthong"))
		againstRSA(b, key, func() error {
			_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
			return err
		})
	})
	// EncodeSign encodes the packet and signs its bytes, which Sign reads
	// again to canonicalise them and find the Signature's place.
	b.Run("EncodeSign", func(b *testing.B) {
		againstRSA(b, key, func() error {
			packet, err := envelope.Encode(&envelope.Packet{Status: benchStatus()})
			if err != nil {
				return err
			}
			_, err = s.Sign(packet)
			return err
		})
	})
	// SignStatus encodes and signs in one go, hashing the canonical form
	// the encoder wrote.
	b.Run("SignStatus", func(b *testing.B) {
		againstRSA(b, key, func() error {
			_, err := s.SignStatus(benchStatus())
			return err
		})
	})
	// WithoutRSA is what the other two cost beyond the RSA signature,
	// which a key that answers at once with a signature made before
	// leaves out: a few per cent of a millisecond, which x-rsa alone
	// cannot tell from the machine's noise.
	value, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, make([]byte, sha256.Size))
	if err != nil {
		b.Fatal(err)
	}
	quick, err := signing.NewSigner(fixedSigner{key.Public(), value}, []*x509.Certificate{cert})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("WithoutRSA/EncodeSign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			packet, err := envelope.Encode(&envelope.Packet{Status: benchStatus()})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := quick.Sign(packet); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WithoutRSA/SignStatus", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := quick.SignStatus(benchStatus()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fixedSigner is a key that signs anything with the same value, at once:
// the signatures it makes do not verify, but signing with it costs all
// that signing a packet costs but the RSA.
type fixedSigner struct {
	public crypto.PublicKey
	value  []byte
}

func (f fixedSigner) Public() crypto.PublicKey { return f.public }

func (f fixedSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return f.value, nil
}
