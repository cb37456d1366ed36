package web_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/browsertest"
	"github.com/lienthong/lienthong/internal/testkit"
)

// tab opens a tab in a browser context of its own: a clerk with their own
// cookies.
func tab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// do runs steps in the tab, each call bounded.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return browsertest.Eval[T](t, ctx, expr)
}

// waitFor polls a JavaScript predicate in the tab for up to 20 s.
func waitFor(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		body, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting for %s: %v\nthe page shows:\n%s", what, err, body)
	}
}

// text returns the text the page shows.
func text(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `document.body.innerText`)
}

// screenshot saves a full-page PNG of the tab in the test's artifact
// directory (kept with go test -artifacts -outputdir DIR).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// accessible checks what a machine can check of the page's accessibility:
// the language is Vietnamese, every visible form control has a label,
// every button and link says something, and every text has a contrast
// of at least 4.5:1 with the background it is drawn on (WCAG 2.1 AA).
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	problems := eval[[]string](t, ctx, `(() => {
		const out = [];
		if (document.documentElement.lang !== 'vi') out.push('html lang is ' + document.documentElement.lang);
		for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
			if (!el.labels || el.labels.length === 0) out.push('no label: ' + el.outerHTML.slice(0, 80));
		}
		for (const el of document.querySelectorAll('button, a')) {
			if (el.innerText.trim() === '' && !el.getAttribute('aria-label')) out.push('says nothing: ' + el.outerHTML.slice(0, 80));
		}
		const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
		const lum = c => {
			const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
			return 0.2126 * r + 0.7152 * g + 0.0722 * b;
		};
		// The background a text is drawn on: the translucent layers
		// under it blended down to the first opaque one (or white).
		const background = el => {
			const layers = [];
			for (let e = el; e; e = e.parentElement) {
				const c = rgb(getComputedStyle(e).backgroundColor);
				const a = c.length === 4 ? c[3] : 1;
				if (a > 0) { layers.push([c[0], c[1], c[2], a]); if (a >= 1) break; }
			}
			let out = [255, 255, 255];
			for (let i = layers.length - 1; i >= 0; i--) {
				const [r, g, b, a] = layers[i];
				out = [r * a + out[0] * (1 - a), g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
			}
			return out;
		};
		for (const el of document.querySelectorAll('body *')) {
			const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== '');
			if (!own || el.offsetParent === null) continue;
			const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
			const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
			if (ratio < 4.5) out.push('contrast ' + ratio.toFixed(2) + ': ' + el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 40) + '"');
		}
		return out;
	})()`)
	for _, p := range problems {
		t.Errorf("%s: %s", page, p)
	}
}

