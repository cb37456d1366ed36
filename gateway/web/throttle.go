package web

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Sign-in throttling.
//
// Wrong passwords are counted three ways: per client address and user
// name, per client address, and per user name. A client over its free
// failures must wait a delay that doubles with each further failure
// (capped) before its next attempt is even checked: the answer is 429
// with Retry-After, and no bcrypt runs, so a guesser gets a handful of
// tries and then one every quarter of an hour.
//
// Nothing locks a user name for everyone: anyone may type any name, and a
// lock they can trigger is a way to keep a clerk out. Failures on a user
// name from many clients only slow down clients that have failed recently
// themselves (a guesser spread over many addresses gets one try per
// address, then waits); a client with no recent failure is always
// checked, so the clerk with the right password gets in.
//
// The client is the connection's address (RemoteAddr; an IPv6 address by
// its /64, which one machine may hold whole). Behind a reverse proxy that
// is the proxy's address for every clerk, and the per-client delays would
// be shared by everyone who signs in through it: a stranger's failures
// would make every clerk wait. So a connection from one of
// Options.TrustedProxies is counted against the address its
// X-Forwarded-For gives instead: the rightmost one that is not itself a
// trusted proxy, the last hop that no one we trust vouches for; what lies
// left of it is what the client chose to send. X-Forwarded-For from any
// other connection is never believed: a client would pick a new address
// for every guess.
const (
	// pairFreeFailures is how many wrong passwords a client may send for
	// one user name before waiting: typos.
	pairFreeFailures = 3
	// clientFreeFailures is how many wrong passwords a client may send
	// across user names before waiting: an office's NAT may carry
	// several clerks.
	clientFreeFailures = 10
	// userFreeFailures is how many wrong passwords for a user name, from
	// any clients, before clients that failed recently wait: more than a
	// clerk's own typos, which the per-pair limit slows down first.
	userFreeFailures = 10

	// The first delays, doubled with each further failure up to the caps.
	clientDelay  = 2 * time.Second
	maxDelay     = 15 * time.Minute
	userDelay    = time.Second
	maxUserDelay = time.Minute

	// forgetFailures is how long failures are remembered after the last
	// one; it is longer than the caps, so that a guesser who waits them
	// out still waits the cap.
	forgetFailures = time.Hour
	// maxTracked bounds each table: past it, the entry whose last failure
	// is oldest goes. A guesser who floods the tables with new names or
	// addresses costs the server a bcrypt per entry and, at worst, makes
	// it forget the oldest failures, never its memory.
	maxTracked = 10000
	// maxKeyName bounds the part of a user name a table keeps: the form
	// may carry 64 KB of it.
	maxKeyName = 128
)

// throttle counts sign-in failures.
type throttle struct {
	now func() time.Time

	mu                    sync.Mutex
	pairs, clients, users *failureTable
}

func newThrottle(now func() time.Time, max int) *throttle {
	return &throttle{now: now, pairs: newFailureTable(max), clients: newFailureTable(max), users: newFailureTable(max)}
}

// attempt returns how long client must still wait before a sign-in as
// username is checked. When it returns 0 it has already counted the
// attempt as a failure, so that attempts sent in parallel count too;
// succeeded takes it back.
func (t *throttle) attempt(client, username string) time.Duration {
	now := t.now()
	pair, username := pairKey(client, username), nameKey(username)
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	if f := t.pairs.get(pair, now); f != nil {
		wait = max(wait, f.until(now, pairFreeFailures, clientDelay, maxDelay))
	}
	if f := t.clients.get(client, now); f != nil {
		wait = max(wait, f.until(now, clientFreeFailures, clientDelay, maxDelay))
		// Only a client with failures of its own waits for the user
		// name's: the clerk's own browser is always checked.
		if u := t.users.get(username, now); u != nil {
			wait = max(wait, u.until(now, userFreeFailures, userDelay, maxUserDelay))
		}
	}
	if wait > 0 {
		return wait
	}
	t.pairs.add(pair, now)
	t.clients.add(client, now)
	t.users.add(username, now)
	return 0
}

// succeeded forgets the client's failures for username, and takes back
// the attempt counted for the client and the user name. The client's
// other failures stay: a clerk who signs in as themselves must not wipe
// the guesses they made at a colleague's password.
func (t *throttle) succeeded(client, username string) {
	pair, username := pairKey(client, username), nameKey(username)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pairs.remove(pair)
	t.clients.undo(client)
	t.users.undo(username)
}

