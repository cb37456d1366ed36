package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/internal/letter"
	"github.com/lienthong/lienthong/internal/nettest"
	"github.com/lienthong/lienthong/signing"
)

// The agencies of the operations tests, hosted by one gateway that sends
// from one to the other.
const (
	opsVPCP, opsBYT  = "000.00.00.G22", "000.00.00.H41"
	opsKey           = "ops-test-key"
	opsClerkPassword = "mật khẩu văn thư thử"
)

// syncBuffer is a log sink the node's goroutines write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// opsNode is a node as serve runs it: a registry, a logger on an atomic
// level, and its operations endpoints on a test server.
type opsNode struct {
	n     *node
	reg   *prometheus.Registry
	log   *zap.Logger
	logs  *syncBuffer
	ops   *httptest.Server
	level zap.AtomicLevel
	ca    *signing.CA
	cfg   Config
}

// startOpsNode starts a node hosting VPCP and Nghệ An on the NATS server
// at natsURL, with its data and PKI in dir.
func startOpsNode(t *testing.T, dir, natsURL string) *opsNode {
	t.Helper()
	return startOpsNodeWith(t, dir, natsURL, nil)
}

// startOpsNodeWith is startOpsNode with configure, if not nil, changing
// the configuration before the node starts; the operations endpoints get
// its ops.token.
func startOpsNodeWith(t *testing.T, dir, natsURL string, configure func(*Config)) *opsNode {
	t.Helper()
	cfg, ca := opsConfig(t, dir)
	cfg.NATS.URL = natsURL
	if configure != nil {
		configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log, level, err := newLogger(cfg.Log, logs)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	n, err := openNode(t.Context(), cfg, log, reg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	registerAgencies(t, cfg, ca)
	ops := httptest.NewServer(opsHandler(n, reg, level, cfg.Ops.Token, log.Named("ops")))
	t.Cleanup(func() {
		ops.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("close the node: %v", err)
		}
		if t.Failed() {
			t.Logf("the node's log:\n%s", logs.String())
		}
	})
	return &opsNode{n: n, reg: reg, log: log, logs: logs, ops: ops, level: level, ca: ca, cfg: cfg}
}

// opsConfig returns the configuration of a gateway "ops" hosting VPCP and
// Nghệ An, with a development CA (its CRL in trust.crl), the agencies'
// keys and certificates, and its data, all in dir; an API key (opsKey) for
// both agencies and a clerk. Both listeners are on 127.0.0.1, free ports.
func opsConfig(t *testing.T, dir string) (Config, *signing.CA) {
	t.Helper()
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Gateway.ID, cfg.Gateway.DataDir = "ops", filepath.Join(dir, "data")
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Ops.Listen = "127.0.0.1:0"
	cfg.Trust.CA = []string{filepath.Join(ca.Dir(), signing.CACertFile)}
	cfg.Trust.CRL = []string{filepath.Join(ca.Dir(), signing.CRLFile)}
	cfg.Trust.Directory = []string{filepath.Join(ca.Dir(), signing.CACertFile)}
	key := APIKeyConfig{Name: "qlvb", Key: opsKey}
	for _, code := range []string{opsVPCP, opsBYT} {
		is, err := ca.Issue(signing.IssueRequest{Agency: code, Name: "Cơ quan " + code})
		if err != nil {
			t.Fatal(err)
		}
		prefix := filepath.Join(dir, strings.ReplaceAll(code, ".", "_"))
		if err := is.WriteFiles(prefix); err != nil {
			t.Fatal(err)
		}
		cfg.Agencies = append(cfg.Agencies, AgencyConfig{Code: code, Name: "Cơ quan " + code, Key: prefix + ".key", Cert: prefix + ".crt"})
		key.Agencies = append(key.Agencies, code)
	}
	cfg.APIKeys = []APIKeyConfig{key}
	hash, err := bcrypt.GenerateFromPassword([]byte(opsClerkPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Web.Clerks = []ClerkConfig{{Username: "vanthu", Name: "Văn thư", PasswordHash: string(hash), Agencies: []string{opsVPCP}}}
	return cfg, ca
}

// get fetches path from the operations endpoints.
func (o *opsNode) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return httpDo(t, http.MethodGet, o.ops.URL+path, "", nil)
}

// httpDo makes a request and returns the status and the body.
func httpDo(t *testing.T, method, url, ctype string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+opsKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitUntil polls cond every 50 ms until it is true, failing the test
// with what after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// opsLetter is an unsigned công văn from VPCP to Nghệ An.
func opsLetter(t *testing.T) []byte {
	t.Helper()
	return opsLetterNumbered(t, "42")
}

// opsLetterNumbered is opsLetter with another number, so that it is
// another document.
func opsLetterNumbered(t *testing.T, number string) []byte {
	t.Helper()
	b, err := letter.Letter{
		From:   letter.Agency{Code: opsVPCP, Name: "Văn phòng Chính phủ"},
		To:     []letter.Agency{{Code: opsBYT, Name: "UBND tỉnh Nghệ An"}},
		Number: number, Notation: "VPCP-TH", Subject: "V/v theo dõi cổng liên thông",
		Attachments: []envelope.Attachment{{Name: "cv.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 nội dung")}},
	}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOps: the operations endpoints of a node that sent a document
// through its API: /healthz, /metrics (which lints clean, passes promtool
// and counts the API request by route), /readyz and /loglevel.
func TestOps(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNode(t, t.TempDir(), srv.ClientURL())

	code, body := httpDo(t, http.MethodPost, o.n.URL()+"/api/v1/documents", "application/xml", opsLetter(t))
	if code != http.StatusAccepted {
		t.Fatalf("POST /api/v1/documents: %d %s", code, body)
	}
	var doc struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.ID == "" {
		t.Fatalf("POST /api/v1/documents answered %s (%v)", body, err)
	}
	waitUntil(t, 15*time.Second, "the 01", func() bool {
		d, err := o.n.gw.Store().Document(t.Context(), doc.ID)
		return err == nil && d.Deliveries[0].State == envelope.StateArrived
	})

	t.Run("Healthz", func(t *testing.T) {
		if code, body := o.get(t, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
			t.Errorf("/healthz: %d %q", code, body)
		}
	})

	t.Run("Readyz", func(t *testing.T) {
		code, body := o.get(t, "/readyz")
		if code != http.StatusOK {
			t.Errorf("/readyz: %d\n%s", code, body)
		}
		for _, part := range []string{"nats: ok", "store: ok", "directory: ok"} {
			if !strings.Contains(body, part) {
				t.Errorf("/readyz does not say %q:\n%s", part, body)
			}
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		var scrape string
		waitUntil(t, 5*time.Second, "the counters of the exchange", func() bool {
			var code int
			code, scrape = o.get(t, "/metrics")
			return code == http.StatusOK && strings.Contains(scrape, `lienthong_packets_received_total{kind="status",outcome="ok",peer="H41"} 1`)
		})
		for _, line := range []string{
			`lienthong_http_requests_total{code="202",route="POST /api/v1/documents"} 1`,
			`lienthong_http_request_duration_seconds_count{route="POST /api/v1/documents"} 1`,
			`lienthong_documents_submitted_total{outcome="accepted"} 1`,
			`lienthong_packets_sent_total{kind="edoc",peer="H41"} 1`,
			`lienthong_packets_received_total{kind="edoc",outcome="ok",peer="G22"} 1`,
			`lienthong_delivery_latency_seconds_count{peer="H41"} 1`,
			`lienthong_nats_connected 1`,
			`lienthong_gateway_info{gateway="ops",version="` + version + `"} 1`,
			`lienthong_certificate_expiry_seconds{agency="000.00.00.G22"}`,
			`lienthong_certificate_expiry_seconds{agency="000.00.00.H41"}`,
			`lienthong_crl_next_update_timestamp_seconds{issuer="CN=lienthong development CA,O=lienthong"}`,
			`go_goroutines `,
			`process_cpu_seconds_total `,
		} {
			if !strings.Contains(scrape, line) {
				t.Errorf("the scrape has no %s", line)
			}
		}
		problems, err := testutil.GatherAndLint(o.reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
		if testing.Verbose() {
			t.Logf("the scrape:\n%s", scrape)
		}
		t.Run("Promtool", func(t *testing.T) { promtool(t, scrape) })
	})

	t.Run("LogLevel", func(t *testing.T) {
		if code, body := o.get(t, "/loglevel"); code != http.StatusOK || !strings.Contains(body, `"level":"info"`) {
			t.Fatalf("GET /loglevel: %d %s", code, body)
		}
		o.log.Debug("probe while at info")
		code, body := httpDo(t, http.MethodPut, o.ops.URL+"/loglevel", "application/json", []byte(`{"level":"debug"}`))
		if code != http.StatusOK || !strings.Contains(body, `"level":"debug"`) {
			t.Fatalf("PUT /loglevel: %d %s", code, body)
		}
		o.log.Debug("probe while at debug")
		if code, body := httpDo(t, http.MethodPut, o.ops.URL+"/loglevel", "application/json", []byte(`{"level":"loud"}`)); code != http.StatusBadRequest {
			t.Errorf("PUT /loglevel with a bad level: %d %s", code, body)
		}
		code, body = httpDo(t, http.MethodPut, o.ops.URL+"/loglevel", "application/x-www-form-urlencoded", []byte("level=warn"))
		if code != http.StatusOK || o.level.Level() != zap.WarnLevel {
			t.Fatalf("PUT /loglevel level=warn: %d %s (level %s)", code, body, o.level.Level())
		}
		o.log.Info("probe while at warn")
		logs := o.logs.String()
		if strings.Contains(logs, "probe while at info") || strings.Contains(logs, "probe while at warn") {
			t.Error("a message below the level was logged")
		}
		if !strings.Contains(logs, "probe while at debug") {
			t.Error("after PUT debug, a debug message was not logged")
		}
	})
}

// promtool runs "promtool check metrics" on a scrape, when promtool is on
// the machine; with LIENTHONG_REQUIRE_PROMTOOL set, a missing promtool
// fails the test.
func promtool(t *testing.T, scrape string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("LIENTHONG_REQUIRE_PROMTOOL") != "" {
			t.Fatalf("promtool is required (LIENTHONG_REQUIRE_PROMTOOL is set) but not found: %v", err)
		}
		t.Skipf("promtool not found (Debian package prometheus): %v", err)
	}
	cmd := exec.CommandContext(t.Context(), path, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestOps_ReadyzNATS: /readyz turns 503 naming NATS when the NATS server
// goes away, while /healthz and /metrics still answer, and 200 again when
// the server comes back on the same port and store.
func TestOps_ReadyzNATS(t *testing.T) {
	dir := t.TempDir()
	port := nettest.Port(t)
	start := func() *server.Server {
		t.Helper()
		var srv *server.Server
		// The port was free a moment ago; after a shutdown it may take a
		// moment to be free again.
		waitUntil(t, 10*time.Second, "NATS to start on port "+strconv.Itoa(port), func() bool {
			var err error
			srv, err = bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: port})
			return err == nil
		})
		return srv
	}
	srv := start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNode(t, dir, srv.ClientURL())

	readyz := func() (int, string) { return o.get(t, "/readyz") }
	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz with NATS up: %d\n%s", code, body)
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	var body string
	waitUntil(t, 10*time.Second, "/readyz to turn 503", func() bool {
		var code int
		code, body = readyz()
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "nats: not connected") || !strings.Contains(body, "store: ok") {
		t.Errorf("/readyz without NATS says:\n%s", body)
	}
	if code, _ := o.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz without NATS: %d", code)
	}
	if code, scrape := o.get(t, "/metrics"); code != http.StatusOK || !strings.Contains(scrape, "lienthong_nats_connected 0") {
		t.Errorf("/metrics without NATS: %d, nats_connected 0 in it: %v", code, strings.Contains(scrape, "lienthong_nats_connected 0"))
	}

	srv = start()
	waitUntil(t, 30*time.Second, "/readyz to turn 200 again", func() bool {
		code, _ := readyz()
		return code == http.StatusOK
	})
	if code, scrape := o.get(t, "/metrics"); code != http.StatusOK || !strings.Contains(scrape, "lienthong_nats_connected 1") {
		t.Errorf("/metrics with NATS back: %d", code)
	}
}

// opsTestToken is the ops.token of the tests.
const opsTestToken = "ops-token-0123456789abcdef"

// opsRequest makes a request to the operations endpoints with the
// Authorization header auth (none if empty) and returns the status, the
// body and the WWW-Authenticate header.
func opsRequest(t *testing.T, method, url, auth, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate")
}

// TestOps_Token: with ops.token, PUT /loglevel without the token, with
// another scheme or a wrong token (also one that is a prefix of the right
// one) is refused 401 saying what is needed, and the level stays; with it
// the level changes. The GET endpoints answer without a token.
func TestOps_Token(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNodeWith(t, t.TempDir(), srv.ClientURL(), func(c *Config) { c.Ops.Token = opsTestToken })
	url := o.ops.URL + "/loglevel"

	for _, auth := range []string{"", "Basic " + opsTestToken, "Bearer", "Bearer " + opsTestToken[:len(opsTestToken)-1],
		"Bearer " + opsTestToken + "x", "Bearer " + opsKey} {
		code, body, challenge := opsRequest(t, http.MethodPut, url, auth, `{"level":"debug"}`)
		if code != http.StatusUnauthorized || !strings.Contains(body, "Authorization: Bearer <ops.token>") || !strings.HasPrefix(challenge, "Bearer") {
			t.Errorf("PUT /loglevel with Authorization %q: %d %q (WWW-Authenticate %q), want 401 naming the header", auth, code, body, challenge)
		}
		if o.level.Level() != zap.InfoLevel {
			t.Fatalf("PUT /loglevel with Authorization %q changed the level to %s", auth, o.level.Level())
		}
	}
	if !strings.Contains(o.logs.String(), "operations request refused") {
		t.Error("a refused request is not logged")
	}
	if code, body, _ := opsRequest(t, http.MethodPut, url, "Bearer "+opsTestToken, `{"level":"debug"}`); code != http.StatusOK || o.level.Level() != zap.DebugLevel {
		t.Errorf("PUT /loglevel with the token: %d %s, level %s", code, body, o.level.Level())
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/loglevel"} {
		if code, body, _ := opsRequest(t, http.MethodGet, o.ops.URL+path, "", ""); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d %s", path, code, body)
		}
	}
}

// registerAgencies registers the agencies of cfg in the directory of the
// NATS server at cfg.NATS.URL, as an administrator issued by ca, as the
// demo does.
func registerAgencies(t *testing.T, cfg Config, ca *signing.CA) {
	t.Helper()
	is, err := ca.Issue(signing.IssueRequest{Agency: opsVPCP, Name: "Quản trị", DirectoryScopes: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	var entries []gateway.DirectoryRecord
	for _, a := range cfg.Agencies {
		certs, err := signing.LoadCertificates(a.Cert)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, demoEntry(cfg.Gateway.ID, [2]string{a.Code, a.Name}, certs[0]))
	}
	if err := demoRegister(t.Context(), cfg.NATS.URL, admin, entries); err != nil {
		t.Fatal(err)
	}
}
