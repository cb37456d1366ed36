package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
)

// Key is the API key of a document-management system and the agencies it
// may act for. Requests carry it as "Authorization: Bearer <secret>".
type Key struct {
	// Name identifies the key in logs.
	Name string
	// Secret is the key itself, or "sha256:<hex>", the hexadecimal
	// SHA-256 of it, so that a configuration file need not hold the
	// secret. Secrets are compared by their SHA-256, in constant time.
	Secret string
	// Agencies are the codes (any form) of the hosted agencies the key may
	// read the documents of, send for and post statuses for. A key with no
	// agencies can read and do nothing.
	Agencies []string
}

// key is a Key ready for use.
type key struct {
	name     string
	hash     [sha256.Size]byte
	agencies []envelope.AgencyCode
}

// loadKeys hashes the secrets and reads the agency codes. A key whose
// secret cannot be used is left out; an agency code that cannot be read is
// dropped. Both are logged.
func loadKeys(keys []Key, log *zap.Logger) []key {
	out := make([]key, 0, len(keys))
	for _, k := range keys {
		kk := key{name: k.Name}
		if hexHash, ok := strings.CutPrefix(k.Secret, "sha256:"); ok {
			b, err := hex.DecodeString(strings.TrimSpace(hexHash))
			if err != nil || len(b) != sha256.Size {
				log.Error("API key left out: its sha256: form is not 64 hexadecimal digits", zap.String("key", k.Name))
				continue
			}
			copy(kk.hash[:], b)
		} else {
			if k.Secret == "" {
				log.Error("API key left out: its secret is empty", zap.String("key", k.Name))
				continue
			}
			kk.hash = sha256.Sum256([]byte(k.Secret))
		}
		for _, a := range k.Agencies {
			code, err := envelope.ParseAgencyCode(a, envelope.CodeAny)
			if err != nil {
				log.Error("agency of an API key dropped: not an agency code", zap.String("key", k.Name), zap.String("agency", a), zap.Error(err))
				continue
			}
			kk.agencies = append(kk.agencies, code)
		}
		out = append(out, kk)
	}
	return out
}

// principal is the authenticated caller.
type principal struct {
	key *key
}

type principalKey struct{}

// callerOf returns the caller authenticated by [handler.authenticate].
func callerOf(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	if p == nil {
		return &principal{key: &key{}}
	}
	return p
}

// allows reports whether the caller may act for the agency (any form).
func (p *principal) allows(agency string) bool {
	c, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		return false
	}
	for _, a := range p.key.agencies {
		if a.Equal(c) {
			return true
		}
	}
	return false
}

// scope returns the caller's agencies in canonical form; never nil, so
// that passed as gateway Allowed an empty scope allows nothing.
func (p *principal) scope() []string {
	out := make([]string, 0, len(p.key.agencies))
	for _, a := range p.key.agencies {
		out = append(out, a.String())
	}
	return out
}

// authenticate lets through requests with a known key and answers the
// others 401 with WWW-Authenticate: Bearer.
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, given := bearerToken(r)
		k := h.lookupKey(token)
		if !given || k == nil {
			challenge := `Bearer realm="lienthong"`
			if given {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			jsonUnauthorized(w)
			return
		}
		infoOf(r).key = k.name
		ctx := context.WithValue(r.Context(), principalKey{}, &principal{key: k})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// lookupKey finds the key whose hash is the token's. Every key is compared,
// in constant time, whatever matches.
func (h *handler) lookupKey(token string) *key {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	var found *key
	for i := range h.keys {
		if subtle.ConstantTimeCompare(sum[:], h.keys[i].hash[:]) == 1 && found == nil {
			found = &h.keys[i]
		}
	}
	return found
}
