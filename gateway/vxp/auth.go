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
// XroadVnpt-sign-header without their prefix, lower-cased, each with the
// distinct values it has (the SDK's map keeps "docId" and "docid" from
// different calls side by side).
type params map[string][]string

// get returns a parameter's value; ok is false if it is absent, and
// ambiguous true if it has more than one value.
func (p params) get(key string) (value string, ok, ambiguous bool) {
	v := p[strings.ToLower(key)]
	switch len(v) {
	case 0:
		return "", false, false
	case 1:
		return v[0], true, false
	}
	return v[0], true, true
}

// all returns every value of a parameter.
func (p params) all(key string) []string { return p[strings.ToLower(key)] }

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
	sys, ok := h.systems[id]
	if !ok {
		// The same answer whether the id is unknown or absent; the log
		// has which.
		return nil, nil, fail(CodeUnknownSystem, "Hệ thống %q chưa được cấp quyền kết nối cổng liên thông", "system %q is not known to this gateway", id)
	}
	signed := r.Header.Get("XroadVnpt-sign-header")
	got, err := hex.DecodeString(strings.TrimSpace(r.Header.Get("XroadVnpt-hash-header")))
	mac := hmac.New(sha256.New, sys.Secret)
	mac.Write([]byte(signed))
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return nil, nil, fail(CodeBadSignature, "Sai chữ ký yêu cầu (XroadVnpt-hash-header)", "the request's signature (XroadVnpt-hash-header) is wrong")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(signed), &raw); err != nil {
		return nil, nil, fail(CodeBadHeader, "XroadVnpt-sign-header không phải một đối tượng JSON", "XroadVnpt-sign-header is not a JSON object")
	}
	p := params{}
	for k, v := range raw {
		name, ok := cutPrefixFold(k, "XroadVnpt-")
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v) // a number or a literal: its JSON text
		}
		key := strings.ToLower(name)
		if !slices.Contains(p[key], s) {
			p[key] = append(p[key], s)
		}
	}
	if sid, _, amb := p.get("systemid"); sid != id || amb {
		return nil, nil, fail(CodeBadHeader, "XroadVnpt-sign-header phải ghi systemid của chính hệ thống gọi (%s)", "XroadVnpt-sign-header must carry the calling system's own systemid (%s)", id)
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
	t, err := time.ParseInLocation(timestampLayout, base, envelope.VietnamTime)
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
