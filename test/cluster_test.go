package test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/lienthong/lienthong/internal/nettest"
	"github.com/lienthong/lienthong/signing"
)

// hubCluster is a hub of three nats-server processes with JetStream,
// clustered over TLS routes, clients on TLS, each gateway a user of its
// own with the permissions "lienthong nats user" writes (deploy/nats/).
type hubCluster struct {
	t     testing.TB
	dir   string
	ca    string // the TLS CA (PEM)
	nodes []*hubNode
	// admin is the administrator's NKey seed file; users the gateways'
	// user blocks, by gateway id, written into every node's config.
	admin    string
	adminPub string
	users    map[string]string
	seeds    map[string]string
	// gateways are those at the hub, in the order they joined, with
	// their agencies: the administrator assigns each its consumers.
	gateways []hubGateway
	// leaves are the provinces' leaf nodes, started after the hub.
	leaves []*leafNode
}

// filtersOf is what a consumer reads: its one filter subject or its list.
func filtersOf(cfg jetstream.ConsumerConfig) []string {
	if cfg.FilterSubject != "" {
		return []string{cfg.FilterSubject}
	}
	return cfg.FilterSubjects
}

// hubGateway is a gateway at the hub and the agencies it hosts.
type hubGateway struct {
	id       string
	agencies []agency
}

type hubNode struct {
	*process
	name                string
	client, route, link int // link: the leaf nodes' port
	conf, store         string
}

// newHubCluster makes the PKI for TLS, the administrator's NKey, and the
// nodes' ports; start writes the configs and starts them.
func newHubCluster(t testing.TB, dir string) *hubCluster {
	t.Helper()
	c := &hubCluster{t: t, dir: dir, users: map[string]string{}, seeds: map[string]string{}}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c.ca = writeTLS(t, dir)
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	c.adminPub, _ = kp.PublicKey()
	c.admin = filepath.Join(dir, "admin.nk")
	if err := os.WriteFile(c.admin, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		n := &hubNode{name: "hub-" + strconv.Itoa(i), client: nettest.Port(t), route: nettest.Port(t), link: nettest.Port(t)}
		n.conf = filepath.Join(dir, n.name+".conf")
		n.store = filepath.Join(dir, n.name, "jetstream")
		c.nodes = append(c.nodes, n)
	}
	return c
}

// URLs are the client URLs of every node.
func (c *hubCluster) URLs() string {
	var u []string
	for _, n := range c.nodes {
		u = append(u, "tls://127.0.0.1:"+strconv.Itoa(n.client))
	}
	return strings.Join(u, ",")
}

// join makes the gateway's NKey and permissions with "lienthong nats
// user" and points its configuration at the cluster.
func (c *hubCluster) join(cfg *serveConfig, id string, agencies []agency) {
	c.t.Helper()
	seed := filepath.Join(c.dir, id+".nk")
	// The gateway reads one consumer per stream (the default), named
	// after it: its user names no agency.
	args := []string{"nats", "user", "-gateway", id, "-seed", seed, "-gateway-consumers"}
	out, err := exec.Command(lienthongBin, args...).Output()
	if err != nil {
		c.t.Fatalf("lienthong %s: %v", strings.Join(args, " "), err)
	}
	c.users[id], c.seeds[id] = string(out), seed
	c.gateways = append(c.gateways, hubGateway{id: id, agencies: agencies})
	cfg.NATS.URL, cfg.NATS.NKeyFile, cfg.NATS.CAFile = c.URLs(), seed, c.ca
	cfg.NATS.Replicas, cfg.NATS.Bind = 3, true
}

