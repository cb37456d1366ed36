package store_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// largeSize is the size of the tests' large packets: above 1 MiB, and
// not a whole number of MiB.
const largeSize = 3<<20 + 12345

// packetFiles lists the directory of the packet files of the database at
// path.
func packetFiles(tb testing.TB, path string) []string {
	tb.Helper()
	entries, err := os.ReadDir(store.PacketDir(path))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// mustPacket reads a packet back and compares it with what was stored.
func mustPacket(tb testing.TB, s *store.Store, want gateway.NewPacket) {
	tb.Helper()
	p, err := s.Packet(tb.Context(), want.ID)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(want.Data)
	if !bytes.Equal(p.Data, want.Data) || p.Size != int64(len(want.Data)) || p.SHA256 != hex.EncodeToString(sum[:]) {
		tb.Errorf("packet %s of %d bytes read back as %d bytes (size %d, SHA-256 %s)", want.ID, len(want.Data), len(p.Data), p.Size, p.SHA256)
	}
}

// TestPacketFiles_RoundTrip: a packet above 1 MiB, accepted or received,
// is a file of its own (0600, in a 0700 directory named after the
// database) and no chunk, its row without bytes; it comes back byte for
// byte with the SHA-256 of its bytes; Check is satisfied (when the test
// ends). A duplicate leaves no file behind.
func TestPacketFiles_RoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	a := newAccept(vpcp, "large-out", t0, hanoi)
	a.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	mustAccept(t, s, a)
	r := newReceive(vpcp, hanoi, "large-in", t0)
	r.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	mustReceive(t, s, r)
	for _, p := range []gateway.NewPacket{a.Packet, r.Packet} {
		mustPacket(t, s, p)
	}

	dup := newAccept(vpcp, "large-out", t0, hanoi)
	dup.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if _, _, err := s.AcceptDocument(t.Context(), dup); !errors.As(err, new(*gateway.DuplicateError)) {
		t.Errorf("the same document again: %v, want a DuplicateError", err)
	}
	again := newReceive(vpcp, hanoi, "large-in", t0)
	again.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	// A document received again writes no file: its file's name is
	// taken here by a directory, which a write would fail on.
	blocker := filepath.Join(store.PacketDir(path), again.Packet.ID)
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, dup, err := s.ReceiveDocument(t.Context(), again); err != nil || !dup {
		t.Errorf("the same document received again: duplicate %t, %v", dup, err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}

	want := []string{a.Packet.ID, r.Packet.ID}
	slices.Sort(want)
	if got := packetFiles(t, path); !slices.Equal(got, want) {
		t.Errorf("packet files %q, want %q", got, want)
	}
	for _, id := range want {
		info, err := os.Stat(filepath.Join(store.PacketDir(path), id))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("packet file %s: mode %v, want 0600", id, info.Mode().Perm())
		}
	}
	if info, err := os.Stat(store.PacketDir(path)); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("packet directory: %v, %v; want mode 0700", info, err)
	}
	db := rawDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM packet_chunks`); n != 0 {
		t.Errorf("%d chunks, want none", n)
	}
	if n := count(t, db, `SELECT count(*) FROM packets WHERE length(data) = 0 AND size > 1048576`); n != 2 {
		t.Errorf("%d rows of large packets without their bytes, want 2", n)
	}
}

// TestPacketFiles_Crash: a file written whose row was never committed (a
// crash between the two) is removed when the store is opened again, but
// not by a store opened beside the one that has it open, whose packets
// may be on their way to their rows.
func TestPacketFiles_Crash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := newAccept(vpcp, "kept", t0, hanoi)
	kept.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	mustAccept(t, s, kept)
	lost := newPacket(gateway.KindEdoc, t0, largeSize)
	if err := store.WritePacketFile(s, lost); err != nil {
		t.Fatal(err)
	}
	if got := packetFiles(t, path); len(got) != 2 {
		t.Fatalf("packet files %q, want 2", got)
	}

	beside, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := beside.Close(); err != nil {
		t.Fatal(err)
	}
	if got := packetFiles(t, path); len(got) != 2 {
		t.Errorf("after a store opened beside: packet files %q, want both", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A file younger than orphanGrace may be a packet being stored by a
	// gateway that did not get the lock (a store check held it when the
	// gateway started): even the store holding the lock keeps it.
	young, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := young.Close(); err != nil {
		t.Fatal(err)
	}
	if got := packetFiles(t, path); len(got) != 2 {
		t.Errorf("after a new Open, the crash's file a second old: packet files %q, want both", got)
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(filepath.Join(store.PacketDir(path), lost.ID), old, old); err != nil {
		t.Fatal(err)
	}

	s = mustOpenStoreAt(t, path)
	if got := packetFiles(t, path); !slices.Equal(got, []string{kept.Packet.ID}) {
		t.Errorf("after a new Open, the crash's file two minutes old: packet files %q, want only %s", got, kept.Packet.ID)
	}
	mustPacket(t, s, kept.Packet)
}

// TestPacketFiles_FailedTransaction: a packet whose transaction fails
// after its row was inserted leaves no file.
func TestPacketFiles_FailedTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	a := newAccept(vpcp, "twice", t0, hanoi, hanoi) // refused after the packet's row
	a.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if _, _, err := s.AcceptDocument(t.Context(), a); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a recipient twice: %v, want an error", err)
	}
	if got := packetFiles(t, path); len(got) != 0 {
		t.Errorf("packet files %q, want none", got)
	}
	if _, err := s.Packet(t.Context(), a.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Packet: %v, want ErrNotFound", err)
	}
}

// TestPacketFiles_Check: Check finds a packet file missing, truncated or
// replaced, a file without a row once it is older than a minute (a
// younger one may be a packet whose row is being committed), and what is
// not a packet file at all.
func TestPacketFiles_Check(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var (
		ids  []string
		size int
	)
	for i := range 3 {
		a := newAccept(vpcp, fmt.Sprintf("large-%d", i), t0, hanoi)
		a.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
		mustAccept(t, s, a)
		ids, size = append(ids, a.Packet.ID), len(a.Packet.Data)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check before: %v", err)
	}
	dir := store.PacketDir(path)
	if err := os.Remove(filepath.Join(dir, ids[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, ids[1]), largeSize); err != nil {
		t.Fatal(err)
	}
	young, old := newPacket(gateway.KindEdoc, t0, largeSize), newPacket(gateway.KindEdoc, t0, largeSize)
	for _, p := range []gateway.NewPacket{young, old} {
		if err := store.WritePacketFile(s, p); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(filepath.Join(dir, old.ID), long, long); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	err = s.Check(t.Context())
	if err == nil {
		t.Fatal("Check found nothing")
	}
	got := err.Error()
	for _, want := range []string{
		"packet " + ids[0] + " without its file",
		fmt.Sprintf("packet %s: its file has %d bytes, not %d", ids[1], largeSize, size),
		"packet file without packet: " + old.ID,
		"notes.txt in " + dir + " is not a packet file",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Check does not say %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 4 || strings.Contains(got, young.ID) || strings.Contains(got, ids[2]) {
		t.Errorf("Check: %d problems, want 4, not %s nor %s:\n%s", n, young.ID, ids[2], got)
	}
	if _, err := s.Packet(t.Context(), ids[1]); err == nil || !strings.Contains(err.Error(), "its file has") {
		t.Errorf("Packet of a truncated file: %v, want an error", err)
	}
}

// TestPacketFiles_Chunks: a large packet stored in packet_chunks (by an
// older lienthong) is still read from its chunks, and Check is satisfied.
func TestPacketFiles_Chunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	p := newPacket(gateway.KindEdoc, t0, largeSize)
	sum := sha256.Sum256(p.Data)
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, 'edoc', ?, ?, x'', 0)`,
		p.ID, hex.EncodeToString(sum[:]), len(p.Data)); err != nil {
		t.Fatal(err)
	}
	for seq, off := 0, 0; off < len(p.Data); seq, off = seq+1, off+1<<20 {
		if _, err := db.Exec(`INSERT INTO packet_chunks (packet_id, seq, data) VALUES (?, ?, ?)`,
			p.ID, seq, p.Data[off:min(off+1<<20, len(p.Data))]); err != nil {
			t.Fatal(err)
		}
	}
	mustPacket(t, s, p)
	if got := packetFiles(t, path); len(got) != 0 {
		t.Errorf("packet files %q, want none", got)
	}
}

