package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// insertDelivery creates a delivery with its lifecycle and d.Note (the
// description of the status it is inserted with, if any); arrivedAt, if
// not nil, is when its lifecycle took 01 (an incoming delivery). Its
// document must be stored: the delivery's copy of what the report reads
// of it (created_at, agency, report_document: migration 0014) is read from
// its row by the same statement.
func insertDelivery(ctx context.Context, tx *sql.Tx, d gateway.Delivery, arrivedAt *time.Time) error {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO deliveries (document, recipient, recipient_name, transport, state, before_recall,
			seen, sent_at, updated_at, arrived_at, note, created_at, agency, report_document)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, documents.created_at, documents.agency, `+reportDocument+`
		FROM documents WHERE documents.id = ?1`,
		d.Document, d.Recipient, d.RecipientName, string(d.Transport),
		d.Lifecycle.State.String(), d.Lifecycle.BeforeRecall.String(), d.Lifecycle.Seen.String(),
		nullMS(d.SentAt), ms(d.UpdatedAt), nullMS(arrivedAt), d.Note)
	if err != nil {
		return fmt.Errorf("delivery of %s to %s: %w", d.Document, d.Recipient, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("delivery of %s to %s: %d rows inserted (%v): no such document", d.Document, d.Recipient, n, err)
	}
	return nil
}

// insertDeliveries creates deliveries of one stored document, in their
// order, as insertDelivery does each (none with a milestone), in one
// statement: a document accepted for sixty agencies took sixty.
func insertDeliveries(ctx context.Context, tx *sql.Tx, ds []gateway.Delivery) error {
	if len(ds) == 1 {
		return insertDelivery(ctx, tx, ds[0], nil)
	}
	// Each row: its place, then the columns insertDelivery binds.
	const row = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := make([]any, 0, 11*len(ds))
	for i, d := range ds {
		args = append(args, i, d.Document, d.Recipient, d.RecipientName, string(d.Transport),
			d.Lifecycle.State.String(), d.Lifecycle.BeforeRecall.String(), d.Lifecycle.Seen.String(),
			nullMS(d.SentAt), ms(d.UpdatedAt), d.Note)
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO deliveries (document, recipient, recipient_name, transport, state, before_recall,
			seen, sent_at, updated_at, note, created_at, agency, report_document)
		SELECT v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9,
			v.column10, v.column11, documents.created_at, documents.agency, `+reportDocument+`
		FROM (VALUES `+row+strings.Repeat(`, `+row, len(ds)-1)+`) v
		JOIN documents ON documents.id = v.column2
		ORDER BY v.column1`, args...)
	if err != nil {
		return fmt.Errorf("%d deliveries of %s: %w", len(ds), ds[0].Document, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(ds)) {
		return fmt.Errorf("%d deliveries of %s: %d rows inserted (%v): no such document", len(ds), ds[0].Document, n, err)
	}
	return nil
}

// deliveryNote is the Note of a row of deliveries as its events give it:
// the description of the delivery's latest applied status, the last of the
// delivery's status entries in the events_delivery index; empty if none.
// The row keeps it in note (migration 0014), written with the lifecycle,
// which Check compares with this.
const deliveryNote = `COALESCE((SELECT e.description FROM events e
		WHERE e.document = deliveries.document AND e.recipient = deliveries.recipient AND e.kind = 'status'
		ORDER BY e.seq DESC LIMIT 1), '')`

// deliveryColumns are the columns scanDelivery reads, from deliveries:
// the last one is the Note, read from the row's note rather than from
// the events (deliveryNote): a look-up less in events_delivery for each
// delivery read (a document's, a list's).
const deliveryColumns = `document, recipient, recipient_name, transport, state, before_recall, seen,
	sent_at, updated_at, note`

