package api

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// Prefix is the path under which every route of the API v1 lives.
const Prefix = "/api/v1"

// maxJSONBody bounds the small JSON bodies (statuses).
const maxJSONBody = 1 << 20

// Gateway is what the API needs of the gateway: the roles it plays for
// the DMSs (gateway/faces.go), no more. *gateway.Gateway is one; a test
// may hand a fake of the roles it exercises.
type Gateway interface {
	gateway.DocumentReader
	gateway.Submitter
	gateway.StatusPoster
	gateway.Admitter
	gateway.ChangeFeed
	gateway.Hosting
	gateway.AgencyDirectory
}

var _ Gateway = (*gateway.Gateway)(nil)

// handler holds what every route needs.
type handler struct {
	gw      Gateway
	reports gateway.Reports
	log     *zap.Logger
	keys    []key
	now     func() time.Time
	maxBody int64
	// closing ends the lists that wait for documents (see Close).
	closing   chan struct{}
	closeOnce sync.Once
}

// route is one entry of the API: a method, a path pattern and its handler.
type route struct {
	method string
	path   string
	// public routes need no key.
	public bool
	fn     func(w http.ResponseWriter, r *http.Request)
}

// NewHandler returns the HTTP API v1 of a gateway gw, its quarterly
// reports made by reports (gateway/rollup's, in the binary): every route
// under /api/v1 (full paths: mount it at "/api/" without StripPrefix),
// authenticated with keys (see [Key]), logging each request to log. Other
// paths are 404 with the API's error body. Keys that cannot be used (an
// empty secret, a malformed "sha256:" one) are left out and logged; agency
// codes of a key that cannot be read are dropped and logged.
//
// The handler also has the method Handler(*http.Request) (http.Handler,
// string) of its mux, which tells the route pattern a request goes to
// ("GET /api/v1/documents/{id}"; "" for none): metrics count requests by
// it; and Close(), which ends at once the lists waiting for documents
// (GET /documents?wait=N) with what they have, so that a graceful shutdown
// (http.Server.RegisterOnShutdown) is not held up by them.
//
// It refuses no gateway (nil, or a nil *gateway.Gateway) and no reports,
// rather than panic on the first request that needs them.
func NewHandler(gw Gateway, reports gateway.Reports, keys []Key, log *zap.Logger) (http.Handler, error) {
	if gateway.NoRole(gw) || reports == nil {
		return nil, errors.New("api: a gateway and its reports are required")
	}
	return newHandler(gw, reports, keys, log).routes(), nil
}

// apiHandler is the API: the access log around the mux, and the mux's
// route lookup for what wraps it.
type apiHandler struct {
	next  http.Handler
	mux   *http.ServeMux
	close func()
}

func (h apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// Handler returns the handler and the pattern of the route r goes to, as
// http.ServeMux.Handler does.
func (h apiHandler) Handler(r *http.Request) (http.Handler, string) { return h.mux.Handler(r) }

// Close ends the lists waiting for documents; idempotent.
func (h apiHandler) Close() { h.close() }

// newHandler is NewHandler's handler, before its routes. It checks
// nothing: the pure tests hand it a gateway of no roles and no reports.
func newHandler(gw Gateway, reports gateway.Reports, keys []Key, log *zap.Logger) *handler {
	if log == nil {
		log = zap.NewNop()
	}
	return &handler{gw: gw, reports: reports, log: log, keys: loadKeys(keys, log), now: time.Now, maxBody: gw.MaxPacketSize(), closing: make(chan struct{})}
}

// routeTable lists every route of the API, in one place.
func (h *handler) routeTable() []route {
	return []route{
		{method: http.MethodPost, path: Prefix + "/documents", fn: h.createDocument},
		{method: http.MethodGet, path: Prefix + "/documents", fn: h.listDocuments},
		{method: http.MethodGet, path: Prefix + "/documents/{id}", fn: h.getDocument},
		{method: http.MethodGet, path: Prefix + "/documents/{id}/packet", fn: h.getPacket},
		{method: http.MethodGet, path: Prefix + "/documents/{id}/attachments", fn: h.listAttachments},
		{method: http.MethodGet, path: Prefix + "/documents/{id}/attachments/{n}", fn: h.getAttachment},
		{method: http.MethodPost, path: Prefix + "/documents/{id}/status", fn: h.postStatus},
		{method: http.MethodGet, path: Prefix + "/directory", fn: h.getDirectory},
		{method: http.MethodGet, path: Prefix + "/reports/{agency}/{quarter}", fn: h.getReport},
		{method: http.MethodPost, path: Prefix + "/reports/{agency}/{quarter}/submit", fn: h.submitReport},
		{method: http.MethodGet, path: Prefix + "/reports/summary/{quarter}", fn: h.getSummary},
		{method: http.MethodGet, path: Prefix + "/openapi.json", fn: h.getOpenAPI, public: true},
	}
}

// routes builds the mux: every route, behind authentication unless it is
// public, all behind the access log.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range h.routeTable() {
		fn := http.HandlerFunc(rt.fn)
		if rt.public {
			mux.Handle(rt.method+" "+rt.path, fn)
		} else {
			mux.Handle(rt.method+" "+rt.path, h.authenticate(fn))
		}
	}
	return apiHandler{next: h.accessLog(jsonMuxErrors(mux)), mux: mux, close: func() { h.closeOnce.Do(func() { close(h.closing) }) }}
}

// jsonMuxErrors answers the requests the mux has no route for (404) or no
// method for (405, with Allow) with the API's JSON error body instead of
// the mux's plain text.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusNotFound:
			jsonNotFound(w)
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			jsonMethodNotAllowed(w)
		default: // a redirect to the clean path
			h.ServeHTTP(w, r)
		}
	})
}

// headerProbe is a ResponseWriter that keeps the status and headers and
// drops the body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }

func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

func (p *headerProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
