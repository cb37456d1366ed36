package signing

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Bounds of a [ChainCache]. A national deployment has about a hundred
// gateways and a few thousand agency certificates: chainCacheSize holds
// them all. chainCacheAge bounds how long a verified chain is reused, so
// that nothing is trusted for ever on the strength of one verification.
// chainCacheDER bounds the certificates one chain entry keeps (a packet's
// KeyInfo, leaf and intermediates): a gateway's or an agency's
// certificate with its CA's is 2–4 KB. The chain of a KeyInfo larger than
// that is verified every time, never kept: a signer with valid
// credentials could otherwise pad its KeyInfo with megabytes of extra
// certificates that x509 ignores and have the cache hold them,
// chainCacheSize times. The base64 text a certificate was read from is
// kept for a kept certificate only, one text per certificate and at most
// twice its DER, so the texts hold at most twice what the certificates do
// whatever their signers send.
const (
	chainCacheSize = 4096
	chainCacheAge  = 5 * time.Minute
	chainCacheDER  = 8 << 10
)

// ChainCache remembers, for a [Verifier], the chains x509 verified for
// packets' KeyInfo and the certificates of those chains, so that a packet
// from a signer seen recently costs neither x509.ParseCertificate nor
// x509.Certificate.Verify (a fresh chain build with an RSA verification
// per link). A gateway verifies thousands of packets a day from the same
// few hundred certificates.
//
// A verified chain is reused only for the same certificates (their exact
// DER, leaf and intermediates in packet order) under the same Roots pool
// (the pointer: a pool reloaded from the trust store is another pool;
// x509.CertPool can gain certificates but never lose one, so a chain
// verified under a pool stays verified under it), at a time within every
// certificate's NotBefore and NotAfter in every chain (what x509 checked
// at the first verification), and for chainCacheAge at most on the
// verifier's clock. Revocation is not remembered: the Verifier judges it
// on every packet, so a new revocation list takes effect at once. Nor is
// a failure remembered.
//
// Verdicts then share the certificates they name; they must not be
// changed. The zero value is an empty cache ready for use. It is safe for
// concurrent use, and Verifiers with different Roots may share one.
type ChainCache struct {
	mu     sync.Mutex
	certs  map[[sha256.Size]byte]*namedCert
	chains map[chainKey]*chainEntry
	// texts maps the base64 text a packet's X509Certificate held to the
	// certificate of certs it decodes to, so that a packet from a signer
	// seen recently costs neither decoding it nor hashing its DER. It
	// holds a certificate's text (namedCert.text) while certs holds the
	// certificate, and no other: keyed by the text alone, one signer
	// could fill it with its certificate in ever other white space and
	// push everyone else's out.
	texts map[string]*namedCert
}

// namedCert is a certificate parsed, with what a Verdict says of it.
type namedCert struct {
	cert        *x509.Certificate
	subject     string
	fingerprint string // SHA-256 of the DER, hex
	// text is the certificate's key in ChainCache.texts, "" when it has
	// none; guarded by ChainCache.mu.
	text string
}

func nameCert(cert *x509.Certificate, sum [sha256.Size]byte) *namedCert {
	return &namedCert{cert: cert, subject: cert.Subject.String(), fingerprint: hex.EncodeToString(sum[:])}
}

type chainKey struct {
	roots *x509.CertPool // kept alive by the key, so never reused for another pool
	certs [sha256.Size]byte
}

type chainEntry struct {
	certs     []*x509.Certificate // as the packet gave them, compared by DER on a hit
	chains    [][]*x509.Certificate
	notBefore time.Time // the latest NotBefore in chains
	notAfter  time.Time // the earliest NotAfter in chains
	at        time.Time // when x509 verified it, on the verifier's clock
}

