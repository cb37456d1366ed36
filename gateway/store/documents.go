package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Page sizes of Documents.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// searchText is what DocumentQuery.Text is looked for in: the subject,
// number, notation and sender name, lower-cased.
func searchText(d *gateway.Document) string {
	return strings.ToLower(strings.Join([]string{d.Subject, d.Number, d.Notation, d.FromName}, "\x1f"))
}

// insertDocument stores d, a new document going dir, and p, its packet,
// at at (stamped); msgID is the Nats-Msg-Id it came in (incoming only).
// d takes the packet's id as its ID and PacketID, at as CreatedAt, dir,
// and none of the marks a later document leaves (revoked, updated,
// replaced). It returns the packet stored. A document that a unique index
// refuses (the agency's DocumentId once per direction and sender) is not
// stored, and false returned: the caller's error undoes its packet with
// the rest of the update.
func insertDocument(ctx context.Context, tx *sql.Tx, d *gateway.Document, dir gateway.Direction, p gateway.NewPacket, at time.Time, msgID string, writes fileWrites) (gateway.Packet, bool, error) {
	packet, err := insertPacket(ctx, tx, p, gateway.KindEdoc, at, writes)
	if err != nil {
		return gateway.Packet{}, false, err
	}
	d.ID, d.PacketID, d.CreatedAt, d.Direction = packet.ID, packet.ID, at, dir
	d.RevokedAt, d.ReplacedBy, d.UpdatedBy = nil, "", ""
	inserted, err := insertDocumentRow(ctx, tx, d, msgID)
	return packet, inserted, err
}

