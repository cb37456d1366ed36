package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"runtime/debug"
	"slices"

	"modernc.org/sqlite"

	"github.com/lienthong/lienthong/gateway"
)

// The writer: one goroutine, started by Open and stopped by Close, runs
// every update on the one writer connection. Updates queue while it
// commits; it takes those queued, up to maxBatch, into one transaction,
// each update in its own SAVEPOINT, and commits them with one sync (group
// commit). A caller waits only for its own update's batch, and may leave
// while its update is still queued: no caller commits for the others, as
// the first of a busy period once did, held until the queue was empty.

// writeRequest is one update waiting to be committed.
type writeRequest struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error // buffered: whoever answers never waits for the caller
	// taken: off the queue, by the writer into a batch or by Close to
	// fail it; the caller then waits for done. Under Store.mu.
	taken bool
}

// errClosedQueued is the error of an update still queued when the store
// closed.
func errClosedQueued() error {
	return fmt.Errorf("closed with the update queued, not applied: %w", gateway.ErrClosed)
}

// update runs fn in a write transaction (BEGIN IMMEDIATE on the one writer
// connection) and returns once it is committed, or rolled back if fn
// returned an error or panicked; fn must not commit or roll back.
//
// fn runs on the writer goroutine, with the updates queued beside it
// (see commit): each runs inside its own SAVEPOINT, so one that fails is
// undone alone, and the batch costs one sync. No update returns before
// its batch is durable; if the commit fails, every update of the batch
// gets the error and none of them happened (or, a *commitError, whether
// they did is not known). That is so as well of a constraint that fails
// only at COMMIT (a deferred foreign key, PRAGMA defer_foreign_keys): the
// whole batch fails with it, not the update that broke it alone. No
// update of the store defers a constraint.
//
// fn must not call the Store: it runs on the writer goroutine, which an
// update or a Close called from fn would wait for for ever (a deadlock);
// it reads through tx. Nor may it call runtime.Goexit (t.FailNow,
// t.Fatal): the process ends (see callUpdate).
//
// ctx is honoured while the update waits. If it ends while the update is
// queued, update returns ctx.Err() at once and fn never runs. Once the
// writer has taken the update into a batch, update waits for the batch's
// outcome whatever ctx does, so that what it returns is what happened:
// ctx.Err() without fn having run, if ctx ended before fn's turn in the
// batch; fn's error, if one of fn's statements found ctx ended (the
// writer's statements look at their context only before they begin,
// see cachingConn.detached), its work undone; or the commit's result.
// If the store closes while the update is queued, update returns an error
// wrapping gateway.ErrClosed, the update not applied.
func (s *Store) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	req, err := s.enqueue(ctx, fn)
	if err != nil {
		return err
	}
	select {
	case err = <-req.done:
	case <-ctx.Done():
		if s.withdraw(req) {
			return ctx.Err()
		}
		err = <-req.done
	}
	if p, ok := err.(*panicError); ok {
		// fn's panic, in fn's caller, its work undone; the value says
		// where it was raised, on the writer goroutine.
		panic(p)
	}
	return err
}

// enqueue queues fn for the writer, and wakes it.
func (s *Store) enqueue(ctx context.Context, fn func(tx *sql.Tx) error) (*writeRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &writeRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil, gateway.ErrClosed
	}
	s.queue = append(s.queue, req)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending: the writer will look at the queue
	}
	return req, nil
}

// withdraw takes req off the queue if it is still there, and reports
// whether it was: the writer will not run it.
func (s *Store) withdraw(req *writeRequest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.taken {
		return false
	}
	if i := slices.Index(s.queue, req); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
	return true
}

// startWriter starts the writer goroutine, committing at most maxBatch
// updates a transaction.
func (s *Store) startWriter(maxBatch int) {
	s.maxBatch = maxBatch
	s.wake = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.write()
}

