package signing

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"

	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// TestChainCache checks what cannot be seen from a Verifier's verdicts: a
// remembered chain is reused for chainCacheAge at most, for the exact
// certificates only, and the cache stays within its size.
func TestChainCache(t *testing.T) {
	t0 := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(serial int64) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Văn phòng Chính phủ"},
			NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := cert(1), cert(2)
	roots := x509.NewCertPool()
	roots.AddCert(a)
	var c ChainCache
	c.remember(roots, []*x509.Certificate{a}, [][]*x509.Certificate{{a}}, t0)
	for _, q := range []struct {
		name  string
		certs []*x509.Certificate
		at    time.Time
		hit   bool
	}{
		{"same", []*x509.Certificate{a}, t0, true},
		{"within the age", []*x509.Certificate{a}, t0.Add(chainCacheAge), true},
		{"older", []*x509.Certificate{a}, t0.Add(chainCacheAge + time.Second), false},
		{"another certificate", []*x509.Certificate{b}, t0, false},
		{"with an intermediate", []*x509.Certificate{a, b}, t0, false},
	} {
		if _, hit := c.verified(roots, q.certs, q.at); hit != q.hit {
			t.Errorf("%s: hit %v, want %v", q.name, hit, q.hit)
		}
	}
	if _, hit := c.verified(x509.NewCertPool(), []*x509.Certificate{a}, t0); hit {
		t.Error("another pool: hit")
	}

	// A certificate of a chain remembered is parsed once; one no chain
	// verified (b) is parsed each time and never kept.
	p1, err := c.certificate(a.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if p2, err := c.certificate(a.Raw); err != nil || p2 != p1 || p1.cert.Subject.String() != p1.subject {
		t.Errorf("the same DER parsed twice: %v", err)
	}
	q1, err := c.certificate(b.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if q2, err := c.certificate(b.Raw); err != nil || q2 == q1 || len(c.certs) != 1 {
		t.Errorf("a certificate of no verified chain was kept (%d kept): %v", len(c.certs), err)
	}

	// A KeyInfo padded beyond chainCacheDER with certificates x509 does
	// not need is verified each time, never kept.
	padded := []*x509.Certificate{b}
	for size := len(b.Raw); size <= chainCacheDER; size += len(a.Raw) {
		padded = append(padded, a)
	}
	c.remember(roots, padded, [][]*x509.Certificate{{b}}, t0)
	if _, hit := c.verified(roots, padded, t0); hit || len(c.chains) != 1 || len(c.certs) != 1 {
		t.Errorf("a KeyInfo of more than %d bytes was kept: hit %v, %d chains, %d certificates", chainCacheDER, hit, len(c.chains), len(c.certs))
	}
	if _, err := c.certificate(append(b.Raw[:len(b.Raw):len(b.Raw)], 0)); err == nil {
		t.Error("a certificate with a byte after it parsed")
	}

	// The text a certificate was read from is kept for a certificate of a
	// chain remembered only, and only when it is not padded; it is found
	// again by its exact text only.
	text := base64.StdEncoding.EncodeToString(a.Raw)
	c.keepText(text, a)
	if nc, ok := c.byText(text); !ok || nc != p1 {
		t.Errorf("the text of a remembered certificate: %v, %v", nc, ok)
	}
	if _, ok := c.byText(text + "\n"); ok {
		t.Error("another text found")
	}
	c.keepText(base64.StdEncoding.EncodeToString(b.Raw), b)
	if _, ok := c.byText(base64.StdEncoding.EncodeToString(b.Raw)); ok {
		t.Error("the text of a certificate of no verified chain was kept")
	}
	c.keepText(text+strings.Repeat(" ", len(a.Raw)), a)
	if _, ok := c.byText(text + strings.Repeat(" ", len(a.Raw))); ok {
		t.Error("a padded text was kept")
	}
	c.keepText(base64.StdEncoding.EncodeToString(b.Raw), a)
	if _, ok := c.byText(base64.StdEncoding.EncodeToString(b.Raw)); ok {
		t.Error("a text was kept for a certificate it does not decode to")
	}

	for i := range chainCacheSize + 10 {
		c.remember(x509.NewCertPool(), []*x509.Certificate{a}, [][]*x509.Certificate{{a}}, t0)
		// Distinct texts of a, with a line end and a space in places.
		t1 := text[:i%len(text)] + "\n" + text[i%len(text):]
		c.keepText(t1[:i/len(text)]+" "+t1[i/len(text):], a)
	}
	if len(c.texts) > chainCacheSize {
		t.Errorf("%d texts kept, want at most %d", len(c.texts), chainCacheSize)
	}
	if len(c.chains) > chainCacheSize {
		t.Errorf("%d chains remembered, want at most %d", len(c.chains), chainCacheSize)
	}
	m := make(map[int]bool)
	for i := range chainCacheSize + 10 {
		evictOne(m)
		m[i] = true
	}
	if len(m) > chainCacheSize {
		t.Errorf("%d entries kept, want at most %d", len(m), chainCacheSize)
	}
}

// TestChainCache_OneTextPerCertificate: a signer sending its certificate
// in ever other white space takes one place among the texts, and pushes no
// other signer's text out (keyed by the text alone, 4096 variants of one
// certificate filled the cache). A certificate the cache forgets takes its
// text with it.
func TestChainCache_OneTextPerCertificate(t *testing.T) {
	t0 := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(serial int64) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Cơ quan"},
			NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := cert(1), cert(2)
	roots := x509.NewCertPool()
	var c ChainCache
	c.remember(roots, []*x509.Certificate{a}, [][]*x509.Certificate{{a}}, t0)
	c.remember(roots, []*x509.Certificate{b}, [][]*x509.Certificate{{b}}, t0)
	textA, textB := base64.StdEncoding.EncodeToString(a.Raw), base64.StdEncoding.EncodeToString(b.Raw)
	c.keepText(textB, b)
	var last string
	for i := range 2*chainCacheSize + 10 {
		// Distinct texts of a, with a line end and a space in places.
		t1 := textA[:i%len(textA)] + "\n" + textA[i%len(textA):]
		last = t1[:i/len(textA)] + " " + t1[i/len(textA):]
		c.keepText(last, a)
	}
	if nc, ok := c.byText(textB); !ok || nc.cert != b {
		t.Errorf("b's text was pushed out by a's variants")
	}
	if nc, ok := c.byText(last); !ok || nc.cert != a {
		t.Errorf("a's latest text is not kept")
	}
	if len(c.texts) != 2 {
		t.Errorf("%d texts kept for 2 certificates", len(c.texts))
	}

	// Forgetting certificates forgets their texts: fill certs with others
	// until a and b are gone.
	var sum [32]byte
	for i := 0; len(c.texts) > 0 && i < 100*chainCacheSize; i++ {
		binary.BigEndian.PutUint64(sum[:], uint64(i))
		filler := &x509.Certificate{Raw: slices.Clone(sum[:])}
		c.remember(x509.NewCertPool(), []*x509.Certificate{filler}, [][]*x509.Certificate{{filler}}, t0)
	}
	for text, nc := range c.texts {
		if kept := c.certs[sha256.Sum256(nc.cert.Raw)]; kept != nc {
			t.Errorf("text %.20q… kept for a certificate the cache forgot", text)
		}
	}
	if len(c.texts) != 0 {
		t.Errorf("%d texts kept after their certificates were pushed out", len(c.texts))
	}
}
