package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/vntext"
	"github.com/lienthong/lienthong/signing"
)

// The directory is the axis administrator's, not what each gateway says of
// itself (as X-Road's global configuration is signed by its central
// server). Every entry of KV LT_DIRECTORY is a record signed by an
// administrator whose certificate chains to the directory's trust anchors
// and names the part of the directory it may sign (signing.DirectoryScopes);
// a gateway applies an entry only if that signature verifies, the entry is
// stored under its own key, the signer's scope covers it, and it is newer
// than the one the gateway holds. Anything else is ignored and counted
// (Observer.DirectoryRejected), never applied: a gateway with credentials
// to the bucket can neither rename an agency, nor register its own key for
// another, nor blank an entry, nor replay an older one.

// DirectoryRecord is what an administrator signs: exactly one of an
// agency's entry and a gateway's.
type DirectoryRecord struct {
	Agency  *Agency       `json:"agency,omitempty"`
	Gateway *GatewayEntry `json:"gateway,omitempty"`
}

// GatewayEntry is a gateway's record in the directory: the certificates it
// may sign with for the agencies whose entries name it as their gateway
// (gateway certificates, signing.IsGatewayCertificate).
type GatewayEntry struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Certificates are PEM "CERTIFICATE" blocks.
	Certificates []string `json:"certificates,omitempty"`
	// Version orders the records of one gateway: a record is applied only
	// if its version is higher than the one held.
	Version   uint64    `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Removed takes the gateway out of the directory.
	Removed bool `json:"removed,omitempty"`
}

// DirectoryKey returns the key of the record in LT_DIRECTORY: the agency
// code's NATS tokens (H41.12), or "gw." and the gateway's id. It fails for
// a record that is not exactly one of the two or names no valid code or
// id.
func (r DirectoryRecord) DirectoryKey() (string, error) {
	switch {
	case r.Agency != nil && r.Gateway == nil:
		c, err := envelope.ParseAgencyCode(r.Agency.Code, envelope.CodeAny)
		if err != nil {
			return "", fmt.Errorf("gateway: directory record: %w", err)
		}
		return c.Tokens(), nil
	case r.Gateway != nil && r.Agency == nil:
		if !validGatewayID(r.Gateway.ID) {
			return "", fmt.Errorf("gateway: directory record: gateway id %q: want letters, digits, '-' and '_'", r.Gateway.ID)
		}
		return GatewayKeyPrefix + r.Gateway.ID, nil
	}
	return "", errors.New("gateway: directory record: exactly one of an agency and a gateway is needed")
}

// GatewayKeyPrefix starts the LT_DIRECTORY keys of gateways' records. No
// agency code's tokens start with it.
const GatewayKeyPrefix = "gw."

func validGatewayID(id string) bool {
	return id != "" && strings.IndexFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
	}) < 0
}

// DirectoryUpdate is one change of KV LT_DIRECTORY as the bus delivers it,
// not yet believed.
type DirectoryUpdate struct {
	Key   string
	Value []byte
	// Deleted: the key was deleted or purged. Only a signed record with
	// Removed set takes an entry out; a deletion is refused.
	Deleted bool
	// Revision identifies the update's value in LT_DIRECTORY: its
	// revision there, with a tag of the bucket it is from, so that a
	// bucket made anew (revisions from 1 again) never matches what was
	// kept from the one before. It is compared for equality only; 0 is
	// not known.
	Revision uint64
}

// Reasons a directory update is refused, as Observer.DirectoryRejected
// gets them.
const (
	RejectUnsigned  = "unsigned"  // not a signed record, or its signature or signer is not accepted
	RejectMalformed = "malformed" // the signed record cannot be read
	RejectKey       = "key"       // the record is not stored under its own key
	RejectScope     = "scope"     // the signer may not sign for this part of the directory
	RejectStale     = "stale"     // not newer than the record held
	RejectDeletion  = "deletion"  // a deletion or purge of the key, which only a signed record may do
)

// DirectoryRejection is the error Directory.Apply returns for an update it
// does not apply.
type DirectoryRejection struct {
	Key    string
	Reason string // one of the Reject constants
	Err    error
}

func (e *DirectoryRejection) Error() string {
	return fmt.Sprintf("gateway: directory entry %q not applied (%s): %v", e.Key, e.Reason, e.Err)
}

func (e *DirectoryRejection) Unwrap() error { return e.Err }

// Directory is the gateway's view of the agencies on the axis: the signed
// entries of KV LT_DIRECTORY that verified, plus the agencies this gateway
// hosts (from its own configuration). It answers the verifier's question
// of whether a certificate may sign for an agency (HasSigningCertificate).
// Of the certificates it keeps only their fingerprints: the agencies it
// gives (Lookup, Registered, Search, Agencies) have no Certificates, which
// Gateway.AgencyCertificates reads back. It is safe for concurrent use.
type Directory struct {
	verifier *signing.RecordVerifier

	mu       sync.RWMutex
	entries  map[string]*directoryEntry // signed, by agency tokens
	gateways map[string]*gatewayEntry   // signed, by gateway id
	local    map[string]*directoryEntry // hosted agencies, by tokens
	held     map[string]heldRecord      // by key: the latest record applied, removals included
	updated  time.Time
	// unkept are the records applied from the bus and not yet kept in the
	// store (takeUnkept); toKeep is signalled when they grow.
	unkept map[string]KeptRecord
	toKeep chan struct{}
	// crlGen counts SetCRLs: a record whose signature was judged under
	// older lists is judged again before it is applied.
	crlGen uint64
	// gen counts the changes of which agencies the directory holds; the
	// keys in order (Search's pages) are sorted again when it moved.
	gen uint64
	// old maps the tokens of an agency's former codes (Agency.OldCodes)
	// to its key in entries, so that a packet or a DMS that still uses a
	// code the 2025 reform replaced reaches the agency that holds it now.
	// A current code always wins over another agency's former one, and a
	// former code two entries claim resolves to neither (gateways that
	// applied them in other orders would disagree).
	old map[string][]string
	// signers are the names of the administrators who signed entries,
	// one string each rather than one per entry.
	signers map[string]string
	// signerInfos are computed once per administrator certificate
	// (signerOf), under signersMu.
	signersMu   sync.Mutex
	signerInfos map[*x509.Certificate]signerInfo
	sortMu      sync.Mutex
	sorted      []string
	sortedGen   uint64
}

// keepBatch is how many records applied and not yet kept make the
// directory ask for them to be kept at once.
const keepBatch = 1000

// directoryEntry is an agency's entry.
type directoryEntry struct {
	Agency // Certificates nil: see fingerprints
	// fingerprints are the SHA-256 of the DER of the certificates of
	// Agency.Certificates, in order: all that the verifier's question
	// needs (HasSigningCertificate). At 111,000 entries with a
	// certificate each, the PEM strings were 190 MB of a gateway's heap;
	// kept as DER, the entries took 165 MB, 66 MB with fingerprints
	// (BenchmarkDirectory_National), and a national day's simulation runs
	// a hundred gateways in one process. The API reads the certificates
	// back from the records kept (Gateway.AgencyCertificates).
	fingerprints [][sha256.Size]byte
	by           signedBy // zero for a hosted agency's own entry
	// folded is the code, name and old codes as Search matches them.
	folded string
}

// newEntry makes an agency's entry, code canonical, whose certificates
// have the fingerprints fps (a.Certificates is not kept).
func newEntry(a Agency, code envelope.AgencyCode, fps [][sha256.Size]byte) *directoryEntry {
	e := &directoryEntry{Agency: a}
	e.Code = code.String()
	e.folded = vntext.Fold(e.Code + " " + e.Name + " " + strings.Join(e.OldCodes, " "))
	e.fingerprints = fps
	e.Certificates = nil
	return e
}

// fingerprints returns the SHA-256 of each of ders, in order.
func fingerprints(ders [][]byte) [][sha256.Size]byte {
	if len(ders) == 0 {
		return nil
	}
	out := make([][sha256.Size]byte, len(ders))
	for i, der := range ders {
		out[i] = sha256.Sum256(der)
	}
	return out
}

// signerName returns the one copy of an administrator's name; d.mu is
// held.
func (d *Directory) signerName(name string) string {
	if n, ok := d.signers[name]; ok {
		return n
	}
	if d.signers == nil || len(d.signers) >= 1024 {
		d.signers = make(map[string]string)
	}
	d.signers[name] = name
	return name
}

// certificateDER returns the DER of the CERTIFICATE blocks of pems, in
// order; anything else in them was never a certificate to verify with.
func certificateDER(pems []string) [][]byte {
	var out [][]byte
	for _, p := range pems {
		rest := []byte(p)
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type == "CERTIFICATE" {
				out = append(out, block.Bytes)
			}
		}
	}
	return out
}

type gatewayEntry struct {
	GatewayEntry
	// signers are the fingerprints (SHA-256 of the DER) of the record's
	// certificates that are gateway certificates
	// (signing.IsGatewayCertificate): those that sign for the gateway's
	// agencies.
	signers [][sha256.Size]byte
	by      signedBy
}

// signedBy is the administrator certificate that signed an entry and the
// chains it verified with, to drop the entry when it is revoked.
type signedBy struct {
	cert   *x509.Certificate
	chains [][]*x509.Certificate
}

// heldRecord is what a key last applied: a newer version replaces it, the
// same bytes again change nothing, anything else is stale.
type heldRecord struct {
	version uint64
	sum     [sha256.Size]byte // of the value: the value itself would double the directory's memory
	// unverified: applied from the store with its signer judged, not its
	// signature (OpenKept), until the gateway's verifyKept checks it.
	unverified bool
	// revision is the record's revision in LT_DIRECTORY, 0 if not known.
	revision uint64
}

var (
	_ signing.Directory           = (*Directory)(nil)
	_ signing.CertificateRegistry = (*Directory)(nil)
)

// NewDirectory returns an empty directory that believes the records v
// opens. A nil v believes none: the directory then knows only the hosted
// agencies.
func NewDirectory(v *signing.RecordVerifier) *Directory {
	return &Directory{
		verifier: v,
		entries:  make(map[string]*directoryEntry),
		gateways: make(map[string]*gatewayEntry),
		local:    make(map[string]*directoryEntry),
		held:     make(map[string]heldRecord),
		old:      make(map[string][]string),
		unkept:   make(map[string]KeptRecord),
		toKeep:   make(chan struct{}, 1),
	}
}

// now is the verifier's clock.
func (d *Directory) now() time.Time {
	if d.verifier != nil && d.verifier.Now != nil {
		return d.verifier.Now()
	}
	return time.Now()
}

// holdSigned keeps the version of value, a record the store kept under
// key but that is not applied (its administrator revoked or expired
// since), if an administrator did sign it for key within its scope
// (signing.RecordVerifier.OpenSigned): an older record of the same key
// must not take its place. It reports whether value is such a record; one
// that is not was never an administrator's, and holds nothing.
func (d *Directory) holdSigned(key string, value []byte) bool {
	version, ok := d.signedVersion(key, value)
	if !ok {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if h, ok := d.held[key]; !ok || h.version < version {
		d.held[key] = heldRecord{version: version, sum: sha256.Sum256(value)}
	}
	return true
}

// signedVersion returns the version of value if an administrator signed
// it for key, within its scope (signing.RecordVerifier.OpenSigned),
// whatever became of its signer since.
func (d *Directory) signedVersion(key string, value []byte) (uint64, bool) {
	if d.verifier == nil {
		return 0, false
	}
	signed, err := d.verifier.OpenSigned(value)
	if err != nil {
		return 0, false
	}
	var rec DirectoryRecord
	if err := json.Unmarshal(signed.Record, &rec); err != nil {
		return 0, false
	}
	if k, err := rec.DirectoryKey(); err != nil || k != key {
		return 0, false
	}
	if a := rec.Agency; a != nil && agencyInScope(a, signed.Scopes) != nil ||
		rec.Gateway != nil && !signing.ScopeCoversGateway(signed.Scopes, rec.Gateway.ID) {
		return 0, false
	}
	return versionOf(rec), true
}

// dropKept takes out what the record value of key, kept in the store and
// applied at start without its signature checked (OpenKept), made — if
// that record is still the one held — so that the bucket's can take its
// place. It reports whether it did.
func (d *Directory) dropKept(key string, value []byte) bool {
	sum := sha256.Sum256(value)
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.held[key]
	if !ok || h.sum != sum {
		return false
	}
	delete(d.held, key)
	d.forgetEntry(key)
	return true
}

// keepRevision records that the record held under u.Key, h, is also
// LT_DIRECTORY's at u.Revision, and has it kept so.
func (d *Directory) keepRevision(u DirectoryUpdate, h heldRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.held[u.Key]
	// Revisions are compared for equality only: those of a bucket made
	// anew are not greater (see bus.revisionTag).
	if !ok || cur.sum != h.sum || u.Revision == 0 || cur.revision == u.Revision {
		return
	}
	cur.revision = u.Revision
	d.held[u.Key] = cur
	d.queueKeep(KeptRecord{Key: u.Key, Version: cur.version, Value: bytes.Clone(u.Value), Revision: u.Revision})
}

// queueKeep has r kept in the store (takeUnkept), merged with what waits
// to be kept of its key: of a record of the same version, r takes what it
// lacks (the value and its revision, or the brief); a newer one waiting
// stays. d.mu is held for writing.
func (d *Directory) queueKeep(r KeptRecord) {
	if w, ok := d.unkept[r.Key]; ok {
		if w.Version > r.Version {
			return
		}
		if w.Version == r.Version {
			if r.Value == nil {
				r.Value, r.Revision = w.Value, w.Revision
			}
			if r.Brief == nil {
				r.Brief = w.Brief
			}
		}
	}
	d.unkept[r.Key] = r
	if len(d.unkept) >= keepBatch {
		select {
		case d.toKeep <- struct{}{}:
		default:
		}
	}
}

// holdsRevision reports whether the record held under key is the one
// LT_DIRECTORY has at revision: a key's value at a revision never changes,
// so the bucket's current values need not be fetched again at a restart
// for the keys whose revision the store kept.
func (d *Directory) holdsRevision(key string, revision uint64) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	h, ok := d.held[key]
	return ok && revision != 0 && h.revision == revision
}

// takeUnkept returns the records applied from the bus since the last
// call, to keep in the store.
func (d *Directory) takeUnkept() []KeptRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.unkept) == 0 {
		return nil
	}
	out := make([]KeptRecord, 0, len(d.unkept))
	for _, r := range d.unkept {
		out = append(out, r)
	}
	d.unkept = make(map[string]KeptRecord)
	return out
}

// giveBack returns records the store could not keep, unless newer ones
// came meanwhile.
func (d *Directory) giveBack(rs []KeptRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rs {
		w, ok := d.unkept[r.Key]
		switch {
		case !ok || w.Version < r.Version:
			d.unkept[r.Key] = r
		case w.Version == r.Version:
			// What came meanwhile is newer; it takes what it lacks.
			if w.Value == nil {
				w.Value, w.Revision = r.Value, r.Revision
			}
			if w.Brief == nil {
				w.Brief = r.Brief
			}
			d.unkept[r.Key] = w
		}
	}
}

// host adds a hosted agency, known from the gateway's own configuration.
func (d *Directory) host(a Agency) {
	code, err := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
	if err != nil {
		return
	}
	e := newEntry(a, code, fingerprints(certificateDER(a.Certificates)))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.local[code.Tokens()] = e
	d.gen++
}

// Apply verifies one update of LT_DIRECTORY and applies it, or returns a
// *DirectoryRejection saying why not. The same record delivered again is
// not an error and changes nothing.
func (d *Directory) Apply(u DirectoryUpdate) error { return d.apply(u, fromBus) }

// recordSource is where a record a directory applies comes from, which
// decides how far it is checked and whether it is kept.
type recordSource int

const (
	// fromBus: LT_DIRECTORY's, every signature checked; kept, with its
	// brief.
	fromBus recordSource = iota
	// fromKept: kept in the store without a brief (kept before
	// migration 0011, or a gateway's record), or with one that could not
	// be applied; its signer judged, not its signature (OpenKept), until
	// Gateway.verifyKept checks it. Its brief is kept.
	fromKept
	// fromBrief: made from the brief kept beside a record
	// (applyBrief), its signer judged; the record is checked later, as
	// fromKept's.
	fromBrief
	// confirming: the record of an entry applied fromKept or fromBrief,
	// its signature now checked: the entry it makes replaces the one
	// held, if that is still the record's.
	confirming
)

// applying is a record opened and read, ready to be applied (put).
type applying struct {
	key     string
	version uint64
	sum     [sha256.Size]byte // of the record's signed value
	agency  *Agency           // one of agency and gateway
	gateway *GatewayEntry
	// fingerprints are those of the agency's certificates.
	fingerprints [][sha256.Size]byte
	// signer is the record's signer as opened; from a brief, as opened
	// from another record of the same administrator (briefSigners).
	signer     *signing.Opened
	signerName string
	signerFP   [sha256.Size]byte // of the signer's certificate
}

// apply is Apply for a record from src (fromBus or fromKept).
func (d *Directory) apply(u DirectoryUpdate, src recordSource) error {
	o, gen, err := d.open(u, src)
	if err != nil || o.key == "" {
		return err
	}
	_, err = d.put(u, o, gen, src, nil)
	return err
}

// open opens and reads the record of u from src, and returns it with the
// crlGen its signer was judged under; a zero applying and no error if the
// directory holds it already (src not confirming).
func (d *Directory) open(u DirectoryUpdate, src recordSource) (applying, uint64, error) {
	reject := func(reason string, err error) (applying, uint64, error) {
		return applying{}, 0, &DirectoryRejection{Key: u.Key, Reason: reason, Err: err}
	}
	if u.Deleted {
		return reject(RejectDeletion, errors.New("entries are taken out by a signed record, not by deleting the key"))
	}
	if d.verifier == nil {
		return reject(RejectUnsigned, errors.New("no directory trust anchor is configured"))
	}
	sum := sha256.Sum256(u.Value)
	d.mu.RLock()
	gen := d.crlGen
	h, held := d.held[u.Key]
	d.mu.RUnlock()
	if held && h.sum == sum && src != confirming {
		// The very bytes applied (or refused as revoked) before: the
		// bucket's current values, which the bus delivers again at every
		// start, cost a digest, not a signature check each. Their
		// revision, if not the one kept (a store from before revisions
		// were kept, the same bytes put again, a bucket made anew), is
		// kept, so that the next start need not fetch them.
		if u.Revision != 0 && u.Revision != h.revision {
			d.keepRevision(u, h)
		}
		return applying{}, 0, nil
	}
	open := d.verifier.Open
	if src == fromKept {
		// The gateway's own store, written only with records it verified:
		// the signer is judged again (anchors, revocation, expiry), not
		// each record's signature.
		open = d.verifier.OpenKept
	}
	signed, err := open(u.Value)
	if err != nil {
		return reject(RejectUnsigned, err)
	}
	var rec DirectoryRecord
	if err := json.Unmarshal(signed.Record, &rec); err != nil {
		return reject(RejectMalformed, err)
	}
	o := applying{sum: sum, agency: rec.Agency, gateway: rec.Gateway, signer: signed}
	if err := d.check(u.Key, &o); err != nil {
		return applying{}, 0, err
	}
	if o.agency != nil {
		o.fingerprints = fingerprints(certificateDER(o.agency.Certificates))
		o.agency.Certificates = nil
	}
	return o, gen, nil
}

// check checks that the record of o (its agency or gateway, and signer)
// is stored under key and that its signer may sign it, and sets o's key,
// version and signerName.
func (d *Directory) check(key string, o *applying) error {
	reject := func(reason string, err error) error {
		return &DirectoryRejection{Key: key, Reason: reason, Err: err}
	}
	rec := DirectoryRecord{Agency: o.agency, Gateway: o.gateway}
	k, err := rec.DirectoryKey()
	if err != nil {
		return reject(RejectMalformed, err)
	}
	if k != key {
		return reject(RejectKey, fmt.Errorf("the record is %q's, stored under %q", k, key))
	}
	if v := versionOf(rec); v > math.MaxInt64 {
		return reject(RejectMalformed, fmt.Errorf("version %d is out of range", v))
	}
	o.key, o.version = k, versionOf(rec)
	o.signerName, o.signerFP = d.signerOf(o.signer.Signer)
	if a := rec.Agency; a != nil {
		if err := agencyInScope(a, o.signer.Scopes); err != nil {
			return reject(RejectScope, fmt.Errorf("%s: %w", o.signerName, err))
		}
	} else if !signing.ScopeCoversGateway(o.signer.Scopes, rec.Gateway.ID) {
		return reject(RejectScope, fmt.Errorf("%s may not sign the record of gateway %s", o.signerName, rec.Gateway.ID))
	}
	return nil
}

// put applies o, the record of update u opened from src; gen is the
// crlGen its signer was judged under. Confirming, keptBrief is the brief
// kept beside the record: if it is not the one the record makes, the
// record's is kept in its place, and put reports it (rewritten).
func (d *Directory) put(u DirectoryUpdate, o applying, gen uint64, src recordSource, keptBrief []byte) (rewritten bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crlGen != gen && d.verifier.Revoked(o.signer.Signer, o.signer.Chains, d.now()) {
		return false, &DirectoryRejection{Key: o.key, Reason: RejectUnsigned, Err: fmt.Errorf("the signer %s was revoked meanwhile", o.signerName)}
	}
	h, ok := d.held[o.key]
	if src == confirming {
		if !ok || h.sum != o.sum || !h.unverified {
			// Replaced meanwhile, or checked already.
			return false, nil
		}
		// The record's version and revision, not what a brief said of
		// them; a brief that said another revision is kept again, with
		// the record's.
		if h.revision != u.Revision {
			keptBrief = nil
		}
		h.unverified, h.version, h.revision = false, o.version, u.Revision
		d.held[o.key] = h
	} else {
		if ok {
			switch {
			case o.version == h.version && o.sum == h.sum:
				return false, nil
			case o.version <= h.version:
				return false, &DirectoryRejection{Key: o.key, Reason: RejectStale, Err: fmt.Errorf("version %d is not newer than the %d held", o.version, h.version)}
			}
		}
		d.held[o.key] = heldRecord{version: o.version, sum: o.sum, unverified: src != fromBus, revision: u.Revision}
	}
	switch src {
	case fromBus:
		d.queueKeep(KeptRecord{Key: o.key, Version: o.version, Value: bytes.Clone(u.Value), Revision: u.Revision, Brief: o.brief()})
	case fromKept, confirming:
		if b := o.brief(); b != nil && !bytes.Equal(b, keptBrief) {
			// Kept before briefs were, or a brief that is not what its
			// record makes: the record's, alone, so that the next start
			// reads it.
			d.queueKeep(KeptRecord{Key: o.key, Version: o.version, Brief: b})
			rewritten = src == confirming
		}
	}
	if src != confirming || rewritten || o.agency == nil {
		// Confirming the entry a brief made changes nothing if the brief
		// was the record's: the directory's users (the VXP face's list,
		// the readiness's freshness) need not see 111,000 changes after
		// every restart.
		d.updated = time.Now()
	}
	if a := o.agency; a != nil {
		if a.Removed {
			d.removeEntry(o.key)
			return rewritten, nil
		}
		code, _ := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
		e := newEntry(*a, code, o.fingerprints)
		e.SignedBy = d.signerName(o.signerName)
		e.by = signedBy{o.signer.Signer, o.signer.Chains}
		d.putEntry(o.key, e)
		return rewritten, nil
	}
	g := o.gateway
	if g.Removed {
		delete(d.gateways, g.ID)
		return rewritten, nil
	}
	d.gateways[g.ID] = &gatewayEntry{GatewayEntry: *g, signers: gatewaySigners(g.Certificates), by: signedBy{o.signer.Signer, o.signer.Chains}}
	return rewritten, nil
}

// SetCRLs replaces the revocation lists of administrators' certificates
// and drops at once the entries signed by a certificate they revoke (at
// now): a revoked administrator's entries are no longer believed, without
// waiting for a restart. The versions held stay, so the same records
// cannot come back; the administrator's successor signs newer ones.
func (d *Directory) SetCRLs(crls []*x509.RevocationList, now time.Time) (dropped int) {
	if d.verifier == nil {
		return 0
	}
	d.verifier.SetCRLs(crls)
	// Administrators are few and sign many entries each: judge each
	// certificate once.
	judged := make(map[string]bool)
	revoked := func(by signedBy) bool {
		r, ok := judged[string(by.cert.Raw)]
		if !ok {
			r = d.verifier.Revoked(by.cert, by.chains, now)
			judged[string(by.cert.Raw)] = r
		}
		return r
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.crlGen++
	for k, e := range d.entries {
		if revoked(e.by) {
			d.removeEntry(k)
			dropped++
		}
	}
	for k, g := range d.gateways {
		if revoked(g.by) {
			delete(d.gateways, k)
			dropped++
		}
	}
	if dropped > 0 {
		d.updated = time.Now()
		d.gen++
	}
	return dropped
}

func versionOf(r DirectoryRecord) uint64 {
	if r.Agency != nil {
		return r.Agency.Version
	}
	return r.Gateway.Version
}

// agencyInScope checks that the administrator's scopes cover the agency,
// and the codes its entry ties to it: its parent (a delegated
// administrator may hang an agency under one of its own, not under
// another's) and its old codes.
func agencyInScope(a *Agency, scopes []string) error {
	codes := append([]string{a.Code}, a.OldCodes...)
	if a.Parent != "" {
		codes = append(codes, a.Parent)
	}
	for _, s := range codes {
		c, err := envelope.ParseAgencyCode(s, envelope.CodeAny)
		if err != nil {
			return fmt.Errorf("code %q: %w", s, err)
		}
		if !signing.ScopeCoversAgency(scopes, c) {
			return fmt.Errorf("may not sign for agency %s", s)
		}
	}
	return nil
}

// gatewaySigners returns the fingerprints of the gateway certificates
// among pems, in order; a certificate that does not parse signs nothing.
func gatewaySigners(pems []string) [][sha256.Size]byte {
	var out [][sha256.Size]byte
	for _, der := range certificateDER(pems) {
		if c, err := x509.ParseCertificate(der); err == nil && signing.IsGatewayCertificate(c) {
			out = append(out, sha256.Sum256(der))
		}
	}
	return out
}

// lookup returns the entry of an agency by its tokens: the signed one, or
// the hosted agency's own. It is called with mu held.
func (d *Directory) lookup(tokens string) (*directoryEntry, bool) {
	_, e, _, ok := d.find(tokens)
	return e, ok
}

// find is lookup, and says under which key the entry is and whether it is
// a hosted agency's own (in local). It is called with mu held.
func (d *Directory) find(tokens string) (key string, e *directoryEntry, local, ok bool) {
	if e, ok := d.entries[tokens]; ok {
		return tokens, e, false, true
	}
	if e, ok := d.local[tokens]; ok {
		return tokens, e, true, true
	}
	if key, ok := d.oldKey(tokens); ok {
		e, ok := d.entries[key]
		return key, e, false, ok
	}
	return "", nil, false, false
}

// certSource is where the certificates of an agency's entry can be read
// back from (Gateway.AgencyCertificates).
type certSource struct {
	key   string // the entry's; empty if the directory holds none
	local bool   // the hosted agency's own entry, from its configuration
	// fingerprints are the entry's certificates'.
	fingerprints [][sha256.Size]byte
	// value is the signed record the entry was applied from, while it
	// waits to be kept in the store; nil once it was.
	value []byte
}

// certSources returns where the certificates of the entries of codes, as
// Lookup finds them, can be read back from.
func (d *Directory) certSources(codes []string) []certSource {
	out := make([]certSource, len(codes))
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i, code := range codes {
		c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
		if err != nil {
			continue
		}
		key, e, local, ok := d.find(c.Tokens())
		if !ok {
			continue
		}
		src := certSource{key: key, local: local, fingerprints: e.fingerprints}
		if r, waiting := d.unkept[key]; waiting && !local {
			// The value is never changed once in unkept.
			src.value = r.Value
		}
		out[i] = src
	}
	return out
}

// oldKey returns the key of the one entry that claims a former code.
// d.mu must be held.
func (d *Directory) oldKey(tokens string) (string, bool) {
	if keys := d.old[tokens]; len(keys) == 1 {
		return keys[0], true
	}
	return "", false
}

// putEntry sets the signed entry of key, and indexes its former codes.
// d.mu must be held for writing.
func (d *Directory) putEntry(key string, e *directoryEntry) {
	if prev, ok := d.entries[key]; ok {
		d.unindexOld(key, prev)
	} else {
		d.gen++
	}
	d.entries[key] = e
	for _, oc := range e.OldCodes {
		if c, err := envelope.ParseAgencyCode(oc, envelope.CodeAny); err == nil && c.Tokens() != key && !slices.Contains(d.old[c.Tokens()], key) {
			d.old[c.Tokens()] = append(d.old[c.Tokens()], key)
		}
	}
}

// removeEntry takes key's signed entry out. d.mu must be held for writing.
func (d *Directory) removeEntry(key string) {
	if prev, ok := d.entries[key]; ok {
		d.unindexOld(key, prev)
		delete(d.entries, key)
		d.gen++
	}
}

func (d *Directory) unindexOld(key string, e *directoryEntry) {
	for _, oc := range e.OldCodes {
		c, err := envelope.ParseAgencyCode(oc, envelope.CodeAny)
		if err != nil {
			continue
		}
		keys := slices.DeleteFunc(d.old[c.Tokens()], func(k string) bool { return k == key })
		if len(keys) == 0 {
			delete(d.old, c.Tokens())
		} else {
			d.old[c.Tokens()] = keys
		}
	}
}

// CurrentCode returns the code, canonical, of the agency that holds code
// now: the agency's own, or for a former code (Agency.OldCodes) the code
// of the agency it became. It implements signing.CurrentCoder, so that a
// packet signed for an agency under its former code is bound to it.
func (d *Directory) CurrentCode(code string) (string, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return "", false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.lookup(c.Tokens())
	if !ok {
		return "", false
	}
	return e.Code, true
}

// Lookup returns the entry of an agency, in either code form: the signed
// entry, or for an agency this gateway hosts that has none yet, what its
// configuration says. Its Certificates are nil: the directory keeps only
// their fingerprints (see Gateway.AgencyCertificates).
func (d *Directory) Lookup(code string) (Agency, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return Agency{}, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.lookup(c.Tokens())
	if !ok {
		return Agency{}, false
	}
	return e.Agency, true
}

// Administered reports whether the directory believes administrators'
// signed entries (trust anchors are configured); without, it knows only
// the hosted agencies.
func (d *Directory) Administered() bool {
	return d.verifier != nil && d.verifier.Anchors != nil
}

// Registered returns the administrator's signed entry of an agency, in
// either code form, without falling back on the hosted agencies'
// configuration. Its Certificates are nil, as Lookup's.
func (d *Directory) Registered(code string) (Agency, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return Agency{}, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.entries[c.Tokens()]
	if !ok {
		return Agency{}, false
	}
	return e.Agency, true
}

// Gateway returns the signed record of a gateway.
func (d *Directory) Gateway(id string) (GatewayEntry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g, ok := d.gateways[id]
	if !ok {
		return GatewayEntry{}, false
	}
	return g.GatewayEntry, true
}

// Agencies returns every entry (the signed ones, and the hosted agencies
// that have none yet), sorted by code tokens, without their Certificates
// (as Lookup). At national size that is 111,000: Search pages through
// them.
func (d *Directory) Agencies() []Agency {
	return d.Search(DirectoryQuery{}).Agencies
}

// DirectoryQuery selects agencies of the directory, in the order of their
// code tokens.
type DirectoryQuery struct {
	// Text, if set, keeps the agencies whose code, name or an old code
	// contains it, letter case and Vietnamese marks ignored ("nghe an"
	// finds "UBND tỉnh Nghệ An").
	Text string
	// Under, if set (a code in either form), keeps that agency and the
	// agencies under it.
	Under string
	// Level, if set, keeps the agencies of that level: 1 for the
	// ministries and provinces (000.00.00.Xnn), 2 for their units, 3, 4.
	Level int
	// After continues a list: the Next of its previous page.
	After string
	// Limit bounds the page; 0 means no bound.
	Limit int
}

// DirectoryPage is a page of the directory.
type DirectoryPage struct {
	// Agencies are the entries of the page, without their Certificates
	// (as Lookup gives them; see Gateway.AgencyCertificates).
	Agencies []Agency
	// Next continues the list (DirectoryQuery.After); empty on the last
	// page.
	Next string
}

// Search returns a page of the directory. It looks at every entry after
// q.After until the page is full (a search over the national directory
// is some tens of milliseconds), never sorting more than once per change.
func (d *Directory) Search(q DirectoryQuery) DirectoryPage {
	needle := vntext.Fold(strings.Join(strings.Fields(q.Text), " "))
	under := ""
	if q.Under != "" {
		c, err := envelope.ParseAgencyCode(q.Under, envelope.CodeAny)
		if err != nil {
			return DirectoryPage{}
		}
		under = c.Tokens()
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	keys := d.sortedKeys()
	start := q.After
	if under != "" && start < under {
		start = under // keys under it sort from it on
	}
	i := sort.SearchStrings(keys, start)
	if start == q.After && q.After != "" && i < len(keys) && keys[i] == q.After {
		i++
	}
	var page DirectoryPage
	for ; i < len(keys); i++ {
		k := keys[i]
		if under != "" && k != under && !strings.HasPrefix(k, under+".") {
			if !strings.HasPrefix(k, under) {
				break // the keys with its prefix are together, from it on: past them
			}
			continue
		}
		if q.Level > 0 && strings.Count(k, ".")+1 != q.Level {
			continue
		}
		e, ok := d.lookup(k)
		if !ok || needle != "" && !strings.Contains(e.folded, needle) {
			continue
		}
		if q.Limit > 0 && len(page.Agencies) == q.Limit {
			page.Next = keys[i-1]
			// keys[i-1] may not have matched: Next is the last key
			// looked at before this match, which the next page starts
			// after.
			return page
		}
		page.Agencies = append(page.Agencies, e.Agency)
	}
	return page
}

// sortedKeys returns the keys of entries and local, sorted, from the cache
// while gen has not moved. d.mu must be held.
func (d *Directory) sortedKeys() []string {
	d.sortMu.Lock()
	defer d.sortMu.Unlock()
	if d.sorted != nil && d.sortedGen == d.gen {
		return d.sorted
	}
	keys := make([]string, 0, len(d.entries)+len(d.local))
	for k := range d.entries {
		keys = append(keys, k)
	}
	for k := range d.local {
		if _, ok := d.entries[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	d.sorted, d.sortedGen = keys, d.gen
	return keys
}

// Len returns how many agencies the directory holds, its administrator's
// entries and the hosted agencies.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := len(d.entries)
	for k := range d.local {
		if _, ok := d.entries[k]; !ok {
			n++
		}
	}
	return n
}

// Updated returns when the directory last changed.
func (d *Directory) Updated() time.Time {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.updated
}

// errFingerprintsOnly is what SigningCertificates says.
var errFingerprintsOnly = errors.New("gateway: the directory keeps its certificates' fingerprints only: ask HasSigningCertificate")

// SigningCertificates implements signing.Directory, which a
// signing.Verifier needs, but a Verifier never calls it: the directory is
// a signing.CertificateRegistry, which the Verifier asks instead
// (HasSigningCertificate). It keeps only the fingerprints of its agencies'
// certificates, so it cannot give them, and it returns an error saying
// so; Gateway.AgencyCertificates reads them back for people to see.
func (d *Directory) SigningCertificates(context.Context, string) ([]*x509.Certificate, error) {
	return nil, errFingerprintsOnly
}

// HasSigningCertificate implements signing.CertificateRegistry: whether
// cert is registered in the agency's signed entry (for a former code, in
// that of the agency it became), as a gateway certificate
// (signing.IsGatewayCertificate) in the signed record of the gateway that
// entry names, or, for an agency this gateway hosts, in its own entry. It
// compares the SHA-256 of cert's DER with the fingerprints the entries
// keep and parses nothing. A code that does not read is registered to
// none.
func (d *Directory) HasSigningCertificate(_ context.Context, agency string, cert *x509.Certificate) (bool, error) {
	c, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil || cert == nil {
		return false, nil
	}
	fp := sha256.Sum256(cert.Raw)
	d.mu.RLock()
	defer d.mu.RUnlock()
	tokens := c.Tokens()
	if _, cur := d.entries[tokens]; !cur {
		if _, local := d.local[tokens]; !local {
			if key, ok := d.oldKey(tokens); ok {
				// A former code: the certificates of the agency it became.
				tokens = key
			}
		}
	}
	if e, ok := d.entries[tokens]; ok {
		if slices.Contains(e.fingerprints, fp) {
			return true, nil
		}
		if g, ok := d.gateways[e.Gateway]; ok && e.Gateway != "" && slices.Contains(g.signers, fp) {
			return true, nil
		}
	}
	if e, ok := d.local[tokens]; ok && slices.Contains(e.fingerprints, fp) {
		return true, nil
	}
	return false, nil
}

// SignRecord signs r with an administrator's signer (its certificate must
// name scopes that cover r, or every gateway will ignore the record) and
// returns the key to store it under in LT_DIRECTORY and the signed
// record's wire form.
func SignRecord(admin *signing.Signer, r DirectoryRecord) (key string, value []byte, err error) {
	key, err = r.DirectoryKey()
	if err != nil {
		return "", nil, err
	}
	if r.Agency != nil {
		c, _ := envelope.ParseAgencyCode(r.Agency.Code, envelope.CodeAny)
		a := *r.Agency
		a.Code = c.String()
		r.Agency = &a
	}
	data, err := json.Marshal(r)
	if err != nil {
		return "", nil, fmt.Errorf("gateway: sign directory record %s: %w", key, err)
	}
	value, err = admin.SignRecord(data)
	if err != nil {
		return "", nil, fmt.Errorf("gateway: sign directory record %s: %w", key, err)
	}
	return key, value, nil
}
