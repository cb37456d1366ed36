package signing

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Directory records are what the axis administrator signs: one entry of the
// directory (an agency, or a gateway) as JSON bytes, with a detached
// RSA-SHA256 signature and the signer's certificate chain. A gateway uses
// an entry only once [RecordVerifier.Open] has checked the signature and
// the chain to the directory's trust anchors; what the entry says, and
// whether the administrator's scope covers it, is the gateway's business.
//
// The record is signed as bytes, not as re-encoded JSON, so that no
// canonical form of JSON is needed: what was signed is what is read.

// UnitDirectory is the subject OU of a directory administrator's
// certificate, which signs directory records (see [IssueRequest.DirectoryScopes]).
const UnitDirectory = "directory"

// DirectoryScopeURIPrefix starts each URI subject alternative name of an
// administrator certificate that names a part of the directory its holder
// may sign: "urn:lienthong:directory:*" for all of it,
// "urn:lienthong:directory:H41" for the agency whose code has the NATS
// tokens H41 and every agency under it, "urn:lienthong:directory:gw:nghean"
// for the gateway nghean's record.
const DirectoryScopeURIPrefix = "urn:lienthong:directory:"

// recordDomain separates the signatures of directory records from any
// other use of an administrator's key: a record's signature never verifies
// as anything else's, nor the reverse.
const recordDomain = "lienthong directory record v1\n"

// ErrRecord is the cause of every refusal of [RecordVerifier.Open].
var ErrRecord = errors.New("signing: directory record refused")

// SignedRecord is the wire form of a directory record: JSON with the
// record's bytes, the signature over them and the signer's chain (DER,
// signer first), each base64 as encoding/json writes []byte.
type SignedRecord struct {
	Record    []byte   `json:"record"`
	Signature []byte   `json:"signature"`
	Chain     [][]byte `json:"chain"`
}

// SignRecord signs record, the JSON bytes of a directory entry, with s's
// key and returns the wire form ([SignedRecord] as JSON). The certificate
// must be a directory administrator's ([DirectoryScopes] not empty), so
// that a mistaken key is caught where it is used rather than by every
// gateway that ignores the record.
func (s *Signer) SignRecord(record []byte) ([]byte, error) {
	if len(DirectoryScopes(s.cert)) == 0 {
		return nil, fmt.Errorf("%w: the certificate %q names no part of the directory (no %s… URI)", ErrKey, s.cert.Subject.String(), DirectoryScopeURIPrefix)
	}
	if !json.Valid(record) {
		return nil, fmt.Errorf("signing: sign record: the record is not JSON")
	}
	sum := recordDigest(record)
	sig, err := s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: sign record: %w", err)
	}
	return json.Marshal(SignedRecord{Record: record, Signature: sig, Chain: s.chain})
}

func recordDigest(record []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(recordDomain))
	h.Write(record)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// RecordVerifier checks the signatures of directory records. Set its
// fields before the first use; it is safe for concurrent use afterwards.
type RecordVerifier struct {
	// Anchors are the directory's trust anchors: the CAs whose
	// administrator certificates are believed. They are usually not the
	// CAs of agencies' signing certificates.
	Anchors *x509.CertPool
	// CRLs revoke administrator certificates; a list is used only if it
	// verifies against the certificate's issuer. Set it before the first
	// use; SetCRLs replaces it afterwards.
	CRLs []*x509.RevocationList
	// Now returns the time at which certificates are judged; nil means
	// time.Now.
	Now func() time.Time

	// chains caches the verified chains of the few administrators'
	// certificates, by the SHA-256 of the chain's DER: a gateway opens a
	// record for every entry of the directory, 111,000 at the national
	// scale, nearly all signed by the same certificate, and verifying its
	// chain costs several times the record's own signature check.
	mu     sync.Mutex
	chains map[[sha256.Size]byte][][]*x509.Certificate
	revs   *Revocations // CRLs indexed, made when first needed
}