// insertDocumentRow is insertDocument's row of the documents table.
func insertDocumentRow(ctx context.Context, tx *sql.Tx, d *gateway.Document, msgID string) (bool, error) {
	warns, err := warningsText(d.Warnings)
	if err != nil {
		return false, fmt.Errorf("document %s: %w", d.ID, err)
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO documents (id, direction, agency, document_id, sender, sender_name, number, notation,
			subject, type_name, promulgation_date, priority, due_date, paper, bussiness_doc_type, related,
			attachments, signed_pdfs, verdict_outcome, verdict_subject, verdict_fingerprint,
			verdict_reason_vi, verdict_reason_en, verdict_legacy, verdict_by_gateway, packet_id, msg_id, search,
			created_at, revoked_at, replaced_by, updated_by, warnings)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		d.ID, string(d.Direction), d.Agency, d.DocumentID, d.From, d.FromName, d.Number, d.Notation,
		d.Subject, d.TypeName, string(d.PromulgationDate), d.Priority, string(d.DueDate), d.Paper,
		d.BussinessDocType, d.Related, d.Attachments, d.SignedPDFs, d.Verdict.Outcome, d.Verdict.Subject,
		d.Verdict.Fingerprint, d.Verdict.ReasonVI, d.Verdict.ReasonEN, d.Verdict.Legacy, d.Verdict.ByGateway,
		d.PacketID, msgID, searchText(d), ms(d.CreatedAt), nullMS(d.RevokedAt), d.ReplacedBy, d.UpdatedBy, warns)
	if err != nil {
		return false, fmt.Errorf("document %s: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("document %s: %w", d.ID, err)
	}
	return n == 1, nil
}

// warningsText is the warnings column of ws: a JSON array, or "" for none.
func warningsText(ws []envelope.Warning) (string, error) {
	if len(ws) == 0 {
		return "", nil
	}
	b, err := json.Marshal(ws)
	if err != nil {
		return "", fmt.Errorf("warnings: %w", err)
	}
	return string(b), nil
}

// documentColumns are the columns scanDocument reads.
const documentColumns = `id, direction, agency, document_id, sender, sender_name, number, notation,
	subject, type_name, promulgation_date, priority, due_date, paper, bussiness_doc_type, related,
	attachments, signed_pdfs, verdict_outcome, verdict_subject, verdict_fingerprint, verdict_reason_vi,
	verdict_reason_en, verdict_legacy, verdict_by_gateway, packet_id, created_at, revoked_at, replaced_by,
	updated_by, warnings`

// scanDocument reads the documentColumns of a row.
func scanDocument(row scanner) (gateway.Document, error) {
	var (
		d                            gateway.Document
		direction, promulgation, due string
		createdAt                    int64
		revokedAt                    sql.NullInt64
		warns                        string
	)
	err := row.Scan(&d.ID, &direction, &d.Agency, &d.DocumentID, &d.From, &d.FromName, &d.Number,
		&d.Notation, &d.Subject, &d.TypeName, &promulgation, &d.Priority, &due, &d.Paper,
		&d.BussinessDocType, &d.Related, &d.Attachments, &d.SignedPDFs, &d.Verdict.Outcome, &d.Verdict.Subject,
		&d.Verdict.Fingerprint, &d.Verdict.ReasonVI, &d.Verdict.ReasonEN, &d.Verdict.Legacy,
		&d.Verdict.ByGateway, &d.PacketID, &createdAt, &revokedAt, &d.ReplacedBy, &d.UpdatedBy, &warns)
	if err == nil && warns != "" {
		if jerr := json.Unmarshal([]byte(warns), &d.Warnings); jerr != nil {
			err = fmt.Errorf("document %s: warnings: %w", d.ID, jerr)
		}
	}
	d.Direction = gateway.Direction(direction)
	d.PromulgationDate, d.DueDate = envelope.Date(promulgation), envelope.Date(due)
	d.CreatedAt = fromMS(createdAt)
	d.RevokedAt = fromNullMS(revokedAt)
	return d, err
}

// documentByID returns a document; gateway.ErrNotFound if there is none.
func documentByID(ctx context.Context, tx *sql.Tx, id string) (*gateway.Document, error) {
	d, err := scanDocument(tx.QueryRowContext(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("document %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("document %s: %w", id, err)
	}
	return &d, nil
}

// AcceptDocument records an outgoing document; see gateway.Store. The
// store sets the document's ID and PacketID to Packet.ID and its
// CreatedAt to At (to the millisecond, UTC; now if At is zero); an empty
// From is the Agency. There must be at least one recipient, each once. A
// replay or a duplicate writes nothing.
func (s *Store) AcceptDocument(ctx context.Context, a gateway.AcceptDocument) (*gateway.Document, bool, error) {
	var (
		doc    *gateway.Document
		replay bool
	)
	err := s.updatePackets(ctx, []gateway.NewPacket{a.Packet}, func(tx *sql.Tx, writes fileWrites) error {
		doc, replay = nil, false
		d := a.Document
		if d.Agency == "" || d.DocumentID == "" {
			return errors.New("the document needs an agency and a DocumentId")
		}
		if d.From == "" {
			d.From = d.Agency // the sender of an outgoing document
		}
		if len(a.Recipients) == 0 {
			return errors.New("no recipient")
		}

		if a.IdempotencyKey != "" {
			var hash, existing string
			err := tx.QueryRowContext(ctx,
				`SELECT request_hash, document FROM idempotency WHERE agency = ? AND key = ?`,
				d.Agency, a.IdempotencyKey).Scan(&hash, &existing)
			switch {
			case err == nil && hash == a.RequestHash:
				replay = true
				doc, err = documentByID(ctx, tx, existing)
				return err
			case err == nil:
				return fmt.Errorf("key %q: %w", a.IdempotencyKey, gateway.ErrIdempotencyConflict)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}

		at := stamp(a.At)
		// The agency's DocumentId is looked for only when the unique
		// index refuses it: a document that is no duplicate, all but a
		// few, costs no look-up before it is stored. A duplicate's error
		// undoes its packet with the rest of the update.
		packet, inserted, err := insertDocument(ctx, tx, &d, gateway.Outgoing, a.Packet, at, "", writes)
		if err != nil {
			return err
		}
		if !inserted {
			var existing string
			err := tx.QueryRowContext(ctx,
				`SELECT id FROM documents WHERE direction = 'out' AND agency = ? AND document_id = ?`,
				d.Agency, d.DocumentID).Scan(&existing)
			if err != nil {
				return fmt.Errorf("document %s not stored, and no document of %s has its DocumentId %s: %w", d.ID, d.Agency, d.DocumentID, err)
			}
			return &gateway.DuplicateError{Existing: existing}
		}
		// The deliveries, their queued events and their outbox items, a
		// statement each for all the recipients.
		codes := make([]string, len(a.Recipients))
		deliveries := make([]gateway.Delivery, len(a.Recipients))
		events := make([]gateway.Event, len(a.Recipients))
		for i, r := range a.Recipients {
			if r.Code == "" {
				return errors.New("a recipient has no code")
			}
			if slices.Contains(codes[:i], r.Code) {
				return fmt.Errorf("recipient %s twice", r.Code)
			}
			codes[i] = r.Code
			deliveries[i] = gateway.Delivery{
				Document:      d.ID,
				Recipient:     r.Code,
				RecipientName: r.Name,
				Transport:     gateway.Queued,
				UpdatedAt:     at,
			}
			events[i] = gateway.Event{
				Document: d.ID, Recipient: r.Code, Kind: gateway.EventQueued, PacketID: packet.ID,
				At: at, RecordedAt: at,
			}
		}
		if len(codes) > 0 {
			if err := insertDeliveries(ctx, tx, deliveries); err != nil {
				return err
			}
			if err := insertEvents(ctx, tx, events...); err != nil {
				return err
			}
			if err := s.insertOutboxes(ctx, tx, packet.ID, gateway.KindEdoc, codes, d.ID, at); err != nil {
				return err
			}
		}
		if a.IdempotencyKey != "" {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO idempotency (agency, key, request_hash, document, created_at) VALUES (?, ?, ?, ?, ?)`,
				d.Agency, a.IdempotencyKey, a.RequestHash, d.ID, ms(at))
			if err != nil {
				return fmt.Errorf("idempotency key %q: %w", a.IdempotencyKey, err)
			}
		}
		err = s.appendAudit(ctx, tx, actionAccept, d.ID, map[string]any{
			"agency": d.Agency, "documentId": d.DocumentID, "recipients": codes,
			"packet": packet.ID, "sha256": packet.SHA256, "size": packet.Size,
			"bussinessDocType": d.BussinessDocType, "related": d.Related,
		})
		if err != nil {
			return err
		}
		if err := s.markRelated(ctx, tx, &d, at); err != nil {
			return err
		}
		doc = &d
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: accept document %s of %s: %w", a.Document.DocumentID, a.Document.Agency, err)
	}
	return doc, replay, nil
}

// receivedAs finds an incoming document by its recipient, its sender and
// its DocumentId: the key of a document received (agency, sender,
// document_id), and its parameters in that order.
const receivedAs = `direction = 'in' AND agency = ? AND sender = ? AND document_id = ?`

// receivedBefore reports whether d, received, is in the store: a read
// ahead of the transaction, which looks again. A failed read says no.
func (s *Store) receivedBefore(ctx context.Context, d gateway.Document) bool {
	var found bool
	err := s.read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM documents WHERE `+receivedAs+`)`,
			d.Agency, d.From, d.DocumentID).Scan(&found)
	})
	return err == nil && found
}

// ReceiveDocument records an incoming document; see gateway.Store. The
// store sets the document's ID and PacketID to Packet.ID and CreatedAt to
// At. The delivery's recipient is the document's Agency. Reply, if not
// nil, must be a status 01. A duplicate writes nothing.
func (s *Store) ReceiveDocument(ctx context.Context, r gateway.ReceiveDocument) (*gateway.Document, bool, error) {
	var (
		doc       *gateway.Document
		duplicate bool
	)
	packets := packetsOf(r.Packet, r.Reply)
	if len(r.Packet.Data) > chunkSize && s.receivedBefore(ctx, r.Document) {
		// A large packet received again — a peer may publish a valid
		// one again and again, each time under a new message id — is
		// not written to a file and synced (67 MB for a 50 MB
		// attachment) only for the transaction to find the duplicate
		// and remove it. The transaction decides, as for any packet.
		packets = nil
	}
	err := s.updatePackets(ctx, packets, func(tx *sql.Tx, writes fileWrites) error {
		doc, duplicate = nil, false
		d := r.Document
		if d.Agency == "" || d.From == "" || d.DocumentID == "" {
			return errors.New("the document needs an agency, a sender and a DocumentId")
		}
		if r.Reply != nil && r.Reply.Code != envelope.StatusArrived {
			return fmt.Errorf("the reply to a received document is status %s, want 01", r.Reply.Code)
		}

		var existing string
		err := tx.QueryRowContext(ctx, `SELECT id FROM documents WHERE `+receivedAs,
			d.Agency, d.From, d.DocumentID).Scan(&existing)
		switch {
		case err == nil:
			duplicate = true
			doc, err = documentByID(ctx, tx, existing)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		at := stamp(r.At)
		// A duplicate was looked for first: it is not an error, and its
		// packet must not be stored.
		packet, inserted, err := insertDocument(ctx, tx, &d, gateway.Incoming, r.Packet, at, r.MsgID, writes)
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("document %s: not stored, a unique index refused it", d.ID)
		}
		arrived, err := envelope.Lifecycle{}.Apply(envelope.StatusArrived, envelope.PartyRecipient)
		if err != nil {
			return err // cannot happen: 01 is legal on a new lifecycle
		}
		// The delivery arrived when its 01 says, or else when it was
		// received.
		// Its note is its 01's description (the status event below).
		arrivedAt, note := at, ""
		if r.Reply != nil {
			arrivedAt, note = stamp(r.Reply.At), r.Reply.Description
		}
		err = insertDelivery(ctx, tx, gateway.Delivery{
			Document:  d.ID,
			Recipient: d.Agency,
			Transport: gateway.Received,
			Lifecycle: arrived,
			UpdatedAt: at,
			Note:      note,
		}, &arrivedAt)
		if err != nil {
			return err
		}
		detail := map[string]any{
			"agency": d.Agency, "from": d.From, "documentId": d.DocumentID, "msgId": r.MsgID,
			"packet": packet.ID, "sha256": packet.SHA256, "size": packet.Size,
			"verdict": d.Verdict.Outcome, "bussinessDocType": d.BussinessDocType, "related": d.Related,
		}
		// The events, received and then its 01, in one statement.
		events := []gateway.Event{{
			Document: d.ID, Recipient: d.Agency, Kind: gateway.EventReceived, By: d.From,
			PacketID: packet.ID, At: at, RecordedAt: at,
		}}
		var reply gateway.Packet
		if r.Reply != nil {
			if reply, err = insertPacket(ctx, tx, r.Reply.Packet, gateway.KindStatus, at, writes); err != nil {
				return err
			}
			events = append(events, gateway.Event{
				Document: d.ID, Recipient: d.Agency, Kind: gateway.EventStatus,
				StatusCode: r.Reply.Code, By: r.Reply.By, Description: r.Reply.Description,
				Staff: r.Reply.Staff, PacketID: reply.ID, At: arrivedAt, RecordedAt: at,
			})
		}
		if err := insertEvents(ctx, tx, events...); err != nil {
			return err
		}
		if r.Reply != nil {
			if err := s.insertOutbox(ctx, tx, reply.ID, gateway.KindStatus, r.Reply.To, d.ID, at); err != nil {
				return err
			}
			detail["reply"] = reply.ID
		}
		if err := s.appendAudit(ctx, tx, actionReceive, d.ID, detail); err != nil {
			return err
		}
		if err := s.markRelated(ctx, tx, &d, at); err != nil {
			return err
		}
		doc = &d
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: receive document %s from %s for %s: %w",
			r.Document.DocumentID, r.Document.From, r.Document.Agency, err)
	}
	return doc, duplicate, nil
}

// markRelated applies a revocation, update or replacement (d's
// BussinessDocType 1–3) to the document it names: the outgoing document of
// the same agency, or the incoming one of the same agency and sender, with
// DocumentId d.Related. The related document gets an event on each of its
// deliveries and its mark; if there is none, nothing happens.
func (s *Store) markRelated(ctx context.Context, tx *sql.Tx, d *gateway.Document, at time.Time) error {
	var (
		kind   gateway.EventKind
		action string
		set    string
	)
	switch d.BussinessDocType {
	case 1:
		kind, action, set = gateway.EventRevoked, actionRevoked, `revoked_at = ?`
	case 2:
		kind, action, set = gateway.EventUpdated, actionUpdated, `updated_by = ?`
	case 3:
		kind, action, set = gateway.EventReplaced, actionReplaced, `replaced_by = ?`
	default:
		return nil
	}
	if d.Related == "" {
		return nil
	}
	var (
		related string
		row     *sql.Row
	)
	if d.Direction == gateway.Outgoing {
		row = tx.QueryRowContext(ctx,
			`SELECT id FROM documents
			WHERE direction = 'out' AND agency = ? AND document_id = ? AND id <> ?`,
			d.Agency, d.Related, d.ID)
	} else {
		row = tx.QueryRowContext(ctx,
			`SELECT id FROM documents
			WHERE direction = 'in' AND agency = ? AND sender = ? AND document_id = ? AND id <> ?`,
			d.Agency, d.From, d.Related, d.ID)
	}
	err := row.Scan(&related)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("related document %s: %w", d.Related, err)
	}
	var value any = d.ID
	if d.BussinessDocType == 1 {
		value = ms(at)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE documents SET `+set+` WHERE id = ?`, value, related); err != nil {
		return fmt.Errorf("related document %s: %w", related, err)
	}
	recipients, err := tx.QueryContext(ctx, `SELECT recipient FROM deliveries WHERE document = ? ORDER BY rowid`, related)
	if err != nil {
		return err
	}
	var codes []string
	for recipients.Next() {
		var c string
		if err := recipients.Scan(&c); err != nil {
			recipients.Close()
			return err
		}
		codes = append(codes, c)
	}
	if err := recipients.Close(); err != nil {
		return err
	}
	for _, c := range codes {
		err := insertEvent(ctx, tx, gateway.Event{
			Document: related, Recipient: c, Kind: kind, By: d.From, PacketID: d.PacketID,
			At: at, RecordedAt: at,
		}, "")
		if err != nil {
			return err
		}
	}
	return s.appendAudit(ctx, tx, action, related, map[string]any{"by": d.ID, "documentId": d.DocumentID})
}

// Document returns a document with its deliveries and every event, oldest
// first; gateway.ErrNotFound if there is none.
func (s *Store) Document(ctx context.Context, id string) (*gateway.DocumentDetail, error) {
	var detail *gateway.DocumentDetail
	err := s.view(ctx, func(tx *sql.Tx) error {
		sum, err := documentSummary(ctx, tx, id)
		if err != nil {
			return err
		}
		events, err := eventsOf(ctx, tx, id)
		if err != nil {
			return err
		}
		detail = &gateway.DocumentDetail{Document: sum.Document, Deliveries: sum.Deliveries, Events: events}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return detail, nil
}

// DocumentSummary returns a document with its deliveries, in the order
// they were created, without its events; gateway.ErrNotFound if there is
// none.
func (s *Store) DocumentSummary(ctx context.Context, id string) (*gateway.DocumentSummary, error) {
	var sum *gateway.DocumentSummary
	err := s.view(ctx, func(tx *sql.Tx) (err error) {
		sum, err = documentSummary(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return sum, nil
}

// documentSummary reads a document and its deliveries in tx.
func documentSummary(ctx context.Context, tx *sql.Tx, id string) (*gateway.DocumentSummary, error) {
	d, err := documentByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	deliveries, err := deliveriesOf(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	sum := &gateway.DocumentSummary{Document: *d, Deliveries: deliveries[id]}
	if sum.Deliveries == nil {
		sum.Deliveries = []gateway.Delivery{}
	}
	return sum, nil
}

// CountDocuments counts the documents q selects, all pages together (its
// Cursor and Limit are ignored).
func (s *Store) CountDocuments(ctx context.Context, q gateway.DocumentQuery) (int, error) {
	q.Cursor, q.Limit = "", 0
	b, err := newDocumentQuery(q)
	if err != nil {
		return 0, fmt.Errorf("store: count documents: %w", err)
	}
	conds, args := b.conds, b.args
	if n := len(b.agencies); n > 0 {
		conds = append([]string{`agency IN (?` + strings.Repeat(", ?", n-1) + `)`}, conds...)
		args = append(anys(b.agencies), args...)
	}
	query := `SELECT count(*) FROM documents`
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	var n int
	err = s.view(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, query, args...).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count documents: %w", err)
	}
	return n, nil
}

// Documents lists documents, newest first (by CreatedAt, then ID), one
// page at a time, each with its deliveries. Next is an opaque cursor; a
// cursor this store did not make is an error.
func (s *Store) Documents(ctx context.Context, q gateway.DocumentQuery) (gateway.DocumentPage, error) {
	b, err := newDocumentQuery(q)
	if err != nil {
		return gateway.DocumentPage{}, fmt.Errorf("store: documents: %w", err)
	}
	page := gateway.DocumentPage{Documents: []gateway.DocumentSummary{}}
	err = s.view(ctx, func(tx *sql.Tx) error {
		query, args := b.sql()
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			d, err := scanDocument(rows)
			if err != nil {
				return err
			}
			if len(page.Documents) == b.limit {
				last := page.Documents[len(page.Documents)-1]
				page.Next = cursor{createdAt: ms(last.CreatedAt), id: last.ID}.String()
				break
			}
			page.Documents = append(page.Documents, gateway.DocumentSummary{Document: d})
			ids = append(ids, d.ID)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		deliveries, err := deliveriesOf(ctx, tx, ids...)
		if err != nil {
			return err
		}
		for i := range page.Documents {
			page.Documents[i].Deliveries = deliveries[page.Documents[i].ID]
			if page.Documents[i].Deliveries == nil {
				page.Documents[i].Deliveries = []gateway.Delivery{}
			}
		}
		return nil
	})
	if err != nil {
		return gateway.DocumentPage{}, fmt.Errorf("store: documents: %w", err)
	}
	return page, nil
}

// cursor is where a page of Documents ends: the last document's
// CreatedAt (unix milliseconds) and ID.
type cursor struct {
	createdAt int64
	id        string
}

// String encodes the cursor: base64url of "<createdAt>.<id>".
func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.createdAt, 10) + "." + c.id))
}

// parseCursor decodes a cursor made by String.
func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("%w: bad cursor %q", gateway.ErrInvalidQuery, s)
	}
	at, id, ok := strings.Cut(string(b), ".")
	v, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || !gateway.ValidID(id) {
		return cursor{}, fmt.Errorf("%w: bad cursor %q", gateway.ErrInvalidQuery, s)
	}
	return cursor{createdAt: v, id: id}, nil
}

// documentQuery is the one query builder of the store: the filtered,
// keyset-paginated list of documents behind Documents. Each condition
// comes with its arguments; sql assembles them.
type documentQuery struct {
	agencies []string
	conds    []string
	args     []any
	limit    int
}

// maxAgencyBranches is the most agencies sql lists one by one; beyond, it
// uses one IN list.
const maxAgencyBranches = 64

// newDocumentQuery builds the query of q.
func newDocumentQuery(q gateway.DocumentQuery) (*documentQuery, error) {
	b := &documentQuery{limit: q.Limit}
	if b.limit <= 0 {
		b.limit = defaultPageSize
	}
	b.limit = min(b.limit, maxPageSize)
	for _, a := range q.Agencies {
		if !slices.Contains(b.agencies, a) {
			b.agencies = append(b.agencies, a)
		}
	}
	switch q.Direction {
	case "":
	case gateway.Outgoing, gateway.Incoming:
		// A literal, not a parameter (it is one of the two): SQLite uses
		// a partial index only where the statement itself implies the
		// index's condition, and documents_outgoing and
		// documents_incoming find a document by its DocumentId.
		b.where(`direction = '` + string(q.Direction) + `'`)
	default:
		return nil, fmt.Errorf("%w: bad direction %q", gateway.ErrInvalidQuery, q.Direction)
	}
	if q.State != nil {
		if _, err := q.State.MarshalText(); err != nil {
			return nil, fmt.Errorf("%w: %w", gateway.ErrInvalidQuery, err)
		}
	}
	if q.Recipient != "" && len(q.Recipients) > 0 {
		return nil, fmt.Errorf("%w: both Recipient and Recipients", gateway.ErrInvalidQuery)
	}
	recipients := q.Recipients
	if q.Recipient != "" {
		recipients = []string{q.Recipient}
	}
	// One delivery meets both conditions.
	var delivery []string
	var deliveryArgs []any
	if len(recipients) > 0 {
		delivery = append(delivery, `v.recipient `+in(len(recipients)))
		deliveryArgs = append(deliveryArgs, anys(recipients)...)
	}
	if q.State != nil {
		delivery = append(delivery, `v.state = ?`)
		deliveryArgs = append(deliveryArgs, q.State.String())
	}
	if len(delivery) > 0 {
		b.where(`EXISTS (SELECT 1 FROM deliveries v WHERE v.document = documents.id AND `+strings.Join(delivery, ` AND `)+`)`,
			deliveryArgs...)
	}
	if !q.Since.IsZero() {
		b.where(`created_at >= ?`, ms(q.Since))
	}
	if !q.Until.IsZero() {
		// Rounded up to the millisecond: a document stored at a
		// millisecond before Until is kept.
		until := ms(q.Until)
		if q.Until.After(time.UnixMilli(until)) {
			until++
		}
		b.where(`created_at < ?`, until)
	}
	if t := strings.ToLower(strings.TrimSpace(q.Text)); t != "" {
		b.where(`instr(search, ?) > 0`, t)
	}
	if q.DocumentID != "" {
		b.where(`document_id = ?`, q.DocumentID)
	}
	switch {
	case q.From != "" && len(q.Senders) > 0:
		return nil, fmt.Errorf("%w: both From and Senders", gateway.ErrInvalidQuery)
	case q.From != "":
		b.where(`sender = ?`, q.From)
	case len(q.Senders) > 0:
		b.where(`sender `+in(len(q.Senders)), anys(q.Senders)...)
	}
	if q.Cursor != "" {
		c, err := parseCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		b.where(`(created_at, id) < (?, ?)`, c.createdAt, c.id)
	}
	return b, nil
}

// where adds a condition.
func (b *documentQuery) where(cond string, args ...any) {
	b.conds = append(b.conds, cond)
	b.args = append(b.args, args...)
}

// sql returns the statement and its arguments. It asks for one row more
// than the page, to know whether there is a next page.
//
// With several agencies, each gets its own branch reading its newest
// documents from the (agency, created_at, id) index, and the branches are
// merged: a single IN list would make SQLite sort every document of those
// agencies to find the newest.
func (b *documentQuery) sql() (string, []any) {
	var (
		q    strings.Builder
		args []any
	)
	branch := func(agencyCond string, agencyArgs ...any) {
		q.WriteString(`SELECT ` + documentColumns + ` FROM documents`)
		conds := b.conds
		if agencyCond != "" {
			conds = append([]string{agencyCond}, conds...)
			args = append(args, agencyArgs...)
		}
		for i, c := range conds {
			if i == 0 {
				q.WriteString(` WHERE `)
			} else {
				q.WriteString(` AND `)
			}
			q.WriteString(c)
		}
		args = append(args, b.args...)
		q.WriteString(` ORDER BY created_at DESC, id DESC LIMIT ?`)
		args = append(args, b.limit+1)
	}
	switch n := len(b.agencies); {
	case n == 0:
		branch("")
	case n == 1:
		branch(`agency = ?`, b.agencies[0])
	case n > maxAgencyBranches:
		branch(`agency IN (?`+strings.Repeat(", ?", n-1)+`)`, anys(b.agencies)...)
	default:
		q.WriteString(`SELECT ` + documentColumns + ` FROM (`)
		for i, a := range b.agencies {
			if i > 0 {
				q.WriteString(` UNION ALL `)
			}
			q.WriteString(`SELECT * FROM (`)
			branch(`agency = ?`, a)
			q.WriteString(`)`)
		}
		q.WriteString(`) ORDER BY created_at DESC, id DESC LIMIT ?`)
		args = append(args, b.limit+1)
	}
	return q.String(), args
}

// in is the condition "IN" a list of n arguments; one is "= ?".
func in(n int) string {
	if n == 1 {
		return `= ?`
	}
	return `IN (?` + strings.Repeat(", ?", n-1) + `)`
}

// anys converts strings to query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
