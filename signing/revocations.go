package signing

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// Revocations are revocation lists made ready for many look-ups: each
// list's revoked serial numbers in a map, and whether it verifies against
// an issuer remembered once found. A national CA's list can hold many
// thousands of entries and weigh megabytes; checking its signature and
// scanning it for every packet and every directory record would cost more
// than the signatures themselves. It is safe for concurrent use.
type Revocations struct {
	lists   []*x509.RevocationList
	serials []map[string]time.Time // per list: serial number → revocation time

	mu     sync.Mutex
	signed map[issuerOfList]bool // whether list verifies against issuer
}

type issuerOfList struct {
	list   int
	issuer [sha256.Size]byte // of the issuer's DER
}

// maxSignedChecks bounds what Revocations remembers of the issuers it met:
// issuers are few, but a packet may bring any certificate as an
// intermediate.
const maxSignedChecks = 256

// NewRevocations indexes lists. The lists must not be changed afterwards.
func NewRevocations(lists []*x509.RevocationList) *Revocations {
	r := &Revocations{lists: lists, signed: make(map[issuerOfList]bool)}
	for _, l := range lists {
		m := make(map[string]time.Time, len(l.RevokedCertificateEntries))
		for _, e := range l.RevokedCertificateEntries {
			k := e.SerialNumber.String()
			if t, ok := m[k]; !ok || e.RevocationTime.Before(t) {
				m[k] = e.RevocationTime
			}
		}
		r.serials = append(r.serials, m)
	}
	return r
}

// Lists returns the lists indexed.
func (r *Revocations) Lists() []*x509.RevocationList { return r.lists }

// Revoked reports whether a list issued by cert's issuer, in one of
// chains (as x509.Certificate.Verify returns them), revokes cert at now,
// and since when.
func (r *Revocations) Revoked(cert *x509.Certificate, chains [][]*x509.Certificate, now time.Time) (bool, time.Time) {
	if r == nil {
		return false, time.Time{}
	}
	serial := cert.SerialNumber.String()
	for _, chain := range chains {
		if len(chain) < 2 {
			continue
		}
		issuer := chain[1]
		for i, l := range r.lists {
			at, listed := r.serials[i][serial]
			if !listed || at.After(now) || !r.signedBy(i, l, issuer) {
				continue
			}
			return true, at
		}
	}
	return false, time.Time{}
}

// signedBy reports whether list i verifies against issuer, from memory
// when it was checked before.
func (r *Revocations) signedBy(i int, l *x509.RevocationList, issuer *x509.Certificate) bool {
	k := issuerOfList{list: i, issuer: sha256.Sum256(issuer.Raw)}
	r.mu.Lock()
	ok, known := r.signed[k]
	r.mu.Unlock()
	if known {
		return ok
	}
	ok = l.CheckSignatureFrom(issuer) == nil
	r.mu.Lock()
	if len(r.signed) >= maxSignedChecks {
		r.signed = make(map[issuerOfList]bool)
	}
	r.signed[k] = ok
	r.mu.Unlock()
	return ok
}
