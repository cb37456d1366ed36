package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// BenchmarkStore_QuarantineBound quarantines small packets into a
// quarantine already at its bound of entries, so that each one drops the
// oldest: what the bound costs a quarantine as the quarantine grows.
// Synchronous NORMAL, so that a commit's sync does not hide that cost.
func BenchmarkStore_QuarantineBound(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "lienthong.db")
			s, err := store.Open(b.Context(), path, store.Options{QuarantineEntries: n, Synchronous: store.SynchronousNormal})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// The quarantine filled in one transaction, as Quarantine
			// would have filled it.
			err = store.Update(s, b.Context(), func(tx *sql.Tx) error {
				for i := range n {
					p := newPacket(gateway.KindEdoc, t0, 1024)
					if _, err := tx.Exec(`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, 'edoc', ?, ?, ?, 0)`,
						p.ID, fmt.Sprintf("%064x", i), len(p.Data), p.Data); err != nil {
						return err
					}
					if _, err := tx.Exec(`INSERT INTO quarantine_packets (packet_id, sha256, size, kept_at) VALUES (?, ?, ?, ?)`,
						p.ID, fmt.Sprintf("%064x", i), len(p.Data), i); err != nil {
						return err
					}
					if _, err := tx.Exec(`INSERT INTO quarantine (packet_id, msg_id, reason, received_at) VALUES (?, ?, 'validation', ?)`,
						p.ID, fmt.Sprintf("fill-%d", i), i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			qs := make([]gateway.Quarantine, b.N)
			for i := range qs {
				qs[i] = newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Millisecond), false)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := s.Quarantine(b.Context(), qs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
