package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Clerk is a văn thư who may sign in, and the hosted agencies whose
// documents they see and act on.
type Clerk struct {
	// Username is what they type to sign in.
	Username string
	// Name is how the page greets them (and the staff name of the
	// statuses they send).
	Name string
	// PasswordHash is the bcrypt hash of their password ("lienthong
	// hash-password" makes one).
	PasswordHash string
	// Agencies are codes of hosted agencies, in either form.
	Agencies []string
}

// Options configures the page.
type Options struct {
	Clerks []Clerk
	// IdleTimeout ends a session not used for that long; 0 means 30
	// minutes.
	IdleTimeout time.Duration
	// MaxSessionAge ends every session that long after sign-in; 0 means
	// 12 hours.
	MaxSessionAge time.Duration
	// InsecureCookies leaves the Secure attribute off the cookies, for a
	// page served over plain HTTP to another machine (browsers keep
	// Secure cookies over plain HTTP only from localhost). Use HTTPS
	// instead where you can.
	InsecureCookies bool
	// TrustedProxies are the reverse proxies in front of the page (an
	// address is a prefix of its full length). A request whose connection
	// comes from one of them is counted, for sign-in throttling, against
	// the rightmost address of its X-Forwarded-For that is not one of
	// them; X-Forwarded-For from any other connection is ignored. List
	// only the proxies: a client inside a listed prefix could choose the
	// address its failures count against.
	TrustedProxies []netip.Prefix
	// DirectoryPageSize is how many agencies a page of Danh bạ shows; 0
	// means DefaultDirectoryPageSize.
	DirectoryPageSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultMaxSessionAge = 12 * time.Hour
)

// Gateway is what the clerks' page needs of the gateway: the roles it
// plays for them (gateway/faces.go), no more. *gateway.Gateway is one.
// A clerk posts statuses (StatusPoster) but sends no packet: the page
// holds no Submitter.
type Gateway interface {
	gateway.DocumentReader
	gateway.StatusPoster
	gateway.ChangeFeed
	gateway.Hosting
	gateway.AgencyDirectory
	gateway.HeartbeatReader
}

var _ Gateway = (*gateway.Gateway)(nil)

// Handler is the clerk's page. It is an http.Handler for every path but
// /api/ (mount it at "/"); Close ends the live streams, for a graceful
// shutdown.
type Handler struct {
	gw       Gateway
	reports  gateway.Reports
	log      *zap.Logger
	opts     Options
	clerks   map[string]*clerk
	sessions *sessions
	throttle *throttle
	views    *views
	assets   *assets
	mux      *http.ServeMux
	next     http.Handler
	beats    *beatCache
	// run tells this handler's versions (see events) from those of
	// another run or another gateway behind the same address.
	run string

	mu      sync.Mutex
	closing chan struct{}
	closed  bool
}

// clerk is a Clerk as the page uses it: agencies in canonical form with
// their names.
type clerk struct {
	Clerk
	agencies []hostedAgency
}

type hostedAgency struct {
	Code string // as Document.Agency holds it
	Name string
}

// allows reports whether the clerk may see documents of agency.
func (c *clerk) allows(agency string) bool {
	for _, a := range c.agencies {
		if sameAgency(a.Code, agency) {
			return true
		}
	}
	return false
}

// Units returns the clerk's agencies with their names, for the page.
func (c *clerk) Units() []hostedAgency { return c.agencies }

// codes returns the clerk's agency codes.
func (c *clerk) codes() []string {
	out := make([]string, len(c.agencies))
	for i, a := range c.agencies {
		out[i] = a.Code
	}
	return out
}

// sameAgency compares two agency codes in either form.
func sameAgency(a, b string) bool {
	if a == b {
		return true
	}
	ca, err1 := envelope.ParseAgencyCode(a, envelope.CodeAny)
	cb, err2 := envelope.ParseAgencyCode(b, envelope.CodeAny)
	return err1 == nil && err2 == nil && ca.Equal(cb)
}

