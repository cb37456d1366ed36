package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/metrics"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/vxp"
	"github.com/lienthong/lienthong/gateway/web"
	"github.com/lienthong/lienthong/signing"
)

func runServe(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("serve", "serve -config FILE [-listen ADDR] [-nats URL] [-ops ADDR] [-config-dump]", `
Runs a gateway: the agencies it hosts, their signing keys, the keys of the
document-management systems, and the HTTP API. Unless nats.url (or -nats)
names an external NATS server or cluster, an embedded nats-server with
JetStream keeps its files in the data directory.

Every scalar key of the file can be overridden by an environment variable
(listed below), and flags override both: LIENTHONG_ and the key's section
and name in capitals, words split by _ (nats.hubDomain:
LIENTHONG_NATS_HUB_DOMAIN); the gateway section's keys without the
section's name (gateway.dataDir: LIENTHONG_DATA_DIR), but gateway.id is
LIENTHONG_GATEWAY_ID. A secret (nats.password, nats.token, ops.token) may
instead be in a file that the variable's _FILE twin names
(LIENTHONG_NATS_PASSWORD_FILE). Lists have no variable.

The operations listener (ops.listen, default 127.0.0.1:9464) serves
/metrics for Prometheus, /healthz (the process is alive), /readyz (NATS
connected, store writable, directory fresh; 503 naming what is not) and
/loglevel (GET shows the log level, PUT {"level":"debug"} changes it).
With ops.token set (or ops.tokenFile, LIENTHONG_OPS_TOKEN,
LIENTHONG_OPS_TOKEN_FILE), PUT /loglevel needs "Authorization: Bearer
<token>"; the GET endpoints stay open. A token is required when ops.listen
is not a loopback address (127.0.0.0/8, ::1, localhost).

The CRL files (trust.crl) are read again on SIGHUP and every
trust.crlReload (default 1h; 0 for SIGHUP only). A file that cannot be read
or holds an older list than the one in use is logged and the list in use
kept; a list past its NextUpdate is logged and shown by the metric
lienthong_crl_next_update_timestamp_seconds.

The first SIGINT or SIGTERM shuts down gracefully: the API stops taking
requests, messages in flight are finished, the outbox stops; a second one
exits at once, with status 130 (SIGINT) or 143 (SIGTERM).`+envHelp())
	configFile := fs.String("config", "", "the configuration `file` (YAML)")
	listen := fs.String("listen", "", "the API's listen `address` (overrides http.listen)")
	natsURL := fs.String("nats", "", "an external NATS `URL` (overrides nats.url)")
	opsListen := fs.String("ops", "", "the operations listener's `address` (overrides ops.listen)")
	dump := fs.Bool("config-dump", false, "print the effective configuration, secrets redacted, and exit")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *configFile == "" {
		return usageError{msg: "serve: -config is required", vi: "Cần tệp cấu hình (-config).", hint: "lienthong serve -help"}
	}
	// From here on SIGHUP means "read the CRLs again", never the default
	// "terminate"; one that arrives while the node starts waits in hup.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, err := LoadConfig(*configFile)
	if err != nil {
		return err
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return err
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	if *natsURL != "" {
		cfg.NATS.URL = *natsURL
	}
	if *opsListen != "" {
		cfg.Ops.Listen = *opsListen
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	token, err := opsToken(cfg.Ops)
	if err != nil {
		return err
	}
	if *dump {
		b, err := cfg.Redacted()
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(b)
		return err
	}
	var logDropped atomic.Int64
	log, level, err := newSampledLogger(cfg.Log, m.Stderr, &logDropped)
	if err != nil {
		return err
	}
	defer log.Sync()
	_, envLimit := os.LookupEnv("GOMEMLIMIT")
	auto := !envLimit && cfg.Gateway.MemoryLimit == 0
	if !envLimit && cfg.Gateway.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.Gateway.MemoryLimit)
		log.Info("memory limit", zap.Int64("bytes", cfg.Gateway.MemoryLimit))
	}
	// The automatic limit is set for the directory the store keeps
	// before it loads (a limit for an empty one would have the collector
	// run without end while the national directory's 200 MB load), with
	// the collector left to that limit meanwhile: the heap grows once,
	// not through a collection at each doubling. Then it follows the
	// directory.
	loaded := func() {}
	var beforeLoad func(context.Context, *store.Store)
	if auto {
		beforeLoad = func(ctx context.Context, st *store.Store) {
			kept, err := st.DirectoryCount(ctx)
			if err != nil {
				log.Warn("the memory limit waits for the directory: its size in the store is unknown", zap.Error(err))
				return
			}
			if kept == 0 {
				return
			}
			debug.SetMemoryLimit(cfg.memoryLimit(kept))
			gc := debug.SetGCPercent(-1)
			loaded = func() { debug.SetGCPercent(gc) }
		}
	}
	reg := newRegistry()
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "lienthong_log_entries_dropped_total",
		Help: fmt.Sprintf("Log entries left out by sampling: of the entries of one level and message, each %v keeps the first %d, then every %d-th.",
			logSampleTick, logSampleFirst, logSampleThereafter),
	}, func() float64 { return float64(logDropped.Load()) }))
	// One limiter of the releases of free pages for the process, its
	// store's and its bus's (gateway.MemoryLimiter).
	n, err := openNode(ctx, cfg, log, reg, beforeLoad, new(gateway.MemoryLimiter))
	loaded()
	if err != nil {
		return err
	}
	if auto {
		// It follows the directory, which grows while the gateway runs,
		// until serve returns.
		mctx, mcancel := context.WithCancel(ctx)
		defer mcancel()
		followMemoryLimit(mctx, cfg, n.gw.Directory(), log)
	}
	var ops *opsServer
	if cfg.Ops.Listen != "" {
		if ops, err = startOps(cfg.Ops.Listen, opsHandler(n, reg, level, token, log.Named("ops")), log.Named("ops")); err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), cfg.Gateway.ShutdownTimeout)
			defer cancel()
			return errors.Join(err, n.Close(cctx))
		}
	}
	var codes []string
	for _, a := range cfg.Agencies {
		codes = append(codes, a.Code)
	}
	serving := strings.Join(codes, ", ")
	if len(codes) > 10 {
		serving = fmt.Sprintf("%d agencies (%s …)", len(codes), strings.Join(codes[:10], ", "))
	}
	fmt.Fprintf(m.Stderr, "lienthong %s: gateway %s serving %s on %s\n", version, cfg.Gateway.ID, serving, n.URL())
	if ops != nil {
		fmt.Fprintf(m.Stderr, "lienthong %s: operations (metrics, health, log level) on %s\n", version, ops.URL())
	}
	crls := newCRLReloader(cfg.Trust.CRL, n.gw, log.Named("crl"))
	crls.warnStale()
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		crls.run(ctx, hup, cfg.Trust.CRLReload)
	}()
	<-ctx.Done()
	log.Info("shutting down", zap.NamedError("cause", context.Cause(ctx)))
	<-reloaded
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Gateway.ShutdownTimeout)
	defer cancel()
	err = n.Close(sctx)
	if ops != nil {
		// Last, so that /healthz and /metrics answer during the shutdown.
		err = errors.Join(err, ops.Close(sctx))
	}
	return withVI(err, "Cổng liên thông đã dừng nhưng không dừng êm trọn vẹn")
}

