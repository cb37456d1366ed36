package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/signing"
)

// A national directory is 111,000 signed records of about 4 KB each (the
// agency's certificate inside the record, the administrator's chain
// beside it). Reading them all from the store and opening each at every
// start was most of a restart (issue 17: 4.6 s of 5.3). So each agency's
// record is kept with its brief — what the directory made of it — and a
// start reads the briefs, half a kilobyte each, judging each signer once
// rather than opening each record. The records stay the truth:
// Gateway.verifyKept checks their signatures in the background and puts
// in place of every entry made from a brief the one its record makes, and
// takes out those whose brief matches no record kept.

// keptBrief is what the directory made of an agency's signed record.
type keptBrief struct {
	// Sum is the SHA-256 of the signed record (its wire form), Signer the
	// SHA-256 of the DER of the administrator's certificate that signed
	// it.
	Sum    []byte `json:"sum"`
	Signer []byte `json:"signer"`
	// Agency is the record's entry, without its certificates: their
	// fingerprints are in Fingerprints, in order.
	Agency       Agency   `json:"agency"`
	Fingerprints [][]byte `json:"fingerprints,omitempty"`
}

// brief returns the brief of o, an agency's record; nil for a gateway's.
func (o applying) brief() []byte {
	if o.agency == nil {
		return nil
	}
	b := keptBrief{Sum: o.sum[:], Signer: o.signerFP[:], Agency: *o.agency}
	b.Agency.Certificates = nil
	for _, fp := range o.fingerprints {
		b.Fingerprints = append(b.Fingerprints, fp[:])
	}
	out, err := json.Marshal(b)
	if err != nil {
		// An Agency always encodes; without a brief the record is only
		// opened again at the next start.
		return nil
	}
	return out
}

// errBriefMismatch: the brief cannot be read, or it is not its record's,
// or that record cannot be read: the record is applied instead.
var errBriefMismatch = errors.New("the brief does not match the record kept")

// briefSigners judges the administrators who signed the briefs a start
// loads, once each: the first brief of each signer has its record read
// and opened (signing.RecordVerifier.OpenKept, which judges the signer as
// at any time: anchors, validity, revocation, scopes) and the others
// share the judgement, or its refusal. Only that first brief is compared
// with its record at start; the others are when Gateway.verifyKept reads
// the records.
type briefSigners struct {
	// record reads the signed record kept under a key.
	record func(ctx context.Context, key string) ([]byte, error)

	mu     sync.Mutex
	judged map[[sha256.Size]byte]judgement
}

// judgement is what briefSigners found of an administrator: its
// certificate as opened, and the directory's crlGen then; or why its
// record was refused.
type judgement struct {
	signer *signing.Opened
	gen    uint64
	err    error
}

// judge returns the judgement of the signer of the brief b of the record
// kept under key.
func (s *briefSigners) judge(ctx context.Context, d *Directory, key string, b *keptBrief) judgement {
	fp := [sha256.Size]byte(b.Signer)
	s.mu.Lock()
	j, ok := s.judged[fp]
	s.mu.Unlock()
	if ok {
		return j
	}
	value, err := s.record(ctx, key)
	if err != nil {
		return judgement{err: fmt.Errorf("%w: %w", errBriefMismatch, err)}
	}
	if sha256.Sum256(value) != [sha256.Size]byte(b.Sum) {
		return judgement{err: fmt.Errorf("%w: another record is kept under %s", errBriefMismatch, key)}
	}
	d.mu.RLock()
	j.gen = d.crlGen
	d.mu.RUnlock()
	j.signer, j.err = d.verifier.OpenKept(value)
	if j.err != nil {
		// Kept as the signer's refusal, so that its next briefs go
		// straight to their records, only if the signer is the one the
		// brief names: a record that is nobody's must not send every
		// brief of an administrator the slow way.
		signed, err := d.verifier.OpenSigned(value)
		if err != nil {
			return j
		}
		if _, got := d.signerOf(signed.Signer); got != fp {
			return j
		}
	} else if name, got := d.signerOf(j.signer.Signer); got != fp {
		return judgement{err: fmt.Errorf("%w: its record is signed by %s", errBriefMismatch, name)}
	}
	s.mu.Lock()
	if s.judged == nil {
		s.judged = make(map[[sha256.Size]byte]judgement)
	}
	s.judged[fp] = j
	s.mu.Unlock()
	return j
}

// applyBrief applies the entry of r, a brief kept in the store, as
// apply applies a kept record (fromKept), with signers judging its signer.
// After an error (one wrapping errBriefMismatch, or a refusal of the
// signer or of the entry), the record itself is to be applied instead,
// as one kept without a brief.
func (d *Directory) applyBrief(ctx context.Context, r KeptRecord, signers *briefSigners) error {
	if d.verifier == nil {
		return &DirectoryRejection{Key: r.Key, Reason: RejectUnsigned, Err: errors.New("no directory trust anchor is configured")}
	}
	var b keptBrief
	if err := json.Unmarshal(r.Brief, &b); err != nil {
		return fmt.Errorf("%w: %w", errBriefMismatch, err)
	}
	if len(b.Sum) != sha256.Size || len(b.Signer) != sha256.Size || b.Agency.Version != r.Version {
		return fmt.Errorf("%w: unreadable", errBriefMismatch)
	}
	j := signers.judge(ctx, d, r.Key, &b)
	if j.err != nil {
		return j.err
	}
	o := applying{sum: [sha256.Size]byte(b.Sum), agency: &b.Agency, signer: j.signer}
	for _, fp := range b.Fingerprints {
		if len(fp) != sha256.Size {
			return fmt.Errorf("%w: a fingerprint of %d bytes", errBriefMismatch, len(fp))
		}
		o.fingerprints = append(o.fingerprints, [sha256.Size]byte(fp))
	}
	if err := d.check(r.Key, &o); err != nil {
		return err
	}
	// put judges the signer again if lists of revoked certificates came
	// since the judgement.
	_, err := d.put(DirectoryUpdate{Key: r.Key, Revision: r.Revision}, o, j.gen, fromBrief, nil)
	return err
}

