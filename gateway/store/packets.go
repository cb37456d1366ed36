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
func insertPacket(ctx context.Context, tx *sql.Tx, p gateway.NewPacket, want gateway.PacketKind, at time.Time) (gateway.Packet, error) {
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
	sum := sha256.Sum256(p.Data)
	stored := gateway.Packet{ID: p.ID, Kind: p.Kind, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(p.Data))}
	inline := p.Data
	if len(p.Data) > chunkSize {
		inline = []byte{}
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		stored.ID, string(stored.Kind), stored.SHA256, stored.Size, inline, ms(at))
	if err != nil {
		return gateway.Packet{}, fmt.Errorf("packet %s: %w", p.ID, err)
	}
	if len(p.Data) > chunkSize {
		for seq, off := 0, 0; off < len(p.Data); seq, off = seq+1, off+chunkSize {
			chunk := p.Data[off:min(off+chunkSize, len(p.Data))]
			if _, err := tx.ExecContext(ctx, `INSERT INTO packet_chunks (packet_id, seq, data) VALUES (?, ?, ?)`, p.ID, seq, chunk); err != nil {
				return gateway.Packet{}, fmt.Errorf("packet %s: chunk %d: %w", p.ID, seq, err)
			}
		}
	}
	return stored, nil
}

// chunkSize is the size of the pieces of a large packet (packet_chunks).
const chunkSize = 1 << 20

// Packet returns a stored packet with its bytes; gateway.ErrNotFound if
// there is none.
//
// It reads outside a transaction: a packet and its chunks are written in
// one transaction and never changed, so the chunks read by a second
// statement are those of the row read by the first.
func (s *Store) Packet(ctx context.Context, id string) (*gateway.Packet, error) {
	var p gateway.Packet
	err := s.read(ctx, func(db *sql.DB) error {
		var kind string
		err := db.QueryRowContext(ctx,
			`SELECT id, kind, sha256, size, data FROM packets WHERE id = ?`, id).
			Scan(&p.ID, &kind, &p.SHA256, &p.Size, &p.Data)
		p.Kind = gateway.PacketKind(kind)
		if err != nil || int64(len(p.Data)) == p.Size {
			return err
		}
		return readChunks(ctx, db, &p)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: packet %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: packet %s: %w", id, err)
	}
	return &p, nil
}

// readChunks reads a large packet's bytes from packet_chunks into one
// buffer of its size.
func readChunks(ctx context.Context, q queryer, p *gateway.Packet) error {
	rows, err := q.QueryContext(ctx, `SELECT data FROM packet_chunks WHERE packet_id = ? ORDER BY seq`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	data := make([]byte, 0, p.Size)
	for rows.Next() {
		var chunk sql.RawBytes
		if err := rows.Scan(&chunk); err != nil {
			return err
		}
		data = append(data, chunk...)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if int64(len(data)) != p.Size {
		return fmt.Errorf("packet %s has %d bytes in its chunks, not %d", p.ID, len(data), p.Size)
	}
	p.Data = data
	return nil
}
