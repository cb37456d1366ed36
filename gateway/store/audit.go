package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Audit actions: what a row of the audit chain records.
const (
	actionAccept        = "accept"         // an outgoing document was accepted
	actionReceive       = "receive"        // an incoming document was stored
	actionRevoked       = "revoked"        // a revocation named the document
	actionUpdated       = "updated"        // an update named the document
	actionReplaced      = "replaced"       // a replacement named the document
	actionSent          = "sent"           // an outbox item was published
	actionPostpone      = "postpone"       // an outbox item's publish failed
	actionQuarantine    = "quarantine"     // a received packet was quarantined
	actionStatus        = "status"         // a received status was applied
	actionStatusRefused = "status_refused" // a received status was refused
	actionEmit          = "emit_status"    // this gateway emitted a status
)

// genesisHash is the prev_hash of the first row of the chain.
var genesisHash = strings.Repeat("0", 2*sha256.Size)

// auditRow is one row of the audit chain.
type auditRow struct {
	Seq      int64
	At       int64 // unix milliseconds
	Action   string
	Document string
	Detail   string // JSON
	PrevHash string
	Hash     string
}

// hash returns the row's hash: SHA-256 over prev_hash, seq, at, action,
// document and detail, each written as its length (8 bytes, big-endian)
// and its bytes, so that no two rows encode alike; in hex.
func (r auditRow) hash() string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{
		r.PrevHash,
		strconv.FormatInt(r.Seq, 10),
		strconv.FormatInt(r.At, 10),
		r.Action,
		r.Document,
		r.Detail,
	} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// auditHead is the last row of the audit chain, which the next row links
// to; the zero value is not known, to be read from the database.
type auditHead struct {
	seq   int64
	hash  string
	known bool
}

// appendAudit adds a row to the audit chain in tx, an update's
// transaction. detail is encoded as JSON (maps with sorted keys). The row
// is linked to the last one, s.head: the updates run one at a time on the
// one writer connection, and commit forgets s.head when an update or a
// batch is rolled back, or when another connection wrote. When it is not
// known it is read in tx, which sees the last row alone since write
// transactions are serialized.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, action, document string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if !s.head.known {
		h := auditHead{known: true}
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&h.seq, &h.hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			h.seq, h.hash = 0, genesisHash
		case err != nil:
			return fmt.Errorf("audit %s: %w", action, err)
		}
		s.head = h
	}
	r := auditRow{
		Seq: s.head.seq + 1, At: ms(time.Now()), Action: action, Document: document, Detail: string(b),
		PrevHash: s.head.hash,
	}
	r.Hash = r.hash()
	_, err = tx.ExecContext(ctx,
		`INSERT INTO audit (seq, at, action, document, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, r.At, r.Action, r.Document, r.Detail, r.PrevHash, r.Hash)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	s.head = auditHead{seq: r.Seq, hash: r.Hash, known: true}
	return nil
}

// checkAudit verifies the whole chain: sequence numbers without gaps, each
// row linked to the previous one and its hash right.
func checkAudit(ctx context.Context, tx *sql.Tx) ([]error, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT seq, at, action, document, detail, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		problems []error
		prevSeq  int64
		prevHash = genesisHash
	)
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.Seq, &r.At, &r.Action, &r.Document, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, err
		}
		if r.Seq != prevSeq+1 {
			problems = append(problems, fmt.Errorf("audit row %d follows row %d: rows are missing", r.Seq, prevSeq))
		}
		if r.PrevHash != prevHash {
			problems = append(problems, fmt.Errorf("audit row %d: prev_hash %.12s… does not link to the previous row's hash %.12s…", r.Seq, r.PrevHash, prevHash))
		}
		if got := r.hash(); got != r.Hash {
			problems = append(problems, fmt.Errorf("audit row %d (%s %s): hash %.12s… does not match its fields (%.12s…): the row was altered", r.Seq, r.Action, r.Document, r.Hash, got))
		}
		prevSeq, prevHash = r.Seq, r.Hash
	}
	return problems, rows.Err()
}
