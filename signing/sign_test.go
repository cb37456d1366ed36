package signing_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/letter"
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
	b, err := letter.Letter{
		From:   letter.Agency{Code: "000.00.00.G22", Name: "Văn phòng Chính phủ"},
		To:     []letter.Agency{{Code: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"}},
		Number: "7816", Notation: "VPCP-TTĐT", Subject: "V/v kết nối, liên thông phần mềm quản lý văn bản",
		At:          time.Date(2025, 11, 20, 9, 0, 0, 0, envelope.VietnamTime()),
		Attachments: []envelope.Attachment{{Name: "congvan.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte("%PDF-1.7 "), 1000)}},
	}.Encode()
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

// signStatusCases are statuses as gateways send them — every code, with
// and without a clerk — and with text that tests how it is written:
// characters that are escaped (& < > and a CR), characters that are not
// (" ' tab LF), Vietnamese, a character outside the BMP, white space at
// the ends, a long text, and one that is all base64 and long enough for
// the parser to share it with the input instead of copying it (see
// envelope/blob.go).
func signStatusCases() []*envelope.Status {
	staff := envelope.StaffInfo{Department: "Phòng Hành chính & Tổng hợp", Staff: "Nguyễn Thị \"Hoa\"", Mobile: "0912 345 678", Email: "vanthu@syt.nghean.gov.vn"}
	descriptions := []string{
		"",
		"Đã vào sổ văn bản đến",
		`Từ chối: thiếu chữ ký <"Thủ trưởng"> & dấu; 'A&B' > ½ 𝔘 ]]>`,
		"  dòng 1\r\ndòng 2\n\tthụt lề\rhết  ",
		strings.Repeat("QmFzZTY0IHJ1bg", 40) + " — đoạn dài & <đủ> để bị tách ra",
		strings.Repeat("QmFzZTY0IHJ1bg ", 30) + "Zg==",
	}
	var out []*envelope.Status
	for i, code := range envelope.StatusCodes() {
		for j, d := range descriptions {
			st := &envelope.Status{
				From: envelope.Organization{OrganID: "000.00.12.H41", OrganName: "Sở Y tế tỉnh Nghệ An"},
				ResponseFor: envelope.ResponseFor{
					OrganID: "000.00.00.G22", Code: "7816/VPCP-TTĐT", PromulgationDate: "2025/11/20",
					DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT",
				},
				StatusCode:  code,
				Description: d,
				Timestamp:   envelope.Timestamp(fmt.Sprintf("2025/11/20 10:%02d:%02d", i, j)),
			}
			if (i+j)%2 == 0 {
				st.StaffInfo = staff
			}
			if d == "" && (code == envelope.StatusRejected || code == envelope.StatusRecallRequested) {
				st.Description = "Không đúng thẩm quyền" // these two need a reason
			}
			if j == 2 {
				st.From.OrganName = "UBND tỉnh <Nghệ An> & \"Hà Tĩnh\""
			}
			out = append(out, st)
		}
	}
	return out
}

// TestSigner_SignStatus: SignStatus makes the bytes Sign makes of what
// Encode writes — the same packet, the same Signature — which goxmldsig
// validates and the Verifier finds valid, reading back the status signed.
func TestSigner_SignStatus(t *testing.T) {
	tr := newTrust(t)
	s, cert := tr.signer(t, signing.IssueRequest{Agency: "000.00.12.H41"}, "000.00.12.H41")
	for i, st := range signStatusCases() {
		t.Run(fmt.Sprintf("%s-%d", st.StatusCode, i), func(t *testing.T) {
			packet, err := envelope.Encode(&envelope.Packet{Status: st})
			if err != nil {
				t.Fatal(err)
			}
			want := mustSign(t, s, packet)
			got, err := s.SignStatus(st)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("SignStatus differs from Sign(Encode)\n got: %s\nwant: %s", got, want)
			}
			if err := validates(t, got, cert); err != nil {
				t.Fatalf("goxmldsig does not validate the signature: %v", err)
			}
			vd := tr.wantVerdict(t, got, signing.Valid, nil)
			if r := vd.Packet.Status; r == nil || r.StatusCode != st.StatusCode || r.Description != strings.TrimSpace(st.Description) || r.StaffInfo != st.StaffInfo {
				t.Errorf("the verified packet reads %+v, want %+v", r, st)
			}
		})
	}
}

// TestSigner_SignStatusRefuses: a status Encode refuses is refused with
// the validation errors, and nothing is signed.
func TestSigner_SignStatusRefuses(t *testing.T) {
	key, cert := selfSigned(t, 2048)
	s, err := signing.NewSigner(key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	st := signStatusCases()[0]
	st.StatusCode = "99"
	var ve envelope.ValidationErrors
	if b, err := s.SignStatus(st); !errors.As(err, &ve) || b != nil {
		t.Errorf("SignStatus of code 99 = %d bytes, %v; want ValidationErrors", len(b), err)
	}
}
