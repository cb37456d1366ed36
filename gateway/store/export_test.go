package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/lienthong/lienthong/gateway"
)

// CheckLifecycle exposes checkLifecycle to the black-box tests, which walk
// every reachable lifecycle through it.
var CheckLifecycle = checkLifecycle

// DeliveryColumns exposes deliveryColumns, for the tests of the plans of
// the queries that read them.
const DeliveryColumns = deliveryColumns

// Update exposes the managed write transaction to the tests.
func Update(s *Store, ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.update(ctx, fn)
}

// ReportQuery exposes the statement of ReportRows, keeping n agencies (0:
// all), for the tests of its plan.
func ReportQuery(n int) string {
	q := reportQuery
	if n > 0 {
		q += agencyFilter(n)
	}
	return q + reportOrder
}

// SetStmtCacheMax sets how many statements each connection of the stores
// opened next keeps (0: none, see stmtcache.go), for the benchmarks; it
// returns the function that restores the setting.
func SetStmtCacheMax(n int) (restore func()) {
	old := stmtCacheMax
	stmtCacheMax = n
	return func() { stmtCacheMax = old }
}

// AppendAudit exposes appendAudit to the tests of the chain's head.
func AppendAudit(s *Store, ctx context.Context, tx *sql.Tx, action string) error {
	return s.appendAudit(ctx, tx, action, "", map[string]any{})
}

// Pending is how many updates are queued for the writer, not yet taken.
func Pending(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Batches returns how many batches the writer committed (or failed)
// since the store was opened, and how many updates they held.
func Batches(s *Store) (batches, updates int64) {
	return s.batches.Load(), s.batched.Load()
}

// IsCommitError reports whether err is, or wraps, the error of a COMMIT.
func IsCommitError(err error) bool {
	var ce *commitError
	return errors.As(err, &ce)
}

// DenyRollbackOnce makes the next ROLLBACK of the writer's connection
// fail, without rolling back, by an authorizer on that connection: it
// waits for the writer to be idle.
func DenyRollbackOnce(s *Store, ctx context.Context) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var denied atomic.Bool
	return conn.Raw(func(dc any) error {
		if c, ok := dc.(*cachingConn); ok {
			dc = c.sqliteConn
		}
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("the driver's connection, a %T, has no authorizer", dc)
		}
		return r.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, arg1, _, _, _ string) sqlite.AuthorizerReturnCode {
			if action == sqlite.AuthTransaction && strings.EqualFold(arg1, "ROLLBACK") && denied.CompareAndSwap(false, true) {
				return sqlite.AuthorizerDeny
			}
			return sqlite.AuthorizerOK
		})
	})
}

// WriterStopped reports whether the writer goroutine of s has returned.
func WriterStopped(s *Store) bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

// Closing reports whether Close was called on s.
func Closing(s *Store) bool { return s.closed.Load() }

// Enqueue queues fn for the writer as update does, and returns the
// channel its result is sent on, for the tests that look at when the
// writer answers rather than when the caller, a goroutine, gets it.
func Enqueue(s *Store, ctx context.Context, fn func(tx *sql.Tx) error) (<-chan error, error) {
	req, err := s.enqueue(ctx, fn)
	if err != nil {
		return nil, err
	}
	return req.done, nil
}

// The statements of ApplyStatus and EmitStatus, for the tests of their
// plans.
const (
	StatusTargetOut = statusTargetOut
	StatusTargetIn  = statusTargetIn
)

// LifecyclesQuery exposes lifecyclesQuery.
var LifecyclesQuery = lifecyclesQuery

// DocumentsQuery returns the statement of Documents for q, for the tests
// of its plans.
func DocumentsQuery(q gateway.DocumentQuery) (string, []any, error) {
	b, err := newDocumentQuery(q)
	if err != nil {
		return "", nil, err
	}
	query, args := b.sql()
	return query, args, nil
}

// Cost is what the connections of a store ran: the transactions they
// began and the statements they ran besides BEGIN and COMMIT, on the
// writer and on the readers.
type Cost struct{ WriteTx, Writes, ReadTx, Reads int64 }

// CostOf returns what s's connections ran since it was opened.
func CostOf(s *Store) Cost {
	return Cost{
		WriteTx: s.writes.transactions.Load(), Writes: s.writes.statements.Load(),
		ReadTx: s.reads.transactions.Load(), Reads: s.reads.statements.Load(),
	}
}

// Sub returns what c ran since before.
func (c Cost) Sub(before Cost) Cost {
	return Cost{c.WriteTx - before.WriteTx, c.Writes - before.Writes, c.ReadTx - before.ReadTx, c.Reads - before.Reads}
}

// MarkSentDeliveries exposes markSentDeliveries, for the test of its
// plan.
var MarkSentDeliveries = markSentDeliveries