// Log sampling, of warnings and errors only: of the entries of one level
// and message, each logSampleTick keeps the first logSampleFirst, then
// every logSampleThereafter-th. At ordinary rates nothing is left out;
// under a flood (a peer filling the quarantine, each entry it drops
// logged; an outage, each failure) the log stays readable and the disk is
// not filled. lienthong_log_entries_dropped_total counts what is left out.
// Info and debug entries are not sampled: "document received" and its
// kind are one line per document, at most a few hundred a second, and an
// operator greps them for a clerk's document.
const (
	logSampleTick       = time.Second
	logSampleFirst      = 10
	logSampleThereafter = 100
)

// newLogger builds the process's logger, on a level that can be changed
// while it runs (serve's /loglevel); it is passed down, never global.
func newLogger(c LogConfig, w io.Writer) (*zap.Logger, zap.AtomicLevel, error) {
	return newSampledLogger(c, w, nil)
}

// newSampledLogger is newLogger; dropped, if not nil, counts the entries
// that sampling leaves out.
func newSampledLogger(c LogConfig, w io.Writer, dropped *atomic.Int64) (*zap.Logger, zap.AtomicLevel, error) {
	l, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, zap.AtomicLevel{}, err
	}
	level := zap.NewAtomicLevelAt(l)
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	if c.Format == "console" {
		encoder = zapcore.NewConsoleEncoder(enc)
	} else {
		encoder = zapcore.NewJSONEncoder(enc)
	}
	ws := zapcore.AddSync(w)
	below := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l < zapcore.WarnLevel && level.Enabled(l) })
	above := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l >= zapcore.WarnLevel && level.Enabled(l) })
	sampled := zapcore.NewSamplerWithOptions(zapcore.NewCore(encoder, ws, above),
		logSampleTick, logSampleFirst, logSampleThereafter,
		zapcore.SamplerHook(func(_ zapcore.Entry, d zapcore.SamplingDecision) {
			if d&zapcore.LogDropped != 0 && dropped != nil {
				dropped.Add(1)
			}
		}))
	return zap.New(zapcore.NewTee(zapcore.NewCore(encoder, ws, below), sampled)), level, nil
}

