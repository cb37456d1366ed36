package store

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// TestPacketFiles_CommitUnknown: a packet whose transaction recorded it
// keeps its file when the commit's outcome is unknown (commitError: a
// failed COMMIT may still be found committed by the next start's
// recovery), and loses it when the transaction is known not to be made.
func TestPacketFiles_CommitUnknown(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "lienthong.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		err  error
		kept bool
	}{
		{"commit failed", &commitError{errors.New("fsync: input/output error")}, true},
		{"transaction failed", errors.New("a statement failed"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := make([]byte, chunkSize+1)
			p := gateway.NewPacket{ID: gateway.NewID(at), Kind: gateway.KindEdoc, Data: data}
			err := s.updatePackets(ctx, []gateway.NewPacket{p}, func(tx *sql.Tx, writes fileWrites) error {
				if _, err := writes.recorded(p); err != nil {
					return err
				}
				return c.err
			})
			if !errors.Is(err, c.err) {
				t.Fatalf("updatePackets: %v, want %v", err, c.err)
			}
			_, statErr := os.Stat(filepath.Join(packetDir(s.path), p.ID))
			if kept := statErr == nil; kept != c.kept {
				t.Errorf("file kept %v (%v), want %v", kept, statErr, c.kept)
			}
		})
	}
}
