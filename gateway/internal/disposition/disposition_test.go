package disposition

import (
	"net/url"
	"strings"
	"testing"
)

func TestAttachment(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Công văn số 12.pdf", `attachment; filename="Cong van so 12.pdf"; filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%2012.pdf`},
		{"Quyết định ĐIỀU \"động\".docx", `attachment; filename="Quyet dinh DIEU _dong_.docx"; filename*=UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%20%C4%90I%E1%BB%80U%20%22%C4%91%E1%BB%99ng%22.docx`},
		{"a\r\nb.txt", `attachment; filename="ab.txt"; filename*=UTF-8''ab.txt`},
		// Marks typed as combining characters (dropped, as from a
		// composed letter), a name in another script, a backslash: the
		// ASCII name keeps none of them, filename* all.
		{"Nghe\u0302\u0323 An.pdf", `attachment; filename="Nghe An.pdf"; filename*=UTF-8''Nghe%CC%82%CC%A3%20An.pdf`},
		{"報告\\1.xlsx", `attachment; filename="___1.xlsx"; filename*=UTF-8''%E5%A0%B1%E5%91%8A%5C1.xlsx`},
	} {
		if got := Attachment(tc.name); got != tc.want {
			t.Errorf("Attachment(%q) =\n %s\nwant\n %s", tc.name, got, tc.want)
		}
		// What RFC 8187 encodes, url.PathUnescape decodes.
		_, enc, _ := strings.Cut(Attachment(tc.name), "UTF-8''")
		if dec, err := url.PathUnescape(enc); err != nil || dec != strings.NewReplacer("\r", "", "\n", "").Replace(tc.name) {
			t.Errorf("filename* of %q decodes to %q, %v", tc.name, dec, err)
		}
	}
}