// node is one running gateway with everything it owns: the store, the bus
// (and an embedded NATS server), the gateway and the HTTP server.
type node struct {
	log   *zap.Logger
	store *store.Store
	bus   *bus.Bus
	gw    *gateway.Gateway
	web   *web.Handler
	http  *http.Server
	ln    net.Listener
	done  chan error
	// vxp serves the VXP face on vxp.listen, when it has its own.
	vxp     *http.Server
	vxpLn   net.Listener
	vxpDone chan error
}

// openNode opens the store, the bus (starting an embedded server unless
// cfg.NATS.URL is set), the gateway and the API listener. With reg, the
// gateway's metrics (gateway/metrics) are registered on it and count the
// API's requests; reg may be nil (demo, bench). mem is the process's
// limiter of the releases of free pages, which its store and bus share
// with the other nodes of the process (demo); nil makes one for the node.
func openNode(ctx context.Context, cfg Config, log *zap.Logger, reg prometheus.Registerer, beforeLoad func(context.Context, *store.Store), mem *gateway.MemoryLimiter) (_ *node, err error) {
	if mem == nil {
		mem = new(gateway.MemoryLimiter)
	}
	n := &node{log: log}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n.Close(cctx)
		}
	}()
	if err := os.MkdirAll(cfg.Gateway.DataDir, 0o750); err != nil {
		return nil, withVI(err, "Không tạo được thư mục dữ liệu %q (gateway.dataDir)", cfg.Gateway.DataDir)
	}
	agencies, err := loadAgencies(cfg.Agencies)
	if err != nil {
		return nil, err
	}
	roots, crls, err := loadTrust(cfg.Trust)
	if err != nil {
		return nil, err
	}
	anchors, err := loadAnchors(cfg.Trust.Directory)
	if err != nil {
		return nil, err
	}
	sopts := store.Options{Logger: log, QuarantineBytes: cfg.Gateway.QuarantineBytes, QuarantineEntries: cfg.Gateway.QuarantineEntries,
		MemoryRelease: mem}
	if n.store, err = store.Open(ctx, filepath.Join(cfg.Gateway.DataDir, "lienthong.db"), sopts); err != nil {
		return nil, withVI(err, "Không mở được kho dữ liệu %q", filepath.Join(cfg.Gateway.DataDir, "lienthong.db"))
	}
	bopts := bus.Options{
		URL: cfg.NATS.URL, Name: "lienthong-" + cfg.Gateway.ID, Gateway: cfg.Gateway.ID, MaxPacketSize: cfg.Gateway.MaxPacketSize,
		CredsFile: cfg.NATS.CredsFile, User: cfg.NATS.User, Password: cfg.NATS.Password, Token: cfg.NATS.Token,
		NKeyFile: cfg.NATS.NKeyFile, CAFile: cfg.NATS.CAFile,
		Domain: cfg.NATS.Domain, HubDomain: cfg.NATS.HubDomain, Replicas: cfg.NATS.Replicas, Bind: cfg.NATS.Bind,
		GatewayConsumers: cfg.perGatewayConsumers(),
		// Beside the store, on its disk: os.TempDir() may be in memory.
		SpoolDir:      filepath.Join(cfg.Gateway.DataDir, "spool"),
		MemoryRelease: mem,
	}
	if bopts.URL != "" {
		// Per-gateway credentials let it subscribe under this prefix only.
		bopts.InboxPrefix = bus.InboxPrefix(cfg.Gateway.ID)
	}
	if bopts.URL == "" {
		host, port := "127.0.0.1", -1
		if cfg.NATS.Listen != "" {
			h, p, err := net.SplitHostPort(cfg.NATS.Listen)
			if err != nil {
				return nil, &ConfigError{Field: "nats.listen", Value: cfg.NATS.Listen, Err: err}
			}
			host = h
			if _, err := fmt.Sscan(p, &port); err != nil {
				return nil, &ConfigError{Field: "nats.listen", Value: cfg.NATS.Listen, Err: err}
			}
		}
		srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(cfg.Gateway.DataDir, "nats"), Host: host, Port: port, Name: cfg.Gateway.ID, Domain: cfg.NATS.Domain, Log: log.Named("nats")})
		if err != nil {
			return nil, withVI(err, "Không khởi động được máy chủ NATS nhúng")
		}
		bopts.URL, bopts.Server = srv.ClientURL(), srv
	}
	if n.bus, err = bus.Open(ctx, bopts, log.Named("bus")); err != nil {
		return nil, withVI(err, "Không kết nối được tới NATS (nats.url) hoặc không dùng được các luồng của nó")
	}
	if n.ln, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
		return nil, withVI(fmt.Errorf("serve: listen on %s: %w", cfg.HTTP.Listen, err), "Không mở được cổng API %s (http.listen)", cfg.HTTP.Listen)
	}
	public := cfg.HTTP.PublicURL
	if public == "" {
		public = "http://" + n.ln.Addr().String()
	}
	var m *metrics.Metrics
	var obs gateway.Observer
	if reg != nil {
		if m, err = metrics.New(reg); err != nil {
			return nil, err
		}
		obs = m
	}
	subtrees, err := cfg.subtrees()
	if err != nil {
		return nil, err
	}
	n.gw, err = gateway.New(gateway.Options{
		ID: cfg.Gateway.ID, Agencies: agencies, Subtrees: subtrees, Store: n.store, Bus: n.bus, Logger: log,
		Roots: roots, CRLs: crls, Policy: signing.Policy{AllowSHA1: cfg.Trust.AllowSHA1}, DirectoryAnchors: anchors,
		MaxPacketSize: cfg.Gateway.MaxPacketSize, Version: version, API: public, Observer: obs,
		Submissions: cfg.Gateway.Submissions, SubmissionWait: cfg.Gateway.SubmissionWait,
	})
	if err != nil {
		return nil, err
	}
	if beforeLoad != nil {
		beforeLoad(ctx, n.store)
	}
	if err := n.gw.Open(ctx); err != nil {
		return nil, withVI(err, "Không khởi động được cổng liên thông %s", cfg.Gateway.ID)
	}
	keys, err := loadAPIKeys(cfg.APIKeys)
	if err != nil {
		return nil, err
	}
	// The faces make their quarterly reports through the roll-up, handed
	// to them: neither imports gateway/report.
	reports := rollup.New(n.gw)
	apiHandler, err := api.NewHandler(n.gw, reports, keys, log.Named("api"))
	if err != nil {
		return nil, err
	}
	apiCloser, _ := apiHandler.(interface{ Close() })
	var page http.Handler = apiHandler // without a page, the API answers every path
	if len(cfg.Web.Clerks) > 0 {
		if n.web, err = web.New(n.gw, reports, webOptions(cfg.Web), log.Named("web")); err != nil {
			return nil, err
		}
		page = n.web
	}
	if m != nil {
		if err := m.Watch(n.gw); err != nil {
			return nil, err
		}
		apiHandler, page = m.Middleware(apiHandler), m.Middleware(page)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", apiHandler)
	mux.Handle("/", page)
	var handler http.Handler = mux
	if len(cfg.VXP.Systems) > 0 {
		face, err := openVXP(cfg.VXP, n.gw, n.store, m, log.Named("vxp"))
		if err != nil {
			return nil, err
		}
		if cfg.VXP.Listen == "" {
			// Before the mux, which would answer an endpoint configured
			// with a trailing slash ("…/adapter//getEdoc") with a redirect
			// the SDK does not follow for a POST.
			handler = beside(face.Prefix(), face, mux)
		} else {
			if n.vxpLn, err = net.Listen("tcp", cfg.VXP.Listen); err != nil {
				return nil, withVI(fmt.Errorf("serve: vxp.listen %s: %w", cfg.VXP.Listen, err), "Không mở được địa chỉ %s cho giao thức VXP (vxp.listen)", cfg.VXP.Listen)
			}
			n.vxp = &http.Server{Handler: face, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(log.Named("vxp-http"))}
			n.vxpDone = make(chan error, 1)
			go func() { n.vxpDone <- n.vxp.Serve(n.vxpLn) }()
		}
		log.Info("VXP face open", zap.String("listen", cmp.Or(cfg.VXP.Listen, cfg.HTTP.Listen)), zap.String("prefix", face.Prefix()),
			zap.Int("systems", len(cfg.VXP.Systems)))
	}
	n.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	if n.web != nil {
		// The page's live streams would hold a graceful shutdown open.
		n.http.RegisterOnShutdown(n.web.Close)
	}
	if apiCloser != nil {
		// So would the lists waiting for documents (?wait=N).
		n.http.RegisterOnShutdown(apiCloser.Close)
	}
	n.done = make(chan error, 1)
	go func() { n.done <- n.http.Serve(n.ln) }()
	return n, nil
}

