package test

import (
	"context"
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

	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/internal/nettest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// leafNode is a province's nats-server, configured from
// deploy/nats/leaf.conf, linked to every hub node through a nettest.Link of
// its own, so that the test can cut the province off.
type leafNode struct {
	*process
	c            *hubCluster
	domain       string
	seed         string // the file of its NKey at the hub ("lienthong nats link")
	client, http int
	dir          string
	users        []string // the gateways' user blocks
	gateways     []string // the gateways on the leaf node
	agencies     []agency // and their agencies
	links        []*nettest.Link
}

// addLeaf registers a leaf node with JetStream domain h41 (the one
// leaf.conf names) before the hub starts; start makes its NKey at the hub.
func (c *hubCluster) addLeaf() *leafNode {
	c.t.Helper()
	l := &leafNode{c: c, domain: "h41", client: nettest.Port(c.t), http: nettest.Port(c.t),
		dir: filepath.Join(c.dir, "leaf-h41")}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	c.leaves = append(c.leaves, l)
	return l
}

// join makes the gateway's NKey on the leaf node with "lienthong nats
// user -leaf" and points its configuration at the leaf: the leaf's
// domain, the hub's as nats.hubDomain. Then it makes, or makes again, the
// leaf node's NKey at the hub with "lienthong nats link", for every
// gateway joined so far; the agencies are assigned to the leaf at the hub
// (hubCluster.setup: "lienthong nats setup -leaf D -agency …").
func (l *leafNode) join(cfg *serveConfig, id string, agencies []agency) {
	t := l.c.t
	t.Helper()
	seed := filepath.Join(l.dir, id+".nk")
	out, err := exec.Command(lienthongBin, "nats", "user", "-leaf", "-gateway", id, "-seed", seed).Output()
	if err != nil {
		t.Fatalf("lienthong nats user -leaf: %v", err)
	}
	l.users = append(l.users, string(out))
	cfg.NATS.URL, cfg.NATS.NKeyFile = "nats://127.0.0.1:"+strconv.Itoa(l.client), seed
	cfg.NATS.Domain, cfg.NATS.HubDomain = l.domain, "hub"

	l.gateways = append(l.gateways, id)
	l.agencies = append(l.agencies, agencies...)
	l.seed = filepath.Join(l.dir, fmt.Sprintf("link-%d.nk", len(l.gateways)))
	args := []string{"nats", "link", "-domain", l.domain, "-seed", l.seed}
	for _, g := range l.gateways {
		args = append(args, "-gateway", g)
	}
	if out, err = exec.Command(lienthongBin, args...).Output(); err != nil {
		t.Fatalf("lienthong %s: %v", strings.Join(args, " "), err)
	}
	l.c.users["leaf "+l.domain] = string(out)
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
		repl = append(repl, fmt.Sprintf("tls://hub-%d.lienthong.internal:7422", i+1), fmt.Sprintf("tls://127.0.0.1:%d", p.Port))
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
	seed, err := os.ReadFile(l.seed)
	if err != nil {
		t.Fatal(err)
	}
	l.process = newProcess(t, "nats leaf-"+l.domain, l.dir, natsServerBin, "-c", conf)
	l.env = []string{"LEAF_SEED=" + strings.TrimSpace(string(seed))}
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

// forwarded is how many connections the links have forwarded to the hub
// so far.
func (l *leafNode) forwarded() int {
	n := 0
	for _, p := range l.links {
		n += p.Forwarded()
	}
	return n
}

// restore brings the link back.
func (l *leafNode) restore() {
	for _, p := range l.links {
		p.Restore()
	}
}

// spy connects to the leaf node as its gateway (who may do anything
// there) and makes streams sourcing the hub's LT_EDOC: VPCP's subject, all
// of it, and the province's own. None gets a message: at the hub the leaf
// may create no consumer of the packet streams, only reset its own durable
// ones, whose filters are the administrator's (bus.LeafPermissions), while
// the in-stream LT_EDOC, for comparison, has the province's packets.
func (l *leafNode) spy(t *testing.T) {
	t.Helper()
	o, err := nats.NkeyOptionFromSeed(filepath.Join(l.dir, l.gateways[0]+".nk"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://127.0.0.1:"+strconv.Itoa(l.client), o)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.NewWithDomain(nc, l.domain)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ext := &jetstream.ExternalStream{APIPrefix: "$JS.hub.API", DeliverPrefix: bus.LeafDeliverPrefix(l.domain)}
	spies := map[string]*jetstream.StreamSource{
		"SPY_G22":         {Name: "LT_EDOC", FilterSubject: "lt.edoc.G22", External: ext},
		"SPY_ALL":         {Name: "LT_EDOC", External: ext},
		"SPY_G22_DEFAULT": {Name: "LT_EDOC", FilterSubject: "lt.edoc.G22", Domain: "hub"},
		"OWN_H41":         {Name: "LT_EDOC", FilterSubject: "lt.edoc.H41", External: ext},
	}
	for name, src := range spies {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Sources: []*jetstream.StreamSource{src}}); err != nil {
			t.Fatalf("stream %s on the leaf: %v", name, err)
		}
	}
	msgs := func(name string) uint64 {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	waitFor(t, time.Minute, "the province's own packets in its gateway's in-stream on the leaf", func() (bool, string) {
		n := msgs("LT_EDOC")
		return n > 0, fmt.Sprintf("%d messages", n)
	})
	// The barrier: a stream made the same way after the spies, sourcing
	// what the leaf may read at the hub, the directory. Its consumer is
	// asked for over the same link and answered, its messages come:
	// so would the spies' by then, were they allowed. nats-server asks
	// 100 to 200 ms after a stream is made, at random: the second one,
	// made once the first has filled, asks after every spy did.
	for _, name := range []string{"CONTROL_1", "CONTROL_2"} {
		src := &jetstream.StreamSource{Name: "KV_" + bus.BucketDirectory, External: ext}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Sources: []*jetstream.StreamSource{src}}); err != nil {
			t.Fatalf("stream %s on the leaf: %v", name, err)
		}
		waitFor(t, time.Minute, "the hub's directory in "+name+" on the leaf", func() (bool, string) {
			n := msgs(name)
			return n > 0, fmt.Sprintf("%d messages", n)
		})
	}
	for name := range spies {
		if n := msgs(name); n > 0 {
			t.Errorf("stream %s on the province's leaf node has %d of the hub's packets", name, n)
		}
	}
}
