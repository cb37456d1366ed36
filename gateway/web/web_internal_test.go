package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/vntext"
)

func TestSignerName(t *testing.T) {
	for subject, want := range map[string]string{
		`SERIALNUMBER=000.00.00.G22,CN=Văn phòng Chính phủ,OU=agency,O=lienthong`: "Văn phòng Chính phủ (000.00.00.G22)",
		`CN=Văn phòng Chính phủ,OU=agency,O=lienthong`:                            "Văn phòng Chính phủ",
		`CN=Nguyễn Văn A,O=Bộ Tài chính`:                                          "Nguyễn Văn A (Bộ Tài chính)",
		`CN=UBND tỉnh Nghệ An`:                                                    "UBND tỉnh Nghệ An",
		`CN=Sở Y tế\, tỉnh Nghệ An,O=Sở Y tế\, tỉnh Nghệ An`:                      "Sở Y tế, tỉnh Nghệ An",
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

// TestThrottle_Bounded: however many addresses and user names a flood
// brings, each table keeps at most its bound, the most recent failures
// first; an hour after the last failure nothing is left.
func TestThrottle_Bounded(t *testing.T) {
	now := time.Date(2026, 9, 7, 2, 0, 0, 0, time.UTC)
	const bound = 100
	th := newThrottle(func() time.Time { return now }, bound)
	for i := range 10 * bound {
		client := fmt.Sprintf("2001:db8:%x::/64", i)
		for j := range clientFreeFailures {
			th.attempt(client, fmt.Sprintf("%d-%d-%s", i, j, strings.Repeat("x", 1000)))
		}
		now = now.Add(time.Millisecond)
	}
	if p, c, u := th.sizes(); p > bound || c > bound || u > bound {
		t.Errorf("after a flood: %d pairs, %d clients, %d user names; want at most %d each", p, c, u, bound)
	}
	for k := range th.users.byKey {
		if len(k) > maxKeyName {
			t.Errorf("a user name of %d bytes kept", len(k))
		}
	}
	// The most recent client is still counted: it waits.
	if th.attempt(fmt.Sprintf("2001:db8:%x::/64", 10*bound-1), "vanthu") == 0 {
		t.Error("the flood's last client is no longer throttled")
	}
	now = now.Add(forgetFailures)
	th.attempt("192.0.2.1", "vanthu")
	if p, c, u := th.sizes(); p != 1 || c != 1 || u != 1 {
		t.Errorf("an hour later: %d pairs, %d clients, %d user names; want only the last attempt", p, c, u)
	}
}

// TestThrottle_Parallel: attempts in flight count, so that sending them
// all at once gets no more than sending them one by one; a success takes
// back only its own attempt.
func TestThrottle_Parallel(t *testing.T) {
	now := time.Date(2026, 9, 7, 2, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now }, maxTracked)
	checked := 0
	for range 50 {
		if th.attempt("192.0.2.1", "vanthu") == 0 {
			checked++
		}
	}
	if checked != pairFreeFailures {
		t.Errorf("%d of 50 simultaneous attempts checked, want %d", checked, pairFreeFailures)
	}
	th.attempt("192.0.2.2", "vanthu")
	th.succeeded("192.0.2.2", "vanthu")
	if p, c, u := th.sizes(); p != 1 || c != 1 || u != 1 || th.users.byKey["vanthu"].Value.(*failures).n != pairFreeFailures {
		t.Errorf("after another client's success: %d pairs, %d clients, %d user names", p, c, u)
	}
}

// TestClientOf: the client is the connection's address, an IPv6 one by
// its /64; X-Forwarded-For is not believed without trusted proxies.
func TestClientOf(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:51234":                 "192.0.2.7",
		"[::ffff:192.0.2.7]:51234":        "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":           "2001:db8:1:3::/64",
		"@":                               "@",
	} {
		r := httptest.NewRequest(http.MethodPost, "/dang-nhap", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "198.51.100.1")
		if got := clientOf(r, nil); got != want {
			t.Errorf("clientOf(%q) = %q, want %q", remote, got, want)
		}
	}
}

// fakeDirectory is a directory of agencies for the filters' tests,
// searched as gateway.Directory.Search searches (in the order of the
// codes' tokens, by folded code, name and old codes, level, under an
// agency). It fails the test on a search without a limit: no filter may
// read the whole directory.
type fakeDirectory struct {
	t        *testing.T
	agencies []gateway.Agency // sorted by tokens
	codes    []envelope.AgencyCode
	searches []gateway.DirectoryQuery
}

