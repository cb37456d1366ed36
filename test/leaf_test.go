package test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/nettest"
)

// leafNode is a province's nats-server, configured from
// deploy/nats/leaf.conf, linked to every hub node through a nettest.Link of
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
	links          []*nettest.Link
}

// addLeaf registers a leaf node with JetStream domain h41 (the one
// leaf.conf names) before the hub starts: its user goes into the hub's
// leafnodes.conf.
func (c *hubCluster) addLeaf() *leafNode {
	c.t.Helper()
	l := &leafNode{c: c, domain: "h41", user: "h41", password: randomHex(c.t, 12),
		client: nettest.FreePort(c.t), http: nettest.FreePort(c.t), dir: filepath.Join(c.dir, "leaf-h41")}
	cmd := exec.Command(lienthongBin, "hash-password")
	cmd.Stdin = strings.NewReader(l.password + "\n")
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("lienthong hash-password: %v: %s", err, out)
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
// password, its users.conf, starts the links and the server, and waits
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
		p := nettest.NewLink(t, "127.0.0.1:"+strconv.Itoa(n.link))
		l.links = append(l.links, p)
		repl = append(repl, fmt.Sprintf("tls://h41:PASSWORD@hub-%d.lienthong.internal:7422", i+1),
			fmt.Sprintf("tls://%s:%s@127.0.0.1:%d", l.user, l.password, p.Port))
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
	for _, p := range l.links {
		p.Cut()
	}
	l.waitLinked(false, 10*time.Second)
}

// restore brings the link back.
func (l *leafNode) restore() {
	for _, p := range l.links {
		p.Restore()
	}
}

// randomHex is n random bytes in hex: a password of the test's.
func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
