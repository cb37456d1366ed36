package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

func newQuarantine(msgID string, at time.Time, reply bool) gateway.Quarantine {
	q := gateway.Quarantine{
		Packet: newPacket(gateway.KindEdoc, at, 1024),
		Entry: gateway.QuarantineEntry{
			Subject:    "lt.edoc.G22",
			MsgID:      msgID,
			Sender:     hanoi,
			Recipient:  vpcp,
			Reason:     "signature:invalid",
			ReasonVI:   "Chữ ký số không hợp lệ",
			ReasonEN:   "invalid signature",
			ReceivedAt: at,
		},
	}
	if reply {
		q.Reply = &gateway.Reply{
			Packet: newPacket(gateway.KindStatus, at, 512),
			To:     hanoi,
			Code:   envelope.StatusRejected,
			By:     vpcp,
			At:     at,
		}
	}
	return q
}

func TestStore_Quarantine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	q1 := newQuarantine("m1", t0, true)
	q2 := newQuarantine("m2", t0.Add(time.Minute), false)
	for _, q := range []gateway.Quarantine{q1, q2} {
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].MsgID != "m2" || entries[1].MsgID != "m1" {
		t.Fatalf("entries: got %+v, want m2 then m1", entries)
	}
	e := entries[1]
	want := q1.Entry
	want.ID, want.PacketID = e.ID, q1.Packet.ID
	if e != want || e.ID == 0 {
		t.Errorf("entry:\n got %+v\nwant %+v", e, want)
	}
	if p, err := s.Packet(t.Context(), e.PacketID); err != nil || string(p.Data) != string(q1.Packet.Data) {
		t.Errorf("quarantined packet: %v", err)
	}
	items := mustDue(t, s, t0.Add(time.Hour))
	if len(items) != 1 || items[0].PacketID != q1.Reply.Packet.ID || items[0].Recipient != hanoi || items[0].Kind != gateway.KindStatus || items[0].Document != "" {
		t.Errorf("outbox: got %+v, want the 02 to Hà Nội", items)
	}

	// The same message again changes nothing.
	if err := s.Quarantine(t.Context(), newQuarantine("m1", t0.Add(time.Hour), true)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := s.QuarantineEntries(t.Context(), 10); len(entries) != 2 {
		t.Errorf("entries after a duplicate: got %d, want 2", len(entries))
	}
	if got := len(mustDue(t, s, t0.Add(2*time.Hour))); got != 1 {
		t.Errorf("outbox after a duplicate: got %d items, want 1", got)
	}
	// Messages without an id are all kept.
	for range 2 {
		if err := s.Quarantine(t.Context(), newQuarantine("", t0.Add(2*time.Hour), false)); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := s.QuarantineEntries(t.Context(), 3); len(entries) != 3 {
		t.Errorf("entries with limit 3: got %d", len(entries))
	}
	if got, want := auditActions(t, path), []string{"quarantine", "quarantine", "quarantine", "quarantine"}; !equal(got, want) {
		t.Errorf("audit: got %q, want %q", got, want)
	}

	// The reply can be sent like any other status.
	if _, err := s.MarkSent(t.Context(), items[:1], t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(t.Context(), gateway.Quarantine{Packet: newPacket(gateway.KindEdoc, t0, 10)}); err == nil {
		t.Error("Quarantine without a reason: no error")
	}
}

// TestStore_Quarantine_Unreadable keeps a message whose packet could not
// be fetched at all: no bytes, only the reason.
func TestStore_Quarantine_Unreadable(t *testing.T) {
	s := mustOpenStore(t)
	q := newQuarantine("m1", t0, false)
	q.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindStatus}
	q.Entry.Reason = "unreadable"
	if err := s.Quarantine(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Reason != "unreadable" {
		t.Fatalf("entries: got %+v", entries)
	}
	p, err := s.Packet(t.Context(), entries[0].PacketID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != 0 || len(p.Data) != 0 || p.Kind != gateway.KindStatus {
		t.Errorf("packet: got %d bytes, kind %s", p.Size, p.Kind)
	}
}

// mustOpenStoreWith is mustOpenStoreAt with options.
func mustOpenStoreWith(tb testing.TB, path string, opts store.Options) *store.Store {
	tb.Helper()
	s, err := store.Open(tb.Context(), path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.CheckWith(context.Background(), store.CheckOptions{PacketHashes: true}); err != nil && !errors.Is(err, gateway.ErrClosed) {
			tb.Errorf("Check after the test:\n%v", err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestStore_Quarantine_Repeat: the same large packet refused under three
// message ids is kept once (one file, one row of its bytes), with three
// entries, each with its reason and its reply; the same message id again
// changes nothing and queues no reply.
func TestStore_Quarantine_Repeat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	bad := newPacket(gateway.KindEdoc, t0, largeSize)
	reasons := []string{"signature:invalid", "validation", "signature:revoked"}
	for i, reason := range reasons {
		q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), true)
		// The same bytes, under the new packet id each message is given.
		q.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindEdoc, Data: bad.Data}
		q.Entry.Reason = reason
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	again := newQuarantine("m1", t0.Add(time.Hour), true)
	again.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindEdoc, Data: bad.Data}
	if err := s.Quarantine(t.Context(), again); err != nil {
		t.Fatal(err)
	}

	if files := packetFiles(t, path); len(files) != 1 {
		t.Errorf("packet files %q, want one", files)
	}
	sum := sha256.Sum256(bad.Data)
	if n := count(t, rawDB(t, path), `SELECT count(*) FROM packets WHERE sha256 = ?`, hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("%d packets of the bad bytes, want 1", n)
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3: %+v", len(entries), entries)
	}
	for i, e := range entries {
		if want := reasons[len(reasons)-1-i]; e.Reason != want || e.PacketID != entries[0].PacketID {
			t.Errorf("entry %d: reason %q, packet %s; want %q, packet %s", i, e.Reason, e.PacketID, want, entries[0].PacketID)
		}
	}
	p, err := s.Packet(t.Context(), entries[0].PacketID)
	if err != nil || !bytes.Equal(p.Data, bad.Data) {
		t.Errorf("the packet kept: %v", err)
	}
	if got := len(mustDue(t, s, t0.Add(2*time.Hour))); got != 3 {
		t.Errorf("outbox: %d replies, want one per message id, 3", got)
	}
	st, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.QuarantineItems != 3 || st.QuarantineBytes != int64(len(bad.Data)) || st.QuarantineDropped != 0 {
		t.Errorf("stats: %+v, want 3 entries of %d bytes, none dropped", st, len(bad.Data))
	}
}

// TestStore_Quarantine_Bounds: past the bound of entries or of bytes,
// the packets kept longest are dropped with their entries, the file
// removed, logged and counted; the packet just quarantined stays even
// alone beyond the bound; an accepted document is untouched.
func TestStore_Quarantine_Bounds(t *testing.T) {
	for _, c := range []struct {
		name string
		opts store.Options
	}{
		{"entries", store.Options{QuarantineEntries: 3}},
		{"bytes", store.Options{QuarantineBytes: 3 * int64(len(newPacket(gateway.KindEdoc, t0, largeSize).Data))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lienthong.db")
			core, logs := observer.New(zap.WarnLevel)
			c.opts.Logger = zap.New(core)
			s := mustOpenStoreWith(t, path, c.opts)
			accepted := newAccept(vpcp, "large", t0, hanoi)
			accepted.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
			mustAccept(t, s, accepted)

			var kept []gateway.Quarantine
			for i := range 5 {
				q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), true)
				q.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
				if err := s.Quarantine(t.Context(), q); err != nil {
					t.Fatal(err)
				}
				kept = append(kept, q)
			}
			entries, err := s.QuarantineEntries(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 3 || entries[0].MsgID != "m4" || entries[2].MsgID != "m2" {
				t.Errorf("entries %+v, want m4, m3, m2", entries)
			}
			for _, q := range kept[:2] {
				p, err := s.Packet(t.Context(), q.Packet.ID)
				if err != nil || p.Size != 0 || len(p.Data) != 0 {
					t.Errorf("dropped packet %s: %v, %d bytes", q.Packet.ID, err, p.Size)
				}
			}
			for _, q := range kept[2:] {
				mustPacket(t, s, q.Packet)
			}
			mustPacket(t, s, accepted.Packet)
			want := []string{accepted.Packet.ID, kept[2].Packet.ID, kept[3].Packet.ID, kept[4].Packet.ID}
			slices.Sort(want)
			if files := packetFiles(t, path); !slices.Equal(files, want) {
				t.Errorf("packet files %q, want %q", files, want)
			}
			st, err := s.Stats(t.Context(), t0)
			if err != nil {
				t.Fatal(err)
			}
			if st.QuarantineItems != 3 || st.QuarantineBytes != 3*int64(len(kept[4].Packet.Data)) || st.QuarantineDropped != 2 {
				t.Errorf("stats: %+v, want 3 entries, 2 dropped", st)
			}
			dropped := logs.FilterMessageSnippet("quarantine full").All()
			if len(dropped) != 2 || dropped[0].ContextMap()["packet"] != kept[0].Packet.ID {
				t.Errorf("logged %d drops (%+v), want 2, first %s", len(dropped), dropped, kept[0].Packet.ID)
			}
			if got := auditActions(t, path); len(got) != 1+5+2 || got[len(got)-1] != "quarantine_drop" {
				t.Errorf("audit: %q", got)
			}
		})
	}

	// A packet alone beyond the bound of bytes stays.
	s := mustOpenStoreWith(t, filepath.Join(t.TempDir(), "lienthong.db"), store.Options{QuarantineBytes: 1 << 20})
	q := newQuarantine("big", t0, false)
	q.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if err := s.Quarantine(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	mustPacket(t, s, q.Packet)
}

// TestStore_Quarantine_Migrated: the entries of a store made before
// quarantine_packets (migration 0016) are counted and bounded after it,
// each packet its own.
func TestStore_Quarantine_Migrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for i := range 3 {
		q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), false)
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		size += int64(len(q.Packet.Data))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).Exec(`DROP TABLE quarantine_packets; DROP INDEX quarantine_packet;
		PRAGMA user_version = 15`); err != nil {
		t.Fatal(err)
	}
	s = mustOpenStoreWith(t, path, store.Options{QuarantineEntries: 3})
	st, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.QuarantineItems != 3 || st.QuarantineBytes != size {
		t.Errorf("stats after the migration: %+v, want 3 entries of %d bytes", st, size)
	}
	if err := s.Quarantine(t.Context(), newQuarantine("m3", t0.Add(time.Hour), false)); err != nil {
		t.Fatal(err)
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[2].MsgID != "m1" {
		t.Errorf("entries %+v, want m3, m2, m1", entries)
	}
}

// TestStore_Quarantine_RepeatNotWritten: a large packet already kept is
// not written to a file again (its file's name is taken here by a
// directory, which a write would fail on); one told kept that is not
// (dropped meanwhile) fails with ErrKeptDropped, writing nothing.
func TestStore_Quarantine_RepeatNotWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	bad := newPacket(gateway.KindEdoc, t0, largeSize)
	q := newQuarantine("m1", t0, true)
	q.Packet = bad
	if err := s.Quarantine(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	again := newQuarantine("m2", t0, true)
	again.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindEdoc, Data: bad.Data}
	taken := filepath.Join(store.PacketDir(path), again.Packet.ID)
	if err := os.Mkdir(taken, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(t.Context(), again); err != nil {
		t.Fatalf("the same packet again: %v", err)
	}
	if err := os.Remove(taken); err != nil {
		t.Fatal(err)
	}
	if entries, _ := s.QuarantineEntries(t.Context(), 0); len(entries) != 2 || entries[0].PacketID != bad.ID {
		t.Errorf("entries %+v, want two of %s", entries, bad.ID)
	}

	other := newQuarantine("m3", t0, true)
	other.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if err := store.QuarantineAsKept(t.Context(), s, other); !errors.Is(err, store.ErrKeptDropped) {
		t.Errorf("a packet told kept that is not: %v, want ErrKeptDropped", err)
	}
	if files := packetFiles(t, path); !slices.Equal(files, []string{bad.ID}) {
		t.Errorf("packet files %q, want only %s", files, bad.ID)
	}
}

// TestStore_Quarantine_RepeatBounded: the same bytes quarantined under
// ever new message ids stay within the bound of entries: the oldest
// entries go one by one, those of the packet just quarantined too (but
// the entry just made), and a packet goes with its last entry.
func TestStore_Quarantine_RepeatBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreWith(t, path, store.Options{QuarantineEntries: 3})
	other := newQuarantine("other", t0, false)
	other.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if err := s.Quarantine(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	bad := newPacket(gateway.KindEdoc, t0, 4096)
	const n = 50
	for i := range n {
		q := newQuarantine(fmt.Sprintf("r%d", i), t0.Add(time.Duration(i+1)*time.Second), i%2 == 0)
		q.Packet = bad
		if i > 0 {
			q.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindEdoc, Data: bad.Data}
		}
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.MsgID)
		if e.PacketID != bad.ID {
			t.Errorf("entry %s names packet %s, want %s", e.MsgID, e.PacketID, bad.ID)
		}
	}
	if want := []string{"r49", "r48", "r47"}; !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if n := count(t, rawDB(t, path), `SELECT count(*) FROM quarantine`); n != 3 {
		t.Errorf("%d rows in quarantine, want 3", n)
	}
	if p, err := s.Packet(t.Context(), other.Packet.ID); err != nil || p.Size != 0 {
		t.Errorf("the other packet: %v, %d bytes, want dropped", err, p.Size)
	}
	if files := packetFiles(t, path); len(files) != 0 {
		t.Errorf("packet files %q, want none", files)
	}
	mustPacket(t, s, bad)
	st, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.QuarantineItems != 3 || st.QuarantineBytes != int64(len(bad.Data)) || st.QuarantineDropped != 1+n-3 {
		t.Errorf("stats: %+v, want 3 entries of %d bytes, %d dropped", st, len(bad.Data), 1+n-3)
	}
}

