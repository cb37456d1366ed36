package main

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/bus"
)

// TestServe_Page: with clerks configured, the node serves the clerk's
// page at the root and the API under /api/v1 on one listener, and a
// graceful shutdown is not held open by a page's live stream.
func TestServe_Page(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNode(t, t.TempDir(), srv.ClientURL())
	base := o.n.URL()

	if code, body := httpDo(t, http.MethodGet, base+"/api/v1/openapi.json", "", nil); code != http.StatusOK || !strings.Contains(body, `"openapi"`) {
		t.Fatalf("the API under the page: %d", code)
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(base + "/dang-nhap")
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	bufio.NewReader(res.Body).WriteTo(&page)
	res.Body.Close()
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.String())
	if res.StatusCode != http.StatusOK || token == nil {
		t.Fatalf("GET /dang-nhap: %d\n%s", res.StatusCode, page.String())
	}
	form := url.Values{"csrf": {token[1]}, "username": {"vanthu"}, "password": {opsClerkPassword}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/dang-nhap", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "lienthong_session" {
			session = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in: %d, cookie %v", res.StatusCode, session)
	}

	// A live stream stays open until the server shuts down.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/su-kien", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	stream, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK || !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /su-kien: %d %s", stream.StatusCode, stream.Header.Get("Content-Type"))
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		bufio.NewReader(stream.Body).WriteTo(new(strings.Builder))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.n.http.Shutdown(ctx); err != nil {
		t.Errorf("graceful shutdown with a live stream open: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the live stream did not end at shutdown")
	}
}