// sizes returns the number of entries of each table, for tests.
func (t *throttle) sizes() (pairs, clients, users int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pairs.byKey), len(t.clients.byKey), len(t.users.byKey)
}

func nameKey(username string) string {
	if len(username) > maxKeyName {
		return username[:maxKeyName]
	}
	return username
}

func pairKey(client, username string) string { return client + "\x00" + nameKey(username) }

// clientOf returns the address that a request's failures count against:
// the connection's, or when it comes from a trusted proxy the rightmost
// address of X-Forwarded-For that is not a trusted proxy (the connection's
// still if there is none, or if the header has something else than an
// address before it); an IPv6 one by its /64.
func clientOf(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if isTrustedProxy(a, trusted) {
		if f, ok := forwardedFor(r.Header.Values("X-Forwarded-For"), trusted); ok {
			a = f
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// forwardedFor walks the X-Forwarded-For header (its lines in order, each
// a comma-separated list of addresses, the closest hop last) from the
// right and returns the first address that is not a trusted proxy. It
// returns false if every address is trusted, or if it meets something
// that is not an address first: then no one we trust said who the client
// is.
func forwardedFor(lines []string, trusted []netip.Prefix) (netip.Addr, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for {
			hop := rest
			j := strings.LastIndexByte(rest, ',')
			if j >= 0 {
				hop, rest = rest[j+1:], rest[:j]
			}
			a, ok := parseHop(hop)
			if !ok {
				return netip.Addr{}, false
			}
			if !isTrustedProxy(a, trusted) {
				return a, true
			}
			if j < 0 {
				break
			}
		}
	}
	return netip.Addr{}, false
}

// parseHop reads one address of X-Forwarded-For: an IP address, or one
// with a port as some proxies write it.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// isTrustedProxy reports whether a (unmapped, without a zone) is within
// one of trusted.
func isTrustedProxy(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// normalProxy returns p masked, an IPv4-mapped IPv6 prefix as the IPv4
// one, as the addresses it is compared with are.
func normalProxy(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
}

// failures is the count of recent failures of one key.
type failures struct {
	key  string
	n    int
	last time.Time
}

// until returns how long is left to wait after f: nothing up to free
// failures, then first doubled for each further one, up to most.
func (f *failures) until(now time.Time, free int, first, most time.Duration) time.Duration {
	if f.n < free {
		return 0
	}
	d := most
	if k := f.n - free; k < 32 && first<<k < most {
		d = first << k
	}
	return f.last.Add(d).Sub(now)
}

// failureTable keeps failures by key, most recent first, at most max of
// them.
type failureTable struct {
	max   int
	byKey map[string]*list.Element
	order *list.List // of *failures, the most recent failure first
}

func newFailureTable(max int) *failureTable {
	return &failureTable{max: max, byKey: map[string]*list.Element{}, order: list.New()}
}

// get returns the key's failures, nil if none are recent.
func (t *failureTable) get(key string, now time.Time) *failures {
	t.forget(now)
	if e := t.byKey[key]; e != nil {
		return e.Value.(*failures)
	}
	return nil
}

// add counts a failure of key at now.
func (t *failureTable) add(key string, now time.Time) {
	t.forget(now)
	e := t.byKey[key]
	if e == nil {
		for len(t.byKey) >= t.max {
			t.drop(t.order.Back())
		}
		e = t.order.PushFront(&failures{key: key})
		t.byKey[key] = e
	}
	f := e.Value.(*failures)
	f.n++
	f.last = now
	t.order.MoveToFront(e)
}

// undo takes back one failure of key.
func (t *failureTable) undo(key string) {
	if e := t.byKey[key]; e != nil {
		if f := e.Value.(*failures); f.n > 1 {
			f.n--
			return
		}
		t.drop(e)
	}
}

func (t *failureTable) remove(key string) {
	if e := t.byKey[key]; e != nil {
		t.drop(e)
	}
}

// forget drops the failures older than forgetFailures: they are at the
// back.
func (t *failureTable) forget(now time.Time) {
	for e := t.order.Back(); e != nil && now.Sub(e.Value.(*failures).last) >= forgetFailures; e = t.order.Back() {
		t.drop(e)
	}
}

func (t *failureTable) drop(e *list.Element) {
	delete(t.byKey, e.Value.(*failures).key)
	t.order.Remove(e)
}
