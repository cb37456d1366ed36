package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lienthong/lienthong/gateway"
)

// Quarantine keeps a received packet that was not accepted, with the
// reason, and queues Reply (the status 02 to the sender) if it is not nil.
// The packet may be of either kind. The store sets the entry's ID and
// PacketID; ReceivedAt is kept to the millisecond (now if zero). A MsgID
// already quarantined changes nothing; an empty MsgID is never a
// duplicate.
func (s *Store) Quarantine(ctx context.Context, q gateway.Quarantine) error {
	err := s.updatePackets(ctx, packetsOf(q.Packet, q.Reply), func(tx *sql.Tx, writes fileWrites) error {
		e := q.Entry
		if e.Reason == "" {
			return errors.New("no reason")
		}
		if e.MsgID != "" {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM quarantine WHERE msg_id = ?`, e.MsgID).Scan(&id)
			switch {
			case err == nil:
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		at := stamp(e.ReceivedAt)
		packet, err := insertPacket(ctx, tx, q.Packet, "", at, writes)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx,
			`INSERT INTO quarantine (packet_id, subject, msg_id, sender, recipient, reason, reason_vi,
				reason_en, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			packet.ID, e.Subject, nullString(e.MsgID), e.Sender, e.Recipient, e.Reason, e.ReasonVI,
			e.ReasonEN, ms(at)).Scan(&e.ID)
		if err != nil {
			return err
		}
		detail := map[string]any{
			"entry": e.ID, "reason": e.Reason, "subject": e.Subject, "msgId": e.MsgID,
			"sender": e.Sender, "recipient": e.Recipient, "packet": packet.ID, "sha256": packet.SHA256,
		}
		if q.Reply != nil {
			reply, err := insertPacket(ctx, tx, q.Reply.Packet, gateway.KindStatus, at, writes)
			if err != nil {
				return err
			}
			if err := s.insertOutbox(ctx, tx, reply.ID, gateway.KindStatus, q.Reply.To, "", at); err != nil {
				return err
			}
			detail["reply"] = reply.ID
		}
		return s.appendAudit(ctx, tx, actionQuarantine, "", detail)
	})
	if err != nil {
		return fmt.Errorf("store: quarantine %s: %w", q.Entry.MsgID, err)
	}
	return nil
}

// QuarantineEntries lists quarantined packets, newest first. A limit of 0
// or less means 50; at most 500 are returned.
func (s *Store) QuarantineEntries(ctx context.Context, limit int) ([]gateway.QuarantineEntry, error) {
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	entries := []gateway.QuarantineEntry{}
	err := s.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`SELECT id, packet_id, subject, coalesce(msg_id, ''), sender, recipient, reason, reason_vi,
				reason_en, received_at
			FROM quarantine ORDER BY received_at DESC, id DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e  gateway.QuarantineEntry
				at int64
			)
			err := rows.Scan(&e.ID, &e.PacketID, &e.Subject, &e.MsgID, &e.Sender, &e.Recipient, &e.Reason,
				&e.ReasonVI, &e.ReasonEN, &at)
			if err != nil {
				return err
			}
			e.ReceivedAt = fromMS(at)
			entries = append(entries, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: quarantine entries: %w", err)
	}
	return entries, nil
}
