package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/internal/nettest"
)

// leafPair is a hub server (JetStream domain "hub", account LIENTHONG,
// taking leaf nodes on a port of its own) and a provincial leaf node
// (domain "h41") connected to it through a link the test can cut, as
// deploy/nats configures them: the leaf logs in with an NKey whose
// permissions are LeafPermissions for Nghệ An's gateway, whose agencies
// the administrator assigns to the leaf (AssignLeaf),
// plain lt.> messages do not cross the link, packets go through the
// streams' sources.
type leafPair struct {
	t               *testing.T
	adminFile       string // the administrator's NKey seed
	link            *nettest.Link
	hub, leaf       *server.Server
	hubBus, leafBus *bus.Bus
	// writeConf writes the hub's configuration, with extra subjects the
	// leaf may publish and receive, to hubConf.
	writeConf func(extra bus.Permissions)
	hubConf   string
}

// setLeafExtra gives the leaf node, at the hub, LeafPermissions and extra
// subjects, and reloads the hub's configuration.
func (p *leafPair) setLeafExtra(extra bus.Permissions) {
	p.t.Helper()
	p.writeConf(extra)
	opts, err := server.ProcessConfigFile(p.hubConf)
	if err != nil {
		p.t.Fatalf("hub configuration: %v", err)
	}
	opts.Port = p.hub.Addr().(*net.TCPAddr).Port
	opts.NoSigs, opts.NoLog = true, true
	if err := p.hub.ReloadOptions(opts); err != nil {
		p.t.Fatalf("reload the hub: %v", err)
	}
}

// leafAgencies are the agencies of the leaf's gateway, nghean: the
// province, its health department, and one added while the link is down.
var leafAgencies = []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.H41"), agencyH41, envelope.MustAgencyCode("000.01.12.H41")}

// newLeafPair starts both servers, opens the administrator's Bus on the
// hub (making the streams and buckets, and sourcing the leaf's
// out-streams) and a gateway's Bus on the leaf, with the nats-server
// feature flags hubFlags set on the hub.
func newLeafPair(t *testing.T, hubFlags ...string) *leafPair {
	p := newLeafPairWith(t, bus.Permissions{}, hubFlags...)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: leafAgencies, Wait: wait}); err != nil {
		t.Fatalf("AssignLeaf: %v", err)
	}
	return p
}

// leafWithoutReplyV2, given among newLeafPairWith's hubFlags, starts the
// leaf node without the feature flag js_api_reply_v2 instead.
const leafWithoutReplyV2 = "leaf without js_api_reply_v2"

