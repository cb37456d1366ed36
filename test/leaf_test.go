package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// linkProxy forwards TCP connections from its own port to a target, and
// can cut every connection and refuse new ones, as a provincial link that
// goes down.
type linkProxy struct {
	t      testing.TB
	target string
	port   int

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newLinkProxy(t testing.TB, target string) *linkProxy {
	p := &linkProxy{t: t, target: target, port: freePort(t)}
	p.up()
	t.Cleanup(p.down)
	return p
}

// up listens again and forwards.
func (p *linkProxy) up() {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

// down closes the listener and every connection.
func (p *linkProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestNATS_LeafStoreAndForward checks, with real nats-server processes and
// no gateway yet, the topology deploy/nats is to give provinces: a leaf
// node with its own JetStream domain behind a link that goes down.
// Outgoing packets are acknowledged by a local stream (LT_OUT_EDOC) that
// the hub's LT_EDOC sources; incoming ones reach the leaf's LT_EDOC, which
// has no subjects of its own and sources the hub's, filtered to the
// province; plain messages do not cross the link (deny lt.>), so nothing
// arrives twice or loops. While the link is down the province publishes
// and the hub publishes to it; when it returns each side has every
// message exactly once.
func TestNATS_LeafStoreAndForward(t *testing.T) {
	faultTest(t)
	dir := t.TempDir()
	hubPort, leafPort, hubLeafPort := freePort(t), freePort(t), freePort(t)
	write := func(name, conf string) string {
		p := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hubConf := write("hub", fmt.Sprintf(`server_name: hub
listen: "127.0.0.1:%d"
jetstream { store_dir: %q, domain: hub }
leafnodes { listen: "127.0.0.1:%d", no_advertise: true }
`, hubPort, filepath.Join(dir, "hub-js"), hubLeafPort))
	proxy := newLinkProxy(t, "127.0.0.1:"+strconv.Itoa(hubLeafPort))
	leafConf := write("leaf", fmt.Sprintf(`server_name: leaf-h41
listen: "127.0.0.1:%d"
jetstream { store_dir: %q, domain: h41 }
leafnodes {
  reconnect: "1s"
  remotes: [ { url: "nats-leaf://127.0.0.1:%d", deny_imports: ["lt.>"], deny_exports: ["lt.>"] } ]
}
`, leafPort, filepath.Join(dir, "leaf-js"), proxy.port))
	hub := newProcess(t, "nats hub", filepath.Join(dir, "hub"), natsServerBin, "-c", hubConf)
	leaf := newProcess(t, "nats leaf", filepath.Join(dir, "leaf"), natsServerBin, "-c", leafConf)
	hub.start()
	leaf.start()

	connect := func(port int, domain string) (*nats.Conn, jetstream.JetStream, jetstream.JetStream) {
		var nc *nats.Conn
		waitFor(t, 30*time.Second, "a server on "+strconv.Itoa(port), func() (bool, string) {
			var err error
			nc, err = nats.Connect("nats://127.0.0.1:"+strconv.Itoa(port), nats.Timeout(time.Second))
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		t.Cleanup(nc.Close)
		local, err := jetstream.NewWithDomain(nc, domain)
		if err != nil {
			t.Fatal(err)
		}
		other := "hub"
		if domain == "hub" {
			other = "h41"
		}
		remote, _ := jetstream.NewWithDomain(nc, other)
		return nc, local, remote
	}
	_, hubJS, _ := connect(hubPort, "hub")
	_, leafJS, _ := connect(leafPort, "h41")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stream := func(js jetstream.JetStream, cfg jetstream.StreamConfig) {
		t.Helper()
		cfg.Storage, cfg.Duplicates = jetstream.FileStorage, 48*time.Hour
		waitFor(t, 30*time.Second, "stream "+cfg.Name, func() (bool, string) {
			if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
				return false, err.Error()
			}
			return true, ""
		})
	}
	// The province's out-stream, the hub's stream that sources it, then
	// the province's in-stream that sources the hub's (a source whose
	// stream does not exist yet is retried only after a back-off).
	stream(leafJS, jetstream.StreamConfig{Name: "LT_OUT_EDOC", Subjects: []string{"lt.edoc.>"}})
	// The hub: its own publishers, and what the province sends.
	stream(hubJS, jetstream.StreamConfig{Name: "LT_EDOC", Subjects: []string{"lt.edoc.>"},
		Sources: []*jetstream.StreamSource{{Name: "LT_OUT_EDOC", Domain: "h41"}}})
	stream(leafJS, jetstream.StreamConfig{Name: "LT_EDOC", Sources: []*jetstream.StreamSource{{
		Name: "LT_EDOC", Domain: "hub",
		SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: "lt.edoc.H41", Destination: "lt.edoc.H41"}, {Source: "lt.edoc.H41.>", Destination: "lt.edoc.H41.>"},
		},
	}}})

	count := func(js jetstream.JetStream, name, subject string) int {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return -1
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			return -1
		}
		n := 0
		for _, c := range info.State.Subjects {
			n += int(c)
		}
		return n
	}
	publish := func(js jetstream.JetStream, subject string, n int, prefix string) {
		for i := range n {
			if _, err := js.Publish(ctx, subject, []byte(prefix), jetstream.WithMsgID(prefix+strconv.Itoa(i))); err != nil {
				t.Fatalf("publish %s #%d: %v", subject, i, err)
			}
		}
	}
	expect := func(what string, js jetstream.JetStream, name, subject string, want int) {
		t.Helper()
		waitFor(t, time.Minute, what, func() (bool, string) {
			n := count(js, name, subject)
			return n == want, fmt.Sprintf("%d of %d", n, want)
		})
	}

	// Link up: both ways, and a message inside the province goes round
	// the hub and comes back once.
	publish(leafJS, "lt.edoc.G22", 10, "up-out-")
	publish(hubJS, "lt.edoc.H41", 10, "up-in-")
	publish(leafJS, "lt.edoc.H41.12", 5, "up-internal-")
	expect("the province's packets at the hub", hubJS, "LT_EDOC", "lt.edoc.G22", 10)
	expect("the hub's packets in the province", leafJS, "LT_EDOC", "lt.edoc.H41", 10)
	expect("internal packets back in the province", leafJS, "LT_EDOC", "lt.edoc.H41.12", 5)

	// Link down: the province keeps publishing (acknowledged locally),
	// and so does the hub.
	proxy.down()
	time.Sleep(time.Second)
	cut := time.Now()
	publish(leafJS, "lt.edoc.G22", 200, "down-out-")
	publish(hubJS, "lt.edoc.H41", 100, "down-in-")
	if n := count(hubJS, "LT_EDOC", "lt.edoc.G22"); n != 10 {
		t.Errorf("with the link down the hub has %d of the province's packets, want the 10 from before", n)
	}
	time.Sleep(2 * time.Second)
	proxy.up()
	back := time.Now()
	expect("every packet the province sent while cut", hubJS, "LT_EDOC", "lt.edoc.G22", 210)
	expect("every packet sent to the province while cut", leafJS, "LT_EDOC", "lt.edoc.H41", 110)
	t.Logf("link down %s; caught up %s after it returned", back.Sub(cut).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	// Exactly once, after settling: nothing loops or doubles.
	time.Sleep(3 * time.Second)
	for _, c := range []struct {
		js            jetstream.JetStream
		name, subject string
		want          int
	}{
		{hubJS, "LT_EDOC", "lt.edoc.G22", 210}, {leafJS, "LT_EDOC", "lt.edoc.H41", 110},
		{leafJS, "LT_EDOC", "lt.edoc.H41.12", 5}, {hubJS, "LT_EDOC", "lt.edoc.H41.12", 5},
		{leafJS, "LT_EDOC", "lt.edoc.G22", 0}, {leafJS, "LT_OUT_EDOC", "lt.edoc.H41", 0},
	} {
		if n := count(c.js, c.name, c.subject); n != c.want {
			t.Errorf("%s %s: %d messages, want %d", c.name, c.subject, n, c.want)
		}
	}
}

// leafNode is a province's nats-server, configured from
// deploy/nats/leaf.conf, linked to every hub node through a linkProxy of
// its own, so that the test can cut the province off.
type leafNode struct {
	*process
	c              *hubCluster
	domain         string
	user, password string // the province's user at the hub
	hash           string // its bcrypt hash, in the hub's leafnodes.conf
	client, http   int
	dir            string
	users          []string // the gateways' user blocks
	proxies        []*linkProxy
}

// addLeaf registers a leaf node with JetStream domain h41 (the one
// leaf.conf names) before the hub starts: its user goes into the hub's
// leafnodes.conf.
func (c *hubCluster) addLeaf() *leafNode {
	c.t.Helper()
	l := &leafNode{c: c, domain: "h41", user: "h41", password: "leaf-" + strconv.Itoa(os.Getpid()),
		client: freePort(c.t), http: freePort(c.t), dir: filepath.Join(c.dir, "leaf-h41")}
	cmd := exec.Command(lienthongBin, "hash-password")
	cmd.Stdin = strings.NewReader(l.password + "\n")
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("lienthong hash-password: %v", err)
	}
	l.hash = strings.TrimSpace(string(out))
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	c.leaves = append(c.leaves, l)
	return l
}

// join makes the gateway's NKey on the leaf node with "lienthong nats
// user -leaf" and points its configuration at the leaf: the leaf's
// domain, the hub's as nats.hubDomain.
func (l *leafNode) join(cfg *serveConfig, id string, _ []agency) {
	l.c.t.Helper()
	seed := filepath.Join(l.dir, id+".nk")
	out, err := exec.Command(lienthongBin, "nats", "user", "-leaf", "-gateway", id, "-seed", seed).Output()
	if err != nil {
		l.c.t.Fatalf("lienthong nats user -leaf: %v", err)
	}
	l.users = append(l.users, string(out))
	cfg.NATS.URL, cfg.NATS.NKeyFile = "nats://127.0.0.1:"+strconv.Itoa(l.client), seed
	cfg.NATS.Domain, cfg.NATS.HubDomain = l.domain, "hub"
}

// start writes deploy/nats/leaf.conf with the test's addresses, paths and
// password, its users.conf, starts the proxies and the server, and waits
// until its link to the hub is up.
func (l *leafNode) start() {
	t := l.c.t
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "nats", "leaf.conf"))
	if err != nil {
		t.Fatal(err)
	}
	repl := []string{
		`listen: "127.0.0.1:4222"`, fmt.Sprintf(`listen: "127.0.0.1:%d"`, l.client),
		`http: "127.0.0.1:8222"`, fmt.Sprintf(`http: "127.0.0.1:%d"`, l.http),
		`"/var/lib/nats/jetstream"`, fmt.Sprintf("%q", filepath.Join(l.dir, "jetstream")),
		`max_file_store: 50GB`, `max_file_store: 2GB`,
		`reconnect: "2s"`, `reconnect: "1s"`,
		`"/etc/nats/tls/leaf.pem"`, fmt.Sprintf("%q", filepath.Join(l.c.dir, "server.pem")),
		`"/etc/nats/tls/leaf-key.pem"`, fmt.Sprintf("%q", filepath.Join(l.c.dir, "server-key.pem")),
		`"/etc/nats/tls/ca.pem"`, fmt.Sprintf("%q", l.c.ca),
	}
	for i, n := range l.c.nodes {
		p := newLinkProxy(t, "127.0.0.1:"+strconv.Itoa(n.link))
		l.proxies = append(l.proxies, p)
		repl = append(repl, fmt.Sprintf("tls://h41:PASSWORD@hub-%d.lienthong.internal:7422", i+1),
			fmt.Sprintf("tls://%s:%s@127.0.0.1:%d", l.user, l.password, p.port))
	}
	for k := 0; k < len(repl); k += 2 {
		if !strings.Contains(string(b), repl[k]) {
			t.Fatalf("deploy/nats/leaf.conf no longer has %s", repl[k])
		}
	}
	conf := filepath.Join(l.dir, "leaf.conf")
	if err := os.WriteFile(conf, []byte(strings.NewReplacer(repl...).Replace(string(b))), 0o600); err != nil {
		t.Fatal(err)
	}
	users := "users: [\n" + strings.Join(l.users, "\n") + "\n]\n"
	if err := os.WriteFile(filepath.Join(l.dir, "users.conf"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	l.process = newProcess(t, "nats leaf-"+l.domain, l.dir, natsServerBin, "-c", conf)
	l.process.start()
	l.waitLinked(true, natsReadyTimeout*3)
}

// linked reports whether the leaf node has its link to the hub, from its
// monitoring endpoint.
func (l *leafNode) linked() (bool, string) {
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/leafz", l.http))
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	var z struct {
		Leafs int `json:"leafnodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&z); err != nil {
		return false, err.Error()
	}
	return z.Leafs > 0, fmt.Sprintf("%d links", z.Leafs)
}

// waitLinked waits until the link is up (or down).
func (l *leafNode) waitLinked(up bool, timeout time.Duration) {
	l.c.t.Helper()
	what := "the leaf node's link up"
	if !up {
		what = "the leaf node's link down"
	}
	waitFor(l.c.t, timeout, what, func() (bool, string) {
		ok, why := l.linked()
		return ok == up, why
	})
}

// cut takes the province's link down: every proxy stops.
func (l *leafNode) cut() {
	for _, p := range l.proxies {
		p.down()
	}
	l.waitLinked(false, 10*time.Second)
}

// restore brings the link back.
func (l *leafNode) restore() {
	for _, p := range l.proxies {
		p.up()
	}
}
