package store

import (
	"context"
	"database/sql"
	"fmt"

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