// New returns the clerk's page of gw, its quarterly reports made by
// reports (gateway/rollup's, in the binary). It refuses clerks it cannot use: no
// user name or one used twice, a password hash that is not bcrypt, an
// agency the gateway does not host.
func New(gw Gateway, reports gateway.Reports, opts Options, log *zap.Logger) (*Handler, error) {
	if gateway.NoRole(gw) || reports == nil {
		return nil, errors.New("web: a gateway and its reports are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxSessionAge <= 0 {
		opts.MaxSessionAge = DefaultMaxSessionAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DirectoryPageSize <= 0 {
		opts.DirectoryPageSize = DefaultDirectoryPageSize
	}
	h := &Handler{
		gw: gw, reports: reports, log: log, opts: opts, clerks: map[string]*clerk{},
		closing: make(chan struct{}),
		beats:   &beatCache{gw: gw, log: log, ttl: 5 * time.Second},
		run:     rand.Text()[:10],
	}
	var errs []error
	proxies := make([]netip.Prefix, 0, len(opts.TrustedProxies))
	for i, p := range opts.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("web: trusted proxy %d: not a valid address or prefix", i))
			continue
		}
		proxies = append(proxies, normalProxy(p))
	}
	h.opts.TrustedProxies = proxies
	for i, c := range opts.Clerks {
		name := strings.TrimSpace(c.Username)
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("web: clerk %d: no username", i))
			continue
		case h.clerks[name] != nil:
			errs = append(errs, fmt.Errorf("web: clerk %q: username used twice", name))
			continue
		}
		if _, err := bcrypt.Cost([]byte(c.PasswordHash)); err != nil {
			errs = append(errs, fmt.Errorf("web: clerk %q: passwordHash is not a bcrypt hash: %w", name, err))
		}
		if len(c.Agencies) == 0 {
			errs = append(errs, fmt.Errorf("web: clerk %q: no agencies", name))
		}
		k := &clerk{Clerk: c}
		k.Username = name
		if strings.TrimSpace(k.Name) == "" {
			k.Name = name
		}
		for _, code := range c.Agencies {
			a, ok := gw.Hosted(code)
			if !ok {
				errs = append(errs, fmt.Errorf("web: clerk %q: agency %q is not hosted by this gateway", name, code))
				continue
			}
			k.agencies = append(k.agencies, hostedAgency{Code: a.Code.String(), Name: a.Name})
		}
		h.clerks[name] = k
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	if h.views, err = loadViews(h.funcs()); err != nil {
		return nil, err
	}
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	h.sessions = newSessions(opts.IdleTimeout, opts.MaxSessionAge, opts.Now)
	h.throttle = newThrottle(opts.Now, maxTracked)
	h.mux = http.NewServeMux()
	for _, rt := range h.routeTable() {
		fn := http.Handler(http.HandlerFunc(rt.fn))
		if !rt.public {
			fn = h.requireClerk(fn)
		}
		h.mux.Handle(rt.pattern, fn)
	}
	h.next = h.secureHeaders(http.NewCrossOriginProtection().Handler(h.mux))
	return h, nil
}

// route is one page or action.
type route struct {
	pattern string
	// public routes need no session.
	public bool
	fn     func(w http.ResponseWriter, r *http.Request)
}

// routeTable lists every route of the page, in one place.
func (h *Handler) routeTable() []route {
	return []route{
		{pattern: "GET /{$}", fn: h.home},
		{pattern: "GET /dang-nhap", public: true, fn: h.showLogin},
		{pattern: "POST /dang-nhap", public: true, fn: h.login},
		{pattern: "POST /dang-xuat", fn: h.logout},
		{pattern: "GET /di", fn: h.outgoing},
		{pattern: "GET /den", fn: h.incoming},
		{pattern: "GET /van-ban/{id}", fn: h.showDocument},
		{pattern: "POST /van-ban/{id}/trang-thai", fn: h.postStatus},
		{pattern: "GET /van-ban/{id}/dinh-kem/{n}", fn: h.attachment},
		{pattern: "GET /danh-ba", fn: h.directory},
		{pattern: "GET /bao-cao", fn: h.showReport},
		{pattern: "GET /bao-cao/tai-ve", fn: h.downloadReport},
		{pattern: "GET /su-kien", fn: h.events},
		{pattern: "GET /static/{file}", public: true, fn: h.asset},
		// Any other address: a page of the page's own, in Vietnamese,
		// rather than Go's "404 page not found". Public, and it sets no
		// cookie: a browser asks for /favicon.ico while the clerk fills
		// in the sign-in form, whose token a redirect to a new sign-in
		// page would replace.
		{pattern: "GET /", public: true, fn: h.notFound},
	}
}

// notFound answers an address the page does not have, with the clerk's
// menu when the request carries a live session.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	var ss *session
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss = h.sessions.get(c.Value, false)
	}
	h.renderError(w, r, ss, http.StatusNotFound, msgPageNotFound)
}

// ServeHTTP serves the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// Handler returns the handler and the route pattern r goes to, as
// http.ServeMux.Handler does: metrics count requests by it.
func (h *Handler) Handler(r *http.Request) (http.Handler, string) { return h.mux.Handler(r) }

// Close ends the live streams (/su-kien), so that a graceful shutdown of
// the HTTP server does not wait for them; the page itself keeps working.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.closing)
	}
}

// secureHeaders sets the headers every answer carries: no framing, no
// sniffing, a content security policy that allows only the page's own
// scripts and styles.
func (h *Handler) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// home sends the clerk to their outgoing documents.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/di", http.StatusSeeOther)
}
