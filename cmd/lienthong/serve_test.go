package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/signing"
)

// TestServe_Page: with clerks configured, the node serves the clerk's
// page at the root and the API under /api/v1 on one listener, and a
// graceful shutdown is not held open by a page's live stream.
func TestServe_Page(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNode(t, t.TempDir(), srv.ClientURL())
	base := o.n.URL()

	if code, body := httpDo(t, http.MethodGet, base+"/api/v1/openapi.json", "", nil); code != http.StatusOK || !strings.Contains(body, `"openapi"`) {
		t.Fatalf("the API under the page: %d", code)
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(base + "/dang-nhap")
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	bufio.NewReader(res.Body).WriteTo(&page)
	res.Body.Close()
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.String())
	if res.StatusCode != http.StatusOK || token == nil {
		t.Fatalf("GET /dang-nhap: %d\n%s", res.StatusCode, page.String())
	}
	form := url.Values{"csrf": {token[1]}, "username": {"vanthu"}, "password": {opsClerkPassword}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/dang-nhap", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "lienthong_session" {
			session = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in: %d, cookie %v", res.StatusCode, session)
	}

	// A live stream stays open until the server shuts down.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/su-kien", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	stream, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK || !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /su-kien: %d %s", stream.StatusCode, stream.Header.Get("Content-Type"))
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		bufio.NewReader(stream.Body).WriteTo(new(strings.Builder))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.n.http.Shutdown(ctx); err != nil {
		t.Errorf("graceful shutdown with a live stream open: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the live stream did not end at shutdown")
	}
}

// serveProcess is "lienthong serve" running as a process of its own, built
// from this package, so that signals reach it as they reach a gateway in
// production.
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	cfg    Config
	ca     *signing.CA
	api    string // base URL of the API
	ops    string // base URL of the operations listener
	exited chan struct{}
}

// buildLienthong builds the command into dir and returns its path.
func buildLienthong(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "lienthong")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServe writes the configuration of opsConfig, as configure changes
// it, with its embedded NATS server, and runs "lienthong serve" on it,
// without the LIENTHONG_* variables of the test's environment. It returns
// once both listeners are up; the process is killed when the test ends,
// if it is still running.
func startServe(t *testing.T, configure func(*Config)) *serveProcess {
	t.Helper()
	dir := t.TempDir()
	bin := buildLienthong(t, dir)
	cfg, ca := opsConfig(t, dir)
	cfg.Gateway.ShutdownTimeout = 2 * time.Minute
	if configure != nil {
		configure(&cfg)
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: exec.Command(bin, "serve", "-config", file), stderr: &syncBuffer{}, cfg: cfg, ca: ca, exited: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIENTHONG_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.running() {
			return
		}
		p.cmd.Process.Kill()
		<-p.exited
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the process's stderr:\n%s", p.stderr.String())
		}
	})
	serving := regexp.MustCompile(`gateway ops serving .* on (http://\S+)\n`)
	ops := regexp.MustCompile(`operations \(.*\) on (http://\S+)\n`)
	waitUntil(t, 60*time.Second, "serve to start", func() bool {
		if !p.running() {
			t.Fatalf("serve exited at start: %v", p.cmd.ProcessState)
		}
		out := p.stderr.String()
		a, o := serving.FindStringSubmatch(out), ops.FindStringSubmatch(out)
		if a == nil || o == nil {
			return false
		}
		p.api, p.ops = a[1], o[1]
		return true
	})
	return p
}

// running says whether the process has not exited.
func (p *serveProcess) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signal sends s to the process.
func (p *serveProcess) signal(t *testing.T, s os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		t.Fatalf("signal %s: %v", s, err)
	}
}

// mark is where the process's output is now, for waitLog.
func (p *serveProcess) mark() int { return len(p.stderr.String()) }

// waitLog waits until the output after mark has every one of subs in one
// line, and returns that line.
func (p *serveProcess) waitLog(t *testing.T, mark int, subs ...string) string {
	t.Helper()
	var found string
	waitUntil(t, 15*time.Second, fmt.Sprintf("a log line with %q", subs), func() bool {
		p.alive(t)
	lines:
		for line := range strings.Lines(p.stderr.String()[mark:]) {
			for _, s := range subs {
				if !strings.Contains(line, s) {
					continue lines
				}
			}
			found = line
			return true
		}
		return false
	})
	return found
}

