package web_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/gateway/web"
	"github.com/lienthong/lienthong/internal/testkit"
)

// Sign-in behind a reverse proxy: the page is told which proxies it may
// believe, and counts failures against the address they forward.

// signInChecks are the answers to a sign-in that the throttle tests tell
// apart: refused unchecked (429), a wrong password (401), signed in (303).
type signInChecks struct{ t *testing.T }

func (c signInChecks) waits(what string, p page) {
	c.t.Helper()
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		c.t.Fatalf("%s: %d, Retry-After %q; want 429 with Retry-After", what, p.status, p.header.Get("Retry-After"))
	}
}

func (c signInChecks) fails(what string, p page) {
	c.t.Helper()
	if p.status != http.StatusUnauthorized {
		c.t.Fatalf("%s: %d (Retry-After %q), want 401", what, p.status, p.header.Get("Retry-After"))
	}
}

func (c signInChecks) signsIn(what string, p page) {
	c.t.Helper()
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/di" {
		c.t.Fatalf("%s: %d to %q (Retry-After %q), want 303 to /di", what, p.status, p.header.Get("Location"), p.header.Get("Retry-After"))
	}
}

// behindProxy is a page that trusts the proxies given, with a clock.
func behindProxy(t *testing.T, proxies ...string) (*site, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 9, 7, 2, 0, 0, 0, time.UTC)}
	s := newPage(t, func(o *web.Options) {
		o.Now = clk.Now
		for _, p := range proxies {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p))
		}
	})
	return s, clk
}

// forwarded sets the X-Forwarded-For that c sends, one line per value.
func (c *client) forwarded(xff ...string) *client {
	c.header = http.Header{"X-Forwarded-For": xff}
	return c
}

// TestWeb_TrustedProxy: behind a trusted proxy (the page's connections
// all come from 127.0.0.1) clients with different X-Forwarded-For are
// throttled each on its own: a stranger who keeps failing, on the clerk's
// name and on many others, waits, and the clerk signs in; another
// client's typos count against it alone.
func TestWeb_TrustedProxy(t *testing.T) {
	s, _ := behindProxy(t, "127.0.0.1/32")
	is := signInChecks{t}
	const user = "vanthu.vpcp"

	stranger := newClient(t, s).forwarded("203.0.113.7")
	for i := range 3 {
		is.fails(fmt.Sprintf("the stranger's guess %d", i+1), stranger.signIn(user, "sai"))
	}
	is.waits("the stranger's fourth guess", stranger.signIn(user, "sai"))
	for i := range 7 {
		is.fails("the stranger on another name", stranger.signIn(fmt.Sprintf("vanthu.%d", i), "sai"))
	}
	is.waits("the stranger after ten failures", stranger.signIn("vanthu.moi", "sai"))

	is.signsIn("the clerk through the same proxy", newClient(t, s).forwarded("198.51.100.20").signIn(user, password))

	typo := newClient(t, s).forwarded("198.51.100.21")
	for i := range 3 {
		is.fails(fmt.Sprintf("a colleague's typo %d", i+1), typo.signIn(user, "sai"))
	}
	is.waits("the colleague after three typos", typo.signIn(user, password))
	is.waits("the stranger all the same", stranger.signIn(user, "sai"))
	is.signsIn("the clerk again", newClient(t, s).forwarded("198.51.100.20").signIn(user, password))
}

// TestWeb_UntrustedForwardedFor: X-Forwarded-For from a connection that
// is not a trusted proxy is ignored: a client cannot escape its own
// delays by sending another address each time, nor make the address it
// names wait.
func TestWeb_UntrustedForwardedFor(t *testing.T) {
	s, _ := behindProxy(t, "127.0.0.1/32")
	is := signInChecks{t}
	const user = "vanthu.vpcp"

	forger := newClientFrom(t, s, "127.0.0.2").forwarded("198.51.100.1")
	for i := range 3 {
		is.fails(fmt.Sprintf("the forger's guess %d", i+1), forger.signIn(user, "sai"))
	}
	is.waits("the forger's fourth guess", forger.signIn(user, "sai"))
	for i := range 5 {
		is.waits("the forger with another X-Forwarded-For", forger.forwarded("198.51.100."+strconv.Itoa(2+i)).signIn(user, password))
	}
	is.waits("the forger with a chain", forger.forwarded("198.51.100.9, 127.0.0.1").signIn(user, password))
	is.waits("the forger without X-Forwarded-For", forger.forwarded().signIn(user, password))
	is.signsIn("the address the forger named, through the proxy", newClient(t, s).forwarded("198.51.100.1").signIn(user, password))
}

// TestWeb_ForwardedChain: in "spoofed, real, proxy" the client is the
// real one, the rightmost that is not a trusted proxy: what the client
// put on the left does not matter, and its address does, whichever
// proxies it came through.
func TestWeb_ForwardedChain(t *testing.T) {
	s, _ := behindProxy(t, "127.0.0.1/32", "10.0.0.0/8")
	is := signInChecks{t}
	const user = "vanthu.vpcp"

	guesser := newClient(t, s).forwarded("203.0.113.9, 198.51.100.7, 10.1.2.3")
	for i := range 3 {
		is.fails(fmt.Sprintf("guess %d", i+1), guesser.signIn(user, "sai"))
	}
	is.waits("the fourth guess", guesser.signIn(user, password))
	is.waits("another spoofed address", guesser.forwarded("203.0.113.10, 198.51.100.7, 10.1.2.3").signIn(user, password))
	is.waits("the spoofed address on its own line", guesser.forwarded("203.0.113.11", "198.51.100.7, 10.1.2.3").signIn(user, password))
	is.waits("the real address through the outer proxy only", guesser.forwarded("198.51.100.7").signIn(user, password))
	is.signsIn("another real address behind the same spoofed one", newClient(t, s).forwarded("203.0.113.9, 198.51.100.8, 10.1.2.3").signIn(user, password))
	is.signsIn("the guesser's address further left, behind another client", newClient(t, s).forwarded("203.0.113.9, 198.51.100.7, 10.1.2.3, 10.9.9.9, 198.51.100.9, 10.1.2.3").signIn(user, password))
}

// TestNew_RefusesProxy: a trusted proxy that is not a valid prefix stops
// New.
func TestNew_RefusesProxy(t *testing.T) {
	gw := testkit.NewAxis(t).Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	_, err := web.New(gw, rollup.New(gw), web.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), {}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "trusted proxy 1") {
		t.Errorf("New with an invalid trusted proxy: %v", err)
	}
}
