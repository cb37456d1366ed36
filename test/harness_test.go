package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/nettest"
	"github.com/lienthong/lienthong/signing"
)

// Bounds of the harness's waits.
const (
	natsReadyTimeout    = 20 * time.Second
	gatewayReadyTimeout = 30 * time.Second
	stopTimeout         = 20 * time.Second
	killTimeout         = 10 * time.Second
	directoryTimeout    = 30 * time.Second
)

// ---------------------------------------------------------------------------
// Processes

// process is a child process of the test: its output goes to two files in
// its directory, it is killed when the test ends, and the tails of its
// output are printed when the test fails.
type process struct {
	t    testing.TB
	name string
	bin  string
	args []string
	dir  string // stdout.log and stderr.log
	// env is added to the test's environment (childEnv).
	env []string

	// rebind, when set, moves the process to new ports after a start
	// failed because one of them was taken, and startReady starts it
	// again; without it such a failure fails the test. It is never
	// started again on the port that was taken: whoever took it may keep
	// it.
	rebind func()

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current run has exited
	state  *os.ProcessState
	starts int
}

func newProcess(t testing.TB, name, dir, bin string, args ...string) *process {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, name: name, bin: bin, args: args, dir: dir}
	t.Cleanup(func() {
		if p.running() {
			p.signal(syscall.SIGKILL)
			p.wait(killTimeout)
		}
		if t.Failed() {
			t.Logf("%s: last lines of %s:\n%s", p.name, p.logPath("stderr"), tail(p.logPath("stderr"), 40))
			if b, _ := os.ReadFile(p.logPath("stdout")); len(bytes.TrimSpace(markerLine.ReplaceAll(b, nil))) > 0 {
				t.Logf("%s: last lines of %s:\n%s", p.name, p.logPath("stdout"), tail(p.logPath("stdout"), 10))
			}
		}
	})
	return p
}

func (p *process) logPath(stream string) string { return filepath.Join(p.dir, stream+".log") }

// markerLine matches the line written to the logs before each start.
var markerLine = regexp.MustCompile(`(?m)^=== e2e: .* start #\d+ at .*\n`)

// lastRun returns what the current (or last) run wrote to stderr.
func (p *process) lastRun() string {
	b, _ := os.ReadFile(p.logPath("stderr"))
	locs := markerLine.FindAllIndex(b, -1)
	if len(locs) == 0 {
		return string(b)
	}
	return string(b[locs[len(locs)-1][1]:])
}

// startReady starts the process and polls ready until it reports true.
// A run that exits because a port of its was taken (by a program that is
// not a test: tests reserve their ports, see nettest.Port) is started
// again on new ports, if the process can move (rebind), a few times; any
// other exit fails the test.
func (p *process) startReady(timeout time.Duration, ready func() (bool, string)) {
	p.t.Helper()
	for try := 1; ; try++ {
		p.start()
		err := poll(timeout, 100*time.Millisecond, func() (bool, string) {
			if !p.running() {
				return true, ""
			}
			return ready()
		})
		if !p.running() {
			if p.rebind != nil && try < 5 && strings.Contains(p.lastRun(), "address already in use") {
				p.t.Logf("%s: a port of its is taken; starting again on new ones", p.name)
				p.rebind()
				continue
			}
			p.t.Fatalf("%s exited before it was ready: %s\n%s", p.name, p.exitState(), tailString(p.lastRun(), 20))
		}
		if err != nil {
			p.t.Fatalf("%s: %v", p.name, err)
		}
		return
	}
}

// start starts a new run of the process; it does not wait for it to be
// ready.
func (p *process) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.state == nil {
		p.t.Fatalf("%s: started while running", p.name)
	}
	p.starts++
	open := func(stream string) *os.File {
		f, err := os.OpenFile(p.logPath(stream), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			p.t.Fatal(err)
		}
		fmt.Fprintf(f, "=== e2e: %s start #%d at %s\n", p.name, p.starts, time.Now().Format(time.RFC3339Nano))
		return f
	}
	stdout, stderr := open("stdout"), open("stderr")
	defer stdout.Close()
	defer stderr.Close()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(childEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s: start %s: %v", p.name, p.bin, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.state = cmd, done, nil
	go func() {
		cmd.Wait()
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.mu.Unlock()
		close(done)
	}()
}

// childEnv is the test's environment without the LIENTHONG_* variables,
// which would override the configuration files.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIENTHONG_") {
			env = append(env, kv)
		}
	}
	return env
}

// running reports whether the current run has not exited.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && p.state == nil
}

