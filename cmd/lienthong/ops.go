package main

import (
	"context"
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
func opsHandler(n *node, reg prometheus.Gatherer, level zap.AtomicLevel, log *zap.Logger) http.Handler {
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
	return mux
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
// intervals, or every hosted agency is listed in it as hosted by this
// gateway (the directory of a quiet axis does not change for days).
func directoryFresh(gw *gateway.Gateway, now time.Time) error {
	dir := gw.Directory()
	age := now.Sub(dir.Updated())
	if age < directoryFreshness*gw.HeartbeatInterval() {
		return nil
	}
	var wrong []string
	for _, a := range gw.HostedAgencies() {
		e, ok := dir.Lookup(a.Code.String())
		switch {
		case !ok:
			wrong = append(wrong, a.Code.String()+" is not listed")
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
		return nil, fmt.Errorf("serve: operations listener on %s: %w", addr, err)
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