// newLeafPairWith is newLeafPair with subjects added to what the leaf node
// may publish and receive at the hub (the permissions of a version
// before), the hub's nats-server feature flags hubFlags set, and its
// agencies not assigned.
func newLeafPairWith(t *testing.T, extra bus.Permissions, hubFlags ...string) *leafPair {
	p := &leafPair{t: t}
	dir := t.TempDir()
	admin, adminSeed := newNKey(t)
	link, linkSeed := newNKey(t)
	adminFile := filepath.Join(dir, "admin.nk")
	p.adminFile = adminFile
	if err := os.WriteFile(adminFile, []byte(adminSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	hubLeafPort := nettest.Port(t)
	conf := filepath.Join(dir, "hub.conf")
	p.hubConf = conf
	flags := "js_api_reply_v2: true"
	leafReplyV2 := true
	for _, f := range hubFlags {
		if f == leafWithoutReplyV2 {
			leafReplyV2 = false
			continue
		}
		flags += ", " + f + ": true"
	}
	p.writeConf = func(extra bus.Permissions) {
		perms := bus.LeafPermissions("h41", "hub", []string{"nghean"})
		perms.Publish = append(perms.Publish, extra.Publish...)
		perms.Subscribe = append(perms.Subscribe, extra.Subscribe...)
		if err := os.WriteFile(conf, []byte(fmt.Sprintf(`server_name: hub
listen: "127.0.0.1:-1"
jetstream { store_dir: %q, domain: hub }
feature_flags { %s }
leafnodes { listen: "127.0.0.1:%d", no_advertise: true }
accounts {
  LIENTHONG: {
    jetstream: enabled
    users: [
      { nkey: %q }
      %s
    ]
  }
}
`, filepath.Join(dir, "hub"), flags, hubLeafPort, admin, perms.Conf(link, "the leaf node h41"))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.writeConf(extra)
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("hub configuration: %v", err)
	}
	p.hub = startRaw(t, opts)
	p.link = nettest.NewLink(t, fmt.Sprintf("127.0.0.1:%d", hubLeafPort))
	remote, err := url.Parse(fmt.Sprintf("nats-leaf://127.0.0.1:%d", p.link.Port))
	if err != nil {
		t.Fatal(err)
	}
	p.leaf = startRaw(t, &server.Options{
		ServerName: "leaf-h41", Host: "127.0.0.1", Port: -1,
		JetStream: true, JetStreamDomain: "h41", StoreDir: filepath.Join(dir, "leaf"),
		FeatureFlags: map[string]bool{server.FeatureFlagJsAPIReplyFormatV2: leafReplyV2},
		LeafNode: server.LeafNodeOpts{
			ReconnectInterval: 100 * time.Millisecond,
			Remotes: []*server.RemoteLeafOpts{{
				URLs: []*url.URL{remote}, Nkey: linkSeed,
				DenyImports: []string{"lt.>"}, DenyExports: []string{"lt.>"},
			}},
		},
	})
	p.waitLinked(true)
	hubOpts := bus.Options{Domain: "hub", NKeyFile: adminFile, InboxPrefix: bus.LeafAdminInboxPrefix("h41")}
	p.hubBus = openBus(t, p.hub.ClientURL(), hubOpts)
	p.leafBus = openBus(t, p.leaf.ClientURL(), bus.Options{Domain: "h41", HubDomain: "hub", Gateway: "nghean", InboxPrefix: bus.InboxPrefix("nghean")})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.hubBus.SourceLeaf(ctx, "h41"); err != nil {
		t.Fatalf("SourceLeaf: %v", err)
	}
	// Setting the hub up again (as "lienthong nats setup" without -leaf
	// does) keeps the leaf's sources.
	openBus(t, p.hub.ClientURL(), hubOpts)
	return p
}

// adminJetStream connects to the hub as the administrator.
func (p *leafPair) adminJetStream() jetstream.JetStream {
	p.t.Helper()
	o, err := nats.NkeyOptionFromSeed(p.adminFile)
	if err != nil {
		p.t.Fatal(err)
	}
	nc, err := nats.Connect(p.hub.ClientURL(), o)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		p.t.Fatal(err)
	}
	return js
}

// newNKey makes a user NKey: its public key and seed.
func newNKey(t testing.TB) (string, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, string(seed)
}

// cut takes the link down and waits until the leaf node knows.
func (p *leafPair) cut() {
	p.link.Cut()
	p.waitLinked(false)
}

// restore brings the link back and waits until it is up.
func (p *leafPair) restore() {
	p.link.Restore()
	p.waitLinked(true)
}

// waitLinked waits until the leaf node's link is up (or down).
func (p *leafPair) waitLinked(up bool) {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for (p.leaf.NumLeafNodes() == 1) != up {
		if time.Now().After(deadline) {
			p.t.Fatalf("the leaf node's link is not %s after %s", map[bool]string{true: "up", false: "down"}[up], wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startRaw starts a nats-server with opts, shut down when the test ends.
func startRaw(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.NoSigs, opts.NoLog = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(wait) {
		t.Fatalf("server %s not ready", opts.ServerName)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// TestBus_Leaf: a gateway on a leaf node and one on the hub exchange
// packets (small and large) both ways, the leaf gateway's packets between
// its own agencies come back once, and the directory and heartbeats are
// the hub's.
func TestBus_Leaf(t *testing.T) {
	p := newLeafPair(t)
	agencyH41Org := leafAgencies[0] // the province: tokens H41
	leafCol, hubCol := newCollector(nil), newCollector(nil)
	leafC := consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: leafAgencies[:2]}, leafCol.handle)
	hubC := consume(t, p.hubBus, gateway.ConsumerSpec{Gateway: "vpcp", Agencies: []envelope.AgencyCode{agencyG22}}, hubCol.handle)

	large := bytes.Repeat([]byte("x"), bus.DefaultInlineLimit+1)
	ack := publish(t, p.leafBus, gateway.KindEdoc, agencyG22, "up-out", []byte("up-out"))
	if ack.Stream != bus.StreamOutEdoc {
		t.Errorf("the leaf's publish was acknowledged by %s, want %s", ack.Stream, bus.StreamOutEdoc)
	}
	publish(t, p.leafBus, gateway.KindStatus, agencyG22, "up-out-status", []byte("up-out-status"))
	publish(t, p.leafBus, gateway.KindEdoc, agencyG22, "up-out-large", large)
	publish(t, p.hubBus, gateway.KindEdoc, agencyH41Org, "up-in", []byte("up-in"))
	publish(t, p.hubBus, gateway.KindEdoc, agencyH41, "up-in-large", large)
	publish(t, p.leafBus, gateway.KindEdoc, agencyH41, "up-internal", []byte("up-internal"))
	expectMessages(t, hubCol, wait, "up-out", "up-out-status", "up-out-large")
	expectMessages(t, leafCol, wait, "up-in", "up-in-large", "up-internal")

	// The directory, written by the administrator at the hub, and the
	// heartbeats, written on the leaf, read at the hub.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.hubBus.PutRecord(ctx, agencyH41Org.Tokens(), []byte("UBND tỉnh Nghệ An")); err != nil {
		t.Fatalf("PutRecord at the hub: %v", err)
	}
	if err := p.leafBus.Heartbeat(ctx, gateway.GatewayBeat{Gateway: "nghean", At: time.Now()}); err != nil {
		t.Fatalf("Heartbeat on the leaf: %v", err)
	}
	beats, err := p.hubBus.Gateways(ctx)
	if err != nil || len(beats) != 1 || beats[0].Gateway != "nghean" {
		t.Errorf("the hub's heartbeats: %v, %v; want nghean's", beats, err)
	}
	// And read on the leaf, from its mirrors of the hub's buckets.
	waitDirectory(t, p.leafBus, "UBND tỉnh Nghệ An")
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		beats, err := p.leafBus.Gateways(ctx)
		if err == nil && len(beats) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf's heartbeats: %v, %v; want nghean's", beats, err)
		}
	}

	// The link goes down: the leaf's gateway still publishes, acknowledged
	// by the leaf; when the link is back, every packet is delivered once.
	p.cut()
	for i := range 20 {
		publish(t, p.leafBus, gateway.KindEdoc, agencyG22, fmt.Sprintf("down-%d", i), []byte("down"))
	}
	publish(t, p.leafBus, gateway.KindEdoc, agencyG22, "down-0", []byte("down")) // a retry: a duplicate
	ctxLarge, cancelLarge := context.WithTimeout(context.Background(), time.Second)
	_, err = p.leafBus.Publish(ctxLarge, gateway.Publication{Subject: gateway.Subject(gateway.KindEdoc, agencyG22), MsgID: "down-large", Packet: large})
	cancelLarge()
	if err == nil {
		t.Error("a large packet was published with the hub's Object Store out of reach")
	}
	// A gateway (re)starting on the leaf while the hub is out of reach:
	// it opens, reads the directory and the heartbeats from the leaf's
	// mirrors, and starts consuming for a new agency; only writing the
	// directory fails.
	restarted := openBus(t, p.leaf.ClientURL(), bus.Options{Domain: "h41", HubDomain: "hub", Gateway: "nghean", Timeout: 2 * time.Second})
	waitDirectory(t, restarted, "UBND tỉnh Nghệ An")
	if beats, err := restarted.Gateways(ctx); err != nil || len(beats) != 1 {
		t.Errorf("heartbeats on the leaf with the link down: %v, %v; want nghean's", beats, err)
	}
	added := leafAgencies[2]
	addedCol := newCollector(nil)
	consume(t, restarted, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{added}}, addedCol.handle)

	p.restore()
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("down-%d", i))
	}
	// A source that failed is retried by nats-server after a back-off
	// (10 s after one failure, growing to 2 min); the leaf's durable
	// source of the hub's stream also resumes as soon as its consumer's
	// heartbeat reaches the leaf again (startProbeSubscription).
	back := time.Now()
	expectMessages(t, hubCol, time.Minute, want...)
	t.Logf("the leaf's packets at the hub %s after the link returned", time.Since(back).Round(time.Millisecond))
	publish(t, p.hubBus, gateway.KindEdoc, added, "to-added", []byte("to-added"))
	expectMessages(t, addedCol, 3*time.Minute, "to-added")
	t.Logf("the new agency's packet on the leaf %s after the link returned", time.Since(back).Round(time.Millisecond))
	// The hub sources the leaf's out-stream in order, and has its last
	// packets: nothing of it is still to come, and once the consumers
	// have settled everything, no packet came twice.
	hubCol.settled(t, hubC)
	leafCol.settled(t, leafC)

	// In the streams: each packet once where it belongs, nothing looped
	// back into the leaf's out-stream or into the other side's streams.
	leafJS := rawJetStream(t, p.leaf)
	hubJS := p.adminJetStream()
	for _, c := range []struct {
		js            jetstream.JetStream
		where, stream string
		subject       string
		want          int
	}{
		{hubJS, "hub", bus.StreamEdoc, "lt.edoc.G22", 22}, // up-out, up-out-large, down-0…19
		{hubJS, "hub", bus.StreamEdoc, "lt.edoc.H41.12", 2},
		{hubJS, "hub", bus.StreamStatus, "lt.status.G22", 1},
		{leafJS, "leaf", bus.StreamOutEdoc, "lt.edoc.G22", 22},
		{leafJS, "leaf", bus.StreamOutEdoc, "lt.edoc.H41", 0},
		{leafJS, "leaf", bus.StreamOutEdoc, "lt.edoc.H41.12", 1},
		{leafJS, "leaf", bus.StreamEdoc, "lt.edoc.H41", 1},
		{leafJS, "leaf", bus.StreamEdoc, "lt.edoc.H41.12", 2},
		{leafJS, "leaf", bus.StreamEdoc, "lt.edoc.G22", 0},
	} {
		if n := subjectCount(t, c.js, c.stream, c.subject); n != c.want {
			t.Errorf("%s %s: %d messages on %s, want %d", c.where, c.stream, n, c.subject, c.want)
		}
	}
}

// subjectCount is how many messages stream holds on subject.
func subjectCount(t *testing.T, js jetstream.JetStream, stream, subject string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	return int(info.State.Subjects[subject])
}

// waitDirectory waits until b's directory has a record whose value is
// name.
func waitDirectory(t *testing.T, b *bus.Bus, name string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	found := make(chan string, 64)
	if err := b.WatchDirectory(ctx, nil, func(u gateway.DirectoryUpdate) {
		select {
		case found <- string(u.Value):
		default:
		}
	}); err != nil {
		t.Fatalf("WatchDirectory: %v", err)
	}
	timeout := time.After(wait)
	for {
		select {
		case n := <-found:
			if n == name {
				return
			}
		case <-timeout:
			t.Fatalf("no directory entry %q after %s", name, wait)
		}
	}
}

// expectMessages waits for messages with exactly the ids want, in any
// order, each once, with their packets readable, each within d of the
// one before.
func expectMessages(t *testing.T, c *collector, d time.Duration, want ...string) {
	t.Helper()
	left := make(map[string]bool, len(want))
	for _, id := range want {
		left[id] = true
	}
	for len(left) > 0 {
		r := c.nextWithin(t, d)
		if r.PacketErr != nil {
			t.Errorf("%s: %v", r.MsgID, r.PacketErr)
		}
		if !left[r.MsgID] {
			t.Errorf("unexpected or repeated message %s on %s", r.MsgID, r.Subject)
			continue
		}
		delete(left, r.MsgID)
	}
}

// TestBus_LeafRefused: a hub domain without a leaf domain of its own, or
// the same one, and SourceLeaf without a leaf domain.
func TestBus_LeafRefused(t *testing.T) {
	srv := startServer(t, t.TempDir())
	for _, o := range []bus.Options{{HubDomain: "hub"}, {HubDomain: "hub", Domain: "hub"}} {
		o.URL = srv.ClientURL()
		_, err := bus.Open(context.Background(), o, nil)
		if !errors.Is(err, bus.ErrInvalidOption) || !strings.Contains(err.Error(), "hub domain") {
			t.Errorf("Open(%+v): %v, want ErrInvalidOption about the hub domain", o, err)
		}
	}
	b := openBus(t, srv.ClientURL(), bus.Options{})
	if err := b.SourceLeaf(context.Background(), ""); !errors.Is(err, bus.ErrInvalidOption) {
		t.Errorf("SourceLeaf(\"\"): %v, want ErrInvalidOption", err)
	}
}

// TestBus_LeafPermissions: with LeafPermissions, a leaf node cannot have
// the hub's packets for agencies other than its own, by a source however
// made, nor write others' directory entries.
func TestBus_LeafPermissions(t *testing.T) {
	p := newLeafPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	defer cancel()
	publish(t, p.hubBus, gateway.KindEdoc, agencyG22, "for-g22", []byte("for-g22"))
	publish(t, p.hubBus, gateway.KindEdoc, leafAgencies[0], "for-h41", []byte("for-h41"))
	for _, key := range []string{"G22", leafAgencies[0].Tokens()} {
		if err := p.leafBus.PutRecord(ctx, key, []byte("giả mạo")); err == nil {
			t.Errorf("the leaf wrote the directory entry %s", key)
		}
	}
	if err := p.leafBus.Heartbeat(ctx, gateway.GatewayBeat{Gateway: "vpcp", At: time.Now()}); err == nil {
		t.Error("the leaf wrote VPCP's heartbeat")
	}
	// Nor large packets' chunks under another gateway's token: the same
	// bus posing as VPCP's gateway gets no answer from the hub's stream.
	posing := openBus(t, p.leaf.ClientURL(), bus.Options{Domain: "h41", HubDomain: "hub", Gateway: "vpcp", InboxPrefix: bus.InboxPrefix("nghean"), Timeout: 2 * time.Second})
	if _, err := posing.Publish(ctx, gateway.Publication{Subject: gateway.Subject(gateway.KindEdoc, agencyG22), MsgID: "posing", Packet: randomBytes(t, 600<<10)}); err == nil {
		t.Error("the leaf wrote a large packet's chunks under VPCP's token")
	}

	// The leaf's gateway consuming for VPCP, then streams on the leaf
	// sourcing the hub's LT_EDOC for VPCP, and unfiltered, with the
	// leaf's delivery prefix and with nats-server's default one.
	spy := newCollector(nil)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "spy", Agencies: []envelope.AgencyCode{agencyG22}}, spy.handle)
	leafJS := rawJetStream(t, p.leaf)
	ext := &jetstream.ExternalStream{APIPrefix: "$JS.hub.API", DeliverPrefix: bus.LeafDeliverPrefix("h41")}
	for i, src := range []*jetstream.StreamSource{
		{Name: bus.StreamEdoc, FilterSubject: "lt.edoc.G22", External: ext},
		{Name: bus.StreamEdoc, External: ext},
		{Name: bus.StreamEdoc, FilterSubject: "lt.edoc.G22", Domain: "hub"},
		{Name: bus.StreamEdoc, Domain: "hub"},
	} {
		if _, err := leafJS.CreateStream(ctx, jetstream.StreamConfig{Name: fmt.Sprintf("SPY%d", i), Sources: []*jetstream.StreamSource{src}}); err != nil {
			t.Fatalf("stream SPY%d on the leaf: %v", i, err)
		}
	}
	// Nor a stream of another name sourcing even the province's own
	// subject: the leaf may create, at the hub, only the consumers its
	// in-streams' sources are named by.
	if _, err := leafJS.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN", Sources: []*jetstream.StreamSource{
		{Name: bus.StreamEdoc, FilterSubject: "lt.edoc.H41", External: ext}}}); err != nil {
		t.Fatal(err)
	}
	// Nor re-point a hub gateway's durable consumer to its own subject,
	// which would make that gateway miss every packet sent to it
	// meanwhile.
	if err := p.hubBus.EnsureConsumers(ctx, []envelope.AgencyCode{agencyG22}, 0); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(p.leaf.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	repoint := []byte(`{"stream_name":"LT_EDOC","config":{"durable_name":"ag_G22_edoc","name":"ag_G22_edoc","filter_subject":"lt.edoc.H41","deliver_policy":"all","ack_policy":"explicit"}}`)
	if m, err := nc.Request("$JS.hub.API.CONSUMER.CREATE.LT_EDOC.ag_G22_edoc.lt.edoc.H41", repoint, 2*time.Second); err == nil {
		t.Errorf("the leaf re-pointed VPCP's consumer: %s", m.Data)
	}
	adminOpt, err := nats.NkeyOptionFromSeed(p.adminFile)
	if err != nil {
		t.Fatal(err)
	}
	anc, err := nats.Connect(p.hub.ClientURL(), adminOpt, nats.CustomInboxPrefix(bus.LeafAdminInboxPrefix("h41")))
	if err != nil {
		t.Fatal(err)
	}
	defer anc.Close()
	hubJS, err := jetstream.NewWithDomain(anc, "hub")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := hubJS.Consumer(ctx, bus.StreamEdoc, "ag_G22_edoc"); err != nil || c.CachedInfo().Config.FilterSubject != "lt.edoc.G22" {
		t.Errorf("VPCP's consumer after the leaf's attempt: %v", err)
	}
	// Nor widen the filter of its own durable source: it may reset and
	// look up its consumers at the hub, never create or update one (in
	// every subject form), nor reset another's, nor reset its own to an
	// earlier sequence.
	leafC := bus.LeafConsumerName("h41", gateway.KindEdoc)
	widen := []byte(`{"stream_name":"LT_EDOC","config":{"durable_name":"` + leafC + `","name":"` + leafC + `","filter_subject":"lt.edoc.>","deliver_subject":"$LT.h41.src.edoc","deliver_policy":"new","ack_policy":"flow_control","flow_control":true,"idle_heartbeat":1000000000,"max_ack_pending":1000}}`)
	for _, subj := range []string{
		"$JS.hub.API.CONSUMER.CREATE.LT_EDOC." + leafC,
		"$JS.hub.API.CONSUMER.CREATE.LT_EDOC." + leafC + ".lt.edoc.>",
		"$JS.hub.API.CONSUMER.DURABLE.CREATE.LT_EDOC." + leafC,
		"$JS.hub.API.CONSUMER.CREATE.LT_EDOC",
	} {
		if m, err := nc.Request(subj, widen, 2*time.Second); err == nil {
			t.Errorf("the leaf widened its consumer through %s: %s", subj, m.Data)
		}
	}
	inc, err := nats.Connect(p.leaf.ClientURL(), nats.CustomInboxPrefix(bus.InboxPrefix("nghean")))
	if err != nil {
		t.Fatal(err)
	}
	defer inc.Close()
	if m, err := inc.Request("$JS.hub.API.CONSUMER.RESET.LT_EDOC."+leafC, []byte(`{"seq":1}`), wait); err != nil {
		t.Errorf("reset of the leaf's consumer to sequence 1: %v", err)
	} else if !strings.Contains(string(m.Data), `"error"`) {
		t.Errorf("the leaf reset its consumer to sequence 1: %s", m.Data)
	}
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "vpcp", Agencies: []envelope.AgencyCode{agencyG22}}); err != nil {
		t.Fatal(err)
	}
	// Another leaf's consumer (made here by the administrator, by start
	// sequence, so that a reset past what waits for it shows) and VPCP's.
	h42 := bus.LeafConsumerName("h42", gateway.KindEdoc)
	if _, err := hubJS.CreatePushConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
		Durable: h42, DeliverSubject: bus.LeafDeliverPrefix("h42") + ".src.edoc",
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 1,
		AckPolicy: jetstream.AckFlowControlPolicy, FlowControl: true, IdleHeartbeat: time.Second, MaxAckPending: 1000,
		FilterSubjects: []string{"lt.edoc.G22"},
	}); err != nil {
		t.Fatal(err)
	}
	pendingOf := func(name string) uint64 {
		t.Helper()
		if name == h42 {
			c, err := hubJS.PushConsumer(ctx, bus.StreamEdoc, name)
			if err != nil {
				t.Fatal(err)
			}
			return c.CachedInfo().NumPending
		}
		c, err := hubJS.Consumer(ctx, bus.StreamEdoc, name)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().NumPending
	}
	publish(t, p.hubBus, gateway.KindEdoc, agencyG22, "for-g22-again", []byte("for-g22-again"))
	st, err := hubJS.Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	past := []byte(`{"seq":` + strconv.FormatUint(st.CachedInfo().State.LastSeq+1, 10) + `}`)
	for _, name := range []string{h42, bus.GatewayConsumerName("vpcp", gateway.KindEdoc)} {
		before := pendingOf(name)
		if before == 0 {
			t.Fatalf("%s has nothing waiting: a reset past it would not show", name)
		}
		for _, body := range [][]byte{nil, past} {
			if m, err := nc.Request("$JS.hub.API.CONSUMER.RESET.LT_EDOC."+name, body, 2*time.Second); err == nil {
				t.Errorf("the leaf reset %s: %s", name, m.Data)
			}
		}
		if n := pendingOf(name); n != before {
			t.Errorf("%s has %d waiting after the leaf's resets, %d before", name, n, before)
		}
	}
	// The same reset from the administrator does show.
	if m, err := anc.Request("$JS.hub.API.CONSUMER.RESET.LT_EDOC."+h42, past, wait); err != nil || strings.Contains(string(m.Data), `"error"`) {
		t.Fatalf("the administrator's reset of %s: %v", h42, err)
	}
	if n := pendingOf(h42); n != 0 {
		t.Errorf("%s has %d waiting after the administrator's reset past them", h42, n)
	}
	if err := hubJS.DeleteConsumer(ctx, bus.StreamEdoc, h42); err != nil {
		t.Fatal(err)
	}
	if c, err := hubJS.PushConsumer(ctx, bus.StreamEdoc, leafC); err != nil || !slices.Equal(c.CachedInfo().Config.FilterSubjects, []string{"lt.edoc.H41", "lt.edoc.H41.12", "lt.edoc.H41.12.01"}) {
		t.Errorf("the leaf's consumer after its attempts: %v %v", c.CachedInfo().Config.FilterSubjects, err)
	}
	// For comparison, the gateway's own in-stream gets the province's
	// packet.
	own := newCollector(nil)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{leafAgencies[0]}}, own.handle)
	if r := own.next(t); r.MsgID != "for-h41" {
		t.Errorf("the province's own packet: got %q", r.MsgID)
	}
	// Then one for VPCP and one for the province, after every spy was
	// set up: once the province's has come through the link, the spies
	// would have had VPCP's.
	publish(t, p.hubBus, gateway.KindEdoc, agencyG22, "marker-g22", []byte("marker-g22"))
	publish(t, p.hubBus, gateway.KindEdoc, leafAgencies[0], "marker-h41", []byte("marker-h41"))
	if r := own.next(t); r.MsgID != "marker-h41" {
		t.Errorf("the province's own marker: got %q", r.MsgID)
	}
	spy.none(t, 500*time.Millisecond)
	for _, name := range []string{"SPY0", "SPY1", "SPY2", "SPY3", "OWN"} {
		s, err := leafJS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 0 {
			t.Errorf("stream %s on the leaf has %d of the hub's messages", name, info.State.Msgs)
		}
	}
}