// TestStore_Quarantine_EmptyBounded: entries without bytes (a packet that
// could not be fetched, one for an agency not hosted) all name the one
// packet of no bytes; ever new message ids of them stay within the bound
// of entries, and flush the older entries only one by one.
func TestStore_Quarantine_EmptyBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreWith(t, path, store.Options{QuarantineEntries: 5})
	evidence := newQuarantine("evidence", t0, true)
	if err := s.Quarantine(t.Context(), evidence); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		q := newQuarantine(fmt.Sprintf("e%d", i), t0.Add(time.Duration(i+1)*time.Second), false)
		q.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindEdoc}
		q.Entry.Reason = "not-hosted"
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			// The evidence stays while the bound allows.
			if entries, _ := s.QuarantineEntries(t.Context(), 0); len(entries) != 4 || entries[3].MsgID != "evidence" {
				t.Errorf("after 3 empty entries: %+v, want them and the evidence", entries)
			}
		}
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.MsgID)
	}
	if want := []string{"e39", "e38", "e37", "e36", "e35"}; !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if n := count(t, rawDB(t, path), `SELECT count(*) FROM quarantine`); n != 5 {
		t.Errorf("%d rows in quarantine, want 5", n)
	}
	st, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.QuarantineItems != 5 || st.QuarantineBytes != 0 || st.QuarantineDropped != 1+n-5 {
		t.Errorf("stats: %+v, want 5 entries of no bytes, %d dropped", st, 1+n-5)
	}
}

