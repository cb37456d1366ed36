package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
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
