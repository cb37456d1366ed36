package gateway

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// idEncoding is lower-case base32 without padding: URL-safe, and its
// order is the bytes' order.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a new identifier for a packet (and so for a document): 26
// characters, the first 10 the time in milliseconds, so that ids sort by
// creation time, the rest 80 random bits, so that ids made by different
// gateways do not collide.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:]) // never fails (crypto/rand)
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// ValidID reports whether s has the form of an identifier made by NewID.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	_, err := idEncoding.DecodeString(s)
	return err == nil
}
