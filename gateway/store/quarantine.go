package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// actionQuarantineDrop is the audit action of a packet dropped from the
// quarantine, with its entries, to keep it within its bounds.
const actionQuarantineDrop = "quarantine_drop"

// emptySHA256 is the SHA-256 of no bytes: that of a dropped packet's row.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Quarantine keeps a received packet that was not accepted, with the
// reason, and queues Reply (the status 02 to the sender) if it is not nil.
// The packet may be of either kind. The store sets the entry's ID and
// PacketID; ReceivedAt is kept to the millisecond (now if zero). A MsgID
// already quarantined changes nothing, and queues no reply again; an
// empty MsgID is never a duplicate.
//
// A packet is kept once however many messages bring it: one whose bytes
// (SHA-256) and kind are those of a packet in quarantine is not stored
// again, its entry (with its own reason and reply) names the packet kept;
// a large one is hashed first, and not written to a file at all when it
// is kept already (hashing 96 MiB took 0.1-0.3 s of CPU here, outside the
// writer's turn; writing and syncing them, only to remove them again, is
// what a peer repeating it would otherwise cost the disk each time).
// The quarantine is bounded (Options.QuarantineBytes and
// QuarantineEntries), in the same transaction: past the bound of entries,
// the oldest entries are dropped one by one, a packet with its last
// entry; past the bound of bytes, the packets whose latest entry is the
// oldest are dropped with all their entries (see boundQuarantine). Each
// drop is logged, audited (quarantine_drop) and counted
// (StoreStats.QuarantineDropped). The entry just made, and its packet,
// are never dropped, even if that packet alone is beyond the bound of
// bytes. A dropped packet's row stays, without bytes (its size 0, its
// SHA-256 that of no bytes), since removing it would look for references
// in every table that has some; its file is removed once the transaction
// is committed (or by the next Open, should the process stop before).
// Nothing but the quarantine refers to a quarantined packet, and only
// quarantined packets are dropped.
func (s *Store) Quarantine(ctx context.Context, q gateway.Quarantine) error {
	return s.quarantineLookedUp(ctx, q, nil)
}

// quarantineLookedUp is Quarantine; lookedUp, if not nil, is called
// between the look-up of a large packet kept and the transaction (for the
// tests).
func (s *Store) quarantineLookedUp(ctx context.Context, q gateway.Quarantine, lookedUp func()) error {
	// The SHA-256 of the packet, computed before the writer's turn (that
	// of a packet in a file is then its write's, the same).
	h := sha256.Sum256(q.Packet.Data)
	sum := hex.EncodeToString(h[:])
	// A large packet already kept is not written again: a peer sending
	// the same one again and again under new ids would otherwise have
	// its bytes written and synced each time, only to be removed.
	var kept bool
	if len(q.Packet.Data) > chunkSize {
		err := s.read(ctx, func(db *sql.DB) error {
			_, found, err := keptPacket(ctx, db, sum, q.Packet.Kind)
			kept = found
			return err
		})
		if err != nil {
			kept = false // the transaction looks again
		}
	}
	if lookedUp != nil {
		lookedUp()
	}
	dropped, err := s.quarantine(ctx, q, sum, kept)
	if errors.Is(err, errKeptDropped) {
		// Dropped from the quarantine since it was looked up: it is
		// written and kept again.
		dropped, err = s.quarantine(ctx, q, sum, false)
	}
	if err != nil {
		return fmt.Errorf("store: quarantine %s: %w", q.Entry.MsgID, err)
	}
	s.removeDropped(dropped)
	return nil
}

// errKeptDropped is quarantine's error when the packet it was told is
// kept, and did not write, is no longer.
var errKeptDropped = errors.New("the packet kept was dropped meanwhile")

