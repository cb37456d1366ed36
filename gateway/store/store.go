package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

var _ gateway.Store = (*Store)(nil)

// Synchronous is the SQLite synchronous setting of the writer connection.
type Synchronous string

// The two settings a gateway may use.
const (
	// SynchronousFull syncs the write-ahead log on every commit: a
	// committed transaction survives a power loss. The default.
	SynchronousFull Synchronous = "FULL"
	// SynchronousNormal syncs the log only at checkpoints: a commit
	// survives a crash of the process, but the last ones may be lost with
	// a power loss or a crash of the machine. Faster on a disk with slow
	// syncs.
	SynchronousNormal Synchronous = "NORMAL"
)

// Defaults of Options.
const (
	// DefaultSynchronous is the synchronous setting of a zero Options.
	DefaultSynchronous = SynchronousFull
	// DefaultBusyTimeout is how long a connection waits for a lock held
	// by another process.
	DefaultBusyTimeout = 10 * time.Second
	// DefaultReaders is the least number of read-only connections.
	DefaultReaders = 4
	// DefaultQuarantineBytes bounds the bytes of the packets kept in
	// quarantine: room for 20 packets of gateway.DefaultMaxPacketSize.
	DefaultQuarantineBytes = 2 << 30
	// DefaultQuarantineEntries bounds the entries of the quarantine.
	DefaultQuarantineEntries = 10000
	// DefaultMaxBatch bounds the updates committed together. Every
	// update of a batch waits for the whole batch to run and for its one
	// sync: the bound caps that wait in a burst. It is far above the
	// batches of a busy gateway (lienthong bench, 16 clients: 1.3 to 2.7
	// updates a batch on average, issue 18), which it leaves as they are.
	DefaultMaxBatch = 64
)

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// Synchronous is SynchronousFull (the default when empty) or
	// SynchronousNormal.
	Synchronous Synchronous
	// BusyTimeout is how long a connection waits for a lock held by
	// another process (such as a backup tool) before failing; 0 means
	// DefaultBusyTimeout.
	BusyTimeout time.Duration
	// Readers is the number of read-only connections; 0 means the larger
	// of DefaultReaders and the number of CPUs.
	Readers int
	// QuarantineBytes and QuarantineEntries bound the quarantine: past
	// the first, Quarantine drops the packets received least recently,
	// with their entries; past the second, the oldest entries (see
	// quarantine.go). 0 means DefaultQuarantineBytes and
	// DefaultQuarantineEntries.
	QuarantineBytes   int64
	QuarantineEntries int
	// MaxBatch is the most updates the writer commits in one transaction
	// (one sync); 0 means DefaultMaxBatch. Updates queued beyond it wait
	// for the next.
	MaxBatch int
	// Logger is told what the store drops from the quarantine; nil logs
	// nothing.
	Logger *zap.Logger
	// MemoryRelease limits how often a large packet file's buffer is made
	// only after the heap's free pages are given back: the process's one,
	// shared with its buses (gateway.MemoryLimiter); nil means one of the
	// store's own.
	MemoryRelease *gateway.MemoryLimiter
}

// Store is the gateway's durable state in one SQLite database. It
// implements gateway.Store; it is safe for concurrent use.
type Store struct {
	path   string
	writer *sql.DB // one connection; transactions BEGIN IMMEDIATE
	reader *sql.DB // read-only connections
	files  *packetFiles
	closed atomic.Bool
	// closeDone is closed when the first Close has returned: a Close
	// after it waits for it.
	closeDone chan struct{}
	log       *zap.Logger

	// The quarantine's bounds (Options), and how many entries Quarantine
	// dropped since Open (Stats).
	quarantineBytes   int64
	quarantineEntries int
	quarantineDropped atomic.Int64

	// What the writer and the readers ran (see connCounts).
	writes, reads connCounts

	// The writer goroutine and its queue (see writer.go). Updates queue
	// in queue, under mu; the writer takes up to maxBatch at a time and
	// commits them together.
	mu       sync.Mutex
	queue    []*writeRequest // under mu
	stopping bool            // under mu: Close began, nothing more queues
	maxBatch int
	wake     chan struct{} // buffered: the queue is not empty
	stop     chan struct{} // closed by Close: the writer returns
	stopped  chan struct{} // closed by the writer when it returns

	// How many batches the writer took, and the updates in them (Stats).
	batches, batched atomic.Int64

	// The writer goroutine's own: read and written only by it.
	//
	// head is the last row of the audit chain, so that appending a row
	// does not read it again (see appendAudit); dataVersion is the
	// writer connection's data version (dataVersionOf) as its last commit
	// left it, -1 if not known, to see a change committed by another
	// connection (an operator's tool on the file) when it begins the
	// next, after which head is read again.
	head        auditHead
	dataVersion int64

	// dueFrom is when the earliest outbox item is due (next_at, unix
	// ms) as the commits so far left the outbox: DueOutbox(now) with now
	// before it has nothing to return and reads nothing, which is most
	// of the dispatcher's wake-ups and ticks once it has published what
	// was due. dueUnknown when not known (DueOutbox reads), dueNever
	// for an empty outbox. Only the writer writes it, after a commit and
	// before the batch's updates return: an update that queued an item
	// wakes the dispatcher after the bound is lowered (see commitDue).
	dueFrom atomic.Int64
	// The writer's own, for the transaction it commits: txQueued is
	// the earliest next_at an update queued (insertOutbox) since
	// txEarliest was read, dueNever if none; txEarliest is the outbox's
	// earliest next_at as MarkSent or Postpone read it last in the
	// transaction, after their changes (readEarliest), if txRead.
	txQueued, txEarliest int64
	txRead               bool
}