// scanDelivery reads the deliveryColumns of a row.
func scanDelivery(row scanner) (gateway.Delivery, error) {
	var (
		d                         gateway.Delivery
		transport                 string
		state, beforeRecall, seen string
		sentAt                    sql.NullInt64
		updatedAt                 int64
	)
	err := row.Scan(&d.Document, &d.Recipient, &d.RecipientName, &transport, &state, &beforeRecall,
		&seen, &sentAt, &updatedAt, &d.Note)
	if err != nil {
		return d, err
	}
	d.Lifecycle, err = parseLifecycle(state, beforeRecall, seen)
	if err != nil {
		return d, fmt.Errorf("delivery of %s to %s: %w", d.Document, d.Recipient, err)
	}
	d.Transport = gateway.Transport(transport)
	d.State = d.Lifecycle.State
	d.SentAt = fromNullMS(sentAt)
	d.UpdatedAt = fromMS(updatedAt)
	return d, nil
}

// parseLifecycle reads a lifecycle as deliveries store it.
func parseLifecycle(state, beforeRecall, seen string) (envelope.Lifecycle, error) {
	var (
		l   envelope.Lifecycle
		err error
	)
	if l.State, err = envelope.ParseState(state); err != nil {
		return l, err
	}
	if l.BeforeRecall, err = envelope.ParseState(beforeRecall); err != nil {
		return l, err
	}
	if err = l.Seen.UnmarshalText([]byte(seen)); err != nil {
		return l, err
	}
	return l, nil
}