// quarantine is Quarantine, the packet's SHA-256 sum given; kept says a
// packet with its bytes was found in quarantine, and a large one is then
// not written to its file (errKeptDropped if it is no longer there).
func (s *Store) quarantine(ctx context.Context, q gateway.Quarantine, sum string, kept bool) ([]quarantineDrop, error) {
	packets := packetsOf(q.Packet, q.Reply)
	if kept && len(q.Packet.Data) > chunkSize {
		packets = packets[1:]
	} else {
		kept = false
	}
	var dropped []quarantineDrop
	err := s.updatePackets(ctx, packets, func(tx *sql.Tx, writes fileWrites) error {
		dropped = nil
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
		packet, repeat, err := keptPacket(ctx, tx, sum, q.Packet.Kind)
		if err != nil {
			return err
		}
		if kept && !repeat {
			return errKeptDropped
		}
		if repeat {
			// kept_at is the reception of the packet's latest entry: the
			// bound of bytes drops the packet received least recently.
			_, err = tx.ExecContext(ctx,
				`UPDATE quarantine_packets SET kept_at = max(kept_at, ?) WHERE packet_id = ?`, ms(at), packet.ID)
			if err != nil {
				return err
			}
		} else {
			packet, err = insertPacket(ctx, tx, q.Packet, "", at, writes)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx,
				`INSERT INTO quarantine_packets (packet_id, sha256, size, kept_at) VALUES (?, ?, ?, ?)`,
				packet.ID, packet.SHA256, packet.Size, ms(at))
			if err != nil {
				return err
			}
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
		if repeat {
			detail["repeat"] = true
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
		if err := s.appendAudit(ctx, tx, actionQuarantine, "", detail); err != nil {
			return err
		}
		dropped, err = s.boundQuarantine(ctx, tx, packet.ID, e.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dropped, nil
}

// keptPacket looks for a packet in quarantine with the SHA-256 sum and of
// the kind.
func keptPacket(ctx context.Context, q queryer, sum string, kind gateway.PacketKind) (gateway.Packet, bool, error) {
	p := gateway.Packet{SHA256: sum, Kind: kind}
	err := q.QueryRowContext(ctx,
		`SELECT k.packet_id, k.size FROM quarantine_packets k JOIN packets p ON p.id = k.packet_id
		WHERE k.sha256 = ? AND p.kind = ? LIMIT 1`, sum, string(kind)).Scan(&p.ID, &p.Size)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return gateway.Packet{}, false, nil
	case err != nil:
		return gateway.Packet{}, false, fmt.Errorf("quarantined packet of SHA-256 %s: %w", sum, err)
	}
	return p, true, nil
}

// droppedPacket is a packet dropped from the quarantine.
type droppedPacket struct {
	id, sha256 string
	size       int64
	entries    int64
	// keptAt is the reception of its latest entry (quarantine_packets).
	keptAt int64
	// inFile: its bytes were in its packet file, to be removed once the
	// drop is committed.
	inFile bool
}

// quarantineDrop is what boundQuarantine dropped at a time: an entry, the
// oldest, past the bound of entries (and its packet with it if it was
// the packet's last); or a packet with all its entries, past the bound
// of bytes.
type quarantineDrop struct {
	// entry is the entry dropped alone, with its message id, packet and
	// reception; 0 for a packet dropped whole.
	entry      int64
	msgID      string
	packetID   string
	receivedAt int64
	// packet is the packet dropped, if one was (its id then set).
	packet droppedPacket
}

// boundQuarantine brings the quarantine within its bounds: past the bound
// of bytes, it drops the packets whose latest entry is the oldest, each
// with its entries; then, past the bound of entries, the oldest entries
// one by one, each packet with its last entry. It never drops keepEntry,
// the entry just made, nor keepPacket, its packet: that packet alone may
// be beyond the bound of bytes.
//
// The entries are bounded one by one, not by packet: a packet quarantined
// again and again under new message ids (or the one empty packet that
// every entry without bytes names, "unreadable" or "not hosted") would
// otherwise gather entries without bound, never dropped since it is the
// packet of the entry just made. And by their age, not their packet's: a
// packet repeated all the time would otherwise go first, with entries
// seconds old.
//
// It reads the quarantine's entries and bytes from quarantine_totals,
// which triggers keep.
func (s *Store) boundQuarantine(ctx context.Context, tx *sql.Tx, keepPacket string, keepEntry int64) ([]quarantineDrop, error) {
	var (
		entries int64
		bytes   int64
	)
	err := tx.QueryRowContext(ctx, `SELECT entries, bytes FROM quarantine_totals WHERE id = 1`).Scan(&entries, &bytes)
	if err != nil {
		return nil, fmt.Errorf("quarantine's size: %w", err)
	}
	var drops []quarantineDrop
	for bytes > s.quarantineBytes {
		var d droppedPacket
		err := tx.QueryRowContext(ctx,
			`SELECT k.packet_id, k.sha256, k.size, k.kept_at, `+inFile+`
			FROM quarantine_packets k JOIN packets p ON p.id = k.packet_id
			WHERE k.packet_id <> ? AND k.size > 0 ORDER BY k.kept_at, k.packet_id LIMIT 1`, keepPacket).
			Scan(&d.id, &d.sha256, &d.size, &d.keptAt, &d.inFile)
		if errors.Is(err, sql.ErrNoRows) {
			break // only keepPacket has bytes: it stays, beyond the bound
		}
		if err != nil {
			return nil, fmt.Errorf("quarantined packet received least recently: %w", err)
		}
		if d.entries, err = s.dropQuarantined(ctx, tx, d, ""); err != nil {
			return nil, err
		}
		entries -= d.entries
		bytes -= d.size
		drops = append(drops, quarantineDrop{packetID: d.id, packet: d})
	}
	for entries > int64(s.quarantineEntries) {
		d := quarantineDrop{}
		err := tx.QueryRowContext(ctx,
			`SELECT id, packet_id, coalesce(msg_id, ''), received_at FROM quarantine
			WHERE id <> ? ORDER BY received_at, id LIMIT 1`, keepEntry).
			Scan(&d.entry, &d.packetID, &d.msgID, &d.receivedAt)
		if errors.Is(err, sql.ErrNoRows) {
			break // only keepEntry is left
		}
		if err != nil {
			return nil, fmt.Errorf("oldest quarantine entry: %w", err)
		}
		if err := s.dropEntry(ctx, tx, &d); err != nil {
			return nil, err
		}
		entries--
		bytes -= d.packet.size
		drops = append(drops, d)
	}
	return drops, nil
}

// dropEntry drops the quarantine entry d.entry and, if it was the last
// entry of its packet, the packet (d.packet is then set); it audits it.
func (s *Store) dropEntry(ctx context.Context, tx *sql.Tx, d *quarantineDrop) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE id = ?`, d.entry); err != nil {
		return fmt.Errorf("drop quarantine entry %d: %w", d.entry, err)
	}
	detail := map[string]any{"entry": d.entry, "msgId": d.msgID, "packet": d.packetID,
		"receivedAt": fromMS(d.receivedAt), "entries": 1}
	var last bool
	err := tx.QueryRowContext(ctx,
		`SELECT NOT EXISTS (SELECT 1 FROM quarantine WHERE packet_id = ?)`, d.packetID).Scan(&last)
	if err != nil {
		return fmt.Errorf("drop quarantine entry %d: %w", d.entry, err)
	}
	if last {
		p := droppedPacket{id: d.packetID}
		err := tx.QueryRowContext(ctx,
			`SELECT k.sha256, k.size, k.kept_at, `+inFile+`
			FROM quarantine_packets k JOIN packets p ON p.id = k.packet_id WHERE k.packet_id = ?`, d.packetID).
			Scan(&p.sha256, &p.size, &p.keptAt, &p.inFile)
		if err != nil {
			return fmt.Errorf("drop quarantine entry %d: its packet %s: %w", d.entry, d.packetID, err)
		}
		if err := dropPacketRow(ctx, tx, p.id); err != nil {
			return err
		}
		d.packet = p
		detail["sha256"], detail["size"], detail["packetDropped"] = p.sha256, p.size, true
	}
	return s.appendAudit(ctx, tx, actionQuarantineDrop, "", detail)
}

// dropQuarantined drops the packet d from the quarantine, with its
// entries, and audits it (why, if not empty, is said in the audit row): it
// returns the number of entries dropped. The packet's row stays without
// bytes; its file, if it has one, is the caller's to remove once the
// transaction is committed.
func (s *Store) dropQuarantined(ctx context.Context, tx *sql.Tx, d droppedPacket, why string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE packet_id = ?`, d.id)
	if err != nil {
		return 0, fmt.Errorf("drop packet %s: %w", d.id, err)
	}
	entries, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("drop packet %s: %w", d.id, err)
	}
	if err := dropPacketRow(ctx, tx, d.id); err != nil {
		return 0, err
	}
	detail := map[string]any{"packet": d.id, "sha256": d.sha256, "size": d.size, "entries": entries,
		"lastReceivedAt": fromMS(d.keptAt), "packetDropped": true}
	if why != "" {
		detail["why"] = why
	}
	if err := s.appendAudit(ctx, tx, actionQuarantineDrop, "", detail); err != nil {
		return 0, err
	}
	return entries, nil
}