// exitState describes how the last run ended, or "running".
func (p *process) exitState() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return "running"
	}
	return p.state.String()
}

func (p *process) doneChan() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *process) signal(sig os.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Signal(sig)
	}
}

// wait waits up to timeout for the current run to exit.
func (p *process) wait(timeout time.Duration) bool {
	done := p.doneChan()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stop sends SIGTERM and waits for a graceful exit; a process that does not
// exit within stopTimeout fails the test (and is killed).
func (p *process) stop() {
	p.t.Helper()
	if !p.running() {
		return
	}
	start := time.Now()
	p.signal(syscall.SIGTERM)
	if !p.wait(stopTimeout) {
		p.signal(syscall.SIGKILL)
		p.wait(killTimeout)
		p.t.Fatalf("%s: did not exit within %s of SIGTERM; killed", p.name, stopTimeout)
	}
	p.t.Logf("%s: stopped (SIGTERM) in %s: %s", p.name, time.Since(start).Round(time.Millisecond), p.exitState())
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	p.t.Helper()
	if !p.running() {
		p.t.Fatalf("%s: kill: not running (%s)", p.name, p.exitState())
	}
	p.signal(syscall.SIGKILL)
	if !p.wait(killTimeout) {
		p.t.Fatalf("%s: still running %s after SIGKILL", p.name, killTimeout)
	}
	p.t.Logf("%s: killed (SIGKILL)", p.name)
}

// countLines counts the lines of the process's stderr that contain s.
func (p *process) countLines(s string) int {
	f, err := os.Open(p.logPath("stderr"))
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// tail returns the last n lines of a file, each cut to 400 bytes.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return tailString(string(b), n)
}

func tailString(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + " …"
		}
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond every interval until it reports true, failing the
// test after timeout with what and cond's last description of the state.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	if err := poll(timeout, 100*time.Millisecond, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// poll is waitFor returning an error, for use outside the test goroutine.
func poll(timeout, interval time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s; last seen: %s", timeout, state)
		}
		time.Sleep(interval)
	}
}

// ---------------------------------------------------------------------------
// nats-server

// natsServer is an external nats-server process with JetStream, on a fixed
// port and store directory across restarts.
type natsServer struct {
	*process
	port     int
	storeDir string
}