// leafHubConsumers lists the consumers the leaf node domain has at the
// hub on both packet streams: its durable ones and catch-ups
// (leaf_*/leafu_*), and those nats-server makes for a source of the
// version before (JS_SRC_…, their metadata naming the leaf's domain).
// Those are direct consumers, which the JetStream API does not list: the
// hub's monitoring does.
func leafHubConsumers(t *testing.T, hub *server.Server, domain string) []string {
	t.Helper()
	jsz, err := hub.Jsz(&server.JSzOptions{Account: "LIENTHONG", Streams: true, Consumer: true, DirectConsumer: true, Config: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name != bus.StreamEdoc && st.Name != bus.StreamStatus {
				continue
			}
			for _, c := range append(slices.Clone(st.Consumer), st.DirectConsumer...) {
				if c.Config != nil && c.Config.Metadata["_nats.src.domain"] == domain ||
					strings.HasSuffix(c.Name, "_"+domain) && strings.HasPrefix(c.Name, "leaf") {
					names = append(names, st.Name+"/"+c.Name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// waitLeafHubConsumers waits until the leaf node has want consumers at
// the hub, and returns them.
func waitLeafHubConsumers(t *testing.T, hub *server.Server, domain string, want int) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		names := leafHubConsumers(t, hub, domain)
		if len(names) == want {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf node %s has %d consumers at the hub, want %d: %v", domain, len(names), want, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// manyLeafAgencies returns n agency codes of the province H41.
func manyLeafAgencies(n int) []envelope.AgencyCode {
	codes := make([]envelope.AgencyCode, n)
	for i := range codes {
		codes[i] = envelope.MustAgencyCode(fmt.Sprintf("000.%02d.%02d.H41", i/100, i%100))
	}
	return codes
}

// TestBus_LeafConsumersScale: a leaf node hosting 1,200 agencies has two
// consumers at the hub — one per stream, its streams' durable sources —
// once what waited for them at the hub has been read, and its gateway
// gets both what waited and what comes after.
func TestBus_LeafConsumersScale(t *testing.T) {
	if testing.Short() {
		t.Skip("1,200 agencies: not with -short")
	}
	p := newLeafPairWith(t, bus.Permissions{})
	agencies := manyLeafAgencies(1200)
	for _, i := range []int{0, 599, 1199} {
		publish(t, p.hubBus, gateway.KindEdoc, agencies[i], fmt.Sprintf("before-%d", i), []byte("before"))
	}
	publish(t, p.hubBus, gateway.KindStatus, agencies[7], "status-before", []byte("status"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: agencies, Wait: time.Minute}); err != nil {
		t.Fatalf("AssignLeaf: %v", err)
	}
	t.Logf("1,200 agencies assigned to the leaf node in %s", time.Since(start).Round(time.Millisecond))
	names := waitLeafHubConsumers(t, p.hub, "h41", 2)
	if want := []string{"LT_EDOC/leaf_edoc_h41", "LT_STATUS/leaf_status_h41"}; !slices.Equal(names, want) {
		t.Errorf("the leaf's consumers at the hub: %v, want %v", names, want)
	}
	t.Logf("hub consumers of a leaf node with %d agencies: %d (%v)", len(agencies), len(names), names)
	// nats status shows them.
	st, err := p.hubBus.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, c := range st.Consumers {
		if c.Gateway() == "h41" && c.Filters == len(agencies) && !c.CatchUp {
			shown = append(shown, c.Name)
		}
	}
	if !slices.Equal(shown, []string{"leaf_edoc_h41", "leaf_status_h41"}) {
		t.Errorf("Status shows the leaf's consumers as %+v", st.Consumers)
	}

	col := newCollector(nil)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{agencies[0], agencies[7], agencies[599], agencies[1199]}}, col.handle)
	publish(t, p.hubBus, gateway.KindEdoc, agencies[599], "after-599", []byte("after"))
	expectMessages(t, col, wait, "before-0", "before-599", "before-1199", "status-before", "after-599")
	// Assigning the same again changes nothing.
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: agencies}); err != nil {
		t.Fatalf("AssignLeaf again: %v", err)
	}
	if names := leafHubConsumers(t, p.hub, "h41"); len(names) != 2 {
		t.Errorf("after assigning the same again, the leaf has %v at the hub", names)
	}
	// Each once in the leaf's stream.
	leafJS := rawJetStream(t, p.leaf)
	if n := subjectCount(t, leafJS, bus.StreamEdoc, gateway.Subject(gateway.KindEdoc, agencies[599])); n != 2 {
		t.Errorf("the leaf's stream has %d messages of %s, want 2", n, agencies[599])
	}
	if n := subjectCount(t, leafJS, bus.StreamStatus, gateway.Subject(gateway.KindStatus, agencies[7])); n != 1 {
		t.Errorf("the leaf's stream has %d statuses of %s, want 1", n, agencies[7])
	}
}

// TestBus_LeafUpgradeFromPerAgencySources: a leaf node whose streams
// source the hub per agency, as the version before made them — some of
// those sources behind, their consumers paused at the hub — is given the
// new permissions (its old sources go on delivering), then moves to the
// durable sources while packets keep coming: its streams end with every
// packet once, none lost from where the old sources were, the overlap
// dropped by their Msg-Id window; the per-agency sources are gone, and the
// leaf has two consumers at the hub instead of one per agency and stream.
func TestBus_LeafUpgradeFromPerAgencySources(t *testing.T) {
	// The version before let the leaf's streams create the hub's
	// consumers of their sources (JS_SRC_…), and to hear the answers of
	// every JetStream request in the account ($JSC.R.>).
	p := newLeafPairWith(t, bus.Permissions{
		Publish:   []string{"$JS.hub.API.CONSUMER.CREATE.LT_EDOC.>", "$JS.hub.API.CONSUMER.CREATE.LT_STATUS.>"},
		Subscribe: []string{"$JSC.R.>"},
	})
	agencies := manyLeafAgencies(30)
	leafJS, hubJS := rawJetStream(t, p.leaf), p.adminJetStream()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ext := &jetstream.ExternalStream{APIPrefix: "$JS.hub.API", DeliverPrefix: bus.LeafDeliverPrefix("h41")}
	kinds := map[string]gateway.PacketKind{bus.StreamEdoc: gateway.KindEdoc, bus.StreamStatus: gateway.KindStatus}
	for stream, kind := range kinds {
		cfg := jetstream.StreamConfig{Name: stream, Storage: jetstream.FileStorage, Duplicates: bus.DuplicateWindow}
		for _, a := range agencies {
			cfg.Sources = append(cfg.Sources, &jetstream.StreamSource{Name: stream, FilterSubject: gateway.Subject(kind, a), External: ext})
		}
		if _, err := leafJS.CreateStream(ctx, cfg); err != nil {
			t.Fatalf("the leaf's %s of the version before: %v", stream, err)
		}
	}
	var (
		mu        sync.Mutex
		published = map[string]map[string]bool{bus.StreamEdoc: {}, bus.StreamStatus: {}}
	)
	pub := func(kind gateway.PacketKind, a envelope.AgencyCode, id string) error {
		_, err := p.hubBus.Publish(ctx, gateway.Publication{Subject: gateway.Subject(kind, a), MsgID: id, Packet: []byte(id)})
		if err == nil {
			mu.Lock()
			published[map[gateway.PacketKind]string{gateway.KindEdoc: bus.StreamEdoc, gateway.KindStatus: bus.StreamStatus}[kind]][id] = true
			mu.Unlock()
		}
		return err
	}
	mustPub := func(kind gateway.PacketKind, a envelope.AgencyCode, id string) {
		t.Helper()
		if err := pub(kind, a, id); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	msgs := func(stream string) uint64 {
		s, err := leafJS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.Msgs
	}
	waitMsgs := func(stream string, want uint64) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); msgs(stream) != want; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the leaf's %s has %d messages, want %d", stream, msgs(stream), want)
			}
		}
	}

	// What the old sources delivered.
	for i, a := range agencies {
		mustPub(gateway.KindEdoc, a, fmt.Sprintf("a-%d", i))
		if i%5 == 0 {
			mustPub(gateway.KindStatus, a, fmt.Sprintf("as-%d", i))
		}
	}
	waitMsgs(bus.StreamEdoc, 30)
	waitMsgs(bus.StreamStatus, 6)
	before := leafHubConsumers(t, p.hub, "h41")
	if len(before) != 2*len(agencies) {
		t.Fatalf("the leaf of the version before has %d consumers at the hub, want one per agency and stream: %v", len(before), before)
	}
	// Half the old sources stop delivering.
	paused := 0
	jsz, err := p.hub.Jsz(&server.JSzOptions{Account: "LIENTHONG", Streams: true, Consumer: true, DirectConsumer: true, Config: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			for _, c := range st.DirectConsumer {
				for i, a := range agencies {
					if i%2 == 0 && c.Config.FilterSubject == gateway.Subject(kinds[st.Name], a) {
						if _, err := hubJS.PauseConsumer(ctx, st.Name, c.Name, time.Now().Add(time.Hour)); err != nil {
							t.Fatalf("pause %s: %v", c.Name, err)
						}
						paused++
					}
				}
			}
		}
	}
	if paused != len(agencies) {
		t.Fatalf("paused %d of the old sources' consumers, want %d", paused, len(agencies))
	}
	for i, a := range agencies {
		mustPub(gateway.KindEdoc, a, fmt.Sprintf("b-%d", i))
	}
	mustPub(gateway.KindStatus, agencies[0], "bs-0")
	mustPub(gateway.KindStatus, agencies[5], "bs-5")
	waitMsgs(bus.StreamEdoc, 30+15) // the odd agencies' only
	waitMsgs(bus.StreamStatus, 6+1) // agencies[5]'s
	// The leaf's new permissions first, as deploy/nats/README says: the
	// old sources' consumers at the hub go on delivering. nats-server
	// 2.15.2 gives a connected leaf node a reloaded user's permissions
	// only when it connects again (without the cut, the probe below
	// created its consumer): the link is restarted.
	p.setLeafExtra(bus.Permissions{})
	p.cut()
	p.restore()
	probe, err := nats.Connect(p.leaf.ClientURL(), nats.CustomInboxPrefix(bus.InboxPrefix("nghean")))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	create := []byte(`{"stream_name":"LT_EDOC","config":{"name":"JS_SRC_probe","filter_subject":"lt.edoc.H41","deliver_subject":"$LT.h41.S.probe","ack_policy":"none"}}`)
	if m, err := probe.Request("$JS.hub.API.CONSUMER.CREATE.LT_EDOC.JS_SRC_probe.lt.edoc.H41", create, 2*time.Second); err == nil {
		t.Fatalf("the reloaded hub still lets the leaf create a source's consumer: %s", m.Data)
	}
	for i := 1; i < len(agencies); i += 2 {
		mustPub(gateway.KindEdoc, agencies[i], fmt.Sprintf("b2-%d", i))
	}
	waitMsgs(bus.StreamEdoc, 30+15+15)

	// The upgrade, with packets coming meanwhile.
	stop := make(chan struct{})
	flowing := make(chan error, 1)
	go func() {
		for j := 0; ; j++ {
			select {
			case <-stop:
				flowing <- nil
				return
			default:
			}
			if j == 2000 {
				// Enough: the rest waits for the end.
				<-stop
				flowing <- nil
				return
			}
			if err := pub(gateway.KindEdoc, agencies[j%len(agencies)], fmt.Sprintf("c-%d", j)); err != nil {
				flowing <- err
				return
			}
		}
	}()
	err = p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: agencies, Wait: time.Minute})
	close(stop)
	if ferr := <-flowing; ferr != nil {
		t.Fatalf("publishing during the upgrade: %v", ferr)
	}
	if err != nil {
		t.Fatalf("AssignLeaf: %v", err)
	}
	for i, a := range agencies {
		mustPub(gateway.KindEdoc, a, fmt.Sprintf("d-%d", i))
	}
	mustPub(gateway.KindStatus, agencies[2], "ds-2")

	// Every packet once in the leaf's streams.
	for stream, kind := range kinds {
		mu.Lock()
		want := len(published[stream])
		mu.Unlock()
		waitMsgs(stream, uint64(want))
		s, err := leafJS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		st := s.CachedInfo().State
		seen := make(map[string]int, want)
		for seq := st.FirstSeq; seq <= st.LastSeq; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				t.Fatalf("%s %d on the leaf: %v", stream, seq, err)
			}
			seen[m.Header.Get(jetstream.MsgIDHeader)]++
		}
		for id := range published[stream] {
			if seen[id] != 1 {
				t.Errorf("the leaf's %s has %s %d times", stream, id, seen[id])
			}
		}
		if len(seen) != want {
			t.Errorf("the leaf's %s has %d packets, %d published", stream, len(seen), want)
		}
		var perAgency, durable int
		for _, src := range s.CachedInfo().Config.Sources {
			switch {
			case src.Consumer == nil:
				perAgency++
			case src.Consumer.Name == bus.LeafConsumerName("h41", kind):
				durable++
			default:
				t.Errorf("the leaf's %s still sources through %s", stream, src.Consumer.Name)
			}
		}
		if perAgency != 0 || durable != 1 {
			t.Errorf("the leaf's %s has %d per-agency sources and %d durable ones, want none and one", stream, perAgency, durable)
		}
		t.Logf("%s: %d packets on the leaf, each once", stream, want)
	}
	// The old sources' consumers expire at the hub (their inactivity
	// threshold) once the leaf no longer reads them.
	after := waitLeafHubConsumers(t, p.hub, "h41", 2)
	t.Logf("hub consumers of the leaf node with %d agencies: %d before the upgrade, %d after (%v)", len(agencies), len(before), len(after), after)
}

