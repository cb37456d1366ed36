package web

import (
	"strings"
	"testing"
)

func TestSignerName(t *testing.T) {
	for subject, want := range map[string]string{
		`SERIALNUMBER=000.00.00.G22,CN=Văn phòng Chính phủ,OU=agency,O=lienthong`: "Văn phòng Chính phủ (lienthong)",
		`CN=UBND tỉnh Nghệ An`: "UBND tỉnh Nghệ An",
		`CN=Sở Y tế\, tỉnh Nghệ An,O=Sở Y tế\, tỉnh Nghệ An`: "Sở Y tế, tỉnh Nghệ An",
		`O=Không có tên`: "O=Không có tên",
		``:               "",
	} {
		if got := signerName(subject); got != want {
			t.Errorf("signerName(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestParseDay(t *testing.T) {
	for in, want := range map[string]string{"05/09/2026": "2026-09-05", "5/9/2026": "2026-09-05", "2026-09-05": "2026-09-05"} {
		d, err := parseDay(in)
		if err != nil || d.Format("2006-01-02") != want || d.Hour() != 0 {
			t.Errorf("parseDay(%q) = %v, %v", in, d, err)
		}
	}
	for _, bad := range []string{"31/02/2026", "2026/09/05", "hôm nay", ""} {
		if _, err := parseDay(bad); err == nil {
			t.Errorf("parseDay(%q) took it", bad)
		}
	}
}

// TestNextPage: the page to go back to after signing in is a local path
// or the outgoing documents, whatever trick the value tries.
func TestNextPage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Local pages stay as they are.
		{"/van-ban/abc", "/van-ban/abc"},
		{"/van-ban-den?trang=2", "/van-ban-den?trang=2"},
		{"/den?q=c%C3%B4ng%20v%C4%83n&tu=01%2F09%2F2026", "/den?q=c%C3%B4ng%20v%C4%83n&tu=01%2F09%2F2026"},
		{"/di#cuoi", "/di#cuoi"},
		{"/", "/"},
		// Another host, however written.
		{"//evil.example/", "/di"},
		{"///evil.example/", "/di"},
		{"https://evil.example/", "/di"},
		{"https:evil.example", "/di"},
		{"https:/evil.example", "/di"},
		{"javascript:alert(1)", "/di"},
		{"evil.example", "/di"},
		{"/\\evil.example", "/di"},
		{"\\\\evil.example", "/di"},
		{"/x\\..\\\\evil.example", "/di"},
		{"/%2F%2Fevil.example", "/di"},
		{"/%2f/evil.example", "/di"},
		{"/%5Cevil.example", "/di"},
		{"/%5C%5Cevil.example", "/di"},
		{"/%252F%252Fevil.example", "/di"},
		{"/%255Cevil.example", "/di"},
		{"/\t/evil.example", "/di"},
		{"/%09/evil.example", "/di"},
		{"\t/\t/evil.example", "/di"},
		{"/\n/evil.example", "/di"},
		{"/\r\n/evil.example", "/di"},
		{"/di%0d%0aSet-Cookie:%20x=1", "/di"},
		{"/di?x=%0d%0a", "/di"},
		{"/di?x=%00", "/di"},
		{" //evil.example", "/di"},
		{"/ /evil.example", "/di"},
		{"/\u00a0/evil.example", "/di"},
		{"/\u3000/evil.example", "/di"},
		{"/\u2028/evil.example", "/di"},
		{"/\ufeff/evil.example", "/di"},
		{"/%E2%80%A8/evil.example", "/di"},
		{"/%C2%85/evil.example", "/di"},
		{"/\x7f/evil.example", "/di"},
		{"//user@evil.example", "/di"},
		{"/di%", "/di"},
		{"/" + strings.Repeat("a", maxNextPage), "/di"},
		// Pages that make no sense to go back to.
		{"/dang-nhap", "/di"}, {"/dang-nhap?tiep=/den", "/di"}, {"/su-kien", "/di"}, {"", "/di"},
	} {
		if got := nextPage(tc.in); got != tc.want {
			t.Errorf("nextPage(%.80q) = %.80q, want %q", tc.in, got, tc.want)
		}
	}
}
