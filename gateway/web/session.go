package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
)

// Cookie names.
const (
	sessionCookie = "lienthong_session"
	// loginCookie carries the CSRF token of the login form, before there
	// is a session to tie it to.
	loginCookie = "lienthong_login"
	// csrfField is the form field of the CSRF token.
	csrfField = "csrf"
)

// maxFormBody bounds the body of a form.
const maxFormBody = 64 << 10

// session is a signed-in clerk.
type session struct {
	id       string
	clerk    *clerk
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// sessions keeps the sessions in memory: a restart signs every clerk out,
// which is acceptable for a page used during office hours and keeps no
// secret on disk.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time

	// decoyHash is compared against when the user name is unknown, so
	// that the answer takes as long as for a known one. It is made on
	// the first such sign-in, not when the package loads: bcrypt takes
	// 65-125 ms, which every run of the lienthong binary paid, whatever
	// the command.
	decoyHash func() []byte

	mu        sync.Mutex
	byID      map[string]*session
	lastSweep time.Time
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{idle: idle, max: max, now: now, byID: map[string]*session{},
		decoyHash: sync.OnceValue(func() []byte {
			// An error leaves nil, which bcrypt refuses at once: the
			// name is unknown anyway, and DefaultCost is a valid cost.
			hash, _ := bcrypt.GenerateFromPassword([]byte("lienthong"), bcrypt.DefaultCost)
			return hash
		}),
	}
}

// randomToken returns a token of 256 random bits.
func randomToken() string { return rand.Text() + rand.Text() }

// create starts a session for c.
func (s *sessions) create(c *clerk) *session {
	now := s.now()
	ss := &session{id: randomToken(), clerk: c, csrf: randomToken(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.byID[ss.id] = ss
	return ss
}

// get returns the live session with id, marking it used if touch; nil if
// there is none or it has expired.
func (s *sessions) get(id string, touch bool) *session {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	ss, ok := s.byID[id]
	if !ok {
		return nil
	}
	if s.expired(ss, now) {
		delete(s.byID, id)
		return nil
	}
	if touch {
		ss.lastSeen = now
	}
	return ss
}

// alive reports whether the session is still live, without touching it.
func (s *sessions) alive(ss *session) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byID[ss.id]
	return ok && cur == ss && !s.expired(ss, now)
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.lastSeen) >= s.idle || now.Sub(ss.created) >= s.max
}

// end removes a session.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// sweep drops expired sessions, at most once a minute.
func (s *sessions) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for id, ss := range s.byID {
		if s.expired(ss, now) {
			delete(s.byID, id)
		}
	}
}

type sessionKey struct{}

// sessionOf returns the request's session; requireClerk put it there.
func sessionOf(r *http.Request) *session {
	ss, _ := r.Context().Value(sessionKey{}).(*session)
	return ss
}

// requireClerk lets a request through only with a live session, and an
// unsafe one only with the session's CSRF token. Without a session, a page
// sends the browser to the sign-in form (and back afterwards); a form
// (POST) is refused, whatever it asked, and nothing is done.
func (h *Handler) requireClerk(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			ss *session
			// expired: the browser holds a session the server no
			// longer has (timed out, signed out elsewhere, restart).
			expired bool
		)
		if c, err := r.Cookie(sessionCookie); err == nil {
			ss = h.sessions.get(c.Value, r.URL.Path != "/su-kien")
			expired = ss == nil
		}
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if ss == nil {
			if expired {
				h.clearCookie(w, sessionCookie, "/")
			}
			switch {
			case r.URL.Path == "/su-kien":
				http.Error(w, "phiên làm việc đã hết hạn", http.StatusUnauthorized)
			case safe:
				q := url.Values{"tiep": {r.URL.RequestURI()}}
				if expired {
					q.Set("het-han", "1")
				}
				http.Redirect(w, r, "/dang-nhap?"+q.Encode(), http.StatusSeeOther)
			default:
				msg := msgNotSignedIn
				if expired {
					msg = msgSessionExpired
				}
				// Back to the page the form was on, once signed in.
				back := strings.TrimSuffix(r.URL.Path, "/trang-thai")
				h.renderLogin(w, r, http.StatusUnauthorized, "", msg, back)
			}
			return
		}
		if !safe {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
			if !sameToken(r.PostFormValue(csrfField), ss.csrf) {
				h.log.Warn("form refused: CSRF token missing or wrong", zap.String("path", r.URL.Path),
					zap.String("clerk", ss.clerk.Username))
				h.renderError(w, r, ss, http.StatusForbidden, msgBadCSRF)
				return
			}
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, ss)
		// Before the page reads anything: see events.
		ctx = context.WithValue(ctx, versionKey{}, h.version(h.gw.LastChange()))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// sameToken compares a token from a form with the expected one in