func startNATS(t testing.TB, dir string) *natsServer {
	t.Helper()
	store := filepath.Join(dir, "jetstream")
	s := &natsServer{storeDir: store}
	s.process = newProcess(t, "nats-server", dir, natsServerBin)
	move := func() {
		s.port = nettest.Port(t)
		s.args = []string{"-js", "-sd", store, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-n", "e2e"}
	}
	move()
	// It may move until it first runs; after that the gateways know its
	// URL, and restarts keep the port, which stays reserved to the test.
	s.rebind = move
	s.restart()
	s.rebind = nil
	return s
}

// URL is the client URL.
func (s *natsServer) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// restart starts the server (again, on the same port and store) and waits
// until JetStream answers.
func (s *natsServer) restart() {
	s.t.Helper()
	start := time.Now()
	s.startReady(natsReadyTimeout, func() (bool, string) {
		nc, err := nats.Connect(s.URL(), nats.Timeout(time.Second), nats.NoReconnect())
		if err != nil {
			return false, err.Error()
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return false, err.Error()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := js.AccountInfo(ctx); err != nil {
			return false, "JetStream: " + err.Error()
		}
		return true, ""
	})
	s.t.Logf("nats-server: ready on %s in %s (start #%d)", s.URL(), time.Since(start).Round(time.Millisecond), s.starts)
}

// ---------------------------------------------------------------------------
// The axis: a PKI, one NATS server, gateways

// axis is one test's world: a development CA, an external nats-server and
// the gateways on it.
type axis struct {
	t    testing.TB
	dir  string
	ca   *signing.CA
	nats *natsServer
	// cluster, when set instead of nats, is a hub of several servers
	// the gateways join with their own credentials (cluster_test.go).
	cluster *hubCluster
	gws     []*gatewayProc
	// entries are the directory entries of the gateways' agencies, which
	// the administrator registers ("lienthong directory import") once the
	// gateways run.
	entries []directoryEntry
}

// directoryEntry is an agency's entry as "lienthong directory import -f"
// reads it.
type directoryEntry struct {
	Code         string   `yaml:"code"`
	Name         string   `yaml:"name"`
	Gateway      string   `yaml:"gateway"`
	Certificates []string `yaml:"certificates"`
}

// The directory administrator's key and certificate, in the CA's
// directory: newAxis and newClusterAxis issue them.
const adminFiles = "directory-admin"

// issueAdmin issues the directory administrator's certificate (scope *)
// from the axis's CA, whose certificate is also the directory's trust
// anchor.
func issueAdmin(t testing.TB, ca *signing.CA) {
	t.Helper()
	is, err := ca.Issue(signing.IssueRequest{Agency: agVPCP.Code, Name: "Quản trị trục liên thông", DirectoryScopes: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := is.WriteFiles(filepath.Join(ca.Dir(), adminFiles)); err != nil {
		t.Fatal(err)
	}
}

// register signs the entries of every gateway's agencies with the
// administrator's key and publishes them, with the real command.
func (a *axis) register() {
	a.t.Helper()
	file := filepath.Join(a.dir, "directory.yaml")
	b, err := yaml.Marshal(map[string]any{"agencies": a.entries})
	if err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		a.t.Fatal(err)
	}
	admin := filepath.Join(a.ca.Dir(), adminFiles)
	args := []string{"directory", "import", "-f", file, "-admin-key", admin + ".key", "-admin-cert", admin + ".crt"}
	if a.cluster != nil {
		args = append(args, "-url", a.cluster.URLs(), "-nkey", a.cluster.admin, "-ca", a.cluster.ca)
	} else {
		args = append(args, "-url", a.nats.URL())
	}
	if out, err := exec.Command(lienthongBin, args...).CombinedOutput(); err != nil {
		a.t.Fatalf("lienthong %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// agency is an agency a gateway hosts.
type agency struct {
	Code, Name string
}

// The agencies of the tests.
var (
	agVPCP      = agency{"000.00.00.G22", "Văn phòng Chính phủ"}
	agBYT       = agency{"000.00.00.G18", "Bộ Y tế"}
	agNgheAn    = agency{"000.00.00.H41", "UBND tỉnh Nghệ An"}
	agSYTNgheAn = agency{"000.00.12.H41", "Sở Y tế tỉnh Nghệ An"}
	agHCM       = agency{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"}
)

func newAxis(t testing.TB) *axis {
	t.Helper()
	dir := t.TempDir()
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	issueAdmin(t, ca)
	a := &axis{t: t, dir: dir, ca: ca}
	a.nats = startNATS(t, filepath.Join(dir, "nats"))
	return a
}

// gatewayProc is one `lienthong serve` process.
type gatewayProc struct {
	*process
	id     string
	config string
	// addrMu guards addr, the host:port of the API, and opsAddr, that of
	// the operations listener (/metrics, /readyz …): a start that finds a
	// port taken moves them while the test's clients read them.
	addrMu        sync.Mutex
	addr, opsAddr string
	agencies      []agency
	keys          map[string]string // agency code → its DMS's API key
	cfg           serveConfig       // as written in config
}

// serveConfig mirrors the keys of the serve configuration that the tests
// set (cmd/lienthong/config.go).
type serveConfig struct {
	Gateway struct {
		ID              string `yaml:"id"`
		DataDir         string `yaml:"dataDir"`
		ShutdownTimeout string `yaml:"shutdownTimeout"`
	} `yaml:"gateway"`
	HTTP struct {
		Listen string `yaml:"listen"`
	} `yaml:"http"`
	NATS struct {
		URL       string `yaml:"url"`
		NKeyFile  string `yaml:"nkeyFile,omitempty"`
		CAFile    string `yaml:"caFile,omitempty"`
		Replicas  int    `yaml:"replicas,omitempty"`
		Bind      bool   `yaml:"bind,omitempty"`
		Domain    string `yaml:"domain,omitempty"`
		HubDomain string `yaml:"hubDomain,omitempty"`
	} `yaml:"nats"`
	Trust struct {
		CA        []string `yaml:"ca"`
		CRL       []string `yaml:"crl"`
		Directory []string `yaml:"directory"`
	} `yaml:"trust"`
	Agencies []serveAgency `yaml:"agencies"`
	APIKeys  []serveAPIKey `yaml:"apiKeys"`
	Log      struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
	Ops struct {
		Listen string `yaml:"listen"`
	} `yaml:"ops"`
}

type serveAgency struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
	Cert string `yaml:"cert"`
}

type serveAPIKey struct {
	Name     string   `yaml:"name"`
	Key      string   `yaml:"key"`
	Agencies []string `yaml:"agencies"`
}

// addGateway issues certificates for the agencies and writes the
// gateway's configuration: its own data directory, an API port, the
// external NATS (or the hub cluster), one API key per agency. axis.ready
// starts it.
func (a *axis) addGateway(id string, agencies ...agency) *gatewayProc {
	a.t.Helper()
	return a.addGatewayOn(a.join, id, agencies...)
}

// join points a gateway's configuration at the axis's NATS.
func (a *axis) join(cfg *serveConfig, id string, agencies []agency) {
	if a.cluster != nil {
		a.cluster.join(cfg, id, agencies)
	} else {
		cfg.NATS.URL = a.nats.URL()
	}
}

// addGatewayOn is addGateway with the NATS part of the configuration
// written by join (a leaf node's, say).
func (a *axis) addGatewayOn(join func(cfg *serveConfig, id string, agencies []agency), id string, agencies ...agency) *gatewayProc {
	a.t.Helper()
	dir := filepath.Join(a.dir, id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		a.t.Fatal(err)
	}
	g := &gatewayProc{id: id, agencies: agencies, keys: map[string]string{}, config: filepath.Join(dir, "lienthong.yaml")}
	var cfg serveConfig
	cfg.Gateway.ID = id
	cfg.Gateway.DataDir = "data"
	cfg.Gateway.ShutdownTimeout = "10s"
	cfg.HTTP.Listen, cfg.Ops.Listen = g.newAddrs(a.t)
	join(&cfg, id, agencies)
	cfg.Trust.CA = []string{filepath.Join(a.ca.Dir(), signing.CACertFile)}
	cfg.Trust.CRL = []string{filepath.Join(a.ca.Dir(), signing.CRLFile)}
	cfg.Trust.Directory = []string{filepath.Join(a.ca.Dir(), signing.CACertFile)}
	cfg.Log.Level, cfg.Log.Format = "info", "json"
	for _, ag := range agencies {
		is, err := a.ca.Issue(signing.IssueRequest{Agency: ag.Code, Name: ag.Name})
		if err != nil {
			a.t.Fatal(err)
		}
		prefix := strings.ReplaceAll(ag.Code, ".", "_")
		if err := is.WriteFiles(filepath.Join(dir, prefix)); err != nil {
			a.t.Fatal(err)
		}
		secret := make([]byte, 16)
		rand.Read(secret)
		key := "e2e-" + id + "-" + prefix + "-" + hex.EncodeToString(secret)
		g.keys[ag.Code] = key
		cfg.Agencies = append(cfg.Agencies, serveAgency{Code: ag.Code, Name: ag.Name, Key: prefix + ".key", Cert: prefix + ".crt"})
		a.entries = append(a.entries, directoryEntry{Code: ag.Code, Name: ag.Name, Gateway: id, Certificates: []string{filepath.Join(dir, prefix+".crt")}})
		cfg.APIKeys = append(cfg.APIKeys, serveAPIKey{Name: "qlvb-" + prefix, Key: key, Agencies: []string{ag.Code}})
	}
	g.cfg = cfg
	g.writeConfig(a.t)
	g.process = newProcess(a.t, "gateway "+id, dir, lienthongBin, "serve", "-config", g.config)
	g.rebind = func() {
		g.cfg.HTTP.Listen, g.cfg.Ops.Listen = g.newAddrs(g.t)
		g.writeConfig(g.t)
	}
	a.gws = append(a.gws, g)
	return g
}

// newAddrs reserves two ports, for the API and the operations listener,
// and makes them the gateway's addresses; the configuration is the
// caller's to write.
func (g *gatewayProc) newAddrs(t testing.TB) (api, ops string) {
	api, ops = "127.0.0.1:"+strconv.Itoa(nettest.Port(t)), "127.0.0.1:"+strconv.Itoa(nettest.Port(t))
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	g.addr, g.opsAddr = api, ops
	return g.addr, g.opsAddr
}

// opsAddress is the host:port of the operations listener.
func (g *gatewayProc) opsAddress() string {
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	return g.opsAddr
}

// writeConfig writes the gateway's configuration file from g.cfg; the
// gateway reads it at its next start.
func (g *gatewayProc) writeConfig(t testing.TB) {
	t.Helper()
	b, err := yaml.Marshal(&g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.config, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// host adds ag, signing with the key and certificate at prefix (.key,
// .crt), to the gateway's configuration with an API key of its own, as
// an operator does before restarting the gateway with it.
func (g *gatewayProc) host(ag agency, prefix string) {
	g.t.Helper()
	secret := make([]byte, 16)
	rand.Read(secret)
	key := "e2e-" + g.id + "-" + strings.ReplaceAll(ag.Code, ".", "_") + "-" + hex.EncodeToString(secret)
	g.keys[ag.Code] = key
	g.agencies = append(g.agencies, ag)
	g.cfg.Agencies = append(g.cfg.Agencies, serveAgency{Code: ag.Code, Name: ag.Name, Key: prefix + ".key", Cert: prefix + ".crt"})
	g.cfg.APIKeys = append(g.cfg.APIKeys, serveAPIKey{Name: "qlvb-" + ag.Code, Key: key, Agencies: []string{ag.Code}})
	g.writeConfig(g.t)
}

// drop takes ag out of the gateway's configuration, with its API key.
func (g *gatewayProc) drop(ag agency) {
	g.t.Helper()
	delete(g.keys, ag.Code)
	g.agencies = slices.DeleteFunc(g.agencies, func(a agency) bool { return a.Code == ag.Code })
	g.cfg.Agencies = slices.DeleteFunc(g.cfg.Agencies, func(a serveAgency) bool { return a.Code == ag.Code })
	g.cfg.APIKeys = slices.DeleteFunc(g.cfg.APIKeys, func(k serveAPIKey) bool { return slices.Contains(k.Agencies, ag.Code) })
	g.writeConfig(g.t)
}

// URL is the base URL of the gateway's API.
func (g *gatewayProc) URL() string {
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	return "http://" + g.addr
}

// client returns an API client with the key of the DMS of agency.
func (g *gatewayProc) client(ag agency) *apiClient {
	g.t.Helper()
	key, ok := g.keys[ag.Code]
	if !ok {
		g.t.Fatalf("gateway %s does not host %s", g.id, ag.Code)
	}
	return newClient(g.URL, key)
}

// answers reports whether the gateway's API answers an authenticated
// request with its own key: a server of another test that took the port
// would answer 401, or not at all, never 200.
func (g *gatewayProc) answers() (bool, string) {
	hc := &http.Client{Timeout: 2 * time.Second}
	req, err := http.NewRequest(http.MethodGet, g.URL()+"/api/v1/documents?limit=1", nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+g.keys[g.agencies[0].Code])
	resp, err := hc.Do(req)
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}

// restart starts `lienthong serve` (again, on the same configuration and
// data) and waits until its API answers; a process that exits meanwhile
// fails the test at once.
func (g *gatewayProc) restart() {
	g.t.Helper()
	start := time.Now()
	g.startReady(gatewayReadyTimeout, g.answers)
	g.t.Logf("%s: API ready on %s in %s (start #%d)", g.name, g.URL(), time.Since(start).Round(time.Millisecond), g.starts)
}

// quiesce waits until everything from has queued is published
// (lienthong_outbox_items 0) and to's consumers hold nothing
// unacknowledged (lienthong_consumer_pending 0, read while connected):
// the barrier after which a packet from sent to to, and not seen there,
// never will be.
func quiesce(t *testing.T, from, to *gatewayProc) {
	t.Helper()
	waitFor(t, exchangeTimeout, from.id+"'s outbox empty and "+to.id+"'s consumers settled", func() (bool, string) {
		if n := metricValue(t, from, "lienthong_outbox_items"); n > 0 {
			return false, fmt.Sprintf("%v in %s's outbox", n, from.id)
		}
		if metricValue(t, to, "lienthong_nats_connected") != 1 {
			return false, to.id + " not connected to NATS"
		}
		n := metricValue(t, to, "lienthong_consumer_pending")
		return n == 0, fmt.Sprintf("%v unacknowledged at %s", n, to.id)
	})
}

// ready starts every gateway and waits for its API, has the administrator
// register every agency, then waits until every gateway's directory lists
// every agency of the axis.
func (a *axis) ready() {
	a.t.Helper()
	for _, g := range a.gws {
		g.restart()
	}
	a.register()
	var all []string
	for _, g := range a.gws {
		for _, ag := range g.agencies {
			all = append(all, ag.Code)
		}
	}
	for _, g := range a.gws {
		c := g.client(g.agencies[0])
		waitFor(a.t, directoryTimeout, "the directory of "+g.id, func() (bool, string) {
			dir, err := c.directory(context.Background())
			if err != nil {
				return false, err.Error()
			}
			known := map[string]bool{}
			for _, e := range dir {
				known[e.Code] = true
			}
			var missing []string
			for _, code := range all {
				if !known[code] {
					missing = append(missing, code)
				}
			}
			return len(missing) == 0, "missing " + strings.Join(missing, ", ")
		})
	}
}
