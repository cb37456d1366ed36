package signing_test

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing"
)

// TestRecordVerifier: a record signed by an administrator opens, with its
// scopes; tampered bytes, an agency's key, and a certificate gone out of
// validity after an earlier record opened (the chain cache must not keep
// it alive) are refused.
func TestRecordVerifier(t *testing.T) {
	ca, err := signing.InitCA(filepath.Join(t.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	issue := func(req signing.IssueRequest) *signing.Signer {
		t.Helper()
		is, err := ca.Issue(req)
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	admin := issue(signing.IssueRequest{Agency: "000.00.00.H41", Name: "Quản trị", DirectoryScopes: []string{"000.00.00.H41", "gw:nghean"},
		Validity: 48 * time.Hour})
	record := []byte(`{"agency":{"code":"000.00.12.H41"}}`)
	signed, err := admin.SignRecord(record)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v := &signing.RecordVerifier{Anchors: anchors, Now: func() time.Time { return now }}
	o, err := v.Open(signed)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if string(o.Record) != string(record) || len(o.Scopes) != 2 || o.Scopes[0] != "H41" || o.Scopes[1] != "gw:nghean" {
		t.Errorf("opened %q with scopes %v", o.Record, o.Scopes)
	}
	if _, err := v.Open(append([]byte{}, signed...)); err != nil {
		t.Errorf("Open from the cache: %v", err)
	}
	agency := issue(signing.IssueRequest{Agency: "000.00.00.H29", Name: "UBND TP.HCM"})
	if _, err := agency.SignRecord(record); !errors.Is(err, signing.ErrKey) {
		t.Errorf("an agency's key signed a record: %v", err)
	}
	now = now.Add(72 * time.Hour)
	if _, err := v.Open(signed); !errors.Is(err, signing.ErrRecord) {
		t.Errorf("Open after the administrator's certificate expired = %v, want ErrRecord", err)
	}
}

// twoDayAdministrator makes a CA and, from it, a directory administrator
// for the whole directory whose certificate is valid for 48 hours.
func twoDayAdministrator(t *testing.T) (*signing.CA, *signing.Issued, *signing.Signer) {
	t.Helper()
	ca, err := signing.InitCA(filepath.Join(t.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Quản trị", DirectoryScopes: []string{"*"}, Validity: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	return ca, is, admin
}

// TestRecordVerifier_OpenKept: a kept record is not checked for its own
// signature again, but its signer is — to the anchors now, within its
// validity.
func TestRecordVerifier_OpenKept(t *testing.T) {
	ca, _, admin := twoDayAdministrator(t)
	signed, err := admin.SignRecord([]byte(`{"agency":{"code":"000.00.12.H41"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var sr signing.SignedRecord
	if err := json.Unmarshal(signed, &sr); err != nil {
		t.Fatal(err)
	}
	sr.Signature[0] ^= 0xff
	tampered, _ := json.Marshal(sr)
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	now := time.Now()
	v := &signing.RecordVerifier{Anchors: anchors, Now: func() time.Time { return now }}
	if _, err := v.Open(tampered); !errors.Is(err, signing.ErrRecord) {
		t.Errorf("Open of a bad signature: %v", err)
	}
	if _, err := v.OpenKept(tampered); err != nil {
		t.Errorf("OpenKept checks the record's signature again: %v", err)
	}
	now = now.Add(72 * time.Hour)
	if _, err := v.OpenKept(signed); !errors.Is(err, signing.ErrRecord) {
		t.Errorf("OpenKept of a signer out of validity: %v", err)
	}
	other, err := signing.InitCA(filepath.Join(t.TempDir(), "other"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := x509.NewCertPool()
	elsewhere.AddCert(other.Certificate())
	if _, err := (&signing.RecordVerifier{Anchors: elsewhere}).OpenKept(signed); !errors.Is(err, signing.ErrRecord) {
		t.Errorf("OpenKept under other anchors: %v", err)
	}
}

// TestRecordVerifier_OpenSigned: a record an administrator signed opens
// whatever became of its signer since (expired, revoked); one whose
// signature or chain is not an administrator's does not.
func TestRecordVerifier_OpenSigned(t *testing.T) {
	ca, is, admin := twoDayAdministrator(t)
	signed, err := admin.SignRecord([]byte(`{"agency":{"code":"000.00.12.H41","version":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	var sr signing.SignedRecord
	if err := json.Unmarshal(signed, &sr); err != nil {
		t.Fatal(err)
	}
	sr.Record = []byte(`{"agency":{"code":"000.00.12.H41","version":6}}`)
	forged, _ := json.Marshal(sr)
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	now := time.Now()
	v := &signing.RecordVerifier{Anchors: anchors, Now: func() time.Time { return now }}
	if o, err := v.OpenSigned(signed); err != nil || string(o.Record) != `{"agency":{"code":"000.00.12.H41","version":5}}` {
		t.Fatalf("OpenSigned of a genuine record: %v", err)
	}
	for name, data := range map[string][]byte{"forged": forged, "junk": []byte("not a signed record")} {
		if _, err := v.OpenSigned(data); !errors.Is(err, signing.ErrRecord) {
			t.Errorf("OpenSigned of a %s record: %v, want ErrRecord", name, err)
		}
	}
	other, err := signing.InitCA(filepath.Join(t.TempDir(), "other"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := x509.NewCertPool()
	elsewhere.AddCert(other.Certificate())
	if _, err := (&signing.RecordVerifier{Anchors: elsewhere}).OpenSigned(signed); !errors.Is(err, signing.ErrRecord) {
		t.Errorf("OpenSigned under other anchors: %v", err)
	}

	// Revoked, then expired: Open refuses, OpenSigned does not.
	if err := ca.RevokeCertificate(is.Certificate); err != nil {
		t.Fatal(err)
	}
	crl, err := ca.CRL()
	if err != nil {
		t.Fatal(err)
	}
	v.SetCRLs([]*x509.RevocationList{crl})
	// A revocation counts from its time, which a CRL keeps to the
	// second, truncated: now, taken before it, may be a fraction of a
	// second before the revocation when a second began in between (the
	// test failed so once in CI). The verifier asks a moment after.
	now = time.Now().Add(time.Second)
	if _, err := v.Open(signed); !errors.Is(err, signing.ErrRecord) {
		t.Errorf("Open of a revoked administrator's record: %v", err)
	}
	if _, err := v.OpenSigned(signed); err != nil {
		t.Errorf("OpenSigned of a revoked administrator's record: %v", err)
	}
	now = now.Add(72 * time.Hour)
	if _, err := v.OpenSigned(signed); err != nil {
		t.Errorf("OpenSigned of an expired administrator's record: %v", err)
	}
}
