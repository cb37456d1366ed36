package gateway_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// dirFixture is a directory trusting one CA's administrators, with signers
// made by that CA and by another.
type dirFixture struct {
	ca      *signing.CA
	dir     *gateway.Directory
	admin   *signing.Signer // scope *
	nghean  *signing.Signer // scope H41 and gw:nghean
	foreign *signing.Signer // scope *, from a CA the directory does not trust
}

func newDirFixture(t *testing.T) *dirFixture {
	t.Helper()
	ca, err := signing.InitCA(filepath.Join(t.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.InitCA(filepath.Join(t.TempDir(), "other"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	return &dirFixture{
		ca:      ca,
		dir:     gateway.NewDirectory(&signing.RecordVerifier{Anchors: anchors}),
		admin:   testkit.NewAdmin(t, ca, "*"),
		nghean:  testkit.NewAdmin(t, ca, "000.00.00.H41", "gw:nghean"),
		foreign: testkit.NewAdmin(t, other, "*"),
	}
}

// agencyCert issues an agency certificate and returns it in PEM.
func (f *dirFixture) agencyCert(t *testing.T, code, name string, gatewayCert bool) (string, *x509.Certificate) {
	t.Helper()
	is, err := f.ca.Issue(signing.IssueRequest{Agency: code, Name: name, Gateway: gatewayCert})
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw})), is.Certificate
}

func signed(t *testing.T, s *signing.Signer, r gateway.DirectoryRecord) gateway.DirectoryUpdate {
	t.Helper()
	key, value, err := gateway.SignRecord(s, r)
	if err != nil {
		t.Fatal(err)
	}
	return gateway.DirectoryUpdate{Key: key, Value: value}
}

func wantRejected(t *testing.T, err error, reason string) {
	t.Helper()
	var rej *gateway.DirectoryRejection
	if !errors.As(err, &rej) || rej.Reason != reason {
		t.Errorf("Apply = %v, want a rejection for %s", err, reason)
	}
}

// registers asks the directory whether cert signs for agency, as a
// verifier does.
func registers(t *testing.T, dir *gateway.Directory, agency string, cert *x509.Certificate) bool {
	t.Helper()
	ok, err := dir.HasSigningCertificate(t.Context(), agency, cert)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestDirectory_SignedEntries(t *testing.T) {
	f := newDirFixture(t)
	g18PEM, g18Cert := f.agencyCert(t, "000.00.00.G18", "Bộ Y tế", false)
	h29PEM, h29Cert := f.agencyCert(t, "000.00.00.H29", "UBND Thành phố Hồ Chí Minh", false)
	byt := gateway.Agency{Code: "000.00.00.G18", Name: "Bộ Y tế", Gateway: "byt", Certificates: []string{g18PEM}, Version: 10}
	if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &byt})); err != nil {
		t.Fatalf("Apply of the administrator's entry: %v", err)
	}
	got, ok := f.dir.Registered("G18")
	if !ok || got.Name != "Bộ Y tế" || got.Gateway != "byt" || got.SignedBy == "" {
		t.Fatalf("Registered(G18) = %+v, %v", got, ok)
	}
	if !registers(t, f.dir, "000.00.00.G18", g18Cert) || registers(t, f.dir, "000.00.00.G18", h29Cert) {
		t.Fatal("G18's entry does not register its certificate alone")
	}
	// The same record again (a watcher's redelivery) is no error.
	if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &byt})); err != nil {
		// A second signature of the same record differs in bytes (RSA
		// PKCS#1 v1.5 is deterministic, so it does not): either way the
		// version is not newer.
		wantRejected(t, err, gateway.RejectStale)
	}

	// What a hostile gateway, or anyone with write access to the bucket,
	// tries; none of it changes G18's entry.
	forged := byt
	forged.Certificates, forged.Version = []string{h29PEM}, 11
	forgedJSON, _ := json.Marshal(gateway.DirectoryRecord{Agency: &forged})
	h29Signer := func() *signing.Signer {
		is, err := f.ca.Issue(signing.IssueRequest{Agency: "000.00.00.H29", Name: "UBND Thành phố Hồ Chí Minh"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	older := byt
	older.Name, older.Version = "Bộ Y tế (cũ)", 9
	h29Entry := gateway.Agency{Code: "000.00.00.H29", Name: "UBND Thành phố Hồ Chí Minh", Gateway: "hcm", Certificates: []string{h29PEM}, Version: 1}
	signedByAdmin := signed(t, f.admin, gateway.DirectoryRecord{Agency: &forged})
	for _, c := range []struct {
		name   string
		update gateway.DirectoryUpdate
		reason string
	}{
		{"plain JSON, unsigned", gateway.DirectoryUpdate{Key: "G18", Value: forgedJSON}, gateway.RejectUnsigned},
		{"the old unsigned format", gateway.DirectoryUpdate{Key: "G18", Value: []byte(`{"code":"000.00.00.G18","name":"Bộ Y tế","certificates":[]}`)}, gateway.RejectUnsigned},
		{"signed by an agency's key", func() gateway.DirectoryUpdate {
			_, err := h29Signer.SignRecord(forgedJSON)
			if err == nil {
				t.Fatal("SignRecord with an agency's certificate succeeded")
			}
			// Forge the wire form by hand: the signature is the agency's.
			sr, _ := json.Marshal(signing.SignedRecord{Record: forgedJSON, Signature: []byte("x"), Chain: [][]byte{h29Cert.Raw}})
			return gateway.DirectoryUpdate{Key: "G18", Value: sr}
		}(), gateway.RejectUnsigned},
		{"signed by an administrator of an untrusted CA", signed(t, f.foreign, gateway.DirectoryRecord{Agency: &forged}), gateway.RejectUnsigned},
		{"a signature over other bytes", func() gateway.DirectoryUpdate {
			var sr signing.SignedRecord
			if err := json.Unmarshal(signedByAdmin.Value, &sr); err != nil {
				t.Fatal(err)
			}
			sr.Record, _ = json.Marshal(gateway.DirectoryRecord{Agency: &older})
			v, _ := json.Marshal(sr)
			return gateway.DirectoryUpdate{Key: "G18", Value: v}
		}(), gateway.RejectUnsigned},
		{"H29's genuine entry stored under G18's key", func() gateway.DirectoryUpdate {
			u := signed(t, f.admin, gateway.DirectoryRecord{Agency: &h29Entry})
			u.Key = "G18"
			return u
		}(), gateway.RejectKey},
		{"G18's entry by Nghệ An's delegated administrator", signed(t, f.nghean, gateway.DirectoryRecord{Agency: &forged}), gateway.RejectScope},
		{"an older signed entry replayed", signed(t, f.admin, gateway.DirectoryRecord{Agency: &older}), gateway.RejectStale},
		{"the key deleted", gateway.DirectoryUpdate{Key: "G18", Deleted: true}, gateway.RejectDeletion},
		{"both an agency and a gateway", func() gateway.DirectoryUpdate {
			both, _ := json.Marshal(gateway.DirectoryRecord{Agency: &forged, Gateway: &gateway.GatewayEntry{ID: "x"}})
			v, err := f.admin.SignRecord(both)
			if err != nil {
				t.Fatal(err)
			}
			return gateway.DirectoryUpdate{Key: "G18", Value: v}
		}(), gateway.RejectMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.update.Key == "" {
				t.Skip("no update could be made")
			}
			wantRejected(t, f.dir.Apply(c.update), c.reason)
			got, ok := f.dir.Registered("000.00.00.G18")
			if !ok || got.Name != "Bộ Y tế" || got.Version != 10 || !registers(t, f.dir, "G18", g18Cert) || registers(t, f.dir, "G18", h29Cert) {
				t.Errorf("G18's entry is now %+v, %v", got, ok)
			}
		})
	}

	// A newer record of the administrator's replaces it; a signed
	// removal takes it out, and it cannot be replayed back.
	renamed := byt
	renamed.Name, renamed.Version = "Bộ Y tế (mới)", 12
	if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &renamed})); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.dir.Registered("G18"); got.Name != "Bộ Y tế (mới)" {
		t.Errorf("after a newer record: %+v", got)
	}
	removed := gateway.Agency{Code: "000.00.00.G18", Version: 13, Removed: true}
	if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &removed})); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.dir.Lookup("G18"); ok {
		t.Error("G18 is still there after its removal")
	}
	wantRejected(t, f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &renamed})), gateway.RejectStale)
	if _, ok := f.dir.Lookup("G18"); ok {
		t.Error("an entry replayed over its removal was applied")
	}
}

