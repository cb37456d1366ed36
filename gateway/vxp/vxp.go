package vxp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// DefaultPrefix is the path under which the real axis serves the protocol
// (endpoint http://host:8080/XrdAdapter/adapter): a DMS configured with
// that path needs only the host changed.
const DefaultPrefix = "/XrdAdapter/adapter"

// Gateway is what the face asks of the gateway: the same submission and
// status paths as API v1, and their admission (roles of package gateway,
// which *gateway.Gateway plays).
type Gateway interface {
	gateway.Submitter
	gateway.StatusPoster
	gateway.Admitter
}

// Store is what the face reads and writes in the gateway's store.
type Store interface {
	Document(ctx context.Context, id string) (*gateway.DocumentDetail, error)
	Documents(ctx context.Context, q gateway.DocumentQuery) (gateway.DocumentPage, error)
	Packet(ctx context.Context, id string) (*gateway.Packet, error)
	Inbox(ctx context.Context, q gateway.InboxQuery) ([]gateway.InboxItem, error)
	CountInbox(ctx context.Context, q gateway.InboxQuery) (int, error)
	InboxItem(ctx context.Context, system, docID string) (*gateway.InboxItem, error)
	SetInboxState(ctx context.Context, system, docID string, state gateway.InboxState, description string) error
}

// Directory is what the face reads of the directory.
type Directory interface {
	Lookup(code string) (gateway.Agency, bool)
	// Agencies returns every entry; Updated says when the directory
	// last changed (the directory answers are made again then).
	Agencies() []gateway.Agency
	Updated() time.Time
}

// Observer counts the face's requests: operation ("sendEdoc", or "" when
// unknown), the system id ("" when not authenticated) and the outcome
// ("0" for success, else the ErrorCode).
type Observer interface {
	ObserveVXP(operation, system, outcome string, seconds float64)
}