// URL is the base URL of the node's API.
func (n *node) URL() string { return "http://" + n.ln.Addr().String() }

// Close shuts the node down in order: the API stops taking requests, the
// gateway drains, then the bus and the store close.
func (n *node) Close(ctx context.Context) error {
	var errs []error
	if n.vxp != nil {
		if err := n.vxp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("vxp shutdown: %w", err))
		}
		if err := <-n.vxpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	} else if n.vxpLn != nil {
		n.vxpLn.Close()
	}
	if n.http != nil {
		if err := n.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-n.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	} else if n.ln != nil {
		n.ln.Close()
	}
	if n.gw != nil {
		errs = append(errs, n.gw.Close(ctx))
	}
	if n.bus != nil {
		errs = append(errs, n.bus.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

func loadAgencies(cs []AgencyConfig) ([]gateway.HostedAgency, error) {
	var out []gateway.HostedAgency
	for i, c := range cs {
		code, err := envelope.ParseAgencyCode(c.Code, envelope.CodeStrict)
		if err != nil {
			return nil, &ConfigError{Field: fmt.Sprintf("agencies[%d].code", i), Value: c.Code, Err: err}
		}
		var key crypto.Signer
		var chain []*x509.Certificate
		if c.P12 != "" {
			password := ""
			if c.P12PasswordFile != "" {
				if password, err = firstLine(c.P12PasswordFile); err != nil {
					return nil, withVI(err, "Không đọc được mật khẩu PKCS#12 của cơ quan %s trong tệp %q", c.Code, c.P12PasswordFile)
				}
			}
			key, chain, err = loadPKCS12(c.P12, password)
		} else {
			key, chain, err = loadKeyPair(c.Key, c.Cert)
		}
		if err != nil {
			return nil, fmt.Errorf("agency %s: %w", c.Code, err)
		}
		s, err := signing.NewSigner(key, chain)
		if err != nil {
			return nil, withVI(fmt.Errorf("agency %s: %w", c.Code, err), "Cơ quan %s không ký được", c.Code)
		}
		out = append(out, gateway.HostedAgency{Code: code, Name: c.Name, Signer: s})
	}
	return out, nil
}

func loadKeyPair(keyFile, certFile string) (crypto.Signer, []*x509.Certificate, error) {
	key, err := signing.LoadPrivateKey(keyFile)
	if err != nil {
		return nil, nil, withVI(err, "Không đọc được khóa bí mật trong tệp %q", keyFile)
	}
	chain, err := signing.LoadCertificates(certFile)
	if err != nil {
		return nil, nil, withVI(err, "Không đọc được chứng thư số trong tệp %q", certFile)
	}
	return key, chain, nil
}

// loadPKCS12 reads a signer's key and chain from a PKCS#12 file.
func loadPKCS12(path, password string) (crypto.Signer, []*x509.Certificate, error) {
	key, chain, err := signing.LoadPKCS12(path, password)
	if err != nil {
		return nil, nil, withVI(err, "Không đọc được khóa ký trong tệp PKCS#12 %q", path)
	}
	return key, chain, nil
}

func loadTrust(c TrustConfig) (*x509.CertPool, []*x509.RevocationList, error) {
	roots := x509.NewCertPool()
	for _, f := range c.CA {
		certs, err := signing.LoadCertificates(f)
		if err != nil {
			return nil, nil, withVI(err, "Không đọc được chứng thư CA tin cậy (trust.ca) trong tệp %q", f)
		}
		for _, cert := range certs {
			roots.AddCert(cert)
		}
	}
	var crls []*x509.RevocationList
	for _, f := range c.CRL {
		crl, err := signing.LoadCRL(f)
		if err != nil {
			return nil, nil, withVI(err, "Không đọc được danh sách thu hồi (trust.crl) trong tệp %q", f)
		}
		crls = append(crls, crl)
	}
	return roots, crls, nil
}

// loadAnchors reads the directory's trust anchors (trust.directory); none
// gives nil, which believes no directory entry.
func loadAnchors(files []string) (*x509.CertPool, error) {
	if len(files) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, f := range files {
		certs, err := signing.LoadCertificates(f)
		if err != nil {
			return nil, &ConfigError{Field: "trust.directory", Value: f, Err: err}
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

// crlReloader keeps the revocation lists of a running gateway current: a
// CA publishes a new list before its last one's NextUpdate, and a gateway
// that kept the lists it started with would accept packets signed with
// every certificate revoked since.
type crlReloader struct {
	files []string
	gw    *gateway.Gateway
	log   *zap.Logger
	now   func() time.Time
	// crls holds the list in use from each file, in the order of files;
	// only run's goroutine touches it once run has started.
	crls []*x509.RevocationList
}

// newCRLReloader returns the reloader of the files of trust.crl, which
// gw's verifier was given in that order (loadTrust).
func newCRLReloader(files []string, gw *gateway.Gateway, log *zap.Logger) *crlReloader {
	return &crlReloader{files: files, gw: gw, log: log, now: time.Now, crls: gw.CRLs()}
}

// run reloads the lists on each signal from hup and every interval (not
// on a timer when interval is 0) until ctx ends.
func (r *crlReloader) run(ctx context.Context, hup <-chan os.Signal, interval time.Duration) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-hup:
			r.log.Info("reloading the CRLs", zap.Stringer("signal", s), zap.Int("files", len(r.files)))
			r.reload()
		case <-tick:
			r.reload()
		}
	}
}

// reload reads every file again and hands the lists to the gateway. A file
// that cannot be read, or that holds an older list of the same issuer than
// the one in use (replaying an old list would undo revocations), is logged
// and the list in use kept: a broken download must not drop revocations.
func (r *crlReloader) reload() {
	if len(r.crls) != len(r.files) {
		// Only if the gateway was not given the lists of trust.crl.
		r.log.Error("CRLs not reloaded: the gateway's lists do not match trust.crl", zap.Int("files", len(r.files)), zap.Int("lists", len(r.crls)))
		return
	}
	for i, f := range r.files {
		crl, err := signing.LoadCRL(f)
		if err != nil {
			r.log.Error("CRL not reloaded; the list in use is kept", zap.String("file", f), zap.Error(err))
			continue
		}
		old := r.crls[i]
		if bytes.Equal(old.Raw, crl.Raw) {
			continue
		}
		if older(crl, old) {
			r.log.Error("CRL not reloaded: it is older than the list in use, which is kept", zap.String("file", f),
				zap.String("issuer", crl.Issuer.String()), zap.Stringer("number", crl.Number), zap.Stringer("numberInUse", old.Number),
				zap.Time("thisUpdate", crl.ThisUpdate), zap.Time("thisUpdateInUse", old.ThisUpdate))
			continue
		}
		r.crls[i] = crl
		r.log.Info("CRL reloaded", zap.String("file", f), zap.String("issuer", crl.Issuer.String()), zap.Stringer("number", crl.Number),
			zap.Int("revoked", len(crl.RevokedCertificateEntries)), zap.Time("nextUpdate", crl.NextUpdate))
	}
	r.gw.SetCRLs(r.crls)
	r.warnStale()
}

// older reports whether crl is an older list of old's issuer: a lower CRL
// number, or without numbers an earlier ThisUpdate. Lists of different
// issuers are not compared: a file may move to another CA.
func older(crl, old *x509.RevocationList) bool {
	if !bytes.Equal(crl.RawIssuer, old.RawIssuer) {
		return false
	}
	if crl.Number != nil && old.Number != nil {
		return crl.Number.Cmp(old.Number) < 0
	}
	return crl.ThisUpdate.Before(old.ThisUpdate)
}

// warnStale logs each list in use that is past its NextUpdate: until a
// newer one is in place, revocations since are not known.
func (r *crlReloader) warnStale() {
	now := r.now()
	for i, crl := range r.crls {
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			r.log.Warn("CRL is stale: past its NextUpdate, certificates revoked since are still accepted; put the CA's current list in place",
				zap.String("file", r.files[i]), zap.String("issuer", crl.Issuer.String()),
				zap.Time("nextUpdate", crl.NextUpdate), zap.Duration("overdue", now.Sub(crl.NextUpdate).Round(time.Second)))
		}
	}
}

// webOptions are the page's options from its configuration.
func webOptions(c WebConfig) web.Options {
	o := web.Options{IdleTimeout: c.IdleTimeout, MaxSessionAge: c.MaxSessionAge, InsecureCookies: c.InsecureCookies}
	for _, k := range c.Clerks {
		o.Clerks = append(o.Clerks, web.Clerk{Username: k.Username, Name: k.Name, PasswordHash: k.PasswordHash, Agencies: k.Agencies})
	}
	for _, s := range c.TrustedProxies {
		// Validate refused a bad one; were it not, the zero prefix
		// makes web.New refuse it rather than trusting nothing silently.
		p, _ := parseTrustedProxy(s)
		o.TrustedProxies = append(o.TrustedProxies, p)
	}
	return o
}

// followMemoryLimit sets the soft memory limit for the directory's size
// now, and again every minute while ctx lasts, logging each change.
func followMemoryLimit(ctx context.Context, cfg Config, dir *gateway.Directory, log *zap.Logger) {
	var set int64
	adjust := func() {
		limit := cfg.memoryLimit(dir.Len())
		if limit != set {
			debug.SetMemoryLimit(limit)
			log.Info("memory limit", zap.Int64("bytes", limit), zap.Int("directory", dir.Len()), zap.Int("hosted", len(cfg.Agencies)))
			set = limit
		}
	}
	adjust()
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				adjust()
			}
		}
	}()
}

