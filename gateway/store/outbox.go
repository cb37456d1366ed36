package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// Limits of DueOutbox.
const (
	defaultOutboxLimit = 100
	maxOutboxLimit     = 1000
)

// insertOutbox queues a packet to one recipient, due at at, in an
// update's transaction; the writer lowers dueFrom to at once it is
// committed.
func (s *Store) insertOutbox(ctx context.Context, tx *sql.Tx, packet string, kind gateway.PacketKind, recipient, document string, at time.Time) error {
	if recipient == "" {
		return fmt.Errorf("outbox: packet %s has no recipient", packet)
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (packet_id, kind, recipient, document, next_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		packet, string(kind), recipient, document, ms(at), ms(at))
	if err != nil {
		return fmt.Errorf("outbox: packet %s to %s: %w", packet, recipient, err)
	}
	s.txQueued = min(s.txQueued, ms(at))
	return nil
}

// insertOutboxes queues a packet to recipients, in their order, as
// insertOutbox does each, in one statement.
func (s *Store) insertOutboxes(ctx context.Context, tx *sql.Tx, packet string, kind gateway.PacketKind, recipients []string, document string, at time.Time) error {
	if len(recipients) == 1 {
		return s.insertOutbox(ctx, tx, packet, kind, recipients[0], document, at)
	}
	const row = `(?, ?, ?, ?, ?, ?)`
	args := make([]any, 0, 6*len(recipients))
	for _, r := range recipients {
		if r == "" {
			return fmt.Errorf("outbox: packet %s has no recipient", packet)
		}
		args = append(args, packet, string(kind), r, document, ms(at), ms(at))
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (packet_id, kind, recipient, document, next_at, created_at)
		VALUES `+row+strings.Repeat(`, `+row, len(recipients)-1), args...)
	if err != nil {
		return fmt.Errorf("outbox: packet %s to %d recipients: %w", packet, len(recipients), err)
	}
	s.txQueued = min(s.txQueued, ms(at))
	return nil
}

// readEarliest reads in an update's transaction when the earliest item
// of the outbox is due, after the update's changes to it, for the
// writer to set dueFrom once it is committed: MarkSent and Postpone,
// which take items out of the outbox or put them off, call it last. One
// look-up at the end of the outbox_due index.
func (s *Store) readEarliest(ctx context.Context, tx *sql.Tx) error {
	var earliest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(next_at) FROM outbox`).Scan(&earliest); err != nil {
		return fmt.Errorf("outbox: earliest item: %w", err)
	}
	s.txEarliest, s.txQueued, s.txRead = dueNever, dueNever, true
	if earliest.Valid {
		s.txEarliest = earliest.Int64
	}
	return nil
}

// outboxColumns are the columns scanOutbox reads, from outbox: the last
// one is the agency of the item's document.
const outboxColumns = `id, packet_id, kind, recipient, document, attempts, next_at, last_error, created_at,
	COALESCE((SELECT d.agency FROM documents d WHERE d.id = outbox.document), '')`

// scanOutbox reads the outboxColumns of a row.
func scanOutbox(row scanner) (gateway.OutboxItem, error) {
	var (
		o                 gateway.OutboxItem
		kind              string
		nextAt, createdAt int64
	)
	err := row.Scan(&o.ID, &o.PacketID, &kind, &o.Recipient, &o.Document, &o.Attempts, &nextAt, &o.LastError, &createdAt, &o.Agency)
	o.Kind = gateway.PacketKind(kind)
	o.NextAt, o.CreatedAt = fromMS(nextAt), fromMS(createdAt)
	return o, err
}

// DueOutbox returns up to limit outbox items whose NextAt is not after
// now: the longest due first (by NextAt, then in the order they were
// queued), so that a recipient whose publishes keep failing, postponed
// further each time, does not hold back the others. A limit of 0 or less
// means 100; at most 1000 are returned.
//
// When the store knows that nothing is due before a time after now
// (dueFrom), it returns none without reading.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]gateway.OutboxItem, error) {
	if limit <= 0 {
		limit = defaultOutboxLimit
	}
	limit = min(limit, maxOutboxLimit)
	items := []gateway.OutboxItem{}
	if ms(now) < s.dueFrom.Load() {
		if s.closed.Load() {
			return nil, fmt.Errorf("store: due outbox: %w", gateway.ErrClosed)
		}
		return items, nil
	}
	err := s.read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx,
			`SELECT `+outboxColumns+` FROM outbox WHERE next_at <= ? ORDER BY next_at, id LIMIT ?`,
			ms(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOutbox(rows)
			if err != nil {
				return err
			}
			items = append(items, o)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: due outbox: %w", err)
	}
	return items, nil
}

