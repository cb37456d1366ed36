package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/lienthong/lienthong/gateway"
)

// ErrKeptDropped exposes errKeptDropped.
var ErrKeptDropped = errKeptDropped

// QuarantineAsKept is Quarantine told that q's packet was found kept: as
// when it is dropped between Quarantine's look-up and its transaction.
func QuarantineAsKept(ctx context.Context, s *Store, q gateway.Quarantine) error {
	h := sha256.Sum256(q.Packet.Data)
	_, err := s.quarantine(ctx, q, hex.EncodeToString(h[:]), true)
	return err
}

// QuarantineLookedUp is Quarantine, calling lookedUp between its look-up
// of a large packet kept and its transaction.
func QuarantineLookedUp(ctx context.Context, s *Store, q gateway.Quarantine, lookedUp func()) error {
	return s.quarantineLookedUp(ctx, q, lookedUp)
}
