package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// inboxScan bounds how many source rows one query of a system's inbox
// looks at: a system that has been away catches up over several polls.
const inboxScan = 2000

// Inbox returns the items of q.System and q.Kind that are not done, for
// its agencies, oldest first, at most q.Limit. New packets its agencies
// received since its last query become items on the way (see
// [gateway.InboxQuery]).
func (s *Store) Inbox(ctx context.Context, q gateway.InboxQuery) ([]gateway.InboxItem, error) {
	if err := s.syncInbox(ctx, q); err != nil {
		return nil, fmt.Errorf("store: inbox of %s: %w", q.System, err)
	}
	if len(q.Agencies) == 0 {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 500
	}
	var out []gateway.InboxItem
	err := s.view(ctx, func(tx *sql.Tx) error {
		cond, args := inboxWhere(q)
		rows, err := tx.QueryContext(ctx, `SELECT `+inboxColumns+` FROM vxp_items WHERE `+cond+`
			ORDER BY state = 'fail', created_at, doc_id LIMIT ?`, append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scanInboxItem(rows)
			if err != nil {
				return err
			}
			out = append(out, *it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: inbox of %s: %w", q.System, err)
	}
	return out, nil
}

// inboxWhere is the condition of a system's items not done, with its
// arguments.
func inboxWhere(q gateway.InboxQuery) (string, []any) {
	cond := `system = ? AND kind = ? AND state <> 'done' AND agency ` + in(len(q.Agencies))
	args := append([]any{q.System, string(q.Kind)}, anys(q.Agencies)...)
	if !q.After.IsZero() {
		cond += ` AND created_at >= ?`
		args = append(args, ms(q.After))
	}
	if !q.Before.IsZero() {
		cond += ` AND created_at <= ?`
		args = append(args, ms(q.Before))
	}
	return cond, args
}

// CountInbox counts what Inbox would list, without its limit.
func (s *Store) CountInbox(ctx context.Context, q gateway.InboxQuery) (int, error) {
	if err := s.syncInbox(ctx, q); err != nil {
		return 0, fmt.Errorf("store: count the inbox of %s: %w", q.System, err)
	}
	if len(q.Agencies) == 0 {
		return 0, nil
	}
	var n int
	err := s.view(ctx, func(tx *sql.Tx) error {
		cond, args := inboxWhere(q)
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM vxp_items WHERE `+cond, args...).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count the inbox of %s: %w", q.System, err)
	}
	return n, nil
}

// InboxItem returns a system's item by its DocID; gateway.ErrNotFound
// if the system has none by that id (another system's is not found
// either).
func (s *Store) InboxItem(ctx context.Context, system, docID string) (*gateway.InboxItem, error) {
	var it *gateway.InboxItem
	err := s.view(ctx, func(tx *sql.Tx) error {
		var err error
		it, err = scanInboxItem(tx.QueryRowContext(ctx, `SELECT `+inboxColumns+` FROM vxp_items WHERE doc_id = ? AND system = ?`, docID, system))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: inbox item %s: %w", docID, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: inbox item %s: %w", docID, err)
	}
	return it, nil
}

// SetInboxState records what a system said of its item: done takes it off
// its list; gateway.ErrNotFound if the system has no such item.
func (s *Store) SetInboxState(ctx context.Context, system, docID string, state gateway.InboxState, description string) error {
	switch state {
	case gateway.InboxNew, gateway.InboxProcessing, gateway.InboxFailed, gateway.InboxDone:
	default:
		return fmt.Errorf("store: inbox item %s: unknown state %q", docID, state)
	}
	err := s.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE vxp_items SET state = ?, description = ?, updated_at = ? WHERE doc_id = ? AND system = ?`,
			string(state), description, ms(time.Now()), docID, system)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return gateway.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: inbox item %s: %w", docID, err)
	}
	return nil
}

const inboxColumns = `doc_id, system, kind, agency, document, event, packet_id, sender, state, description, created_at, updated_at`

func scanInboxItem(r interface{ Scan(...any) error }) (*gateway.InboxItem, error) {
	var (
		it                 gateway.InboxItem
		kind, state        string
		created, updatedAt int64
	)
	if err := r.Scan(&it.DocID, &it.System, &kind, &it.Agency, &it.Document, &it.Event, &it.PacketID, &it.Sender,
		&state, &it.Description, &created, &updatedAt); err != nil {
		return nil, err
	}
	it.Kind, it.State = gateway.PacketKind(kind), gateway.InboxState(state)
	it.Created, it.Updated = time.UnixMilli(created), time.UnixMilli(updatedAt)
	return &it, nil
}

// inboxSource is a packet an agency received, found by syncInbox.
type inboxSource struct {
	seq      int64 // events.seq
	document string
	event    int64
	agency   string
	packet   string
	sender   string
	created  int64
}

// inboxLag is how far the events may run ahead of a system's cursors
// before an idle poll moves them: below it a poll that found nothing
// writes nothing, at the cost of looking at those events again.
const inboxLag = 5000

// syncInbox makes items of the packets q's agencies received after their
// cursors, following the events (events.seq: a document received, a
// status received). It reads first and writes only when there is
// something new or the cursors lag far behind, so that idle systems' polls
// do not queue behind the gateway's writes. One scan from the lowest
// cursor serves every agency: events at or below an agency's own cursor
// were seen before and are skipped.
func (s *Store) syncInbox(ctx context.Context, q gateway.InboxQuery) error {
	if len(q.Agencies) == 0 {
		return nil
	}
	if q.Kind != gateway.KindEdoc && q.Kind != gateway.KindStatus {
		return fmt.Errorf("unknown kind %q", q.Kind)
	}
	var (
		found   []inboxSource
		from    = int64(-1)
		reached int64 // the seq every agency has been looked at up to
		cursors = map[string]int64{}
	)
	err := s.view(ctx, func(tx *sql.Tx) error {
		args := append([]any{q.System, string(q.Kind)}, anys(q.Agencies)...)
		rows, err := tx.QueryContext(ctx, `SELECT agency, after FROM vxp_cursors WHERE system = ? AND kind = ? AND agency `+
			in(len(q.Agencies)), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a string
			var after int64
			if err := rows.Scan(&a, &after); err != nil {
				rows.Close()
				return err
			}
			cursors[a] = after
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, a := range q.Agencies {
			if c := cursors[a]; from < 0 || c < from {
				from = c // an agency without a cursor starts at 0
			}
		}
		var query string
		if q.Kind == gateway.KindEdoc {
			query = `SELECT e.seq, d.id, 0, d.agency, d.packet_id, d.sender, d.created_at FROM events e
				JOIN documents d ON d.id = e.document
				WHERE e.kind = 'received' AND e.seq > ? AND d.direction = 'in' AND d.agency ` + in(len(q.Agencies)) + `
				ORDER BY e.seq LIMIT ?`
		} else {
			// Statuses another agency sent about a document of the
			// agency — its recipients' on an outgoing one, its sender's
			// recall on an incoming one — that the lifecycle applied (not
			// those it refused, which the DMS must not take for facts);
			// not the agency's own.
			query = `SELECT e.seq, e.document, e.seq, d.agency, e.packet_id, e.by_agency, e.recorded_at FROM events e
				JOIN documents d ON d.id = e.document
				WHERE e.kind = 'status' AND e.packet_id IS NOT NULL AND e.seq > ?
				AND e.by_agency <> d.agency AND d.agency ` + in(len(q.Agencies)) + `
				ORDER BY e.seq LIMIT ?`
		}
		args = append([]any{from}, anys(q.Agencies)...)
		args = append(args, inboxScan)
		rows, err = tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var src inboxSource
			if err := rows.Scan(&src.seq, &src.document, &src.event, &src.agency, &src.packet, &src.sender, &src.created); err != nil {
				return err
			}
			n++
			reached = src.seq
			if src.seq <= cursors[src.agency] || !q.Since.IsZero() && src.created < ms(q.Since) {
				continue
			}
			found = append(found, src)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n < inboxScan {
			// Every event after from was seen: the cursors may go to the
			// last event of this snapshot.
			return tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&reached)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(found) == 0 && reached-from < inboxLag {
		return nil
	}
	now := ms(time.Now())
	return s.update(ctx, func(tx *sql.Tx) error {
		for _, src := range found {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vxp_items (doc_id, system, kind, agency, document, event, packet_id, sender, state, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?) ON CONFLICT DO NOTHING`,
				newUUID(), q.System, string(q.Kind), src.agency, src.document, src.event, src.packet, src.sender, src.created, now); err != nil {
				return err
			}
		}
		for _, a := range q.Agencies {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vxp_cursors (system, kind, agency, after) VALUES (?, ?, ?, ?)
				ON CONFLICT (system, kind, agency) DO UPDATE SET after = max(after, excluded.after)`,
				q.System, string(q.Kind), a, reached); err != nil {
				return err
			}
		}
		return nil
	})
}

// newUUID returns a random (version 4) UUID in its usual text form.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var sb strings.Builder
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			sb.WriteByte('-')
		}
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0xf])
	}
	return sb.String()
}
