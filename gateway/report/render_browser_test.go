package report

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/lienthong/lienthong/internal/browsertest"
)

// TestBrowser_ReportPrints opens the page of a province's report in
// Chromium, checks what it shows, prints it to PDF on A4 and takes a
// screenshot; both are kept with go test -artifacts -outputdir DIR.
func TestBrowser_ReportPrints(t *testing.T) {
	ctx := browsertest.Start(t)
	r := sampleReport(t, true)
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.ArtifactDir()
	file := filepath.Join(dir, "bao-cao-quy.html")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	nav, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(nav, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.ID("s3"))); err != nil {
		t.Fatalf("open %s: %v", file, err)
	}

	// What the page shows. textContent: the agency's name is upper-cased
	// by CSS in the heading, and written as is below it.
	text := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, want := range []string{
		"UBND TỈNH NGHỆ AN", "Cơ quan báo cáo: " + sampleName, "III. KẾT NỐI, LIÊN THÔNG VĂN BẢN ĐIỆN TỬ",
		"BÁO CÁO TÌNH HÌNH KẾT NỐI, LIÊN THÔNG VĂN BẢN ĐIỆN TỬ", "Quý III năm 2026", "PHỤ LỤC: SỐ LIỆU BỔ SUNG",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if lang := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "vi" {
		t.Errorf("lang %q", lang)
	}
	// The charts are drawn, each with its accessible name, across the
	// sheet; nothing sticks out of the window.
	charts := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('svg.chart')].map(s =>
		s.getAttribute('role') + ' ' + Math.round(s.getBoundingClientRect().width) + ' ' + s.querySelector('title').textContent)`)
	if len(charts) != 3 {
		t.Fatalf("%d charts: %q", len(charts), charts)
	}
	for _, c := range charts {
		var role string
		var width int
		if _, err := fmt.Sscan(c, &role, &width); err != nil || role != "img" || width < 400 {
			t.Errorf("chart %q", c)
		}
	}
	if over := browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`); over {
		t.Error("the page is wider than the window")
	}

	// The screenshot, for the docs.
	shot, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	pngData, err := chromedp.Run(shot, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 2000 || len(pngData) < 100_000 {
		t.Errorf("the screenshot is %dx%d, %d bytes", b.Dx(), b.Dy(), len(pngData))
	}
	if err := os.WriteFile(filepath.Join(dir, "bao-cao-quy.png"), pngData, 0o644); err != nil {
		t.Fatal(err)
	}

	// The PDF, on A4 as the page's @page asks.
	pdfCtx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	defer cancel3()
	res, err := chromedp.Call(pdfCtx, page.PrintToPDF, page.PrintToPDFParams{
		PreferCSSPageSize: new(true),
		PrintBackground:   new(true),
	})
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	pdf := res.Data
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the PDF starts with %.8q", pdf)
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page\b[^s]`).FindAll(pdf, -1))
	if pages < 1 {
		t.Errorf("the PDF has %d pages", pages)
	}
	// A4 is 595 × 842 points.
	for _, m := range regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]`).FindAllSubmatch(pdf, -1) {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		if math.Abs(w-595) > 1.5 || math.Abs(h-842) > 1.5 {
			t.Errorf("a page of the PDF is %v × %v points, not A4", w, h)
			break
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bao-cao-quy.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: PDF of %d pages (%d bytes), screenshot %dx%d (%d bytes)", dir, pages, len(pdf), img.Bounds().Dx(), img.Bounds().Dy(), len(pngData))
}
