package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// Bounds of the operations endpoints.
const (
	// readyTimeout bounds the checks of one /readyz.
	readyTimeout = 3 * time.Second
	// directoryFreshness is how many heartbeat intervals the directory may
	// go without a change and still be fresh without further checks.
	directoryFreshness = 3
)

// newRegistry returns the process's Prometheus registry, with the Go
// runtime's and the process's collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// opsHandler serves the operations endpoints of a node:
//
//	GET /metrics   the registry, for Prometheus
//	GET /healthz   200 "ok" while the process is alive
//	GET /readyz    200 when NATS is connected, the store can be written and
//	               the directory is fresh; otherwise 503. The body has a
//	               line per check, "name: ok" or "name: what is wrong".
//	/loglevel      GET shows the log level, PUT changes it
//	               ({"level":"debug"}, or level=debug as a form)
//
// With a token, every request but GET and HEAD needs it (requireToken):
// what only reads stays open to Prometheus and to health checks, what
// changes the process does not.
func opsHandler(n *node, reg prometheus.Gatherer, level zap.AtomicLevel, token string, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      zap.NewStdLog(log),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		checks := n.readiness(ctx)
		status := http.StatusOK
		var body strings.Builder
		for _, c := range checks {
			if c.err != nil {
				status = http.StatusServiceUnavailable
				fmt.Fprintf(&body, "%s: %v\n", c.name, c.err)
			} else {
				fmt.Fprintf(&body, "%s: ok\n", c.name)
			}
		}
		if status != http.StatusOK {
			log.Warn("not ready", zap.String("checks", strings.TrimSpace(body.String())))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		fmt.Fprint(w, body.String())
	})
	mux.Handle("/loglevel", level)
	if token == "" {
		return mux
	}
	return requireToken(mux, token, log)
}

// requireToken lets GET and HEAD requests through to h, and others only
// with "Authorization: Bearer <token>"; it answers the rest 401, saying
// what is missing. The comparison takes the same time whatever the token
// offered (SHA-256 of both, compared in constant time), so that timing
// does not reveal how much of a guess was right, nor the token's length.
func requireToken(h http.Handler, token string, log *zap.Logger) http.Handler {
	want := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		what := ""
		auth := r.Header.Get("Authorization")
		scheme, offered, ok := strings.Cut(auth, " ")
		switch {
		case auth == "":
			what = "no Authorization header"
		case !ok || !strings.EqualFold(scheme, "Bearer"):
			what = "the Authorization header is not Bearer"
		default:
			got := sha256.Sum256([]byte(strings.TrimSpace(offered)))
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				h.ServeHTTP(w, r)
				return
			}
			what = "wrong token"
		}
		log.Warn("operations request refused", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.String("remote", r.RemoteAddr), zap.String("why", what))
		w.Header().Set("WWW-Authenticate", `Bearer realm="lienthong-ops"`)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "401 unauthorized: %s %s needs \"Authorization: Bearer <ops.token>\" (%s)\n", r.Method, r.URL.Path, what)
	})
}

// opsToken returns the token of the operations listener: ops.token, or
// the first line of ops.tokenFile; "" when neither is set.
func opsToken(c OpsConfig) (string, error) {
	if c.TokenFile == "" {
		return c.Token, nil
	}
	token, err := firstLine(c.TokenFile)
	if err != nil {
		return "", &ConfigError{Field: "ops.tokenFile", Value: c.TokenFile, Err: err}
	}
	if len(strings.TrimSpace(token)) < minOpsToken {
		return "", &ConfigError{Field: "ops.tokenFile", Value: c.TokenFile, Err: fmt.Errorf("the token must have at least %d characters", minOpsToken)}
	}
	return token, nil
}

// check is one part of the readiness: its name and what is wrong, if
// anything.
type check struct {
	name string
	err  error
}

// readiness checks the parts of a node a gateway needs to do its work:
// "nats" (the connection is up), "store" (a write commits) and
// "directory" (fresh: see directoryFresh).
func (n *node) readiness(ctx context.Context) []check {
	checks := []check{{name: "nats"}, {name: "store"}, {name: "directory"}}
	if !n.bus.Connected() {
		checks[0].err = errors.New("not connected")
	}
	checks[1].err = n.store.Ping(ctx)
	checks[2].err = directoryFresh(n.gw, time.Now())
	return checks
}

// directoryFresh says whether the gateway's view of the directory can be
// relied on: it changed within the last directoryFreshness heartbeat
// intervals, or every hosted agency is registered in it by the
// administrator as hosted by this gateway (the directory of a quiet axis
// does not change for days). A gateway without directory trust anchors
// (standalone) relies on its own configuration.
func directoryFresh(gw *gateway.Gateway, now time.Time) error {
	dir := gw.Directory()
	age := now.Sub(dir.Updated())
	if age < directoryFreshness*gw.HeartbeatInterval() {
		return nil
	}
	lookup := dir.Registered
	if !dir.Administered() {
		lookup = dir.Lookup
	}
	var wrong []string
	for _, a := range gw.HostedAgencies() {
		e, ok := lookup(a.Code.String())
		switch {
		case !ok:
			wrong = append(wrong, a.Code.String()+" is not registered by the directory's administrator")
		case e.Gateway != gw.ID():
			wrong = append(wrong, fmt.Sprintf("%s is listed as hosted by %q", a.Code, e.Gateway))
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	return fmt.Errorf("unchanged for %s and %s", age.Round(time.Second), strings.Join(wrong, ", "))
}

// opsServer is the operations listener.
type opsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// startOps listens on addr and serves h there.
func startOps(addr string, h http.Handler, log *zap.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, withVI(fmt.Errorf("serve: operations listener on %s: %w", addr, err), "Không mở được cổng vận hành %s (ops.listen)", addr)
	}
	s := &opsServer{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          zap.NewStdLog(log),
		},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL of the operations listener.
func (s *opsServer) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the listener, letting requests in flight finish or ctx end.
func (s *opsServer) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
