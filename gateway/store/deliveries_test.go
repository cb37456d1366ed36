package store_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

func TestStore_ApplyStatus(t *testing.T) {
	t.Run("FromRecipients", func(t *testing.T) {
		s := mustOpenStore(t)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		for i, tt := range []struct {
			code envelope.StatusCode
			want envelope.State
		}{
			{envelope.StatusAccepted, envelope.StateAccepted}, // before 01: out of order
			{envelope.StatusArrived, envelope.StateAccepted},  // a late 01
			{envelope.StatusAssigned, envelope.StateAssigned},
			{envelope.StatusProcessing, envelope.StateProcessing},
			{envelope.StatusProcessing, envelope.StateProcessing}, // 05 repeats
			{envelope.StatusDone, envelope.StateDone},
		} {
			at := t0.Add(time.Duration(i+1) * time.Minute)
			res, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "doc-1", tt.code, at))
			if err != nil {
				t.Fatalf("%s: %v", tt.code, err)
			}
			if res.Document != doc.ID || res.Recipient != hanoi || res.Duplicate || res.Refused != nil || res.State != tt.want ||
				!res.Created.Equal(doc.CreatedAt) {
				t.Errorf("%s: got %+v, want state %s", tt.code, res, tt.want)
			}
		}
		d := mustDocument(t, s, doc.ID)
		v := deliveryTo(t, d, hanoi)
		if v.State != envelope.StateDone || v.Lifecycle.Seen.String() != "01,03,04,05,06" {
			t.Errorf("delivery to Hà Nội: got %s seen %s", v.State, v.Lifecycle.Seen)
		}
		if !v.UpdatedAt.Equal(t0.Add(6*time.Minute + time.Second)) {
			t.Errorf("UpdatedAt: got %v, want the last status's RecordedAt", v.UpdatedAt)
		}
		if other := deliveryTo(t, d, hue); other.State != envelope.StateSent || other.Lifecycle.Seen != 0 {
			t.Errorf("delivery to Huế changed: %s %s", other.State, other.Lifecycle.Seen)
		}
		want := []string{"queued " + hanoi, "queued " + hue, "status " + hanoi + " 03", "status " + hanoi + " 01",
			"status " + hanoi + " 04", "status " + hanoi + " 05", "status " + hanoi + " 05", "status " + hanoi + " 06"}
		if got := eventKinds(d); !equal(got, want) {
			t.Errorf("events: got %q, want %q", got, want)
		}
		e := d.Events[2]
		if e.By != hanoi || e.Staff != "Nguyễn Văn A" || e.Description != "Đã tiếp nhận" || !e.At.Equal(t0.Add(time.Minute)) ||
			!e.RecordedAt.Equal(t0.Add(time.Minute+time.Second)) || e.PacketID == "" {
			t.Errorf("status event: got %+v", e)
		}
	})

	t.Run("RecallOnIncoming", func(t *testing.T) {
		s := mustOpenStore(t)
		doc := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
		res, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "in-1", envelope.StatusRecallRequested, t0.Add(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Document != doc.ID || res.Recipient != vpcp || res.State != envelope.StateRecallRequested || res.Refused != nil {
			t.Errorf("13: got %+v", res)
		}
		v := deliveryTo(t, mustDocument(t, s, doc.ID), vpcp)
		if v.Lifecycle.BeforeRecall != envelope.StateArrived {
			t.Errorf("BeforeRecall: got %s, want arrived", v.Lifecycle.BeforeRecall)
		}
		// 13 about it from another agency finds nothing.
		if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hue, "in-1", envelope.StatusRecallRequested, t0)); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("13 from another sender: got %v, want ErrNotFound", err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "doc-1", envelope.StatusDone, t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		st := newStatus(vpcp, hanoi, "doc-1", envelope.StatusRejected, t0.Add(2*time.Minute))
		res, err := s.ApplyStatus(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		if res.Refused == nil || !errors.Is(res.Refused, envelope.ErrStatusConflict) || res.State != envelope.StateDone {
			t.Fatalf("02 on done: got %+v, want refused with ErrStatusConflict, state done", res)
		}
		d := mustDocument(t, s, doc.ID)
		if v := deliveryTo(t, d, hanoi); v.State != envelope.StateDone || v.Lifecycle.Seen.Has(envelope.StatusRejected) {
			t.Errorf("delivery after a refused status: %s seen %s", v.State, v.Lifecycle.Seen)
		}
		e := d.Events[len(d.Events)-1]
		if e.Kind != gateway.EventStatusRefused || e.StatusCode != envelope.StatusRejected || e.PacketID != st.Packet.ID ||
			!strings.Contains(e.Refusal, "mâu thuẫn") || !strings.Contains(e.Refusal, "conflicts") {
			t.Errorf("refused event: got %+v", e)
		}
		if _, err := s.Packet(t.Context(), st.Packet.ID); err != nil {
			t.Errorf("the refused status's packet is not kept: %v", err)
		}
		acts := auditActions(t, path)
		if got, want := acts[len(acts)-1], "status_refused "+doc.ID; got != want {
			t.Errorf("last audit row: got %q, want %q", got, want)
		}

		// A refused status redelivered is a duplicate too.
		res, err = s.ApplyStatus(t.Context(), st)
		if err != nil || !res.Duplicate {
			t.Errorf("refused status again: got %+v, %v, want a duplicate", res, err)
		}
	})

	t.Run("DuplicateMsgID", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		st := newStatus(vpcp, hanoi, "doc-1", envelope.StatusProcessing, t0.Add(time.Minute))
		if _, err := s.ApplyStatus(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		audit := len(auditActions(t, path))
		again := newStatus(vpcp, hanoi, "doc-1", envelope.StatusProcessing, t0.Add(2*time.Minute))
		again.MsgID = st.MsgID // the same message, redelivered; 05 alone would apply again
		res, err := s.ApplyStatus(t.Context(), again)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Duplicate || res.Document != doc.ID || res.Recipient != hanoi || res.State != envelope.StateProcessing {
			t.Errorf("redelivered status: got %+v", res)
		}
		// The MsgID is known whatever the message names besides: a
		// document the store does not have, a delivery it has not.
		for name, claim := range map[string]func(*gateway.ApplyStatus){
			"another document":  func(a *gateway.ApplyStatus) { a.DocumentID = "doc-2" },
			"another recipient": func(a *gateway.ApplyStatus) { a.From = hue },
		} {
			other := again
			claim(&other)
			res, err := s.ApplyStatus(t.Context(), other)
			if err != nil || !res.Duplicate || res.Document != doc.ID || res.Recipient != hanoi {
				t.Errorf("redelivered status naming %s: got %+v, %v", name, res, err)
			}
		}
		if got, want := len(mustDocument(t, s, doc.ID).Events), 2; got != want {
			t.Errorf("events: got %d, want %d", got, want)
		}
		if got := len(auditActions(t, path)); got != audit {
			t.Errorf("audit rows: got %d, want %d", got, audit)
		}
		if _, err := s.Packet(t.Context(), again.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("the duplicate's packet was stored: %v", err)
		}
	})

	t.Run("ReplayedPacket", func(t *testing.T) {
		// A peer replays a captured status under a new Nats-Msg-Id: the
		// same packet, so nothing is stored or recorded again.
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		st := newStatus(vpcp, hanoi, "doc-1", envelope.StatusAccepted, t0.Add(time.Minute))
		if _, err := s.ApplyStatus(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		audit := len(auditActions(t, path))
		replay := st
		replay.MsgID = "replayed-under-another-id"
		replay.Packet.ID = gateway.NewID(t0.Add(time.Hour))
		res, err := s.ApplyStatus(t.Context(), replay)
		if err != nil || !res.Duplicate || res.Refused != nil || res.State != envelope.StateAccepted {
			t.Errorf("replayed status: got %+v, %v, want a duplicate", res, err)
		}
		if got, want := len(mustDocument(t, s, doc.ID).Events), 2; got != want {
			t.Errorf("events: got %d, want %d", got, want)
		}
		if got := len(auditActions(t, path)); got != audit {
			t.Errorf("audit rows: got %d, want %d", got, audit)
		}
		if _, err := s.Packet(t.Context(), replay.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("the replayed packet was stored: %v", err)
		}
	})

	t.Run("ReplayedAmongOthers", func(t *testing.T) {
		// Replays are told among a delivery's other statuses, applied or
		// refused, by their packet (of their own code); a new packet of a
		// code seen before is not a replay.
		s := mustOpenStore(t)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		var applied []gateway.ApplyStatus
		for i, code := range []envelope.StatusCode{envelope.StatusArrived, envelope.StatusAccepted, envelope.StatusDone, envelope.StatusRecallAccepted} {
			st := newStatus(vpcp, hanoi, "doc-1", code, t0.Add(time.Duration(i+1)*time.Minute))
			res, err := s.ApplyStatus(t.Context(), st)
			if err != nil || res.Duplicate || (res.Refused != nil) != (code == envelope.StatusRecallAccepted) {
				t.Fatalf("%s: %+v, %v", code, res, err)
			}
			applied = append(applied, st)
		}
		events := len(mustDocument(t, s, doc.ID).Events)
		for _, st := range []gateway.ApplyStatus{applied[1], applied[3], applied[0]} {
			replay := st
			replay.MsgID = "replayed-" + gateway.NewID(t0)
			replay.Packet.ID = gateway.NewID(t0.Add(time.Hour))
			if res, err := s.ApplyStatus(t.Context(), replay); err != nil || !res.Duplicate || res.State != envelope.StateDone {
				t.Errorf("replayed %s: %+v, %v; want a duplicate", st.Code, res, err)
			}
		}
		if got := len(mustDocument(t, s, doc.ID).Events); got != events {
			t.Errorf("events after the replays: %d, want %d", got, events)
		}
		again := newStatus(vpcp, hanoi, "doc-1", envelope.StatusArrived, t0.Add(time.Hour))
		if res, err := s.ApplyStatus(t.Context(), again); err != nil || res.Duplicate || res.Refused == nil {
			t.Errorf("a new 01: %+v, %v; want it refused, not a duplicate", res, err)
		}
	})

	for _, tt := range []struct {
		name string
		st   gateway.ApplyStatus
	}{
		{"UnknownDocument", newStatus(vpcp, hanoi, "doc-unknown", envelope.StatusArrived, t0)},
		{"OtherAgency", newStatus(btttt, hanoi, "doc-1", envelope.StatusArrived, t0)},
		{"NotARecipient", newStatus(vpcp, hue, "doc-1", envelope.StatusArrived, t0)},
		{"RecallOnOutgoing", newStatus(vpcp, hanoi, "doc-1", envelope.StatusRecallRequested, t0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpenStore(t)
			mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
			if _, err := s.ApplyStatus(t.Context(), tt.st); !errors.Is(err, gateway.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
			if _, err := s.Packet(t.Context(), tt.st.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
				t.Errorf("the status's packet was stored: %v", err)
			}
		})
	}
}

func TestStore_EmitStatus(t *testing.T) {
	emit := func(doc string, party envelope.Party, code envelope.StatusCode, by string, recipients, sendTo []string, at time.Time) gateway.EmitStatus {
		return gateway.EmitStatus{
			Document:   doc,
			Recipients: recipients,
			Party:      party,
			Reply: gateway.Reply{
				Packet:      newPacket(gateway.KindStatus, at, 512),
				Code:        code,
				By:          by,
				Description: code.Name(),
				Staff:       "Trần Thị B",
				At:          at,
			},
			SendTo: sendTo,
			At:     at,
		}
	}

	t.Run("Accepted", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		doc := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
		e := emit(doc.ID, envelope.PartyRecipient, envelope.StatusAccepted, vpcp, []string{vpcp}, []string{hanoi}, t0.Add(time.Hour))
		if err := s.EmitStatus(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		d := mustDocument(t, s, doc.ID)
		if v := deliveryTo(t, d, vpcp); v.State != envelope.StateAccepted || v.Lifecycle.Seen.String() != "01,03" {
			t.Errorf("delivery: got %s seen %s", v.State, v.Lifecycle.Seen)
		}
		ev := d.Events[len(d.Events)-1]
		if ev.Kind != gateway.EventStatus || ev.StatusCode != envelope.StatusAccepted || ev.By != vpcp || ev.PacketID != e.Reply.Packet.ID || ev.Staff != "Trần Thị B" {
			t.Errorf("event: got %+v", ev)
		}
		items := mustDue(t, s, t0.Add(time.Hour))
		if got, want := len(items), 2; got != want { // the 01 and the 03
			t.Fatalf("outbox: got %d items, want %d", got, want)
		}
		if it := items[1]; it.PacketID != e.Reply.Packet.ID || it.Recipient != hanoi || it.Kind != gateway.KindStatus || it.Document != doc.ID || it.Agency != vpcp {
			t.Errorf("outbox item: got %+v", it)
		}
		acts := auditActions(t, path)
		if got, want := acts[len(acts)-1], "emit_status "+doc.ID; got != want {
			t.Errorf("last audit row: got %q, want %q", got, want)
		}
	})

	t.Run("Recall", func(t *testing.T) {
		s := mustOpenStore(t)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "doc-1", envelope.StatusProcessing, t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		e := emit(doc.ID, envelope.PartySender, envelope.StatusRecallRequested, vpcp, []string{hanoi, hue}, []string{hanoi, hue}, t0.Add(time.Hour))
		if err := s.EmitStatus(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		d := mustDocument(t, s, doc.ID)
		for _, r := range []string{hanoi, hue} {
			if v := deliveryTo(t, d, r); v.State != envelope.StateRecallRequested {
				t.Errorf("delivery to %s: got %s, want recall_requested", r, v.State)
			}
		}
		// Hà Nội refuses the recall: back to processing.
		res, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hanoi, "doc-1", envelope.StatusRecallRefused, t0.Add(2*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if res.State != envelope.StateProcessing || res.Refused != nil {
			t.Errorf("16: got %+v, want processing", res)
		}
		// Huế agrees.
		res, err = s.ApplyStatus(t.Context(), newStatus(vpcp, hue, "doc-1", envelope.StatusRecallAccepted, t0.Add(2*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if res.State != envelope.StateRecalled {
			t.Errorf("15: got %+v, want recalled", res)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		doc := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
		if err := s.EmitStatus(t.Context(), emit(doc.ID, envelope.PartyRecipient, envelope.StatusAccepted, vpcp, []string{vpcp}, []string{hanoi}, t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		before := mustDocument(t, s, doc.ID)
		audit := len(auditActions(t, path))
		outbox := len(mustDue(t, s, t0.Add(time.Hour)))

		e := emit(doc.ID, envelope.PartyRecipient, envelope.StatusRejected, vpcp, []string{vpcp}, []string{hanoi}, t0.Add(time.Hour))
		err := s.EmitStatus(t.Context(), e)
		var te *envelope.TransitionError
		if !errors.As(err, &te) || !errors.Is(err, envelope.ErrStatusConflict) || te.From != envelope.StateAccepted {
			t.Fatalf("02 after 03: got %v, want a *TransitionError (conflict, from accepted)", err)
		}
		after := mustDocument(t, s, doc.ID)
		if len(after.Events) != len(before.Events) || deliveryTo(t, after, vpcp).Lifecycle != deliveryTo(t, before, vpcp).Lifecycle {
			t.Error("a refused status changed the document")
		}
		if got := len(mustDue(t, s, t0.Add(time.Hour))); got != outbox {
			t.Errorf("outbox: got %d items, want %d", got, outbox)
		}
		if got := len(auditActions(t, path)); got != audit {
			t.Errorf("audit: got %d rows, want %d", got, audit)
		}
		if _, err := s.Packet(t.Context(), e.Reply.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("the refused status's packet was stored: %v", err)
		}
	})

	t.Run("RefusedForOneRecipient", func(t *testing.T) {
		s := mustOpenStore(t)
		doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
		if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hue, "doc-1", envelope.StatusRejected, t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		e := emit(doc.ID, envelope.PartySender, envelope.StatusRecallRequested, vpcp, []string{hanoi, hue}, []string{hanoi, hue}, t0.Add(time.Hour))
		if err := s.EmitStatus(t.Context(), e); !errors.Is(err, envelope.ErrFinalState) {
			t.Fatalf("13 with one delivery rejected: got %v, want ErrFinalState", err)
		}
		if v := deliveryTo(t, mustDocument(t, s, doc.ID), hanoi); v.State != envelope.StateSent {
			t.Errorf("the other delivery changed: %s", v.State)
		}
	})

	for _, tt := range []struct {
		name    string
		mutate  func(e *gateway.EmitStatus)
		wantErr error
	}{
		{"UnknownDocument", func(e *gateway.EmitStatus) { e.Document = gateway.NewID(t0) }, gateway.ErrNotFound},
		{"UnknownRecipient", func(e *gateway.EmitStatus) { e.Recipients = []string{hue} }, gateway.ErrNotFound},
		{"WrongSide", func(e *gateway.EmitStatus) {
			e.Party, e.Reply.Code = envelope.PartySender, envelope.StatusRecallRequested
		}, nil},
		{"WrongParty", func(e *gateway.EmitStatus) { e.Reply.Code = envelope.StatusRecallRequested }, envelope.ErrWrongParty},
		{"NoRecipients", func(e *gateway.EmitStatus) { e.Recipients = nil }, nil},
		{"NoSendTo", func(e *gateway.EmitStatus) { e.SendTo = nil }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpenStore(t)
			doc := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
			e := emit(doc.ID, envelope.PartyRecipient, envelope.StatusAccepted, vpcp, []string{vpcp}, []string{hanoi}, t0.Add(time.Minute))
			tt.mutate(&e)
			err := s.EmitStatus(t.Context(), e)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if v := deliveryTo(t, mustDocument(t, s, doc.ID), vpcp); v.State != envelope.StateArrived {
				t.Errorf("delivery changed: %s", v.State)
			}
		})
	}
}

// TestStore_DeliveryNote: a delivery's Note is the description of its
// latest applied status, in every read of it; a refused status and the
// statuses of other deliveries do not change it.
func TestStore_DeliveryNote(t *testing.T) {
	s := mustOpenStore(t)
	doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
	notes := func() map[string]string {
		t.Helper()
		out := make(map[string]string)
		for _, v := range mustDocument(t, s, doc.ID).Deliveries {
			out[v.Recipient] = v.Note
		}
		page, err := s.Documents(t.Context(), gateway.DocumentQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Documents[0].Deliveries {
			if out[v.Recipient] != v.Note {
				t.Errorf("the list's note to %s is %q, the document's %q", v.Recipient, v.Note, out[v.Recipient])
			}
		}
		return out
	}
	if n := notes(); n[hanoi] != "" || n[hue] != "" {
		t.Errorf("notes before any status: %q", n)
	}

	apply := func(from string, code envelope.StatusCode, description string, minute int) gateway.StatusResult {
		t.Helper()
		st := newStatus(vpcp, from, "doc-1", code, t0.Add(time.Duration(minute)*time.Minute))
		st.Description = description
		res, err := s.ApplyStatus(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	apply(hue, envelope.StatusAccepted, "Đã tiếp nhận", 1)
	apply(hanoi, envelope.StatusArrived, "", 2)
	if n := notes(); n[hanoi] != "" || n[hue] != "Đã tiếp nhận" {
		t.Errorf("notes after 03 from Huế and 01 from Hà Nội: %q", n)
	}
	if res := apply(hanoi, envelope.StatusRejected, "Không thuộc thẩm quyền", 3); res.State != envelope.StateRejected {
		t.Fatalf("02: got %+v, want rejected", res)
	}
	if res := apply(hanoi, envelope.StatusProcessing, "Đang xử lý", 4); res.Refused == nil {
		t.Fatalf("05 after 02: got %+v, want refused", res)
	}
	if n := notes(); n[hanoi] != "Không thuộc thẩm quyền" || n[hue] != "Đã tiếp nhận" {
		t.Errorf("notes after 02 and a refused 05: %q", n)
	}

	// A status this gateway emits: the sender's recall request to Huế.
	err := s.EmitStatus(t.Context(), gateway.EmitStatus{
		Document:   doc.ID,
		Recipients: []string{hue},
		Party:      envelope.PartySender,
		Reply: gateway.Reply{
			Packet: newPacket(gateway.KindStatus, t0.Add(time.Hour), 512), Code: envelope.StatusRecallRequested,
			By: vpcp, Description: "Sai sót về thể thức", At: t0.Add(time.Hour),
		},
		SendTo: []string{hue},
		At:     t0.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := notes(); n[hanoi] != "Không thuộc thẩm quyền" || n[hue] != "Sai sót về thể thức" {
		t.Errorf("notes after the recall request: %q", n)
	}
}

// TestStore_DeliveryNotePlan: a delivery's Note is read from its row,
// with no look-up in the events; no read of deliveries scans a table.
// Check compares the rows' notes with their events.
func TestStore_DeliveryNotePlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	for _, q := range []string{
		`SELECT ` + store.DeliveryColumns + ` FROM deliveries WHERE document IN (?, ?) ORDER BY document, rowid`,
		`SELECT ` + store.DeliveryColumns + ` FROM deliveries WHERE document = ? AND recipient = ?`,
	} {
		p := queryPlan(t, db, q, "a", "b")
		if strings.Contains(p, "SCAN") || strings.Contains(p, "events") || !strings.Contains(p, "INDEX sqlite_autoindex_deliveries_1 (document=?") {
			t.Errorf("plan of %s:\n%s", q, p)
		}
	}
}

// queryPlan returns SQLite's plan of query, one step a line.
func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var (
			id, parent, unused int
			detail             string
		)
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// TestStore_StatusPlans: what ApplyStatus and EmitStatus read of a
// document and its deliveries is found through indexes: the documents by
// the unique index of their direction (or their id), the deliveries by
// their key, the status events of a delivery, applied and refused, by the
// delivery and their kind (not all the events of its document), their
// packets by theirs, and an event with the status's MsgID by it.
func TestStore_StatusPlans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	events := []string{"INDEX events_delivery (document=? AND recipient=? AND kind=?)"}
	msgID := "INDEX events_msg_id (msg_id=?)"
	for _, c := range []struct {
		query string
		args  []any
		want  []string
	}{
		{store.StatusTargetOut, []any{"01", "sum", "r", "m", "a", "id"}, append([]string{"INDEX documents_outgoing", "(document=? AND recipient=?)", "sqlite_autoindex_packets_1", msgID}, events...)},
		{store.StatusTargetIn, []any{"13", "sum", "r", "m", "a", "s", "id"}, append([]string{"INDEX documents_incoming", "(document=? AND recipient=?)", "sqlite_autoindex_packets_1", msgID}, events...)},
		{store.LifecyclesQuery(1), []any{"r", "id"}, []string{"sqlite_autoindex_documents_1", "(document=? AND recipient=?)"}},
		{store.LifecyclesQuery(3), []any{"r", "q", "p", "id"}, []string{"sqlite_autoindex_documents_1", "(document=? AND recipient=?)"}},
	} {
		p := queryPlan(t, db, c.query, c.args...)
		for _, want := range c.want {
			if strings.Contains(p, "SCAN") || strings.Contains(p, "events_delivery (document=?)") || !strings.Contains(p, want) {
				t.Errorf("plan of %s:\n%s\nwant no SCAN, no events of the whole document, and %s", c.query, p, want)
			}
		}
	}
}

// TestOpen_MigrateEventsDelivery: migration 0015, run on a store with
// events, replaces events_document, events_note and events_refused by
// events_delivery, and the store reads the same events and notes after
// it, and still knows a status it applied or refused before.
func TestOpen_MigrateEventsDelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
	var statuses []gateway.ApplyStatus
	for i, c := range []struct {
		from string
		code envelope.StatusCode
	}{{hanoi, envelope.StatusArrived}, {hue, envelope.StatusRejected}, {hanoi, envelope.StatusAccepted}, {hue, envelope.StatusProcessing}} {
		st := newStatus(vpcp, c.from, "doc-1", c.code, t0.Add(time.Duration(i+1)*time.Minute))
		st.Description = "lý do " + string(c.code)
		res, err := s.ApplyStatus(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		if c.code == envelope.StatusProcessing && res.Refused == nil {
			t.Fatalf("05 after 02: %+v, want refused", res)
		}
		statuses = append(statuses, st)
	}
	want := mustDocument(t, s, doc.ID)
	s.Close()
	db := rawDB(t, path)
	// A store as 0014 left it.
	if _, err := db.Exec(`DROP INDEX events_delivery;
		CREATE INDEX events_document ON events (document, seq);
		CREATE INDEX events_note ON events (document, recipient, seq, description) WHERE kind = 'status';
		CREATE INDEX events_refused ON events (document, recipient) WHERE kind = 'status_refused';
		PRAGMA user_version = 14`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	got := mustDocument(t, s, doc.ID)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after 0015:\n%+v\nbefore:\n%+v", got, want)
	}
	if got.Deliveries[1].Note != "lý do 02" {
		t.Errorf("note to %s: %q, want that of its 02", got.Deliveries[1].Recipient, got.Deliveries[1].Note)
	}
	// The same packets again, under other MsgIDs: replays, found by their
	// delivery's events, applied and refused.
	for _, st := range statuses {
		st.MsgID += "-again"
		res, err := s.ApplyStatus(t.Context(), st)
		if err != nil || !res.Duplicate {
			t.Errorf("%s from %s again: %+v, %v; want a duplicate", st.Code, st.From, res, err)
		}
	}
	var indexes []string
	rows, err := rawDB(t, path).Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	rows.Close()
	if want := []string{"events_delivery", "events_msg_id", "events_received", "events_status_packets"}; !reflect.DeepEqual(indexes, want) {
		t.Errorf("indexes of events: %q, want %q", indexes, want)
	}
}
