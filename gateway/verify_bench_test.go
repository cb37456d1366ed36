package gateway_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/benchfloor"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// verifySenders is how many agencies BenchmarkDirectory_Verify's directory
// holds and its Senders case cycles through: more than a gateway's caches
// of parsed certificates and verified chains hold (4,096 each), so that
// every packet is a sender not seen lately.
const verifySenders = 5000

// BenchmarkDirectory_Verify verifies signed status packets (about 3 KB
// with the signer's certificate) through a gateway.Directory of
// verifySenders agencies, each registered with a certificate of its own,
// as a gateway verifies every status it receives (166,000 in the national
// day), and reports the process CPU of each verification against a raw
// RSA-2048 PKCS#1 v1.5 verification of one SHA-256 digest run right after
// it (x-rsa), so that the ratio is measured in one run whatever else the
// machine does. OneSender verifies the same agency's packet again and
// again (its certificate parsed and its chain verified once, as for the
// few hundred agencies that send most); Senders cycles through every
// agency (each packet's certificate parsed and its chain verified
// afresh). RawRSA2048 holds the floor against itself, which shows the
// measurement's own noise.
//
//	go test ./gateway -run '^$' -bench Directory_Verify -count 3
func BenchmarkDirectory_Verify(b *testing.B) {
	ca, err := signing.InitCA(filepath.Join(b.TempDir(), "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		b.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	admin := testkit.NewAdmin(b, ca, "*")
	// One key for every agency (making 5,000 would take minutes), a
	// certificate each, as agencies have.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	dir := gateway.NewDirectory(&signing.RecordVerifier{Anchors: anchors})
	packets := make([][]byte, verifySenders)
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < verifySenders; i += runtime.GOMAXPROCS(0) {
				if err := verifySender(ca, admin, key, dir, i, packets); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	dir.TakeUnkeptForTest()
	crl, err := ca.CRL()
	if err != nil {
		b.Fatal(err)
	}
	crls := []*x509.RevocationList{crl}
	// As gateway.New makes its verifier.
	v := &signing.Verifier{Roots: anchors, CRLs: crls, Revocations: signing.NewRevocations(crls), Directory: dir, Chains: &signing.ChainCache{}}
	verify := func(packet []byte) error {
		vd, err := v.Verify(b.Context(), packet)
		if err != nil {
			return err
		}
		if vd.Outcome != signing.Valid {
			return fmt.Errorf("%s: %s", vd.Outcome, vd.ReasonEN)
		}
		return nil
	}
	b.Run("RawRSA2048", func(b *testing.B) {
		againstRSAVerify(b, key, func() error { return rawRSAVerify(key) })
	})
	b.Run("OneSender", func(b *testing.B) {
		againstRSAVerify(b, key, func() error { return verify(packets[0]) })
	})
	b.Run("Senders", func(b *testing.B) {
		i := 0
		againstRSAVerify(b, key, func() error {
			i = (i + 1) % len(packets)
			return verify(packets[i])
		})
	})
}

// verifySender registers agency i of BenchmarkDirectory_Verify in dir,
// with a certificate for key, and makes its status packet.
func verifySender(ca *signing.CA, admin *signing.Signer, key *rsa.PrivateKey, dir *gateway.Directory, i int, packets [][]byte) error {
	province, commune := 1+i/580, 1+i%580
	code := fmt.Sprintf("%03d.%02d.%02d.H%02d", commune/100, commune%100, 0, province)
	is, err := ca.Issue(signing.IssueRequest{Agency: code, Name: fmt.Sprintf("UBND xã số %d", i), Key: key})
	if err != nil {
		return err
	}
	a := gateway.Agency{
		Code: code, Name: fmt.Sprintf("UBND xã số %d", i), Gateway: "h01", Version: 1, UpdatedAt: time.Now().UTC(),
		Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw}))},
	}
	k, val, err := gateway.SignRecord(admin, gateway.DirectoryRecord{Agency: &a})
	if err != nil {
		return err
	}
	if err := dir.Apply(gateway.DirectoryUpdate{Key: k, Value: val}); err != nil {
		return err
	}
	s, err := signing.NewSigner(key, []*x509.Certificate{is.Certificate})
	if err != nil {
		return err
	}
	packets[i], err = s.SignStatus(&envelope.Status{
		From:        envelope.Organization{OrganID: code, OrganName: a.Name},
		ResponseFor: envelope.ResponseFor{OrganID: "000.00.00.G22", DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"},
		StatusCode:  envelope.StatusAccepted,
		Timestamp:   "2025/11/20 10:00:00",
	})
	return err
}

var rawRSASig struct {
	once   sync.Once
	digest [sha256.Size]byte
	sig    []byte
	err    error
}

// rawRSAVerify verifies one PKCS#1 v1.5 signature of a SHA-256 digest by
// key: the floor of verifying a packet.
func rawRSAVerify(key *rsa.PrivateKey) error {
	r := &rawRSASig
	r.once.Do(func() {
		r.digest = sha256.Sum256([]byte("lienthong"))
		r.sig, r.err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, r.digest[:])
	})
	if r.err != nil {
		return r.err
	}
	return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, r.digest[:], r.sig)
}

// againstRSAVerify runs op b.N times, each time in turn with
// rawRSAVerify, and reports op's process CPU time against the raw
// verification's (benchfloor.InTurn: x-rsa).
func againstRSAVerify(b *testing.B, key *rsa.PrivateKey, op func() error) {
	b.Helper()
	b.ReportAllocs()
	benchfloor.InTurn(b, "rsa", nil, op, func() error { return rawRSAVerify(key) })
}
