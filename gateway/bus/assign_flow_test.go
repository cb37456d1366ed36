package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// TestBus_Assign: while packets keep coming for three agencies, an agency
// moves from gateway A to gateway B, B takes a new agency that had packets
// waiting, and the agency is then released by B and taken back by A from
// the point kept. Every packet reaches exactly one gateway — the one
// assigned when it was sent, or the one an agency moved to — and none is
// lost; the only copies are the same gateway's, which its store dedupes.
func TestBus_Assign(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	w, x, y, v := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02"), envelope.MustAgencyCode("000.00.00.G03"), envelope.MustAgencyCode("000.00.00.G04")

	// Y's packets wait before anyone hosts it.
	for i := range 20 {
		publishRaw(t, b, gateway.Subject(gateway.KindEdoc, y), fmt.Sprintf("%s-early-%d", y, i))
	}
	assign := func(gw string, agencies ...envelope.AgencyCode) {
		t.Helper()
		for {
			err := b.Assign(ctx, Assignment{Gateway: gw, Agencies: agencies, AckWait: 2 * time.Second})
			if !errors.Is(err, ErrCatchUpRunning) {
				if err != nil {
					t.Fatalf("assign %s: %v", gw, err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	assign("gwA", w, x)
	assign("gwB", v) // an agency with no traffic, which gwB lets go when it takes X

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	got := &received{by: map[string]map[string]int{}}
	var readers sync.WaitGroup
	for _, gw := range []string{"gwA", "gwB"} {
		readers.Add(2)
		go func() {
			defer readers.Done()
			readGateway(rctx, t, b, GatewayConsumerName(gw, gateway.KindEdoc), gw, got)
		}()
		go func() {
			defer readers.Done()
			readGateway(rctx, t, b, CatchUpConsumerName(gw, gateway.KindEdoc), gw, got)
		}()
	}

	var sent []string
	var pub sync.WaitGroup
	pub.Add(1)
	go func() {
		defer pub.Done()
		for i := 0; rctx.Err() == nil && i < 900; i++ {
			a := []envelope.AgencyCode{w, x, y}[i%3]
			id := fmt.Sprintf("%s-%d", a, i)
			if _, err := b.js.Publish(ctx, gateway.Subject(gateway.KindEdoc, a), []byte(id)); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			sent = append(sent, id)
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	assign("gwB", x, y) // X moves A→B; Y is new, with packets waiting
	time.Sleep(200 * time.Millisecond)
	assign("gwB", y)    // X released by B…
	assign("gwA", w, x) // …and taken back by A from the point kept
	pub.Wait()
	for i := range 20 {
		sent = append(sent, fmt.Sprintf("%s-early-%d", y, i))
	}

	// Wait until everything sent was read, then stop the readers.
	deadline := time.Now().Add(20 * time.Second)
	for got.count() < len(sent) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	readers.Wait()

	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.by) != len(sent) {
		t.Errorf("%d distinct packets read, %d sent", len(got.by), len(sent))
	}
	for _, id := range sent {
		by := got.by[id]
		switch {
		case len(by) == 0:
			t.Errorf("%s lost", id)
		case len(by) > 1:
			t.Errorf("%s read by two gateways: %v", id, by)
		}
		for gw := range by {
			if (strings.HasPrefix(id, w.String()+"-") && gw != "gwA") || (strings.HasPrefix(id, y.String()+"-") && gw != "gwB") {
				t.Errorf("%s read by %s", id, gw)
			}
		}
	}
	t.Logf("%d packets, %d copies at the same gateway", len(sent), got.copies)
}

// received records which gateway read each packet, and how often.
type received struct {
	mu     sync.Mutex
	by     map[string]map[string]int
	copies int
}

func (r *received) add(id, gw string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by[id] == nil {
		r.by[id] = map[string]int{}
	}
	r.by[id][gw]++
	if r.by[id][gw] > 1 {
		r.copies++
	}
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.by)
}

// readGateway reads the consumer name whenever it exists, as a gateway
// would: a catch-up's messages only where it owns them, and the catch-up
// deleted once it has nothing left.
func readGateway(ctx context.Context, t *testing.T, b *Bus, name, gw string, got *received) {
	for ctx.Err() == nil {
		c, err := b.js.Consumer(ctx, StreamEdoc, name)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var cu *catchUp
		if cfg := c.CachedInfo().Config; cfg.Metadata[metaUntil] != "" {
			r, err := readCatchUp(cfg)
			if err != nil {
				t.Error(err)
				return
			}
			cu = &r
		}
		for ctx.Err() == nil {
			batch, err := c.Fetch(50, jetstream.FetchMaxWait(100*time.Millisecond))
			if err != nil {
				break
			}
			n := 0
			for m := range batch.Messages() {
				n++
				md, err := m.Metadata()
				if err != nil {
					t.Error(err)
					continue
				}
				if cu == nil || cu.owns(m.Subject(), md.Sequence.Stream) {
					got.add(string(m.Data()), gw)
				}
				if err := m.DoubleAck(ctx); err != nil && ctx.Err() == nil {
					t.Errorf("ack: %v", err)
				}
			}
			if cu != nil && n == 0 {
				info, err := c.Info(ctx)
				// Not while paused: an assignment is taking subjects
				// out of it (as stepCatchUp).
				if err == nil && !info.Paused && info.NumPending == 0 && info.NumAckPending == 0 {
					if err := b.js.DeleteConsumer(ctx, StreamEdoc, name); err != nil && ctx.Err() == nil {
						t.Errorf("delete %s: %v", name, err)
					}
					break
				}
			}
		}
	}
}

// TestBus_AssignFromPerAgency: an agency read by the per-agency consumer of
// the version before, partly acknowledged, is assigned to a gateway: the
// per-agency consumer is paused, and the gateway reads every packet from
// its acknowledged floor on — what was fetched and not acknowledged
// included — and none below it.
func TestBus_AssignFromPerAgency(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x := envelope.MustAgencyCode("000.00.00.G05")
	if err := b.EnsureConsumers(ctx, []envelope.AgencyCode{x}, time.Second); err != nil {
		t.Fatal(err)
	}
	subject := gateway.Subject(gateway.KindEdoc, x)
	for i := range 10 {
		publishRaw(t, b, subject, fmt.Sprintf("old-%d", i))
	}
	legacy, err := b.js.Consumer(ctx, StreamEdoc, ConsumerName(x, gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := legacy.Fetch(6, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for m := range batch.Messages() {
		if i < 4 { // old-0 … old-3 handled; old-4 and old-5 in hand
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		i++
	}

	if err := b.Assign(ctx, Assignment{Gateway: "gwN", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	if info, err := legacy.Info(ctx); err != nil || !info.Paused {
		t.Errorf("the per-agency consumer after the assignment: paused %v, %v", info != nil && info.Paused, err)
	}
	for i := range 5 {
		publishRaw(t, b, subject, fmt.Sprintf("new-%d", i))
	}
	rctx, stop := context.WithCancel(ctx)
	got := &received{by: map[string]map[string]int{}}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		readGateway(rctx, t, b, GatewayConsumerName("gwN", gateway.KindEdoc), "gwN", got)
	}()
	go func() {
		defer readers.Done()
		readGateway(rctx, t, b, CatchUpConsumerName("gwN", gateway.KindEdoc), "gwN", got)
	}()
	var want []string
	for i := 4; i < 10; i++ {
		want = append(want, fmt.Sprintf("old-%d", i))
	}
	for i := range 5 {
		want = append(want, fmt.Sprintf("new-%d", i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for got.count() < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	drained(t, b, "gwN") // read before acknowledged: anything more would show now
	stop()
	readers.Wait()
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, id := range want {
		if got.by[id] == nil {
			t.Errorf("%s lost", id)
		}
	}
	if len(got.by) != len(want) {
		t.Errorf("read %d packets, want %d: %v", len(got.by), len(want), got.by)
	}
}

// TestBus_AssignReplaceAll: a gateway whose agencies are all replaced
// keeps reading (its consumer never has no filter), the agency it let go
// is read by its next holder from where it was left, and a gateway whose
// only agency is taken loses its consumer — after which the taker reads
// everything that agency had waiting.
func TestBus_AssignReplaceAll(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	w, z := envelope.MustAgencyCode("000.00.00.G07"), envelope.MustAgencyCode("000.00.00.G08")
	assign := func(gw string, agencies ...envelope.AgencyCode) {
		t.Helper()
		if err := b.Assign(ctx, Assignment{Gateway: gw, Agencies: agencies, AckWait: time.Second}); err != nil {
			t.Fatalf("assign %s %v: %v", gw, agencies, err)
		}
	}
	pub := func(a envelope.AgencyCode, id string) { publishRaw(t, b, gateway.Subject(gateway.KindEdoc, a), id) }

	assign("gA", w)
	pub(w, "w-1")
	// gA has w-1 in hand, unacknowledged, when its agencies are replaced
	// (it stopped, say): it no longer hosts W, so w-1 is for W's next
	// holder.
	ca, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ca.Next(jetstream.FetchMaxWait(time.Second)); err != nil || string(m.Data()) != "w-1" {
		t.Fatalf("gA's first message: %v", err)
	}
	assign("gA", z) // all replaced
	if c, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc)); err != nil || !slices.Equal(filtersOf(c.CachedInfo().Config), []string{"lt.edoc.G08"}) {
		t.Fatalf("gA's consumer after its agencies were replaced: %v", err)
	}
	pub(w, "w-2")
	pub(z, "z-1")
	assign("gB", w) // W from where gA left it: nothing of it was read
	assign("gC", z) // gA's only agency: its consumer goes
	if _, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc)); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("gA's consumer after its only agency went: %v", err)
	}
	pub(z, "z-2")

	rctx, stop := context.WithCancel(ctx)
	got := &received{by: map[string]map[string]int{}}
	var readers sync.WaitGroup
	for _, gw := range []string{"gB", "gC"} {
		readers.Add(2)
		go func() {
			defer readers.Done()
			readGateway(rctx, t, b, GatewayConsumerName(gw, gateway.KindEdoc), gw, got)
		}()
		go func() {
			defer readers.Done()
			readGateway(rctx, t, b, CatchUpConsumerName(gw, gateway.KindEdoc), gw, got)
		}()
	}
	want := map[string]string{"w-1": "gB", "w-2": "gB", "z-1": "gC", "z-2": "gC"}
	deadline := time.Now().Add(10 * time.Second)
	for got.count() < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	drained(t, b, "gB") // read before acknowledged: anything more would show now
	drained(t, b, "gC")
	stop()
	readers.Wait()
	got.mu.Lock()
	defer got.mu.Unlock()
	for id, gw := range want {
		if len(got.by[id]) != 1 || got.by[id][gw] == 0 {
			t.Errorf("%s read by %v, want %s alone", id, got.by[id], gw)
		}
	}
}

// TestBus_AssignFromManyPerAgency: a gateway moving from hundreds of
// per-agency consumers is assigned within one request timeout, and every
// per-agency consumer is paused.
func TestBus_AssignFromManyPerAgency(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	var codes []envelope.AgencyCode
	for i := range 200 {
		codes = append(codes, envelope.MustAgencyCode(fmt.Sprintf("%03d.00.01.G12", i+1)))
	}
	if err := b.EnsureConsumers(ctx, codes, time.Second); err != nil {
		t.Fatal(err)
	}
	b.opts.Timeout = 5 * time.Second // what 200 agencies one after another would exceed
	if err := b.Assign(ctx, Assignment{Gateway: "gwM", Agencies: codes}); err != nil {
		t.Fatal(err)
	}
	for _, c := range codes[:5] {
		for _, k := range packetStreams {
			jc, err := b.js.Consumer(ctx, k.stream, ConsumerName(c, k.kind))
			if err != nil || !jc.CachedInfo().Paused {
				t.Errorf("per-agency consumer of %s on %s after the assignment: %v", c, k.stream, err)
			}
		}
	}
}

// TestBus_AssignFinishesRecordedCatchUp: when the process assigning dies
// after the gateway consumer took new subjects and before the catch-up was
// made, the next Assign — with nothing else to change — makes it from the
// record, so what waited is not lost.
func TestBus_AssignFinishesRecordedCatchUp(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x, y := envelope.MustAgencyCode("000.00.00.G09"), envelope.MustAgencyCode("000.00.00.G10")
	if err := b.Assign(ctx, Assignment{Gateway: "gP", Agencies: []envelope.AgencyCode{x}}); err != nil {
		t.Fatal(err)
	}
	ySubject := gateway.Subject(gateway.KindEdoc, y)
	for i := range 3 {
		publishRaw(t, b, ySubject, fmt.Sprintf("y-%d", i))
	}
	// What an Assign adding Y did before it died: the record, then the
	// gateway consumer's filters.
	kv, err := b.handoverBucket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := putPending(ctx, kv, StreamEdoc, "gP", map[string]uint64{ySubject: 1}); err != nil {
		t.Fatal(err)
	}
	name := GatewayConsumerName("gP", gateway.KindEdoc)
	c, err := b.js.Consumer(ctx, StreamEdoc, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	cfg.FilterSubject, cfg.FilterSubjects = "", []string{gateway.Subject(gateway.KindEdoc, x), ySubject}
	if _, err := b.js.UpdateConsumer(ctx, StreamEdoc, cfg); err != nil {
		t.Fatal(err)
	}

	if err := b.Assign(ctx, Assignment{Gateway: "gP", Agencies: []envelope.AgencyCode{x, y}}); err != nil {
		t.Fatal(err)
	}
	cu, err := b.js.Consumer(ctx, StreamEdoc, CatchUpConsumerName("gP", gateway.KindEdoc))
	if err != nil {
		t.Fatalf("the recorded catch-up was not made: %v", err)
	}
	if info := cu.CachedInfo(); info.NumPending != 3 || !slices.Equal(filtersOf(info.Config), []string{ySubject}) {
		t.Errorf("catch-up: %d pending, filters %v; want Y's 3", info.NumPending, filtersOf(info.Config))
	}
	if _, err := kv.Get(ctx, pendingKey(StreamEdoc, "gP")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the record after the catch-up was made: %v", err)
	}
}

// TestBus_AssignConcurrent: assignments of one agency to several gateways
// at once end with exactly one gateway consumer holding it; and a subtree
// over another gateway's agency is refused, not read by both.
func TestBus_AssignConcurrent(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	for round := range 5 {
		x := envelope.MustAgencyCode(fmt.Sprintf("000.00.%02d.G11", round+1))
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Go(func() {
				// Each keeps an agency of its own, so that none is retired.
				gw := fmt.Sprintf("gc%d_%d", round, g)
				mine := envelope.MustAgencyCode(fmt.Sprintf("%03d.00.%02d.G13", g+1, round+1))
				if err := b.Assign(ctx, Assignment{Gateway: gw, Agencies: []envelope.AgencyCode{x, mine}}); err != nil {
					t.Errorf("assign %s: %v", gw, err)
				}
			})
		}
		wg.Wait()
		subject := gateway.Subject(gateway.KindEdoc, x)
		holders := 0
		for g := range 3 {
			c, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName(fmt.Sprintf("gc%d_%d", round, g), gateway.KindEdoc))
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(filtersOf(c.CachedInfo().Config), subject) {
				holders++
			}
		}
		if holders != 1 {
			t.Errorf("round %d: %d gateway consumers hold %s, want 1", round, holders, subject)
		}
	}

	h4112 := envelope.MustAgencyCode("000.00.12.H41")
	if err := b.Assign(ctx, Assignment{Gateway: "gS1", Agencies: []envelope.AgencyCode{h4112}}); err != nil {
		t.Fatal(err)
	}
	err := b.Assign(ctx, Assignment{Gateway: "gS2", Subtrees: []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.H41")}})
	if err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("a subtree over another gateway's agency: %v, want a refusal", err)
	}
}
