package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// walFrameSize is the size of a frame of the write-ahead log: a 24-byte
// header and a 4 KiB page.
const walFrameSize = 24 + 4096

// walFrames returns how many frames the write-ahead log of the database
// at path holds: what the commits so far wrote, as long as no checkpoint
// restarted the log (a thousand frames).
func walFrames(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	return max(fi.Size()-32, 0) / walFrameSize
}

// TestStore_DeliveryCost holds what one delivery costs the stores of its
// sender and of its recipient, along its whole path, as the gateways run
// it (gateway/dispatch.go, receive.go, status.go): the write transactions
// and their statements (BEGIN and COMMIT not), the read transactions and
// their statements (a read transaction is a BEGIN … COMMIT on a reader;
// a statement run alone has one of its own in SQLite, without them). A
// change that adds to them fails here, and should say why in the table.
// So do the frames of the write-ahead log each step writes, each a 4 KiB
// page written (two syscalls) and checksummed at the commit, and copied
// again at the next checkpoint: most of a commit's CPU, and one more for
// every index a row goes into. They are held to at most one more than
// each step wrote when its figure was set (a page split that moves from
// one step to the next is not a regression), and the whole delivery to
// two more at each store; they are logged, with the b-trees they belong
// to found with SQLite's dbstat table when a change needs explaining.
//
// The document has one recipient; the statuses 01, 03 and 06 answer it.
// A dispatch round is what dispatchOnce does with one item: DueOutbox,
// Packet, MarkSent. Group commit may merge the updates of concurrent
// callers into fewer transactions; here they run one after the other.
func TestStore_DeliveryCost(t *testing.T) {
	dir := t.TempDir()
	senderPath, recipientPath := filepath.Join(dir, "sender.db"), filepath.Join(dir, "recipient.db")
	sender, recipient := mustOpenStoreAt(t, senderPath), mustOpenStoreAt(t, recipientPath)
	ctx := t.Context()
	at := t0

	// dispatch is one round of a dispatcher with one item due.
	dispatch := func(s *store.Store) error {
		items, err := s.DueOutbox(ctx, at.Add(time.Hour), 128)
		if err != nil {
			return err
		}
		if len(items) != 1 {
			return fmt.Errorf("%d items due, want 1", len(items))
		}
		if _, err := s.Packet(ctx, items[0].PacketID); err != nil {
			return err
		}
		_, err = s.MarkSent(ctx, items, at)
		return err
	}
	// post is a status the recipient's agency posts about the incoming
	// document: the document read, then the status emitted
	// (gateway.postStatus).
	var incoming string
	post := func(code envelope.StatusCode) func(*store.Store) error {
		return func(s *store.Store) error {
			d, err := s.DocumentSummary(ctx, incoming)
			if err != nil {
				return err
			}
			e := emitStatus(d.ID, envelope.PartyRecipient, code, hanoi, "", []string{hanoi}, at)
			e.SendTo = []string{vpcp}
			return s.EmitStatus(ctx, e)
		}
	}
	apply := func(code envelope.StatusCode) func(*store.Store) error {
		return func(s *store.Store) error {
			res, err := s.ApplyStatus(ctx, newStatus(vpcp, hanoi, "doc-1", code, at))
			if err == nil && (res.Duplicate || res.Refused != nil) {
				err = fmt.Errorf("%s: %+v", code, res)
			}
			return err
		}
	}
	// cost is a step's write transactions and statements, and its read
	// transactions and statements.
	cost := func(writeTx, writes, readTx, reads int64) store.Cost {
		return store.Cost{WriteTx: writeTx, Writes: writes, ReadTx: readTx, Reads: reads}
	}
	type step struct {
		name   string
		at     *store.Store
		do     func(*store.Store) error
		want   store.Cost
		frames int64 // the most frames of the write-ahead log it may write
	}
	// MarkSent reads when the earliest item left is due (one look-up at
	// the end of an index), so that a round with nothing due reads
	// nothing.
	steps := []step{
		{"sender: accept", sender, func(s *store.Store) error {
			_, _, err := s.AcceptDocument(ctx, newAccept(vpcp, "doc-1", at, hanoi))
			return err
		}, cost(1, 6, 0, 0), 20},
		{"sender: dispatch the edoc", sender, dispatch, cost(1, 5, 0, 2), 8},
		{"recipient: receive, 01 queued", recipient, func(s *store.Store) error {
			d, _, err := s.ReceiveDocument(ctx, newReceive(hanoi, vpcp, "doc-1", at))
			if err == nil {
				incoming = d.ID
			}
			return err
		}, cost(1, 8, 0, 0), 22},
		{"recipient: dispatch the 01", recipient, dispatch, cost(1, 3, 0, 2), 5},
		{"sender: apply the 01", sender, apply(envelope.StatusArrived), cost(1, 5, 0, 0), 10},
		{"recipient: post the 03", recipient, post(envelope.StatusAccepted), cost(1, 6, 1, 2), 12},
		{"recipient: dispatch the 03", recipient, dispatch, cost(1, 3, 0, 2), 5},
		{"sender: apply the 03", sender, apply(envelope.StatusAccepted), cost(1, 5, 0, 0), 10},
		{"recipient: post the 06", recipient, post(envelope.StatusDone), cost(1, 6, 1, 2), 14},
		{"recipient: dispatch the 06", recipient, dispatch, cost(1, 3, 0, 2), 5},
		{"sender: apply the 06", sender, apply(envelope.StatusDone), cost(1, 5, 0, 0), 12},
		{"recipient: an idle round (nothing due)", recipient, func(s *store.Store) error {
			_, err := s.DueOutbox(ctx, at.Add(time.Hour), 128)
			return err
		}, cost(0, 0, 0, 0), 0},
	}
	// Each store has sent and received before, so that the steps find the
	// audit chain's head in memory and the tables' pages allocated, as
	// on a gateway running for a while.
	warm := []func() error{
		func() error { _, _, err := sender.AcceptDocument(ctx, newAccept(vpcp, "doc-0", at, hue)); return err },
		func() error { return dispatch(sender) },
		func() error {
			_, _, err := recipient.ReceiveDocument(ctx, newReceive(hanoi, hue, "doc-0", at))
			return err
		},
		func() error { return dispatch(recipient) },
	}
	for _, f := range warm {
		if err := f(); err != nil {
			t.Fatalf("warming up: %v", err)
		}
	}
	var (
		report strings.Builder
		total  = map[*store.Store]store.Cost{}
		frames = map[*store.Store]int64{}
	)
	paths := map[*store.Store]string{sender: senderPath, recipient: recipientPath}
	fmt.Fprintf(&report, "%-40s %8s %6s %7s %5s %6s\n", "step", "write tx", "writes", "read tx", "reads", "frames")
	for _, st := range steps {
		before, f0 := store.CostOf(st.at), walFrames(t, paths[st.at])
		if err := st.do(st.at); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, f := store.CostOf(st.at).Sub(before), walFrames(t, paths[st.at])-f0
		fmt.Fprintf(&report, "%-40s %8d %6d %7d %5d %6d\n", st.name, got.WriteTx, got.Writes, got.ReadTx, got.Reads, f)
		if got != st.want {
			t.Errorf("%s: cost %+v, want %+v", st.name, got, st.want)
		}
		if f > st.frames {
			t.Errorf("%s: %d frames, want at most %d", st.name, f, st.frames)
		}
		if !strings.Contains(st.name, "idle") {
			c := total[st.at]
			total[st.at] = cost(c.WriteTx+got.WriteTx, c.Writes+got.Writes, c.ReadTx+got.ReadTx, c.Reads+got.Reads)
			frames[st.at] += f
		}
	}
	// The frames of the whole delivery, at each store: an index more on
	// the path adds one to most steps, which their bounds of one more
	// than they wrote may let through one by one. Migration 0017 took an
	// event's row of sqlite_sequence and its NULL msg_id out of them: 66
	// frames to 60 at the sender, 66 to 63 at the recipient (whose steps
	// that add an event queue an outbox item, AUTOINCREMENT as well);
	// 0018 deliveries_report, an entry rewritten by every status: to 56
	// and 60; 0019 the outbox's row of sqlite_sequence: to 55 and 57.
	maxFrames := map[*store.Store]int64{sender: 57, recipient: 59}
	for _, s := range []*store.Store{sender, recipient} {
		name := map[*store.Store]string{sender: "sender: the delivery", recipient: "recipient: the delivery"}[s]
		c := total[s]
		fmt.Fprintf(&report, "%-40s %8d %6d %7d %5d %6d\n", name, c.WriteTx, c.Writes, c.ReadTx, c.Reads, frames[s])
		if frames[s] > maxFrames[s] {
			t.Errorf("%s: %d frames, want at most %d", name, frames[s], maxFrames[s])
		}
	}
	t.Log("\n" + report.String())
}