// delivery returns one delivery; gateway.ErrNotFound if there is none.
func delivery(ctx context.Context, tx *sql.Tx, document, recipient string) (gateway.Delivery, error) {
	d, err := scanDelivery(tx.QueryRowContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE document = ? AND recipient = ?`,
		document, recipient))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("delivery of %s to %s: %w", document, recipient, gateway.ErrNotFound)
	}
	return d, err
}

// deliveriesOf returns the deliveries of documents, each document's in
// the order they were created.
func deliveriesOf(ctx context.Context, tx *sql.Tx, documents ...string) (map[string][]gateway.Delivery, error) {
	out := make(map[string][]gateway.Delivery, len(documents))
	if len(documents) == 0 {
		return out, nil
	}
	args := make([]any, len(documents))
	for i, id := range documents {
		args[i] = id
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries
		WHERE document IN (?`+strings.Repeat(", ?", len(documents)-1)+`)
		ORDER BY document, rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out[d.Document] = append(out[d.Document], d)
	}
	return out, rows.Err()
}

// milestoneColumns are the deliveries' columns that keep when the
// lifecycle first took a code.
var milestoneColumns = map[envelope.StatusCode]string{
	envelope.StatusArrived:  "arrived_at",
	envelope.StatusAccepted: "accepted_at",
	envelope.StatusDone:     "done_at",
}

// setLifecycle writes a delivery's new lifecycle, l, after it took the
// status code, emitted at statusAt, at time at, with the status's
// description as its note (migration 0014: the description of its last
// applied status, which the report reads). The milestone of code (01, 03,
// 06), if it has one, is set to statusAt unless it is set already.
func setLifecycle(ctx context.Context, tx *sql.Tx, document, recipient string, l envelope.Lifecycle,
	code envelope.StatusCode, description string, statusAt, at time.Time) error {
	query := `UPDATE deliveries SET state = ?, before_recall = ?, seen = ?, updated_at = ?, note = ?`
	args := []any{l.State.String(), l.BeforeRecall.String(), l.Seen.String(), ms(at), description}
	if col, ok := milestoneColumns[code]; ok {
		query += `, ` + col + ` = coalesce(` + col + `, ?)`
		args = append(args, ms(statusAt))
	}
	_, err := tx.ExecContext(ctx, query+` WHERE document = ? AND recipient = ?`, append(args, document, recipient)...)
	if err != nil {
		return fmt.Errorf("delivery of %s to %s: %w", document, recipient, err)
	}
	return nil
}

// refusal is the Refusal of an EventStatusRefused: Vietnamese, then
// English.
func refusal(te *envelope.TransitionError) string {
	return te.MessageVI() + " / " + te.Error()
}

// statusTarget reads, in one statement, what ApplyStatus needs of the
// document a status is about and of its delivery to one recipient: the
// document's id and creation, the delivery's lifecycle (NULL: no such
// delivery) and whether the delivery has a status event, applied or
// refused, with a packet of the given SHA-256. Only the events of the
// status's own code are looked at: the same bytes are the same status,
// of the same code, and so a packet is read only for a status seen twice
// (a delivery's 01, 03 and 06 are each one event of its own code). The
// delivery's events are found by kind, applied and refused, the only
// kinds with a status code, in events_delivery (document, recipient,
// kind): through an index of the document's events every event of the
// document was read, and a circular's statuses each read those of all
// its deliveries (BenchmarkStore_ApplyStatus/…/circular, 60 recipients:
// 4.01 times the floor, 3.14 by the delivery; issue 17). And whether an
// event has the status's MsgID: a status received before, whatever it
// said, which ApplyStatus then reads (recordedStatus); a look-up of its
// own was a statement more for every status. Its arguments are the status
// code (?1), the SHA-256 (?2), the recipient (?3), the MsgID (?4; NULL
// for none), then those of the document's condition: statusTargetOut's
// (agency, DocumentId) or statusTargetIn's (agency, sender, DocumentId).
const statusTarget = `SELECT d.id, d.created_at, v.state, v.before_recall, v.seen,
	EXISTS (SELECT 1 FROM events e JOIN packets p ON p.id = e.packet_id
		WHERE e.document = d.id AND e.recipient = v.recipient AND e.kind = 'status'
			AND e.status_code = ?1 AND p.sha256 = ?2)
	OR EXISTS (SELECT 1 FROM events e JOIN packets p ON p.id = e.packet_id
		WHERE e.document = d.id AND e.recipient = v.recipient AND e.kind = 'status_refused'
			AND e.status_code = ?1 AND p.sha256 = ?2),
	EXISTS (SELECT 1 FROM events e WHERE e.msg_id = ?4)
	FROM documents d LEFT JOIN deliveries v ON v.document = d.id AND v.recipient = ?3`

// The statusTarget of an outgoing and of an incoming document.
const (
	statusTargetOut = statusTarget + ` WHERE d.direction = 'out' AND d.agency = ?5 AND d.document_id = ?6`
	statusTargetIn  = statusTarget + ` WHERE d.direction = 'in' AND d.agency = ?5 AND d.sender = ?6 AND d.document_id = ?7`
)

// recordedStatus returns ApplyStatus's answer to a status whose MsgID an
// event has: a duplicate, with that event's delivery and its state; false
// if no event has it.
func recordedStatus(ctx context.Context, tx *sql.Tx, msgID string) (gateway.StatusResult, bool, error) {
	var document, recipient string
	err := tx.QueryRowContext(ctx, `SELECT document, recipient FROM events WHERE msg_id = ?`, msgID).
		Scan(&document, &recipient)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.StatusResult{}, false, nil
	}
	if err != nil {
		return gateway.StatusResult{}, false, err
	}
	d, err := delivery(ctx, tx, document, recipient)
	if err != nil {
		return gateway.StatusResult{}, false, err
	}
	return gateway.StatusResult{Document: document, Recipient: recipient, Duplicate: true, State: d.Lifecycle.State}, true, nil
}

// ApplyStatus records a status packet received from another gateway; see
// gateway.Store. A status from the sender (13) concerns the incoming
// document (Agency, From, DocumentID); any other code the delivery to From
// of the outgoing document (Agency, DocumentID). Applied or refused, the
// status is kept with its packet and MsgID; a MsgID seen before returns
// Duplicate and the delivery's current state. No such document or
// delivery: gateway.ErrNotFound, and nothing is stored.
func (s *Store) ApplyStatus(ctx context.Context, a gateway.ApplyStatus) (gateway.StatusResult, error) {
	var res gateway.StatusResult
	err := s.updatePackets(ctx, []gateway.NewPacket{a.Packet}, func(tx *sql.Tx, writes fileWrites) error {
		res = gateway.StatusResult{}
		party := a.Code.SentBy()
		recipient, query, args := a.From, statusTargetOut, []any{a.Agency, a.DocumentID}
		if party == envelope.PartySender {
			recipient, query, args = a.Agency, statusTargetIn, []any{a.Agency, a.From, a.DocumentID}
		}
		sum := sha256.Sum256(a.Packet.Data)
		var (
			document                  string
			created                   int64
			state, beforeRecall, seen sql.NullString
			replayed, recorded        bool
		)
		err := tx.QueryRowContext(ctx, query, append([]any{string(a.Code), hex.EncodeToString(sum[:]), recipient, nullString(a.MsgID)}, args...)...).
			Scan(&document, &created, &state, &beforeRecall, &seen, &replayed, &recorded)
		noDocument := errors.Is(err, sql.ErrNoRows)
		if err != nil && !noDocument {
			return err
		}
		// A status received before under the same MsgID is a duplicate,
		// whatever it names: looked for even when there is no such
		// document, as it was before the document was.
		if recorded || noDocument && a.MsgID != "" {
			r, ok, err := recordedStatus(ctx, tx, a.MsgID)
			if err != nil {
				return err
			}
			if ok {
				res = r
				return nil
			}
		}
		if noDocument {
			return fmt.Errorf("document %s of %s: %w", a.DocumentID, a.Agency, gateway.ErrNotFound)
		}
		if !state.Valid {
			return fmt.Errorf("delivery of %s to %s: %w", document, recipient, gateway.ErrNotFound)
		}
		lifecycle, err := parseLifecycle(state.String, beforeRecall.String, seen.String)
		if err != nil {
			return fmt.Errorf("delivery of %s to %s: %w", document, recipient, err)
		}
		if replayed {
			res = gateway.StatusResult{Document: document, Recipient: recipient, Duplicate: true, State: lifecycle.State}
			return nil
		}

		recordedAt := stamp(a.RecordedAt)
		packet, err := insertPacket(ctx, tx, a.Packet, gateway.KindStatus, recordedAt, writes)
		if err != nil {
			return err
		}
		ev := gateway.Event{
			Document:    document,
			Recipient:   recipient,
			Kind:        gateway.EventStatus,
			StatusCode:  a.Code,
			By:          a.From,
			Description: a.Description,
			Staff:       a.Staff,
			PacketID:    packet.ID,
			At:          stamp(a.At),
			RecordedAt:  recordedAt,
		}
		next, err := lifecycle.Apply(a.Code, party)
		action := actionStatus
		if err != nil {
			var te *envelope.TransitionError
			if !errors.As(err, &te) {
				return err
			}
			ev.Kind, ev.Refusal = gateway.EventStatusRefused, refusal(te)
			res.Refused = te
			action = actionStatusRefused
		} else if err := setLifecycle(ctx, tx, document, recipient, next, a.Code, ev.Description, ev.At, recordedAt); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, ev, a.MsgID); err != nil {
			return err
		}
		res.Document, res.Recipient, res.State, res.Created = document, recipient, next.State, fromMS(created)
		detail := map[string]any{
			"recipient": recipient, "code": a.Code, "by": a.From, "msgId": a.MsgID,
			"packet": packet.ID, "sha256": packet.SHA256, "from": lifecycle.State, "to": next.State,
		}
		if res.Refused != nil {
			detail["refusal"] = res.Refused.Error()
		}
		return s.appendAudit(ctx, tx, action, document, detail)
	})
	if err != nil {
		return gateway.StatusResult{}, fmt.Errorf("store: apply status %s from %s about %s: %w", a.Code, a.From, a.DocumentID, err)
	}
	return res, nil
}

// lifecyclesQuery is the statement of lifecyclesOf with n recipients:
// their codes, then the document's id.
func lifecyclesQuery(n int) string {
	return `SELECT d.direction, v.recipient, v.state, v.before_recall, v.seen
		FROM documents d LEFT JOIN deliveries v ON v.document = d.id AND v.recipient ` + in(n) + `
		WHERE d.id = ?`
}

// lifecyclesOf returns a document's direction and the lifecycles of its
// deliveries to recipients, by recipient (none for a recipient it has no
// delivery to), in one statement; gateway.ErrNotFound if there is no such
// document.
func lifecyclesOf(ctx context.Context, tx *sql.Tx, document string, recipients []string) (gateway.Direction, map[string]envelope.Lifecycle, error) {
	rows, err := tx.QueryContext(ctx, lifecyclesQuery(len(recipients)), append(anys(recipients), document)...)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	var (
		direction  string
		lifecycles = make(map[string]envelope.Lifecycle, len(recipients))
		found      bool
	)
	for rows.Next() {
		var recipient, state, beforeRecall, seen sql.NullString
		if err := rows.Scan(&direction, &recipient, &state, &beforeRecall, &seen); err != nil {
			return "", nil, err
		}
		found = true
		if !recipient.Valid {
			continue // the document has none of the deliveries
		}
		l, err := parseLifecycle(state.String, beforeRecall.String, seen.String)
		if err != nil {
			return "", nil, fmt.Errorf("delivery of %s to %s: %w", document, recipient.String, err)
		}
		lifecycles[recipient.String] = l
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	if !found {
		return "", nil, fmt.Errorf("document %s: %w", document, gateway.ErrNotFound)
	}
	return gateway.Direction(direction), lifecycles, nil
}

// EmitStatus records a status this gateway sends about one of its
// documents; see gateway.Store. Party must be the document's side:
// PartySender for an outgoing document, PartyRecipient for an incoming
// one. If the lifecycle of any delivery in Recipients refuses the status,
// nothing is stored and the error wraps the *envelope.TransitionError.
// Reply.Packet is stored and queued to every agency in SendTo; Reply.To is
// not used.
func (s *Store) EmitStatus(ctx context.Context, e gateway.EmitStatus) error {
	err := s.updatePackets(ctx, []gateway.NewPacket{e.Reply.Packet}, func(tx *sql.Tx, writes fileWrites) error {
		if len(e.Recipients) == 0 {
			return errors.New("no recipient")
		}
		if len(e.SendTo) == 0 {
			return errors.New("nobody to send it to")
		}
		direction, lifecycles, err := lifecyclesOf(ctx, tx, e.Document, e.Recipients)
		if err != nil {
			return err
		}
		want := envelope.PartyRecipient
		if direction == gateway.Outgoing {
			want = envelope.PartySender
		}
		if e.Party != want {
			return fmt.Errorf("the %s cannot emit a status about an %q document", e.Party, direction)
		}

		code := e.Reply.Code
		next := make([]envelope.Lifecycle, len(e.Recipients))
		seen := make(map[string]bool, len(e.Recipients))
		for i, r := range e.Recipients {
			if seen[r] {
				return fmt.Errorf("recipient %s twice", r)
			}
			seen[r] = true
			l, ok := lifecycles[r]
			if !ok {
				return fmt.Errorf("delivery of %s to %s: %w", e.Document, r, gateway.ErrNotFound)
			}
			if next[i], err = l.Apply(code, e.Party); err != nil {
				return err
			}
		}

		at, statusAt := stamp(e.At), stamp(e.Reply.At)
		packet, err := insertPacket(ctx, tx, e.Reply.Packet, gateway.KindStatus, at, writes)
		if err != nil {
			return err
		}
		// Each delivery's lifecycle, then the events of all of them and
		// the outbox items to all of SendTo, a statement each.
		events := make([]gateway.Event, len(e.Recipients))
		for i, r := range e.Recipients {
			if err := setLifecycle(ctx, tx, e.Document, r, next[i], code, e.Reply.Description, statusAt, at); err != nil {
				return err
			}
			events[i] = gateway.Event{
				Document:    e.Document,
				Recipient:   r,
				Kind:        gateway.EventStatus,
				StatusCode:  code,
				By:          e.Reply.By,
				Description: e.Reply.Description,
				Staff:       e.Reply.Staff,
				PacketID:    packet.ID,
				At:          statusAt,
				RecordedAt:  at,
			}
		}
		if err := insertEvents(ctx, tx, events...); err != nil {
			return err
		}
		if err := s.insertOutboxes(ctx, tx, packet.ID, gateway.KindStatus, e.SendTo, e.Document, at); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actionEmit, e.Document, map[string]any{
			"code": code, "by": e.Reply.By, "recipients": e.Recipients, "sendTo": e.SendTo,
			"packet": packet.ID, "sha256": packet.SHA256,
		})
	})
	if err != nil {
		return fmt.Errorf("store: emit status %s about %s: %w", e.Reply.Code, e.Document, err)
	}
	return nil
}