// Options configure the face.
type Options struct {
	Gateway   Gateway
	Store     Store
	Directory Directory
	Systems   []System
	// Prefix is the path before the operation's name; "" serves them at
	// the root. A trailing slash, and the double slash an endpoint ending
	// in one gives, are tolerated.
	Prefix   string
	Log      *zap.Logger
	Observer Observer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the protocol.
type Handler struct {
	gw      Gateway
	store   Store
	dir     Directory
	systems map[string]*System
	prefix  string
	log     *zap.Logger
	obs     Observer
	now     func() time.Time
	ops     map[string]operation

	mu        sync.Mutex
	oldStamps map[string]string      // system → the old timestamp last logged
	docIDs    map[string]docIDMemory // system → its docId spellings at its previous call

	dirMu    sync.Mutex
	dirCache map[string]cachedAnswer // the directory answers, by operation
}

// operation is one of the protocol's operations.
type operation struct {
	name string // as the SDK writes it
	fn   func(w http.ResponseWriter, r *http.Request, sys *System, p params) string
	// get: the SDK calls it with GET (downloadEdoc); the others with POST.
	get bool
}

// New returns the face; it refuses systems without an id or secret, twice
// the same id, or an agency the gateway does not host. hosted says which
// agencies it hosts, by the code each has now (a system configured with an
// agency's former code acts for the agency); nil takes the codes as they
// are given.
func New(opts Options, hosted func(code string) (current string, ok bool)) (*Handler, error) {
	h := &Handler{
		gw: opts.Gateway, store: opts.Store, dir: opts.Directory, log: opts.Log, obs: opts.Observer, now: opts.Now,
		systems: map[string]*System{}, oldStamps: map[string]string{}, docIDs: map[string]docIDMemory{}, dirCache: map[string]cachedAnswer{},
		prefix: "/" + strings.Trim(opts.Prefix, "/"),
	}
	if h.prefix == "/" {
		h.prefix = ""
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	if h.now == nil {
		h.now = time.Now
	}
	for i := range opts.Systems {
		s := opts.Systems[i]
		switch {
		case strings.TrimSpace(s.ID) == "":
			return nil, fmt.Errorf("vxp: system %d has no id", i+1)
		case len(s.Secret) == 0:
			return nil, fmt.Errorf("vxp: system %s has no secret", s.ID)
		case h.systems[s.ID] != nil:
			return nil, fmt.Errorf("vxp: system %s is given twice", s.ID)
		case len(s.Agencies) == 0:
			return nil, fmt.Errorf("vxp: system %s acts for no agency", s.ID)
		}
		var codes []string
		for _, a := range s.Agencies {
			c, err := envelope.ParseAgencyCode(a, envelope.CodeAny)
			if err != nil {
				return nil, fmt.Errorf("vxp: system %s: %w", s.ID, err)
			}
			code := c.String()
			if hosted != nil {
				now, ok := hosted(code)
				if !ok {
					return nil, fmt.Errorf("vxp: system %s: the agency %s is not hosted by this gateway", s.ID, c)
				}
				code = now
			}
			codes = append(codes, code)
		}
		s.Agencies = codes
		h.systems[s.ID] = &s
	}
	h.ops = map[string]operation{}
	for _, op := range []operation{
		{name: "sendEdoc", fn: h.sendEdoc},
		{name: "getReceivedEdocList", fn: h.getReceivedEdocList},
		{name: "getEdoc", fn: h.getEdoc},
		{name: "downloadEdoc", fn: h.downloadEdoc, get: true},
		{name: "updateStatus", fn: h.updateStatus},
		{name: "getSentEdocList", fn: h.getSentEdocList},
		{name: "countReceiveEdoc", fn: h.countReceive(gateway.KindEdoc)},
		{name: "countReceiveStatus", fn: h.countReceive(gateway.KindStatus)},
		{name: "getAgenciesList", fn: h.getAgenciesList},
		{name: "getAgenciesListQD20", fn: h.getAgenciesListQD20},
		{name: "getSynchronizeUnit", fn: h.getSynchronizeUnit},
		{name: "registerAgency", fn: h.registerAgency},
		{name: "deleteAgency", fn: h.deleteAgency},
	} {
		h.ops[strings.ToLower(op.name)] = op
	}
	return h, nil
}

// Prefix is the path the face serves under ("" for the root).
func (h *Handler) Prefix() string { return h.prefix }

// ServeHTTP answers one operation. Every answer but downloadEdoc's packet
// is the JSON envelope with HTTP 200, failures included.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	path := h.operationName(r.URL.Path)
	// Looked up ignoring case; named as the SDK writes it (never as sent:
	// the metrics' labels would grow with every spelling anyone tries).
	op, known := h.ops[strings.ToLower(path)]
	system, outcome := "", CodeUnknownOperation
	defer func() {
		if h.obs != nil {
			h.obs.ObserveVXP(op.name, system, outcome, h.now().Sub(start).Seconds())
		}
	}()
	if !known {
		h.log.Info("vxp: no such operation", zap.String("path", r.URL.Path))
		writeFail(w, fail(CodeUnknownOperation, "Không có thao tác %q", "no operation %q", path))
		return
	}
	sys, p, f := h.authenticate(r)
	if f != nil {
		outcome = f.Code
		if f.Code != CodeUnknownSystem { // logged by authenticate
			h.log.Info("vxp: request refused", zap.String("operation", op.name), zap.String("system", r.Header.Get("XroadVnpt-systemid")),
				zap.String("code", f.Code), zap.String("reason", f.EN), zap.String("remote", r.RemoteAddr))
		}
		if op.get {
			// downloadEdoc's client takes any non-empty body for the
			// packet: nothing at all.
			w.Header().Set("X-Vxp-ErrorCode", f.Code)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		writeFailFor(w, op.name, f)
		return
	}
	system = sys.ID
	outcome = op.fn(w, r, sys, p)
	level := zap.DebugLevel
	if outcome != CodeOK {
		level = zap.InfoLevel
	}
	h.log.Check(level, "vxp request").Write(zap.String("operation", op.name), zap.String("system", sys.ID),
		zap.String("outcome", outcome), zap.Duration("took", h.now().Sub(start)))
}

// operationName is the last segment of the path after the prefix; "" if
// the path is not under it.
func (h *Handler) operationName(path string) string {
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	rest, ok := strings.CutPrefix(path, h.prefix)
	if !ok || (h.prefix != "" && !strings.HasPrefix(rest, "/")) {
		return ""
	}
	return strings.Trim(rest, "/")
}

// writeFailFor is writeFail with the fields the operation's clients read
// even on failure: sendEdoc's DocId, getEdoc's data (SDK 2.0.0 reads it
// always).
func writeFailFor(w http.ResponseWriter, operation string, f *Failure) {
	switch strings.ToLower(operation) {
	case "sendedoc":
		writeFail(w, f, field{"DocId", ""})
	case "getedoc":
		writeFail(w, f, field{"data", ""})
	default:
		writeFail(w, f)
	}
}

// storeFailure turns a store or gateway error into a failure: not found
// is the caller's, anything else is the gateway's own (logged).
func (h *Handler) storeFailure(op string, err error, notFound *Failure) *Failure {
	if errors.Is(err, gateway.ErrNotFound) && notFound != nil {
		return notFound
	}
	h.log.Error("vxp: "+op, zap.Error(err))
	return unavailable()
}

// allows reports whether the system acts for the agency code (either
// form); canon is its canonical text.
func (s *System) allows(code string) (canon string, ok bool) {
	c, err := envelope.ParseAgencyCode(strings.TrimSpace(code), envelope.CodeAny)
	if err != nil {
		return "", false
	}
	for _, a := range s.Agencies {
		if a == c.String() {
			return a, true
		}
	}
	return c.String(), false
}
