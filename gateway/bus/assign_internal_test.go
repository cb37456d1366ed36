package bus

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// TestGatewayConsumer_Filters: nats-server takes what Filters makes for a
// province's gateway (hundreds of literals and subtrees; it refuses
// overlapping filters), and the gateway's consumer is given exactly the
// messages of its agencies and subtrees, from its creation on.
func TestGatewayConsumer_Filters(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()

	// H41 hosts 300 single agencies under G12 and delegates H40's tree; a
	// code under H40 is also listed, as a config would.
	var hosted []envelope.AgencyCode
	for i := range 300 {
		hosted = append(hosted, envelope.MustAgencyCode(fmt.Sprintf("%03d.00.01.G12", i+1)))
	}
	hosted = append(hosted, envelope.MustAgencyCode("000.00.07.H40"))
	filters, err := Filters(gateway.KindEdoc, hosted, []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.H40")})
	if err != nil {
		t.Fatal(err)
	}
	if len(filters) != 302 {
		t.Fatalf("%d filters, want 300 literals and the subtree's two", len(filters))
	}

	publishRaw(t, b, "lt.edoc.G12.01.00.001", "before")
	name := GatewayConsumerName("gw-h41", gateway.KindEdoc)
	if name != "gwc_edoc_gw-h41" {
		t.Errorf("name = %q", name)
	}
	c, err := b.js.CreateConsumer(ctx, StreamEdoc, gatewayConsumerConfig(name, "test", filters, time.Second))
	if err != nil {
		t.Fatalf("nats-server refused the filters: %v", err)
	}

	want := []string{"G12.01.00.001", "G12.01.00.300", "H40", "H40.07", "H40.99.01"}
	for _, s := range []string{
		"G12.01.00.001", "G12.01.00.301", "G12", "G12.02.00.001", // one hosted, three not
		"G12.01.00.300", "H40", "H40.07", "H40.99.01", "H400", "H41",
	} {
		publishRaw(t, b, "lt.edoc."+s, s)
	}
	var got []string
	batch, err := c.Fetch(20, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q (and nothing from before the consumer)", got, want)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAckPending != gatewayMaxAckPending || info.Config.DeliverPolicy != jetstream.DeliverNewPolicy {
		t.Errorf("config: max ack pending %d, deliver %v", info.Config.MaxAckPending, info.Config.DeliverPolicy)
	}
}

// publishRaw publishes data on subject to the packet streams, unchecked.
func publishRaw(t *testing.T, b *Bus, subject, data string) uint64 {
	t.Helper()
	ack, err := b.js.Publish(t.Context(), subject, []byte(data))
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// TestCatchUpConsumer: a catch-up consumer made for two agencies with
// different handover points, read back from the server as a restarted
// gateway would, owns exactly each agency's messages from its point up to
// until — nothing another gateway had, nothing the gateway consumer has.
func TestCatchUpConsumer(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()

	const x, y, other = "lt.edoc.CUX", "lt.edoc.CUY", "lt.edoc.CUZ"
	seqs := map[string][]uint64{}
	for i := range 12 {
		for _, s := range []string{x, y, other} {
			seqs[s] = append(seqs[s], publishRaw(t, b, s, fmt.Sprintf("%s-%d", s, i)))
		}
	}
	pointY := seqs[y][5] // Y was released by another gateway there
	until := seqs[other][8]
	cfg, err := catchUpConsumerConfig("gwu_edoc_test", "test", map[string]uint64{x: 1, y: pointY}, until, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.CreateConsumer(ctx, StreamEdoc, cfg); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // after until: the gateway consumer's
		publishRaw(t, b, x, fmt.Sprintf("late-%d", i))
	}

	c, err := b.js.Consumer(ctx, StreamEdoc, "gwu_edoc_test")
	if err != nil {
		t.Fatal(err)
	}
	cu, err := readCatchUp(c.CachedInfo().Config)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	batch, err := c.Fetch(100, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject() == other {
			t.Errorf("delivered %s, which is not caught up", m.Subject())
		}
		if cu.owns(m.Subject(), md.Sequence.Stream) {
			got = append(got, md.Sequence.Stream)
		}
	}
	var want []uint64
	for _, s := range seqs[x] {
		if s <= until {
			want = append(want, s)
		}
	}
	for _, s := range seqs[y] {
		if s >= pointY && s <= until {
			want = append(want, s)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("owned %v, want %v", got, want)
	}

	if _, err := catchUpConsumerConfig("gwu_edoc_test", "test", nil, until, time.Second); err == nil {
		t.Error("a catch-up of nothing was made")
	}
	if _, err := readCatchUp(jetstream.ConsumerConfig{Durable: "gwu_edoc_x"}); err == nil {
		t.Error("a consumer without lt.until was read as a catch-up")
	}
}

// TestCatchUp_OwnsSubtree: a subject under a delegated subtree takes the
// subtree's point, not the catch-up's lowest.
func TestCatchUp_OwnsSubtree(t *testing.T) {
	cu := catchUp{from: 1, until: 100, starts: map[string]uint64{"lt.edoc.H41.>": 50, "lt.edoc.H41.12": 70}}
	for _, tc := range []struct {
		subject string
		seq     uint64
		want    bool
	}{
		{"lt.edoc.H41.07", 10, false},
		{"lt.edoc.H41.07.01", 50, true},
		{"lt.edoc.H41.12", 60, false},
		{"lt.edoc.H41.12", 70, true},
		{"lt.edoc.G22", 10, true},
		{"lt.edoc.G22", 101, false},
	} {
		if got := cu.owns(tc.subject, tc.seq); got != tc.want {
			t.Errorf("owns(%s, %d) = %v, want %v", tc.subject, tc.seq, got, tc.want)
		}
	}
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"lt.edoc.H41", "lt.edoc.H41", true},
		{"lt.edoc.H41", "lt.edoc.H410", false},
		{"lt.edoc.H41.>", "lt.edoc.H41.12", true},
		{"lt.edoc.H41.>", "lt.edoc.H41", false}, // the root itself is its own literal
		{"lt.edoc.H41.>", "lt.edoc.H410.01", false},
		{"lt.edoc.H41.12", "lt.edoc.H41.>", true},
		{"lt.edoc.H41.>", "lt.edoc.H41.12.>", true},
		{"lt.edoc.H41.12.>", "lt.edoc.H41.>", true},
		{"lt.edoc.H41.>", "lt.edoc.H42.>", false},
	} {
		if got := overlaps(tc.a, tc.b); got != tc.want {
			t.Errorf("overlaps(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// embeddedBus starts an embedded server in a temporary directory and opens
// a Bus on it, both closed when the test ends.
func embeddedBus(t *testing.T) *Bus {
	t.Helper()
	srv, err := StartServer(ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	b, err := Open(t.Context(), Options{URL: srv.ClientURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestLeafRemakeConfig: the consumer a remake record stands for is made
// from the leaf node's own configuration (its name, its delivery subject)
// and only the record's filters and start; a record whose filters are not
// agency subjects of the stream, or whose catch-up starts are not among
// them, is refused. Before, the recorded configuration was made as it was:
// another delivery subject, a filter on the whole stream.
func TestLeafRemakeConfig(t *testing.T) {
	name := LeafConsumerName("h41", gateway.KindEdoc)
	good := leafRemake{
		Config: jetstream.ConsumerConfig{Name: name, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 40,
			DeliverSubject: "$LT.h42.src.edoc", AckPolicy: jetstream.AckNonePolicy, FilterSubjects: []string{"lt.edoc.H41", "lt.edoc.G01.>"}},
		Starts: map[string]uint64{"lt.edoc.G01.>": 40}, From: 40,
	}
	cfg, err := leafRemakeConfig(good, gateway.KindEdoc, "h41")
	if err != nil {
		t.Fatal(err)
	}
	want := leafConsumerConfig(name, "lienthong edoc packets for leaf node h41", leafDeliverSubject("h41", gateway.KindEdoc, false), []string{"lt.edoc.H41", "lt.edoc.G01.>"})
	want.DeliverPolicy, want.OptStartSeq = jetstream.DeliverByStartSequencePolicy, 40
	if fmt.Sprint(cfg) != fmt.Sprint(want) {
		t.Errorf("made as\n%+v\nwant\n%+v", cfg, want)
	}
	for what, edit := range map[string]func(r *leafRemake){
		"whole stream":       func(r *leafRemake) { r.Config.FilterSubjects = []string{"lt.edoc.>"} },
		"other kind":         func(r *leafRemake) { r.Config.FilterSubjects = []string{"lt.status.H41"} },
		"wildcard":           func(r *leafRemake) { r.Config.FilterSubjects = []string{"lt.edoc.*"} },
		"other subject":      func(r *leafRemake) { r.Config.FilterSubjects = []string{"$JS.API.>"} },
		"empty token":        func(r *leafRemake) { r.Config.FilterSubjects = []string{"lt.edoc.H41..1"} },
		"no filter":          func(r *leafRemake) { r.Config.FilterSubjects = nil },
		"start not a filter": func(r *leafRemake) { r.Starts = map[string]uint64{"lt.edoc.G02": 40} },
		"start below from":   func(r *leafRemake) { r.Starts = map[string]uint64{"lt.edoc.G01.>": 39} },
		"other consumer":     func(r *leafRemake) { r.Config.Name = "gwc_edoc_x" },
		"not by start":       func(r *leafRemake) { r.Config.DeliverPolicy = jetstream.DeliverAllPolicy },
		"no start sequence":  func(r *leafRemake) { r.Config.OptStartSeq = 0 },
	} {
		r := good
		r.Config.FilterSubjects = slices.Clone(good.Config.FilterSubjects)
		edit(&r)
		if _, err := leafRemakeConfig(r, gateway.KindEdoc, "h41"); err == nil {
			t.Errorf("%s: not refused: %+v", what, r)
		}
	}
}