func TestDirectory_DelegatedAdministrator(t *testing.T) {
	f := newDirFixture(t)
	pemOf, _ := f.agencyCert(t, "000.00.12.H41", "Sở Nội vụ tỉnh Nghệ An", false)
	ok := []gateway.Agency{
		{Code: "000.00.00.H41", Name: "UBND tỉnh Nghệ An", Gateway: "nghean", Version: 1},
		{Code: "000.00.12.H41", Name: "Sở Nội vụ", Parent: "000.00.00.H41", Gateway: "nghean", Certificates: []string{pemOf}, Version: 1},
	}
	for _, a := range ok {
		if err := f.dir.Apply(signed(t, f.nghean, gateway.DirectoryRecord{Agency: &a})); err != nil {
			t.Errorf("Nghệ An's administrator registering %s: %v", a.Code, err)
		}
	}
	if err := f.dir.Apply(signed(t, f.nghean, gateway.DirectoryRecord{Gateway: &gateway.GatewayEntry{ID: "nghean", Version: 1}})); err != nil {
		t.Errorf("Nghệ An's administrator registering its gateway: %v", err)
	}
	for _, r := range []gateway.DirectoryRecord{
		{Agency: &gateway.Agency{Code: "000.00.00.H42", Name: "Hà Tĩnh", Version: 1}},
		{Agency: &gateway.Agency{Code: "000.00.13.H41", Name: "Sở", Parent: "000.00.00.H29", Version: 1}},
		{Agency: &gateway.Agency{Code: "000.00.13.H41", Name: "Sở", OldCodes: []string{"000.00.00.G18"}, Version: 1}},
		{Gateway: &gateway.GatewayEntry{ID: "byt", Version: 1}},
	} {
		key, _ := r.DirectoryKey()
		t.Run(key, func(t *testing.T) {
			wantRejected(t, f.dir.Apply(signed(t, f.nghean, r)), gateway.RejectScope)
		})
	}
}

