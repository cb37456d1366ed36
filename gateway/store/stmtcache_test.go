package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// openCacheDB opens a database of one connection, keeping up to max
// statements, in a new file with a table t of ids 1 to 10 (v = 10 × id).
func openCacheDB(tb testing.TB, max int) (*sql.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "cache.db")
	base, err := sqlite.NewConnector(dsn(path, url.Values{"_journal_mode": {"WAL"}, "_busy_timeout": {"5000"}}))
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(stmtCacheConnector{Connector: base, max: max})
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10)
		INSERT INTO t (id, v) SELECT x, 10 * x FROM c`); err != nil {
		tb.Fatal(err)
	}
	return db, path
}

// cacheState is what the connection's cache holds and has done.
type cacheState struct{ kept, prepared, reused, stmtBytes int }

// stateOf returns the state of the cache of the database's connection.
func stateOf(tb testing.TB, db *sql.DB) cacheState {
	tb.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	var st cacheState
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("connection %T, want *cachingConn", dc)
		}
		n := 0
		for cs := c.lru.next; cs != nil && cs != &c.lru; cs = cs.next {
			n++
		}
		if n != len(c.stmts) {
			return fmt.Errorf("%d statements in the list, %d in the map", n, len(c.stmts))
		}
		used, _, err := c.Status(sqlite.DBStatusStmtUsed, false)
		st = cacheState{len(c.stmts), c.prepared, c.reused, used}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// ids returns the first column of every row of query, an integer.
func ids(tb testing.TB, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) []int64 {
	tb.Helper()
	rows, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestStmtCache_Reuse: a statement is prepared once per connection and
// run again with other arguments; no argument of a run is left for the
// next, whatever its type.
func TestStmtCache_Reuse(t *testing.T) {
	db, _ := openCacheDB(t, 8)
	before := stateOf(t, db)
	const q = `SELECT ?1, typeof(?1), ?2, typeof(?2)`
	for i, c := range []struct {
		a, b  any
		want  [4]any
		label string
	}{
		{"text", []byte("blob"), [4]any{"text", "text", []byte("blob"), "blob"}, "text, blob"},
		{nil, nil, [4]any{nil, "null", nil, "null"}, "nulls after text and blob"},
		{int64(7), 1.5, [4]any{int64(7), "integer", 1.5, "real"}, "numbers"},
		{"", []byte{}, [4]any{"", "text", []byte(nil), "blob"}, "empty"}, // an empty blob reads as nil
		{nil, "x", [4]any{nil, "null", "x", "text"}, "null then text"},
	} {
		var got [4]any
		if err := db.QueryRow(q, c.a, c.b).Scan(&got[0], &got[1], &got[2], &got[3]); err != nil {
			t.Fatalf("%d (%s): %v", i, c.label, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d (%s): got %#v, want %#v", i, c.label, got, c.want)
		}
	}
	// The same with Exec, binding text and blobs that are freed after the
	// run: the next run must not read them.
	for i := range 20 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 100+i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(t, db, `SELECT v FROM t WHERE id >= 100 ORDER BY id`); !reflect.DeepEqual(got, seq(0, 19)) {
		t.Errorf("inserted %v", got)
	}
	after := stateOf(t, db)
	if p := after.prepared - before.prepared; p != 3 {
		t.Errorf("%d statements prepared, want 3", p)
	}
	if r := after.reused - before.reused; r != 4+19 {
		t.Errorf("%d statements reused, want %d", r, 4+19)
	}
}

// TestStmtCache_NestedRows: a query run again, with other arguments,
// while iterating its own rows on the same connection (as a transaction
// does) gets its own statement, and neither run disturbs the other.
func TestStmtCache_NestedRows(t *testing.T) {
	db, _ := openCacheDB(t, 8)
	const q = `SELECT id FROM t WHERE id > ? ORDER BY id`
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for round := range 3 { // the first prepares, the others reuse
		outer, err := tx.Query(q, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for outer.Next() {
			var id int64
			if err := outer.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
			// The same text, open at the same time, twice over.
			inner, err := tx.Query(q, id)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for inner.Next() {
				var id2 int64
				if err := inner.Scan(&id2); err != nil {
					t.Fatal(err)
				}
				if got := ids(t, tx, q, id2); !reflect.DeepEqual(got, seq(id2+1, 10)) {
					t.Fatalf("round %d: innermost after %d: %v", round, id2, got)
				}
				n++
			}
			if err := inner.Err(); err != nil {
				t.Fatal(err)
			}
			inner.Close()
			if n != 10-id {
				t.Fatalf("round %d: %d rows after %d, want %d", round, n, id, 10-id)
			}
			// An update of the row being read, by a statement run many
			// times meanwhile.
			if _, err := tx.Exec(`UPDATE t SET v = v + 1 WHERE id = ?`, id); err != nil {
				t.Fatal(err)
			}
			var v int64
			if err := tx.QueryRow(`SELECT v FROM t WHERE id = ?`, id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if want := 10*id + int64(round) + 1; v != want {
				t.Fatalf("round %d: v of %d is %d, want %d", round, id, v, want)
			}
		}
		if err := outer.Err(); err != nil {
			t.Fatal(err)
		}
		outer.Close()
		if !reflect.DeepEqual(got, seq(1, 10)) {
			t.Fatalf("round %d: outer rows %v", round, got)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, db); st.reused == 0 {
		t.Errorf("no statement reused: %+v", st)
	}
}

// TestStmtCache_AfterError: a statement whose run failed, before its
// first row or after some, runs again as new.
func TestStmtCache_AfterError(t *testing.T) {
	db, _ := openCacheDB(t, 8)
	const ins = `INSERT INTO t (id, v) VALUES (?, ?)`
	if _, err := db.Exec(ins, 11, 110); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ins, 11, 111); err == nil {
		t.Fatal("a second row 11 was inserted")
	}
	if _, err := db.Exec(ins, 12, 120); err != nil {
		t.Fatalf("after the failed insert: %v", err)
	}
	if got := ids(t, db, `SELECT v FROM t WHERE id > 10 ORDER BY id`); !reflect.DeepEqual(got, []int64{110, 120}) {
		t.Errorf("rows %v", got)
	}

	// An error at the first step, then none.
	const js = `SELECT json_extract(?, '$.a')`
	var a int64
	if err := db.QueryRow(js, `{`).Scan(&a); err == nil {
		t.Fatal("malformed JSON read")
	}
	if err := db.QueryRow(js, `{"a": 5}`).Scan(&a); err != nil || a != 5 {
		t.Fatalf("after the error: %d, %v", a, err)
	}

	// An error at the third row, then a run that ends before it.
	const q = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		SELECT json(CASE WHEN x = 3 THEN '{' ELSE x END) FROM c`
	for range 2 {
		rows, err := db.Query(q, 5)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Err() == nil || n != 2 {
			t.Fatalf("%d rows, error %v; want 2 and an error", n, rows.Err())
		}
		rows.Close()
		if got := ids(t, db, q, 2); !reflect.DeepEqual(got, seq(1, 2)) {
			t.Fatalf("after the error: %v", got)
		}
	}
}

