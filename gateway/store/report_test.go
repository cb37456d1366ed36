package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"maps"
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

// reportRows returns the rows ReportRows gives, copied.
func reportRows(tb testing.TB, s *store.Store, q gateway.ReportQuery) []gateway.ReportRow {
	tb.Helper()
	var rows []gateway.ReportRow
	if err := s.ReportRows(tb.Context(), q, func(r *gateway.ReportRow) error {
		rows = append(rows, *r)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// rowKeys lists rows as "document recipient".
func rowKeys(rows []gateway.ReportRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Document+" "+r.Recipient)
	}
	return out
}

// emitStatus is a status the gateway emits about one of its documents.
func emitStatus(doc string, party envelope.Party, code envelope.StatusCode, by, description string, recipients []string, at time.Time) gateway.EmitStatus {
	return gateway.EmitStatus{
		Document:   doc,
		Recipients: recipients,
		Party:      party,
		Reply: gateway.Reply{
			Packet: newPacket(gateway.KindStatus, at, 512), Code: code, By: by, Description: description, At: at,
		},
		SendTo: []string{hanoi},
		At:     at.Add(time.Second), // recorded a second after the status's own time
	}
}

func TestStore_ReportRows_Agencies(t *testing.T) {
	const (
		province = "000.00.00.H41" // UBND tỉnh Nghệ An
		health   = "000.00.12.H41" // Sở Y tế, the reporting agency
		hospital = "000.01.12.H41" // a unit under the Sở Y tế
		finance  = "000.00.13.H41" // Sở Tài chính, a sibling
		other    = "000.00.12.H42" // Sở Y tế of Hà Tĩnh: the same group 12, another province
	)
	s := mustOpenStore(t)
	ids := map[string]string{}
	for i, agency := range []string{province, health, hospital, finance, other} {
		ids[agency] = mustAccept(t, s, newAccept(agency, fmt.Sprintf("doc-%d", i), t0.Add(time.Duration(i)*time.Minute), vpcp)).ID
	}
	ids["in"] = mustReceive(t, s, newReceive(health, vpcp, "in-1", t0.Add(time.Hour))).ID

	for _, c := range []struct {
		under string
		want  []string
	}{
		{health, []string{ids[health] + " " + vpcp, ids[hospital] + " " + vpcp, ids["in"] + " " + health}},
		{"H41.12", []string{ids[health] + " " + vpcp, ids[hospital] + " " + vpcp, ids["in"] + " " + health}},
		{hospital, []string{ids[hospital] + " " + vpcp}},
		{province, []string{ids[province] + " " + vpcp, ids[health] + " " + vpcp, ids[hospital] + " " + vpcp,
			ids[finance] + " " + vpcp, ids["in"] + " " + health}},
		{"000.00.00.H42", []string{ids[other] + " " + vpcp}},
		{"000.00.00.H43", nil},
		{"000.02.12.H41", nil},
	} {
		if got := rowKeys(reportRows(t, s, gateway.ReportQuery{Under: c.under})); !slices.Equal(got, c.want) {
			t.Errorf("under %s:\n got %q\nwant %q", c.under, got, c.want)
		}
	}

	for _, under := range []string{"", "H41..12", "000.00.12.H41 x"} {
		err := s.ReportRows(t.Context(), gateway.ReportQuery{Under: under}, func(*gateway.ReportRow) error {
			t.Error("a row for a bad agency code")
			return nil
		})
		if !errors.Is(err, gateway.ErrInvalidQuery) {
			t.Errorf("under %q: got %v, want ErrInvalidQuery", under, err)
		}
	}
}

func TestStore_ReportRows_Window(t *testing.T) {
	s := mustOpenStore(t)
	since, until := t0, t0.Add(24*time.Hour)
	created := map[string]time.Time{
		"before": since.Add(-time.Millisecond),
		"first":  since,
		"last":   until.Add(-time.Millisecond),
		"after":  until,
	}
	ids := map[string]string{}
	for _, name := range []string{"after", "last", "first", "before"} { // created out of order
		ids[name] = mustAccept(t, s, newAccept(vpcp, name, created[name], hanoi)).ID
	}
	for _, c := range []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"Window", since, until, []string{"first", "last"}},
		{"SubMillisecond", since.Add(-time.Microsecond), until.Add(time.Microsecond), []string{"first", "last", "after"}},
		{"SinceOnly", since, time.Time{}, []string{"first", "last", "after"}},
		{"UntilOnly", time.Time{}, until, []string{"before", "first", "last"}},
		{"All", time.Time{}, time.Time{}, []string{"before", "first", "last", "after"}},
		{"Empty", until, since, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for _, name := range c.want {
				want = append(want, ids[name]+" "+hanoi)
			}
			got := reportRows(t, s, gateway.ReportQuery{Under: vpcp, Since: c.since, Until: c.until})
			if !slices.Equal(rowKeys(got), want) {
				t.Errorf("got %q, want %q (%v)", rowKeys(got), want, c.want)
			}
		})
	}
}