// TestDirectory_GatewayCertificates: a gateway certificate signs for the
// agencies whose entries name its gateway, once the gateway's record
// registers it; an agency certificate in a gateway's record does not.
func TestDirectory_GatewayCertificates(t *testing.T) {
	f := newDirFixture(t)
	gwPEM, gwCert := f.agencyCert(t, "000.00.00.H41", "Cổng liên thông Nghệ An", true)
	agPEM, agCert := f.agencyCert(t, "000.00.00.H41", "UBND tỉnh Nghệ An", false)
	xa := gateway.Agency{Code: "H41.01.01", Name: "UBND xã Nghi Phong", Gateway: "nghean", Version: 1}
	for _, r := range []gateway.DirectoryRecord{
		{Agency: &xa},
		{Gateway: &gateway.GatewayEntry{ID: "nghean", Certificates: []string{gwPEM, agPEM}, Version: 1, UpdatedAt: time.Now()}},
	} {
		if err := f.dir.Apply(signed(t, f.admin, r)); err != nil {
			t.Fatal(err)
		}
	}
	if !registers(t, f.dir, "H41.01.01", gwCert) {
		t.Error("the gateway certificate does not sign for the gateway's agency")
	}
	if registers(t, f.dir, "H41.01.01", agCert) {
		t.Error("an agency certificate in a gateway's record signs for the gateway's agencies")
	}
	// The directory keeps fingerprints: it cannot list certificates, and
	// says so rather than list none.
	if certs, err := f.dir.SigningCertificates(t.Context(), "H41.01.01"); err == nil {
		t.Errorf("SigningCertificates = %d certificates and no error", len(certs))
	}
	if _, ok := f.dir.Gateway("nghean"); !ok {
		t.Error("the gateway's record is not there")
	}
}

