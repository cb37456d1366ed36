package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

// TestDirectory_VerifyBinding verifies packets through a gateway.Directory
// as a gateway does: a packet verifies only if its signer certificate is
// registered for its sender — in the sender's entry, as a gateway
// certificate of the gateway its entry names, or in the hosted agency's
// own entry — and a former code binds as its agency's current one.
func TestDirectory_VerifyBinding(t *testing.T) {
	f := newDirFixture(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// issue makes a certificate of the fixture's CA for key, and its
	// signer.
	issue := func(code, name string, gatewayCert bool) (string, *signing.Signer) {
		t.Helper()
		is, err := f.ca.Issue(signing.IssueRequest{Agency: code, Name: name, Gateway: gatewayCert, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw})), s
	}
	const (
		g18     = "000.00.00.G18" // Bộ Y tế, on gateway byt
		h29     = "000.00.00.H29" // TP Hồ Chí Minh, on gateway hcm
		xa      = "000.00.31.H41" // a commune on gateway nghean, formerly 000.27.31.H41
		xaOld   = "000.27.31.H41"
		hosted  = "000.00.00.G22" // hosted here: its own entry only
		both    = "000.00.00.G12" // hosted here and registered by the administrator
		unknown = "000.00.00.H99" // in no entry
	)
	g18PEM, g18Signer := issue(g18, "Bộ Y tế", false)
	h29PEM, h29Signer := issue(h29, "UBND Thành phố Hồ Chí Minh", false)
	// A certificate naming G18 that the administrator registered for
	// H29 only (a mistake): it names its sender, but is not G18's.
	strayPEM, straySigner := issue(g18, "Bộ Y tế (đăng ký nhầm)", false)
	_, unregistered := issue(g18, "Bộ Y tế (chưa đăng ký)", false)
	bytPEM, bytSigner := issue(g18, "Cổng liên thông Bộ Y tế", true)
	hcmPEM, hcmSigner := issue(h29, "Cổng liên thông TP Hồ Chí Minh", true)
	// An agency certificate listed in a gateway's record: not a gateway
	// certificate, it signs for none of the gateway's agencies.
	inGatewayPEM, inGatewaySigner := issue(g18, "Bộ Y tế (trong bản ghi cổng)", false)
	xaPEM, xaSigner := issue(xa, "UBND xã Nghi Phong", false)
	_, xaUnregistered := issue(xa, "UBND xã Nghi Phong (chưa đăng ký)", false)
	hostedPEM, hostedSigner := issue(hosted, "Văn phòng Chính phủ", false)
	_, hostedOther := issue(hosted, "Văn phòng Chính phủ (khác)", false)
	bothLocalPEM, bothLocalSigner := issue(both, "Bộ TT&TT (cấu hình)", false)
	bothPEM, bothSigner := issue(both, "Bộ TT&TT", false)
	_, unknownSigner := issue(unknown, "UBND tỉnh Không Có", false)

	now := time.Now().UTC()
	for _, r := range []gateway.DirectoryRecord{
		{Agency: &gateway.Agency{Code: g18, Name: "Bộ Y tế", Gateway: "byt", Certificates: []string{g18PEM}, Version: 1, UpdatedAt: now}},
		{Agency: &gateway.Agency{Code: h29, Name: "UBND Thành phố Hồ Chí Minh", Gateway: "hcm", Certificates: []string{h29PEM, strayPEM}, Version: 1, UpdatedAt: now}},
		{Agency: &gateway.Agency{Code: xa, Name: "UBND xã Nghi Phong", Gateway: "nghean", OldCodes: []string{xaOld}, Certificates: []string{xaPEM}, Version: 1, UpdatedAt: now}},
		{Agency: &gateway.Agency{Code: both, Name: "Bộ TT&TT", Gateway: "here", Certificates: []string{bothPEM}, Version: 1, UpdatedAt: now}},
		{Gateway: &gateway.GatewayEntry{ID: "byt", Certificates: []string{bytPEM, inGatewayPEM}, Version: 1, UpdatedAt: now}},
		{Gateway: &gateway.GatewayEntry{ID: "hcm", Certificates: []string{hcmPEM}, Version: 1, UpdatedAt: now}},
	} {
		if err := f.dir.Apply(signed(t, f.admin, r)); err != nil {
			t.Fatal(err)
		}
	}
	f.dir.HostForTest(gateway.Agency{Code: hosted, Name: "Văn phòng Chính phủ", Gateway: "here", Certificates: []string{hostedPEM}})
	f.dir.HostForTest(gateway.Agency{Code: both, Name: "Bộ TT&TT", Gateway: "here", Certificates: []string{bothLocalPEM}})

	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Certificate())
	v := &signing.Verifier{Roots: roots, Directory: f.dir, Chains: &signing.ChainCache{}}
	for _, c := range []struct {
		name   string
		from   string
		signer *signing.Signer
		want   signing.Outcome
		// why is in the reason of a NotBound: "registered" where the
		// directory was asked and said no, "issued to" where the
		// certificate names another agency and the directory's answer
		// does not matter.
		why string
	}{
		{"the agency's registered certificate", g18, g18Signer, signing.Valid, ""},
		{"the agency's, in the other code form", "G18", g18Signer, signing.Valid, ""},
		{"the second certificate of an entry", h29, h29Signer, signing.Valid, ""},
		{"a certificate registered for another agency", g18, straySigner, signing.NotBound, "registered"},
		{"another agency's certificate, which names it", g18, h29Signer, signing.NotBound, "issued to"},
		{"an unregistered certificate from the same CA", g18, unregistered, signing.NotBound, "registered"},
		{"the gateway certificate of the sender's gateway", g18, bytSigner, signing.Valid, ""},
		{"the gateway certificate of another gateway", g18, hcmSigner, signing.NotBound, "registered"},
		{"an agency certificate in the gateway's record", g18, inGatewaySigner, signing.NotBound, "registered"},
		{"a former code, signed by its agency", xaOld, xaSigner, signing.Valid, ""},
		{"the current code", xa, xaSigner, signing.Valid, ""},
		{"a former code, an unregistered certificate", xaOld, xaUnregistered, signing.NotBound, "registered"},
		{"a hosted agency's own entry", hosted, hostedSigner, signing.Valid, ""},
		{"a hosted agency, another certificate", hosted, hostedOther, signing.NotBound, "registered"},
		{"hosted and registered: the administrator's certificate", both, bothSigner, signing.Valid, ""},
		{"hosted and registered: the configuration's certificate", both, bothLocalSigner, signing.Valid, ""},
		{"an agency in no entry", unknown, unknownSigner, signing.NotBound, "registered"},
	} {
		t.Run(c.name, func(t *testing.T) {
			packet, err := c.signer.SignStatus(&envelope.Status{
				From:        envelope.Organization{OrganID: c.from, OrganName: "Cơ quan gửi"},
				ResponseFor: envelope.ResponseFor{OrganID: "000.00.00.G22", DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"},
				StatusCode:  envelope.StatusAccepted,
				Timestamp:   "2025/11/20 10:00:00",
			})
			if err != nil {
				t.Fatal(err)
			}
			vd, err := v.Verify(t.Context(), packet)
			if err != nil {
				t.Fatal(err)
			}
			if vd.Outcome != c.want || !strings.Contains(vd.ReasonEN, c.why) {
				t.Errorf("%s (%s), want %s (%s)", vd.Outcome, vd.ReasonEN, c.want, c.why)
			}
		})
	}
}
