package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	letterkit "github.com/lienthong/lienthong/internal/letter"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// The agencies of the fault tests, all on one gateway: the sender, the
// recipient, and a third agency that a letter may be addressed to
// instead.
var (
	faultSender    = [2]string{"000.00.00.G22", "Văn phòng Chính phủ"}
	faultRecipient = [2]string{"000.00.00.H41", "UBND tỉnh Nghệ An"}
	faultOther     = [2]string{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"}
)

// errInjected is the error the tests inject.
var errInjected = errors.New("injected fault")

// faultRig is a gateway that is not opened: no consumer, dispatcher or
// heartbeat runs, and the test drives each step (a dispatch pass, the
// handling of one message) itself, on a clock it moves, with faults
// injected into its store and bus. Every step is synchronous: what a
// test checks after it is what the step did, without waiting.
type faultRig struct {
	t     *testing.T
	gw    *gateway.Gateway
	store *testkit.Store
	bus   *testkit.Bus
	obs   *recorder

	mu  sync.Mutex
	now time.Time
}

func newFaultRig(t *testing.T, configure func(*gateway.Options)) *faultRig {
	t.Helper()
	ax := testkit.NewAxis(t)
	// A minute ahead: the certificates the rig issues are valid from the
	// second they are made, which a clock read before could precede.
	r := &faultRig{t: t, obs: &recorder{}, now: time.Now().UTC().Add(time.Minute).Truncate(time.Second)}
	r.gw = ax.NewGateway("faults", func(o *gateway.Options) {
		r.store = &testkit.Store{Store: o.Store, Faults: &testkit.Faults{}}
		r.bus = &testkit.Bus{Bus: o.Bus, Faults: &testkit.Faults{}}
		o.Store, o.Bus, o.Observer, o.Now = r.store, r.bus, r.obs, r.clock
		if configure != nil {
			configure(o)
		}
	}, faultSender, faultRecipient, faultOther)
	return r
}

func (r *faultRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *faultRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// submit accepts a letter numbered number from the sender to the
// agencies to (the recipient if none).
func (r *faultRig) submit(number string, to ...string) *gateway.Document {
	r.t.Helper()
	if len(to) == 0 {
		to = []string{faultRecipient[0]}
	}
	d, _, err := r.gw.Submit(r.t.Context(), gateway.Submission{
		Packet: testkit.Letter{From: faultSender[0], FromName: faultSender[1], To: to, Number: number}.Packet(r.t),
	})
	if err != nil {
		r.t.Fatalf("submit %s: %v", number, err)
	}
	return d
}

// outbox returns every outbox item, due or not, read past the faults.
func (r *faultRig) outbox() []gateway.OutboxItem {
	r.t.Helper()
	items, err := r.store.Store.DueOutbox(r.t.Context(), r.clock().Add(24*time.Hour), 1000)
	if err != nil {
		r.t.Fatal(err)
	}
	return items
}

// item returns the outbox item of kind to recipient, failing if there is
// not exactly one.
func (r *faultRig) item(kind gateway.PacketKind, recipient string) gateway.OutboxItem {
	r.t.Helper()
	var found []gateway.OutboxItem
	for _, it := range r.outbox() {
		if it.Kind == kind && it.Recipient == recipient {
			found = append(found, it)
		}
	}
	if len(found) != 1 {
		r.t.Fatalf("%d outbox items of kind %s to %s, want 1: %+v", len(found), kind, recipient, r.outbox())
	}
	return found[0]
}

// dispatch runs one pass of the dispatcher and checks how many items it
// took.
func (r *faultRig) dispatch(want int) {
	r.t.Helper()
	if got := r.gw.DispatchOnceForTest(r.t.Context()); got != want {
		r.t.Fatalf("a dispatch pass took %d items, want %d", got, want)
	}
}

// message is the outbox item's packet as its recipient's consumer
// delivers it, for the first time.
func (r *faultRig) message(it gateway.OutboxItem) *testkit.Message {
	r.t.Helper()
	p, err := r.store.Store.Packet(r.t.Context(), it.PacketID)
	if err != nil {
		r.t.Fatal(err)
	}
	subject, err := gateway.SubjectFor(it.Kind, it.Recipient)
	if err != nil {
		r.t.Fatal(err)
	}
	return testkit.NewMessage(subject, it.MsgID(), it.Kind, p.Data)
}

// handle hands m to the receiver, as its n-th delivery (0: the first).
func (r *faultRig) handle(m *testkit.Message, n uint64) {
	r.t.Helper()
	m.Delivered = n
	r.gw.HandleForTest(r.t.Context(), m)
}

// signer returns the signer of the hosted agency code.
func (r *faultRig) signer(code string) *signing.Signer {
	r.t.Helper()
	for _, a := range r.gw.HostedAgencies() {
		if a.Code.String() == code {
			return a.Signer
		}
	}
	r.t.Fatalf("%s is not hosted", code)
	return nil
}

// signed is l encoded as it is (valid or not) and signed by its sender.
func (r *faultRig) signed(l letterkit.Letter) []byte {
	r.t.Helper()
	b, err := l.EncodeLenient()
	if err != nil {
		r.t.Fatal(err)
	}
	if b, err = r.signer(l.From.Code).Sign(b); err != nil {
		r.t.Fatal(err)
	}
	return b
}

// status is a status packet signed by the recipient about doc (an
// outgoing document of the sender), as a message to the sender.
func (r *faultRig) status(code envelope.StatusCode, documentID string, msgID string) *testkit.Message {
	r.t.Helper()
	data, err := r.signer(faultRecipient[0]).SignStatus(&envelope.Status{
		From:        envelope.Organization{OrganID: faultRecipient[0], OrganName: faultRecipient[1]},
		ResponseFor: envelope.ResponseFor{OrganID: faultSender[0], Code: "15/VPCP-TH", PromulgationDate: envelope.DateOf(time.Now()), DocumentID: documentID},
		StatusCode:  code,
		Description: "Thử nghiệm",
		Timestamp:   envelope.TimestampOf(time.Now()),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	subject, _ := gateway.SubjectFor(gateway.KindStatus, faultSender[0])
	return testkit.NewMessage(subject, msgID, gateway.KindStatus, data)
}

// delivery returns the delivery of document id to recipient.
func (r *faultRig) delivery(id, recipient string) gateway.Delivery {
	r.t.Helper()
	d, err := r.store.Store.DocumentSummary(r.t.Context(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, dl := range d.Deliveries {
		if dl.Recipient == recipient {
			return dl
		}
	}
	r.t.Fatalf("document %s has no delivery to %s", id, recipient)
	return gateway.Delivery{}
}

// incoming returns the documents the recipient received.
func (r *faultRig) incoming() []gateway.DocumentSummary {
	r.t.Helper()
	page, err := r.store.Store.Documents(r.t.Context(), gateway.DocumentQuery{Direction: gateway.Incoming})
	if err != nil {
		r.t.Fatal(err)
	}
	return page.Documents
}

// quarantined returns the reasons of the quarantine's entries, newest
// first.
func (r *faultRig) quarantined() []string {
	r.t.Helper()
	es, err := r.store.Store.QuarantineEntries(r.t.Context(), 100)
	if err != nil {
		r.t.Fatal(err)
	}
	var reasons []string
	for _, e := range es {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// wantSettled fails unless m's last settling call was op (and, for a
// Nak, asked for delay).
func wantSettled(t *testing.T, m *testkit.Message, op string, delay time.Duration) {
	t.Helper()
	a, ok := m.Settled()
	switch {
	case !ok:
		t.Fatalf("the message was not settled, want %s", op)
	case a.Op != op:
		t.Fatalf("the message was settled by %s (%+v), want %s", a.Op, a, op)
	case op == "Nak" && a.Delay != delay:
		t.Fatalf("nakked with a delay of %s, want %s", a.Delay, delay)
	}
}

// recorder is an Observer that keeps what it is told of the receive and
// dispatch flows.
type recorder struct {
	gateway.NopObserver
	mu          sync.Mutex
	received    []string // "kind outcome"
	published   []error
	redelivered int
	applied     []envelope.StatusCode
}

func (o *recorder) Received(kind gateway.PacketKind, _ string, outcome gateway.ReceiveOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.received = append(o.received, fmt.Sprintf("%s %s", kind, outcome))
}

func (o *recorder) Published(_ gateway.PacketKind, _ string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.published = append(o.published, err)
}

func (o *recorder) Redelivered(gateway.PacketKind) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.redelivered++
}

func (o *recorder) StatusApplied(code envelope.StatusCode, _ string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.applied = append(o.applied, code)
}

// lastReceived is the outcome of the last settled message, "" if none.
func (o *recorder) lastReceived() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.received) == 0 {
		return ""
	}
	return o.received[len(o.received)-1]
}

func (o *recorder) receivedCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.received)
}

func (o *recorder) publishes() (ok, failed int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, err := range o.published {
		if err == nil {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// --- dispatch ---------------------------------------------------------------

// TestDispatch_PublishFails: a failed publish postpones the item by the
// back-off, with its error; it is not published again before, and once
// due it is published and its delivery marked sent.
func TestDispatch_PublishFails(t *testing.T) {
	r := newFaultRig(t, nil)
	d := r.submit("1")
	r.bus.Faults.On("Publish", 1, testkit.Fault{Err: errInjected})
	r.dispatch(1)
	it := r.item(gateway.KindEdoc, faultRecipient[0])
	wantAt := r.clock().Add(jittered(time.Second, it)).Truncate(time.Millisecond) // as the store keeps it
	if it.Attempts != 1 || !strings.Contains(it.LastError, errInjected.Error()) || !it.NextAt.Equal(wantAt) {
		t.Fatalf("after a failed publish: attempts %d, last error %q, next at %s (now %s); want 1, the fault, %s (1s less its jitter)",
			it.Attempts, it.LastError, it.NextAt, r.clock(), wantAt)
	}
	if ok, failed := r.obs.publishes(); ok != 0 || failed != 1 {
		t.Errorf("observed %d publishes and %d failures, want 0 and 1", ok, failed)
	}
	if got := r.delivery(d.ID, faultRecipient[0]).Transport; got != gateway.Queued {
		t.Errorf("transport %s after a failed publish, want %s", got, gateway.Queued)
	}
	r.dispatch(0) // not due yet
	r.advance(time.Second)
	r.dispatch(1)
	if got := r.delivery(d.ID, faultRecipient[0]).Transport; got != gateway.Sent {
		t.Errorf("transport %s after the publish, want %s", got, gateway.Sent)
	}
	if n := len(r.outbox()); n != 0 {
		t.Errorf("%d outbox items left, want none", n)
	}
	if got := r.bus.Faults.Calls("Publish"); got != 2 {
		t.Errorf("%d publishes, want 2", got)
	}
}

// TestDispatch_PublishDeadline: a publish cut by its own deadline is a
// failure like another, retried after the back-off; one cut because the
// dispatcher stops leaves the item due, not postponed nor counted.
func TestDispatch_PublishDeadline(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("1")
	r.bus.Faults.On("Publish", 1, testkit.Fault{Err: fmt.Errorf("nats: publish: %w", context.DeadlineExceeded)})
	r.dispatch(1)
	if it := r.item(gateway.KindEdoc, faultRecipient[0]); it.Attempts != 1 || !strings.Contains(it.LastError, "deadline") {
		t.Fatalf("after a publish past its deadline: attempts %d, last error %q; want 1 and the deadline", it.Attempts, it.LastError)
	}

	// The dispatcher's own context ends while the publish hangs.
	r.advance(time.Second)
	r.bus.Faults.On("Publish", 2, testkit.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if got := r.gw.DispatchOnceForTest(ctx); got != 1 {
		t.Fatalf("the pass took %d items, want 1", got)
	}
	it := r.item(gateway.KindEdoc, faultRecipient[0])
	if it.Attempts != 1 || it.NextAt.After(r.clock()) {
		t.Errorf("after a publish cut by shutdown: attempts %d, next at %s (now %s); want 1, due now", it.Attempts, it.NextAt, r.clock())
	}
	if _, failed := r.obs.publishes(); failed != 1 {
		t.Errorf("%d failures observed, want 1 (none while stopping)", failed)
	}
}

// TestDispatch_MarkSentFails: published but not marked, the item is
// published again on the next pass (JetStream's duplicate window takes
// the second), and then marked: the delivery is sent once.
func TestDispatch_MarkSentFails(t *testing.T) {
	r := newFaultRig(t, nil)
	d := r.submit("1")
	r.store.Faults.On("MarkSent", 1, testkit.Fault{Err: errInjected})
	r.dispatch(1)
	if got := r.delivery(d.ID, faultRecipient[0]).Transport; got != gateway.Queued {
		t.Fatalf("transport %s after MarkSent failed, want %s", got, gateway.Queued)
	}
	if it := r.item(gateway.KindEdoc, faultRecipient[0]); it.Attempts != 0 {
		t.Errorf("attempts %d: a publish that succeeded was counted as failed", it.Attempts)
	}
	r.dispatch(1) // due still: published again
	if got := r.delivery(d.ID, faultRecipient[0]).Transport; got != gateway.Sent {
		t.Errorf("transport %s after the second pass, want %s", got, gateway.Sent)
	}
	if got := r.bus.Faults.Calls("Publish"); got != 2 {
		t.Errorf("%d publishes, want 2", got)
	}
	detail, err := r.store.Store.Document(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, e := range detail.Events {
		if e.Kind == gateway.EventSent {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("%d sent events, want 1", sent)
	}
}

// TestDispatch_StoreFails: the outbox cannot be read (nothing is
// published), a packet cannot be read (the item is postponed like a
// failed publish), a failure cannot be recorded (the item stays due and
// is tried again on the next pass).
func TestDispatch_StoreFails(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("1", faultRecipient[0], faultOther[0])

	r.store.Faults.On("DueOutbox", 1, testkit.Fault{Err: errInjected})
	r.dispatch(0)
	if got := r.bus.Faults.Calls("Publish"); got != 0 {
		t.Fatalf("%d publishes without the outbox", got)
	}

	// The first publishes fail: the packet that Submit handed to the
	// dispatcher is used, and gone.
	r.bus.Faults.From("Publish", 1, testkit.Fault{Err: errInjected})
	r.dispatch(2)
	r.bus.Faults.Clear("Publish")
	r.advance(time.Second)
	reads := r.store.Faults.Calls("Packet")
	r.store.Faults.Next("Packet", testkit.Fault{Err: errInjected})
	r.dispatch(2)
	if got := r.store.Faults.Calls("Packet") - reads; got != 1 {
		t.Errorf("the packet was read %d times for its two recipients, want once", got)
	}
	for _, to := range []string{faultRecipient[0], faultOther[0]} {
		if it := r.item(gateway.KindEdoc, to); it.Attempts != 2 || !strings.Contains(it.LastError, errInjected.Error()) {
			t.Errorf("to %s, after the packet could not be read: attempts %d, error %q; want 2 and the fault", to, it.Attempts, it.LastError)
		}
	}

	// A failed publish whose postponement fails stays due.
	r.advance(2 * time.Second)
	r.bus.Faults.From("Publish", r.bus.Faults.Calls("Publish")+1, testkit.Fault{Err: errInjected})
	r.store.Faults.From("Postpone", 1, testkit.Fault{Err: errInjected})
	r.dispatch(2)
	for _, to := range []string{faultRecipient[0], faultOther[0]} {
		if it := r.item(gateway.KindEdoc, to); it.Attempts != 2 || it.NextAt.After(r.clock()) {
			t.Errorf("to %s, after Postpone failed: attempts %d, next at %s (now %s); want 2, due", to, it.Attempts, it.NextAt, r.clock())
		}
	}
	r.bus.Faults.Clear("Publish")
	r.store.Faults.Clear("Postpone")
	r.dispatch(2)
	if n := len(r.outbox()); n != 0 {
		t.Errorf("%d outbox items left, want none", n)
	}
}

// TestDispatch_RetryDelay: the back-off doubles from a second and stops
// at MaxRetryDelay, however many attempts failed.
func TestDispatch_RetryDelay(t *testing.T) {
	hosted := newFaultRig(t, nil).gw.HostedAgencies()[:1]
	for _, tc := range []struct {
		max      time.Duration
		attempts int
		want     time.Duration
	}{
		{0, 0, time.Second},
		{0, 1, 2 * time.Second},
		{0, 8, 256 * time.Second},
		{0, 9, gateway.DefaultMaxRetryDelay},
		{0, 20, gateway.DefaultMaxRetryDelay},
		{0, 21, gateway.DefaultMaxRetryDelay},
		{0, 1000, gateway.DefaultMaxRetryDelay},
		{10 * time.Second, 3, 8 * time.Second},
		{10 * time.Second, 4, 10 * time.Second},
		{time.Hour, 21, time.Hour},
	} {
		g, err := gateway.New(gateway.Options{ID: "g", Agencies: hosted,
			Store: &testkit.Store{}, Bus: &testkit.Bus{}, Logger: zap.NewNop(), MaxRetryDelay: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.RetryDelayForTest(tc.attempts); got != tc.want {
			t.Errorf("max %s, after %d attempts: %s, want %s", tc.max, tc.attempts, got, tc.want)
		}
	}
}

// jittered is the delay the dispatcher postponed it by when the back-off
// said d: d less the jitter of it as it was before the failure (one
// attempt fewer), at most a fifth of d.
func jittered(d time.Duration, it gateway.OutboxItem) time.Duration {
	before := it
	before.Attempts--
	j := gateway.RetryJitterForTest(d, before)
	if j > d || j < d-d/5 {
		panic(fmt.Sprintf("jitter of %s gave %s", d, j))
	}
	return j
}

// TestDispatch_BackOff: each failed publish postpones the item by the
// next step of the back-off, up to MaxRetryDelay.
func TestDispatch_BackOff(t *testing.T) {
	r := newFaultRig(t, func(o *gateway.Options) { o.MaxRetryDelay = 5 * time.Second })
	r.submit("1")
	r.bus.Faults.Always("Publish", testkit.Fault{Err: errInjected})
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		r.dispatch(1)
		it := r.item(gateway.KindEdoc, faultRecipient[0])
		// The store keeps the time to the millisecond, the clock at whole seconds.
		if got, want := it.NextAt.Sub(r.clock()), jittered(want, it).Truncate(time.Millisecond); it.Attempts != i+1 || got != want {
			t.Fatalf("after %d failures: attempts %d, retried in %s; want %d, %s (the step less its jitter)", i+1, it.Attempts, got, i+1, want)
		}
		r.advance(want)
	}
}

// --- receive: documents ----------------------------------------------------

// TestReceive_DuplicateDelivery: a document delivered twice (a
// redelivery after an ack that failed) is stored once and answered by
// one 01; both deliveries are acked.
func TestReceive_DuplicateDelivery(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("1")
	it := r.item(gateway.KindEdoc, faultRecipient[0])
	m := r.message(it)
	m.Faults = &testkit.Faults{}
	m.Faults.On("Ack", 1, testkit.Fault{Err: errInjected})
	r.handle(m, 1)
	wantSettled(t, m, "Ack", 0)
	if got, want := r.obs.lastReceived(), "edoc ok"; got != want {
		t.Fatalf("received %q, want %q", got, want)
	}
	again := r.message(it)
	r.handle(again, 2)
	wantSettled(t, again, "Ack", 0)
	if got, want := r.obs.lastReceived(), "edoc duplicate"; got != want {
		t.Errorf("received again %q, want %q", got, want)
	}
	if r.obs.redelivered != 1 {
		t.Errorf("%d redeliveries observed, want 1", r.obs.redelivered)
	}
	if n := len(r.incoming()); n != 1 {
		t.Errorf("%d incoming documents, want 1", n)
	}
	r.item(gateway.KindStatus, faultSender[0]) // exactly one 01
}

// TestReceive_StoreFails: the document cannot be stored: the message is
// nakked, nothing is kept, no 01 queued, and its redelivery is stored.
func TestReceive_StoreFails(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("1")
	it := r.item(gateway.KindEdoc, faultRecipient[0])
	r.store.Faults.On("ReceiveDocument", 1, testkit.Fault{Err: errInjected})
	m := r.message(it)
	r.handle(m, 1)
	wantSettled(t, m, "Nak", 5*time.Second)
	if n := len(r.incoming()); n != 0 {
		t.Fatalf("%d incoming documents after the store failed, want none", n)
	}
	if r.obs.receivedCount() != 0 {
		t.Errorf("a nakked message was reported settled: %v", r.obs.received)
	}
	for _, o := range r.outbox() {
		if o.Kind == gateway.KindStatus {
			t.Fatalf("a 01 was queued for a document not stored: %+v", o)
		}
	}
	again := r.message(it)
	r.handle(again, 2)
	wantSettled(t, again, "Ack", 0)
	if n := len(r.incoming()); n != 1 {
		t.Errorf("%d incoming documents after the redelivery, want 1", n)
	}
}

// TestReceive_PacketUnreadable: a packet that cannot be fetched is
// nakked, each time later, and after five deliveries quarantined.
func TestReceive_PacketUnreadable(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("1")
	it := r.item(gateway.KindEdoc, faultRecipient[0])
	for n := uint64(1); n <= 5; n++ {
		m := r.message(it)
		m.Faults = &testkit.Faults{}
		m.Faults.Always("Packet", testkit.Fault{Err: errInjected})
		r.handle(m, n)
		if n < 5 {
			wantSettled(t, m, "Nak", time.Duration(n)*2*time.Second)
			continue
		}
		wantSettled(t, m, "Term", 0)
	}
	if got := r.quarantined(); len(got) != 1 || got[0] != "unreadable" {
		t.Errorf("quarantine %v, want [unreadable]", got)
	}
	if got, want := r.obs.lastReceived(), "edoc quarantined"; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
}

// TestReceive_Poison: what cannot be accepted is quarantined and
// terminated, never nakked forever: bytes that are no packet, a tampered
// packet, a status on the document stream, a document not addressed to
// the agency it came for, one that is not valid. Only those whose
// signature is valid get a 02 back.
func TestReceive_Poison(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("1")
	edoc := r.item(gateway.KindEdoc, faultRecipient[0])
	good := r.message(edoc)
	data, _ := good.Packet(t.Context())
	r.submit("2", faultOther[0])
	other := r.item(gateway.KindEdoc, faultOther[0])
	toOther := r.message(other)
	otherData, _ := toOther.Packet(t.Context())
	subject, _ := gateway.SubjectFor(gateway.KindEdoc, faultRecipient[0])

	r.handle(good, 1) // its 01 is the status packet below
	st := r.message(r.item(gateway.KindStatus, faultSender[0]))
	statusData, _ := st.Packet(t.Context())

	// Validly signed by its sender, and addressed to nobody.
	invalid := r.signed(letterkit.Letter{
		From: letterkit.Agency{Code: faultSender[0], Name: faultSender[1]}, Number: "3", Notation: "VPCP-TH", Subject: "V/v không có nơi nhận",
	})
	tampered := strings.Replace(string(data), "V/v báo cáo", "V/v BÁO CÁO", 1)
	if tampered == string(data) {
		t.Fatal("nothing to tamper with")
	}
	for _, tc := range []struct {
		name, reason string
		kind         gateway.PacketKind
		data         []byte
		reply        bool
	}{
		{"garbage", "signature:malformed", gateway.KindEdoc, []byte("not edXML"), false},
		{"tampered", "signature:invalid", gateway.KindEdoc, []byte(tampered), false},
		{"status on the edoc stream", "wrong-stream", gateway.KindEdoc, statusData, false},
		{"not addressed", "not-addressed", gateway.KindEdoc, otherData, true},
		{"not valid", "validation", gateway.KindEdoc, invalid, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(r.outbox())
			m := testkit.NewMessage(subject, "poison-"+tc.name, tc.kind, tc.data)
			r.handle(m, 1)
			wantSettled(t, m, "Term", 0)
			if got := r.quarantined(); len(got) == 0 || got[0] != tc.reason {
				t.Fatalf("quarantine %v, want %s first", got, tc.reason)
			}
			if got := len(r.outbox()) - before; (got == 1) != tc.reply {
				t.Errorf("%d packets queued back, want a 02: %v", got, tc.reply)
			}
		})
	}
}

// TestReceive_QuarantineFails: a packet to quarantine that cannot be
// stored is nakked, not terminated: it comes again.
func TestReceive_QuarantineFails(t *testing.T) {
	r := newFaultRig(t, nil)
	subject, _ := gateway.SubjectFor(gateway.KindEdoc, faultRecipient[0])
	r.store.Faults.On("Quarantine", 1, testkit.Fault{Err: errInjected})
	m := testkit.NewMessage(subject, "poison", gateway.KindEdoc, []byte("not edXML"))
	m.Faults = &testkit.Faults{}
	m.Faults.On("Nak", 1, testkit.Fault{Err: errInjected}) // logged, no more
	r.handle(m, 1)
	wantSettled(t, m, "Nak", 5*time.Second)
	if got := r.quarantined(); len(got) != 0 {
		t.Fatalf("quarantine %v, want empty", got)
	}
	again := testkit.NewMessage(subject, "poison", gateway.KindEdoc, []byte("not edXML"))
	again.Faults = &testkit.Faults{}
	again.Faults.On("Term", 1, testkit.Fault{Err: errInjected}) // logged: redelivered, quarantined once
	r.handle(again, 2)
	wantSettled(t, again, "Term", 0)
	if got := r.quarantined(); len(got) != 1 {
		t.Errorf("quarantine %v, want one entry", got)
	}
}

// TestReceive_RefusedCopyOfReceived: a document refused on its merits
// whose DocumentId the agency already received from its sender is
// quarantined without a 02 (the sender's document did arrive); when the
// store cannot say whether it arrived, the 02 goes, the safe side.
func TestReceive_RefusedCopyOfReceived(t *testing.T) {
	r := newFaultRig(t, nil)
	r.submit("7")
	m := r.message(r.item(gateway.KindEdoc, faultRecipient[0]))
	r.handle(m, 1)
	wantSettled(t, m, "Ack", 0)
	// The same sender, number and date to another agency: the same
	// DocumentId, validly signed, not addressed to the recipient.
	copied := r.signed(letterkit.Letter{
		From: letterkit.Agency{Code: faultSender[0], Name: faultSender[1]}, To: []letterkit.Agency{{Code: faultOther[0], Name: faultOther[1]}},
		Number: "7", Notation: "VPCP-TH", Subject: "V/v khác",
	})
	subject, _ := gateway.SubjectFor(gateway.KindEdoc, faultRecipient[0])
	for _, tc := range []struct {
		name       string
		storeFails bool
		reply      bool
	}{
		{"received", false, false},
		{"store fails", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.storeFails {
				r.store.Faults.Next("Documents", testkit.Fault{Err: errInjected})
			}
			before := len(r.outbox())
			c := testkit.NewMessage(subject, "copy-"+tc.name, gateway.KindEdoc, copied)
			r.handle(c, 1)
			wantSettled(t, c, "Term", 0)
			if got := r.quarantined(); len(got) == 0 || got[0] != "not-addressed" {
				t.Fatalf("quarantine %v, want not-addressed first", got)
			}
			if got := len(r.outbox()) - before; (got == 1) != tc.reply {
				t.Errorf("%d packets queued back, want a 02: %v", got, tc.reply)
			}
		})
	}
}

// TestReceive_Addressee: a message on a subject the gateway does not host
// is dropped when the directory knows no such code, and kept aside when
// it is no packet stream's subject.
func TestReceive_Addressee(t *testing.T) {
	r := newFaultRig(t, nil)
	nowhere := testkit.NewMessage("lt.edoc.H99", "nowhere", gateway.KindEdoc, []byte("x"))
	nowhere.Faults = &testkit.Faults{}
	nowhere.Faults.On("Term", 1, testkit.Fault{Err: errInjected})
	r.handle(nowhere, 1)
	wantSettled(t, nowhere, "Term", 0)
	if got, want := r.obs.lastReceived(), "edoc "+string(gateway.ReceiveUnknownRecipient); got != want {
		t.Errorf("received %q, want %q", got, want)
	}
	if got := r.quarantined(); len(got) != 0 {
		t.Errorf("quarantine %v: a made-up code was kept", got)
	}
	odd := testkit.NewMessage("lt.other.H41", "odd", gateway.KindEdoc, []byte("x"))
	r.handle(odd, 1)
	wantSettled(t, odd, "Term", 0)
	if got := r.quarantined(); len(got) != 1 || got[0] != "not-hosted" {
		t.Errorf("quarantine %v, want [not-hosted]", got)
	}
}

// TestReceive_LargePacket: the ack wait of a large packet is restarted
// before it is verified, and a failure to do so changes nothing else.
func TestReceive_LargePacket(t *testing.T) {
	r := newFaultRig(t, nil)
	subject, _ := gateway.SubjectFor(gateway.KindEdoc, faultRecipient[0])
	m := testkit.NewMessage(subject, "large", gateway.KindEdoc, make([]byte, 1<<20+1))
	m.Faults = &testkit.Faults{}
	m.Faults.On("InProgress", 1, testkit.Fault{Err: errInjected})
	r.handle(m, 1)
	acts := m.Acts()
	if len(acts) != 2 || acts[0].Op != "InProgress" || acts[1].Op != "Term" {
		t.Errorf("acts %+v, want InProgress then Term", acts)
	}
}

// --- receive: statuses -----------------------------------------------------

// TestReceive_StatusAheadOfDocument: a status about a document not here
// is nakked, each time later, and quarantined after
// DefaultUnknownDocumentRetries deliveries; one that comes back once the
// document is there is applied.
func TestReceive_StatusAheadOfDocument(t *testing.T) {
	r := newFaultRig(t, nil)
	lt := testkit.Letter{From: faultSender[0], FromName: faultSender[1], To: []string{faultRecipient[0]}, Number: "1"}
	documentID := envelope.MakeDocumentID(faultSender[0], envelope.DateOf(time.Now()), envelope.Code{Number: "1", Notation: "VPCP-TH"})
	for n := uint64(1); n < gateway.DefaultUnknownDocumentRetries; n++ {
		m := r.status(envelope.StatusArrived, documentID, "ahead")
		r.handle(m, n)
		wantSettled(t, m, "Nak", time.Duration(n)*time.Second)
	}
	if r.obs.receivedCount() != 0 {
		t.Fatalf("a nakked status was reported settled: %v", r.obs.received)
	}
	// The document is accepted now: the next delivery is applied.
	d, _, err := r.gw.Submit(t.Context(), gateway.Submission{Packet: lt.Packet(t)})
	if err != nil {
		t.Fatal(err)
	}
	if d.DocumentID != documentID {
		t.Fatalf("DocumentId %s, want %s", d.DocumentID, documentID)
	}
	r.dispatch(1)
	m := r.status(envelope.StatusArrived, documentID, "ahead")
	r.handle(m, gateway.DefaultUnknownDocumentRetries-1)
	wantSettled(t, m, "Ack", 0)
	if got := r.delivery(d.ID, faultRecipient[0]).State; got != envelope.StateArrived {
		t.Errorf("state %s, want %s", got, envelope.StateArrived)
	}
	if len(r.obs.applied) != 1 || r.obs.applied[0] != envelope.StatusArrived {
		t.Errorf("applied %v, want [01]", r.obs.applied)
	}

	// One that never finds its document is kept aside.
	last := r.status(envelope.StatusArrived, "000.00.00.G22,2020/01/01,9/VPCP-TH", "never")
	r.handle(last, gateway.DefaultUnknownDocumentRetries)
	wantSettled(t, last, "Term", 0)
	if got := r.quarantined(); len(got) != 1 || got[0] != "unknown-document" {
		t.Errorf("quarantine %v, want [unknown-document]", got)
	}
}

// TestReceive_StatusDuplicateAndRefused: a status delivered twice is
// applied once; one the lifecycle refuses is kept as refused and acked.
func TestReceive_StatusDuplicateAndRefused(t *testing.T) {
	r := newFaultRig(t, nil)
	d := r.submit("1")
	r.dispatch(1)
	for i, want := range []string{"status ok", "status duplicate"} {
		m := r.status(envelope.StatusArrived, d.DocumentID, "01")
		r.handle(m, uint64(i+1))
		wantSettled(t, m, "Ack", 0)
		if got := r.obs.lastReceived(); got != want {
			t.Errorf("delivery %d: %q, want %q", i+1, got, want)
		}
	}
	m := r.status(envelope.StatusRecallAccepted, d.DocumentID, "15")
	r.handle(m, 1)
	wantSettled(t, m, "Ack", 0)
	if got, want := r.obs.lastReceived(), "status refused"; got != want {
		t.Errorf("a 15 without a recall: %q, want %q", got, want)
	}
	if got := r.delivery(d.ID, faultRecipient[0]).State; got != envelope.StateArrived {
		t.Errorf("state %s after a refused status, want %s", got, envelope.StateArrived)
	}
}

// TestReceive_StatusStoreFails: a status that cannot be stored is nakked
// and applied when it comes again.
func TestReceive_StatusStoreFails(t *testing.T) {
	r := newFaultRig(t, nil)
	d := r.submit("1")
	r.dispatch(1)
	r.store.Faults.On("ApplyStatus", 1, testkit.Fault{Err: errInjected})
	m := r.status(envelope.StatusArrived, d.DocumentID, "01")
	r.handle(m, 1)
	wantSettled(t, m, "Nak", 5*time.Second)
	if got := r.delivery(d.ID, faultRecipient[0]).State; got == envelope.StateArrived {
		t.Fatalf("state %s after the store failed", got)
	}
	again := r.status(envelope.StatusArrived, d.DocumentID, "01")
	r.handle(again, 2)
	wantSettled(t, again, "Ack", 0)
	if got := r.delivery(d.ID, faultRecipient[0]).State; got != envelope.StateArrived {
		t.Errorf("state %s after the redelivery, want %s", got, envelope.StateArrived)
	}
}

// TestReceive_StatusPoison: statuses that cannot be accepted are
// quarantined and terminated: not signed right, a document on the status
// stream.
func TestReceive_StatusPoison(t *testing.T) {
	r := newFaultRig(t, nil)
	d := r.submit("1")
	edoc := r.message(r.item(gateway.KindEdoc, faultRecipient[0]))
	edocData, _ := edoc.Packet(t.Context())
	good := r.status(envelope.StatusArrived, d.DocumentID, "01")
	data, _ := good.Packet(t.Context())
	subject := good.Subject()
	tampered := strings.Replace(string(data), "Thử nghiệm", "Thử nghiệm!", 1)
	if tampered == string(data) {
		t.Fatal("nothing to tamper with")
	}
	for _, tc := range []struct {
		name, reason string
		data         []byte
	}{
		{"tampered", "signature:invalid", []byte(tampered)},
		{"edoc on the status stream", "wrong-stream", edocData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testkit.NewMessage(subject, "poison-"+tc.name, gateway.KindStatus, tc.data)
			r.handle(m, 1)
			wantSettled(t, m, "Term", 0)
			if got := r.quarantined(); len(got) == 0 || got[0] != tc.reason {
				t.Errorf("quarantine %v, want %s first", got, tc.reason)
			}
		})
	}
}

// rawStatus is st encoded as it is (valid or not) and signed by the
// recipient, as a message to the sender.
func (r *faultRig) rawStatus(st *envelope.Status, msgID string) *testkit.Message {
	r.t.Helper()
	b, err := envelope.Encoder{Lenient: true}.Encode(&envelope.Packet{Status: st})
	if err != nil {
		r.t.Fatal(err)
	}
	if b, err = r.signer(faultRecipient[0]).Sign(b); err != nil {
		r.t.Fatal(err)
	}
	subject, _ := gateway.SubjectFor(gateway.KindStatus, faultSender[0])
	return testkit.NewMessage(subject, msgID, gateway.KindStatus, b)
}

// TestReceive_StatusOddFields: a validly signed status that is not valid
// is quarantined; one whose timestamp cannot be read (which the receive
// profile tolerates) is applied as of its arrival.
func TestReceive_StatusOddFields(t *testing.T) {
	r := newFaultRig(t, nil)
	d := r.submit("1")
	r.dispatch(1)
	st := func(code envelope.StatusCode, ts envelope.Timestamp) *envelope.Status {
		return &envelope.Status{
			From:        envelope.Organization{OrganID: faultRecipient[0], OrganName: faultRecipient[1]},
			ResponseFor: envelope.ResponseFor{OrganID: faultSender[0], Code: "1/VPCP-TH", PromulgationDate: d.PromulgationDate, DocumentID: d.DocumentID},
			StatusCode:  code,
			Timestamp:   ts,
		}
	}
	bad := r.rawStatus(st("99", envelope.TimestampOf(time.Now())), "99")
	r.handle(bad, 1)
	wantSettled(t, bad, "Term", 0)
	if got := r.quarantined(); len(got) != 1 || got[0] != "validation" {
		t.Errorf("quarantine %v, want [validation]", got)
	}

	odd := r.rawStatus(st(envelope.StatusArrived, "hôm qua"), "01")
	r.handle(odd, 1)
	wantSettled(t, odd, "Ack", 0)
	detail, err := r.store.Store.Document(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, e := range detail.Events {
		if e.Kind == gateway.EventStatus && e.StatusCode == envelope.StatusArrived {
			at = append(at, e.At)
		}
	}
	if len(at) != 1 || !at[0].Equal(r.clock()) {
		t.Errorf("the 01 events are at %v, want one at its arrival %s", at, r.clock())
	}
}

// TestReceive_Redelivered: through a real consumer, a document the
// recipient's store cannot take is nakked and delivered again by NATS,
// then stored and acknowledged; the sender sees its 01. The test waits on
// each delivery's handling (Bus.Handled), not on time.
func TestReceive_Redelivered(t *testing.T) {
	ax := testkit.NewAxis(t)
	sender := ax.Gateway("sender", nil, faultSender)
	faults := &testkit.Faults{}
	handled := make(chan *testkit.Message, 16)
	ax.Gateway("recipient", func(o *gateway.Options) {
		o.Store = &testkit.Store{Store: o.Store, Faults: faults}
		o.Bus = &testkit.Bus{Bus: o.Bus, NakNow: true, Handled: handled}
	}, faultRecipient)
	faults.On("ReceiveDocument", 1, testkit.Fault{Err: errInjected})
	testkit.Eventually(t, "the recipient in the sender's directory", func() bool {
		_, ok := sender.Directory().Lookup(faultRecipient[0])
		return ok
	})
	d, _, err := sender.Submit(t.Context(), gateway.Submission{
		Packet: testkit.Letter{From: faultSender[0], FromName: faultSender[1], To: []string{faultRecipient[0]}}.Packet(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func() *testkit.Message {
		t.Helper()
		select {
		case m := <-handled:
			return m
		case <-time.After(15 * time.Second):
			t.Fatal("timed out waiting for a delivery")
			return nil
		}
	}
	first := next()
	wantSettled(t, first, "Nak", 5*time.Second)
	second := next()
	wantSettled(t, second, "Ack", 0)
	if first.MsgID() != second.MsgID() || second.NumDelivered() != 2 {
		t.Errorf("second delivery %s (#%d), want %s again (#2)", second.MsgID(), second.NumDelivered(), first.MsgID())
	}
	if got := faults.Calls("ReceiveDocument"); got != 2 {
		t.Errorf("%d attempts to store, want 2", got)
	}
	testkit.Eventually(t, "the 01 at the sender", func() bool {
		s, err := sender.Store().DocumentSummary(t.Context(), d.ID)
		return err == nil && len(s.Deliveries) == 1 && s.Deliveries[0].State == envelope.StateArrived
	})
}
