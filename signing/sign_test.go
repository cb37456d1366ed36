package signing_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// selfSigned makes an RSA key and a self-signed certificate for it.
func selfSigned(t testing.TB, bits int) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Văn phòng Chính phủ", SerialNumber: "000.00.00.G22"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func edocPacket(t testing.TB) []byte {
	t.Helper()
	from := envelope.Organization{OrganID: "000.00.00.G22", OrganName: "Văn phòng Chính phủ"}
	date := envelope.Date("2025/11/20")
	code := envelope.Code{Number: "7816", Notation: "VPCP-TTĐT"}
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From: from, To: []envelope.Organization{{OrganID: "000.00.00.H41", OrganName: "UBND tỉnh Nghệ An"}},
			Code: code, Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: date},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      "V/v kết nối, liên thông phần mềm quản lý văn bản",
			DocumentID:   envelope.MakeDocumentID(from.OrganID, date, code),
		},
		Trace:     []envelope.TraceHeader{{OrganID: from.OrganID, Timestamp: "2025/11/20 09:00:00"}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	e.AddAttachment(envelope.Attachment{Name: "congvan.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte("%PDF-1.7 "), 1000)})
	b, err := envelope.Encode(&envelope.Packet{Edoc: e})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func statusPacket(t testing.TB) []byte {
	t.Helper()
	b, err := envelope.Encode(&envelope.Packet{Status: &envelope.Status{
		From:        envelope.Organization{OrganID: "000.00.00.H41", OrganName: "UBND tỉnh Nghệ An"},
		ResponseFor: envelope.ResponseFor{OrganID: "000.00.00.G22", DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"},
		StatusCode:  envelope.StatusAccepted,
		Timestamp:   "2025/11/20 10:00:00",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validates checks signed with goxmldsig, trusting cert alone.
func validates(t testing.TB, signed []byte, cert *x509.Certificate) error {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	_, err := ctx.Validate(doc.Root())
	return err
}

func TestSigner_Sign(t *testing.T) {
	key, cert := selfSigned(t, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		packet []byte
		after  string
	}{
		{"Edoc", edocPacket(t), "</edXML:TraceHeaderList>"},
		{"Status", statusPacket(t), "</edXML:MessageHeader>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := s.Sign(tc.packet)
			if err != nil {
				t.Fatal(err)
			}
			if err := validates(t, signed, cert); err != nil {
				t.Fatalf("goxmldsig does not validate the signature: %v", err)
			}
			// Only the Signature was added, right after the element it follows.
			start := bytes.Index(signed, []byte("<Signature "))
			end := bytes.Index(signed, []byte("</Signature>")) + len("</Signature>")
			if start < 0 || end < start {
				t.Fatalf("no Signature element in\n%s", signed)
			}
			if !bytes.HasSuffix(signed[:start], []byte(tc.after)) {
				t.Errorf("Signature does not follow %s", tc.after)
			}
			rest := append(append([]byte{}, signed[:start]...), signed[end:]...)
			if !bytes.Equal(rest, tc.packet) {
				t.Error("signing changed the packet's bytes besides adding the Signature")
			}
			sig := string(signed[start:end])
			for _, want := range []string{`xmlns="` + envelope.XMLDSigNamespace + `"`, `URI=""`, signing.AlgRSASHA256, signing.AlgSHA256, signing.AlgExcC14N, signing.AlgEnveloped, "<X509Certificate>"} {
				if !strings.Contains(sig, want) {
					t.Errorf("Signature lacks %s", want)
				}
			}
			p, _, err := envelope.Parse(signed)
			if err != nil {
				t.Fatal(err)
			}
			if p.Signature == nil || p.Signature.SignatureMethod != signing.AlgRSASHA256 || len(p.Signature.Certificates) != 1 {
				t.Errorf("parsed Signature = %+v", p.Signature)
			}
			if _, err := s.Sign(signed); !errors.Is(err, signing.ErrAlreadySigned) {
				t.Errorf("signing twice = %v, want ErrAlreadySigned", err)
			}
			tampered := bytes.Replace(signed, []byte("000.00.00.G22"), []byte("000.00.00.G23"), 1)
			if validates(t, tampered, cert) == nil {
				t.Error("a tampered packet validates")
			}
		})
	}
}

func TestNewSigner_Refuses(t *testing.T) {
	key, cert := selfSigned(t, 2048)
	other, _ := selfSigned(t, 2048)
	small, smallCert := selfSigned(t, 1024)
	for _, tc := range []struct {
		name string
		key  *rsa.PrivateKey
		cert *x509.Certificate
	}{
		{"KeyNotTheCertificates", other, cert},
		{"TooSmall", small, smallCert},
		{"NoCertificate", key, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := signing.NewSigner(tc.key, []*x509.Certificate{tc.cert}); !errors.Is(err, signing.ErrKey) {
				t.Errorf("NewSigner = %v, want ErrKey", err)
			}
		})
	}
}

func TestSigner_SignRefuses(t *testing.T) {
	key, cert := selfSigned(t, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"NotXML":     []byte("hello"),
		"StrayBytes": append([]byte("1212"), edocPacket(t)...),
		"NoHeader":   []byte(`<edXML xmlns="` + envelope.Namespace + `"><edXMLEnvelope/></edXML>`),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Sign(in); !errors.Is(err, signing.ErrNotSignable) {
				t.Errorf("Sign = %v, want ErrNotSignable", err)
			}
		})
	}
}

// TestSigner_SignTreeInPlace: with room after the packet, the Signature is
// spliced into the packet's own memory, and the result is the bytes
// SignTree makes; without room, it is made anew.
func TestSigner_SignTreeInPlace(t *testing.T) {
	key, cert := selfSigned(t, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Sign(edocPacket(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, room := range []int{0, 64 << 10} {
		orig := edocPacket(t)
		packet := append(make([]byte, 0, len(orig)+room), orig...)
		doc, _, err := (&envelope.Parser{}).ReadTree(packet)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.SignTreeInPlace(packet, doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("room %d: the packet signed in place differs from Sign's", room)
		}
		if shared := &got[0] == &packet[0]; shared != (room > 0) {
			t.Errorf("room %d: the result shares the packet's memory: %v", room, shared)
		}
		if err := validates(t, got, cert); err != nil {
			t.Errorf("room %d: %v", room, err)
		}
	}
}
