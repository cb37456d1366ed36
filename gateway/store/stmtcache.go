package store

import (
	"context"
	"database/sql/driver"
	"reflect"
	"sync/atomic"

	"modernc.org/sqlite"
)

// The store's connections keep the statements they run prepared, and run
// them again instead of parsing and planning the same SQL on every call:
// its queries are a few dozen fixed texts, and preparing them was a sixth
// of a gateway's CPU. database/sql prepares a statement for each call
// (and closes it after), and modernc.org/sqlite has no statement cache of
// its own, so the cache sits between the two, on the driver's connection:
//
//   - a modernc statement is made to be run again: it resets its SQLite
//     statement and unbinds its text and blob arguments after each run (on
//     an error too), and every run binds all the parameters afresh;
//   - database/sql uses a connection from one goroutine at a time, and
//     calls the driver (Close of rows too, when a context ends) under the
//     connection's lock, so the cache needs no lock of its own;
//   - a statement whose rows are still open (a query run again while
//     iterating its own rows, as a transaction may) is not run again until
//     they are closed: meanwhile its text is prepared afresh for the one
//     call, as without the cache;
//   - sqlite3_prepare_v2 statements prepare themselves again when the
//     schema changes (a migration, on this connection or another);
//   - the least recently used statement is closed beyond stmtCacheMax,
//     and all of them when the connection closes, before the connection.
//
// The cached statements change no result: they only skip the parsing.

// stmtCacheMax bounds the statements one connection keeps: the store's
// fixed texts and the variants of its lists (IN lists, filters) in use.
// 0 turns the cache off.
var stmtCacheMax = 256

// sqliteConn is what the cache needs of the driver's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	sqlite.DBStatus
	sqlite.FileControl // the data version, see dataVersionOf
}

// sqliteStmt is what the cache needs of the driver's statement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// openConnector returns the connector of the database dsn names: the
// sqlite driver's, whose connections keep their statements unless
// stmtCacheMax is 0, and count what they run in counts. If detached,
// they run their statements detached from their contexts (see
// cachingConn.detached): the writer's.
func openConnector(dsn string, counts *connCounts, detached bool) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil || stmtCacheMax <= 0 {
		return c, err
	}
	return stmtCacheConnector{Connector: c, max: stmtCacheMax, counts: counts, detached: detached}, nil
}

// connCounts counts what the connections of one pool run: the statements
// the store sends (BEGIN and COMMIT not included) and the transactions it
// begins. What a use case costs is mostly the number of each; the tests
// hold it (TestStore_DeliveryCost), so that a change that adds to it is
// seen. An atomic add costs nanoseconds, a statement microseconds. The
// caching connections count (with stmtCacheMax 0 nothing is counted).
type connCounts struct {
	statements   atomic.Int64
	transactions atomic.Int64
}

type stmtCacheConnector struct {
	driver.Connector
	max      int
	counts   *connCounts // nil: not counted
	detached bool        // see cachingConn.detached
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok { // not the driver this was written for: no cache
		return dc, nil
	}
	return &cachingConn{sqliteConn: sc, max: c.max, stmts: make(map[string]*cachedStmt), counts: c.counts, detached: c.detached}, nil
}

// cachingConn is a driver connection keeping up to max prepared
// statements, by their text, the most recently used first.
type cachingConn struct {
	sqliteConn
	max    int
	stmts  map[string]*cachedStmt
	lru    cachedStmt  // sentinel: lru.next is the most recently used
	counts *connCounts // nil: not counted

	// detached: its statements run with a context that never ends,
	// whatever the caller's. For each statement whose context can end,
	// the driver starts a goroutine that waits for that end, to interrupt
	// the statement, and sets and clears SQLite's progress handler: 1 to
	// 5 % of the CPU of EmitStatus and ApplyStatus, whose updates run 5
	// to 10 statements (BenchmarkStore_EmitStatus, _ApplyStatus, medians
	// of 5 to 8 runs; issue 17). The writer's connection is detached: its statements are point
	// reads and writes of a few pages, most in a write transaction, which
	// waits for no lock (it holds the write lock), and an update whose
	// context ends still ends: database/sql looks at the context before
	// each statement, fails the next one with its error, and the update
	// is rolled back. A statement already running finishes (a migration
	// too). The readers' connections are not: a report or a list may
	// read for seconds, and stops when its caller leaves.
	detached bool

	prepared, reused int // for the tests
}

// count counts a statement run.
func (c *cachingConn) count() {
	if c.counts != nil {
		c.counts.statements.Add(1)
	}
}

// BeginTx counts the transaction and begins it.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.counts != nil {
		c.counts.transactions.Add(1)
	}
	return c.sqliteConn.BeginTx(ctx, opts)
}

type cachedStmt struct {
	query      string
	s          sqliteStmt
	busy       bool // its rows are open
	evicted    bool // out of the cache while busy: closed with its rows
	prev, next *cachedStmt
}

func (c *cachingConn) unlink(cs *cachedStmt) {
	cs.prev.next, cs.next.prev = cs.next, cs.prev
	cs.prev, cs.next = nil, nil
}

func (c *cachingConn) pushFront(cs *cachedStmt) {
	if c.lru.next == nil {
		c.lru.next, c.lru.prev = &c.lru, &c.lru
	}
	cs.prev, cs.next = &c.lru, c.lru.next
	cs.prev.next, cs.next.prev = cs, cs
}

// stmt returns the statement of query, prepared now if the connection
// does not keep it; nil if it is busy, for the caller to run the query
// without the cache.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		c.unlink(cs)
		c.pushFront(cs)
		c.reused++
		return cs, nil
	}
	ds, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s, ok := ds.(sqliteStmt)
	if !ok {
		ds.Close()
		return nil, nil
	}
	c.prepared++
	cs := &cachedStmt{query: query, s: s}
	c.stmts[query] = cs
	c.pushFront(cs)
	for len(c.stmts) > c.max {
		old := c.lru.prev
		c.unlink(old)
		delete(c.stmts, old.query)
		if old.busy {
			old.evicted = true
		} else {
			old.s.Close()
		}
	}
	return cs, nil
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.count()
	if c.detached {
		ctx = context.Background()
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	r, err := cs.s.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: r, cs: cs}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.count()
	if c.detached {
		ctx = context.Background()
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.s.ExecContext(ctx, args)
}

// Close closes the statements, then the connection: sqlite3_close_v2
// would otherwise keep it open for them.
func (c *cachingConn) Close() error {
	for q, cs := range c.stmts {
		cs.s.Close()
		delete(c.stmts, q)
	}
	c.lru = cachedStmt{}
	return c.sqliteConn.Close()
}

// cachedRows are the rows of a cached statement, which is free again
// once they are closed. The ColumnType methods pass on the driver's.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	if r.cs.evicted {
		r.cs.s.Close()
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