// TestPacketFiles_Quarantine: a large packet quarantined is a file, like
// any other; a quarantine entry already kept leaves no file behind.
func TestPacketFiles_Quarantine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	q := newQuarantine("m1", t0, true)
	q.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if err := s.Quarantine(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	again := newQuarantine("m1", t0, true)
	again.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if err := s.Quarantine(t.Context(), again); err != nil {
		t.Fatal(err)
	}
	mustPacket(t, s, q.Packet)
	if got := packetFiles(t, path); !slices.Equal(got, []string{q.Packet.ID}) {
		t.Errorf("packet files %q, want only %s", got, q.Packet.ID)
	}
}

// TestPacketFiles_RemovedBeforeCommit: a packet whose file is removed
// between its write and its transaction (by a store opened meanwhile,
// which took the file for one without a row) fails, rather than commit a
// row without its bytes.
func TestPacketFiles_RemovedBeforeCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	a := newAccept(vpcp, "removed", t0, hanoi)
	a.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	file := filepath.Join(store.PacketDir(path), a.Packet.ID)

	// The writer is held until the file is written and removed.
	held, release := make(chan struct{}), make(chan struct{})
	go store.Update(s, t.Context(), func(tx *sql.Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	accepted := make(chan error, 1)
	go func() {
		_, _, err := s.AcceptDocument(t.Context(), a)
		accepted <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(file); err == nil || time.Now().After(deadline) {
			break
		}
	}
	for store.Pending(s) == 0 {
		time.Sleep(time.Millisecond) // the file is synced and the update queued
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-accepted; err == nil || !strings.Contains(err.Error(), "its file") {
		t.Errorf("AcceptDocument with its file removed: %v, want an error", err)
	}
	if _, err := s.Packet(t.Context(), a.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Packet: %v, want ErrNotFound", err)
	}
}

// TestPacketFiles_Statuses: a status above 1 MiB, which lienthong never
// makes but a peer may send, is a file too, whichever way it is stored:
// applied, emitted, or as the reply to a document received or a packet
// quarantined.
func TestPacketFiles_Statuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	large := func(at time.Time) gateway.NewPacket { return newPacket(gateway.KindStatus, at, largeSize) }
	var want []gateway.NewPacket

	mustAccept(t, s, newAccept(vpcp, "out", t0, hanoi))
	applied := newStatus(vpcp, hanoi, "out", envelope.StatusArrived, t0.Add(time.Minute))
	applied.Packet = large(t0)
	if _, err := s.ApplyStatus(t.Context(), applied); err != nil {
		t.Fatal(err)
	}
	want = append(want, applied.Packet)

	r := newReceive(vpcp, hanoi, "in", t0)
	r.Reply.Packet = large(t0)
	in := mustReceive(t, s, r)
	want = append(want, r.Reply.Packet)

	emitted := gateway.EmitStatus{
		Document: in.ID, Recipients: []string{vpcp}, Party: envelope.PartyRecipient,
		Reply:  gateway.Reply{Packet: large(t0), Code: envelope.StatusAccepted, By: vpcp, At: t0.Add(time.Minute)},
		SendTo: []string{hanoi}, At: t0.Add(time.Minute),
	}
	if err := s.EmitStatus(t.Context(), emitted); err != nil {
		t.Fatal(err)
	}
	want = append(want, emitted.Reply.Packet)

	q := newQuarantine("m1", t0, true)
	q.Reply.Packet = large(t0)
	if err := s.Quarantine(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	want = append(want, q.Reply.Packet)

	var ids []string
	for _, p := range want {
		mustPacket(t, s, p)
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	if got := packetFiles(t, path); !slices.Equal(got, ids) {
		t.Errorf("packet files %q, want %q", got, ids)
	}
}
