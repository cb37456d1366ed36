package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/gateway/web"
	"github.com/lienthong/lienthong/internal/testkit"
)

// The agencies of the tests.
const (
	vpcp  = "000.00.00.G22"
	nghea = "000.00.00.H41"
	soyte = "000.00.12.H41"
	hcm   = "000.00.00.H29"
)

// The clerks' password.
const password = "mật khẩu văn thư 2026"

// site is a gateway with its page on a real HTTP server on loopback.
type site struct {
	gw  *gateway.Gateway
	h   *web.Handler
	srv *httptest.Server
	// held, when set, holds back every live stream (/su-kien) that is
	// asked for until it is closed: see holdStreams.
	held atomic.Pointer[chan struct{}]
}

// holdStreams makes the live streams asked for from now on wait, before
// the page sees them, until release is called: what happens meanwhile
// happens between a page's rendering and its stream's subscription.
func (s *site) holdStreams(t *testing.T) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	s.held.Store(&ch)
	var once sync.Once
	release = func() { once.Do(func() { s.held.Store(nil); close(ch) }) }
	t.Cleanup(release)
	return release
}

// axis is the gateways of a test: VPCP (G22) sends; Nghệ An hosts the
// province and its health department (one clerk each); TP.HCM receives
// too.
type axis struct {
	ax                *testkit.Axis
	vpcp, nghean, hcm *site
}

func newAxis(t *testing.T, opts func(*web.Options)) *axis {
	t.Helper()
	ax := testkit.NewAxis(t)
	a := &axis{ax: ax}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	clerk := func(user, name string, agencies ...string) web.Clerk {
		return web.Clerk{Username: user, Name: name, PasswordHash: string(hash), Agencies: agencies}
	}
	a.vpcp = newSite(t, ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"}), opts,
		clerk("vanthu.vpcp", "Nguyễn Thị Lan", vpcp))
	a.nghean = newSite(t, ax.Gateway("nghean", nil, [2]string{nghea, "UBND tỉnh Nghệ An"}, [2]string{soyte, "Sở Y tế tỉnh Nghệ An"}), opts,
		clerk("vanthu.nghean", "Trần Văn Hùng", nghea), clerk("vanthu.soyte", "Lê Thị Mai", soyte))
	a.hcm = newSite(t, ax.Gateway("hcm", nil, [2]string{hcm, "UBND Thành phố Hồ Chí Minh"}), opts,
		clerk("vanthu.hcm", "Phạm Minh Khoa", hcm))
	for _, s := range []*site{a.vpcp, a.nghean, a.hcm} {
		testkit.Eventually(t, "the directory", func() bool {
			for _, c := range []string{vpcp, nghea, soyte, hcm} {
				if _, ok := s.gw.Directory().Lookup(c); !ok {
					return false
				}
			}
			return true
		})
	}
	return a
}

// newPage is one gateway (VPCP) with its page and one clerk, vanthu.vpcp:
// enough for the tests of signing in.
func newPage(t *testing.T, opts func(*web.Options)) *site {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	gw := testkit.NewAxis(t).Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	return newSite(t, gw, opts, web.Clerk{Username: "vanthu.vpcp", Name: "Nguyễn Thị Lan", PasswordHash: string(hash), Agencies: []string{vpcp}})
}