// BenchmarkDirectory_Apply measures applying signed agency entries, the
// work of a gateway's start for each entry of the directory.
func BenchmarkDirectory_Apply(b *testing.B) {
	ca, err := signing.InitCA(filepath.Join(b.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		b.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	admin := testkit.NewAdmin(b, ca, "*")
	is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"})
	if err != nil {
		b.Fatal(err)
	}
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw}))
	const n = 1000
	updates := make([]gateway.DirectoryUpdate, n)
	for i := range updates {
		a := gateway.Agency{Code: fmt.Sprintf("H41.%02d.%02d", i/100+1, i%100+1), Name: "UBND xã", Gateway: "nghean", Certificates: []string{cert}, Version: 1}
		key, value, err := gateway.SignRecord(admin, gateway.DirectoryRecord{Agency: &a})
		if err != nil {
			b.Fatal(err)
		}
		updates[i] = gateway.DirectoryUpdate{Key: key, Value: value}
	}
	b.ResetTimer()
	for range b.N {
		dir := gateway.NewDirectory(&signing.RecordVerifier{Anchors: anchors})
		for _, u := range updates {
			if err := dir.Apply(u); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/entry")
}

// TestDirectory_RevokedAdministrator: when a revocation list revokes an
// administrator's certificate, its entries go at once and its records
// are refused; the other administrators' stay.
func TestDirectory_RevokedAdministrator(t *testing.T) {
	f := newDirFixture(t)
	byNghean := gateway.Agency{Code: "000.00.12.H41", Name: "Sở Nội vụ", Gateway: "nghean", Version: 1}
	byAdmin := gateway.Agency{Code: "000.00.00.G22", Name: "Văn phòng Chính phủ", Gateway: "vpcp", Version: 1}
	for _, c := range []struct {
		s *signing.Signer
		r gateway.DirectoryRecord
	}{
		{f.nghean, gateway.DirectoryRecord{Agency: &byNghean}},
		{f.nghean, gateway.DirectoryRecord{Gateway: &gateway.GatewayEntry{ID: "nghean", Version: 1}}},
		{f.admin, gateway.DirectoryRecord{Agency: &byAdmin}},
	} {
		if err := f.dir.Apply(signed(t, c.s, c.r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.ca.RevokeCertificate(f.nghean.Certificate()); err != nil {
		t.Fatal(err)
	}
	crl, err := f.ca.CRL()
	if err != nil {
		t.Fatal(err)
	}
	if n := f.dir.SetCRLs([]*x509.RevocationList{crl}, time.Now()); n != 2 {
		t.Errorf("SetCRLs dropped %d entries, want Nghệ An's administrator's 2", n)
	}
	if _, ok := f.dir.Registered("H41.12"); ok {
		t.Error("an entry of the revoked administrator is still there")
	}
	if _, ok := f.dir.Gateway("nghean"); ok {
		t.Error("a gateway record of the revoked administrator is still there")
	}
	if _, ok := f.dir.Registered("G22"); !ok {
		t.Error("the other administrator's entry went too")
	}
	newer := byNghean
	newer.Version = 2
	wantRejected(t, f.dir.Apply(signed(t, f.nghean, gateway.DirectoryRecord{Agency: &newer})), gateway.RejectUnsigned)
}

// TestDirectory_Search: pages in the order of the codes' tokens, each
// continuing after the last; a search by part of a name, letter case and
// marks ignored, or by an old code.
func TestDirectory_Search(t *testing.T) {
	f := newDirFixture(t)
	names := map[string]string{
		"000.00.00.H41": "UBND tỉnh Nghệ An",
		"000.00.12.H41": "Sở Y tế tỉnh Nghệ An",
		"000.00.31.H41": "UBND xã Nghi Phong",
		"000.00.00.H29": "UBND Thành phố Hồ Chí Minh",
		"000.00.00.G22": "Văn phòng Chính phủ",
	}
	for code, name := range names {
		a := gateway.Agency{Code: code, Name: name, Gateway: "gw", Version: 1}
		if code == "000.00.31.H41" {
			a.OldCodes = []string{"000.31.27.H41"}
		}
		if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &a})); err != nil {
			t.Fatal(err)
		}
	}
	codes := func(p gateway.DirectoryPage) []string {
		var out []string
		for _, a := range p.Agencies {
			out = append(out, a.Code)
		}
		return out
	}
	var all []string
	q := gateway.DirectoryQuery{Limit: 2}
	for pages := 0; ; pages++ {
		p := f.dir.Search(q)
		if len(p.Agencies) > 2 || pages > 3 {
			t.Fatalf("page %d: %v", pages, codes(p))
		}
		all = append(all, codes(p)...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	want := []string{"000.00.00.G22", "000.00.00.H29", "000.00.00.H41", "000.00.12.H41", "000.00.31.H41"}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Errorf("pages of 2: %v, want %v", all, want)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"nghe an", []string{"000.00.00.H41", "000.00.12.H41"}},
		{"  NGHỆ   AN ", []string{"000.00.00.H41", "000.00.12.H41"}},
		{"ho chi minh", []string{"000.00.00.H29"}},
		{"000.31.27", []string{"000.00.31.H41"}}, // an old code
		{"h41", []string{"000.00.00.H41", "000.00.12.H41", "000.00.31.H41"}},
		{"bộ quốc phòng", nil},
	} {
		if got := codes(f.dir.Search(gateway.DirectoryQuery{Text: tc.text})); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("search %q: %v, want %v", tc.text, got, tc.want)
		}
	}
	// A page of one search continues with the same search.
	p := f.dir.Search(gateway.DirectoryQuery{Text: "h41", Limit: 1})
	p2 := f.dir.Search(gateway.DirectoryQuery{Text: "h41", Limit: 5, After: p.Next})
	if got := append(codes(p), codes(p2)...); fmt.Sprint(got) != "[000.00.00.H41 000.00.12.H41 000.00.31.H41]" || p2.Next != "" {
		t.Errorf("search h41 in pages: %v (next %q)", got, p2.Next)
	}
	for _, tc := range []struct {
		q    gateway.DirectoryQuery
		want string
	}{
		{gateway.DirectoryQuery{Under: "H41"}, "[000.00.00.H41 000.00.12.H41 000.00.31.H41]"},
		{gateway.DirectoryQuery{Under: "000.00.12.H41"}, "[000.00.12.H41]"},
		{gateway.DirectoryQuery{Under: "H41", Level: 2}, "[000.00.12.H41 000.00.31.H41]"},
		{gateway.DirectoryQuery{Level: 1}, "[000.00.00.G22 000.00.00.H29 000.00.00.H41]"},
		{gateway.DirectoryQuery{Under: "H41", Text: "y tế"}, "[000.00.12.H41]"},
		{gateway.DirectoryQuery{Under: "H42"}, "[]"},
	} {
		if got := fmt.Sprint(codes(f.dir.Search(tc.q))); got != tc.want {
			t.Errorf("search %+v: %s, want %s", tc.q, got, tc.want)
		}
	}
	if n := f.dir.Len(); n != 5 {
		t.Errorf("Len = %d, want 5", n)
	}
}

