package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// insertEvent appends an event; msgID is the Nats-Msg-Id of a received
// status ("" otherwise), unique across events.
func insertEvent(ctx context.Context, tx *sql.Tx, e gateway.Event, msgID string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO events (document, recipient, kind, status_code, by_agency, description, staff,
			refusal, packet_id, msg_id, at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Document, e.Recipient, string(e.Kind), string(e.StatusCode), e.By, e.Description, e.Staff,
		e.Refusal, nullString(e.PacketID), nullString(msgID), ms(e.At), ms(e.RecordedAt))
	if err != nil {
		return fmt.Errorf("event %s of %s to %s: %w", e.Kind, e.Document, e.Recipient, err)
	}
	return nil
}

// insertEvents appends events in one statement, in their order, as
// insertEvent does each; their msg_id is NULL. A document received with
// its 01 has two events, which took a statement each.
func insertEvents(ctx context.Context, tx *sql.Tx, events ...gateway.Event) error {
	if len(events) == 1 {
		return insertEvent(ctx, tx, events[0], "")
	}
	const row = `(?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`
	args := make([]any, 0, 11*len(events))
	for _, e := range events {
		args = append(args, e.Document, e.Recipient, string(e.Kind), string(e.StatusCode), e.By, e.Description,
			e.Staff, e.Refusal, nullString(e.PacketID), ms(e.At), ms(e.RecordedAt))
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO events (document, recipient, kind, status_code, by_agency, description, staff,
			refusal, packet_id, msg_id, at, recorded_at)
		VALUES `+row+strings.Repeat(`, `+row, len(events)-1), args...)
	if err != nil {
		return fmt.Errorf("%d events of %s: %w", len(events), events[0].Document, err)
	}
	return nil
}

// eventColumns are the columns scanEvent reads.
const eventColumns = `seq, document, recipient, kind, status_code, by_agency, description, staff,
	refusal, coalesce(packet_id, ''), at, recorded_at`

// scanEvent reads the eventColumns of a row.
func scanEvent(row scanner) (gateway.Event, error) {
	var (
		e              gateway.Event
		kind, code     string
		at, recordedAt int64
	)
	err := row.Scan(&e.Seq, &e.Document, &e.Recipient, &kind, &code, &e.By, &e.Description, &e.Staff,
		&e.Refusal, &e.PacketID, &at, &recordedAt)
	if err != nil {
		return e, err
	}
	e.Kind = gateway.EventKind(kind)
	e.StatusCode = envelope.StatusCode(code)
	e.At, e.RecordedAt = fromMS(at), fromMS(recordedAt)
	return e, nil
}

// eventsOf returns the events of a document, oldest first.
func eventsOf(ctx context.Context, tx *sql.Tx, document string) ([]gateway.Event, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT `+eventColumns+` FROM events WHERE document = ? ORDER BY seq`, document)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	events := []gateway.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, rows.Err()
}