// hostedCode says, for a code of an agency gw hosts (a former code
// included), the code the agency has now.
func hostedCode(gw *gateway.Gateway) func(string) (string, bool) {
	return func(code string) (string, bool) {
		a, ok := gw.Hosted(code)
		if !ok {
			return "", false
		}
		return a.Code.String(), true
	}
}

// beside sends the requests whose path is under prefix (once repeated
// slashes are folded) to h, and the others to next.
func beside(prefix string, h, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		for strings.Contains(p, "//") {
			p = strings.ReplaceAll(p, "//", "/")
		}
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// openVXP makes the VXP face of gw from its configuration, the systems'
// secrets read from their files; m, if not nil, counts its requests.
func openVXP(c VXPConfig, gw *gateway.Gateway, st *store.Store, m *metrics.Metrics, log *zap.Logger) (*vxp.Handler, error) {
	var systems []vxp.System
	for i, s := range c.Systems {
		secret := s.Secret
		if s.SecretFile != "" {
			var err error
			if secret, err = firstLine(s.SecretFile); err != nil {
				return nil, withVI(err, "Không đọc được khóa bí mật của hệ thống %q trong tệp %q (vxp.systems[%d].secretFile)", s.ID, s.SecretFile, i)
			}
		}
		sys := vxp.System{ID: s.ID, Secret: []byte(secret), Agencies: s.Agencies}
		if s.Since != "" {
			t, err := time.ParseInLocation("2006-01-02", s.Since, envelope.VietnamTime())
			if err != nil {
				return nil, &ConfigError{Field: fmt.Sprintf("vxp.systems[%d].since", i), Value: s.Since, Err: err}
			}
			sys.Since = t
		}
		systems = append(systems, sys)
	}
	opts := vxp.Options{Gateway: gw, Store: st, Directory: gw.Directory(), Systems: systems, Prefix: c.Prefix, Log: log}
	if m != nil {
		opts.Observer = m
	}
	face, err := vxp.New(opts, hostedCode(gw))
	if err != nil {
		return nil, withVI(err, "Cấu hình giao thức VXP (vxp.systems) không dùng được")
	}
	return face, nil
}

func loadAPIKeys(cs []APIKeyConfig) ([]api.Key, error) {
	var keys []api.Key
	for _, c := range cs {
		secret := c.Key
		if c.KeyFile != "" {
			var err error
			if secret, err = firstLine(c.KeyFile); err != nil {
				return nil, withVI(err, "Không đọc được khóa API %q trong tệp %q (apiKeys[].keyFile)", c.Name, c.KeyFile)
			}
		}
		keys = append(keys, api.Key{Name: c.Name, Secret: secret, Agencies: c.Agencies})
	}
	return keys, nil
}