// alive fails the test at once if the process has exited.
func (p *serveProcess) alive(t *testing.T) {
	t.Helper()
	if !p.running() {
		t.Fatalf("serve exited: %v", p.cmd.ProcessState)
	}
}

// healthy fails the test unless the process runs and answers /healthz.
func (p *serveProcess) healthy(t *testing.T) {
	t.Helper()
	p.alive(t)
	if code, body, _ := opsRequest(t, http.MethodGet, p.ops+"/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
}

// metric returns the value of the first series of the scrape whose line
// starts with series (a name and, if any, its labels), or false.
func (p *serveProcess) metric(t *testing.T, series string) (float64, bool) {
	t.Helper()
	code, scrape, _ := opsRequest(t, http.MethodGet, p.ops+"/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for line := range strings.Lines(scrape) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v, true
		}
	}
	return 0, false
}

// waitMetric waits until the series has the value want.
func (p *serveProcess) waitMetric(t *testing.T, series string, want float64) {
	t.Helper()
	var got float64
	var ok bool
	waitUntil(t, 20*time.Second, fmt.Sprintf("%s %v", series, want), func() bool {
		p.alive(t)
		got, ok = p.metric(t, series)
		return ok && got == want
	})
}

// send posts a letter from VPCP to Nghệ An through the API.
func (p *serveProcess) send(t *testing.T, number string) {
	t.Helper()
	if code, body := httpDo(t, http.MethodPost, p.api+"/api/v1/documents", "application/xml", opsLetterNumbered(t, number)); code != http.StatusAccepted {
		t.Fatalf("POST /api/v1/documents: %d %s", code, body)
	}
}

