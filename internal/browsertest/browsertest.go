// Package browsertest starts a headless Chromium for tests (the clerk's
// page, the printed report), driven with chromedp.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium (or Chrome) on this machine.
// Without one the test is skipped, unless LIENTHONG_REQUIRE_CHROMIUM is
// set (CI sets it, after installing Debian's chromium), so that a browser
// test cannot pass by being skipped.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LIENTHONG_REQUIRE_CHROMIUM") != "" {
		t.Fatal("LIENTHONG_REQUIRE_CHROMIUM is set but no chromium is installed")
	}
	t.Skip("no chromium installed (apt-get install chromium); set LIENTHONG_REQUIRE_CHROMIUM to make this an error")
	return ""
}

// Start starts a headless Chromium (1280×900, Vietnamese) for the test
// and returns its context; it ends with the test.
func Start(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "vi-VN"),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel)
	// Start the browser on a context without a deadline: a deadline on
	// the first run would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Eval evaluates a JavaScript expression in the tab of ctx, within 30 s.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