// constant time; an empty token never matches.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie sets an HttpOnly cookie on path with the page's attributes.
func (h *Handler) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration, site http.SameSite) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: !h.opts.InsecureCookies, SameSite: site,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: !h.opts.InsecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// showLogin shows the sign-in form, with a fresh token for it.
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if ss := h.sessions.get(c.Value, false); ss != nil {
			http.Redirect(w, r, nextPage(r.URL.Query().Get("tiep")), http.StatusSeeOther)
			return
		}
	}
	msg := ""
	if r.URL.Query().Get("het-han") != "" {
		msg = msgSessionExpired
	}
	h.renderLogin(w, r, http.StatusOK, "", msg, r.URL.Query().Get("tiep"))
}

// renderLogin renders the sign-in form with a new login token.
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, username, message, next string) {
	token := randomToken()
	h.setCookie(w, loginCookie, token, "/dang-nhap", time.Hour, http.SameSiteStrictMode)
	h.render(w, r, status, "login", &view{
		Title: "Đăng nhập", CSRF: token, Message: message,
		Data: loginForm{Username: username, Next: next},
	})
}

type loginForm struct {
	Username string
	Next     string
}

// login checks the form and starts a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	next := r.PostFormValue("tiep")
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), c.Value) {
		h.log.Warn("sign-in refused: CSRF token missing or wrong")
		h.renderLogin(w, r, http.StatusForbidden, username, msgBadCSRF, next)
		return
	}
	if username == "" || password == "" {
		h.renderLogin(w, r, http.StatusUnprocessableEntity, username, msgLoginEmpty, next)
		return
	}
	client := clientOf(r, h.opts.TrustedProxies)
	if wait := h.throttle.attempt(client, username); wait > 0 {
		// Refused before bcrypt: a guesser who is waiting costs nothing.
		h.log.Warn("sign-in refused: too many failures", zap.String("clerk", username),
			zap.String("client", client), zap.Duration("wait", wait))
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.renderLogin(w, r, http.StatusTooManyRequests, username, msgLoginThrottled(wait, h.opts.Now().Add(wait)), next)
		return
	}
	k := h.clerks[username]
	var hash []byte
	if k != nil {
		hash = []byte(k.PasswordHash)
	} else {
		hash = h.sessions.decoyHash()
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || k == nil {
		// The failure is counted already (attempt).
		h.log.Info("sign-in failed", zap.String("clerk", username), zap.String("client", client))
		h.renderLogin(w, r, http.StatusUnauthorized, username, msgLoginFailed, next)
		return
	}
	h.throttle.succeeded(client, username)
	ss := h.sessions.create(k)
	h.clearCookie(w, loginCookie, "/dang-nhap")
	h.setCookie(w, sessionCookie, ss.id, "/", h.opts.MaxSessionAge, http.SameSiteLaxMode)
	h.log.Info("signed in", zap.String("clerk", username), zap.Strings("agencies", k.codes()))
	http.Redirect(w, r, nextPage(next), http.StatusSeeOther)
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	h.sessions.end(ss.id)
	h.clearCookie(w, sessionCookie, "/")
	h.log.Info("signed out", zap.String("clerk", ss.clerk.Username))
	http.Redirect(w, r, "/dang-nhap", http.StatusSeeOther)
}

// maxNextPage bounds the page to go back to: a path of this site is far
// shorter, and a long value is only good for hiding something.
const maxNextPage = 2048

// nextPage is where to go after signing in: a path of this site, or the
// outgoing documents.
//
// The value comes from the form, so from anyone: it must stay a path of
// this host whatever a browser makes of it. Browsers drop tabs and line
// breaks inside a URL and read '\' as '/', so "/\t/evil.example" or
// "/\evil.example" become "//evil.example", another host. Hence the value
// as sent must be printable ASCII other than '\' (what the page itself
// puts there is RequestURI, percent-encoded), the parsed URL must have no
// scheme, host or user, and its path, encoded or decoded, must start with
// one '/' not followed by another or by '\'.
func nextPage(next string) string {
	const fallback = "/di"
	if len(next) > maxNextPage || !oneSlash(next) {
		return fallback
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !oneSlash(u.Path) {
		return fallback
	}
	// Percent-encoding must hide nothing either ("/%5Cevil", "/%0d%0a"):
	// decode until nothing changes (a double-encoded value is decoded again
	// by whatever reads it next) and refuse at each level '\', control and
	// format characters, line and paragraph separators, and bytes that are
	// not UTF-8. Spaces and Vietnamese letters are fine once decoded: a
	// search for "công văn" is a page to go back to.
	for s := next; strings.Contains(s, "%"); {
		d, err := url.PathUnescape(s)
		if err != nil || !oneSlash(d) || strings.ContainsFunc(d, hiddenRune) {
			return fallback
		}
		if d == s {
			break
		}
		s = d
	}
	if strings.HasPrefix(u.Path, "/dang-nhap") || strings.HasPrefix(u.Path, "/su-kien") {
		return fallback
	}
	return next
}

// hiddenRune reports whether r has no business in a decoded page address.
func hiddenRune(r rune) bool {
	return r == '\\' || r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// oneSlash reports whether s starts with '/' not followed by '/' or '\':
// "//host" and "/\host" name another host.
func oneSlash(s string) bool {
	return strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, `/\`)
}
