package signing

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// sameBase64 checks that decodeSpacedBase64 decodes s as the expression
// it replaced did, failing where it failed (what either returns with an
// error is not used).
func sameBase64(t *testing.T, s string) {
	t.Helper()
	want, wantErr := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	got, err := decodeSpacedBase64(s)
	if (err != nil) != (wantErr != nil) || (err == nil && !bytes.Equal(got, want)) {
		t.Fatalf("%q: %x, %v; want %x, %v", s, got, err, want, wantErr)
	}
}

var base64Seeds = []string{
	"", "QUJD", "QUJD\nREVG", "QUJD\r\nREVG\r\n", " QUJD ", "QU\tJD", "QU\vJD\f", "QUJD\u00a0", "QUJD\u2028REVG",
	"QUJ\xff", "QUJD\u0085", "QUJ=", "QUI=", "QUI", "QU=I", "QUJD\x00", "QUJD\rREVG", "Q U J D", "\n\n\n",
}

func TestDecodeSpacedBase64(t *testing.T) {
	for _, s := range base64Seeds {
		sameBase64(t, s)
	}
}

func FuzzDecodeSpacedBase64(f *testing.F) {
	for _, s := range base64Seeds {
		f.Add(s)
	}
	f.Fuzz(sameBase64)
}