// signIn signs a clerk in through the form and lands on Văn bản đi.
func signIn(t *testing.T, ctx context.Context, s *site, user string) {
	t.Helper()
	do(t, ctx, "sign in as "+user,
		chromedp.Navigate(s.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.docs`)),
	)
	if loc := eval[string](t, ctx, `location.pathname`); loc != "/di" {
		t.Fatalf("after sign-in the browser is at %s", loc)
	}
}

// liveStreamOpen is a predicate: the page's live stream is open.
const liveStreamOpen = `document.getElementById('trang-thai-truc-tiep').dataset.stream === 'open'`

// chipIs is a predicate: the chip of recipient in the row (or the page)
// of document id reads label.
func chipIs(id, recipient, label string) string {
	return fmt.Sprintf(`(() => {
		const c = document.querySelector('[data-doc="%s"] li[data-recipient="%s"] .chip');
		return !!c && c.textContent.trim() === %q;
	})()`, id, recipient, label)
}

// TestBrowser: clerks in a real Chromium against three gateways on
// loopback. The sender's clerk signs in and sees the sent document; its
// chip changes live (no reload) when the recipient's clerk accepts it;
// the timeline and an attachment download work; another recipient refuses
// a document with a reason and the sender's page shows it, live; the
// recipient and sender filters find documents by a part of a name; Báo
// cáo's charts can be read (titles, legends, texts of 12 px or more, none
// on another) and its agency choice shows names whole; a clerk of
// another agency gets nothing. Screenshots of each page are saved.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is not short")
	}
	bctx := browsertest.Start(t)
	a := newAxis(t, nil)
	pdf := []byte("%PDF-1.4\n% công văn số 15/VPCP-TH\n%%EOF\n")
	id := a.vpcp.send(t, testkit.Letter{
		From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea, hcm},
		Number: "15", Notation: "VPCP-TH", Priority: envelope.PriorityUrgent,
		Subject:     "V/v tăng cường kết nối, liên thông văn bản điện tử giữa các cơ quan hành chính nhà nước",
		DueDate:     envelope.DateOf(time.Now().AddDate(0, 0, 10)),
		Attachments: []testkit.File{{Name: "Công văn 15-VPCP-TH.pdf", ContentType: "application/pdf", Data: pdf}},
	})
	late := a.vpcp.send(t, testkit.Letter{
		From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}, Number: "09", Notation: "VPCP-KSTT",
		Subject: "V/v báo cáo tình hình ứng dụng công nghệ thông tin quý III",
		DueDate: envelope.DateOf(time.Now().AddDate(0, 0, -3)),
	})
	inH41 := a.nghean.incoming(t, a.vpcp, id, nghea)
	inHCM := a.hcm.incoming(t, a.vpcp, id, hcm)
	a.nghean.incoming(t, a.vpcp, late, nghea)

	// The sender's clerk.
	sender := tab(t, bctx)
	do(t, sender, "the sign-in page", chromedp.Navigate(a.vpcp.srv.URL+"/di"), chromedp.WaitVisible(chromedp.ID("username")))
	screenshot(t, sender, "dang-nhap.png")
	accessible(t, sender, "Đăng nhập")
	signIn(t, sender, a.vpcp, "vanthu.vpcp")
	waitFor(t, sender, "the document's arrival at Nghệ An", chipIs(id, nghea, "Đã đến"))
	page := text(t, sender)
	for _, want := range []string{"Văn bản đi", "V/v tăng cường kết nối, liên thông văn bản điện tử", "15/VPCP-TH",
		"UBND tỉnh Nghệ An", "UBND Thành phố Hồ Chí Minh", "Khẩn", time.Now().In(envelope.VietnamTime()).Format("02/01/2006"),
		"Quá hạn xử lý"} {
		if !strings.Contains(page, want) {
			t.Errorf("Văn bản đi does not show %q:\n%s", want, page)
		}
	}
	if !eval[bool](t, sender, fmt.Sprintf(`document.querySelector('tr[data-doc="%s"]').classList.contains('overdue')`, late)) {
		t.Error("the overdue document does not stand out")
	}
	eval[int](t, sender, `window.__lienthongNoReload = 42`)
	waitFor(t, sender, "the live stream", liveStreamOpen)

	// The recipient's clerk accepts it from Văn bản đến.
	recipient := tab(t, bctx)
	signIn(t, recipient, a.nghean, "vanthu.nghean")
	do(t, recipient, "Văn bản đến", chromedp.Click(chromedp.CSS(`nav a[href="/den"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-doc="`+inH41+`"]`)))
	screenshot(t, recipient, "van-ban-den.png")
	accessible(t, recipient, "Văn bản đến")
	do(t, recipient, "accept (03)",
		chromedp.Click(chromedp.CSS(`tr[data-doc="`+inH41+`"] a`)),
		chromedp.WaitVisible(chromedp.ID("h-xu-ly")),
		chromedp.Click(chromedp.CSS(`form.action:has(input[name="ma"][value="03"]) button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if got := eval[string](t, recipient, `document.querySelector('p.notice').textContent`); !strings.Contains(got, "Đã tiếp nhận") {
		t.Errorf("after 03 the page says %q", got)
	}

	// The sender's chip changes without a reload.
	waitFor(t, sender, "the chip to read Đã tiếp nhận", chipIs(id, nghea, "Đã tiếp nhận"))
	if !eval[bool](t, sender, `window.__lienthongNoReload === 42`) {
		t.Error("the page was reloaded: the chip did not change live")
	}
	screenshot(t, sender, "van-ban-di.png")

	// Chi tiết: the timeline, live too, and the attachment. The 04 comes
	// after the page was rendered and before its live stream subscribed
	// (held back until then): the stream must still tell the page.
	release := a.vpcp.holdStreams(t)
	do(t, sender, "Chi tiết", chromedp.Click(chromedp.CSS(`tr[data-doc="`+id+`"] a`)), chromedp.WaitVisible(chromedp.ID("h-dong-thoi-gian")))
	eval[int](t, sender, `window.__lienthongNoReload = 43`)
	do(t, recipient, "assign (04)", chromedp.Click(chromedp.CSS(`form.action:has(input[name="ma"][value="04"]) button`)), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	testkit.Eventually(t, "the 04 at VPCP", func() bool { return a.vpcp.state(t, id, nghea) == envelope.StateAssigned })
	release()
	waitFor(t, sender, "04 in the timeline", `document.querySelector('ol.timeline').innerText.includes('UBND tỉnh Nghệ An: Phân công xử lý')`)
	if !eval[bool](t, sender, `window.__lienthongNoReload === 43`) {
		t.Error("the page was reloaded: the timeline did not change live")
	}
	timeline := eval[string](t, sender, `document.querySelector('ol.timeline').innerText`)
	for _, want := range []string{"Đưa vào hàng đợi gửi tới UBND tỉnh Nghệ An", "Đã chuyển lên trục liên thông tới UBND Thành phố Hồ Chí Minh",
		"UBND tỉnh Nghệ An: Đã đến", "UBND tỉnh Nghệ An: Đã tiếp nhận", "Người xử lý: Trần Văn Hùng"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline does not show %q:\n%s", want, timeline)
		}
	}
	if page := text(t, sender); !strings.Contains(page, "Chữ ký số hợp lệ") || !strings.Contains(page, "Công văn 15-VPCP-TH.pdf") {
		t.Errorf("Chi tiết lacks the verdict or the attachment:\n%s", page)
	}
	screenshot(t, sender, "chi-tiet.png")
	accessible(t, sender, "Chi tiết")
	if got := download(t, sender, `a[href="/van-ban/`+id+`/dinh-kem/1"]`); !bytes.Equal(got, pdf) {
		t.Errorf("the downloaded attachment is %q, want %q", got, pdf)
	}

	// TP.HCM refuses it with a reason; the sender's list says so, live.
	const reason = "Văn bản không thuộc thẩm quyền giải quyết của UBND Thành phố"
	do(t, sender, "back to Văn bản đi", chromedp.Navigate(a.vpcp.srv.URL+"/di"), chromedp.WaitVisible(chromedp.CSS(`tr[data-doc="`+id+`"]`)))
	eval[int](t, sender, `window.__lienthongNoReload = 44`)
	refuser := tab(t, bctx)
	signIn(t, refuser, a.hcm, "vanthu.hcm")
	do(t, refuser, "refuse (02)",
		chromedp.Navigate(a.hcm.srv.URL+"/van-ban/"+inHCM),
		chromedp.WaitVisible(chromedp.ID("ly-do-02")),
		chromedp.SendKeys(chromedp.ID("ly-do-02"), reason),
		chromedp.Click(chromedp.CSS(`form.action:has(input[name="ma"][value="02"]) button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	waitFor(t, sender, "the refusal on Văn bản đi", chipIs(id, hcm, "Từ chối"))
	waitFor(t, sender, "the refusal's reason", fmt.Sprintf(`document.querySelector('tr[data-doc="%s"]').innerText.includes(%q)`, id, "Từ chối tiếp nhận, lý do: "+reason))
	if !eval[bool](t, sender, `window.__lienthongNoReload === 44`) {
		t.Error("the page was reloaded: the refusal did not arrive live")
	}
	screenshot(t, sender, "van-ban-di-tu-choi.png")
	accessible(t, sender, "Văn bản đi")

	// The recipient filter takes a part of a name, without its marks.
	filter(t, sender, "ho chi minh")
	if got := eval[[]string](t, sender, `[...document.querySelectorAll('tr[data-doc]')].map(r => r.dataset.doc)`); len(got) != 1 || got[0] != id {
		t.Errorf("Văn bản đi filtered by “ho chi minh” lists %q, want only %s (sent to TP.HCM)", got, id)
	}
	if got := eval[string](t, sender, `document.getElementById('f-party').placeholder`); !strings.Contains(got, "Mã hoặc tên") {
		t.Errorf("the recipient filter's placeholder is %q", got)
	}

	// Danh bạ, and the list on a phone.
	do(t, sender, "Danh bạ", chromedp.Click(chromedp.CSS(`nav a[href="/danh-ba"]`)), chromedp.WaitVisible(chromedp.CSS(`table.directory`)))
	if page := text(t, sender); !strings.Contains(page, "Sở Y tế tỉnh Nghệ An") || !strings.Contains(page, "Đang hoạt động") {
		t.Errorf("Danh bạ:\n%s", page)
	}
	screenshot(t, sender, "danh-ba.png")
	accessible(t, sender, "Danh bạ")
	do(t, sender, "Báo cáo", chromedp.Click(chromedp.CSS(`nav a[href="/bao-cao"]`)), chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)))
	if page := text(t, sender); !strings.Contains(page, "Văn bản đi điện tử") || !strings.Contains(page, "Tải báo cáo") {
		t.Errorf("Báo cáo:\n%s", page)
	}
	screenshot(t, sender, "bao-cao.png")
	accessible(t, sender, "Báo cáo")
	readableCharts(t, sender)
	wholeAgencyNames(t, sender)
	do(t, recipient, "Nghệ An's Báo cáo", chromedp.Navigate(a.nghean.srv.URL+"/bao-cao"), chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)))
	wholeAgencyNames(t, recipient)

	// The sender filter of Văn bản đến too.
	do(t, recipient, "Văn bản đến", chromedp.Navigate(a.nghean.srv.URL+"/den"), chromedp.WaitVisible(chromedp.ID("f-party")))
	filter(t, recipient, "văn phòng CHÍNH PHỦ")
	if !eval[bool](t, recipient, `!!document.querySelector('tr[data-doc="`+inH41+`"]')`) {
		t.Errorf("Văn bản đến filtered by “văn phòng CHÍNH PHỦ” does not list the document from VPCP:\n%s", text(t, recipient))
	}
	do(t, sender, "a phone's screen",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(a.vpcp.srv.URL+"/di"), chromedp.WaitVisible(chromedp.CSS(`tr[data-doc="`+id+`"]`)))
	if w := eval[int](t, sender, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a phone the page is %d px wide, wider than the screen", w)
	}
	screenshot(t, sender, "van-ban-di-dien-thoai.png")

	// A clerk of another agency on the same gateway sees nothing of it.
	other := tab(t, bctx)
	signIn(t, other, a.nghean, "vanthu.soyte")
	do(t, other, "Sở Y tế's Văn bản đến", chromedp.Navigate(a.nghean.srv.URL+"/den"), chromedp.WaitVisible(chromedp.CSS(`table.docs`)))
	if page := text(t, other); strings.Contains(page, "V/v tăng cường kết nối") || !strings.Contains(page, "Không có văn bản đến nào phù hợp") {
		t.Errorf("Sở Y tế's Văn bản đến:\n%s", page)
	}
	do(t, other, "UBND's document by its address", chromedp.Navigate(a.nghean.srv.URL+"/van-ban/"+inH41), chromedp.WaitVisible(chromedp.CSS(`p.alert`)))
	if page := text(t, other); strings.Contains(page, "V/v tăng cường kết nối") || !strings.Contains(page, "Không tìm thấy văn bản này") {
		t.Errorf("Sở Y tế opening UBND's document:\n%s", page)
	}
}

// filter types party in a list's Nơi nhận or Nơi gửi filter, as a clerk
// would, and sends the form.
func filter(t *testing.T, ctx context.Context, party string) {
	t.Helper()
	eval[string](t, ctx, `document.getElementById('f-party').value = ''`)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx,
		chromedp.SendKeys(chromedp.ID("f-party"), party),
		chromedp.Submit(chromedp.ID("f-party")),
	)
	if err != nil {
		t.Fatalf("filter by %q: %v", party, err)
	}
	if res.Status != 200 {
		t.Errorf("filter by %q: %d\n%s", party, res.Status, text(t, ctx))
	}
}

// chartView is what readableCharts reads of a chart of Báo cáo.
type chartView struct {
	ID       string   `json:"id"`
	Caption  string   `json:"caption"`
	Title    string   `json:"title"`
	Legend   []string `json:"legend"`
	NoData   int      `json:"noData"`
	Problems []string `json:"problems"`
}

// readableCharts checks Báo cáo's charts as the clerk sees them: each has
// a visible title, the chart's own, and a legend naming each series;
// every text is drawn at 12 px or more (a viewBox scales the font with
// the chart); no text lies on another; what is not known is said at most
// once per month.
func readableCharts(t *testing.T, ctx context.Context) {
	t.Helper()
	charts := eval[[]chartView](t, ctx, `[...document.querySelectorAll('figure.chart')].map(f => {
		const svg = f.querySelector('svg'), cap = f.querySelector('figcaption'), title = svg.querySelector(':scope > title');
		const v = {id: svg.id, caption: '', title: title ? title.textContent.trim() : '', legend: [], noData: 0, problems: []};
		if (cap && cap.getBoundingClientRect().height > 0) v.caption = cap.innerText.trim();
		v.legend = [...svg.querySelectorAll('.legend-item')].filter(g => g.querySelector('rect') && g.getBoundingClientRect().width > 0)
			.map(g => g.querySelector('text').textContent.trim());
		const scale = svg.getScreenCTM().a;
		const texts = [...svg.querySelectorAll('text')].filter(e => e.textContent.trim() !== '');
		for (const e of texts) {
			const px = parseFloat(getComputedStyle(e).fontSize) * scale;
			if (px < 12) v.problems.push('"' + e.textContent + '" is drawn at ' + px.toFixed(1) + ' px');
		}
		const boxes = texts.map(e => e.getBoundingClientRect());
		for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
			const a = boxes[i], b = boxes[j];
			if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
				v.problems.push('"' + texts[i].textContent + '" lies on "' + texts[j].textContent + '"');
		}
		v.noData = texts.filter(e => e.textContent.includes('không có') || e.textContent.includes('Không có')).length;
		return v;
	})`)
	legends := map[string][]string{
		"chart-volume": {"Văn bản đi", "Văn bản đến"},
		"chart-signed": {"Trong nội bộ", "Với cơ quan khác"},
		"chart-time":   {"Thời gian trung vị đến trạng thái 01 (đã đến)"},
	}
	if len(charts) != len(legends) {
		t.Errorf("Báo cáo shows %d charts, want %d", len(charts), len(legends))
	}
	for _, c := range charts {
		if c.Caption == "" || c.Caption != c.Title {
			t.Errorf("chart %s: the title shown above it is %q, its own %q", c.ID, c.Caption, c.Title)
		}
		if want := legends[c.ID]; strings.Join(c.Legend, "|") != strings.Join(want, "|") {
			t.Errorf("chart %s: the legend says %q, want %q", c.ID, c.Legend, want)
		}
		if c.NoData > 3 {
			t.Errorf("chart %s says %d times that a figure is not known, for 3 months", c.ID, c.NoData)
		}
		for _, p := range c.Problems {
			t.Errorf("chart %s: %s", c.ID, p)
		}
	}
}

// wholeAgencyNames checks that Báo cáo's agency choice shows each name
// whole: the room for the text of the select (its width less its padding
// and the arrow) holds the widest option, measured in the select's font.
func wholeAgencyNames(t *testing.T, ctx context.Context) {
	t.Helper()
	cut := eval[[]string](t, ctx, `(() => {
		const s = document.getElementById('r-unit'), cs = getComputedStyle(s);
		const g = document.createElement('canvas').getContext('2d');
		g.font = cs.fontStyle + ' ' + cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
		const arrow = 16; // Chromium's drop-down arrow, inside the padding box
		const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - arrow;
		return [...s.options].filter(o => g.measureText(o.text).width > room)
			.map(o => o.text + ' (' + Math.round(g.measureText(o.text).width) + ' px in ' + Math.round(room) + ')');
	})()`)
	for _, c := range cut {
		t.Errorf("Báo cáo's agency choice cuts %s", c)
	}
}

// download clicks a link and returns the file the browser saved.
func download(t *testing.T, ctx context.Context, link string) []byte {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	yes := true
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes,
				// The tab's own browser context, not the default one.
				BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
			})
			return err
		}),
		chromedp.Click(chromedp.CSS(link)),
	)
	if err != nil {
		t.Fatalf("download %s: %v", link, err)
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download %s: %v", link, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("download %s was canceled", link)
		}
	}
	t.Fatalf("download %s: no completion", link)
	return nil
}