func newFakeDirectory(t *testing.T, agencies []gateway.Agency) *fakeDirectory {
	d := &fakeDirectory{t: t}
	for _, a := range agencies {
		c, err := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
		if err != nil {
			t.Fatal(err)
		}
		a.Code = c.String()
		d.agencies, d.codes = append(d.agencies, a), append(d.codes, c)
	}
	idx := make([]int, len(agencies))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return strings.Compare(d.codes[i].Tokens(), d.codes[j].Tokens()) })
	as, cs := make([]gateway.Agency, len(idx)), make([]envelope.AgencyCode, len(idx))
	for k, i := range idx {
		as[k], cs[k] = d.agencies[i], d.codes[i]
	}
	d.agencies, d.codes = as, cs
	return d
}

func (d *fakeDirectory) SearchAgencies(q gateway.DirectoryQuery) gateway.DirectoryPage {
	d.searches = append(d.searches, q)
	if q.Limit <= 0 {
		d.t.Errorf("a search without a limit: %+v", q)
	}
	needle := vntext.Fold(strings.Join(strings.Fields(q.Text), " "))
	var under envelope.AgencyCode
	if q.Under != "" {
		var err error
		if under, err = envelope.ParseAgencyCode(q.Under, envelope.CodeAny); err != nil {
			return gateway.DirectoryPage{}
		}
	}
	var page gateway.DirectoryPage
	for i, a := range d.agencies {
		c := d.codes[i]
		if q.After != "" && c.Tokens() <= q.After ||
			q.Level > 0 && c.Level() != q.Level ||
			q.Under != "" && !under.Contains(c) ||
			needle != "" && !strings.Contains(vntext.Fold(a.Code+" "+a.Name+" "+strings.Join(a.OldCodes, " ")), needle) {
			continue
		}
		if q.Limit > 0 && len(page.Agencies) == q.Limit {
			page.Next = d.codes[i-1].Tokens()
			return page
		}
		page.Agencies = append(page.Agencies, a)
	}
	return page
}

func (d *fakeDirectory) Agency(code string) (gateway.Agency, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return gateway.Agency{}, false
	}
	for i, a := range d.agencies {
		if d.codes[i].Equal(c) {
			return a, true
		}
	}
	return gateway.Agency{}, false
}

// nationalAgencies is a directory of national size: 30 ministries, 34
// provinces, and communes under the provinces up to 111,000 agencies, with
// the agencies of the tests among them.
func nationalAgencies() []gateway.Agency {
	var agencies []gateway.Agency
	for m := 1; m <= 30; m++ {
		agencies = append(agencies, gateway.Agency{Code: fmt.Sprintf("000.00.00.G%02d", m+30), Name: fmt.Sprintf("Bộ số %d", m), Kind: "ministry"})
	}
	for p := 1; p <= 34; p++ {
		agencies = append(agencies, gateway.Agency{Code: fmt.Sprintf("000.00.00.H%02d", p+50), Name: fmt.Sprintf("UBND tỉnh số %d", p), Kind: "province"})
	}
	agencies = append(agencies,
		gateway.Agency{Code: "000.00.00.H41", Name: "UBND tỉnh Nghệ An", Kind: "province"},
		gateway.Agency{Code: "000.00.12.H41", Name: "Sở Y tế tỉnh Nghệ An", Kind: "department", OldCodes: []string{"000.00.99.H41"}},
		gateway.Agency{Code: "000.00.00.H29", Name: "UBND Thành phố Hồ Chí Minh", Kind: "province"},
		gateway.Agency{Code: "000.00.00.G22", Name: "Văn phòng Chính phủ", Kind: "ministry"},
	)
	for i := 0; len(agencies) < 111_000; i++ {
		p, j := i%34, i/34
		agencies = append(agencies, gateway.Agency{
			Code: fmt.Sprintf("%03d.%02d.%02d.H%02d", 1+j/9801, j/99%99+1, j%99+1, p+50), Name: fmt.Sprintf("UBND xã Số %d", i), Kind: "commune",
		})
	}
	for i := range 400 { // Nghệ An's own communes, more than a suggestion list holds
		agencies = append(agencies, gateway.Agency{Code: fmt.Sprintf("%03d.%02d.50.H41", i/99+1, i%99+1), Name: fmt.Sprintf("UBND xã Nghệ An số %d", i), Kind: "commune"})
	}
	return agencies
}

