package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// insertPacket stores p, computing its SHA-256 and size, and returns the
// stored packet without its bytes. want is the kind p must be, and then p
// must have bytes; want "" (quarantine) takes either kind, and no bytes
// when none could be fetched: what was received is kept as it came.
//
// A packet above chunkSize must be in writes, its file written by
// updatePackets before the transaction: its row records the SHA-256 of
// that write, and no bytes (see packetfiles.go).
func insertPacket(ctx context.Context, tx *sql.Tx, p gateway.NewPacket, want gateway.PacketKind, at time.Time, writes fileWrites) (gateway.Packet, error) {
	if !gateway.ValidID(p.ID) {
		return gateway.Packet{}, fmt.Errorf("packet id %q is not an id made by gateway.NewID", p.ID)
	}
	if p.Kind != gateway.KindEdoc && p.Kind != gateway.KindStatus || want != "" && p.Kind != want {
		return gateway.Packet{}, fmt.Errorf("packet %s is a %q packet, want %q", p.ID, p.Kind, want)
	}
	if len(p.Data) == 0 && want != "" {
		return gateway.Packet{}, fmt.Errorf("packet %s is empty", p.ID)
	}
	if p.Data == nil {
		p.Data = []byte{} // a zero-length blob, not NULL
	}
	stored := gateway.Packet{ID: p.ID, Kind: p.Kind, Size: int64(len(p.Data))}
	inline := p.Data
	if len(p.Data) > chunkSize {
		w, err := writes.recorded(p)
		if err != nil {
			return gateway.Packet{}, err
		}
		stored.SHA256, inline = w.sha256, []byte{}
	} else {
		sum := sha256.Sum256(p.Data)
		stored.SHA256 = hex.EncodeToString(sum[:])
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		stored.ID, string(stored.Kind), stored.SHA256, stored.Size, inline, ms(at))
	if err != nil {
		return gateway.Packet{}, fmt.Errorf("packet %s: %w", p.ID, err)
	}
	return stored, nil
}

// chunkSize is the size above which a packet is kept in a file of its own
// (packetfiles.go); a store made before keeps such packets in pieces of
// this size in packet_chunks.
const chunkSize = 1 << 20

// Packet returns a stored packet with its bytes; gateway.ErrNotFound if
// there is none, or if it was a quarantined packet dropped from the
// quarantine while it was read.
//
// It reads outside a transaction: a packet's chunks or its file are
// written before its row is committed and not changed while the row names
// them, so the chunks read by a second statement, or the file, are those
// of the row read by the first. Only a quarantined packet dropped from the
// quarantine (quarantine.go) loses them: its row is emptied, its chunks
// deleted and its file removed once that is committed. A read that finds
// them gone reads the row again, and reports such a packet not found.
func (s *Store) Packet(ctx context.Context, id string) (*gateway.Packet, error) {
	return s.packet(ctx, id, nil)
}

// packet is Packet; rowRead, if not nil, is called once the row is read
// and before its chunks or its file are (for the tests).
func (s *Store) packet(ctx context.Context, id string, rowRead func()) (*gateway.Packet, error) {
	var (
		p          gateway.Packet
		fileToRead bool
	)
	err := s.read(ctx, func(db *sql.DB) error {
		var kind string
		err := db.QueryRowContext(ctx,
			`SELECT id, kind, sha256, size, data FROM packets WHERE id = ?`, id).
			Scan(&p.ID, &kind, &p.SHA256, &p.Size, &p.Data)
		p.Kind = gateway.PacketKind(kind)
		if err != nil || int64(len(p.Data)) == p.Size {
			return err
		}
		if rowRead != nil {
			rowRead()
		}
		found, err := readChunks(ctx, db, &p)
		if err != nil || found {
			return err
		}
		if len(p.Data) != 0 || p.Size <= chunkSize {
			return fmt.Errorf("packet %s has %d bytes, not %d, and no chunks", p.ID, len(p.Data), p.Size)
		}
		fileToRead = true // see inFile
		return nil
	})
	if err == nil && fileToRead {
		// Outside the read: the file needs no connection, nor does the
		// return of the heap's free pages before its buffer is made.
		err = s.files.read(&p)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: packet %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		if p.ID != "" && p.SHA256 != emptySHA256 && s.droppedSince(ctx, id) {
			return nil, fmt.Errorf("store: packet %s: dropped from the quarantine while it was read: %w", id, gateway.ErrNotFound)
		}
		return nil, fmt.Errorf("store: packet %s: %w", id, err)
	}
	return &p, nil
}

// droppedSince reads the row of the packet id again, after a read of its
// bytes failed: whether it is now that of a packet dropped from the
// quarantine, without bytes.
func (s *Store) droppedSince(ctx context.Context, id string) bool {
	var dropped bool
	err := s.read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT size = 0 AND sha256 = ? FROM packets WHERE id = ?`, emptySHA256, id).
			Scan(&dropped)
	})
	return err == nil && dropped
}

// readChunks reads a large packet's bytes from packet_chunks into one
// buffer of its size, if it has chunks.
func readChunks(ctx context.Context, q queryer, p *gateway.Packet) (found bool, err error) {
	rows, err := q.QueryContext(ctx, `SELECT data FROM packet_chunks WHERE packet_id = ? ORDER BY seq`, p.ID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var data []byte
	for rows.Next() {
		var chunk sql.RawBytes
		if err := rows.Scan(&chunk); err != nil {
			return false, err
		}
		if data == nil {
			data = make([]byte, 0, p.Size)
		}
		data = append(data, chunk...)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if data == nil {
		return false, nil
	}
	if int64(len(data)) != p.Size {
		return false, fmt.Errorf("packet %s has %d bytes in its chunks, not %d", p.ID, len(data), p.Size)
	}
	p.Data = data
	return true, nil
}