// TestBus_LeafAddMove: while packets keep coming at the hub for four
// agencies, a leaf node is given an agency whose packets waited (Z), an
// agency moves from a hub gateway to the leaf (X: the leaf takes it from
// the gateway's consumer at an exact point, and reads it up from there),
// and back (the gateway takes it from the leaf's consumer).
// Every packet reaches exactly one gateway — the hub's or the leaf's — and
// none is lost; the only copies are the hub gateway's own, between its
// catch-up and its consumer, which its store dedupes.
func TestBus_LeafAddMove(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	l0, x, y, z := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02"), envelope.MustAgencyCode("000.00.00.G03")
	assignLeaf := func(agencies ...envelope.AgencyCode) {
		t.Helper()
		for {
			// Waiting for its catch-up, as "nats setup -leaf" does: a
			// gateway cannot take a subject the leaf's catch-up reads.
			err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: agencies, Wait: 30 * time.Second})
			if !errors.Is(err, bus.ErrCatchUpRunning) && !errors.Is(err, bus.ErrLeafBehind) {
				if err != nil {
					t.Fatalf("assign the leaf %v: %v", agencies, err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	assignHub := func(agencies ...envelope.AgencyCode) {
		t.Helper()
		for {
			err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: agencies, AckWait: 2 * time.Second})
			if !errors.Is(err, bus.ErrCatchUpRunning) {
				if err != nil {
					t.Fatalf("assign gwA %v: %v", agencies, err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Z's packets wait before anyone hosts it.
	var sent []string
	for i := range 10 {
		id := fmt.Sprintf("%s-early-%d", z, i)
		publish(t, p.hubBus, gateway.KindEdoc, z, id, []byte(id))
		sent = append(sent, id)
	}
	assignLeaf(l0)
	assignHub(x, y)
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub, onLeaf := newCollector(nil), newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x, y}, AckWait: 2 * time.Second}, atHub.handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, x, z}}, onLeaf.handle)

	var (
		mu   sync.Mutex
		done = make(chan struct{})
		stop = make(chan struct{})
	)
	// The collectors' channels are not read here: emptied, so that their
	// handlers never block.
	for _, c := range []*collector{atHub, onLeaf} {
		go func() {
			for {
				select {
				case <-c.ch:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a := []envelope.AgencyCode{x, y, z, l0}[i%4]
			id := fmt.Sprintf("%s-%d", a, i)
			if _, err := p.hubBus.Publish(ctx, gateway.Publication{Subject: gateway.Subject(gateway.KindEdoc, a), MsgID: id, Packet: []byte(id)}); err != nil {
				t.Errorf("publish %s: %v", id, err)
				return
			}
			mu.Lock()
			sent = append(sent, id)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	defer cancel() // before the publisher is waited for, should a step fail
	step := func(what string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		t.Logf("%s in %s", what, time.Since(start).Round(time.Millisecond))
	}
	// Each move waits for one of X's packets where X is.
	xAt := func(c *collector) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			for id := range gotIDs(c) {
				if strings.HasPrefix(id, x.String()+"-") && !strings.Contains(id, "early") {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no packet of X where it is")
			}
		}
	}
	xAt(atHub)
	step("Z added to the leaf", func() { assignLeaf(l0, z) })
	step("X taken by the leaf from the hub's gateway", func() { assignLeaf(l0, z, x) })
	xAt(onLeaf)
	step("X taken back by the hub's gateway", func() { assignHub(y, x) })
	close(stop)
	<-done

	// Every packet once: X at the hub or on the leaf, never both; Y at
	// the hub; Z and the province's on the leaf.
	mu.Lock()
	want := slices.Clone(sent)
	mu.Unlock()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		hub, leaf := gotIDs(atHub), gotIDs(onLeaf)
		missing := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return hub[id]+leaf[id] > 0 })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d packets never delivered: %v", len(missing), missing[:min(len(missing), 20)])
		}
		time.Sleep(100 * time.Millisecond)
	}
	hub, leaf := gotIDs(atHub), gotIDs(onLeaf)
	var moved, hubCopies int
	for _, id := range want {
		switch {
		case hub[id] > 0 && leaf[id] > 0:
			t.Errorf("%s reached both the hub's gateway (%d) and the leaf's (%d)", id, hub[id], leaf[id])
		case leaf[id] > 1:
			t.Errorf("%s reached the leaf's gateway %d times", id, leaf[id])
		case strings.HasPrefix(id, y.String()) && leaf[id] > 0,
			strings.HasPrefix(id, z.String()) && hub[id] > 0,
			strings.HasPrefix(id, l0.String()+"-") && hub[id] > 0:
			t.Errorf("%s reached the wrong gateway (hub %d, leaf %d)", id, hub[id], leaf[id])
		case strings.HasPrefix(id, x.String()) && leaf[id] > 0:
			moved++
		}
		if hub[id] > 1 {
			hubCopies++
		}
	}
	if moved == 0 {
		t.Error("none of X's packets reached the leaf while it had X")
	}
	t.Logf("%d packets; %d of X's on the leaf; %d copies at the hub's gateway (its catch-up and its consumer)", len(want), moved, hubCopies)
	waitLeafHubConsumers(t, p.hub, "h41", 2)
}