// TestAgenciesNamed: a part of a name or a code finds the agencies,
// letter case, Vietnamese marks (precomposed or combining) and runs of
// spaces ignored, with one search of at most the limit and one; a hosted
// agency is found by the name the gateway's configuration gives it, and
// bears it; a name too many bear finds none and says so.
func TestAgenciesNamed(t *testing.T) {
	dir := newFakeDirectory(t, nationalAgencies())
	hosted := map[string]string{"000.00.12.H41": "Sở Y tế Nghệ An", "000.00.00.H41": "UBND tỉnh Nghệ An"}
	codes := func(as []gateway.Agency) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Code)
		}
		return out
	}
	for _, tt := range []struct {
		typed string
		want  []string
	}{
		{"Nghệ An tỉnh", nil},
		{"tỉnh Nghệ An", []string{"000.00.00.H41", "000.00.12.H41"}},
		{"tinh nghe an", []string{"000.00.00.H41", "000.00.12.H41"}},
		{"  TỈNH   NGHỆ   an ", []string{"000.00.00.H41", "000.00.12.H41"}},
		{"tinh nghe\u0323\u0302 an", []string{"000.00.00.H41", "000.00.12.H41"}}, // combining marks
		{"sở y tế", []string{"000.00.12.H41"}},
		{"y te nghe an", []string{"000.00.12.H41"}}, // the configured name only
		{"TP", nil},
		{"thanh pho ho chi minh", []string{"000.00.00.H29"}},
		{"12.h41", []string{"000.00.12.H41"}},
		{"99.h41", []string{"000.00.12.H41"}}, // an old code
		{"đà nẵng", nil},
	} {
		dir.searches = nil
		got, more := agenciesNamed(tt.typed, dir, hosted, 100)
		if more || !slices.Equal(codes(got), tt.want) {
			t.Errorf("agenciesNamed(%q) = %q, %v; want %q", tt.typed, codes(got), more, tt.want)
		}
		if len(dir.searches) != 1 || dir.searches[0].Limit != 101 {
			t.Errorf("agenciesNamed(%q) searched %+v, want one search of at most 101", tt.typed, dir.searches)
		}
		for _, a := range got {
			if name, ok := hosted[a.Code]; ok && a.Name != name {
				t.Errorf("agenciesNamed(%q): hosted %s named %q, want its configured %q", tt.typed, a.Code, a.Name, name)
			}
			if a.Code == "000.00.12.H41" && len(a.OldCodes) != 1 {
				t.Errorf("agenciesNamed(%q): Sở Y tế without its old code", tt.typed)
			}
		}
	}
	if got, more := agenciesNamed("ubnd xa", dir, hosted, 100); !more || got != nil {
		t.Errorf("a name 111,000 agencies bear: %d agencies, more %v", len(got), more)
	}
	if got, more := agenciesNamed("ubnd xã số 100998", dir, hosted, 100); more || len(got) != 1 {
		t.Errorf("ubnd xã số 100998: %d agencies, more %v", len(got), more)
	}
	if got, more := agenciesNamed("  ", dir, hosted, 100); more || got != nil {
		t.Errorf("nothing typed: %d agencies, more %v", len(got), more)
	}
}

// TestSuggestAgencies: the party filter suggests, out of a national
// directory, the ministries and provinces and the agencies of the clerk's
// own province or ministry — at most 300, by bounded searches — with the
// hosted agencies' configured names.
func TestSuggestAgencies(t *testing.T) {
	dir := newFakeDirectory(t, nationalAgencies())
	hosted := map[string]string{"000.00.12.H41": "Sở Y tế Nghệ An"}
	got := suggestAgencies(dir, []string{"000.00.12.H41", "000.00.00.G22"}, hosted, maxSuggestions)
	if len(got) > maxSuggestions {
		t.Errorf("%d suggestions, want at most %d", len(got), maxSuggestions)
	}
	byCode := map[string]gateway.Agency{}
	for _, a := range got {
		if _, dup := byCode[a.Code]; dup {
			t.Errorf("%s suggested twice", a.Code)
		}
		byCode[a.Code] = a
	}
	for _, code := range []string{"000.00.00.G31", "000.00.00.G60", "000.00.00.H51", "000.00.00.H84", "000.00.00.H29", "000.00.00.H41", "000.00.00.G22", "001.01.50.H41"} {
		if _, ok := byCode[code]; !ok {
			t.Errorf("%s is not suggested", code)
		}
	}
	if a := byCode["000.00.12.H41"]; a.Name != "Sở Y tế Nghệ An" {
		t.Errorf("the hosted Sở Y tế is suggested as %q, want its configured name", a.Name)
	}
	under := 0
	for _, a := range got {
		c, _ := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
		switch {
		case c.Level() == 1:
		case strings.HasSuffix(a.Code, ".H41"):
			under++
		default:
			t.Errorf("%s (%s) is suggested, neither level 1 nor the clerk's province", a.Code, a.Name)
		}
	}
	if under < 100 {
		t.Errorf("%d agencies of Nghệ An suggested, want the room left by the level-1 ones", under)
	}
}

