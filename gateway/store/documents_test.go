package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

func TestStore_AcceptDocument(t *testing.T) {
	t.Run("Records", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		at := time.Date(2026, 3, 2, 8, 30, 0, 123456789, time.FixedZone("ICT", 7*3600))
		a := newAccept(vpcp, "doc-1", at, hanoi, hue)
		doc := mustAccept(t, s, a)

		if got, want := doc.ID, a.Packet.ID; got != want {
			t.Errorf("ID: got %s, want the packet's %s", got, want)
		}
		if got, want := doc.PacketID, a.Packet.ID; got != want {
			t.Errorf("PacketID: got %s, want %s", got, want)
		}
		if got, want := doc.Direction, gateway.Outgoing; got != want {
			t.Errorf("Direction: got %s, want %s", got, want)
		}
		if got, want := doc.CreatedAt, at.UTC().Truncate(time.Millisecond); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("CreatedAt: got %v, want %v in UTC", got, want)
		}

		d := mustDocument(t, s, doc.ID)
		if fmt.Sprint(d.Document) != fmt.Sprint(*doc) {
			t.Errorf("Document:\n got %+v\nwant %+v", d.Document, *doc)
		}
		if got, want := d.Subject, a.Document.Subject; got != want {
			t.Errorf("Subject: got %q, want %q", got, want)
		}
		if got, want := d.PromulgationDate, a.Document.PromulgationDate; got != want {
			t.Errorf("PromulgationDate: got %q, want %q", got, want)
		}
		if got, want := d.Verdict, a.Document.Verdict; got != want {
			t.Errorf("Verdict: got %+v, want %+v", got, want)
		}
		if got, want := len(d.Deliveries), 2; got != want {
			t.Fatalf("deliveries: got %d, want %d", got, want)
		}
		for i, r := range a.Recipients {
			v := d.Deliveries[i]
			if v.Recipient != r.Code || v.RecipientName != r.Name {
				t.Errorf("delivery %d: got %s %q, want %s %q", i, v.Recipient, v.RecipientName, r.Code, r.Name)
			}
			if v.Transport != gateway.Queued || v.State != envelope.StateSent || v.Lifecycle != (envelope.Lifecycle{}) || v.SentAt != nil {
				t.Errorf("delivery to %s: got %s %s %+v %v, want queued, sent, a zero lifecycle, no SentAt",
					v.Recipient, v.Transport, v.State, v.Lifecycle, v.SentAt)
			}
		}
		if got, want := eventKinds(d), []string{"queued " + hanoi, "queued " + hue}; !equal(got, want) {
			t.Errorf("events: got %q, want %q", got, want)
		}

		items := mustDue(t, s, at)
		if got, want := len(items), 2; got != want {
			t.Fatalf("outbox: got %d items, want %d", got, want)
		}
		for i, it := range items {
			if it.PacketID != doc.PacketID || it.Kind != gateway.KindEdoc || it.Document != doc.ID ||
				it.Recipient != a.Recipients[i].Code || it.Attempts != 0 || !it.NextAt.Equal(doc.CreatedAt) {
				t.Errorf("outbox item %d: got %+v", i, it)
			}
		}
		if got, want := items[0].MsgID(), doc.PacketID+":"+hanoi; got != want {
			t.Errorf("MsgID: got %s, want %s", got, want)
		}

		p, err := s.Packet(t.Context(), doc.PacketID)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(a.Packet.Data)
		if p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != int64(len(a.Packet.Data)) || string(p.Data) != string(a.Packet.Data) || p.Kind != gateway.KindEdoc {
			t.Errorf("packet: got %s %d bytes %s", p.SHA256, p.Size, p.Kind)
		}
		if got, want := auditActions(t, path), []string{"accept " + doc.ID}; !equal(got, want) {
			t.Errorf("audit: got %q, want %q", got, want)
		}
	})

	t.Run("DuplicateDocument", func(t *testing.T) {
		s := mustOpenStore(t)
		first := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi))
		second := newAccept(vpcp, "doc-1", t0.Add(time.Second), hue)
		_, _, err := s.AcceptDocument(t.Context(), second)
		if !errors.Is(err, gateway.ErrDuplicateDocument) {
			t.Fatalf("second accept: got %v, want ErrDuplicateDocument", err)
		}
		var dup *gateway.DuplicateError
		if !errors.As(err, &dup) || dup.Existing != first.ID {
			t.Errorf("second accept: got %v, want a *DuplicateError naming %s", err, first.ID)
		}
		// Found when the document's row was refused: its packet, stored
		// before, is undone with it.
		if _, err := s.Packet(t.Context(), second.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("the duplicate's packet: %v, want none", err)
		}
		// The same DocumentId from another agency is another document.
		mustAccept(t, s, newAccept(btttt, "doc-1", t0.Add(2*time.Second), hanoi))
		if got, want := len(mustDue(t, s, t0.Add(time.Hour))), 2; got != want {
			t.Errorf("outbox: got %d items, want %d", got, want)
		}
	})

	t.Run("IdempotentReplay", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		a := newAccept(vpcp, "doc-1", t0, hanoi)
		a.IdempotencyKey, a.RequestHash = "key-1", "hash-1"
		first := mustAccept(t, s, a)

		again := newAccept(vpcp, "doc-1", t0.Add(time.Minute), hanoi) // a retry: new packet
		again.IdempotencyKey, again.RequestHash = "key-1", "hash-1"
		doc, replay, err := s.AcceptDocument(t.Context(), again)
		if err != nil {
			t.Fatal(err)
		}
		if !replay || doc.ID != first.ID || !doc.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("replay: got %s replay=%t, want %s replay=true", doc.ID, replay, first.ID)
		}
		if _, err := s.Packet(t.Context(), again.Packet.ID); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("the replayed packet was stored: %v", err)
		}
		if got, want := len(mustDue(t, s, t0.Add(time.Hour))), 1; got != want {
			t.Errorf("outbox: got %d items, want %d", got, want)
		}
		if got, want := len(auditActions(t, path)), 1; got != want {
			t.Errorf("audit: got %d rows, want %d", got, want)
		}
	})

	t.Run("IdempotencyConflict", func(t *testing.T) {
		s := mustOpenStore(t)
		a := newAccept(vpcp, "doc-1", t0, hanoi)
		a.IdempotencyKey, a.RequestHash = "key-1", "hash-1"
		mustAccept(t, s, a)
		b := newAccept(vpcp, "doc-2", t0, hanoi)
		b.IdempotencyKey, b.RequestHash = "key-1", "hash-2"
		if _, _, err := s.AcceptDocument(t.Context(), b); !errors.Is(err, gateway.ErrIdempotencyConflict) {
			t.Errorf("same key, other request: got %v, want ErrIdempotencyConflict", err)
		}
		// Keys are per agency.
		c := newAccept(btttt, "doc-2", t0, hanoi)
		c.IdempotencyKey, c.RequestHash = "key-1", "hash-2"
		mustAccept(t, s, c)
	})

	for _, tt := range []struct {
		name    string
		mutate  func(*gateway.AcceptDocument)
		wantErr error
	}{
		{"DuplicateRecipient", func(a *gateway.AcceptDocument) {
			a.Recipients = append(a.Recipients, gateway.Recipient{Code: hanoi})
		}, nil},
		{"NoRecipient", func(a *gateway.AcceptDocument) { a.Recipients = nil }, nil},
		{"NoDocumentID", func(a *gateway.AcceptDocument) { a.Document.DocumentID = "" }, nil},
		{"BadPacketID", func(a *gateway.AcceptDocument) { a.Packet.ID = "doc-1" }, nil},
		{"StatusPacket", func(a *gateway.AcceptDocument) { a.Packet.Kind = gateway.KindStatus }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpenStore(t)
			a := newAccept(vpcp, "doc-1", t0, hanoi, hue)
			tt.mutate(&a)
			if _, _, err := s.AcceptDocument(t.Context(), a); err == nil {
				t.Fatal("no error")
			}
			page, err := s.Documents(t.Context(), gateway.DocumentQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Documents) != 0 || len(mustDue(t, s, t0.Add(time.Hour))) != 0 {
				t.Errorf("a refused document left %d documents and outbox items", len(page.Documents))
			}
		})
	}

	for _, tt := range []struct {
		name     string
		docType  int
		kind     gateway.EventKind
		check    func(d gateway.Document, by *gateway.Document) bool
		wantMark string
	}{
		{"Revocation", 1, gateway.EventRevoked, func(d gateway.Document, by *gateway.Document) bool {
			return d.RevokedAt != nil && d.RevokedAt.Equal(by.CreatedAt) && d.UpdatedBy == "" && d.ReplacedBy == ""
		}, "revoked"},
		{"Update", 2, gateway.EventUpdated, func(d gateway.Document, by *gateway.Document) bool {
			return d.RevokedAt == nil && d.UpdatedBy == by.ID && d.ReplacedBy == ""
		}, "updated"},
		{"Replacement", 3, gateway.EventReplaced, func(d gateway.Document, by *gateway.Document) bool {
			return d.RevokedAt == nil && d.UpdatedBy == "" && d.ReplacedBy == by.ID
		}, "replaced"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lienthong.db")
			s := mustOpenStoreAt(t, path)
			orig := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
			other := mustAccept(t, s, newAccept(btttt, "doc-1", t0, hanoi)) // same DocumentId, other agency
			a := newAccept(vpcp, "doc-2", t0.Add(time.Hour), hanoi, hue)
			a.Document.BussinessDocType, a.Document.Related = tt.docType, "doc-1"
			by := mustAccept(t, s, a)

			d := mustDocument(t, s, orig.ID)
			if !tt.check(d.Document, by) {
				t.Errorf("related document: got revoked %v, updated by %q, replaced by %q",
					d.RevokedAt, d.UpdatedBy, d.ReplacedBy)
			}
			want := []string{"queued " + hanoi, "queued " + hue, string(tt.kind) + " " + hanoi, string(tt.kind) + " " + hue}
			if got := eventKinds(d); !equal(got, want) {
				t.Errorf("related document's events: got %q, want %q", got, want)
			}
			if e := d.Events[2]; e.PacketID != by.PacketID || !e.At.Equal(by.CreatedAt) {
				t.Errorf("%s event: got packet %s at %v, want %s at %v", tt.kind, e.PacketID, e.At, by.PacketID, by.CreatedAt)
			}
			o := mustDocument(t, s, other.ID)
			if o.RevokedAt != nil || o.UpdatedBy != "" || o.ReplacedBy != "" || len(o.Events) != 1 {
				t.Errorf("another agency's document was marked: %+v", o.Document)
			}
			if got, want := auditActions(t, path), []string{"accept " + orig.ID, "accept " + other.ID, "accept " + by.ID, tt.wantMark + " " + orig.ID}; !equal(got, want) {
				t.Errorf("audit: got %q, want %q", got, want)
			}

			// A related document that is not here is no error.
			b := newAccept(vpcp, "doc-3", t0.Add(2*time.Hour), hanoi)
			b.Document.BussinessDocType, b.Document.Related = tt.docType, "doc-unknown"
			mustAccept(t, s, b)
		})
	}
}