// gotIDs counts the messages a collector had, by message id.
func gotIDs(c *collector) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := make(map[string]int, len(c.all))
	for _, r := range c.all {
		n[r.MsgID]++
	}
	return n
}

// TestBus_LeafMoveToQuietLeaf: an agency moves from a hub gateway to a
// leaf node whose own agencies receive nothing, while packets for it keep
// coming. The leaf's consumer has read the hub's stream only up to its
// last packet, far below the agency's handover point, and given the agency
// as it is would deliver the packets in between, which the hub's gateway
// had: it is made again from the point. Every packet of the agency
// reaches exactly one gateway.
func TestBus_LeafMoveToQuietLeaf(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l0, x := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G01")
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}, Wait: wait}); err != nil {
		t.Fatal(err)
	}
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hubGW := openBus(t, p.hub.ClientURL(), bus.Options{Domain: "hub", NKeyFile: p.adminFile, Bind: true, GatewayConsumers: true, Gateway: "gwA"})
	atHub, onLeaf := newCollector(nil), newCollector(nil)
	consume(t, hubGW, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{x}, AckWait: 2 * time.Second}, atHub.handle)
	consume(t, p.leafBus, gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{l0, x}}, onLeaf.handle)
	for _, c := range []*collector{atHub, onLeaf} {
		go func() {
			for {
				select {
				case <-c.ch:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var (
		mu   sync.Mutex
		sent []string
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("%s-%d", x, i)
			if _, err := p.hubBus.Publish(ctx, gateway.Publication{Subject: gateway.Subject(gateway.KindEdoc, x), MsgID: id, Packet: []byte(id)}); err != nil {
				t.Errorf("publish %s: %v", id, err)
				return
			}
			mu.Lock()
			sent = append(sent, id)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	defer cancel()
	waitGot := func(c *collector, n int) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); len(gotIDs(c)) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d packets, want %d", len(gotIDs(c)), n)
			}
		}
	}
	waitGot(atHub, 50)
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwA", Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G09")}, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	for {
		err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, x}, Wait: wait})
		if errors.Is(err, bus.ErrLeafBehind) {
			t.Logf("assign: %v", err) // the consumer moved meanwhile: again
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("AssignLeaf: %v", err)
		}
		break
	}
	waitGot(onLeaf, 50)
	close(stop)
	<-done

	mu.Lock()
	want := slices.Clone(sent)
	mu.Unlock()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		hub, leaf := gotIDs(atHub), gotIDs(onLeaf)
		missing := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return hub[id]+leaf[id] > 0 })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d packets never delivered: %v", len(missing), missing[:min(len(missing), 20)])
		}
	}
	hub, leaf := gotIDs(atHub), gotIDs(onLeaf)
	for _, id := range want {
		if hub[id] > 0 && leaf[id] > 0 || leaf[id] > 1 {
			t.Errorf("%s reached the hub's gateway %d times and the leaf's %d", id, hub[id], leaf[id])
		}
	}
	c, err := p.adminJetStream().PushConsumer(ctx, bus.StreamEdoc, bus.LeafConsumerName("h41", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d packets, %d at the hub's gateway, %d on the leaf; the leaf's consumer starts at %d (%s)", len(want), len(hub), len(leaf),
		c.CachedInfo().Config.OptStartSeq, c.CachedInfo().Config.DeliverPolicy)
	if c.CachedInfo().Config.DeliverPolicy != jetstream.DeliverByStartSequencePolicy {
		t.Errorf("the leaf's consumer was not made again from the point: %+v", c.CachedInfo().Config)
	}
}

