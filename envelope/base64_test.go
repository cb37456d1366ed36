package envelope

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// sameAsStd checks that decodeStd decodes s as encoding/base64 does: the
// same bytes, or the same error, and that stdDecodeError finds that error.
func sameAsStd(t *testing.T, s string) {
	t.Helper()
	want, wantErr := base64.StdEncoding.DecodeString(s)
	got, err := decodeStd(s)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%.80q: error %v, encoding/base64's %v", s, err, wantErr)
	}
	if err == nil && !bytes.Equal(got, want) {
		t.Fatalf("%.80q: decoded\n%x\nwant\n%x", s, got, want)
	}
	if err := stdDecodeError(s); (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%.80q: stdDecodeError %v, encoding/base64's %v", s, err, wantErr)
	}
}

var base64Seeds = []string{
	"", "QQ==", "QUI=", "QUJD", "QUJDREVGR0g=", "QUJDREVGR0hJSks=", "QUJDREVGR0hJSktM",
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo",
	"QUJDREVGR0hJSktM\r\nTU5PUFFSU1RVVldY\nWVo=", "QUJDREVGR0hJSktMTU5P UFFSU1RVVldYWVo=",
	"QUJDREVGR0hJSktMTU5PUFFS=1RVVldYWVo=", "QUJDREVGR0hJSktMTU5PUFFSU1RVVl-YWVo=",
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWV", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo==",
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVp", "QQ==QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
}

// TestDecodeStd_SameAsStd: decodeStd gives what encoding/base64 gives, for
// text that is base64 and text that is not, broken at every place.
func TestDecodeStd_SameAsStd(t *testing.T) {
	for _, s := range base64Seeds {
		sameAsStd(t, s)
	}
	var data []byte
	for i := range 300 {
		data = append(data, byte(i*7+i/3))
	}
	for n := range len(data) {
		s := base64.StdEncoding.EncodeToString(data[:n])
		sameAsStd(t, s)
		sameAsStd(t, strings.TrimRight(s, "="))
		for _, at := range []int{0, len(s) / 3, len(s) / 2, len(s) - 1} {
			if at < 0 || at >= len(s) {
				continue
			}
			for _, c := range []string{"\n", "\r\n", " ", "=", "-", "\x00", "é"} {
				sameAsStd(t, s[:at]+c+s[at:])
				sameAsStd(t, s[:at]+c+s[at+1:])
			}
		}
	}
}

func FuzzDecodeStd(f *testing.F) {
	for _, s := range base64Seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsStd(t, s)
	})
}
