package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

// DirectoryRecordReader reads the directory records a Store keeps under
// given keys, those it holds, by key, each once (part of Store).
type DirectoryRecordReader interface {
	DirectoryRecordsOf(ctx context.Context, keys []string) ([]KeptRecord, error)
}

// RegisteredCertificates are the certificates an agency's directory entry
// registers to sign for it.
type RegisteredCertificates struct {
	// PEM are the certificates, one "CERTIFICATE" block each, in the
	// entry's order.
	PEM []string
	// Unavailable says that the directory holds an entry for the agency
	// whose certificates could not be read back: the record it was applied
	// from was neither waiting to be kept nor in the store (it is being
	// written there: ask again a second later), or the store holds
	// another. PEM is then empty, which does not mean "none registered".
	Unavailable bool
}

// AgencyCertificates returns the certificates registered for each agency
// of codes (in either form), in order: those of the entry Lookup finds,
// none for an agency the directory does not hold. The directory keeps of
// them only their SHA-256 fingerprints, which is all a packet's
// verification needs (a national directory's certificates would be a
// tenth of a gigabyte of every gateway's heap); they are read back from
// the signed record the entry was applied from — waiting to be kept, or
// in the store — or, for a hosted agency's own entry, from the gateway's
// configuration, and given only if their fingerprints are the entry's:
// what is shown is what packets are verified against, or nothing
// (Unavailable). The error is the store's.
func (g *Gateway) AgencyCertificates(ctx context.Context, codes []string) ([]RegisteredCertificates, error) {
	srcs := g.dir.certSources(codes)
	out := make([]RegisteredCertificates, len(srcs))
	var stored []string
	for i, s := range srcs {
		switch {
		case s.key == "" || len(s.fingerprints) == 0:
			// No entry, or one without certificates.
		case s.local:
			var der [][]byte
			if a, ok := g.hosted[s.key]; ok {
				der = [][]byte{a.Signer.Certificate().Raw}
			}
			out[i] = matchCertificates(der, s.fingerprints)
		case s.value != nil:
			out[i] = recordCertificates(s.value, s.fingerprints)
		default:
			stored = append(stored, s.key)
		}
	}
	if len(stored) == 0 {
		return out, nil
	}
	kept := make(map[string][]byte, len(stored))
	rs, err := g.store.DirectoryRecordsOf(ctx, stored)
	if err != nil {
		return nil, fmt.Errorf("gateway: certificates of %d agencies: %w", len(codes), err)
	}
	for _, r := range rs {
		kept[r.Key] = r.Value
	}
	for i, s := range srcs {
		if s.key != "" && !s.local && s.value == nil && len(s.fingerprints) > 0 {
			out[i] = recordCertificates(kept[s.key], s.fingerprints)
		}
	}
	return out, nil
}

// recordCertificates returns the certificates of the signed agency record
// value if their fingerprints are want, in order; Unavailable if there is
// no such record. The record is not verified again: it is given only if
// it registers the very certificates the directory holds, which came from
// a record that verified.
func recordCertificates(value []byte, want [][sha256.Size]byte) RegisteredCertificates {
	der, err := agencyRecordCertificates(value)
	if err != nil {
		return RegisteredCertificates{Unavailable: true}
	}
	return matchCertificates(der, want)
}

// agencyRecordCertificates returns the DER of the certificates of the
// agency record in the signed record value.
func agencyRecordCertificates(value []byte) ([][]byte, error) {
	if value == nil {
		return nil, errors.New("no record")
	}
	// Only the fields read: signing.SignedRecord's chain, and the rest of
	// the agency's record, would be decoded for nothing.
	var sr struct {
		Record []byte `json:"record"`
	}
	if err := json.Unmarshal(value, &sr); err != nil {
		return nil, fmt.Errorf("not a signed record: %w", err)
	}
	var rec struct {
		Agency *struct {
			Certificates []string `json:"certificates"`
		} `json:"agency"`
	}
	if err := json.Unmarshal(sr.Record, &rec); err != nil {
		return nil, fmt.Errorf("not a directory record: %w", err)
	}
	if rec.Agency == nil {
		return nil, errors.New("not an agency's record")
	}
	return certificateDER(rec.Agency.Certificates), nil
}

// matchCertificates returns der in PEM if its fingerprints are want, in
// order; Unavailable otherwise.
func matchCertificates(der [][]byte, want [][sha256.Size]byte) RegisteredCertificates {
	if len(der) != len(want) {
		return RegisteredCertificates{Unavailable: true}
	}
	for i, d := range der {
		if sha256.Sum256(d) != want[i] {
			return RegisteredCertificates{Unavailable: true}
		}
	}
	out := RegisteredCertificates{PEM: make([]string, len(der))}
	for i, d := range der {
		out.PEM[i] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d}))
	}
	return out
}