// signerInfo is what the directory computes once per administrator
// certificate: its subject and its fingerprint.
type signerInfo struct {
	name string
	fp   [sha256.Size]byte
}

// signerOf returns the subject and fingerprint of an administrator's
// certificate, computed once per certificate (the verifier hands out the
// same one for every record of an administrator, see
// signing.RecordVerifier): at a restart, naming the signer of each of
// 111,000 records was a tenth of the work.
func (d *Directory) signerOf(cert *x509.Certificate) (name string, fp [sha256.Size]byte) {
	d.signersMu.Lock()
	defer d.signersMu.Unlock()
	if s, ok := d.signerInfos[cert]; ok {
		return s.name, s.fp
	}
	if d.signerInfos == nil || len(d.signerInfos) >= 1024 {
		d.signerInfos = make(map[*x509.Certificate]signerInfo)
	}
	s := signerInfo{name: cert.Subject.String(), fp: sha256.Sum256(cert.Raw)}
	d.signerInfos[cert] = s
	return s.name, s.fp
}

// keptState is what verifyKept finds of a kept record in the directory.
type keptState int

const (
	// keptChecked: the record's entry is checked, or the directory holds
	// another record of the key now, or none: nothing to do.
	keptChecked keptState = iota
	// keptUnchecked: the entry held was applied from this record, or
	// from its brief, and its signature is not checked yet.
	keptUnchecked
	// keptOther: the entry held, not checked, was applied from a brief
	// that is not this record's, the one kept under the key.
	keptOther
)

// keptState says what the directory holds of the record of key whose
// value has the digest sum.
func (d *Directory) keptState(key string, sum [sha256.Size]byte) keptState {
	d.mu.RLock()
	defer d.mu.RUnlock()
	h, ok := d.held[key]
	switch {
	case !ok || !h.unverified:
		return keptChecked
	case h.sum == sum:
		return keptUnchecked
	}
	return keptOther
}

// confirm replaces the entry held for r.Key, applied from r's record or
// from its brief, by the one the record makes once its signature
// verified. If the brief kept with it (r.Brief) is not the one the record
// makes, the record's is kept in its place, and confirm reports it.
func (d *Directory) confirm(r KeptRecord) (briefRewritten bool, err error) {
	u := DirectoryUpdate{Key: r.Key, Value: r.Value, Revision: r.Revision}
	o, gen, err := d.open(u, confirming)
	if err != nil {
		return false, err
	}
	return d.put(u, o, gen, confirming, r.Brief)
}

// forgetUnchecked takes out the entry held for key if it is not checked,
// with the version held, so that any record of the key can take its
// place. It reports whether it did.
func (d *Directory) forgetUnchecked(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.held[key]
	if !ok || !h.unverified {
		return false
	}
	delete(d.held, key)
	d.forgetEntry(key)
	return true
}

// disbelieve takes out the entry of key, made from the record value or
// from its brief, whose signer is not believed any more (revoked or
// expired since the start), if value is an administrator's record for key
// (holdSigned), whose version then stays held, so that no older record
// takes the key. It reports whether value is such a record.
func (d *Directory) disbelieve(key string, value []byte) bool {
	version, ok := d.signedVersion(key, value)
	if !ok {
		return false
	}
	sum := sha256.Sum256(value)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch h, held := d.held[key]; {
	case held && h.sum == sum && h.unverified:
		// The record's version, not what a brief said of it.
		d.forgetEntry(key)
		d.held[key] = heldRecord{version: version, sum: sum}
	case !held || h.version < version:
		d.held[key] = heldRecord{version: version, sum: sum}
	}
	return true
}

// dropUnchecked takes out every entry still held unchecked once
// verifyKept read every record kept: each was made from a brief that no
// record kept confirms (a brief left when its record was deleted, or
// written by someone else). Neither it nor its version stays held: they
// come from no record that verified. It returns their keys.
func (d *Directory) dropUnchecked() (keys []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for key, h := range d.held {
		if !h.unverified {
			continue
		}
		delete(d.held, key)
		d.forgetEntry(key)
		keys = append(keys, key)
	}
	return keys
}

// forgetEntry takes out the entry of key, an agency's or a gateway's.
// d.mu must be held for writing.
func (d *Directory) forgetEntry(key string) {
	if id, ok := strings.CutPrefix(key, GatewayKeyPrefix); ok {
		delete(d.gateways, id)
	} else {
		d.removeEntry(key)
	}
	d.updated = time.Now()
}