func TestStore_ReceiveDocument(t *testing.T) {
	t.Run("Records", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		r := newReceive(vpcp, hanoi, "in-1", t0)
		doc := mustReceive(t, s, r)
		if doc.ID != r.Packet.ID || doc.Direction != gateway.Incoming || doc.From != hanoi || !doc.CreatedAt.Equal(t0) {
			t.Errorf("document: got %+v", doc)
		}
		d := mustDocument(t, s, doc.ID)
		if got, want := len(d.Deliveries), 1; got != want {
			t.Fatalf("deliveries: got %d, want %d", got, want)
		}
		v := d.Deliveries[0]
		var seen envelope.StatusSet
		seen.Add(envelope.StatusArrived)
		if v.Recipient != vpcp || v.Transport != gateway.Received || v.State != envelope.StateArrived || v.Lifecycle.Seen != seen {
			t.Errorf("delivery: got %s %s %s seen %s, want %s received arrived seen 01", v.Recipient, v.Transport, v.State, v.Lifecycle.Seen, vpcp)
		}
		if got, want := eventKinds(d), []string{"received " + vpcp, "status " + vpcp + " 01"}; !equal(got, want) {
			t.Errorf("events: got %q, want %q", got, want)
		}
		if e := d.Events[1]; e.By != vpcp || e.PacketID != r.Reply.Packet.ID {
			t.Errorf("status event: got by %s packet %s, want by %s packet %s", e.By, e.PacketID, vpcp, r.Reply.Packet.ID)
		}
		items := mustDue(t, s, t0)
		if got, want := len(items), 1; got != want {
			t.Fatalf("outbox: got %d items, want %d", got, want)
		}
		if it := items[0]; it.Kind != gateway.KindStatus || it.Recipient != hanoi || it.PacketID != r.Reply.Packet.ID || it.Document != doc.ID {
			t.Errorf("outbox item: got %+v", it)
		}
		if got, want := auditActions(t, path), []string{"receive " + doc.ID}; !equal(got, want) {
			t.Errorf("audit: got %q, want %q", got, want)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lienthong.db")
		s := mustOpenStoreAt(t, path)
		first := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
		doc, dup, err := s.ReceiveDocument(t.Context(), newReceive(vpcp, hanoi, "in-1", t0.Add(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		if !dup || doc.ID != first.ID {
			t.Errorf("second receive: got %s duplicate=%t, want %s duplicate=true", doc.ID, dup, first.ID)
		}
		if got, want := len(mustDue(t, s, t0.Add(time.Hour))), 1; got != want {
			t.Errorf("outbox: got %d items, want %d", got, want)
		}
		if got, want := len(auditActions(t, path)), 1; got != want {
			t.Errorf("audit: got %d rows, want %d", got, want)
		}
		// Another sender's DocumentId, or the same packet for another
		// hosted agency, is another document.
		mustReceive(t, s, newReceive(vpcp, hue, "in-1", t0.Add(time.Minute)))
		mustReceive(t, s, newReceive(btttt, hanoi, "in-1", t0.Add(time.Minute)))
		// An outgoing document with the same DocumentId is no duplicate.
		mustAccept(t, s, newAccept(vpcp, "in-1", t0, hanoi))
	})

	t.Run("NoReply", func(t *testing.T) {
		s := mustOpenStore(t)
		r := newReceive(vpcp, hanoi, "in-1", t0)
		r.Reply = nil
		doc := mustReceive(t, s, r)
		if got, want := deliveryTo(t, mustDocument(t, s, doc.ID), vpcp).State, envelope.StateArrived; got != want {
			t.Errorf("state: got %s, want %s", got, want)
		}
		if got := len(mustDue(t, s, t0)); got != 0 {
			t.Errorf("outbox: got %d items, want none", got)
		}
	})

	t.Run("ReplyNot01", func(t *testing.T) {
		s := mustOpenStore(t)
		r := newReceive(vpcp, hanoi, "in-1", t0)
		r.Reply.Code = envelope.StatusAccepted
		if _, _, err := s.ReceiveDocument(t.Context(), r); err == nil {
			t.Error("a reply other than 01: no error")
		}
	})

	t.Run("Revocation", func(t *testing.T) {
		s := mustOpenStore(t)
		orig := mustReceive(t, s, newReceive(vpcp, hanoi, "in-1", t0))
		fromHue := mustReceive(t, s, newReceive(vpcp, hue, "in-1", t0))
		r := newReceive(vpcp, hanoi, "in-2", t0.Add(time.Hour))
		r.Document.BussinessDocType, r.Document.Related = 1, "in-1"
		by := mustReceive(t, s, r)
		d := mustDocument(t, s, orig.ID)
		if d.RevokedAt == nil || !d.RevokedAt.Equal(by.CreatedAt) {
			t.Errorf("RevokedAt: got %v, want %v", d.RevokedAt, by.CreatedAt)
		}
		if got, want := eventKinds(d), []string{"received " + vpcp, "status " + vpcp + " 01", "revoked " + vpcp}; !equal(got, want) {
			t.Errorf("events: got %q, want %q", got, want)
		}
		if h := mustDocument(t, s, fromHue.ID); h.RevokedAt != nil {
			t.Error("another sender's document was revoked")
		}
	})
}

func TestStore_Document(t *testing.T) {
	s := mustOpenStore(t)
	if _, err := s.Document(t.Context(), gateway.NewID(t0)); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("unknown document: got %v, want ErrNotFound", err)
	}
	if _, err := s.Packet(t.Context(), gateway.NewID(t0)); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("unknown packet: got %v, want ErrNotFound", err)
	}
}

// TestStore_DocumentSummary: a document with its deliveries as Document
// returns them, lifecycles and notes included, without the events.
func TestStore_DocumentSummary(t *testing.T) {
	s := mustOpenStore(t)
	if _, err := s.DocumentSummary(t.Context(), gateway.NewID(t0)); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("unknown document: got %v, want ErrNotFound", err)
	}
	doc := mustAccept(t, s, newAccept(vpcp, "doc-1", t0, hanoi, hue))
	if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hue, "doc-1", envelope.StatusArrived, t0)); err != nil {
		t.Fatal(err)
	}
	got, err := s.DocumentSummary(t.Context(), doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := mustDocument(t, s, doc.ID)
	if !reflect.DeepEqual(got.Document, want.Document) || !reflect.DeepEqual(got.Deliveries, want.Deliveries) {
		t.Errorf("DocumentSummary:\n got %+v\nwant %+v, %+v", *got, want.Document, want.Deliveries)
	}
	if len(got.Deliveries) != 2 || got.Deliveries[1].State != envelope.StateArrived {
		t.Errorf("deliveries: got %+v, want two, Huế's arrived", got.Deliveries)
	}
}