// stopWriter stops the writer goroutine and waits for it to return. The
// updates still queued fail at once with an error wrapping
// gateway.ErrClosed, not applied; the batch being committed, if any, is
// committed, and its updates get their results. Updates after it fail
// with gateway.ErrClosed. It is called once.
func (s *Store) stopWriter() {
	s.mu.Lock()
	s.stopping = true
	queued := s.queue
	s.queue = nil
	for _, r := range queued {
		r.taken = true
	}
	s.mu.Unlock()
	for _, r := range queued {
		r.done <- errClosedQueued()
	}
	close(s.stop)
	<-s.stopped
}

// write is the writer goroutine: it commits the queued updates, a batch
// at a time, until stopWriter.
func (s *Store) write() {
	defer close(s.stopped)
	batch := make([]*writeRequest, 0, s.maxBatch)
	for {
		batch = s.take(batch[:0])
		if len(batch) == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		s.batches.Add(1)
		s.batched.Add(int64(len(batch)))
		s.commit(batch)
		clear(batch) // the requests answered are not kept until the next
	}
}

// take appends to batch the updates queued first, up to maxBatch, and
// marks them taken: their callers wait for their results from then on.
// Once Close began it takes nothing.
func (s *Store) take(batch []*writeRequest) []*writeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return batch
	}
	n := min(len(s.queue), s.maxBatch)
	for _, r := range s.queue[:n] {
		r.taken = true
	}
	batch = append(batch, s.queue[:n]...)
	s.queue = slices.Delete(s.queue, 0, n)
	return batch
}