// certificate returns der parsed, from memory when it is a certificate of
// a chain remembered. A certificate parsed afresh is not kept here: only
// remember keeps certificates, once x509 has verified a chain with them,
// so that what an unverified packet carries is never held.
func (c *ChainCache) certificate(der []byte) (*namedCert, error) {
	sum := sha256.Sum256(der)
	if c != nil {
		c.mu.Lock()
		nc, ok := c.certs[sum]
		c.mu.Unlock()
		if ok && bytes.Equal(nc.cert.Raw, der) {
			return nc, nil
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return nameCert(cert, sum), nil
}

// byText returns the certificate that text, the base64 of an
// X509Certificate element as a packet wrote it, was read from before,
// if keepText kept it.
func (c *ChainCache) byText(text string) (*namedCert, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	nc, ok := c.texts[text]
	c.mu.Unlock()
	return nc, ok
}

// keepText remembers that text decodes to cert, when it does, cert is a
// certificate of a chain remembered (so that, as for certs, nothing an
// unverified packet carries is held) and text is no longer than twice its
// DER (base64 with line ends is about 1.4 times: white space padding a
// text is not kept). It replaces the text kept for cert before, if any: a
// certificate takes one place in texts whatever its signer writes. The
// text is copied: it may share the memory of a whole packet.
func (c *ChainCache) keepText(text string, cert *x509.Certificate) {
	if c == nil || len(text) > 2*len(cert.Raw) {
		return
	}
	if _, ok := c.byText(text); ok {
		return
	}
	if der, err := decodeSpacedBase64(text); err != nil || !bytes.Equal(der, cert.Raw) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nc, ok := c.certs[sha256.Sum256(cert.Raw)]
	if !ok || !bytes.Equal(nc.cert.Raw, cert.Raw) || nc.text == text {
		return
	}
	if c.texts == nil {
		c.texts = make(map[string]*namedCert)
	}
	c.dropText(nc)
	nc.text = strings.Clone(text)
	c.texts[nc.text] = nc
}

// dropText forgets nc's text, if it has one. c.mu is held.
func (c *ChainCache) dropText(nc *namedCert) {
	if nc.text != "" && c.texts[nc.text] == nc {
		delete(c.texts, nc.text)
	}
	nc.text = ""
}

// verified returns the chains remembered for certs (the leaf, then the
// intermediates) under roots, if they may be reused at now.
func (c *ChainCache) verified(roots *x509.CertPool, certs []*x509.Certificate, now time.Time) ([][]*x509.Certificate, bool) {
	if c == nil {
		return nil, false
	}
	k := chainKey{roots: roots, certs: sumOf(certs)}
	c.mu.Lock()
	e, ok := c.chains[k]
	c.mu.Unlock()
	if !ok || len(e.certs) != len(certs) {
		return nil, false
	}
	for i := range certs {
		if !bytes.Equal(e.certs[i].Raw, certs[i].Raw) {
			return nil, false
		}
	}
	if now.Before(e.notBefore) || now.After(e.notAfter) || now.Sub(e.at) > chainCacheAge {
		return nil, false
	}
	return e.chains, true
}

// remember keeps chains, which x509 verified for certs under roots at now.
func (c *ChainCache) remember(roots *x509.CertPool, certs []*x509.Certificate, chains [][]*x509.Certificate, now time.Time) {
	if c == nil || len(chains) == 0 {
		return
	}
	size := 0
	for _, cert := range certs {
		size += len(cert.Raw)
	}
	if size > chainCacheDER {
		return
	}
	e := &chainEntry{certs: certs, chains: chains, at: now}
	for _, chain := range chains {
		for _, cert := range chain {
			if e.notBefore.IsZero() || cert.NotBefore.After(e.notBefore) {
				e.notBefore = cert.NotBefore
			}
			if e.notAfter.IsZero() || cert.NotAfter.Before(e.notAfter) {
				e.notAfter = cert.NotAfter
			}
		}
	}
	named := make(map[[sha256.Size]byte]*namedCert, len(certs))
	for _, cert := range certs {
		sum := sha256.Sum256(cert.Raw)
		named[sum] = nameCert(cert, sum)
	}
	k := chainKey{roots: roots, certs: sumOf(certs)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.chains == nil {
		c.chains = make(map[chainKey]*chainEntry)
		c.certs = make(map[[sha256.Size]byte]*namedCert)
	}
	evictOne(c.chains)
	c.chains[k] = e
	for sum, nc := range named {
		if _, ok := c.certs[sum]; !ok {
			if len(c.certs) >= chainCacheSize {
				// As evictOne, and the certificate's text with it.
				for old, gone := range c.certs {
					delete(c.certs, old)
					c.dropText(gone)
					break
				}
			}
			c.certs[sum] = nc
		}
	}
}

// evictOne makes room for one entry in m when it is full: it drops an
// entry the map's iteration order picks, which is cheap and good enough
// for a cache whose working set fits it.
func evictOne[K comparable, V any](m map[K]V) {
	if len(m) < chainCacheSize {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}

// sumOf is the SHA-256 of certs' DER, each preceded by its length so that
// no two lists of certificates share an input.
func sumOf(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range certs {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