// TestTierOf: the tier is the entry's kind when it has one, else the
// code's level, which no longer names districts: since the 2025 reform a
// commune may stand directly under its province.
func TestTierOf(t *testing.T) {
	for _, tt := range []struct {
		a    gateway.Agency
		want string
	}{
		{gateway.Agency{Code: "000.00.00.G22", Kind: "ministry"}, "Bộ, ngành trung ương"},
		{gateway.Agency{Code: "000.00.00.H41", Kind: "province"}, "Tỉnh, thành phố trực thuộc trung ương"},
		{gateway.Agency{Code: "000.00.12.H41", Kind: "department"}, "Sở, ban, ngành"},
		{gateway.Agency{Code: "000.00.31.H41", Kind: "commune"}, "Xã, phường, đặc khu"},
		{gateway.Agency{Code: "000.00.31.H41", Kind: " Commune "}, "Xã, phường, đặc khu"},
		{gateway.Agency{Code: "000.00.40.H41", Kind: "other"}, "Cơ quan khác"},
		{gateway.Agency{Code: "000.00.00.H41"}, "Ủy ban nhân dân tỉnh, thành phố trực thuộc trung ương"},
		{gateway.Agency{Code: "000.00.00.G22"}, "Bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ"},
		{gateway.Agency{Code: "000.00.31.H41"}, "Cấp 2: đơn vị trực thuộc bộ, ngành, tỉnh"},
		{gateway.Agency{Code: "000.00.31.H41", Kind: "district"}, "Cấp 2: đơn vị trực thuộc bộ, ngành, tỉnh"},
		{gateway.Agency{Code: "000.01.31.H41"}, "Cấp 3: đơn vị thuộc cấp 2"},
		{gateway.Agency{Code: "001.01.31.H41"}, "Cấp 4: đơn vị thuộc cấp 3"},
		{gateway.Agency{Code: "không phải mã"}, "Không xác định"},
	} {
		if got := tierOf(tt.a).Label; got != tt.want {
			t.Errorf("tierOf(%s, kind %q) = %q, want %q", tt.a.Code, tt.a.Kind, got, tt.want)
		}
		if strings.Contains(tierOf(tt.a).Label, "huyện") {
			t.Errorf("tierOf(%s, kind %q) names a district", tt.a.Code, tt.a.Kind)
		}
	}
}

// TestNew_Required: a page without its gateway or its reports is refused
// when it is made, not by a panic on the first request for Báo cáo.
func TestNew_Required(t *testing.T) {
	if _, err := New(nil, nil, Options{}, nil); err == nil {
		t.Error("New(nil gateway, nil reports) made a page")
	}
	var gw *gateway.Gateway // a Gateway, but no Reports
	if _, err := New(gw, nil, Options{}, nil); err == nil {
		t.Error("New without reports made a page")
	}
	// A nil *gateway.Gateway is no gateway, though the Gateway holding
	// it is not nil.
	if _, err := New(gw, &fakeReports{}, Options{}, nil); err == nil {
		t.Error("New(nil *gateway.Gateway) made a page")
	}
}

// TestGateway_NoSubmit: the clerks' page posts statuses but sends no
// packet, so what it holds of the gateway cannot send one.
func TestGateway_NoSubmit(t *testing.T) {
	if _, ok := reflect.TypeFor[Gateway]().MethodByName("Submit"); ok {
		t.Error("web.Gateway has Submit: the clerks' page could send packets")
	}
	if _, ok := reflect.TypeFor[Gateway]().MethodByName("PostStatusResult"); !ok {
		t.Error("web.Gateway cannot post statuses")
	}
}