// TestStore_DocumentsByDocumentIDPlan: a list asking for an agency's
// document by its DocumentId (and sender) finds it in the unique index of
// its direction, not among all of the agency's documents, whatever the
// values.
func TestStore_DocumentsByDocumentIDPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	for _, c := range []struct {
		q    gateway.DocumentQuery
		want string
	}{
		{gateway.DocumentQuery{Agencies: []string{vpcp}, Direction: gateway.Incoming, DocumentID: "d", From: hanoi, Limit: 2},
			"INDEX documents_incoming (agency=? AND sender=? AND document_id=?)"},
		{gateway.DocumentQuery{Agencies: []string{vpcp}, Direction: gateway.Outgoing, DocumentID: "d"},
			"INDEX documents_outgoing (agency=? AND document_id=?)"},
	} {
		query, args, err := store.DocumentsQuery(c.q)
		if err != nil {
			t.Fatal(err)
		}
		// Planned with NULLs bound: the plan must not depend on the
		// values, or SQLite prepares the statement again at every call
		// with new ones (which the statement cache is there to spare).
		if p := queryPlan(t, db, query, make([]any, len(args))...); !strings.Contains(p, c.want) {
			t.Errorf("plan of %s:\n%s\nwant %s", query, p, c.want)
		}
	}
}

