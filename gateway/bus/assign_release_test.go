package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// TestBus_AssignTakesFromCatchUp: a gateway assigned two agencies whose
// packets waited has a catch-up of them, which it reads without handling
// them (as a gateway restarted without them naks them), but for the first
// three of one, which it handled before. Assignments that only take the
// agencies away are not refused for the catch-up: each agency is taken out
// of it, the catch-up deleted with the last; one that adds an agency still
// is. The gateway the agencies go to next reads every packet of them the
// first did not handle, once, and none it handled.
func TestBus_AssignTakesFromCatchUp(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x, y, z, w := envelope.MustAgencyCode("000.00.00.G21"), envelope.MustAgencyCode("000.00.00.G22"), envelope.MustAgencyCode("000.00.00.G23"), envelope.MustAgencyCode("000.00.00.G24")
	ySubject, zSubject := gateway.Subject(gateway.KindEdoc, y), gateway.Subject(gateway.KindEdoc, z)
	var sent []string
	seqOf := map[string]uint64{}
	pub := func(subject, id string) {
		seqOf[id] = publishRaw(t, b, subject, id)
		sent = append(sent, id)
	}
	assign := func(gw string, agencies ...envelope.AgencyCode) error {
		return b.Assign(ctx, Assignment{Gateway: gw, Agencies: agencies, AckWait: time.Second})
	}
	// gA has X, with nothing waiting, before Y and Z.
	if err := assign("gA", x); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		pub(ySubject, fmt.Sprintf("y-early-%d", i))
	}
	for i := range 4 {
		pub(zSubject, fmt.Sprintf("z-early-%d", i))
	}
	if err := assign("gA", x, y, z); err != nil {
		t.Fatal(err)
	}
	catchName := CatchUpConsumerName("gA", gateway.KindEdoc)
	cu, err := b.js.Consumer(ctx, StreamEdoc, catchName)
	if err != nil {
		t.Fatalf("no catch-up of the packets that waited: %v", err)
	}
	until := cu.CachedInfo().Config.Metadata[metaUntil]

	// gA reads its catch-up: it handles and acknowledges Y's first three
	// packets and naks the others for later, which keeps them pending.
	handledByA := map[string]bool{}
	for seen := map[string]bool{}; len(seen) < len(sent); {
		batch, err := cu.Fetch(20, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			id := string(m.Data())
			seen[id] = true
			if id == "y-early-0" || id == "y-early-1" || id == "y-early-2" {
				handledByA[id] = true
				if err := m.DoubleAck(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := m.NakWithDelay(time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		pub(ySubject, fmt.Sprintf("y-late-%d", i))
	}
	for i := range 2 {
		pub(zSubject, fmt.Sprintf("z-late-%d", i))
	}

	// Adding an agency still waits for the catch-up.
	if err := assign("gA", x, y, z, w); !errors.Is(err, ErrCatchUpRunning) {
		t.Fatalf("an assignment adding an agency while the catch-up runs: %v, want ErrCatchUpRunning", err)
	}
	// Taking Y away takes it out of the catch-up, which keeps Z.
	if err := assign("gA", x, z); err != nil {
		t.Fatalf("take Y from gA while its catch-up runs: %v", err)
	}
	cu, err = b.js.Consumer(ctx, StreamEdoc, catchName)
	if err != nil {
		t.Fatalf("the catch-up, which still has Z: %v", err)
	}
	cfg := cu.CachedInfo().Config
	if f := filtersOf(cfg); !slices.Equal(f, []string{zSubject}) {
		t.Errorf("the catch-up's filters %v, want Z's only", f)
	}
	if st, err := readCatchUp(cfg); err != nil || cfg.Metadata[metaUntil] != until || !st.owns(zSubject, seqOf["z-early-0"]) {
		t.Errorf("the catch-up as rewritten: %+v, %v; until %s, was %s", st, err, cfg.Metadata[metaUntil], until)
	}
	kv, err := b.handoverBucket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, startKey(StreamEdoc, ySubject))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := strconv.ParseUint(string(e.Value()), 10, 64); p != seqOf["y-early-3"] {
		t.Errorf("Y's point %d, want %d: the first packet gA did not acknowledge", p, seqOf["y-early-3"])
	}
	// Taking Z away too deletes it.
	if err := assign("gA", x); err != nil {
		t.Fatalf("take Z from gA while its catch-up runs: %v", err)
	}
	if _, err := b.js.Consumer(ctx, StreamEdoc, catchName); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("gA's catch-up, left with no agency: %v, want it deleted", err)
	}
	if _, err := kv.Get(ctx, releasedKey(StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc))); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the record of what was taken out of the catch-up, once done: %v", err)
	}

	// gB takes both: it reads every packet gA did not handle, once.
	if err := assign("gB", y, z); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	got := &received{by: map[string]map[string]int{}}
	var readers sync.WaitGroup
	for _, name := range []string{GatewayConsumerName("gB", gateway.KindEdoc), CatchUpConsumerName("gB", gateway.KindEdoc)} {
		readers.Go(func() { readGateway(rctx, t, b, name, "gB", got) })
	}
	want := len(sent) - len(handledByA)
	deadline := time.Now().Add(20 * time.Second)
	for got.count() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Until gB's catch-up is read to its end, so that a copy would show.
	for time.Now().Before(deadline) {
		if _, err := b.js.Consumer(ctx, StreamEdoc, CatchUpConsumerName("gB", gateway.KindEdoc)); errors.Is(err, jetstream.ErrConsumerNotFound) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And its consumer holds nothing either (the readers record before
	// they acknowledge).
	drained(t, b, "gB")
	stop()
	readers.Wait()

	got.mu.Lock()
	defer got.mu.Unlock()
	for _, id := range sent {
		n := got.by[id]["gB"]
		switch {
		case handledByA[id] && n != 0:
			t.Errorf("%s, handled by gA, read by gB too (%d times)", id, n)
		case !handledByA[id] && n != 1:
			t.Errorf("%s read by gB %d times, want once", id, n)
		}
	}
}

// TestBus_GateReleasedFromCatchUp: a running gateway whose configuration
// does not host an agency the administrator assigned it (or restarted
// without it) naks the agency's packets its catch-up gives it, so the
// catch-up never ends. The administrator takes the agency away again:
// that is not refused for the catch-up, the catch-up is ended, the
// gateway never handles the agency's packets, and the gateway the agency
// goes to gets each of them once.
func TestBus_GateReleasedFromCatchUp(t *testing.T) {
	b := embeddedBus(t)
	b.opts.GatewayConsumers = true
	b.unhostedDelay = 200 * time.Millisecond
	b.handedOverSettle = time.Second
	ctx := t.Context()
	x, y := envelope.MustAgencyCode("000.00.00.G31"), envelope.MustAgencyCode("000.00.00.G32")
	first := &handled{n: map[string]int{}}
	spec := gateway.ConsumerSpec{Gateway: "gA", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}
	c, err := b.Consume(ctx, spec, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprintf("y-early-%d", i))
		publishEdoc(t, b, y, ids[len(ids)-1])
	}
	if err := b.Assign(ctx, Assignment{Gateway: "gA", Agencies: []envelope.AgencyCode{x, y}, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	catchName := CatchUpConsumerName("gA", gateway.KindEdoc)
	waitFor(t, "gA's catch-up nakked Y's packets", func() bool {
		cu, err := b.js.Consumer(ctx, StreamEdoc, catchName)
		return err == nil && cu.CachedInfo().NumRedelivered > 0
	})
	for i := range 2 {
		ids = append(ids, fmt.Sprintf("y-late-%d", i))
		publishEdoc(t, b, y, ids[len(ids)-1])
	}
	publishEdoc(t, b, x, "x")
	waitFor(t, "gA's own packet", func() bool { return first.count("x") == 1 })

	if err := b.Assign(ctx, Assignment{Gateway: "gA", Agencies: []envelope.AgencyCode{x}, AckWait: time.Second}); err != nil {
		t.Fatalf("take Y from gA, whose catch-up of it cannot end: %v", err)
	}
	if _, err := b.js.Consumer(ctx, StreamEdoc, catchName); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("gA's catch-up of Y alone: %v, want it deleted", err)
	}
	if err := b.Assign(ctx, Assignment{Gateway: "gB", Agencies: []envelope.AgencyCode{y}, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	second := &handled{n: map[string]int{}}
	cb, err := openSibling(t, b).Consume(ctx, gateway.ConsumerSpec{Gateway: "gB", Agencies: []envelope.AgencyCode{y}, AckWait: time.Second}, second.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Stop()
	waitFor(t, "Y's packets at gB", func() bool {
		for _, id := range ids {
			if second.count(id) == 0 {
				return false
			}
		}
		return true
	})
	// gA settles what it still held of Y without handling it: handed
	// over, once its gate reads its gateway consumer again (at most
	// viewTTL after it last did: done here at once).
	if err := c.(*consumer).gate.reread(StreamEdoc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "gA's consumer settled", func() bool {
		jc, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc))
		return err == nil && jc.CachedInfo().NumAckPending == 0 && jc.CachedInfo().NumPending == 0
	})
	for _, id := range ids {
		if n := first.count(id); n != 0 {
			t.Errorf("%s reached the handler of gA, which does not host Y, %d times", id, n)
		}
		if n := second.count(id); n != 1 {
			t.Errorf("%s reached gB %d times, want once", id, n)
		}
	}
}

// TestBus_AssignKeepsReleasedPoint: an assignment that took an agency out
// of a gateway's catch-up died before it took the agency from the
// gateway consumer. The next assignment that takes the agency from it —
// another gateway's here — keeps the point recorded then, the first packet
// the catch-up had not had acknowledged, not the gateway consumer's
// (which would be after the packets the catch-up still held).
func TestBus_AssignKeepsReleasedPoint(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x, y := envelope.MustAgencyCode("000.00.00.G41"), envelope.MustAgencyCode("000.00.00.G42")
	ySubject := gateway.Subject(gateway.KindEdoc, y)
	assign := func(gw string, agencies ...envelope.AgencyCode) error {
		return b.Assign(ctx, Assignment{Gateway: gw, Agencies: agencies, AckWait: time.Second})
	}
	// Y's packet waits from before gA's gateway consumer was made, which
	// never delivers it: only the catch-up does.
	first := publishRaw(t, b, ySubject, "y-early")
	if err := assign("gA", x); err != nil {
		t.Fatal(err)
	}
	if err := assign("gA", x, y); err != nil {
		t.Fatal(err)
	}
	// gA's gateway consumer, read, goes past Y's packet: its own point
	// of Y is after it.
	publishRaw(t, b, gateway.Subject(gateway.KindEdoc, x), "x")
	gwc, err := b.js.Consumer(ctx, StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	for acked := false; !acked; {
		batch, err := gwc.Fetch(10, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
			acked = acked || string(m.Data()) == "x"
		}
	}

	// What the assignment taking Y from gA did before it died.
	kv, err := b.handoverBucket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cu, err := b.js.Consumer(ctx, StreamEdoc, CatchUpConsumerName("gA", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newCatchUpRelease(cu, []string{ySubject})
	if err != nil {
		t.Fatal(err)
	}
	if err := putReleased(ctx, kv, StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc), r.points); err != nil {
		t.Fatal(err)
	}
	if err := b.releaseCatchUp(ctx, StreamEdoc, r); err != nil {
		t.Fatal(err)
	}

	if err := assign("gB", y); err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, startKey(StreamEdoc, ySubject))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := strconv.ParseUint(string(e.Value()), 10, 64); p != first {
		t.Errorf("Y's point %d, want %d: its packet the catch-up had not had acknowledged", p, first)
	}
	if _, err := kv.Get(ctx, releasedKey(StreamEdoc, GatewayConsumerName("gA", gateway.KindEdoc))); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the record, once its point is kept: %v", err)
	}
}

// TestBus_ReleaseCatchUpFinishedMeanwhile: an assignment taking an agency
// out of a gateway's catch-up finds it deleted by its gateway, finished,
// before the hand-over changed its filters (the race CI met in
// TestBus_Assign). The release goes on, and the agency's point is past the
// catch-up's until: everything the catch-up owned was handled.
func TestBus_ReleaseCatchUpFinishedMeanwhile(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x, y := envelope.MustAgencyCode("000.00.00.G43"), envelope.MustAgencyCode("000.00.00.G44")
	ySubject := gateway.Subject(gateway.KindEdoc, y)
	publishRaw(t, b, ySubject, "y-early")
	for _, agencies := range [][]envelope.AgencyCode{{x}, {x, y}} {
		if err := b.Assign(ctx, Assignment{Gateway: "gA", Agencies: agencies, AckWait: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	name := CatchUpConsumerName("gA", gateway.KindEdoc)
	cu, err := b.js.Consumer(ctx, StreamEdoc, name)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cu.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Fatalf("the catch-up delivered %d packets, want Y's 1", n)
	}
	// The assignment read the catch-up; its gateway then deleted it.
	r, err := newCatchUpRelease(cu, []string{ySubject})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.js.DeleteConsumer(ctx, StreamEdoc, name); err != nil {
		t.Fatal(err)
	}
	if err := b.releaseCatchUp(ctx, StreamEdoc, r); err != nil {
		t.Fatalf("release from a catch-up that finished meanwhile: %v", err)
	}
	if p, want := r.point(ySubject, 1), r.state.until+1; p != want {
		t.Errorf("Y's point %d, want %d: past the catch-up, which handled all it owned", p, want)
	}
}