// revocations returns the CRLs indexed.
func (v *RecordVerifier) revocations() *Revocations {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.revs == nil {
		v.revs = NewRevocations(v.CRLs)
	}
	return v.revs
}

// SetCRLs replaces the revocation lists of administrator certificates,
// safely for concurrent use with Open.
func (v *RecordVerifier) SetCRLs(crls []*x509.RevocationList) {
	revs := NewRevocations(crls)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.CRLs, v.revs = crls, revs
}

// Revoked reports whether an administrator's certificate, in one of the
// chains it verified with at now, is revoked by the lists in use.
func (v *RecordVerifier) Revoked(cert *x509.Certificate, chains [][]*x509.Certificate, now time.Time) bool {
	revoked, _ := v.revocations().Revoked(cert, chains, now)
	return revoked
}

// maxCachedChains bounds RecordVerifier's cache: administrators are few,
// and a flood of made-up chains must not grow it.
const maxCachedChains = 64

// verifiedChains parses the signer's chain — the JSON of the record's
// "chain", base64 DER certificates, signer first — and returns its
// certificate and its chains to the anchors at now: from the cache when
// the very same bytes verified before and every certificate in its chains
// is still valid at now, which spares decoding and parsing the chain and
// checking its signatures for every record but the first of each
// administrator. The cache is keyed by the SHA-256 of the JSON bytes, so
// that what is verified is what those bytes decode to.
func (v *RecordVerifier) verifiedChains(raw json.RawMessage, now time.Time) (*x509.Certificate, [][]*x509.Certificate, error) {
	key := sha256.Sum256(raw)
	v.mu.Lock()
	cached, ok := v.chains[key]
	v.mu.Unlock()
	if ok && chainsValidAt(cached, now) {
		return cached[0][0], cached, nil
	}
	chain, err := parseChain(raw)
	if err != nil {
		return nil, nil, err
	}
	cert := chain[0]
	pool := x509.NewCertPool()
	for _, c := range chain[1:] {
		pool.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots: v.Anchors, Intermediates: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return cert, nil, fmt.Errorf("the signer %q is not an administrator this gateway trusts: %w", cert.Subject.String(), err)
	}
	v.mu.Lock()
	if v.chains == nil || len(v.chains) >= maxCachedChains {
		v.chains = make(map[[sha256.Size]byte][][]*x509.Certificate)
	}
	v.chains[key] = chains
	v.mu.Unlock()
	return cert, chains, nil
}