// TestBus_LeafAssignRefused: a leaf node is not given an agency a hub
// gateway reads through a per-agency consumer of the version before, or
// under a subtree of its gateway consumer (one it has as such is taken
// from it: TestBus_LeafAddMove); and nothing changes at the hub when the
// leaf is out of reach.
func TestBus_LeafAssignRefused(t *testing.T) {
	p := newLeafPairWith(t, bus.Permissions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l0, v := leafAgencies[0], envelope.MustAgencyCode("000.00.00.G02")
	if err := p.hubBus.EnsureConsumers(ctx, []envelope.AgencyCode{v}, 0); err != nil {
		t.Fatal(err)
	}
	// An agency under a subtree another gateway has.
	if err := p.hubBus.Assign(ctx, bus.Assignment{Gateway: "gwB", Agencies: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G05")},
		Subtrees: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G05")}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []envelope.AgencyCode{v, envelope.MustAgencyCode("000.00.07.G05")} {
		err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0, a}})
		if err == nil || !strings.Contains(err.Error(), "take it from there first") {
			t.Errorf("the leaf was given %s, which a hub gateway reads: %v", a, err)
		}
	}
	if names := leafHubConsumers(t, p.hub, "h41"); len(names) != 0 {
		t.Errorf("refused assignments left the leaf %v at the hub", names)
	}
	if err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h41", Agencies: []envelope.AgencyCode{l0}}); err != nil {
		t.Fatal(err)
	}
	// Another leaf node (its link is not up: refused before anything
	// changes at the hub).
	err := p.hubBus.AssignLeaf(ctx, bus.LeafAssignment{Domain: "h42", Agencies: []envelope.AgencyCode{l0}})
	if err == nil {
		t.Error("a second leaf node was given the first one's agency")
	}
	if names := leafHubConsumers(t, p.hub, "h42"); len(names) != 0 {
		t.Errorf("a refused assignment left h42 %v at the hub", names)
	}
}