// start writes every node's configuration — deploy/nats/hub-N.conf with
// the test's addresses and paths, and a users.conf with the users joined
// so far — starts the nodes and waits until JetStream answers.
func (c *hubCluster) start() {
	c.t.Helper()
	root, err := moduleRoot()
	if err != nil {
		c.t.Fatal(err)
	}
	users := []string{"users: [", fmt.Sprintf("  { nkey: %q }", c.adminPub)}
	for _, u := range c.users {
		users = append(users, u)
	}
	users = append(users, "]")
	if err := os.WriteFile(filepath.Join(c.dir, "users.conf"), []byte(strings.Join(users, "\n")), 0o600); err != nil {
		c.t.Fatal(err)
	}

	for i, n := range c.nodes {
		b, err := os.ReadFile(filepath.Join(root, "deploy", "nats", fmt.Sprintf("hub-%d.conf", i+1)))
		if err != nil {
			c.t.Fatal(err)
		}
		repl := []string{
			`listen: "0.0.0.0:4222"`, fmt.Sprintf(`listen: "127.0.0.1:%d"`, n.client),
			`listen: "0.0.0.0:6222"`, fmt.Sprintf(`listen: "127.0.0.1:%d"`, n.route),
			`listen: "0.0.0.0:7422"`, fmt.Sprintf(`listen: "127.0.0.1:%d"`, n.link),
			`http: "127.0.0.1:8222"`, fmt.Sprintf(`http: "127.0.0.1:%d"`, nettest.Port(c.t)),
			`"/var/lib/nats/jetstream"`, fmt.Sprintf("%q", n.store),
			`max_file_store: 200GB`, `max_file_store: 2GB`,
			`"/etc/nats/tls/server.pem"`, fmt.Sprintf("%q", filepath.Join(c.dir, "server.pem")),
			`"/etc/nats/tls/server-key.pem"`, fmt.Sprintf("%q", filepath.Join(c.dir, "server-key.pem")),
			`"/etc/nats/tls/ca.pem"`, fmt.Sprintf("%q", c.ca),
		}
		for j, m := range c.nodes {
			repl = append(repl, fmt.Sprintf("nats-route://hub-%d.lienthong.internal:6222", j+1), fmt.Sprintf("nats-route://127.0.0.1:%d", m.route))
		}
		conf := strings.NewReplacer(repl...).Replace(string(b))
		for k := 0; k < len(repl); k += 2 {
			if !strings.Contains(string(b), repl[k]) {
				c.t.Fatalf("deploy/nats/hub-%d.conf no longer has %s", i+1, repl[k])
			}
		}
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			c.t.Fatal(err)
		}
		n.process = newProcess(c.t, "nats "+n.name, filepath.Join(c.dir, n.name), natsServerBin, "-c", n.conf)
		n.env = []string{"SYS_PASSWORD=sys-" + strconv.Itoa(os.Getpid())}
	}
	for _, n := range c.nodes {
		n.start()
	}
	waitFor(c.t, natsReadyTimeout*3, "the hub's JetStream", func() (bool, string) {
		nc, js, err := c.connect(c.admin)
		if err != nil {
			return false, err.Error()
		}
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := js.AccountInfo(ctx); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// connect connects with an NKey seed file, over TLS.
func (c *hubCluster) connect(seed string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	o, err := nats.NkeyOptionFromSeed(seed)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(c.URLs(), append([]nats.Option{o, nats.RootCAs(c.ca), nats.Timeout(2 * time.Second)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// writeTLS makes a CA and a certificate for 127.0.0.1 and localhost that
// the nodes use as servers, and as clients of their routes; it returns
// the CA file.
func writeTLS(t testing.TB, dir string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lienthong test NATS CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"ca.pem": {Type: "CERTIFICATE", Bytes: caDER}, "server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "ca.pem")
}

// newClusterAxis is newAxis on a hub cluster: the streams are made by
// "lienthong nats setup" with the administrator's key, and the gateways
// bind to them with their own.
func newClusterAxis(t *testing.T) *axis {
	t.Helper()
	dir := t.TempDir()
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	issueAdmin(t, ca)
	return &axis{t: t, dir: dir, ca: ca, cluster: newHubCluster(t, filepath.Join(dir, "hub"))}
}

// assign gives gateway id the agencies, as the administrator does with
// "lienthong nats setup -gateway": its consumers are filtered to them, and
// an agency it takes from another gateway starts where that one stopped.
func (c *hubCluster) assign(id string, agencies []agency) {
	c.t.Helper()
	args := []string{"nats", "setup", "-url", c.URLs(), "-nkey", c.admin, "-ca", c.ca, "-replicas", "3", "-gateway", id}
	for _, a := range agencies {
		args = append(args, "-agency", a.Code)
	}
	if out, err := exec.Command(lienthongBin, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("lienthong %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// setup starts the hub and makes the streams, then starts the leaf
// nodes and makes the hub source them.
func (c *hubCluster) setup() {
	c.t.Helper()
	c.start()
	args := []string{"nats", "setup", "-url", c.URLs(), "-nkey", c.admin, "-ca", c.ca, "-replicas", "3"}
	if out, err := exec.Command(lienthongBin, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("lienthong nats setup: %v\n%s", err, out)
	}
	// Each gateway's consumers, filtered to its agencies, are the
	// administrator's to make; gateways only bind to them.
	for _, g := range c.gateways {
		c.assign(g.id, g.agencies)
	}
	if len(c.leaves) == 0 {
		return
	}
	var domains []string
	for _, l := range c.leaves {
		l.start()
		domains = append(domains, l.domain)
	}
	if out, err := exec.Command(lienthongBin, append(args, "-leaf", strings.Join(domains, ","))...).CombinedOutput(); err != nil {
		c.t.Fatalf("lienthong %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// Each leaf node's agencies, in the hub's two consumers its streams
	// source.
	for _, l := range c.leaves {
		largs := append(slices.Clone(args), "-leaf", l.domain)
		for _, a := range l.agencies {
			largs = append(largs, "-agency", a.Code)
		}
		if out, err := exec.Command(lienthongBin, largs...).CombinedOutput(); err != nil {
			c.t.Fatalf("lienthong %s: %v\n%s", strings.Join(largs, " "), err, out)
		}
	}
}

// TestE2E_Cluster: the axis as deploy/nats builds it. A hub of three
// nats-servers (TLS on clients, routes and leaf links, streams R3), VPCP
// and TP.HCM's gateways on it with their own NKeys and permissions, and
// Nghệ An's gateway on the province's leaf node, linked to every hub node
// through a proxy the test can cut.
//
//  1. 1,000 documents from VPCP to TP.HCM and Nghệ An, hub-1 killed at the
//     300th: every accepted document arrives exactly once at both.
//  2. The province's link cut: Nghệ An's DMS keeps getting its documents
//     accepted (the leaf acknowledges them) and VPCP keeps sending to it;
//     when the link returns every one is delivered exactly once, both
//     ways, and the time it took is logged.
//  3. TP.HCM's credentials cannot read VPCP's packets.
func TestE2E_Cluster(t *testing.T) {
	faultTest(t)
	start := time.Now()
	ax := newClusterAxis(t)
	leaf := ax.cluster.addLeaf()
	vpcp := ax.addGateway("vpcp", agVPCP)
	hcm := ax.addGateway("hcm", agHCM)
	nghean := ax.addGatewayOn(leaf.join, "nghean", agNgheAn)
	ax.cluster.setup()
	ax.ready()
	t.Logf("hub of 3, a leaf node and 3 gateways ready in %s", time.Since(start).Round(time.Millisecond))

	// 1. A hub node killed mid-stream.
	phase := time.Now()
	docs := makeLoad(t, faultDocuments, agVPCP, []agency{agHCM, agNgheAn}, "HUB-KILL")
	g22, h29, h41 := vpcp.client(agVPCP), hcm.client(agHCM), nghean.client(agNgheAn)
	res := runLoad(t, g22, docs, func() {
		t.Logf("G22 had accepted %d documents, H29 received %d and H41 %d, when hub-1 was killed",
			vpcp.countLines(`"document accepted"`), hcm.countLines(`"document received"`), nghean.countLines(`"document received"`))
		ax.cluster.nodes[0].kill()
	})
	checkExactlyOnce(t, g22, docs, res, recipientAPI{agHCM, h29}, recipientAPI{agNgheAn, h41})
	t.Logf("1,000 documents to 2 recipients with a hub node killed: %s", time.Since(phase).Round(time.Millisecond))

	// 2. The province cut off.
	leaf.cut()
	cut, forwarded := time.Now(), leaf.forwarded()
	// Nghệ An's gateway restarts while cut off: it starts all the same,
	// from the leaf's mirrors of the directory.
	nghean.stop()
	nghean.restart()
	out := makeLoad(t, leafDocuments, agNgheAn, []agency{agVPCP}, "LEAF-OUT")
	// And one above the inline limit: its chunks go to the hub's LT_LARGE,
	// out of reach while the link is down, so it waits in the gateway's
	// outbox.
	large := loadLetter(leafDocuments+1, time.Now(), agNgheAn, []agency{agVPCP}, "LEAF-OUT")
	large.Attachments[0].Data = bytes.Repeat([]byte("Phụ lục kèm theo. "), 128<<10)
	out = append(out, large.loadDoc(t))
	in := makeLoad(t, leafDocuments, agVPCP, []agency{agNgheAn}, "LEAF-IN")
	// One the province reads from the hub's LT_LARGE, across its link and
	// within its permissions there.
	largeIn := loadLetter(leafDocuments+1, time.Now(), agVPCP, []agency{agNgheAn}, "LEAF-IN")
	largeIn.Attachments[0].Data = large.Attachments[0].Data
	in = append(in, largeIn.loadDoc(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resOut := submitLoad(ctx, h41, out, faultWorkers, nil)
	resIn := submitLoad(ctx, g22, in, faultWorkers, nil)
	for _, r := range []*loadResult{resOut, resIn} {
		if len(r.errs) > 0 {
			t.Fatalf("submitting with the province cut off: %v\n%v", r, errors.Join(r.errs...))
		}
	}
	t.Logf("with the link down: Nghệ An's DMS got %d documents accepted in %s, VPCP's %d", resOut.accepted.Load(),
		resOut.elapsed.Round(time.Millisecond), resIn.accepted.Load())
	// Wait until what can be handed over with the link down is: VPCP's
	// documents in the hub's LT_EDOC, Nghệ An's in the leaf's
	// LT_OUT_EDOC but the large one, whose chunks the hub's LT_LARGE
	// must take first, and whatever reached either gateway's consumers
	// handled. Only the link stands between the documents and their
	// recipients now; it has forwarded no connection since the cut when
	// they are looked for.
	waitFor(t, time.Minute, "VPCP's outbox empty, Nghệ An's down to the large document, which failed to publish, and both gateways' consumers settled", func() (bool, string) {
		v, n, failed := metricValue(t, vpcp, "lienthong_outbox_items"), metricValue(t, nghean, "lienthong_outbox_items"),
			strings.Count(nghean.lastRun(), `"publish failed; will retry"`)
		vp, np := metricValue(t, vpcp, "lienthong_consumer_pending"), metricValue(t, nghean, "lienthong_consumer_pending")
		connected := metricValue(t, vpcp, "lienthong_nats_connected") + metricValue(t, nghean, "lienthong_nats_connected")
		return v == 0 && n == 1 && failed > 0 && vp == 0 && np == 0 && connected == 2,
			fmt.Sprintf("%v in VPCP's outbox, %v in Nghệ An's, %d failed publishes; %v and %v unacknowledged; %v connected", v, n, failed, vp, np, connected)
	})
	for _, c := range []struct {
		who    string
		client *apiClient
		load   string
	}{{"VPCP", g22, "LEAF-OUT"}, {"Nghệ An", h41, "LEAF-IN"}} {
		if l, err := c.client.list(ctx, url.Values{"direction": {"in"}, "q": {c.load}, "limit": {"1"}}); err != nil || len(l.Documents) > 0 {
			t.Errorf("with the link down %s has received %v (%v)", c.who, l, err)
		}
	}
	if n := leaf.forwarded() - forwarded; n > 0 {
		t.Errorf("the link forwarded %d connections while cut: the documents could cross", n)
	}
	leaf.restore()
	back := time.Now()
	checkExactlyOnce(t, h41, out, resOut, recipientAPI{agVPCP, g22})
	checkExactlyOnce(t, g22, in, resIn, recipientAPI{agNgheAn, h41})
	caughtUp := time.Since(back)
	t.Logf("province cut off for %s: %d documents out and %d in (one of %d KB each way) delivered exactly once, and their 01s back, %s after the link returned",
		back.Sub(cut).Round(time.Millisecond), len(out), len(in), len(out[len(out)-1].packet)>>10, caughtUp.Round(time.Millisecond))

	// The gateways did all of it within their permissions.
	for _, g := range []*gatewayProc{vpcp, hcm, nghean} {
		if n := g.countLines("Permissions Violation"); n > 0 {
			t.Errorf("gateway %s hit %d permissions violations: its permissions lack a subject it uses", g.id, n)
		}
	}

	// 3. TP.HCM's credentials against VPCP's packets.
	nc, js, err := ax.cluster.connect(ax.cluster.seeds["hcm"], nats.CustomInboxPrefix("_INBOX_hcm"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// A refused request gets no answer: it waits out its context.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Consumer(ctx, "LT_EDOC", "gwc_edoc_hcm"); err != nil {
		t.Fatalf("TP.HCM cannot read its own consumer: %v", err)
	}
	for what, try := range map[string]func() error{
		"read VPCP's consumer": func() error { _, err := js.Consumer(ctx, "LT_EDOC", "gwc_edoc_vpcp"); return err },
		"make a consumer of VPCP's subject": func() error {
			_, err := js.CreateConsumer(ctx, "LT_EDOC", jetstream.ConsumerConfig{FilterSubject: "lt.edoc.G22"})
			return err
		},
		"take a consumer name of VPCP's": func() error {
			_, err := js.CreateOrUpdateConsumer(ctx, "LT_EDOC", jetstream.ConsumerConfig{Durable: "gwc_edoc_vpcp", FilterSubject: "lt.edoc.G22"})
			return err
		},
		"get a stored message": func() error {
			s, err := js.Stream(ctx, "LT_EDOC")
			if err != nil {
				return err
			}
			_, err = s.GetMsg(ctx, 1)
			return err
		},
		"delete the stream": func() error { return js.DeleteStream(ctx, "LT_STATUS") },
		"re-create its own consumer filtered to every agency": func() error {
			_, err := js.CreateOrUpdateConsumer(ctx, "LT_EDOC", jetstream.ConsumerConfig{Durable: "gwc_edoc_hcm", FilterSubject: "lt.edoc.>"})
			return err
		},
		"write VPCP's directory entry": func() error {
			kv, err := js.KeyValue(ctx, "LT_DIRECTORY")
			if err != nil {
				return err
			}
			_, err = kv.Put(ctx, "G22", []byte("{}"))
			return err
		},
		"write its own directory entry": func() error {
			kv, err := js.KeyValue(ctx, "LT_DIRECTORY")
			if err != nil {
				return err
			}
			_, err = kv.Put(ctx, "H29", []byte("{}"))
			return err
		},
	} {
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		if err := try(); err == nil {
			t.Errorf("TP.HCM's credentials could %s", what)
		}
		cancel()
	}
	// Nor re-create its own consumer with another filter, through any of
	// the API's subject forms: nats-server takes the filter from the
	// body, and checks it against the subject only when the subject
	// carries one.
	body := []byte(`{"stream_name":"LT_EDOC","config":{"durable_name":"gwc_edoc_hcm","name":"gwc_edoc_hcm","filter_subject":"lt.edoc.G22","deliver_policy":"all","ack_policy":"explicit"}}`)
	for _, subject := range []string{
		"$JS.API.CONSUMER.CREATE.LT_EDOC.gwc_edoc_hcm",
		"$JS.API.CONSUMER.CREATE.LT_EDOC.gwc_edoc_hcm.lt.edoc.G22",
		"$JS.API.CONSUMER.CREATE.LT_EDOC.gwc_edoc_hcm.lt.edoc.>",
		"$JS.API.CONSUMER.DURABLE.CREATE.LT_EDOC.gwc_edoc_hcm",
	} {
		if msg, err := nc.Request(subject, body, 2*time.Second); err == nil {
			t.Errorf("TP.HCM's credentials got an answer from %s: %s", subject, msg.Data)
		}
	}
	if c, err := js.Consumer(context.Background(), "LT_EDOC", "gwc_edoc_hcm"); err != nil {
		t.Errorf("TP.HCM's consumer after the attempts: %v", err)
	} else if f := filtersOf(c.CachedInfo().Config); !slices.Equal(f, []string{"lt.edoc.H29"}) {
		t.Errorf("TP.HCM's consumer is filtered to %q after the attempts, want lt.edoc.H29", f)
	}

	// Nor subscribe to the packets' subjects or another's inbox.
	for _, subject := range []string{"lt.edoc.G22", "lt.edoc.>", "_INBOX_vpcp.>", "_INBOX.>"} {
		errs := make(chan error, 1)
		nc2, _, err := ax.cluster.connect(ax.cluster.seeds["hcm"], nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc2.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		nc2.Flush()
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Errorf("subscribing to %s: %v", subject, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("TP.HCM's credentials could subscribe to %s", subject)
		}
		nc2.Close()
	}

	// 4. Nor can the province's leaf node have VPCP's packets: streams on
	// the leaf sourcing the hub's LT_EDOC for VPCP, with the leaf's
	// delivery prefix or nats-server's default, stay empty, while one for
	// the province's own subject fills.
	leaf.spy(t)
}
