package vxp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
)

// System is a document-management system allowed on the VXP face: the
// system id and secret the SDK is configured with (systemid, secret), and
// the hosted agencies it acts for.
type System struct {
	ID string
	// Secret is used as the SDK uses it: its UTF-8 bytes are the HMAC
	// key (not base64-decoded).
	Secret []byte
	// Agencies are the hosted agencies the system may send for and
	// receive for, in any code form.
	Agencies []string
	// Since, if set, leaves out of its lists what was received before it
	// (a DMS that moves from API v1 has already fetched those).
	Since time.Time
}

// params are the signed parameters of a request: the keys of
// XroadVnpt-sign-header without their prefix. Lookups ignore case (DMSs
// write "docId" and "docid", "AgencyCode" and "agencycode"); a key may
// then have several values, one per spelling, since the SDK's map keeps
// the spellings of different calls side by side. spelled keeps each
// spelling's value.
type params struct {
	values  map[string][]string // lower-cased key → its distinct values
	spelled map[string]string   // the key as sent → its value
}

// get returns a parameter's value; ok is false if it is absent, and
// ambiguous true if it has more than one value.
func (p params) get(key string) (value string, ok, ambiguous bool) {
	v := p.values[strings.ToLower(key)]
	switch len(v) {
	case 0:
		return "", false, false
	case 1:
		return v[0], true, false
	}
	return v[0], true, true
}

// spellings returns the value of each spelling of a key, as sent.
func (p params) spellings(key string) map[string]string {
	out := map[string]string{}
	for k, v := range p.spelled {
		if strings.EqualFold(k, key) {
			out[k] = v
		}
	}
	return out
}

// timestampLayout is the SDK's timestamp: day, month, year, T, time, and
// "+" with the milliseconds on four digits (not a zone).
const timestampLayout = "02012006T150405"

// authenticate checks a request's signature as the protocol allows: the
// system by XroadVnpt-systemid; XroadVnpt-hash-header the HMAC-SHA256,
// keyed with the system's secret, of the literal XroadVnpt-sign-header
// (never rebuilt: its key order is a Java HashMap's); the signed header a
// JSON object naming the same system. The parameters are the signed
// header's, not the loose headers, which anyone could add.
func (h *Handler) authenticate(r *http.Request) (*System, params, *Failure) {
	id := strings.TrimSpace(r.Header.Get("XroadVnpt-systemid"))
	// One answer whether the system is unknown or its signature wrong, so
	// that system ids cannot be found by trying; the log says which.
	denied := func(why string) *Failure {
		h.log.Info("vxp: not authenticated", zap.String("system", id), zap.String("why", why), zap.String("remote", r.RemoteAddr))
		return fail(CodeUnknownSystem, "Hệ thống %q chưa được cấp quyền kết nối cổng liên thông, hoặc sai khóa bí mật (secret)",
			"system %q is not known to this gateway, or its secret is wrong", id)
	}
	sys, ok := h.systems[id]
	if !ok {
		return nil, params{}, denied("unknown system id")
	}
	signed := r.Header.Get("XroadVnpt-sign-header")
	got, err := hex.DecodeString(strings.TrimSpace(r.Header.Get("XroadVnpt-hash-header")))
	mac := hmac.New(sha256.New, sys.Secret)
	mac.Write([]byte(signed))
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return nil, params{}, denied("XroadVnpt-hash-header is not the HMAC of XroadVnpt-sign-header with the secret")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(signed), &raw); err != nil {
		return nil, params{}, fail(CodeBadHeader, "XroadVnpt-sign-header không phải một đối tượng JSON", "XroadVnpt-sign-header is not a JSON object")
	}
	p := params{values: map[string][]string{}, spelled: map[string]string{}}
	for k, v := range raw {
		name, ok := cutPrefixFold(k, "XroadVnpt-")
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v) // a number or a literal: its JSON text
		}
		p.spelled[name] = s
		key := strings.ToLower(name)
		if !slices.Contains(p.values[key], s) {
			p.values[key] = append(p.values[key], s)
		}
	}
	if sid, _, amb := p.get("systemid"); sid != id || amb {
		return nil, params{}, fail(CodeBadHeader, "XroadVnpt-sign-header phải ghi systemid của chính hệ thống gọi (%s)", "XroadVnpt-sign-header must carry the calling system's own systemid (%s)", id)
	}
	h.noteTimestamp(sys.ID, p)
	return sys, p, nil
}

// noteTimestamp logs, once per system and value, a timestamp older than a
// week. The SDK fixes it when the DMS builds its client and sends it for
// the life of the process, so no freshness is required; a very old one
// only says that a captured request could be replayed as long.
func (h *Handler) noteTimestamp(system string, p params) {
	ts, ok, _ := p.get("timestamp")
	if !ok {
		return
	}
	base, _, _ := strings.Cut(ts, "+")
	t, err := time.ParseInLocation(timestampLayout, base, envelope.VietnamTime())
	if err != nil || h.now().Sub(t) < 7*24*time.Hour {
		return
	}
	h.mu.Lock()
	seen := h.oldStamps[system] == ts
	h.oldStamps[system] = ts
	h.mu.Unlock()
	if !seen {
		h.log.Info("vxp: a client signs with an old timestamp (the SDK fixes it when the DMS starts)",
			zap.String("system", system), zap.String("timestamp", ts), zap.Duration("age", h.now().Sub(t)))
	}
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// hashFile is the SDK's rendering of a SHA-256: each byte in hex without
// its leading zero ("05" is "5"), so 56 to 64 characters.
func hashFile(sum [sha256.Size]byte) string {
	var b strings.Builder
	const hexDigits = "0123456789abcdef"
	for _, c := range sum {
		if c >= 0x10 {
			b.WriteByte(hexDigits[c>>4])
		}
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// hashFileMatches reports whether the hash-file parameter is the SHA-256
// of data, in the SDK's unpadded rendering or in ordinary hex.
func hashFileMatches(param string, data []byte) bool {
	sum := sha256.Sum256(data)
	param = strings.ToLower(strings.TrimSpace(param))
	return hmac.Equal([]byte(param), []byte(hashFile(sum))) || hmac.Equal([]byte(param), []byte(hex.EncodeToString(sum[:])))
}