// commit runs a batch of updates in one transaction. A batch of one runs
// without a SAVEPOINT: if it fails, the whole transaction is rolled back,
// which undoes it as well and saves the two statements and the statement
// journal most batches would otherwise cost.
func (s *Store) commit(batch []*writeRequest) {
	fail := func(err error) {
		// Whatever the chain's head was, the database may not have it;
		// nor may the outbox be as the batch left it.
		s.head = auditHead{}
		s.dueFrom.Store(dueUnknown)
		for _, r := range batch {
			r.done <- err
		}
	}
	conn, err := s.writer.Conn(context.Background())
	if err != nil {
		fail(err)
		return
	}
	defer conn.Close()
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	// Only for a panic unwinding the writer (see callUpdate): conn.Close
	// would wait for ever for a transaction not ended. Otherwise the
	// transaction is ended below, and this returns sql.ErrTxDone.
	defer tx.Rollback()
	version, err := dataVersionOf(conn)
	if err != nil {
		s.rollback(conn, tx)
		fail(err)
		return
	}
	if version != s.dataVersion {
		// Another connection committed: it may have appended to the
		// chain, or queued packets.
		s.head, s.dataVersion = auditHead{}, version
		s.dueFrom.Store(dueUnknown)
	}
	s.txQueued, s.txRead = dueNever, false
	single := len(batch) == 1
	results := make([]error, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !single {
			if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
				s.rollback(conn, tx)
				fail(err)
				return
			}
		}
		results[i] = callUpdate(r.fn, tx)
		if results[i] != nil {
			// The rows fn appended are undone below. The head is read
			// again rather than put back: should the one in memory ever
			// be wrong (another process's commit unseen), the update it
			// failed would otherwise fail again for ever.
			s.head = auditHead{}
			if single {
				s.rollback(conn, tx)
				r.done <- results[i]
				return
			}
			if _, err := tx.Exec(`ROLLBACK TO w`); err != nil {
				s.rollback(conn, tx)
				fail(err)
				return
			}
		}
		if !single {
			if _, err := tx.Exec(`RELEASE w`); err != nil {
				s.rollback(conn, tx)
				fail(err)
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		// The driver rolls back a transaction its failed COMMIT left
		// open (a deferred constraint), ignoring that rollback's error:
		// the connection is not trusted again (see rollback).
		s.discard(conn)
		fail(&commitError{err})
		return
	}
	// The commit changed the version: the next transaction compares
	// with the version it left. Not known, it finds the head again.
	if s.dataVersion, err = dataVersionOf(conn); err != nil {
		s.dataVersion = -1
	}
	s.commitDue(results)
	for i, r := range batch {
		r.done <- results[i]
	}
}

// rollback rolls tx back. Should that fail, the connection may be left
// inside the transaction (SQLite refused the ROLLBACK), which database/sql,
// taking the transaction as ended, would give to the next batch: its BEGIN,
// and every one after it until a restart, would fail ("cannot start a
// transaction within a transaction"). The connection is discarded instead.
func (s *Store) rollback(conn *sql.Conn, tx *sql.Tx) {
	if err := tx.Rollback(); err != nil {
		s.discard(conn)
	}
}

// discard closes the writer's connection, conn, which may be inside a
// transaction (closing it rolls that back), rather than return it to the
// pool; database/sql opens another for the next batch. What the writer
// knew of the database is forgotten.
func (s *Store) discard(conn *sql.Conn) {
	// driver.ErrBadConn from Raw's function closes the connection. If
	// database/sql closed it already (Rollback returned ErrBadConn), Raw
	// returns ErrConnDone.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	s.head, s.dataVersion = auditHead{}, -1
	s.dueFrom.Store(dueUnknown)
}

// dataVersionOf returns SQLite's data version of the database that conn,
// the writer's connection, has open (SQLITE_FCNTL_DATA_VERSION): it
// changes at each commit of the connection, and when the connection,
// beginning a transaction, finds the file changed by another one. It is
// read without a statement: PRAGMA data_version, which tells only the
// other connections' commits, was a statement more in every write
// transaction, a tenth of an applied status's.
func dataVersionOf(conn *sql.Conn) (int64, error) {
	var v uint32
	err := conn.Raw(func(dc any) error {
		fc, ok := dc.(sqlite.FileControl)
		if !ok {
			return fmt.Errorf("data version: the driver's connection is a %T", dc)
		}
		var err error
		v, err = fc.FileControlDataVersion("main")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("data version: %w", err)
	}
	return int64(v), nil
}

// commitDue sets dueFrom after a batch is committed, from what its
// updates queued and read of the outbox. An update that failed may have
// read before it was undone: the outbox is then not known, and the next
// DueOutbox reads. (A batch of one that fails commits nothing, and leaves
// dueFrom as it was.)
func (s *Store) commitDue(results []error) {
	for _, err := range results {
		if err != nil {
			s.dueFrom.Store(dueUnknown)
			return
		}
	}
	switch {
	case s.txRead:
		// The outbox as the transaction read it, and what it queued
		// after.
		s.dueFrom.Store(min(s.txEarliest, s.txQueued))
	case s.txQueued != dueNever:
		s.dueFrom.Store(min(s.dueFrom.Load(), s.txQueued))
	}
}

// commitError is the error of a COMMIT: whether the transaction was made
// is not known. SQLite may have written its frames to the log before the
// error (a failed fsync), and the next start's recovery then finds it
// committed, though no read of this run sees it. What the transaction's
// rows refer to outside the database (a packet's file) must stay.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// panicError carries the panic of an update's fn from the committer back
// to the update's caller, which panics again with it: its value, and the
// writer goroutine's stack where fn panicked, which the caller's panic
// would otherwise not show.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("store: panic in an update: %v\n\nthe writer goroutine, where it was raised:\n%s", p.value, p.stack)
}

// Unwrap returns the value of the panic if it is an error.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

// callUpdate calls fn, turning a panic into a panicError so that the batch
// it is part of can go on.
//
// A runtime.Goexit in fn (t.FailNow, t.Fatal on the writer goroutine) is
// no panic, and cannot be recovered: it would end or hang the writer
// silently, its callers, the updates after them and Close waiting for
// ever.
// callUpdate panics instead, which ends the process and says why.
func callUpdate(fn func(tx *sql.Tx) error, tx *sql.Tx) (err error) {
	returned := false
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
			return
		}
		if !returned {
			panic("store: an update's fn called runtime.Goexit (t.FailNow, t.Fatal?) on the writer goroutine, which cannot go on")
		}
	}()
	err = fn(tx)
	returned = true
	return err
}