// TestStore_Quarantine_BytesByLatest: past the bound of bytes, the packet
// dropped is the one received least recently, not the one first
// received: a packet quarantined again stays.
func TestStore_Quarantine_BytesByLatest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	size := len(newPacket(gateway.KindEdoc, t0, largeSize).Data)
	s := mustOpenStoreWith(t, path, store.Options{QuarantineBytes: 2 * int64(size)})
	a, b, c := newPacket(gateway.KindEdoc, t0, largeSize), newPacket(gateway.KindEdoc, t0, largeSize),
		newPacket(gateway.KindEdoc, t0, largeSize)
	for i, p := range []gateway.NewPacket{a, b, {ID: gateway.NewID(t0), Kind: gateway.KindEdoc, Data: a.Data}, c} {
		q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), false)
		q.Packet = p
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.MsgID)
	}
	if want := []string{"m3", "m2", "m0"}; !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q (b dropped)", got, want)
	}
	mustPacket(t, s, a)
	mustPacket(t, s, c)
	if p, err := s.Packet(t.Context(), b.ID); err != nil || p.Size != 0 {
		t.Errorf("packet b: %v, %d bytes, want dropped", err, p.Size)
	}
}

// TestStore_Quarantine_MigratedWithoutTotals: a store migrated by a build
// whose 0016 made no quarantine_totals (it was added to 0016 after it was
// committed) gets them from a later migration, counted from its
// quarantine, and quarantines again; the bounds hold.
func TestStore_Quarantine_MigratedWithoutTotals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for i := range 3 {
		q := newQuarantine(fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Minute), false)
		if err := s.Quarantine(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		size += int64(len(q.Packet.Data))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).Exec(`DROP TRIGGER quarantine_totals_entry_in; DROP TRIGGER quarantine_totals_entry_out;
		DROP TRIGGER quarantine_totals_packet_in; DROP TRIGGER quarantine_totals_packet_out;
		DROP TABLE quarantine_totals; PRAGMA user_version = 16`); err != nil {
		t.Fatal(err)
	}
	s = mustOpenStoreWith(t, path, store.Options{QuarantineEntries: 3})
	st, err := s.Stats(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.QuarantineItems != 3 || st.QuarantineBytes != size {
		t.Errorf("stats after the migration: %+v, want 3 entries of %d bytes", st, size)
	}
	if err := s.Quarantine(t.Context(), newQuarantine("m3", t0.Add(time.Hour), false)); err != nil {
		t.Fatal(err)
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].MsgID != "m3" || entries[2].MsgID != "m1" {
		t.Errorf("entries %+v, want m3, m2, m1", entries)
	}
}

