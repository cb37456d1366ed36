package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/web"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/internal/vnfmt"
)

var (
	directoryCode = regexp.MustCompile(`<td data-label="Mã định danh"><code>([^<]+)</code></td>`)
	nextLink      = regexp.MustCompile(`<a href="([^"]+)">Trang sau →</a>`)
	datalist      = regexp.MustCompile(`(?s)<datalist id="ds-co-quan">.*?</datalist>`)
)

// TestWeb_LargeDirectory: with a directory of 2,400 agencies (the
// national one has 111,000) and pages of 25, Danh bạ shows every agency
// exactly once by following its “Trang sau” links, a search pages the
// same way, and each agency's tier comes from its kind; the list pages
// suggest a bounded list (ministries, provinces, the first of the clerk's
// own ministry's 300 units: 300 in all) rather than the directory, while their party filter
// still finds a far-away commune by a part of its name.
func TestWeb_LargeDirectory(t *testing.T) {
	const provinces, communes, units = 34, 60, 300
	ax := testkit.NewAxis(t)
	gw := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, gw, func(o *web.Options) { o.DirectoryPageSize = 25 },
		web.Clerk{Username: "vanthu.vpcp", Name: "Nguyễn Thị Lan", PasswordHash: string(hash), Agencies: []string{vpcp}})

	start := time.Now()
	want := map[string]bool{vpcp: true}
	register := func(a gateway.Agency) {
		a.Gateway = "elsewhere"
		ax.Register(a)
		want[a.Code] = true
	}
	for m := 1; m <= provinces; m++ {
		register(gateway.Agency{Code: fmt.Sprintf("000.00.00.G%02d", 30+m), Name: fmt.Sprintf("Bộ số %d", m), Kind: "ministry"})
	}
	for p := 1; p <= provinces; p++ {
		province := fmt.Sprintf("000.00.00.H%02d", 50+p)
		register(gateway.Agency{Code: province, Name: fmt.Sprintf("UBND tỉnh số %d", p), Kind: "province"})
		for c := 1; c <= communes; c++ {
			name := fmt.Sprintf("UBND xã số %d tỉnh %d", c, p)
			if p == provinces && c == communes {
				name = "UBND xã Tân Kỳ Thượng" // the far-away commune
			}
			register(gateway.Agency{Code: fmt.Sprintf("000.00.%02d.H%02d", c, 50+p), Name: name, Parent: province, Kind: "commune"})
		}
	}
	for u := range units { // 60 departments with 4 units each
		if u < 60 {
			register(gateway.Agency{Code: fmt.Sprintf("000.00.%02d.G22", u+1), Name: fmt.Sprintf("Vụ số %d", u+1), Parent: vpcp, Kind: "department"})
			continue
		}
		register(gateway.Agency{
			Code: fmt.Sprintf("000.%02d.%02d.G22", u/60, u%60+1), Name: fmt.Sprintf("Phòng %d thuộc Vụ số %d", u/60, u%60+1),
			Parent: fmt.Sprintf("000.00.%02d.G22", u%60+1), Kind: "other",
		})
	}
	const far = "000.00.60.H84"
	testkit.Eventually(t, "the directory", func() bool { return gw.Directory().Len() == len(want) })
	t.Logf("%d agencies registered in %v", len(want), time.Since(start))

	c := newClient(t, s)
	c.login("vanthu.vpcp")

	// Danh bạ, page by page: every agency exactly once.
	seen := map[string]int{}
	pages := 0
	for link := "/danh-ba"; link != ""; {
		p := c.get(link)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", link, p.status)
		}
		pages++
		rows := directoryCode.FindAllStringSubmatch(p.body, -1)
		if len(rows) > 25 {
			t.Errorf("%s shows %d agencies, want at most 25", link, len(rows))
		}
		mustContain(t, link, p.body, fmt.Sprintf("%d cơ quan trên tổng số %s", len(rows), vnfmt.Int(len(want))))
		if pages > 1 {
			mustContain(t, link, p.body, `<a href="/danh-ba">← Trang đầu</a>`)
		}
		for _, r := range rows {
			seen[r[1]]++
		}
		link = ""
		if m := nextLink.FindStringSubmatch(p.body); m != nil {
			link = html.UnescapeString(m[1])
		}
		if pages > len(want) {
			t.Fatal("Danh bạ's pages do not end")
		}
	}
	for code := range want {
		if seen[code] != 1 {
			t.Errorf("Danh bạ showed %s %d times, want once", code, seen[code])
		}
	}
	for code, n := range seen {
		if !want[code] {
			t.Errorf("Danh bạ showed %s (%d times), not in the directory", code, n)
		}
	}
	if wantPages := (len(want) + 24) / 25; pages != wantPages {
		t.Errorf("Danh bạ had %d pages, want %d", pages, wantPages)
	}

	// A search pages too, keeping its words: the 500 communes, whose tier
	// is their kind.
	seen = map[string]int{}
	for link := "/danh-ba?q=" + url.QueryEscape("UBND XA"); link != ""; {
		p := c.get(link)
		if !strings.Contains(link, "q=") {
			t.Errorf("a search's next page %s lost the search", link)
		}
		for _, r := range directoryCode.FindAllStringSubmatch(p.body, -1) {
			seen[r[1]]++
		}
		mustContain(t, link, p.body, "Xã, phường, đặc khu")
		mustNotContain(t, link, p.body, "Cấp 2", "huyện")
		link = ""
		if m := nextLink.FindStringSubmatch(p.body); m != nil {
			link = html.UnescapeString(m[1])
		}
	}
	if len(seen) != provinces*communes || seen[far] != 1 {
		t.Errorf("the search for communes showed %d agencies (%s %d times), want %d", len(seen), far, seen[far], provinces*communes)
	}
	p := c.get("/danh-ba?q=" + url.QueryEscape("tan ky thuong"))
	mustContain(t, "Danh bạ searched for the far commune", p.body, far, "UBND xã Tân Kỳ Thượng", "Xã, phường, đặc khu", "UBND tỉnh số 34", "1 cơ quan trên tổng số")
	mustNotContain(t, "Danh bạ searched for the far commune", p.body, "Trang sau")
	p = c.get("/danh-ba?q=" + url.QueryEscape("Vụ số 7"))
	mustContain(t, "Danh bạ searched for a unit", p.body, "000.00.07.G22", "Sở, ban, ngành", "Văn phòng Chính phủ")
	p = c.get("/danh-ba?q=" + url.QueryEscape("phong 2 thuoc vu so 7"))
	mustContain(t, "Danh bạ searched for a unit's unit", p.body, "000.02.07.G22", "Cơ quan khác", "Vụ số 7")
	p = c.get("/danh-ba?q=" + url.QueryEscape("bộ số 3"))
	mustContain(t, "Danh bạ searched for a ministry", p.body, "000.00.00.G33", "Bộ, ngành trung ương")

	// The list pages suggest a bounded list, not the directory.
	for _, path := range []string{"/di", "/den"} {
		p := c.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		list := datalist.FindString(p.body)
		n := strings.Count(list, "<option")
		if n != 300 {
			t.Errorf("%s suggests %d agencies of %d", path, n, len(want))
		}
		if len(list) > 64<<10 {
			t.Errorf("%s's suggestions are %d bytes", path, len(list))
		}
		// Every ministry and province, and as many of the clerk's
		// ministry's units as the rest of 300 holds, in the order of
		// their codes.
		mustContain(t, path+"'s suggestions", list, `value="000.00.00.H84"`, `value="000.00.00.G64"`, `value="000.00.01.G22"`, `value="000.03.40.G22"`, "Văn phòng Chính phủ")
		mustNotContain(t, path+"'s suggestions", list, `value="`+far+`"`, "Tân Kỳ Thượng", `value="000.00.01.H51"`, `value="000.00.60.G22"`)
		t.Logf("%s: %d bytes, %d suggestions", path, len(p.body), n)
	}
	// The party filter finds the far commune by a part of its name, and
	// says so when a name is too common or unknown.
	p = c.get("/di?don-vi-lien-quan=" + url.QueryEscape("tan ky thuong"))
	if p.status != http.StatusOK {
		t.Errorf("Văn bản đi filtered by the far commune's name: %d\n%s", p.status, p.body)
	}
	p = c.get("/den?don-vi-lien-quan=" + url.QueryEscape("ubnd xa"))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Có hơn 100 cơ quan") {
		t.Errorf("Văn bản đến filtered by a name 500 communes bear: %d", p.status)
	}
	p = c.get("/den?don-vi-lien-quan=" + url.QueryEscape("tan ky ha"))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Không có cơ quan nào") {
		t.Errorf("Văn bản đến filtered by a name no agency bears: %d", p.status)
	}
}