// TestStore_AcceptCost: a document accepted for many recipients costs the
// statements of one accepted for one: its deliveries, their queued events
// and their outbox items are a statement each, whatever their number (a
// circular to sixty agencies took 3 × 60), in the recipients' order.
func TestStore_AcceptCost(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	recipients := []string{hanoi, hue, btttt, "000.00.00.G01", "000.00.00.G02"}
	// The audit chain's head in memory, as on a running gateway.
	mustAccept(t, s, newAccept(vpcp, "doc-0", t0, hanoi))
	for i, n := range []int{1, len(recipients)} {
		before := store.CostOf(s)
		doc := mustAccept(t, s, newAccept(vpcp, fmt.Sprintf("doc-%d", i+1), t0, recipients[:n]...))
		if got, want := store.CostOf(s).Sub(before), (store.Cost{WriteTx: 1, Writes: 6}); got != want {
			t.Errorf("accepted for %d: cost %+v, want %+v", n, got, want)
		}
		d := mustDocument(t, s, doc.ID)
		var got []string
		for _, v := range d.Deliveries {
			got = append(got, v.Recipient)
		}
		if !slices.Equal(got, recipients[:n]) {
			t.Errorf("deliveries of a document accepted for %d: %q, want %q", n, got, recipients[:n])
		}
		got = got[:0]
		for _, e := range d.Events {
			got = append(got, e.Recipient)
		}
		if !slices.Equal(got, recipients[:n]) {
			t.Errorf("events of a document accepted for %d: %q, want %q", n, got, recipients[:n])
		}
	}
	items, err := s.DueOutbox(ctx, t0.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items[min(2, len(items)):] {
		got = append(got, it.Recipient)
	}
	if len(items) != 2+len(recipients) || !slices.Equal(got, recipients) {
		t.Errorf("outbox: %d items, of the last document to %q, want 2 then %q", len(items), got, recipients)
	}
}

// TestStore_EmitCost: a status the sender emits about a document to
// several recipients (a recall request to all of them) writes their
// events and queues its packet to them a statement each, whatever their
// number; only each delivery's lifecycle is a statement of its own.
func TestStore_EmitCost(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	recipients := []string{hanoi, hue, btttt}
	doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, recipients...))
	for i, r := range recipients {
		if _, err := s.ApplyStatus(ctx, newStatus(vpcp, r, "doc-1", envelope.StatusArrived, t0.Add(time.Duration(i+1)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	before := store.CostOf(s)
	e := emitStatus(doc.ID, envelope.PartySender, envelope.StatusRecallRequested, vpcp, "Sai sót về thể thức", recipients, t0.Add(time.Hour))
	e.SendTo = recipients
	if err := s.EmitStatus(ctx, e); err != nil {
		t.Fatal(err)
	}
	// The lifecycles read (1), the packet (1), a lifecycle each (3), the
	// events (1), the outbox items (1), the audit (1).
	if got, want := store.CostOf(s).Sub(before), (store.Cost{WriteTx: 1, Writes: 8}); got != want {
		t.Errorf("a recall request to %d recipients: cost %+v, want %+v", len(recipients), got, want)
	}
	items, err := s.DueOutbox(ctx, t0.Add(2*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		if it.Kind == gateway.KindStatus {
			got = append(got, it.Recipient)
		}
	}
	if !slices.Equal(got, recipients) {
		t.Errorf("the request queued to %q, want %q", got, recipients)
	}
	d := mustDocument(t, s, doc.ID)
	got = got[:0]
	for _, ev := range d.Events {
		if ev.StatusCode == envelope.StatusRecallRequested {
			got = append(got, ev.Recipient)
		}
	}
	if !slices.Equal(got, recipients) {
		t.Errorf("events of the request: %q, want %q", got, recipients)
	}
}

// TestStore_MarkSentCost: a batch of edoc items marked sent costs a
// statement for their removal, one for their deliveries and one for their
// sent events, whatever their number, and an audit row each (it was four
// statements an item); the deliveries are found by their key.
func TestStore_MarkSentCost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	ctx := t.Context()
	recipients := []string{hanoi, hue, btttt, "000.00.00.G01", "000.00.00.G02"}
	doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, recipients...))
	items, err := s.DueOutbox(ctx, t0.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	before := store.CostOf(s)
	if n, err := s.MarkSent(ctx, items, t0.Add(time.Minute)); err != nil || n != len(recipients) {
		t.Fatalf("MarkSent: %d, %v; want %d marked", n, err, len(recipients))
	}
	// The items (1), the deliveries (1), the events (1), an audit row
	// each (5), the earliest item left (1).
	if got, want := store.CostOf(s).Sub(before), (store.Cost{WriteTx: 1, Writes: 9}); got != want {
		t.Errorf("%d items marked sent: cost %+v, want %+v", len(items), got, want)
	}
	d := mustDocument(t, s, doc.ID)
	var sent []string
	for _, e := range d.Events {
		if e.Kind == gateway.EventSent {
			sent = append(sent, e.Recipient)
		}
	}
	if !slices.Equal(sent, recipients) {
		t.Errorf("sent events: %q, want %q", sent, recipients)
	}
	for _, v := range d.Deliveries {
		if v.Transport != gateway.Sent || v.SentAt == nil || !v.SentAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("delivery to %s: %s at %v, want sent at %v", v.Recipient, v.Transport, v.SentAt, t0.Add(time.Minute))
		}
	}
	if p := queryPlan(t, rawDB(t, path), store.MarkSentDeliveries(3), 1, "a", "b", "c", "d", "e", "f"); strings.Contains(p, "SCAN deliveries") ||
		!strings.Contains(p, "INDEX sqlite_autoindex_deliveries_1 (document=? AND recipient=?)") {
		t.Errorf("plan of %s:\n%s", store.MarkSentDeliveries(3), p)
	}
}
