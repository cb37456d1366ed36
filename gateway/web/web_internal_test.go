package web

import "testing"

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

func TestNextPage(t *testing.T) {
	for in, want := range map[string]string{
		"/van-ban/abc": "/van-ban/abc", "//evil.example/": "/di", "https://evil.example/": "/di",
		"/\\evil.example": "/di", "/dang-nhap": "/di", "": "/di", "/su-kien": "/di",
	} {
		if got := nextPage(in); got != want {
			t.Errorf("nextPage(%q) = %q, want %q", in, got, want)
		}
	}
}
