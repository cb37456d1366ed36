package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestStore_Backup backs up a store of small and large packets while
// documents, large and small, and quarantined packets go on being
// stored, then opens the copy: every packet its rows name reads back with
// its row's SHA-256, the copy holds exactly the files its rows name, and
// it is sound. A second backup to the same place is refused, and leaves
// the first as it was.
func TestStore_Backup(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStoreAt(t, filepath.Join(dir, "lienthong.db"))
	for i := range 4 {
		a := newAccept(vpcp, fmt.Sprintf("before-%d", i), t0, hanoi)
		if i%2 == 0 {
			a.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
		}
		mustAccept(t, s, a)
	}

	stop, started := make(chan struct{}), make(chan struct{})
	var (
		wg      sync.WaitGroup
		once    sync.Once
		written int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer once.Do(func() { close(started) })
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a := newAccept(vpcp, fmt.Sprintf("during-%d", i), t0, hanoi)
			if i%2 == 0 {
				a.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
			}
			if _, _, err := s.AcceptDocument(t.Context(), a); err != nil {
				t.Error(err)
				return
			}
			q := newQuarantine(fmt.Sprintf("during-%d", i), t0, true)
			q.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
			if err := s.Quarantine(t.Context(), q); err != nil {
				t.Error(err)
				return
			}
			if written++; written == 3 {
				once.Do(func() { close(started) })
			}
		}
	}()
	// Some of what is written meanwhile is in the snapshot, the rest not.
	<-started
	dest := filepath.Join(dir, "backup", "copy.db")
	if err := os.Mkdir(filepath.Dir(dest), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := s.Backup(t.Context(), dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup: %+v; %d documents and quarantined packets written meanwhile", st, written)

	if info, err := os.Stat(dest); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the copy: %v, mode %v", err, info.Mode())
	}
	db := rawDB(t, dest)
	rows, err := db.Query(`SELECT id, sha256, size FROM packets`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id, sha256 string
		size       int64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.sha256, &r.size); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	c := mustOpenStoreWith(t, dest, store.Options{}) // checked, packet hashes too, when the test ends
	var large []string
	for _, r := range all {
		p, err := c.Packet(t.Context(), r.id)
		if err != nil {
			t.Errorf("packet %s of the copy: %v", r.id, err)
			continue
		}
		sum := sha256.Sum256(p.Data)
		if hex.EncodeToString(sum[:]) != r.sha256 || int64(len(p.Data)) != r.size {
			t.Errorf("packet %s of the copy: %d bytes, not its row's", r.id, len(p.Data))
		}
		if r.size > 1<<20 {
			large = append(large, r.id)
		}
	}
	slices.Sort(large)
	if files := packetFiles(t, dest); !slices.Equal(files, large) || len(files) != st.Files || len(files) < 2 {
		t.Errorf("the copy's packet files: %d, want its %d large packets (%d copied)", len(files), len(large), st.Files)
	}

	if _, err := s.Backup(t.Context(), dest); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a backup over another: %v, want an error", err)
	}
	if _, err := os.Stat(dest); err != nil {
		t.Errorf("the first backup after a second was refused: %v", err)
	}
}

// TestStore_Backup_Dropped: a quarantined packet that the live store
// drops between the snapshot and the copy of its file is dropped from
// the copy too, which is sound; the packets kept are copied.
func TestStore_Backup_Dropped(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStoreWith(t, filepath.Join(dir, "lienthong.db"), store.Options{QuarantineEntries: 2})
	var kept []gateway.Quarantine
	for i := range 3 {
		q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), true)
		q.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
		kept = append(kept, q)
	}
	for _, q := range kept[:2] {
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	dest := filepath.Join(dir, "copy.db")
	st, err := store.BackupSnapshotted(s, t.Context(), dest, func() {
		// Drops the first.
		if err := s.Quarantine(t.Context(), kept[2]); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Dropped, []string{kept[0].Packet.ID}) || st.Files != 1 {
		t.Errorf("backup: %+v, want %s dropped and one file copied", st, kept[0].Packet.ID)
	}
	c := mustOpenStoreWith(t, dest, store.Options{})
	entries, err := c.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].MsgID != "m1" {
		t.Errorf("the copy's quarantine: %+v, want m1", entries)
	}
	mustPacket(t, c, kept[1].Packet)
}