// TestDirectory_OldCodes: a former code resolves to the one agency that
// claims it, never over another agency's current code; two claims resolve
// to neither until one drops it; an entry removed drops its claims.
func TestDirectory_OldCodes(t *testing.T) {
	f := newDirFixture(t)
	put := func(code string, version uint64, old ...string) {
		t.Helper()
		a := gateway.Agency{Code: code, Name: "Cơ quan " + code, Gateway: "gw", Version: version, OldCodes: old}
		if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &a})); err != nil {
			t.Fatal(err)
		}
	}
	current := func(code string) string {
		now, _ := f.dir.CurrentCode(code)
		return now
	}
	put("000.00.31.H41", 1, "000.27.31.H41", "000.00.00.H29")
	put("000.00.00.H29", 1)
	if got := current("000.27.31.H41"); got != "000.00.31.H41" {
		t.Errorf("the old code resolves to %q", got)
	}
	if got := current("000.00.00.H29"); got != "000.00.00.H29" {
		t.Errorf("an old code claimed over a current one resolves to %q, want the current agency", got)
	}
	put("000.00.32.H41", 1, "000.27.31.H41")
	if got := current("000.27.31.H41"); got != "" {
		t.Errorf("an old code two agencies claim resolves to %q, want none", got)
	}
	put("000.00.32.H41", 2) // drops its claim
	if got := current("000.27.31.H41"); got != "000.00.31.H41" {
		t.Errorf("after the second claim is dropped: %q", got)
	}
	a := gateway.Agency{Code: "000.00.31.H41", Version: 2, Removed: true}
	if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &a})); err != nil {
		t.Fatal(err)
	}
	if got := current("000.27.31.H41"); got != "" {
		t.Errorf("the old code of a removed agency resolves to %q", got)
	}
}