// The values of Store.dueFrom that are not a time.
const (
	dueUnknown = math.MinInt64 // not known: DueOutbox reads
	dueNever   = math.MaxInt64 // the outbox is empty
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. Their file names
// start with their version, 1 to n with no gap.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	ms := make([]migration, 0, len(names))
	for i, name := range names {
		base := filepath.Base(name)
		prefix, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d first in its name", base, i+1)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this binary knows: the number of
// embedded migrations.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// dsn returns the driver's name for the database file at path with the
// given query parameters.
func dsn(path string, q url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Open opens the database at path, creating it if needed, and brings its
// schema up to date. A database whose schema is newer than this binary
// knows is refused.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Synchronous == "" {
		opts.Synchronous = DefaultSynchronous
	}
	switch opts.Synchronous {
	case SynchronousFull, SynchronousNormal:
	default:
		return nil, fmt.Errorf("store: open: synchronous %q: want FULL or NORMAL", opts.Synchronous)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.Readers <= 0 {
		opts.Readers = max(DefaultReaders, runtime.NumCPU())
	}
	if opts.QuarantineBytes <= 0 {
		opts.QuarantineBytes = DefaultQuarantineBytes
	}
	if opts.QuarantineEntries <= 0 {
		opts.QuarantineEntries = DefaultQuarantineEntries
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// The documents are an agency's correspondence: the file (and the
	// -wal and -shm files, which take its mode) is for the gateway alone.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	f.Close()
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)

	s := &Store{path: abs, closeDone: make(chan struct{}), log: opts.Logger, quarantineBytes: opts.QuarantineBytes, quarantineEntries: opts.QuarantineEntries}
	s.dueFrom.Store(dueUnknown)
	// Both pools' connections keep their prepared statements, see
	// stmtcache.go; the writer's run them detached from their contexts
	// (cachingConn.detached).
	wc, err := openConnector(dsn(abs, url.Values{
		"_txlock":       {"immediate"},
		"_busy_timeout": {busy},
		"_foreign_keys": {"on"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {string(opts.Synchronous)},
		"_dqs":          {"0"},
		// A 16 MiB page cache (the default is 2 MiB): the indexes every
		// accepted document touches stay in memory. Statement journals
		// (the pages a SAVEPOINT or a statement may have to undo) in
		// memory: otherwise SQLite spills them to a temporary file,
		// opened and closed again in most write transactions. They hold
		// the pages one update changed, never a whole packet (a new
		// packet's pages are new, not journaled).
		//
		// SQLite's own automatic checkpoint, in the commit that takes
		// the log past 1,000 pages: checkpoints in the background, on a
		// connection of their own, were built (cf2b092) and measured no
		// different — lienthong bench's p99 at 100 documents/s 5.9-7.0 ms
		// either way, its max 7-89 ms either way, the sim's ratio to its
		// floor 2.47-2.67 either way — so they were taken out again.
		"_pragma": {"cache_size(-16384)", "temp_store(MEMORY)"},
	}), &s.writes, true)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	writer := sql.OpenDB(wc)
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s.writer = writer
	// The writer goroutine commits every update, the migrations' too:
	// from here on, a failed Open stops it before closing the connection.
	s.startWriter(opts.MaxBatch)
	abort := func() {
		s.stopWriter()
		writer.Close()
		s.files.close()
	}
	if err := s.migrate(ctx); err != nil {
		abort()
		return nil, err
	}
	// What is due when, left by the last run: an idle gateway's first
	// ticks need not read.
	if err := s.update(ctx, func(tx *sql.Tx) error { return s.readEarliest(ctx, tx) }); err != nil {
		abort()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if s.files, err = s.openPacketFiles(ctx, opts.MemoryRelease); err != nil {
		abort()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}

	// No mmap_size, on the readers or the writer. Memory-mapped reads
	// would spare a reader the copies of the pages it reads again after
	// each commit of the writer (a connection that finds the database
	// changed when it begins to read drops its page cache), but in WAL
	// mode that same change unmaps the whole file
	// (pagerBeginReadTransaction), which the next read maps again, a page
	// fault per page it touches: with 256 MiB mapped, DueOutbox after a
	// commit took 0.44 times the floor instead of 0.31, a dispatch round
	// 2.11 instead of 1.70 (BenchmarkStore_DueOutbox, _DispatchRound;
	// issue 17). And SQLite cannot catch an I/O error on a mapped page
	// (sqlite.org/mmap.html): it is a SIGBUS, in this transpiled Go code a
	// fatal fault that ends the gateway, where the error of a read() is
	// returned to the caller, which retries or reports it. Neither is
	// acceptable for the store.
	rc, err := openConnector(dsn(abs, url.Values{
		"mode":          {"ro"},
		"_busy_timeout": {busy},
		"_dqs":          {"0"},
	}), &s.reads, false)
	if err != nil {
		abort()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	reader := sql.OpenDB(rc)
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		abort()
		return nil, fmt.Errorf("store: open read-only connection: %w", err)
	}
	s.reader = reader
	return s, nil
}

// migrate applies the embedded migrations the database lacks, each in its
// own transaction together with its PRAGMA user_version.
func (s *Store) migrate(ctx context.Context) error {
	steps, err := migrations()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	var version int
	if err := s.writer.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if version > len(steps) {
		return fmt.Errorf("store: open %s: schema version %d is newer than this binary knows (%d): run a newer lienthong, or restore a backup made for this version",
			s.path, version, len(steps))
	}
	if version == len(steps) {
		return nil
	}
	// A migration that builds an index on an existing store sorts its
	// entries in temporary storage, which the writer keeps in memory
	// (temp_store above): 0015 took 660 MiB on a store of a million
	// documents, outside the Go heap and its limit, enough for a
	// service's memory cap to kill the gateway at every start. The
	// migrations sort on disk instead (SQLite's temporary directory).
	// The writer is the one connection (SetMaxOpenConns(1)), so the
	// pragma holds for the steps below.
	if _, err := s.writer.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	// Back to memory for the gateway's transactions. Should this fail, the
	// writer keeps FILE: its statement journals go to temporary files,
	// slower but sound, so the error is not worth refusing the store for.
	defer s.writer.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = MEMORY")
	for _, m := range steps[version:] {
		err := s.update(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			// PRAGMA takes no parameters; the version is an int.
			_, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// Close closes the database. Calls after Close return gateway.ErrClosed.
// Close waits for the writer: the batch it is committing is committed,
// and its updates return their results; the updates still queued are not
// applied and return gateway.ErrClosed (see update). Close so takes as
// long as that batch does, however long: a sync stuck on a failing disk
// holds Close too. A second Close waits for the first, and returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		// Once it returns, the database and the packet directory's lock
		// are released.
		<-s.closeDone
		return nil
	}
	defer close(s.closeDone)
	s.stopWriter()
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	// Let SQLite keep its planner statistics fresh; failure is harmless.
	_, _ = s.writer.Exec("PRAGMA optimize")
	errs = append(errs, s.writer.Close(), s.files.close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// view runs fn in a read transaction on a read-only connection: fn sees
// one snapshot and never waits for the writer.
func (s *Store) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.run(ctx, s.reader, &sql.TxOptions{ReadOnly: true}, fn)
}

// read runs fn on the read-only pool outside a transaction, for reads of
// one statement, or of several that need no common snapshot (rows that
// never change): a statement alone reads from one snapshot all the same,
// and the BEGIN and COMMIT of a view are spared, two statements and
// database/sql's watch of the transaction. The dispatcher's reads, one
// or two per packet it publishes, are such.
//
// They stay on the readers although each follows a commit, after which a
// reader reads its pages again where the writer keeps them in its cache:
// DueOutbox on the writer took 0.21 times the floor instead of 0.27 with
// one item due, 0.41 instead of 0.44 with eight, and a dispatch round
// did not measurably change (1.48 and 1.50; issue 17). It would wait
// behind every commit and its sync, and hold back the next; and Packet,
// 32 at once in a round and up to tens of MB, cannot share one
// connection.
func (s *Store) read(ctx context.Context, fn func(db *sql.DB) error) error {
	if s.closed.Load() {
		return gateway.ErrClosed
	}
	err := fn(s.reader)
	if err != nil && s.closed.Load() {
		return gateway.ErrClosed
	}
	return err
}

// queryer is what reads: a *sql.Tx, or a *sql.DB outside a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// run runs fn in a transaction of db, with opts: view's.
func (s *Store) run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	if s.closed.Load() {
		return gateway.ErrClosed
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		if s.closed.Load() {
			return gateway.ErrClosed
		}
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	committed = true
	return nil
}

// ms is t as stored: unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS is a stored time as returned: UTC.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// fromNullMS is a nullable stored time.
func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// nullMS is a nullable time to store.
func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(*t), Valid: true}
}

// stamp returns t as the store keeps it: UTC, to the millisecond; the zero
// time becomes now.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Millisecond)
}

// nullString stores "" as NULL, for unique columns where "" means none.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