// TestStore_Packet_Dropped: a quarantined packet dropped between Packet's
// read of its row and that of its file is not found, said so, rather than
// a file missing.
func TestStore_Packet_Dropped(t *testing.T) {
	s := mustOpenStoreWith(t, filepath.Join(t.TempDir(), "lienthong.db"), store.Options{QuarantineEntries: 1})
	first := newQuarantine("m0", t0, false)
	first.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	if err := s.Quarantine(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	_, err := store.PacketRowRead(t.Context(), s, first.Packet.ID, func() {
		// Drops the first, and removes its file.
		if err := s.Quarantine(t.Context(), newQuarantine("m1", t0.Add(time.Minute), false)); err != nil {
			t.Error(err)
		}
	})
	if !errors.Is(err, gateway.ErrNotFound) || !strings.Contains(err.Error(), "dropped from the quarantine") {
		t.Errorf("Packet of a packet dropped while it was read: %v, want ErrNotFound, dropped", err)
	}
}

// TestStore_Quarantine_KeptDropped: a large packet found kept by
// Quarantine's look-up, and dropped before its transaction, is written
// and kept again: stored once, readable.
func TestStore_Quarantine_KeptDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreWith(t, path, store.Options{QuarantineEntries: 1})
	bad := newPacket(gateway.KindEdoc, t0, largeSize)
	first := newQuarantine("m0", t0, false)
	first.Packet = bad
	if err := s.Quarantine(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	again := newQuarantine("m1", t0.Add(2*time.Minute), true)
	again.Packet = gateway.NewPacket{ID: gateway.NewID(t0), Kind: gateway.KindEdoc, Data: bad.Data}
	var called bool
	err := store.QuarantineLookedUp(t.Context(), s, again, func() {
		called = true
		// Drops the packet kept, the bound being one entry.
		if err := s.Quarantine(t.Context(), newQuarantine("other", t0.Add(time.Minute), false)); err != nil {
			t.Error(err)
		}
		if p, err := s.Packet(t.Context(), bad.ID); err != nil || p.Size != 0 {
			t.Errorf("the packet kept: %v, want dropped", err)
		}
	})
	if err != nil || !called {
		t.Fatalf("Quarantine of a packet dropped after its look-up: %v (hook called %t)", err, called)
	}
	entries, err := s.QuarantineEntries(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].MsgID != "m1" || entries[0].PacketID != again.Packet.ID {
		t.Fatalf("entries %+v, want m1 of %s", entries, again.Packet.ID)
	}
	mustPacket(t, s, again.Packet)
	sum := sha256.Sum256(bad.Data)
	if n := count(t, rawDB(t, path), `SELECT count(*) FROM packets WHERE sha256 = ?`, hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("%d packets of the bytes, want 1", n)
	}
	if files := packetFiles(t, path); !slices.Equal(files, []string{again.Packet.ID}) {
		t.Errorf("packet files %q, want %s", files, again.Packet.ID)
	}
	if got := len(mustDue(t, s, t0.Add(time.Hour))); got != 1 {
		t.Errorf("outbox: %d replies, want 1", got)
	}
}
