package api_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// TestAPI_DirectoryCertificates: GET /api/v1/directory?certificates=1
// gives, for a page of some hundred agencies, the certificates of the
// entry the gateway applied — its administrator's latest record, or a
// hosted agency's configuration — whether that record still waits to be
// kept or is in the store, and never those of another record: while its
// own cannot be read back, it says so (certificatesUnavailable).
func TestAPI_DirectoryCertificates(t *testing.T) {
	const communes = 300
	ax := testkit.NewAxis(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial := int64(0)
	// newCert makes a certificate in PEM: the directory shows and binds
	// certificates, it does not judge them.
	newCert := func(name string) string {
		t.Helper()
		serial++
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	// want is each agency's certificates, by code.
	want := map[string][]string{}
	register := func(code string, version uint64, certs ...string) {
		t.Helper()
		c, err := envelope.ParseAgencyCode(code, envelope.CodeStrict)
		if err != nil {
			t.Fatal(err)
		}
		ax.Register(gateway.Agency{Code: c.String(), Name: "UBND xã " + code, Gateway: "h41", Version: version, UpdatedAt: time.Now().UTC(), Certificates: certs})
		want[c.String()] = certs
	}
	// Before the gateway opens: communes with a certificate each, every
	// tenth with two, every fiftieth with none.
	code := func(i int) string { return fmt.Sprintf("000.%02d.%02d.H41", i%100, 1+i/100) }
	for i := range communes {
		switch {
		case i%50 == 0:
			register(code(i), 1)
		case i%10 == 0:
			register(code(i), 1, newCert(code(i)), newCert(code(i)+" (2)"))
		default:
			register(code(i), 1, newCert(code(i)))
		}
	}
	// A hosted agency the administrator has not registered: its entry is
	// the gateway's configuration.
	is, err := ax.CA.Issue(signing.IssueRequest{Agency: "000.00.00.G18", Name: "Bộ Y tế"})
	if err != nil {
		t.Fatal(err)
	}
	g18, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	want["000.00.00.G18"] = []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw}))}
	gw := ax.Gateway("h41", func(o *gateway.Options) {
		o.Agencies = append(o.Agencies, gateway.HostedAgency{Code: envelope.MustAgencyCode("000.00.00.G18"), Name: "Bộ Y tế", Signer: g18})
	}, [2]string{"000.00.00.G22", "Văn phòng Chính phủ"})
	g22, _ := gw.Hosted("000.00.00.G22")
	want["000.00.00.G22"] = testkit.HostedEntry("h41", *g22).Certificates
	h, err := api.NewHandler(gw, rollup.New(gw), []api.Key{{Name: "vpcp", Secret: keyG22, Agencies: []string{g22.Code.String()}}}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// page answers the directory's first page with certificates, and
	// checks that each agency's are its entry's or unavailable; it
	// returns how many were unavailable.
	page := func() int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v1/directory?certificates=1", nil)
		req.Header.Set("Authorization", "Bearer "+keyG22)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d api.Directory
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		if len(d.Agencies) != len(want) || d.Next != "" {
			t.Fatalf("%d agencies (next %q), want %d on one page", len(d.Agencies), d.Next, len(want))
		}
		unavailable := 0
		for _, a := range d.Agencies {
			switch {
			case a.CertificatesUnavailable && len(a.Certificates) == 0:
				unavailable++
			case a.CertificatesUnavailable || !slices.Equal(a.Certificates, want[a.Code]):
				t.Errorf("%s: %d certificates (unavailable %v), want %d", a.Code, len(a.Certificates), a.CertificatesUnavailable, len(want[a.Code]))
			}
		}
		return unavailable
	}
	// kept reports whether the store holds the administrator's records of
	// the communes and G22, the latest of each (the eighth commune's at
	// version v): the gateway keeps them a second or so after it applied
	// them, and meanwhile shows their certificates from memory.
	kept := func(v uint64) func() bool {
		return func() bool {
			rs, err := gw.Store().DirectoryRecords(t.Context(), "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Key == "H41.01.08" && r.Version != v {
					return false
				}
			}
			return len(rs) == communes+1
		}
	}
	testkit.Eventually(t, "the whole directory", func() bool { return gw.Directory().Len() == len(want) })
	page()
	testkit.Eventually(t, "every record kept", kept(1))
	if n := page(); n != 0 {
		t.Errorf("%d agencies unavailable with every record kept", n)
	}

	// A newer record with another certificate: its, whether it waits to
	// be kept or is kept, never the one the store held before.
	renewed := code(8)
	register(renewed, 2, newCert(renewed+" (mới)"))
	testkit.Eventually(t, "the renewed record", func() bool {
		got, _ := gw.AgencyCertificates(t.Context(), []string{renewed})
		return slices.Equal(got[0].PEM, want[renewed])
	})
	page()
	testkit.Eventually(t, "the renewed record kept", kept(2))
	if n := page(); n != 0 {
		t.Errorf("%d agencies unavailable with every record kept", n)
	}

	// A store that holds another record than the one applied (written
	// behind the gateway's back): the certificates are not read from it.
	forged := gateway.Agency{Code: code(8), Name: "UBND xã giả", Gateway: "h41", Version: 99, Certificates: []string{newCert("giả")}}
	rec, _ := json.Marshal(gateway.DirectoryRecord{Agency: &forged})
	value, _ := json.Marshal(signing.SignedRecord{Record: rec, Signature: []byte("x"), Chain: [][]byte{is.Certificate.Raw}})
	if err := gw.Store().KeepDirectoryRecords(t.Context(), []gateway.KeptRecord{{Key: "H41.01.08", Version: 99, Value: value}}); err != nil {
		t.Fatal(err)
	}
	got, err := gw.AgencyCertificates(t.Context(), []string{code(8), code(9), "000.00.00.H99", "not a code"})
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Unavailable || got[0].PEM != nil {
		t.Errorf("an agency whose kept record is another: %+v", got[0])
	}
	if got[1].Unavailable || !slices.Equal(got[1].PEM, want[code(9)]) {
		t.Errorf("its neighbour: %+v", got[1])
	}
	if got[2].Unavailable || got[2].PEM != nil || got[3].Unavailable || got[3].PEM != nil {
		t.Errorf("agencies in no entry: %+v", got[2:])
	}
	if n := page(); n != 1 {
		t.Errorf("%d agencies unavailable, want the one whose kept record is another", n)
	}
}
