package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// eventRows returns every column of every event, in seq order, as text.
func eventRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT seq, document, recipient, kind, status_code, by_agency, description, staff,
		refusal, packet_id, msg_id, at, recorded_at FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		v := make([]any, 13)
		p := make([]any, len(v))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%v", v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// undo0017 makes the events table of a store as 0016 left it: seq
// AUTOINCREMENT, msg_id UNIQUE, with their rows and the next seq kept in
// sqlite_sequence.
const undo0017 = `CREATE TABLE events_old (
		seq         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
		document    TEXT    NOT NULL,
		recipient   TEXT    NOT NULL,
		kind        TEXT    NOT NULL,
		status_code TEXT    NOT NULL DEFAULT '',
		by_agency   TEXT    NOT NULL DEFAULT '',
		description TEXT    NOT NULL DEFAULT '',
		staff       TEXT    NOT NULL DEFAULT '',
		refusal     TEXT    NOT NULL DEFAULT '',
		packet_id   TEXT    REFERENCES packets (id),
		msg_id      TEXT    UNIQUE,
		at          INTEGER NOT NULL,
		recorded_at INTEGER NOT NULL,
		FOREIGN KEY (document, recipient) REFERENCES deliveries (document, recipient)
	) STRICT;
	INSERT INTO events_old SELECT * FROM events ORDER BY seq;
	DROP TABLE events;
	ALTER TABLE events_old RENAME TO events;
	CREATE INDEX events_delivery ON events (document, recipient, kind, seq, description);
	CREATE INDEX events_received ON events (seq) WHERE kind = 'received';
	CREATE INDEX events_status_packets ON events (seq) WHERE kind = 'status' AND packet_id IS NOT NULL;
	CREATE TRIGGER events_no_update BEFORE UPDATE ON events
	BEGIN
		SELECT RAISE(ABORT, 'events are immutable');
	END;
	CREATE TRIGGER events_no_delete BEFORE DELETE ON events
	BEGIN
		SELECT RAISE(ABORT, 'events are immutable');
	END;
	PRAGMA user_version = 16`

// TestOpen_MigrateEventsRebuilt: migration 0017, run on a store with
// events, keeps every event with its seq, leaves no row of events in
// sqlite_sequence nor a NULL msg_id in an index, still knows a status by
// its MsgID, and numbers the next event after the last one.
func TestOpen_MigrateEventsRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	mustAccept(t, s, newAccept(vpcp, "out-1", t0, hue, hanoi, btttt))
	migrationHistory(t, s)
	applied := newStatus(vpcp, btttt, "out-1", envelope.StatusArrived, t0.Add(2*time.Hour))
	if _, err := s.ApplyStatus(t.Context(), applied); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	want := eventRows(t, db)
	if len(want) < 8 {
		t.Fatalf("%d events, want the history's", len(want))
	}
	if _, err := db.Exec(undo0017); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_sequence WHERE name = 'events'`); n != 1 {
		t.Fatalf("%d rows of events in sqlite_sequence before 0017, want 1", n)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	db = rawDB(t, path)
	if got := eventRows(t, db); !slices.Equal(got, want) {
		t.Errorf("events after 0017:\n%q\nbefore:\n%q", got, want)
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_sequence WHERE name = 'events'`); n != 0 {
		t.Errorf("%d rows of events in sqlite_sequence after 0017, want none", n)
	}
	var indexed, received int
	if err := db.QueryRow(`SELECT count(*) FROM events INDEXED BY events_msg_id WHERE msg_id IS NOT NULL`).Scan(&indexed); err != nil {
		t.Fatal(err)
	}
	received = count(t, db, `SELECT count(*) FROM events WHERE msg_id IS NOT NULL`)
	if indexed != received || received == 0 {
		t.Errorf("events_msg_id holds %d events, want the %d with a msg_id", indexed, received)
	}
	// The same MsgID again, about another delivery: known by it.
	again := newStatus(vpcp, hue, "out-1", envelope.StatusArrived, t0.Add(3*time.Hour))
	again.MsgID = applied.MsgID
	res, err := s.ApplyStatus(t.Context(), again)
	if err != nil || !res.Duplicate || res.Recipient != btttt {
		t.Errorf("a MsgID seen before 0017: %+v, %v; want a duplicate of the status to %s", res, err, btttt)
	}
	// A new event comes after the last one.
	last := count(t, db, `SELECT max(seq) FROM events`)
	if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hue, "out-1", envelope.StatusArrived, t0.Add(4*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if next := count(t, db, `SELECT max(seq) FROM events`); next != last+1 {
		t.Errorf("seq of the event after 0017: %d, want %d", next, last+1)
	}
	if _, err := db.Exec(`INSERT INTO events (document, recipient, kind, msg_id, at, recorded_at)
		SELECT document, recipient, kind, msg_id, at, recorded_at FROM events WHERE msg_id IS NOT NULL LIMIT 1`); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Errorf("an event with the MsgID of another: %v, want a UNIQUE constraint failed", err)
	}
}