func newSite(t *testing.T, gw *gateway.Gateway, opts func(*web.Options), clerks ...web.Clerk) *site {
	t.Helper()
	o := web.Options{Clerks: clerks}
	if opts != nil {
		opts(&o)
	}
	h, err := web.New(gw, rollup.New(gw), o, zaptest.NewLogger(t).Named("web"))
	if err != nil {
		t.Fatal(err)
	}
	s := &site{gw: gw, h: h}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ch := s.held.Load(); ch != nil && r.URL.Path == "/su-kien" {
			select {
			case <-*ch:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	// Cleanups run last first: the live streams end, then the server
	// closes (it waits for requests in flight).
	t.Cleanup(s.srv.Close)
	t.Cleanup(h.Close)
	return s
}

// send submits a letter at the site's gateway and returns the local id of
// the outgoing document.
func (s *site) send(t *testing.T, l testkit.Letter) string {
	t.Helper()
	d, _, err := s.gw.Submit(t.Context(), gateway.Submission{Packet: l.Packet(t)})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// incoming waits for the document with the edXML DocumentId of the sent
// one to arrive for agency, and returns its local id.
func (s *site) incoming(t *testing.T, from *site, sentID, agency string) string {
	t.Helper()
	sent, err := from.gw.Store().Document(t.Context(), sentID)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	testkit.Eventually(t, "the document at "+agency, func() bool {
		page, err := s.gw.Store().Documents(t.Context(), gateway.DocumentQuery{
			Agencies: []string{agency}, Direction: gateway.Incoming, DocumentID: sent.DocumentID,
		})
		if err != nil || len(page.Documents) == 0 {
			return false
		}
		id = page.Documents[0].ID
		return true
	})
	return id
}

// state returns the state of a document's delivery to recipient.
func (s *site) state(t *testing.T, id, recipient string) envelope.State {
	t.Helper()
	d, err := s.gw.Store().Document(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range d.Deliveries {
		if dl.Recipient == recipient {
			return dl.State
		}
	}
	t.Fatalf("document %s has no delivery to %s", id, recipient)
	return 0
}

// client is a browser without JavaScript: it keeps cookies (Secure ones
// too, over the loopback's plain HTTP, as browsers do for localhost) and
// does not follow redirects.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	jar  *jar
	// header is sent with every request (X-Forwarded-For, as a proxy
	// would add it).
	header http.Header
}

func newClient(t *testing.T, s *site) *client {
	j := &jar{cookies: map[string]*http.Cookie{}}
	return &client{t: t, base: s.srv.URL, jar: j, hc: &http.Client{
		Jar: j, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// newClientFrom is newClient connecting from another loopback address
// (127.0.0.2, …): the page sees another client.
func newClientFrom(t *testing.T, s *site, ip string) *client {
	c := newClient(t, s)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	c.hc.Transport = tr
	return c
}

// jar keeps the last value of each cookie by name, one site only.
type jar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = c
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// page is an answer: status, headers and body.
type page struct {
	status int
	header http.Header
	body   string
}

func (c *client) get(path string) page {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil)
}

func (c *client) post(path string, form url.Values) page {
	c.t.Helper()
	return c.do(http.MethodPost, path, form)
}

func (c *client) do(method, path string, form url.Values) page {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 20*time.Second)
	defer cancel()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	if _, err := copyBody(&b, res); err != nil {
		c.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: b.String()}
}

// csrf reads the CSRF token of the first form of a page.
func csrf(t *testing.T, body string) string {
	t.Helper()
	const mark = `name="csrf" value="`
	i := strings.Index(body, mark)
	if i < 0 {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	rest := body[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}

// login signs in and returns the session's CSRF token.
func (c *client) login(user string) string {
	c.t.Helper()
	p := c.get("/dang-nhap")
	if p.status != http.StatusOK {
		c.t.Fatalf("GET /dang-nhap: %d", p.status)
	}
	p = c.post("/dang-nhap", url.Values{"csrf": {csrf(c.t, p.body)}, "username": {user}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/di" {
		c.t.Fatalf("sign-in of %s: %d to %q\n%s", user, p.status, p.header.Get("Location"), p.body)
	}
	p = c.get("/di")
	if p.status != http.StatusOK {
		c.t.Fatalf("GET /di after sign-in: %d", p.status)
	}
	return csrf(c.t, p.body)
}

func copyBody(b *strings.Builder, res *http.Response) (int64, error) {
	return io.Copy(b, res.Body)
}