// TestStore_ReportRows_Fields: every field of a row, the deliveries of a
// document in the order they were created, and the milestones as the
// statuses applied through the store set them.
func TestStore_ReportRows_Fields(t *testing.T) {
	s := mustOpenStore(t)
	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

	a := newAccept(vpcp, "out-1", t0, hue, hanoi, btttt) // not in the order of the codes
	a.Document.Paper, a.Document.SignedPDFs, a.Document.BussinessDocType, a.Document.Related = true, 2, 2, "out-0"
	out := mustAccept(t, s, a)
	apply := func(from string, code envelope.StatusCode, minutes int) gateway.StatusResult {
		t.Helper()
		res, err := s.ApplyStatus(t.Context(), newStatus(vpcp, from, "out-1", code, at(minutes)))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	apply(hanoi, envelope.StatusArrived, 1)
	apply(hanoi, envelope.StatusAccepted, 10)
	if res := apply(hanoi, envelope.StatusArrived, 11); res.Refused == nil { // a duplicate: refused
		t.Fatal("a second 01 was applied")
	}
	apply(hanoi, envelope.StatusDone, 60)
	// Huế: 03 overtakes 01; the 01 that follows is still the first 01.
	apply(hue, envelope.StatusAccepted, 5)
	apply(hue, envelope.StatusArrived, 3)
	// Bộ TT&TT: refused on arrival.
	if res := apply(btttt, envelope.StatusRejected, 2); res.State != envelope.StateRejected {
		t.Fatalf("02: %+v", res)
	}

	r := newReceive(vpcp, hanoi, "in-1", at(100))
	r.Reply.At = at(100).Add(time.Second) // the 01's own time
	r.Document.DueDate, r.Document.Verdict.Outcome = envelope.NewDate(2026, 3, 20), "valid"
	in := mustReceive(t, s, r)
	for _, c := range []struct {
		code    envelope.StatusCode
		minutes int
	}{{envelope.StatusAccepted, 110}, {envelope.StatusProcessing, 120}, {envelope.StatusDone, 130}} {
		if err := s.EmitStatus(t.Context(), emitStatus(in.ID, envelope.PartyRecipient, c.code, vpcp, "", []string{vpcp}, at(c.minutes))); err != nil {
			t.Fatal(err)
		}
	}
	r = newReceive(vpcp, hue, "in-2", at(200))
	r.Reply = nil // no 01 recorded: it arrived when it was received
	in2 := mustReceive(t, s, r)

	doc := gateway.ReportRow{
		Document: out.ID, Direction: gateway.Outgoing, Agency: vpcp, From: vpcp, CreatedAt: t0,
		BussinessDocType: 2, Paper: true, Verdict: "valid", DueDate: envelope.NewDate(2026, 3, 15), SignedPDFs: 2,
	}
	seen := func(codes ...envelope.StatusCode) envelope.StatusSet {
		var s envelope.StatusSet
		for _, c := range codes {
			s.Add(c)
		}
		return s
	}
	row := func(d gateway.ReportRow, recipient string, state envelope.State, codes []envelope.StatusCode, arrived, accepted, done time.Time, note string) gateway.ReportRow {
		d.Recipient, d.State, d.Seen, d.Note = recipient, state, seen(codes...), note
		d.ArrivedAt, d.AcceptedAt, d.DoneAt = arrived, accepted, done
		return d
	}
	var none time.Time
	inDoc := gateway.ReportRow{
		Document: in.ID, Direction: gateway.Incoming, Agency: vpcp, From: hanoi, CreatedAt: at(100),
		Verdict: "valid", DueDate: envelope.NewDate(2026, 3, 20),
	}
	in2Doc := gateway.ReportRow{
		Document: in2.ID, Direction: gateway.Incoming, Agency: vpcp, From: hue, CreatedAt: at(200), Verdict: "valid",
	}
	want := []gateway.ReportRow{
		row(doc, hue, envelope.StateAccepted, []envelope.StatusCode{"01", "03"}, at(3), at(5), none, ""),
		row(doc, hanoi, envelope.StateDone, []envelope.StatusCode{"01", "03", "06"}, at(1), at(10), at(60), ""),
		row(doc, btttt, envelope.StateRejected, []envelope.StatusCode{"02"}, none, none, none, envelope.StatusRejected.Name()),
		row(inDoc, vpcp, envelope.StateDone, []envelope.StatusCode{"01", "03", "05", "06"}, at(100).Add(time.Second), at(110), at(130), ""),
		row(in2Doc, vpcp, envelope.StateArrived, []envelope.StatusCode{"01"}, at(200), none, none, ""),
	}
	got := reportRows(t, s, gateway.ReportQuery{Under: vpcp})
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(got), len(want), rowKeys(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestStore_ReportRows_Note: the Note is read for a rejected delivery and
// one whose recall is pending, and for no other.
func TestStore_ReportRows_Note(t *testing.T) {
	s := mustOpenStore(t)
	mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue, btttt))
	apply := func(from string, code envelope.StatusCode, description string, minutes int) {
		t.Helper()
		st := newStatus(vpcp, from, "doc-1", code, t0.Add(time.Duration(minutes)*time.Minute))
		st.Description = description
		if _, err := s.ApplyStatus(t.Context(), st); err != nil {
			t.Fatal(err)
		}
	}
	notes := func() map[string]string {
		out := map[string]string{}
		for _, r := range reportRows(t, s, gateway.ReportQuery{Under: vpcp}) {
			out[r.Recipient] = r.Note
		}
		return out
	}
	apply(hanoi, envelope.StatusAccepted, "Đã vào sổ", 1)
	apply(hue, envelope.StatusRejected, "Không thuộc thẩm quyền", 2)
	apply(btttt, envelope.StatusProcessing, "Đang xử lý", 3)
	if n := notes(); n[hanoi] != "" || n[hue] != "Không thuộc thẩm quyền" || n[btttt] != "" {
		t.Errorf("notes: %q", n)
	}
	doc := reportRows(t, s, gateway.ReportQuery{Under: vpcp})[0].Document
	if err := s.EmitStatus(t.Context(), emitStatus(doc, envelope.PartySender, envelope.StatusRecallRequested, vpcp,
		"Gửi nhầm", []string{hanoi, btttt}, t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n := notes(); n[hanoi] != "Gửi nhầm" || n[btttt] != "Gửi nhầm" {
		t.Errorf("notes of a pending recall: %q", n)
	}
	apply(hanoi, envelope.StatusRecallRefused, "Đã xử lý xong", 70)
	apply(btttt, envelope.StatusRecallAccepted, "Đồng ý", 71)
	if n := notes(); n[hanoi] != "" || n[btttt] != "" || n[hue] != "Không thuộc thẩm quyền" {
		t.Errorf("notes after the answers: %q", n)
	}
}

func TestStore_ReportRows_Stop(t *testing.T) {
	s := mustOpenStore(t)
	mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
	mustAccept(t, s, newAccept(vpcp, "doc-2", t0.Add(time.Minute), hanoi))
	stop := errors.New("enough")
	calls := 0
	err := s.ReportRows(t.Context(), gateway.ReportQuery{Under: vpcp}, func(*gateway.ReportRow) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("got %v after %d calls, want fn's error after 1", err, calls)
	}
	// The store is usable after a stopped scan.
	if got := len(reportRows(t, s, gateway.ReportQuery{Under: vpcp})); got != 3 {
		t.Errorf("%d rows, want 3", got)
	}
}

func TestStore_ReportRows_Empty(t *testing.T) {
	s := mustOpenStore(t)
	if rows := reportRows(t, s, gateway.ReportQuery{Under: vpcp}); len(rows) != 0 {
		t.Errorf("an empty store gives %d rows", len(rows))
	}
	s.Close()
	if err := s.ReportRows(t.Context(), gateway.ReportQuery{Under: vpcp}, func(*gateway.ReportRow) error { return nil }); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestStore_ReportRows_Plan: the report reads one index, in one pass in
// the order of creation, with no sort and no look-up, whether or not it
// keeps some agencies.
func TestStore_ReportRows_Plan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	for _, n := range []int{0, 1, 3} {
		args := []any{int64(0), int64(1)}
		for range n {
			args = append(args, vpcp)
		}
		p := queryPlan(t, db, store.ReportQuery(n), args...)
		if want := "SEARCH deliveries USING COVERING INDEX deliveries_created (created_at>? AND created_at<?)"; !strings.Contains(p, want) {
			t.Errorf("plan with %d agencies: no %q in\n%s", n, want, p)
		}
		if strings.Contains(p, "\n") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan with %d agencies sorts or reads more:\n%s", n, p)
		}
	}
}

// TestStore_ReportRows_IndexedTexts: the texts of a row are read from
// the indexes, as SQLite computed them when the rows were written, not
// computed again for each row: the statement joins no text and calls no
// function. (A change to reportDocument or reportDelivery that is not
// made to the indexes too would still give the right rows, slowly.)
func TestStore_ReportRows_IndexedTexts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	for _, n := range []int{0, 3} {
		args := []any{int64(0), int64(1)}
		for range n {
			args = append(args, vpcp)
		}
		rows, err := db.Query(`EXPLAIN `+store.ReportQuery(n), args...)
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for rows.Next() {
			var (
				addr               int
				op                 string
				p1, p2, p3, p5, c4 any
				comment            any
			)
			if err := rows.Scan(&addr, &op, &p1, &p2, &p3, &c4, &p5, &comment); err != nil {
				t.Fatal(err)
			}
			ops = append(ops, op)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if slices.Contains(ops, "Concat") || slices.Contains(ops, "Function") {
			t.Errorf("with %d agencies, the statement computes its texts: %v", n, ops)
		}
	}
}

// undo0014 takes out of a store what migration 0014 added to it, for the
// tests that make a store as an older version left it and open it again.
const undo0014 = `DROP INDEX deliveries_created;
	ALTER TABLE deliveries DROP COLUMN note;
	ALTER TABLE deliveries DROP COLUMN agency;
	ALTER TABLE deliveries DROP COLUMN report_document;
	ALTER TABLE deliveries DROP COLUMN created_at`

// migrationHistory gives the store of a migration's test what the report
// reads of a document's life: statuses answering "out-1" (arrived,
// accepted, a refusal, done, each with a description) and an incoming
// document with a due date.
func migrationHistory(t *testing.T, s *store.Store) {
	t.Helper()
	for i, c := range []struct {
		from string
		code envelope.StatusCode
	}{{hanoi, envelope.StatusArrived}, {hanoi, envelope.StatusAccepted}, {hue, envelope.StatusRejected}, {hanoi, envelope.StatusDone}} {
		st := newStatus(vpcp, c.from, "out-1", c.code, t0.Add(time.Duration(i+1)*time.Minute))
		st.Description = "lý do " + string(c.code)
		if _, err := s.ApplyStatus(t.Context(), st); err != nil {
			t.Fatal(err)
		}
	}
	r := newReceive(vpcp, hanoi, "in-1", t0.Add(time.Hour))
	r.Document.DueDate = envelope.NewDate(2026, 3, 20)
	mustReceive(t, s, r)
}

// TestOpen_MigrateReportTexts: migration 0013, run on a store with
// documents, gives the rows the report read before it.
func TestOpen_MigrateReportTexts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	mustAccept(t, s, newAccept(vpcp, "out-1", t0, hue, hanoi, btttt))
	migrationHistory(t, s)
	want := reportRows(t, s, gateway.ReportQuery{Under: vpcp})
	s.Close()
	db := rawDB(t, path)
	// A store as 0012 left it: the indexes as 0004 made them, without
	// 0014's.
	if _, err := db.Exec(undo0018 + `;` + undo0014 + `;
		DROP INDEX documents_created;
		CREATE INDEX documents_created ON documents (created_at, id,
			agency, direction, sender, bussiness_doc_type, paper, verdict_outcome, verdict_by_gateway, due_date,
			signed_pdfs);
		DROP INDEX deliveries_report;
		CREATE INDEX deliveries_report ON deliveries (document, recipient,
			state, seen, arrived_at, accepted_at, done_at);
		PRAGMA user_version = 12`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	got := reportRows(t, s, gateway.ReportQuery{Under: vpcp})
	if len(got) != 4 || !slices.Equal(got, want) {
		t.Errorf("after 0013 and 0014:\n%+v\nbefore:\n%+v", got, want)
	}
}

// TestStore_Check_Milestones: Check finds a milestone that does not match
// the codes the lifecycle has seen.
func TestStore_Check_Milestones(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
	if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "doc-1", envelope.StatusArrived, t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{
		`UPDATE deliveries SET arrived_at = NULL WHERE recipient = '` + hanoi + `'`,
		`UPDATE deliveries SET done_at = 1 WHERE recipient = '` + hue + `'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	err = s.Check(t.Context())
	for _, want := range []string{
		"delivery of " + doc.ID + " to " + hanoi + ": arrived_at set is false, but 01 seen is true",
		"delivery of " + doc.ID + " to " + hue + ": done_at set is true, but 06 seen is false",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: got %v, want %q", err, want)
		}
	}
}

// TestOpen_MigrateMilestones: migration 0004 fills the milestones of a
// database made before it from the applied statuses.
func TestOpen_MigrateMilestones(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	db := rawDB(t, path)
	for _, name := range []string{"0001_init.sql", "0002_packet_chunks.sql", "0003_ops.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	atMinute := func(m int) int64 { return t0.Add(time.Duration(m) * time.Minute).UnixMilli() }
	p := gateway.NewID(t0)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`PRAGMA user_version = 3`)
	exec(`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, 'edoc', '', 1, x'00', 0)`, p)
	document := func(id, direction, sender string, created int64) {
		exec(`INSERT INTO documents (id, direction, agency, document_id, sender, packet_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, direction, vpcp, id, sender, p, created)
	}
	delivery := func(document, recipient, transport, state, seen string) {
		var sentAt any
		if transport == "sent" {
			sentAt = atMinute(0)
		}
		exec(`INSERT INTO deliveries (document, recipient, transport, state, before_recall, seen, sent_at, updated_at)
			VALUES (?, ?, ?, ?, 'sent', ?, ?, 0)`, document, recipient, transport, state, seen, sentAt)
	}
	event := func(document, recipient, kind, code string, at int64) {
		exec(`INSERT INTO events (document, recipient, kind, status_code, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)`,
			document, recipient, kind, code, at, at+1000)
	}
	document("out", "out", vpcp, atMinute(0))
	delivery("out", hanoi, "sent", "done", "01,03,06")
	delivery("out", hue, "sent", "accepted", "03")
	event("out", hanoi, "status", "01", atMinute(1))
	event("out", hanoi, "status_refused", "01", atMinute(2))
	event("out", hue, "status", "03", atMinute(3))
	event("out", hanoi, "status_refused", "06", atMinute(4))
	event("out", hanoi, "status", "03", atMinute(10))
	event("out", hanoi, "status", "06", atMinute(20))
	document("in-1", "in", hanoi, atMinute(30))
	delivery("in-1", vpcp, "received", "arrived", "01")
	event("in-1", vpcp, "received", "", atMinute(30))
	document("in-2", "in", hue, atMinute(40))
	delivery("in-2", vpcp, "received", "arrived", "01")
	event("in-2", vpcp, "received", "", atMinute(40))
	event("in-2", vpcp, "status", "01", atMinute(41))
	db.Close()

	s := mustOpenStoreAt(t, path)
	got := map[string][3]sql.NullInt64{}
	rows, err := rawDB(t, path).Query(`SELECT document, recipient, arrived_at, accepted_at, done_at FROM deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d, r string
		var m [3]sql.NullInt64
		if err := rows.Scan(&d, &r, &m[0], &m[1], &m[2]); err != nil {
			t.Fatal(err)
		}
		got[d+" "+r] = m
	}
	rows.Close()
	v := func(m int) sql.NullInt64 { return sql.NullInt64{Int64: atMinute(m), Valid: true} }
	want := map[string][3]sql.NullInt64{
		"out " + hanoi: {v(1), v(10), v(20)},
		"out " + hue:   {{}, v(3), {}},
		"in-1 " + vpcp: {v(30), {}, {}},
		"in-2 " + vpcp: {v(41), {}, {}},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("milestones of %s: got %v, want %v", k, got[k], w)
		}
	}
	if n := len(reportRows(t, s, gateway.ReportQuery{Under: vpcp})); n != 4 {
		t.Errorf("%d report rows after the migration, want 4", n)
	}
}

// TestOpen_MigrateRevisionTags: migration 0010 forgets the directory
// revisions kept without their bucket's tag, and keeps the tagged ones.
func TestOpen_MigrateRevisionTags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	tagged := uint64(3)<<48 | 7
	if err := s.KeepDirectoryRecords(t.Context(), []gateway.KeptRecord{
		{Key: "G22", Version: 1, Value: []byte("g22"), Revision: 7},
		{Key: "H41", Version: 1, Value: []byte("h41"), Revision: tagged},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	// A store as 0009 left it: without what later migrations add.
	if _, err := db.Exec(undo0018 + `;` + undo0014 + `; DROP TABLE directory_briefs; PRAGMA user_version = 9`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	kept, err := s.DirectoryRecords(t.Context(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]uint64)
	for _, r := range kept {
		got[r.Key] = r.Revision
	}
	if want := map[string]uint64{"G22": 0, "H41": tagged}; !maps.Equal(got, want) {
		t.Errorf("revisions after 0010: %v, want %v", got, want)
	}
}

// readRowsFromTables reads the report's rows of [since, until), of one
// agency or all (""), as the tables hold them, each field from its own column of documents or of
// deliveries, joined: what ReportRows must give from the deliveries'
// copies of their documents (migration 0014), whatever happened to the
// documents and deliveries since they were stored.
func readRowsFromTables(tb testing.TB, db *sql.DB, since, until time.Time, agency string) []gateway.ReportRow {
	tb.Helper()
	rows, err := db.Query(`SELECT d.id, d.direction, d.agency, d.sender, d.created_at, d.bussiness_doc_type,
			d.paper, d.verdict_outcome, d.verdict_by_gateway, d.due_date, d.signed_pdfs,
			v.recipient, v.state, v.seen, v.arrived_at, v.accepted_at, v.done_at,
			coalesce((SELECT e.description FROM events e
				WHERE e.document = v.document AND e.recipient = v.recipient AND e.kind = 'status'
				ORDER BY e.seq DESC LIMIT 1), '')
		FROM documents d JOIN deliveries v ON v.document = d.id
		WHERE d.created_at >= ? AND d.created_at < ? AND (?3 = '' OR d.agency = ?3)
		ORDER BY d.created_at, d.id, v.rowid`, since.UnixMilli(), until.UnixMilli(), agency)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []gateway.ReportRow
	for rows.Next() {
		var (
			r                         gateway.ReportRow
			direction, state, seen    string
			due, note                 string
			created                   int64
			milestones                [3]sql.NullInt64
			arrived, accepted, doneAt = &milestones[0], &milestones[1], &milestones[2]
			paper, byGateway          bool
			bdt, signedPDFs           int
		)
		if err := rows.Scan(&r.Document, &direction, &r.Agency, &r.From, &created, &bdt, &paper, &r.Verdict,
			&byGateway, &due, &signedPDFs, &r.Recipient, &state, &seen, arrived, accepted, doneAt, &note); err != nil {
			tb.Fatal(err)
		}
		r.Direction, r.CreatedAt, r.BussinessDocType, r.Paper = gateway.Direction(direction), time.UnixMilli(created).UTC(), bdt, paper
		r.GatewaySigned, r.DueDate, r.SignedPDFs = byGateway, envelope.Date(due), signedPDFs
		if r.State, err = envelope.ParseState(state); err != nil {
			tb.Fatal(err)
		}
		if err := r.Seen.UnmarshalText([]byte(seen)); err != nil {
			tb.Fatal(err)
		}
		for i, t := range []*time.Time{&r.ArrivedAt, &r.AcceptedAt, &r.DoneAt} {
			if milestones[i].Valid {
				*t = time.UnixMilli(milestones[i].Int64).UTC()
			}
		}
		if r.State == envelope.StateRejected || r.State == envelope.StateRecallRequested {
			r.Note = note
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestStore_ReportRows_Copies: the rows ReportRows reads from the
// deliveries' copies of their documents and of their notes (migration
// 0014) are those the tables hold — documents at the window's edges,
// statuses applied after the document was stored (arrived, accepted,
// done; a refusal; a recall requested; a status refused), a document
// revoked by a later one, incoming documents with a due date or with their
// 01's description — and a copy that is not its document's is found by
// Check and changes the rows.
func TestStore_ReportRows_Copies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	since, until := t0, t0.Add(30*24*time.Hour)
	at := func(minutes int) time.Time { return since.Add(time.Duration(minutes) * time.Minute) }
	apply := func(documentID, from string, code envelope.StatusCode, description string, when time.Time) {
		t.Helper()
		st := newStatus(vpcp, from, documentID, code, when)
		st.Description = description
		if _, err := s.ApplyStatus(t.Context(), st); err != nil {
			t.Fatal(err)
		}
	}

	mustAccept(t, s, newAccept(vpcp, "before", since.Add(-time.Millisecond), hanoi))
	a := newAccept(vpcp, "first", since, hanoi, hue, btttt)
	a.Document.Paper, a.Document.SignedPDFs = true, 3
	a.Document.Verdict = gateway.Verdict{Outcome: "valid", ByGateway: true}
	first := mustAccept(t, s, a)
	a = newAccept(vpcp, "last", until.Add(-time.Millisecond), hue)
	a.Document.BussinessDocType, a.Document.Related = 1, "first" // revokes "first"
	mustAccept(t, s, a)
	mustAccept(t, s, newAccept(vpcp, "after", until, hanoi))
	r := newReceive(vpcp, hanoi, "in-1", at(30))
	r.Document.DueDate, r.Document.Verdict.Outcome = envelope.NewDate(2026, 3, 20), "missing"
	in := mustReceive(t, s, r)
	r = newReceive(vpcp, hue, "in-2", at(31))
	r.Reply.Description = "Đã nhận" // its 01's: the delivery's note
	mustReceive(t, s, r)

	apply("first", hanoi, envelope.StatusArrived, "", at(1))
	apply("first", hanoi, envelope.StatusAccepted, "Đã vào sổ", at(2))
	apply("first", hanoi, envelope.StatusDone, "", at(3))
	apply("first", hue, envelope.StatusRejected, "Không thuộc thẩm quyền", at(4))
	apply("first", hue, envelope.StatusAccepted, "", at(5)) // refused: hue rejected it
	apply("first", btttt, envelope.StatusArrived, "", at(6))
	if err := s.EmitStatus(t.Context(), emitStatus(first.ID, envelope.PartySender, envelope.StatusRecallRequested, vpcp,
		"Gửi nhầm", []string{btttt}, at(7))); err != nil {
		t.Fatal(err)
	}
	if err := s.EmitStatus(t.Context(), emitStatus(in.ID, envelope.PartyRecipient, envelope.StatusAccepted, vpcp,
		"", []string{vpcp}, at(40))); err != nil {
		t.Fatal(err)
	}

	rowsOf := func(under string) []gateway.ReportRow {
		return reportRows(t, s, gateway.ReportQuery{Under: under, Since: since, Until: until})
	}
	want := readRowsFromTables(t, db, since, until, "")
	if got := len(want); got != 6 { // first's three, in-1's, in-2's, last's
		t.Fatalf("%d rows in the tables, want 6: %q", got, rowKeys(want))
	}
	if err := s.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}

	// A copy that is not its document's: Check names it, and the rows are
	// not the tables' any more. Each is put back after.
	copyProblem := "delivery whose copy of its document is not its document's: "
	wrongCopies := func(t *testing.T, some bool) {
		for _, c := range []struct {
			name, set, undo, problem string
			some                     bool // read only by a report of some agencies
		}{
			{"Fields", `report_document = replace(report_document, 'valid', 'missing')`,
				`report_document = replace(report_document, 'missing', 'valid')`, copyProblem, false},
			{"Created", `created_at = created_at - 1`, `created_at = created_at + 1`, copyProblem, false}, // before the window
			{"Agency", `agency = agency || '!'`, `agency = substr(agency, 1, length(agency) - 1)`, copyProblem, true},
			{"Note", `note = note || '!'`, `note = substr(note, 1, length(note) - 1)`,
				"delivery whose note is not its last status's description: ", false},
		} {
			if c.some && !some {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				where := ` WHERE document = '` + first.ID + `' AND recipient = '` + hue + `'`
				if _, err := db.Exec(`UPDATE deliveries SET ` + c.set + where); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if _, err := db.Exec(`UPDATE deliveries SET ` + c.undo + where); err != nil {
						t.Fatal(err)
					}
				}()
				err := s.Check(t.Context())
				if want := c.problem + first.ID + " to " + hue; err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Check: %v, want %q", err, want)
				}
				if got := rowsOf(vpcp); slices.Equal(got, want) {
					t.Error("the rows are the tables' with a wrong copy")
				}
			})
		}
	}

	// The report of all the store's agencies.
	t.Run("All", func(t *testing.T) {
		if got := rowsOf(vpcp); !slices.Equal(got, want) {
			t.Errorf("rows:\n got %+v\nwant %+v", got, want)
		}
		wrongCopies(t, false)
	})
	// With a document of another agency, the report of some
	// (agencyFilter).
	mustAccept(t, s, newAccept(btttt, "other", at(10), hanoi))
	if w := readRowsFromTables(t, db, since, until, vpcp); !slices.Equal(w, want) {
		t.Fatalf("the tables' rows of %s are not those before: %q", vpcp, rowKeys(w))
	}
	t.Run("Some", func(t *testing.T) {
		if got := rowsOf(vpcp); !slices.Equal(got, want) {
			t.Errorf("rows:\n got %+v\nwant %+v", got, want)
		}
		if got, w := rowsOf(btttt), readRowsFromTables(t, db, since, until, btttt); len(w) != 1 || !slices.Equal(got, w) {
			t.Errorf("rows of %s:\n got %+v\nwant %+v", btttt, got, w)
		}
		wrongCopies(t, true)
	})
}

// TestOpen_MigrateReportDeliveries: migration 0014, run on a store with
// documents and their statuses, gives the deliveries their copies of
// their documents (Check finds none wrong when the test ends) and the
// rows the report read before it.
func TestOpen_MigrateReportDeliveries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	a := newAccept(vpcp, "out-1", t0, hue, hanoi, btttt)
	a.Document.Paper, a.Document.SignedPDFs, a.Document.BussinessDocType = true, 2, 2
	mustAccept(t, s, a)
	migrationHistory(t, s)
	mustAccept(t, s, newAccept(btttt, "out-2", t0.Add(2*time.Hour), vpcp))
	want := reportRows(t, s, gateway.ReportQuery{Under: vpcp})
	s.Close()
	db := rawDB(t, path)
	// A store as 0013 left it.
	if _, err := db.Exec(undo0018 + `;` + undo0014 + `;
		DROP INDEX documents_created;
		CREATE INDEX documents_created ON documents (created_at, id,
			agency, direction, sender, bussiness_doc_type, paper, verdict_outcome, verdict_by_gateway, due_date,
			signed_pdfs,
			(((direction = 'out') | (paper << 1) | (bussiness_doc_type << 2) | (verdict_by_gateway << 7) | (signed_pdfs << 8))
				|| char(31) || created_at || char(31) || verdict_outcome || char(31) || due_date
				|| char(31) || agency || char(31) || sender || char(31) || id));
		DROP INDEX deliveries_report;
		CREATE INDEX deliveries_report ON deliveries (document, recipient, state,
			(state || char(31) || seen || char(31) || coalesce(arrived_at, '') || char(31)
				|| coalesce(accepted_at, '') || char(31) || coalesce(done_at, '') || char(31) || recipient));
		PRAGMA user_version = 13`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	got := reportRows(t, s, gateway.ReportQuery{Under: vpcp})
	if len(got) != 4 || !slices.Equal(got, want) {
		t.Errorf("after 0014:\n%+v\nbefore:\n%+v", got, want)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Errorf("Check after 0014: %v", err)
	}
}