// TestStore_DocumentsByStatePlan: a list of the documents with a
// delivery in some state reads each document's deliveries by their key
// (migration 0018 dropped deliveries_report), not by a scan.
func TestStore_DocumentsByStatePlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	mustOpenStoreAt(t, path)
	db := rawDB(t, path)
	rejected := envelope.StateRejected
	for _, q := range []gateway.DocumentQuery{
		{State: &rejected},
		{Agencies: []string{vpcp}, State: &rejected, Recipient: hanoi},
	} {
		query, args, err := store.DocumentsQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		p := queryPlan(t, db, query, args...)
		if want := "USING INDEX sqlite_autoindex_deliveries_1 (document=?"; !strings.Contains(p, want) || strings.Contains(p, "SCAN v") {
			t.Errorf("plan of %s:\n%s\nwant %s", query, p, want)
		}
	}
}

func TestStore_Documents(t *testing.T) {
	s := mustOpenStore(t)
	// Newest first: want holds the ids in list order.
	var want []string
	add := func(id string) { want = append([]string{id}, want...) }
	for i := range 7 {
		add(mustAccept(t, s, newAccept(vpcp, fmt.Sprintf("out-%d", i), t0.Add(time.Duration(i)*time.Minute), hanoi, hue)).ID)
	}
	var incoming []string
	for i := range 3 {
		id := mustReceive(t, s, newReceive(btttt, hanoi, fmt.Sprintf("in-%d", i), t0.Add(time.Hour+time.Duration(i)*time.Minute))).ID
		add(id)
		incoming = append([]string{id}, incoming...)
	}
	// Three documents at the same millisecond: ordered by id.
	var same []string
	for i := range 3 {
		id := mustAccept(t, s, newAccept(btttt, fmt.Sprintf("same-%d", i), t0.Add(2*time.Hour), hue)).ID
		same = append(same, id)
	}
	for _, id := range same {
		add(id) // NewID ids made in one millisecond are in random order
	}
	sortTies(want[:3])

	// Many agencies, among them the two that have documents.
	many := []string{vpcp}
	for i := range 70 {
		many = append(many, fmt.Sprintf("000.00.%02d.H26", i+1))
	}
	many = append(many, btttt)

	for _, tt := range []struct {
		name     string
		agencies []string
	}{
		{"Pages", nil},
		{"PagesOfTwoAgencies", []string{btttt, vpcp}},
		{"PagesOfManyAgencies", many},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			q := gateway.DocumentQuery{Limit: 4, Agencies: tt.agencies}
			pages := 0
			for {
				page, err := s.Documents(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Documents) > 4 {
					t.Fatalf("page of %d documents, limit 4", len(page.Documents))
				}
				for _, d := range page.Documents {
					got = append(got, d.ID)
					if len(d.Deliveries) == 0 {
						t.Errorf("document %s listed without its deliveries", d.ID)
					}
				}
				if page.Next == "" {
					break
				}
				if pages > 10 {
					t.Fatal("pages do not end")
				}
				q.Cursor = page.Next
			}
			if !equal(got, want) {
				t.Errorf("documents:\n got %q\nwant %q", got, want)
			}
			if pages != 4 {
				t.Errorf("pages: got %d, want 4", pages)
			}
		})
	}

	t.Run("Deliveries", func(t *testing.T) {
		page, err := s.Documents(t.Context(), gateway.DocumentQuery{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		last := page.Documents[len(page.Documents)-1] // out-0
		if got := len(last.Deliveries); got != 2 || last.Deliveries[0].Recipient != hanoi || last.Deliveries[1].Recipient != hue {
			t.Errorf("out-0 deliveries: got %+v", last.Deliveries)
		}
	})

	arrived := envelope.StateArrived
	for _, tt := range []struct {
		name string
		q    gateway.DocumentQuery
		want []string
	}{
		{"Agency", gateway.DocumentQuery{Agencies: []string{vpcp}}, want[6:]},
		{"Agencies", gateway.DocumentQuery{Agencies: []string{vpcp, btttt}}, want},
		{"SameAgencyTwice", gateway.DocumentQuery{Agencies: []string{vpcp, vpcp}}, want[6:]},
		{"ManyAgencies", gateway.DocumentQuery{Agencies: many[1:], Limit: 3}, want[:3]},
		{"IncomingOfTwoAgencies", gateway.DocumentQuery{Agencies: []string{vpcp, btttt}, Direction: gateway.Incoming}, incoming},
		{"Incoming", gateway.DocumentQuery{Direction: gateway.Incoming}, incoming},
		{"OutgoingOfBTTTT", gateway.DocumentQuery{Direction: gateway.Outgoing, Agencies: []string{btttt}}, want[:3]},
		{"State", gateway.DocumentQuery{State: &arrived}, incoming},
		{"Since", gateway.DocumentQuery{Since: t0.Add(5 * time.Minute)}, want[:8]},
		{"Until", gateway.DocumentQuery{Until: t0.Add(5 * time.Minute)}, want[8:]}, // out-5 excluded
		{"UntilWithinAMillisecond", gateway.DocumentQuery{Until: t0.Add(5*time.Minute + 500*time.Microsecond)}, want[7:]},
		{"SinceUntil", gateway.DocumentQuery{Since: t0.Add(2 * time.Minute), Until: t0.Add(5 * time.Minute)}, want[8:11]},
		{"UntilOfAnAgency", gateway.DocumentQuery{Agencies: []string{btttt}, Until: t0.Add(2 * time.Hour)}, incoming},
		{"Recipient", gateway.DocumentQuery{Recipient: hanoi}, want[6:]},
		{"RecipientOfTwoAgencies", gateway.DocumentQuery{Agencies: []string{vpcp, btttt}, Recipient: hue, Limit: 4}, []string{want[0], want[1], want[2], want[6]}},
		{"RecipientOfIncoming", gateway.DocumentQuery{Recipient: btttt}, incoming},
		{"RecipientAndState", gateway.DocumentQuery{Recipient: btttt, State: &arrived}, incoming},
		{"RecipientNotInState", gateway.DocumentQuery{Recipient: hue, State: &arrived}, nil},
		{"UnknownRecipient", gateway.DocumentQuery{Recipient: "000.00.00.A01"}, nil},
		{"Recipients", gateway.DocumentQuery{Recipients: []string{hanoi, hue}}, append(want[:3:3], want[6:]...)},
		{"RecipientsOneKnown", gateway.DocumentQuery{Recipients: []string{"000.00.00.A01", hanoi}}, want[6:]},
		{"RecipientsOne", gateway.DocumentQuery{Recipients: []string{btttt}}, incoming},
		{"RecipientsAndState", gateway.DocumentQuery{Recipients: []string{hue, btttt}, State: &arrived}, incoming},
		{"RecipientsNotInState", gateway.DocumentQuery{Recipients: []string{hanoi, hue}, State: &arrived}, nil},
		{"Sender", gateway.DocumentQuery{From: hanoi}, incoming},
		{"Senders", gateway.DocumentQuery{Senders: []string{hanoi, vpcp}}, want[3:]},
		{"SendersOne", gateway.DocumentQuery{Senders: []string{btttt}}, want[:3]},
		{"SendersUnknown", gateway.DocumentQuery{Senders: []string{"000.00.00.A01"}}, nil},
		{"Text", gateway.DocumentQuery{Text: "ĐỀ ÁN 06 OUT-3"}, want[9:10]},
		{"TextNotation", gateway.DocumentQuery{Text: "ubnd-kgvx"}, incoming},
		{"TextSenderName", gateway.DocumentQuery{Text: "hà nội", Limit: 2}, incoming[:2]},
		{"Nothing", gateway.DocumentQuery{Agencies: []string{hue}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.Documents(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range page.Documents {
				got = append(got, d.ID)
			}
			if !equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("StateChanges", func(t *testing.T) {
		accepted := envelope.StateAccepted
		if _, err := s.ApplyStatus(t.Context(), newStatus(vpcp, hue, "out-2", envelope.StatusAccepted, t0.Add(3*time.Hour))); err != nil {
			t.Fatal(err)
		}
		page, err := s.Documents(t.Context(), gateway.DocumentQuery{State: &accepted})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Documents) != 1 || page.Documents[0].ID != want[len(want)-3] {
			t.Errorf("accepted documents: got %d, want out-2", len(page.Documents))
		}
		// out-2 is accepted by Huế, not by Hà Nội: with a recipient, the
		// state is that delivery's.
		for _, tt := range []struct {
			recipient string
			want      int
		}{{hue, 1}, {hanoi, 0}} {
			q := gateway.DocumentQuery{State: &accepted, Recipient: tt.recipient}
			page, err := s.Documents(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.CountDocuments(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Documents) != tt.want || n != tt.want {
				t.Errorf("accepted by %s: listed %d, counted %d, want %d", tt.recipient, len(page.Documents), n, tt.want)
			}
		}
	})

	for _, tt := range []struct {
		name string
		q    gateway.DocumentQuery
	}{
		{"BadCursor", gateway.DocumentQuery{Cursor: "not a cursor"}},
		{"ForgedCursor", gateway.DocumentQuery{Cursor: "MTIzLmFiYw"}}, // "123.abc"
		{"BadDirection", gateway.DocumentQuery{Direction: "sideways"}},
		{"BadState", gateway.DocumentQuery{State: new(envelope.State(99))}},
		{"RecipientAndRecipients", gateway.DocumentQuery{Recipient: hanoi, Recipients: []string{hue}}},
		{"FromAndSenders", gateway.DocumentQuery{From: hanoi, Senders: []string{vpcp}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Documents(t.Context(), tt.q); err == nil {
				t.Error("no error")
			}
		})
	}
}

// sortTies sorts ids newest first, as the list does for documents made in
// the same millisecond: by id, descending.
func sortTies(ids []string) {
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] > ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
}

// TestStore_CountDocuments: the count is the length of the list over all
// its pages, for the same filters.
func TestStore_CountDocuments(t *testing.T) {
	s := mustOpenStore(t)
	for i := range 7 {
		mustAccept(t, s, newAccept(vpcp, fmt.Sprintf("count-%d", i), t0.Add(time.Duration(i)*time.Minute), hanoi))
	}
	mustReceive(t, s, newReceive(hanoi, vpcp, "count-in", t0))
	for _, q := range []gateway.DocumentQuery{
		{},
		{Direction: gateway.Outgoing},
		{Direction: gateway.Incoming},
		{Agencies: []string{vpcp}, Since: t0.Add(3 * time.Minute)},
		{Agencies: []string{hanoi, vpcp}, Limit: 2},
		{Until: t0.Add(3 * time.Minute)},
		{Since: t0.Add(time.Minute), Until: t0.Add(5 * time.Minute), Limit: 2},
		{Recipient: hanoi},
		{Recipient: hanoi, Direction: gateway.Incoming}, // an incoming document's delivery is to its agency
		{Agencies: []string{vpcp}, Recipient: hanoi, State: new(envelope.StateSent), Until: t0.Add(4 * time.Minute)},
		{Recipients: []string{hanoi, vpcp}, Limit: 3},
		{Senders: []string{vpcp, hanoi}, Limit: 3},
	} {
		n, err := s.CountDocuments(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		listed := 0
		for {
			page, err := s.Documents(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			listed += len(page.Documents)
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
		if n != listed || n == 0 {
			t.Errorf("%+v: count %d, listed %d", q, n, listed)
		}
	}
}

// undo0018 gives a store the index migration 0018 dropped, as 0014 made
// it: the tests of older migrations, which run 0013 again, need it.
const undo0018 = `CREATE INDEX deliveries_report ON deliveries (document, recipient, state)`

// TestOpen_MigrateDeliveriesReportDropped: migration 0018, run on a store
// as 0017 left it, drops deliveries_report, and the lists by state and by
// recipient find the same documents.
func TestOpen_MigrateDeliveriesReportDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	mustAccept(t, s, newAccept(vpcp, "out-1", t0, hue, hanoi, btttt))
	migrationHistory(t, s)
	done, rejected := envelope.StateDone, envelope.StateRejected
	queries := []gateway.DocumentQuery{{State: &done}, {State: &rejected, Recipient: hue}, {Recipient: hanoi}, {State: &rejected, Recipient: hanoi}}
	list := func() [][]string {
		var out [][]string
		for _, q := range queries {
			page, err := s.Documents(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range page.Documents {
				ids = append(ids, d.ID)
			}
			out = append(out, ids)
		}
		return out
	}
	want := list()
	if len(want[0]) != 1 || len(want[1]) != 1 || len(want[3]) != 0 {
		t.Fatalf("lists before: %q, want out-1 done (to hanoi) and rejected by hue", want)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(undo0018 + `; PRAGMA user_version = 17`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = mustOpenStoreAt(t, path)
	if got := list(); !reflect.DeepEqual(got, want) {
		t.Errorf("lists after 0018: %q, want %q", got, want)
	}
	if n := count(t, rawDB(t, path), `SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_report'`); n != 0 {
		t.Errorf("deliveries_report after 0018: %d, want none", n)
	}
}
