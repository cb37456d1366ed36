package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Stats returns the store's numbers that the metrics show, in one read
// transaction; see gateway.StoreStats. A document is overdue when its due
// date (yyyy/MM/dd) is before the day of now in Vietnam and its delivery
// is not done, rejected or recalled. The count of overdue documents reads
// an index of the incoming documents by due date; the outbox is counted
// whole, the quarantine's totals read from quarantine_totals.
func (s *Store) Stats(ctx context.Context, now time.Time) (gateway.StoreStats, error) {
	var st gateway.StoreStats
	err := s.view(ctx, func(tx *sql.Tx) error {
		var oldest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox`).Scan(&st.OutboxItems, &oldest); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if oldest.Valid {
			st.OldestOutbox = fromMS(oldest.Int64)
		}
		if err := tx.QueryRowContext(ctx,
			`SELECT entries, bytes FROM quarantine_totals WHERE id = 1`).
			Scan(&st.QuarantineItems, &st.QuarantineBytes); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		err := tx.QueryRowContext(ctx,
			`SELECT count(*) FROM documents d
			WHERE d.direction = 'in' AND d.due_date <> '' AND d.due_date < ?
				AND d.due_date GLOB '[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]'
				AND EXISTS (SELECT 1 FROM deliveries l WHERE l.document = d.id AND l.state NOT IN (?, ?, ?))`,
			string(envelope.DateOf(now)),
			envelope.StateDone.String(), envelope.StateRejected.String(), envelope.StateRecalled.String(),
		).Scan(&st.Overdue)
		if err != nil {
			return fmt.Errorf("overdue documents: %w", err)
		}
		return nil
	})
	if err != nil {
		return gateway.StoreStats{}, fmt.Errorf("store: stats: %w", err)
	}
	st.QuarantineDropped = s.quarantineDropped.Load()
	st.WriterBatches, st.WriterUpdates = s.batches.Load(), s.batched.Load()
	s.mu.Lock()
	st.WriterQueue = len(s.queue)
	s.mu.Unlock()
	return st, nil
}

// Ping rewrites the one row of the ping table in a write transaction and
// returns once it is committed: the store can be written (the file, the
// disk, the write lock). It does not touch the audit chain. It returns
// when ctx is done even if the write has not finished, so that a probe
// never hangs on a stuck disk.
func (s *Store) Ping(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		done <- s.update(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO ping (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`,
				ms(time.Now()))
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: ping: %w", ctx.Err())
	}
}
