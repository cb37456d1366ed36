package web_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/testkit"
)

// message is one message of a live stream: its fields (id, event, data,
// retry), comments left out.
type message map[string]string

// stream is an open live stream (/su-kien) read message by message.
type stream struct {
	t        *testing.T
	messages chan message
}

// stream opens the live stream with the client's cookies, with
// ?phien-ban=version, and with Last-Event-ID if lastID is not empty.
func (c *client) stream(version, lastID string) *stream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(c.t.Context())
	c.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/su-kien?phien-ban="+url.QueryEscape(version), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	hc := *c.hc
	hc.Timeout = 0 // the context ends it
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		c.t.Fatalf("/su-kien: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{t: c.t, messages: make(chan message, 100)}
	go func() {
		defer res.Body.Close()
		defer close(s.messages)
		sc := bufio.NewScanner(res.Body)
		m := message{}
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(m) > 0 {
					s.messages <- m
				}
				m = message{}
			case strings.HasPrefix(line, ":"):
			default:
				k, v, _ := strings.Cut(line, ":")
				m[k] = strings.TrimPrefix(v, " ")
			}
		}
	}()
	return s
}

// next returns the stream's next message, failing the test if none comes
// within 10 s.
func (s *stream) next() message {
	s.t.Helper()
	select {
	case m, ok := <-s.messages:
		if !ok {
			s.t.Fatal("the live stream ended")
		}
		return m
	case <-time.After(10 * time.Second):
		s.t.Fatal("no message on the live stream")
	}
	return nil
}

var liveVersion = regexp.MustCompile(`<meta name="live-version" content="([^"]+)">`)

// versionOf returns the version a page was rendered at.
func versionOf(t *testing.T, body string) string {
	t.Helper()
	m := liveVersion.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page names no live-version:\n%s", body)
	}
	return m[1]
}

// TestWeb_LiveStreamFromVersion: a page names the version of the changes
// it was rendered at, and its live stream starts from it: a change made
// after the page was rendered but before the stream subscribed is not
// lost (the stream starts with a change "*"); a stream from the current
// version starts quiet; each change carries its version as its id, which
// a reconnecting browser sends back as Last-Event-ID; a version of
// another run of the page, or none, counts as behind.
func TestWeb_LiveStreamFromVersion(t *testing.T) {
	a := newAxis(t, nil)
	c := newClient(t, a.vpcp)
	c.login("vanthu.vpcp")
	before := versionOf(t, c.get("/di").body)

	first := c.stream(before, "")
	if m := first.next(); m["retry"] != "3000" || m["event"] != "" {
		t.Errorf("the stream from the page's own version starts with %v, want only a retry", m)
	}
	id := a.vpcp.send(t, testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}})
	// Accepted, sent, and its 01 applied: three changes, each with the
	// version it brought as its id.
	var last string
	for range 3 {
		m := first.next()
		if m["event"] != "change" || m["data"] != id || m["id"] == "" || m["id"] == last || m["id"] == before {
			t.Fatalf("after a change the stream sent %v (id before %q)", m, last)
		}
		last = m["id"]
	}

	// The page rendered before those changes, its stream opened after.
	late := c.stream(before, "")
	if m := late.next(); m["event"] != "change" || m["data"] != "*" || m["id"] != last {
		t.Errorf("the stream from the version before three changes starts with %v, want change * with id %q", m, last)
	}
	// A page rendered now, or a browser reconnecting after the last
	// event, has missed nothing.
	now := versionOf(t, c.get("/di").body)
	if now != last {
		t.Errorf("a page rendered after the changes names version %q, want %q", now, last)
	}
	// Streams that must stay quiet until the next change.
	type quietStream struct {
		what string
		st   *stream
	}
	quiet := []quietStream{{"with nothing changed", first}}
	for _, s := range []struct{ what, version, lastID string }{
		{"a page rendered now", now, ""},
		{"a browser reconnecting after the last event", "", last},
		{"Last-Event-ID, which goes before the page's version", before, last},
	} {
		st := c.stream(s.version, s.lastID)
		if m := st.next(); m["event"] != "" {
			t.Errorf("%s: the stream starts with %v, want only a retry", s.what, m)
		}
		quiet = append(quiet, quietStream{s.what, st})
	}
	// Some other run's version, or none: the page may have missed anything.
	run, _, _ := strings.Cut(last, "-")
	other := strings.Replace(last, run, strings.Repeat("X", len(run)), 1)
	for _, v := range []string{"", other, "rác"} {
		if m := c.stream(v, "").next(); m["event"] != "change" || m["data"] != "*" {
			t.Errorf("the stream from version %q starts with %v, want change *", v, m)
		}
	}
	// The next change comes first on each stream that was to stay
	// quiet: it had nothing before, not just nothing for a while.
	marker := a.vpcp.send(t, testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea}, Number: "16"})
	for _, q := range quiet {
		if m := q.st.next(); m["event"] != "change" || m["data"] != marker {
			t.Errorf("%s: before the next change the stream sent %v, want nothing", q.what, m)
		}
	}
}