// TestStmtCache_Cancel: a statement whose context ended during its run,
// at its first step or between rows, runs again as new.
func TestStmtCache_Cancel(t *testing.T) {
	db, _ := openCacheDB(t, 8)
	const q = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		SELECT x FROM c`
	const total = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		SELECT count(*) FROM c`
	for range 3 {
		// Interrupted in its first step.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		var n int64
		err := db.QueryRowContext(ctx, total, int64(1)<<40).Scan(&n)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("count with a deadline: %d, %v", n, err)
		}
		if err := db.QueryRow(total, 1000).Scan(&n); err != nil || n != 1000 {
			t.Fatalf("count after the deadline: %d, %v", n, err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
		_, err = db.ExecContext(ctx, total, int64(1)<<40)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("exec with a deadline: %v", err)
		}

		// Canceled between rows.
		ctx, cancel = context.WithCancel(context.Background())
		rows, err := db.QueryContext(ctx, q, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if !rows.Next() {
				t.Fatalf("row %d: %v", i, rows.Err())
			}
		}
		cancel()
		for rows.Next() {
		}
		if !errors.Is(rows.Err(), context.Canceled) {
			t.Errorf("rows after cancel: %v", rows.Err())
		}
		rows.Close()
		if got := ids(t, db, q, 5); !reflect.DeepEqual(got, seq(1, 5)) {
			t.Fatalf("after the cancel: %v", got)
		}
	}
}

