package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestStore_CheckPacketHashes: CheckWith PacketHashes reports, by packet
// id, a packet file altered by one byte (its size unchanged, which Check
// alone cannot see) and a packet whose bytes in its row were altered; it
// is satisfied with the packets of every kind of storage as written.
func TestStore_CheckPacketHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	large := newAccept(vpcp, "large", t0, hanoi)
	large.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	mustAccept(t, s, large)
	small := newAccept(vpcp, "small", t0, hanoi)
	mustAccept(t, s, small)
	other := newAccept(vpcp, "other", t0, hanoi)
	other.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	mustAccept(t, s, other)
	// A large packet in chunks, as an older lienthong stored it.
	chunked := newPacket(gateway.KindEdoc, t0, largeSize)
	sum := sha256.Sum256(chunked.Data)
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, 'edoc', ?, ?, x'', 0)`,
		chunked.ID, hex.EncodeToString(sum[:]), len(chunked.Data)); err != nil {
		t.Fatal(err)
	}
	for seq, off := 0, 0; off < len(chunked.Data); seq, off = seq+1, off+1<<20 {
		if _, err := db.Exec(`INSERT INTO packet_chunks (packet_id, seq, data) VALUES (?, ?, ?)`,
			chunked.ID, seq, chunked.Data[off:min(off+1<<20, len(chunked.Data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CheckWith(t.Context(), store.CheckOptions{PacketHashes: true}); err != nil {
		t.Fatalf("CheckWith before: %v", err)
	}

	file := filepath.Join(store.PacketDir(path), large.Packet.ID)
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{large.Packet.Data[largeSize/2] ^ 1}
	if _, err := f.WriteAt(b, largeSize/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE packets SET data = cast(? AS BLOB) WHERE id = ?`,
		strings.Replace(string(small.Packet.Data), "<", ">", 1), small.Packet.ID); err != nil {
		t.Fatal(err)
	}

	if err := s.Check(t.Context()); err != nil {
		t.Errorf("Check, which reads no bytes: %v", err)
	}
	err = s.CheckWith(t.Context(), store.CheckOptions{PacketHashes: true})
	if err == nil {
		t.Fatal("CheckWith PacketHashes found nothing")
	}
	got := err.Error()
	for _, id := range []string{large.Packet.ID, small.Packet.ID} {
		if !strings.Contains(got, "packet "+id+": its bytes have the SHA-256 ") {
			t.Errorf("CheckWith does not name %s:\n%s", id, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 2 || strings.Contains(got, other.Packet.ID) || strings.Contains(got, chunked.ID) {
		t.Errorf("CheckWith: %d problems, want 2:\n%s", n, got)
	}
}

// TestStore_Check_Dropped: a quarantined packet that the store drops
// between Check's snapshot and the check of its file (store check beside
// a running gateway) is no problem: its file is gone, as it should be.
func TestStore_Check_Dropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreWith(t, path, store.Options{QuarantineEntries: 2})
	var kept []gateway.Quarantine
	for i := range 3 {
		q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), false)
		q.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
		kept = append(kept, q)
	}
	for _, q := range kept[:2] {
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	err := store.CheckSnapshotted(t.Context(), s, store.CheckOptions{PacketHashes: true}, func() {
		// Drops the first, and removes its file.
		if err := s.Quarantine(t.Context(), kept[2]); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Errorf("Check with a packet dropped since its snapshot:\n%v", err)
	}
	if p, err := s.Packet(t.Context(), kept[0].Packet.ID); err != nil || p.Size != 0 {
		t.Fatalf("packet %s: %v, want dropped", kept[0].Packet.ID, err)
	}

	// A file missing of a packet still in its file is reported.
	file := filepath.Join(store.PacketDir(path), kept[1].Packet.ID)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	err = store.CheckSnapshotted(t.Context(), s, store.CheckOptions{}, func() {})
	if err == nil || !strings.Contains(err.Error(), "without its file") {
		t.Errorf("Check with a file missing: %v", err)
	}
	if err := os.WriteFile(file, kept[1].Packet.Data, 0o600); err != nil {
		t.Fatal(err)
	}
}
