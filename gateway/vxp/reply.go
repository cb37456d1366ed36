package vxp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// field is a key of an answer after the envelope's three, in order.
type field struct {
	key   string
	value any
}

// okDesc is the real axis's ErrorDesc on success.
const okDesc = "Thanh cong"

// writeOK answers success: the envelope and fields.
func writeOK(w http.ResponseWriter, fields ...field) {
	writeEnvelope(w, "OK", "0", okDesc, fields)
}

// writeFail answers a failure f, with the fields a client reads even then
// (sendEdoc's DocId, getEdoc's data).
func writeFail(w http.ResponseWriter, f *Failure, fields ...field) {
	writeEnvelope(w, "FAIL", f.Code, f.Desc(), fields)
}

// writeEnvelope writes {"status":…,"ErrorCode":…,"ErrorDesc":…, fields…}
// with HTTP 200 (the SDK ignores the status code and parses every body:
// an error page would make it return null to the DMS), every value a JSON
// string where the SDK reads one, and only ASCII (sendEdoc's answer is
// read as US-ASCII: non-ASCII is written as \uXXXX).
func writeEnvelope(w http.ResponseWriter, status, code, desc string, fields []field) {
	var b bytes.Buffer
	b.WriteString(`{"status":`)
	writeJSON(&b, status)
	b.WriteString(`,"ErrorCode":`)
	writeJSON(&b, code)
	b.WriteString(`,"ErrorDesc":`)
	writeJSON(&b, desc)
	for _, f := range fields {
		b.WriteByte(',')
		writeJSON(&b, f.key)
		b.WriteByte(':')
		writeJSON(&b, f.value)
	}
	b.WriteByte('}')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(b.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// writeJSON appends v as ASCII-only JSON. Values are the answer's own
// (strings, numbers, slices of structs): a marshalling error is a bug, and
// is written as an empty string rather than break the envelope.
func writeJSON(b *bytes.Buffer, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		raw = []byte(`""`)
	}
	asciiJSON(b, raw)
}

// asciiJSON appends JSON text with every non-ASCII character written as a
// \u escape (a surrogate pair beyond the BMP). Non-ASCII appears only inside
// JSON strings, where the escape means the same character.
func asciiJSON(b *bytes.Buffer, raw []byte) {
	const hex = "0123456789abcdef"
	esc := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[r>>uint(shift)&0xf])
		}
	}
	for len(raw) > 0 {
		c := raw[0]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			raw = raw[1:]
			continue
		}
		r, size := utf8.DecodeRune(raw)
		raw = raw[size:]
		if r > 0xffff {
			r -= 0x10000
			esc(0xd800 + r>>10)
			esc(0xdc00 + r&0x3ff)
			continue
		}
		esc(r)
	}
}