// TestStmtCache_Max: a connection keeps at most max statements, the
// least recently used going first (closed, or once its rows are closed);
// the memory of statements stays that of max of them.
func TestStmtCache_Max(t *testing.T) {
	const max = 4
	db, _ := openCacheDB(t, max)
	query := func(i int) string { return fmt.Sprintf(`SELECT id + %d FROM t WHERE id <= ? ORDER BY id`, i) }
	want := func(i, n int) []int64 { return seq(int64(i)+1, int64(i+n)) }
	for i := range max {
		if got := ids(t, db, query(i), 3); !reflect.DeepEqual(got, want(i, 3)) {
			t.Fatal(got)
		}
	}
	full := stateOf(t, db)

	// Rows of statement 0 stay open while 100 others push it out.
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	open, err := conn.QueryContext(context.Background(), query(0), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for i := range 300 {
		if i%30 == 0 && open.Next() {
			var id int64
			if err := open.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		q := i%100 + 1
		if g := ids(t, conn, query(q), 2); !reflect.DeepEqual(g, want(q, 2)) {
			t.Fatalf("statement %d: %v", q, g)
		}
	}
	for open.Next() {
		var id int64
		if err := open.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if err := open.Err(); err != nil {
		t.Fatal(err)
	}
	open.Close()
	conn.Close()
	if !reflect.DeepEqual(got, want(0, 10)) {
		t.Errorf("rows of the evicted statement: %v", got)
	}
	// Statement 0 again, prepared afresh.
	if got := ids(t, db, query(0), 3); !reflect.DeepEqual(got, want(0, 3)) {
		t.Fatal(got)
	}
	st := stateOf(t, db)
	if st.kept != max {
		t.Errorf("%d statements kept, want %d", st.kept, max)
	}
	if st.stmtBytes > 2*full.stmtBytes {
		t.Errorf("statements take %d bytes, %d with %d of them: evicted statements are not closed", st.stmtBytes, full.stmtBytes, max)
	}
}

// TestStmtCache_Schema: a kept statement follows a change of the schema,
// made on its connection or on another.
func TestStmtCache_Schema(t *testing.T) {
	db, path := openCacheDB(t, 8)
	const q = `SELECT * FROM t WHERE id = ?`
	cols := func() ([]string, []any) {
		t.Helper()
		rows, err := db.Query(q, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cs, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vs := make([]any, len(cs))
		ps := make([]any, len(cs))
		for i := range vs {
			ps[i] = &vs[i]
		}
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		if err := rows.Scan(ps...); err != nil {
			t.Fatal(err)
		}
		return cs, vs
	}
	if c, v := cols(); !reflect.DeepEqual(c, []string{"id", "v"}) || !reflect.DeepEqual(v, []any{int64(1), int64(10)}) {
		t.Fatalf("%v %v", c, v)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	if c, v := cols(); !reflect.DeepEqual(c, []string{"id", "v", "w"}) || !reflect.DeepEqual(v, []any{int64(1), int64(10), int64(7)}) {
		t.Fatalf("after ALTER TABLE: %v %v", c, v)
	}

	other, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'one')`); err != nil {
		t.Fatal(err)
	}
	if c, v := cols(); !reflect.DeepEqual(c, []string{"id", "name"}) || !reflect.DeepEqual(v, []any{int64(1), "one"}) {
		t.Fatalf("after another connection made t again: %v %v", c, v)
	}
	if _, err := other.Exec(`DROP TABLE t`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(q, 1); err == nil {
		t.Fatal("a query of a dropped table ran")
	}
	if _, err := other.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, x); INSERT INTO t VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	if c, v := cols(); !reflect.DeepEqual(c, []string{"id", "x"}) || !reflect.DeepEqual(v, []any{int64(1), "x"}) {
		t.Fatalf("after t was made again: %v %v", c, v)
	}
}

// TestStmtCache_Close: closing a connection closes its statements first,
// so that SQLite really closes it: the last connection of a WAL database
// checkpoints it and removes its log.
func TestStmtCache_Close(t *testing.T) {
	db, path := openCacheDB(t, 8)
	for i := range 5 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 100+i, i); err != nil {
			t.Fatal(err)
		}
		ids(t, db, `SELECT id FROM t WHERE id > ?`, i)
	}
	if st := stateOf(t, db); st.kept < 3 {
		t.Fatalf("%d statements kept", st.kept)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no log while open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the log is left after Close (%v): the connection was not closed", err)
	}
}

// TestStmtCache_Store: both of the store's pools keep their statements.
func TestStmtCache_Store(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "lienthong.db"), Options{Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if _, err := s.DirectoryRecords(t.Context(), "", 10); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for name, db := range map[string]*sql.DB{"writer": s.writer, "reader": s.reader} {
		if st := stateOf(t, db); st.kept == 0 || st.reused == 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// TestStmtCache_Detached: the writer's statements run detached from their
// contexts: one whose deadline passes while it runs is not interrupted,
// where a reader's is; and an update whose context ends fails at its next
// statement, with the context's error, and nothing of it is committed.
func TestStmtCache_Detached(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "lienthong.db"), Options{Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const total = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		SELECT count(*) FROM c`
	const rows = 1_000_000 // a few hundred milliseconds
	count := func(db *sql.DB) (time.Duration, int64, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		var n int64
		err := db.QueryRowContext(ctx, total, rows).Scan(&n)
		return time.Since(start), n, err
	}
	if took, n, err := count(s.writer); err != nil || n != rows {
		t.Errorf("writer: %d rows in %s, %v; want %d, past the deadline", n, took, err, rows)
	} else {
		t.Logf("writer: %d rows in %s", n, took)
	}
	if took, n, err := count(s.reader); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reader: %d rows in %s, %v; want the deadline's error", n, took, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	err = s.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ping (id, at) VALUES (1, 1)`); err != nil {
			return err
		}
		cancel()
		_, err := tx.ExecContext(ctx, `UPDATE ping SET at = 2`)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("update whose context ended: %v, want context.Canceled", err)
	}
	var pings int
	if err := s.reader.QueryRow(`SELECT count(*) FROM ping`).Scan(&pings); err != nil || pings != 0 {
		t.Errorf("%d rows in ping, %v; want none", pings, err)
	}
}