// dropPacketRow takes the quarantined packet id, whose entries are gone,
// out of the quarantine: its row stays without bytes (see Quarantine).
func dropPacketRow(ctx context.Context, tx *sql.Tx, id string) error {
	for _, stmt := range []string{
		`DELETE FROM quarantine_packets WHERE packet_id = ?`,
		`DELETE FROM packet_chunks WHERE packet_id = ?`,
		`UPDATE packets SET data = x'', size = 0, sha256 = '` + emptySHA256 + `' WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, stmt, id); err != nil {
			return fmt.Errorf("drop packet %s: %w", id, err)
		}
	}
	return nil
}

// removeDropped removes the files of the packets a committed Quarantine
// dropped, and logs and counts what it dropped. A file it cannot remove,
// no row naming it any more, is removed by the next Open.
func (s *Store) removeDropped(drops []quarantineDrop) {
	for _, d := range drops {
		p := d.packet
		var fields []zap.Field
		msg := "quarantine full: dropped the packet received least recently, with its entries"
		if d.entry != 0 {
			s.quarantineDropped.Add(1)
			msg = "quarantine full: dropped its oldest entry"
			fields = append(fields, zap.Int64("entry", d.entry), zap.String("msgId", d.msgID),
				zap.String("packet", d.packetID), zap.Time("receivedAt", fromMS(d.receivedAt)))
			if p.id != "" {
				msg += ", and its packet, which had no other"
			}
		} else {
			s.quarantineDropped.Add(p.entries)
			fields = append(fields, zap.String("packet", p.id), zap.Int64("entries", p.entries),
				zap.Time("lastReceivedAt", fromMS(p.keptAt)))
		}
		if p.id != "" {
			fields = append(fields, zap.String("sha256", p.sha256), zap.Int64("size", p.size))
		}
		fields = append(fields, zap.Int64("maxBytes", s.quarantineBytes), zap.Int("maxEntries", s.quarantineEntries))
		if p.id != "" && p.inFile {
			path, err := s.files.path(p.id)
			if err == nil {
				err = os.Remove(path)
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				fields = append(fields, zap.NamedError("removeFile", err))
			}
		}
		s.log.Warn(msg, fields...)
	}
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