// TestServe_SIGHUPReloadsCRL: a gateway process whose CA revokes the
// sender's certificate keeps accepting its documents until SIGHUP, and
// refuses them (revoked) after it, without stopping. A CRL file that
// cannot be read, or an older list put back in its place, is logged and
// the list in use kept; a stale list is logged as such, and
// lienthong_crl_next_update_timestamp_seconds says when it went stale.
// The ops token read from ops.tokenFile guards PUT /loglevel. One SIGTERM
// then shuts the process down gracefully, with status 0.
func TestServe_SIGHUPReloadsCRL(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "ops.token")
	if err := os.WriteFile(tokenFile, []byte(opsTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, func(c *Config) { c.Ops.TokenFile = tokenFile })
	crlFile := p.cfg.Trust.CRL[0]
	issuer := p.ca.Certificate().Subject.String()
	nextUpdate := `lienthong_crl_next_update_timestamp_seconds{issuer="` + issuer + `"}`
	valid := `lienthong_signature_verdicts_total{kind="edoc",verdict="valid"}`
	revoked := `lienthong_signature_verdicts_total{kind="edoc",verdict="revoked"}`

	t.Run("OpsToken", func(t *testing.T) {
		if code, body, _ := opsRequest(t, http.MethodPut, p.ops+"/loglevel", "", `{"level":"debug"}`); code != http.StatusUnauthorized {
			t.Errorf("PUT /loglevel without the token: %d %s", code, body)
		}
		if code, body, _ := opsRequest(t, http.MethodPut, p.ops+"/loglevel", "Bearer "+opsTestToken, `{"level":"info"}`); code != http.StatusOK {
			t.Errorf("PUT /loglevel with the token of ops.tokenFile: %d %s", code, body)
		}
	})

	first, err := p.ca.CRL()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := p.metric(t, nextUpdate); !ok || v != float64(first.NextUpdate.Unix()) {
		t.Fatalf("%s = %v (%v), want %d", nextUpdate, v, ok, first.NextUpdate.Unix())
	}
	firstPEM, err := os.ReadFile(crlFile)
	if err != nil {
		t.Fatal(err)
	}
	p.send(t, "1")
	p.waitMetric(t, valid, 1)

	// Revoked at the CA: not known to the gateway until SIGHUP.
	sender, err := signing.LoadCertificates(p.cfg.Agencies[0].Cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ca.RevokeCertificate(sender[0]); err != nil {
		t.Fatal(err)
	}
	p.send(t, "2")
	p.waitMetric(t, valid, 2)
	mark := p.mark()
	p.signal(t, syscall.SIGHUP)
	p.waitLog(t, mark, "CRL reloaded", crlFile, `"revoked":1`)
	p.healthy(t)
	p.send(t, "3")
	p.waitMetric(t, revoked, 1)
	goodPEM, err := os.ReadFile(crlFile)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Unreadable", func(t *testing.T) {
		if err := os.WriteFile(crlFile, []byte("-----BEGIN X509 CRL-----\nnot a CRL\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mark := p.mark()
		p.signal(t, syscall.SIGHUP)
		p.waitLog(t, mark, "CRL not reloaded; the list in use is kept", crlFile)
		p.healthy(t)
		p.send(t, "4")
		p.waitMetric(t, revoked, 2)
	})

	t.Run("Older", func(t *testing.T) {
		// The list from before the revocation, signed by the CA all the
		// same: putting it back must not undo the revocation.
		if err := os.WriteFile(crlFile, firstPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		mark := p.mark()
		p.signal(t, syscall.SIGHUP)
		p.waitLog(t, mark, "older than the list in use", crlFile)
		p.healthy(t)
		p.send(t, "5")
		p.waitMetric(t, revoked, 3)
	})

	t.Run("Stale", func(t *testing.T) {
		if err := os.WriteFile(crlFile, goodPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		// A list made 40 days ago, current for 30 of them.
		p.ca.Now = func() time.Time { return time.Now().Add(-40 * 24 * time.Hour) }
		if err := p.ca.RefreshCRL(); err != nil {
			t.Fatal(err)
		}
		stale, err := p.ca.CRL()
		if err != nil {
			t.Fatal(err)
		}
		mark := p.mark()
		p.signal(t, syscall.SIGHUP)
		line := p.waitLog(t, mark, "CRL is stale", crlFile)
		if !strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, issuer) {
			t.Errorf("the stale CRL is logged as %s", line)
		}
		p.waitMetric(t, nextUpdate, float64(stale.NextUpdate.Unix()))
		p.healthy(t)
	})

	mark = p.mark()
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not shut down within a minute of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("after a graceful shutdown serve exited with %d, want 0", code)
	}
	if out := p.stderr.String()[mark:]; !strings.Contains(out, "shutting down") || !strings.Contains(out, "signal terminated") {
		t.Errorf("the shutdown does not log its cause:\n%s", out)
	}
}

// TestServe_SecondSignal: while a graceful shutdown waits for a request in
// flight (an upload that does not end), a second SIGTERM ends the process
// at once with status 143 and a line saying so.
func TestServe_SecondSignal(t *testing.T) {
	p := startServe(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.api, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The headers and the start of a body that never comes in full: the
	// API's handler waits for the rest, and the graceful shutdown for it.
	fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: lienthong\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/xml\r\nContent-Length: 1000000\r\n\r\n<?xml version=\"1.0\"?>", opsKey)
	time.Sleep(200 * time.Millisecond)

	mark := p.mark()
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, mark, "shutting down")
	select {
	case <-p.exited:
		t.Fatalf("serve exited (%v) before the second signal: the upload did not hold the shutdown, the test proves nothing", p.cmd.ProcessState)
	case <-time.After(time.Second):
	}
	start := time.Now()
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("serve is still running 5 s after the second SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("after the second SIGTERM serve exited with %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if !strings.Contains(p.stderr.String()[mark:], "second signal (terminated)") {
		t.Errorf("no line about the second signal:\n%s", p.stderr.String()[mark:])
	}
	t.Logf("exited %s after the second signal", time.Since(start).Round(time.Millisecond))
}

// TestServe_CRLReloadTimer: with trust.crlReload, a revocation reaches the
// running gateway's verifier without a signal.
func TestServe_CRLReloadTimer(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNodeWith(t, t.TempDir(), srv.ClientURL(), func(c *Config) { c.Trust.CRLReload = time.Second })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		newCRLReloader(o.cfg.Trust.CRL, o.n.gw, o.log.Named("crl")).run(ctx, nil, o.cfg.Trust.CRLReload)
	}()
	defer func() { cancel(); <-done }()

	sender := o.n.gw.HostedAgencies()[0].Signer.Certificate()
	if err := o.ca.RevokeCertificate(sender); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the revocation to reach the verifier", func() bool {
		crls := o.n.gw.CRLs()
		return len(crls) == 1 && len(crls[0].RevokedCertificateEntries) == 1 &&
			crls[0].RevokedCertificateEntries[0].SerialNumber.Cmp(sender.SerialNumber) == 0
	})
	if !strings.Contains(o.logs.String(), "CRL reloaded") {
		t.Error("the reload is not logged")
	}
}