// MarkSent removes the items from the outbox after JetStream acknowledged
// their publish, in one transaction (one fsync for a whole batch). For an
// edoc the delivery becomes Sent with SentAt = at and gets a sent event.
// Items are found by their ID; an item already marked (published again
// after a crash) is skipped, and marked counts those that were not.
//
// Taking a status's item out with the next write transaction instead of
// in a commit of its own was tried (issue 17): it halved the recipient's
// commits per delivery (6 to 3) and slowed the simulated national day by
// 1 to 10 % (lienthong sim, alternate runs): group commit already shares
// these commits under load, MarkSent was 1 % of the day's CPU, and the
// items left in the outbox until then made DueOutbox read more.
func (s *Store) MarkSent(ctx context.Context, items []gateway.OutboxItem, at time.Time) (marked int, err error) {
	at = stamp(at)
	err = s.update(ctx, func(tx *sql.Tx) error {
		marked = 0
		if len(items) > 0 {
			if marked, err = s.markSent(ctx, tx, items, at); err != nil {
				return err
			}
		}
		return s.readEarliest(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("store: mark sent: %w", err)
	}
	return marked, nil
}

// markSentDeliveries is the statement that makes n deliveries, given as
// (document, recipient) pairs after the time (?1), sent if they are still
// queued, and returns those it made sent. Each is found by its key: the
// same pairs as a row value IN (VALUES …) had SQLite scan the table.
func markSentDeliveries(n int) string {
	const row = `(?, ?)`
	return `UPDATE deliveries SET transport = 'sent', sent_at = ?1, updated_at = ?1
		FROM (VALUES ` + row + strings.Repeat(`, `+row, n-1) + `) v
		WHERE deliveries.document = v.column1 AND deliveries.recipient = v.column2
			AND deliveries.transport = 'queued'
		RETURNING deliveries.document, deliveries.recipient`
}

// deliveryKey names a delivery.
type deliveryKey struct{ document, recipient string }

// markDeliveriesSent makes the deliveries sent at at if they are still
// queued, and returns those it made sent: one delivery by the simplest statement (the batch's, with its
// VALUES and RETURNING, cost a dispatch round of one edoc 10 % more), more
// by markSentDeliveries.
func markDeliveriesSent(ctx context.Context, tx *sql.Tx, keys []deliveryKey, at time.Time) (map[deliveryKey]bool, error) {
	sent := make(map[deliveryKey]bool, len(keys))
	if len(keys) == 1 {
		res, err := tx.ExecContext(ctx,
			`UPDATE deliveries SET transport = 'sent', sent_at = ?, updated_at = ?
			WHERE document = ? AND recipient = ? AND transport = 'queued'`,
			ms(at), ms(at), keys[0].document, keys[0].recipient)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		if n == 1 {
			sent[keys[0]] = true
		}
		return sent, nil
	}
	args := make([]any, 0, 1+2*len(keys))
	args = append(args, ms(at))
	for _, k := range keys {
		args = append(args, k.document, k.recipient)
	}
	rows, err := tx.QueryContext(ctx, markSentDeliveries(len(keys)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k deliveryKey
		if err := rows.Scan(&k.document, &k.recipient); err != nil {
			return nil, err
		}
		sent[k] = true
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return sent, rows.Err()
}

// markSent is MarkSent of a batch of items, each found by its ID; it
// returns how many it took out (the others are gone). Whatever the number
// of items, their removal, the edocs' deliveries and their sent events
// are a statement each (they were three per edoc); each item taken out
// has its row in the audit chain, in the items' order. An error (an item
// whose ID names another packet or recipient, an edoc without its
// delivery) undoes the whole batch with the rest of the update.
func (s *Store) markSent(ctx context.Context, tx *sql.Tx, items []gateway.OutboxItem, at time.Time) (int, error) {
	ids := make([]any, len(items))
	for i, item := range items {
		ids[i] = item.ID
	}
	// All the changes of a RETURNING statement are made at its first
	// step; the rows are read to the end before the next statement.
	rows, err := tx.QueryContext(ctx,
		`DELETE FROM outbox WHERE id `+in(len(items))+` RETURNING id, packet_id, kind, recipient, document, attempts`, ids...)
	if err != nil {
		return 0, err
	}
	removed := make(map[int64]gateway.OutboxItem, len(items))
	for rows.Next() {
		var (
			o    gateway.OutboxItem
			kind string
		)
		if err := rows.Scan(&o.ID, &o.PacketID, &kind, &o.Recipient, &o.Document, &o.Attempts); err != nil {
			rows.Close()
			return 0, err
		}
		o.Kind = gateway.PacketKind(kind)
		removed[o.ID] = o
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}

	// The items taken out, in the batch's order (an ID listed twice is
	// taken out once), and the deliveries of their edocs.
	var (
		taken []gateway.OutboxItem
		keys  []deliveryKey
	)
	for _, item := range items {
		o, ok := removed[item.ID]
		if !ok {
			continue
		}
		delete(removed, item.ID)
		if item.PacketID != "" && item.PacketID != o.PacketID || item.Recipient != "" && item.Recipient != o.Recipient {
			return 0, fmt.Errorf("outbox item %d: item %d is packet %s to %s, not %s", o.ID, o.ID, o.PacketID, o.Recipient, item.MsgID())
		}
		taken = append(taken, o)
		if o.Kind == gateway.KindEdoc && o.Document != "" {
			keys = append(keys, deliveryKey{o.Document, o.Recipient})
		}
	}
	var events []gateway.Event
	if len(keys) > 0 {
		// The deliveries become sent if they are still queued: one
		// statement, and one more for each that was not, only to tell a
		// missing delivery from a sent one.
		sent, err := markDeliveriesSent(ctx, tx, keys, at)
		if err != nil {
			return 0, err
		}
		for _, o := range taken {
			if o.Kind != gateway.KindEdoc || o.Document == "" {
				continue
			}
			if k := (deliveryKey{o.Document, o.Recipient}); sent[k] {
				delete(sent, k) // one sent event, for the first item of the delivery
				events = append(events, gateway.Event{
					Document:   o.Document,
					Recipient:  o.Recipient,
					Kind:       gateway.EventSent,
					PacketID:   o.PacketID,
					At:         at,
					RecordedAt: at,
				})
				continue
			}
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM deliveries WHERE document = ? AND recipient = ?`,
				o.Document, o.Recipient).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("outbox item %d: delivery of %s to %s: %w", o.ID, o.Document, o.Recipient, gateway.ErrNotFound)
			}
			if err != nil {
				return 0, fmt.Errorf("outbox item %d: %w", o.ID, err)
			}
		}
	}
	if len(events) > 0 {
		if err := insertEvents(ctx, tx, events...); err != nil {
			return 0, err
		}
	}
	for _, o := range taken {
		err := s.appendAudit(ctx, tx, actionSent, o.Document, map[string]any{
			"item": o.ID, "packet": o.PacketID, "kind": o.Kind, "recipient": o.Recipient, "attempts": o.Attempts,
		})
		if err != nil {
			return 0, fmt.Errorf("outbox item %d: %w", o.ID, err)
		}
	}
	return len(taken), nil
}

// Postpone records a failed publish of an outbox item: Attempts+1, NextAt
// = next, LastError = cause. A missing item is gateway.ErrNotFound.
func (s *Store) Postpone(ctx context.Context, itemID int64, next time.Time, cause string) error {
	next = stamp(next)
	err := s.update(ctx, func(tx *sql.Tx) error {
		var (
			document, packet, recipient string
			attempts                    int
		)
		err := tx.QueryRowContext(ctx,
			`UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?
			RETURNING document, packet_id, recipient, attempts`,
			ms(next), cause, itemID).Scan(&document, &packet, &recipient, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return gateway.ErrNotFound
		}
		if err != nil {
			return err
		}
		// The packet and recipient name the item for good: since
		// migration 0019 an item's id may be given again once it is sent.
		err = s.appendAudit(ctx, tx, actionPostpone, document, map[string]any{
			"item": itemID, "packet": packet, "recipient": recipient,
			"attempts": attempts, "nextAt": ms(next), "error": cause,
		})
		if err != nil {
			return err
		}
		return s.readEarliest(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("store: postpone outbox item %d: %w", itemID, err)
	}
	return nil
}