// parseChain parses a record's chain: the JSON of base64 DER
// certificates, signer first.
func parseChain(raw json.RawMessage) ([]*x509.Certificate, error) {
	var ders [][]byte
	if err := json.Unmarshal(raw, &ders); err != nil {
		return nil, fmt.Errorf("the chain: %w", err)
	}
	if len(ders) == 0 {
		return nil, errors.New("the chain names no certificate")
	}
	var chain []*x509.Certificate
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// OpenSigned checks of a record in wire form only what nothing later can
// change: that an administrator signed it, over the record, with a
// certificate that chained to Anchors while its chain was valid — not
// that the certificate is valid now, nor that it was not revoked since.
// A gateway holds the version of such a record, so that no older record
// of its key takes its place, even once it no longer believes its signer;
// a record that fails here was never an administrator's. Each call
// verifies the chain and the signature: it is for the rare records Open
// refuses.
func (v *RecordVerifier) OpenSigned(data []byte) (*Opened, error) {
	sr, err := v.readWire(data)
	if err != nil {
		return nil, err
	}
	chain, err := parseChain(sr.Chain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	cert := chain[0]
	// A time at which every certificate of the chain had begun to be
	// valid: the chain is judged as it was then.
	at := cert.NotBefore
	pool := x509.NewCertPool()
	for _, c := range chain[1:] {
		pool.AddCert(c)
		if c.NotBefore.After(at) {
			at = c.NotBefore
		}
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots: v.Anchors, Intermediates: pool, CurrentTime: at.Add(time.Second),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: the signer %q never chained to an anchor this gateway trusts: %w", ErrRecord, cert.Subject.String(), err)
	}
	scopes, err := administratorScopes(cert)
	if err != nil {
		return nil, err
	}
	if err := checkRecordSignature(cert, sr); err != nil {
		return nil, err
	}
	return &Opened{Record: sr.Record, Signer: cert, Chains: chains, Scopes: scopes}, nil
}

func chainsValidAt(chains [][]*x509.Certificate, now time.Time) bool {
	for _, chain := range chains {
		for _, c := range chain {
			if now.Before(c.NotBefore) || now.After(c.NotAfter) {
				return false
			}
		}
	}
	return true
}

// Opened is a directory record whose signature verified.
type Opened struct {
	// Record is the record's JSON bytes, as signed.
	Record []byte
	// Signer is the administrator's certificate, and Chains the chains
	// it verified with.
	Signer *x509.Certificate
	Chains [][]*x509.Certificate
	// Scopes are the parts of the directory the signer may sign (see
	// [DirectoryScopes]).
	Scopes []string
}

// Open verifies a record in wire form: readable, signed by an RSA key of
// at least 2048 bits over the record, the signer's certificate valid now,
// chaining to Anchors, allowed to sign, not revoked, and an administrator's
// naming at least one scope. Every refusal wraps [ErrRecord] and says why.
func (v *RecordVerifier) Open(data []byte) (*Opened, error) {
	return v.open(data, true)
}

// OpenKept is Open for a record whose signature was verified when it was
// first opened and that was kept since where only its holder writes (a
// gateway's store): everything Open checks is checked again — the signer's
// chain to the anchors now, its validity, its revocation, its scopes —
// but the record's own signature, an RSA verification each, which at a
// national directory's 111,000 records is most of a restart.
func (v *RecordVerifier) OpenKept(data []byte) (*Opened, error) {
	return v.open(data, false)
}

// signedRecordWire is SignedRecord as open reads it: the chain left as
// JSON, which is the same administrator's in nearly every record and
// verified once (verifiedChains).
type signedRecordWire struct {
	Record    []byte          `json:"record"`
	Signature []byte          `json:"signature"`
	Chain     json.RawMessage `json:"chain"`
}

// readSignedRecord reads a record's wire form. The form SignRecord writes
// — json.Marshal's: record, signature, chain, in that order, no space, no
// escapes — is cut at its quotes and its base64 decoded strictly, without
// encoding/json's two scans of the whole value (most of a kept record's
// opening at a restart). Anything else, or a chain that does not read,
// goes through encoding/json.
func readSignedRecord(data []byte) (signedRecordWire, error) {
	if sr, ok := cutSignedRecord(data); ok {
		return sr, nil
	}
	var sr signedRecordWire
	err := json.Unmarshal(data, &sr)
	return sr, err
}

// cutSignedRecord is readSignedRecord's fast way; ok is false if data is
// not in SignRecord's form.
func cutSignedRecord(data []byte) (sr signedRecordWire, ok bool) {
	str := func(rest []byte, prefix string) (val, after []byte, ok bool) {
		rest, ok = bytes.CutPrefix(rest, []byte(prefix))
		if !ok {
			return nil, nil, false
		}
		i := bytes.IndexByte(rest, '"')
		if i < 0 || !plainString(rest[:i]) {
			// An escape, or a raw line break base64 would skip and
			// encoding/json refuses.
			return nil, nil, false
		}
		dec := make([]byte, base64.StdEncoding.DecodedLen(i))
		n, err := base64.StdEncoding.Decode(dec, rest[:i])
		if err != nil {
			return nil, nil, false
		}
		return dec[:n], rest[i+1:], true
	}
	rest := data
	if sr.Record, rest, ok = str(rest, `{"record":"`); !ok {
		return sr, false
	}
	if sr.Signature, rest, ok = str(rest, `,"signature":"`); !ok {
		return sr, false
	}
	chain, ok := bytes.CutPrefix(rest, []byte(`,"chain":[`))
	if !ok || !bytes.HasSuffix(chain, []byte("]}")) || !base64List(chain[:len(chain)-2]) {
		// Not one array of base64 strings alone: another field after
		// it, say, which encoding/json reads as it does.
		return sr, false
	}
	sr.Chain = rest[len(`,"chain":`) : len(rest)-1]
	return sr, true
}

// plainString reports whether b, the inside of a JSON string, holds no
// escape and no control character: a byte loop, since decoding runes
// (bytes.ContainsFunc) was a sixth of a kept record's opening.
func plainString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

// base64List reports whether b is what is between the brackets of a JSON
// array of strings of base64 characters (none, or "…","…").
func base64List(b []byte) bool {
	for len(b) > 0 {
		if b[0] != '"' {
			return false
		}
		i := 1
		for ; i < len(b) && b[i] != '"'; i++ {
			if c := b[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
				return false
			}
		}
		if i == len(b) {
			return false
		}
		b = b[i+1:]
		if len(b) > 0 {
			if b[0] != ',' || len(b) == 1 {
				return false
			}
			b = b[1:]
		}
	}
	return true
}

// readWire reads a record's wire form and checks that it has all its
// parts, and that there are anchors to judge its signer by.
func (v *RecordVerifier) readWire(data []byte) (signedRecordWire, error) {
	sr, err := readSignedRecord(data)
	if err != nil {
		return sr, fmt.Errorf("%w: not a signed record: %w", ErrRecord, err)
	}
	if len(sr.Record) == 0 || len(sr.Signature) == 0 || len(sr.Chain) == 0 || string(sr.Chain) == "null" {
		return sr, fmt.Errorf("%w: a record, a signature and the signer's certificate are all needed", ErrRecord)
	}
	if v.Anchors == nil {
		return sr, fmt.Errorf("%w: no directory trust anchor is configured", ErrRecord)
	}
	return sr, nil
}

// administratorScopes returns the scopes of cert if it may sign directory
// records: a signing key usage, an RSA key large enough, and at least one
// scope.
func administratorScopes(cert *x509.Certificate) ([]string, error) {
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: the signer %q may not sign (key usage)", ErrRecord, cert.Subject.String())
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() < minRSAKeyBits {
		return nil, fmt.Errorf("%w: the signer %q's key is not RSA of at least %d bits", ErrRecord, cert.Subject.String(), minRSAKeyBits)
	}
	scopes := DirectoryScopes(cert)
	if len(scopes) == 0 {
		return nil, fmt.Errorf("%w: the signer %q is not a directory administrator (no %s… URI)", ErrRecord, cert.Subject.String(), DirectoryScopeURIPrefix)
	}
	return scopes, nil
}

// checkRecordSignature checks that cert signed sr's record.
func checkRecordSignature(cert *x509.Certificate, sr signedRecordWire) error {
	if err := cert.CheckSignature(x509.SHA256WithRSA, append([]byte(recordDomain), sr.Record...), sr.Signature); err != nil {
		return fmt.Errorf("%w: the signature does not match the record and the signer %q: %w", ErrRecord, cert.Subject.String(), err)
	}
	return nil
}

func (v *RecordVerifier) open(data []byte, checkSignature bool) (*Opened, error) {
	sr, err := v.readWire(data)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	cert, chains, err := v.verifiedChains(sr.Chain, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	scopes, err := administratorScopes(cert)
	if err != nil {
		return nil, err
	}
	if revoked, at := v.revocations().Revoked(cert, chains, now); revoked {
		return nil, fmt.Errorf("%w: the signer %q was revoked on %s", ErrRecord, cert.Subject.String(), at.UTC().Format(time.RFC3339))
	}
	if !checkSignature {
		return &Opened{Record: sr.Record, Signer: cert, Chains: chains, Scopes: scopes}, nil
	}
	if err := checkRecordSignature(cert, sr); err != nil {
		return nil, err
	}
	return &Opened{Record: sr.Record, Signer: cert, Chains: chains, Scopes: scopes}, nil
}

// DirectoryScopes returns the parts of the directory cert's holder may
// sign records for, from its URI subject alternative names under
// [DirectoryScopeURIPrefix]: "*" (all), agency code tokens such as "H41"
// (that agency and those under it), "gw:<id>" (one gateway's record) or
// "gw:*" (every gateway's). A certificate without the OU [UnitDirectory]
// has none, whatever its URIs say.
func DirectoryScopes(cert *x509.Certificate) []string {
	if cert == nil || !hasUnit(cert, UnitDirectory) {
		return nil
	}
	var out []string
	for _, u := range cert.URIs {
		if s, ok := strings.CutPrefix(u.String(), DirectoryScopeURIPrefix); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func hasUnit(cert *x509.Certificate, unit string) bool {
	for _, ou := range cert.Subject.OrganizationalUnit {
		if ou == unit {
			return true
		}
	}
	return false
}

// ScopeCoversAgency reports whether the administrator scopes cover the
// agency with code: "*", or the tokens of the code or of an agency above
// it (tokens "H41" cover "H41" and "H41.12").
func ScopeCoversAgency(scopes []string, code envelope.AgencyCode) bool {
	tokens := code.Tokens()
	for _, s := range scopes {
		if s == "*" || s == tokens || strings.HasPrefix(tokens, s+".") {
			return true
		}
	}
	return false
}

// ScopeCoversGateway reports whether the administrator scopes cover the
// record of gateway id: "*", "gw:*" or "gw:<id>".
func ScopeCoversGateway(scopes []string, id string) bool {
	for _, s := range scopes {
		if s == "*" || s == "gw:*" || s == "gw:"+id {
			return true
		}
	}
	return false
}

// NormalizeDirectoryScope checks a directory scope and returns it as
// [DirectoryScopes] gives it: "*", "gw:*", "gw:<id>" with an id of
// [A-Za-z0-9_-], or an agency code in any official form, returned as its
// NATS tokens ("000.00.00.H41" → "H41").
func NormalizeDirectoryScope(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "*", s == "gw:*":
		return s, nil
	case strings.HasPrefix(s, "gw:"):
		id := strings.TrimPrefix(s, "gw:")
		if id == "" || strings.IndexFunc(id, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
		}) >= 0 {
			return "", fmt.Errorf("directory scope %q: a gateway id is letters, digits, '-' and '_'", s)
		}
		return s, nil
	}
	c, err := envelope.ParseAgencyCode(s, envelope.CodeLenient)
	if err != nil {
		return "", fmt.Errorf("directory scope %q: want *, gw:*, gw:<gateway id> or an agency code: %w", s, err)
	}
	return c.Tokens(), nil
}

// directoryScopeURIs returns the URIs of scopes (see
// NormalizeDirectoryScope).
func directoryScopeURIs(scopes []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, s := range scopes {
		n, err := NormalizeDirectoryScope(s)
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(DirectoryScopeURIPrefix + n)
		if err != nil {
			return nil, fmt.Errorf("directory scope %q: %w", s, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// UnverifiedRecord returns the record a directory record's wire form
// carries, without checking its signature or its signer: for an
// administrator's own checks of the directory that can only refuse to go
// on (nats setup's), never for believing a record.
func UnverifiedRecord(data []byte) ([]byte, error) {
	sr, err := readSignedRecord(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a signed record: %w", ErrRecord, err)
	}
	if len(sr.Record) == 0 {
		return nil, fmt.Errorf("%w: no record", ErrRecord)
	}
	return sr.Record, nil
}
