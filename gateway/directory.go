package gateway

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"sort"
	"sync"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// Directory is the gateway's view of the agencies on the axis: the entries
// of KV LT_DIRECTORY as the bus delivers them, plus the agencies this
// gateway hosts. It answers the verifier's question of which certificates
// may sign for an agency. It is safe for concurrent use.
type Directory struct {
	mu      sync.RWMutex
	entries map[string]*directoryEntry // by agency tokens
	updated time.Time
}

type directoryEntry struct {
	Agency
	certs []*x509.Certificate
}

var _ signing.Directory = (*Directory)(nil)

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{entries: make(map[string]*directoryEntry)}
}

// Put adds, replaces or (if a.Deleted) removes an entry. Certificates that
// cannot be read are left out of the entry; Put never fails, because one
// bad entry from another gateway must not stop this one.
func (d *Directory) Put(a Agency) {
	code, err := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.updated = time.Now()
	if a.Deleted {
		delete(d.entries, code.Tokens())
		return
	}
	e := &directoryEntry{Agency: a}
	e.Code = code.String()
	for _, p := range a.Certificates {
		rest := []byte(p)
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			if c, err := x509.ParseCertificate(block.Bytes); err == nil {
				e.certs = append(e.certs, c)
			}
		}
	}
	d.entries[code.Tokens()] = e
}

// Lookup returns the entry of an agency, in either code form.
func (d *Directory) Lookup(code string) (Agency, bool) {
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

// Agencies returns every entry, sorted by code tokens.
func (d *Directory) Agencies() []Agency {
	d.mu.RLock()
	defer d.mu.RUnlock()
	keys := make([]string, 0, len(d.entries))
	for k := range d.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Agency, 0, len(keys))
	for _, k := range keys {
		out = append(out, d.entries[k].Agency)
	}
	return out
}

// Updated returns when the directory last changed.
func (d *Directory) Updated() time.Time {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.updated
}

// SigningCertificates implements signing.Directory: the certificates
// registered for the agency's entry.
func (d *Directory) SigningCertificates(_ context.Context, agency string) ([]*x509.Certificate, error) {
	c, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		return nil, nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e, ok := d.entries[c.Tokens()]; ok {
		return e.certs, nil
	}
	return nil, nil
}
