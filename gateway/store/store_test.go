package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// Agency codes of the tests.
const (
	vpcp  = "000.00.00.G22" // Văn phòng Chính phủ, hosted here
	hanoi = "000.00.00.H26" // UBND Hà Nội
	hue   = "000.00.00.H57" // UBND Thừa Thiên Huế
	btttt = "000.00.00.G12" // Bộ TT&TT, hosted here too
)

// t0 is the time the tests start from.
var t0 = time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)

// mustOpenStore opens a store on a new file in t.TempDir. When the test
// ends, Check must find no problem, then the store is closed.
func mustOpenStore(tb testing.TB) *store.Store {
	tb.Helper()
	return mustOpenStoreAt(tb, filepath.Join(tb.TempDir(), "lienthong.db"))
}

// mustOpenStoreAt is mustOpenStore on a given file. A store the test
// closed itself is not checked.
func mustOpenStoreAt(tb testing.TB, path string) *store.Store {
	tb.Helper()
	s, err := store.Open(tb.Context(), path, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Check(context.Background()); err != nil && !errors.Is(err, gateway.ErrClosed) {
			tb.Errorf("Check after the test:\n%v", err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawDB opens the store's file through a separate connection, as an
// operator or an attacker with the file would.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// count returns the result of a COUNT query on the raw file.
func count(tb testing.TB, db *sql.DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// newPacket returns a packet of size bytes made at at.
func newPacket(kind gateway.PacketKind, at time.Time, size int) gateway.NewPacket {
	id := gateway.NewID(at)
	data := []byte(`<edXML:edXMLEnvelope id="` + id + `">`)
	for len(data) < size {
		data = append(data, "<p>Nội dung văn bản</p>"...)
	}
	return gateway.NewPacket{ID: id, Kind: kind, Data: data}
}

// newAccept returns an outgoing document of agency to recipients.
func newAccept(agency, documentID string, at time.Time, recipients ...string) gateway.AcceptDocument {
	a := gateway.AcceptDocument{
		Packet: newPacket(gateway.KindEdoc, at, 2048),
		Document: gateway.Document{
			Agency:           agency,
			DocumentID:       documentID,
			From:             agency,
			FromName:         "Văn phòng Chính phủ",
			Number:           "123",
			Notation:         "VPCP-KSTT",
			Subject:          "V/v triển khai Đề án 06 " + documentID,
			TypeName:         "Công văn",
			PromulgationDate: envelope.NewDate(2026, 3, 1),
			Priority:         1,
			DueDate:          envelope.NewDate(2026, 3, 15),
			Attachments:      2,
			Verdict:          gateway.Verdict{Outcome: "valid", Subject: "CN=VPCP", ReasonVI: "Hợp lệ", ReasonEN: "Valid"},
		},
		At: at,
	}
	for _, r := range recipients {
		a.Recipients = append(a.Recipients, gateway.Recipient{Code: r, Name: "Cơ quan " + r})
	}
	return a
}

// mustAccept accepts a new outgoing document.
func mustAccept(tb testing.TB, s *store.Store, a gateway.AcceptDocument) *gateway.Document {
	tb.Helper()
	doc, replay, err := s.AcceptDocument(tb.Context(), a)
	if err != nil {
		tb.Fatal(err)
	}
	if replay {
		tb.Fatalf("AcceptDocument(%s): replay", a.Document.DocumentID)
	}
	return doc
}

// newReceive returns an incoming document for agency from sender, with
// the status 01 going back.
func newReceive(agency, from, documentID string, at time.Time) gateway.ReceiveDocument {
	return gateway.ReceiveDocument{
		Packet: newPacket(gateway.KindEdoc, at, 2048),
		Document: gateway.Document{
			Agency:     agency,
			DocumentID: documentID,
			From:       from,
			FromName:   "UBND thành phố Hà Nội",
			Number:     "45",
			Notation:   "UBND-KGVX",
			Subject:    "Báo cáo tình hình " + documentID,
			Verdict:    gateway.Verdict{Outcome: "valid"},
		},
		MsgID: documentID + ":" + agency,
		Reply: &gateway.Reply{
			Packet: newPacket(gateway.KindStatus, at, 512),
			To:     from,
			Code:   envelope.StatusArrived,
			By:     agency,
			At:     at,
		},
		At: at,
	}
}

// mustReceive records a new incoming document.
func mustReceive(tb testing.TB, s *store.Store, r gateway.ReceiveDocument) *gateway.Document {
	tb.Helper()
	doc, dup, err := s.ReceiveDocument(tb.Context(), r)
	if err != nil {
		tb.Fatal(err)
	}
	if dup {
		tb.Fatalf("ReceiveDocument(%s): duplicate", r.Document.DocumentID)
	}
	return doc
}

// newStatus is a status code from an agency about a document addressed
// to agency.
func newStatus(agency, from, documentID string, code envelope.StatusCode, at time.Time) gateway.ApplyStatus {
	return gateway.ApplyStatus{
		Packet:      newPacket(gateway.KindStatus, at, 512),
		MsgID:       "status-" + gateway.NewID(at),
		Agency:      agency,
		From:        from,
		DocumentID:  documentID,
		Code:        code,
		Description: code.Name(),
		Staff:       "Nguyễn Văn A",
		At:          at,
		RecordedAt:  at.Add(time.Second),
	}
}

// mustDocument returns a document's detail.
func mustDocument(tb testing.TB, s *store.Store, id string) *gateway.DocumentDetail {
	tb.Helper()
	d, err := s.Document(tb.Context(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// deliveryTo returns a detail's delivery to recipient.
func deliveryTo(tb testing.TB, d *gateway.DocumentDetail, recipient string) gateway.Delivery {
	tb.Helper()
	for _, v := range d.Deliveries {
		if v.Recipient == recipient {
			return v
		}
	}
	tb.Fatalf("document %s has no delivery to %s", d.ID, recipient)
	return gateway.Delivery{}
}

// eventKinds lists a detail's events as "kind recipient [code]".
func eventKinds(d *gateway.DocumentDetail) []string {
	var out []string
	for _, e := range d.Events {
		s := string(e.Kind) + " " + e.Recipient
		if e.StatusCode != "" {
			s += " " + string(e.StatusCode)
		}
		out = append(out, s)
	}
	return out
}

// mustDue returns every due outbox item.
func mustDue(tb testing.TB, s *store.Store, now time.Time) []gateway.OutboxItem {
	tb.Helper()
	items, err := s.DueOutbox(tb.Context(), now, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return items
}

// auditActions lists the audit chain as "action document".
func auditActions(tb testing.TB, path string) []string {
	tb.Helper()
	rows, err := rawDB(tb, path).Query(`SELECT action, document FROM audit ORDER BY seq`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var action, document string
		if err := rows.Scan(&action, &document); err != nil {
			tb.Fatal(err)
		}
		out = append(out, strings.TrimSpace(action+" "+document))
	}
	return out
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpen_Reopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := newAccept(vpcp, "doc-1", t0, hanoi, hue)
	doc := mustAccept(t, s, a)
	if _, err := s.ApplyStatus(ctx, newStatus(vpcp, hanoi, "doc-1", envelope.StatusArrived, t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	in := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0.Add(2*time.Minute)))
	before := mustDocument(t, s, doc.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Document(ctx, doc.ID); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Document after Close: got %v, want ErrClosed", err)
	}

	s = mustOpenStoreAt(t, path)
	after := mustDocument(t, s, doc.ID)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after reopening:\n got %+v\nwant %+v", after, before)
	}
	if got, want := deliveryTo(t, after, hanoi).State, envelope.StateArrived; got != want {
		t.Errorf("state to Hà Nội: got %s, want %s", got, want)
	}
	p, err := s.Packet(ctx, doc.PacketID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(p.Data), string(a.Packet.Data); got != want {
		t.Errorf("packet bytes changed after reopening")
	}
	if _, err := s.Document(ctx, in.ID); err != nil {
		t.Errorf("incoming document after reopening: %v", err)
	}
	if got, want := len(mustDue(t, s, t0.Add(time.Hour))), 3; got != want {
		t.Errorf("outbox after reopening: got %d items, want %d", got, want)
	}
}

func TestOpen_NewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", store.SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = store.Open(t.Context(), path, store.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database newer than the binary: no error")
	}
	if !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("Open: got %q, want it to say the schema is newer than this binary", err)
	}
}

func TestOpen_Options(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	if _, err := store.Open(t.Context(), path, store.Options{Synchronous: "OFF"}); err == nil {
		t.Error("Open with synchronous=OFF: no error")
	}
	s := mustOpenStoreWith(t, path, store.Options{Synchronous: store.SynchronousNormal, Readers: 1, MaxBatch: 1})
	mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
}

func TestOpen_Path(t *testing.T) {
	// The path goes into a file: URI; characters that mean something there
	// must still name the file.
	dir := filepath.Join(t.TempDir(), "dữ liệu #1 ?a=b&c%20")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lienthong.db")
	s := mustOpenStoreAt(t, path)
	mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %s: %v", path, err)
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("files next to the directory: got %d entries, want 1", len(entries))
	}
}

func TestOpen_Migrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	if got, want := count(t, db, "PRAGMA user_version"), store.SchemaVersion(); got != want || want < 1 {
		t.Errorf("user_version: got %d, want %d", got, want)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode: got %q, want wal", mode)
	}
}

func TestStore_Check(t *testing.T) {
	setup := func(t *testing.T) (*store.Store, string, *gateway.Document) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s, err := store.Open(t.Context(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		mustAccept(t, s, newAccept(vpcp, "doc-2", t0.Add(time.Second), hanoi))
		if err := s.Check(t.Context()); err != nil {
			t.Fatalf("Check before tampering: %v", err)
		}
		return s, path, doc
	}

	t.Run("TamperedAuditRow", func(t *testing.T) {
		s, path, doc := setup(t)
		db := rawDB(t, path)
		for _, q := range []string{
			`DROP TRIGGER audit_no_update`,
			`UPDATE audit SET detail = replace(detail, '` + hanoi + `', '` + hue + `') WHERE document = '` + doc.ID + `'`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		err := s.Check(t.Context())
		if err == nil || !strings.Contains(err.Error(), "altered") {
			t.Fatalf("Check after altering an audit row: got %v, want a hash mismatch", err)
		}
	})

	t.Run("RehashedAuditRow", func(t *testing.T) {
		// Someone who recomputes the hash of the row he changed breaks the
		// link to the next row.
		s, path, _ := setup(t)
		db := rawDB(t, path)
		var at int64
		var action, document, detail, prev string
		if err := db.QueryRow(`SELECT at, action, document, detail, prev_hash FROM audit WHERE seq = 1`).
			Scan(&at, &action, &document, &detail, &prev); err != nil {
			t.Fatal(err)
		}
		detail = strings.ReplaceAll(detail, hanoi, hue)
		h := sha256.New()
		for _, f := range []string{prev, "1", fmt.Sprint(at), action, document, detail} {
			var n [8]byte
			for i := range 8 {
				n[7-i] = byte(len(f) >> (8 * i))
			}
			h.Write(n[:])
			h.Write([]byte(f))
		}
		if _, err := db.Exec(`DROP TRIGGER audit_no_update`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE audit SET detail = ?, hash = ? WHERE seq = 1`, detail, hex.EncodeToString(h.Sum(nil))); err != nil {
			t.Fatal(err)
		}
		err := s.Check(t.Context())
		if err == nil || !strings.Contains(err.Error(), "does not link") {
			t.Fatalf("Check after rehashing an audit row: got %v, want a broken link", err)
		}
		if strings.Contains(err.Error(), "altered") {
			t.Errorf("Check: the rehashed row itself should look right, got %v", err)
		}
	})

	t.Run("DeletedAuditRow", func(t *testing.T) {
		s, path, _ := setup(t)
		db := rawDB(t, path)
		for _, q := range []string{`DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE seq = 1`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("Check after deleting an audit row: got %v, want missing rows", err)
		}
	})

	t.Run("AuditTriggers", func(t *testing.T) {
		_, path, _ := setup(t)
		db := rawDB(t, path)
		for _, q := range []string{`UPDATE audit SET action = 'x'`, `DELETE FROM audit`, `UPDATE events SET kind = 'x'`, `DELETE FROM events`} {
			if _, err := db.Exec(q); err == nil {
				t.Errorf("%s: no error", q)
			}
		}
	})

	t.Run("ImpossibleState", func(t *testing.T) {
		s, path, doc := setup(t)
		db := rawDB(t, path)
		if _, err := db.Exec(`UPDATE deliveries SET state = 'done' WHERE document = ? AND recipient = ?`, doc.ID, hanoi); err != nil {
			t.Fatal(err)
		}
		err := s.Check(t.Context())
		if err == nil || !strings.Contains(err.Error(), "done without 06 seen") {
			t.Fatalf("Check after a state change by hand: got %v", err)
		}
	})

	t.Run("Orphans", func(t *testing.T) {
		s, path, doc := setup(t)
		db := rawDB(t, path) // foreign keys are off on this connection
		for _, q := range []string{
			`DELETE FROM outbox WHERE document = '` + doc.ID + `'`,
			`INSERT INTO outbox (packet_id, kind, recipient, next_at, created_at) VALUES ('nope', 'status', 'x', 0, 0)`,
			`DELETE FROM idempotency`,
			`DROP TRIGGER events_no_delete`,
			`DELETE FROM events WHERE document = '` + doc.ID + `'`,
			`DELETE FROM documents WHERE id = '` + doc.ID + `'`,
			`INSERT INTO directory_briefs (key, version, revision, brief) VALUES ('G30', 1000, 0, x'7b7d')`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		err := s.Check(t.Context())
		if err == nil {
			t.Fatal("Check after orphaning rows: no error")
		}
		for _, want := range []string{"delivery without document: " + doc.ID, "outbox item without packet", "directory brief without its record: G30"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Check: got %v, want it to report %q", err, want)
			}
		}
	})
}

// TestCheckLifecycle walks every lifecycle envelope.Lifecycle.Apply can
// reach and requires Check's rules to accept each; then it requires them
// to refuse some that cannot be reached.
func TestCheckLifecycle(t *testing.T) {
	reached := map[envelope.Lifecycle]bool{{}: true}
	queue := []envelope.Lifecycle{{}}
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		if err := store.CheckLifecycle(l); err != nil {
			t.Errorf("reachable lifecycle refused: %v", err)
		}
		for _, c := range envelope.StatusCodes() {
			next, err := l.Apply(c, c.SentBy())
			if err == nil && !reached[next] {
				reached[next] = true
				queue = append(queue, next)
			}
		}
	}
	if len(reached) < 50 {
		t.Fatalf("only %d lifecycles reached", len(reached))
	}

	set := func(codes ...envelope.StatusCode) envelope.StatusSet {
		var s envelope.StatusSet
		for _, c := range codes {
			s.Add(c)
		}
		return s
	}
	for _, l := range []envelope.Lifecycle{
		{State: envelope.StateArrived},
		{State: envelope.StateSent, Seen: set("01")},
		{State: envelope.StateAccepted, Seen: set("01", "03", "06")},
		{State: envelope.StateDone, Seen: set("03", "06"), BeforeRecall: envelope.StateAccepted},
		{State: envelope.StateRejected, Seen: set("02", "03")},
		{State: envelope.StateArrived, Seen: set("01", "02")},
		{State: envelope.StateRecallRequested, BeforeRecall: envelope.StateArrived, Seen: set("01")},
		{State: envelope.StateRecalled, BeforeRecall: envelope.StateArrived, Seen: set("01", "13")},
		{State: envelope.StateArrived, Seen: set("01", "13")},
		{State: envelope.StateArrived, Seen: set("01", "16")},
		{State: envelope.StateRecallRequested, BeforeRecall: envelope.StateRecallRequested, Seen: set("13")},
		{State: envelope.State(42)},
	} {
		if reached[l] {
			t.Fatalf("test case %+v is reachable", l)
		}
		if err := store.CheckLifecycle(l); err == nil {
			t.Errorf("unreachable lifecycle %+v accepted", l)
		}
	}
}

func TestStore_Closed(t *testing.T) {
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "lienthong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := s.AcceptDocument(t.Context(), newAccept(vpcp, "doc-1", t0, hanoi)); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("AcceptDocument after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.DueOutbox(t.Context(), t0, 10); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("DueOutbox after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Packet(t.Context(), gateway.NewID(t0)); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Packet after Close: got %v, want ErrClosed", err)
	}
}

func TestStore_ConcurrentAccept(t *testing.T) {
	s := mustOpenStore(t)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				a := newAccept(vpcp, fmt.Sprintf("doc-%d-%d", w, i), t0.Add(time.Duration(i)*time.Millisecond), hanoi, hue)
				if _, _, err := s.AcceptDocument(t.Context(), a); err != nil {
					errs <- err
				}
			}
		})
	}
	// Reads go on meanwhile, on their own connections.
	wg.Go(func() {
		for range 20 {
			if _, err := s.Documents(t.Context(), gateway.DocumentQuery{Limit: 10}); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var all []gateway.DocumentSummary
	q := gateway.DocumentQuery{Limit: 500}
	page, err := s.Documents(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, page.Documents...)
	if got, want := len(all), writers*each; got != want {
		t.Errorf("documents: got %d, want %d", got, want)
	}
	if got, want := len(mustDue(t, s, t0.Add(time.Hour))), 2*writers*each; got != want {
		t.Errorf("outbox: got %d items, want %d", got, want)
	}
}

func TestStore_update(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	insert := func(tx *sql.Tx) {
		t.Helper()
		_, err := tx.Exec(`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, 'edoc', '', 1, x'00', 0)`,
			gateway.NewID(t0))
		if err != nil {
			t.Fatal(err)
		}
	}
	packets := func() int { return count(t, rawDB(t, path), `SELECT count(*) FROM packets`) }

	func() {
		defer func() {
			// fn's panic, with the writer's stack where it was raised.
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "store: panic in an update: boom\n") {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		_ = store.Update(s, t.Context(), func(tx *sql.Tx) error {
			insert(tx)
			panic("boom")
		})
	}()
	if got := packets(); got != 0 {
		t.Errorf("after a panic: %d packets, want the insert rolled back", got)
	}

	errFn := errors.New("refused")
	if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { insert(tx); return errFn }); !errors.Is(err, errFn) {
		t.Errorf("Update: got %v, want fn's error", err)
	}
	if got := packets(); got != 0 {
		t.Errorf("after an error: %d packets, want the insert rolled back", got)
	}

	if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { insert(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := packets(); got != 1 {
		t.Errorf("after a commit: %d packets, want 1", got)
	}
	// The one writer connection is free again.
	mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
}

// TestStore_LargePacket: a packet above 1 MiB is kept in a file of its
// own (see packetfiles_test.go) and comes back byte for byte, with Check
// satisfied; a smaller one stays inline.
func TestStore_LargePacket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	wantFiles := 0
	for i, size := range []int{1<<20 - 4096, 3<<20 + 12345} {
		a := newAccept(vpcp, fmt.Sprintf("large-%d", i), t0, hanoi)
		a.Packet = newPacket(gateway.KindEdoc, t0, size)
		if len(a.Packet.Data) > 1<<20 {
			wantFiles++
		}
		doc := mustAccept(t, s, a)
		p, err := s.Packet(t.Context(), doc.PacketID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Data, a.Packet.Data) || p.Size != int64(len(a.Packet.Data)) {
			t.Errorf("a packet of %d bytes read back as %d bytes (size %d)", len(a.Packet.Data), len(p.Data), p.Size)
		}
	}
	if got := count(t, rawDB(t, path), `SELECT count(*) FROM packet_chunks`); got != 0 {
		t.Errorf("%d chunks, want none", got)
	}
	if got := packetFiles(t, path); len(got) != wantFiles || wantFiles != 1 {
		t.Errorf("packet files %q, want %d (1)", got, wantFiles)
	}
}

// TestStore_DirectoryRecords: records are kept by key, a record replacing
// the kept one only when its version is higher, and the same record taking
// a later revision of the bucket.
func TestStore_DirectoryRecords(t *testing.T) {
	s := mustOpenStoreAt(t, filepath.Join(t.TempDir(), "lienthong.db"))
	keep := func(rs ...gateway.KeptRecord) {
		t.Helper()
		if err := s.KeepDirectoryRecords(t.Context(), rs); err != nil {
			t.Fatal(err)
		}
	}
	keep(gateway.KeptRecord{Key: "G22", Version: 5, Value: []byte("v5")}, gateway.KeptRecord{Key: "H41", Version: 1, Value: []byte("h1")})
	keep(gateway.KeptRecord{Key: "G22", Version: 4, Value: []byte("v4"), Revision: 9}) // older: ignored
	keep(gateway.KeptRecord{Key: "H41", Version: 2, Value: []byte("h2"), Revision: 3})
	// The same record at a later revision of the bucket: only its
	// revision changes; another value of the same version changes nothing.
	keep(gateway.KeptRecord{Key: "G22", Version: 5, Value: []byte("v5"), Revision: 7})
	keep(gateway.KeptRecord{Key: "G22", Version: 5, Value: []byte("v5 again"), Revision: 8})
	keep(gateway.KeptRecord{Key: "H41", Version: 2, Value: []byte("h2"), Revision: 2})
	if err := s.KeepDirectoryRecords(t.Context(), []gateway.KeptRecord{{Key: "X", Version: 1 << 63}}); err == nil {
		t.Error("a version beyond int64 was kept")
	}
	got, err := s.DirectoryRecords(t.Context(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []gateway.KeptRecord{{Key: "G22", Version: 5, Value: []byte("v5"), Revision: 7}, {Key: "H41", Version: 2, Value: []byte("h2"), Revision: 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records = %+v, want %+v", got, want)
	}
	// By pages.
	if got, err := s.DirectoryRecords(t.Context(), "G22", 1); err != nil || !reflect.DeepEqual(got, want[1:]) {
		t.Errorf("the page after G22 = %+v, %v", got, err)
	}
}

// TestStore_auditHead: the head of the audit chain the writer keeps in
// memory follows what is committed: an update rolled back to its
// savepoint in a batch, an update that is a batch of its own rolled back
// whole, and rows another connection (another Store on the file) added.
func TestStore_auditHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	ctx := t.Context()
	errFn := errors.New("refused")
	appendThen := func(err error) func(tx *sql.Tx) error {
		return func(tx *sql.Tx) error {
			if aerr := store.AppendAudit(s, ctx, tx, "test"); aerr != nil {
				return aerr
			}
			return err
		}
	}
	rows := func() int { return count(t, rawDB(t, path), `SELECT count(*) FROM audit`) }

	// A batch of three, the second rolled back to its savepoint: the
	// first update holds the writer until the three are queued.
	started, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- store.Update(s, ctx, func(tx *sql.Tx) error {
			close(started)
			<-release
			return appendThen(nil)(tx)
		})
	}()
	<-started
	results := make([]chan error, 3)
	for i, want := range []error{nil, errFn, nil} {
		results[i] = make(chan error, 1)
		go func() { results[i] <- store.Update(s, ctx, appendThen(want)) }()
		for store.Pending(s) != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, errFn, nil} {
		if err := <-results[i]; !errors.Is(err, want) {
			t.Errorf("update %d of the batch: got %v, want %v", i, err, want)
		}
	}
	if got := rows(); got != 3 {
		t.Errorf("after the batch: %d audit rows, want 3", got)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check after a batch with a failed update: %v", err)
	}

	// A batch of one, rolled back whole.
	if err := store.Update(s, ctx, appendThen(errFn)); !errors.Is(err, errFn) {
		t.Fatalf("Update: got %v, want %v", err, errFn)
	}
	mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
	if got := rows(); got != 4 {
		t.Errorf("after a failed update and an accept: %d audit rows, want 4", got)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check after a failed update alone: %v", err)
	}

	// Another store on the same file appends to the chain; this one's
	// next row must link to that row, not to the head it kept.
	other := mustOpenStoreAt(t, path)
	mustAccept(t, other, newAccept(vpcp, "doc-2", t0, hanoi))
	mustAccept(t, s, newAccept(vpcp, "doc-3", t0, hanoi))
	mustAccept(t, other, newAccept(vpcp, "doc-4", t0, hanoi))
	mustAccept(t, s, newAccept(vpcp, "doc-5", t0, hanoi))
	if got := rows(); got != 8 {
		t.Errorf("after accepts by two stores: %d audit rows, want 8", got)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check after two stores wrote: %v", err)
	}
}
