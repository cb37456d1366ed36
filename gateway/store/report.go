package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// reportQuery reads the deliveries of the documents created in [since,
// until), in one pass in the order of creation, from one index:
// deliveries_created (migration 0014), which holds with each delivery its
// document's creation, agency and the text of its fields. Its rows are by
// document, in (created_at, id) order (reportScanner puts a document's
// deliveries back in the order they were created, by rowid). Reading the
// documents of the quarter and looking up each one's deliveries in another
// index took a million look-ups, half of SQLite's work for a report
// (issue 20). A report of some of the store's agencies adds
// agencyFilter: SQLite skips the others' deliveries in the index, without
// a look-up and without giving them to Go.
//
// Each column of a row costs calls into SQLite and a Go value, and each
// column SQLite reads, turns into text or joins costs it more: a row is
// the delivery's rowid, two texts that the index holds ready,
// reportDocument and reportDelivery (migrations 0013 and 0014), and the
// delivery's note. Building those texts from their dozen columns for every
// row took more CPU than the rest of the report together; looking up the
// note of each rejected delivery among its events, a fifth of the rest.
const reportQuery = `SELECT deliveries.report_document, deliveries.rowid, ` + reportDelivery + `, deliveries.note
FROM deliveries INDEXED BY deliveries_created
WHERE deliveries.created_at >= ? AND deliveries.created_at < ?`

// reportOrder ends reportQuery.
const reportOrder = ` ORDER BY deliveries.created_at, deliveries.document`

// agencyFilter is the condition of reportQuery that keeps n agencies.
func agencyFilter(n int) string {
	return ` AND deliveries.agency IN (?` + strings.Repeat(`, ?`, n-1) + `)`
}

// reportSep separates the fields of reportDocument and reportDelivery:
// the unit separator, char(31), which XML 1.0 text cannot hold.
const reportSep = "\x1f"

// reportDocument is the text of the fields of a document that the report
// reads, as each of its deliveries keeps it (report_document, migration
// 0014): insertDelivery computes it from the document's row when it
// inserts the delivery, and Check compares the two. Its fields are in the
// order of the doc constants below; the flags are direction = 'out' (bit
// 0), paper (bit 1), bussiness_doc_type (bits 2–6), verdict_by_gateway
// (bit 7) and signed_pdfs (bits 8 and up).
const reportDocument = `(((documents.direction = 'out') | (documents.paper << 1) | (documents.bussiness_doc_type << 2) |
		(documents.verdict_by_gateway << 7) | (documents.signed_pdfs << 8))
	|| char(31) || documents.created_at || char(31) || documents.verdict_outcome || char(31) || documents.due_date
	|| char(31) || documents.agency || char(31) || documents.sender || char(31) || documents.id)`

// The fields of reportDocument, in order.
const (
	docFlags = iota
	docCreated
	docVerdict
	docDue
	docAgency
	docSender
	docID
	docFields
)

// reportDelivery is the text of the fields of a delivery that the report
// reads, the last column of the index deliveries_created (migration 0014)
// word for word: SQLite reads an indexed expression from the index only
// where a statement has the same expression, and computes it otherwise
// (TestStore_ReportRows_IndexedTexts). Its fields are in the order of the
// del constants below; a NULL milestone is an empty field.
const reportDelivery = `(deliveries.state || char(31) || deliveries.seen || char(31) || coalesce(deliveries.arrived_at, '')
	|| char(31) || coalesce(deliveries.accepted_at, '') || char(31) || coalesce(deliveries.done_at, '')
	|| char(31) || deliveries.recipient)`

// The fields of reportDelivery, in order.
const (
	delState = iota
	delSeen
	delArrived
	delAccepted
	delDone
	delRecipient
	delFields
)

// ReportRows calls fn once for every delivery of the documents of q.Under
// and the agencies under it created in [q.Since, q.Until); see
// gateway.Store. A zero Since or Until is no bound. An Under that is not an
// agency code is gateway.ErrInvalidQuery.
//
// The rows come by document, oldest first (CreatedAt, then ID, whatever
// the agency), then by delivery in the order the deliveries were created.
// fn's error is returned as it is.
func (s *Store) ReportRows(ctx context.Context, q gateway.ReportQuery, fn func(*gateway.ReportRow) error) error {
	under, err := envelope.ParseAgencyCode(q.Under, envelope.CodeAny)
	if err != nil {
		return fmt.Errorf("store: report rows: %w: agency %q: %w", gateway.ErrInvalidQuery, q.Under, err)
	}
	since, until := int64(minMS), int64(maxMS)
	if !q.Since.IsZero() {
		since = ceilMS(q.Since)
	}
	if !q.Until.IsZero() {
		until = ceilMS(q.Until)
	}
	var fnErr error
	err = s.view(ctx, func(tx *sql.Tx) error {
		agencies, all, err := reportAgencies(ctx, tx, under)
		if err != nil {
			return err
		}
		if len(agencies) == 0 || since >= until {
			return nil
		}
		query, args := reportQuery, []any{since, until}
		if !all {
			query += agencyFilter(len(agencies))
			args = append(args, anys(agencies)...)
		}
		fnErr, err = newReportScanner().scan(ctx, tx, query+reportOrder, args, fn)
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: report rows of %s: %w", q.Under, err)
	}
	return nil
}

// The bounds of a stored time: no document is created outside them.
const (
	minMS = -1 << 63
	maxMS = 1<<63 - 1
)

// ceilMS is t in unix milliseconds, rounded up: a document stored at a
// millisecond before t is before t.
func ceilMS(t time.Time) int64 {
	v := ms(t)
	if t.After(time.UnixMilli(v)) {
		v++
	}
	return v
}

// reportAgencies returns the agencies that have documents and are under
// (or are) the agency under, and whether they are all the agencies that
// have documents. Codes that cannot be read belong to no agency's report.
func reportAgencies(ctx context.Context, tx *sql.Tx, under envelope.AgencyCode) (agencies []string, all bool, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT agency FROM documents`)
	if err != nil {
		return nil, false, fmt.Errorf("agencies: %w", err)
	}
	defer rows.Close()
	all = true
	for rows.Next() {
		var agency string
		if err := rows.Scan(&agency); err != nil {
			return nil, false, fmt.Errorf("agencies: %w", err)
		}
		if c, err := envelope.ParseAgencyCode(agency, envelope.CodeAny); err == nil && under.Contains(c) {
			agencies = append(agencies, agency)
		} else {
			all = false
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("agencies: %w", err)
	}
	return agencies, all, nil
}

// reportScanner reads the rows of reportQuery into reused
// gateway.ReportRows: those of one document are kept until its last
// delivery is read, then given to fn in the order of the deliveries'
// rowids. The lifecycle texts repeat across rows; each distinct one is
// parsed once.
type reportScanner struct {
	pending    []pendingRow
	lifecycles map[lifecycleKey]lifecycleText
}

// lifecycleKey is a delivery's state and seen set, as stored.
type lifecycleKey struct{ state, seen string }

// pendingRow is a row waiting for the others of its document.
type pendingRow struct {
	rowid int64
	row   gateway.ReportRow
}

// lifecycleText is a delivery's state and seen set, parsed.
type lifecycleText struct {
	state envelope.State
	seen  envelope.StatusSet
}

func newReportScanner() *reportScanner {
	return &reportScanner{lifecycles: map[lifecycleKey]lifecycleText{}}
}

// Bits of the flags of reportDocument.
const (
	reportOutgoing  = 1 << 0
	reportPaper     = 1 << 1
	reportBDTShift  = 2
	reportBDTMask   = 0x1f
	reportByGateway = 1 << 7
	reportPDFShift  = 8
)

// scan runs the query and calls fn with each row. It returns fn's error
// apart from its own.
func (r *reportScanner) scan(ctx context.Context, tx *sql.Tx, query string, args []any,
	fn func(*gateway.ReportRow) error) (fnErr, err error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		docText, delText, note string
		rowid                  int64
		docs                   [docFields]string
		dels                   [delFields]string
		doc                    gateway.ReportRow // the document's fields
		last                   string            // docText of doc
	)
	r.pending = r.pending[:0]
	for rows.Next() {
		if err := rows.Scan(&docText, &rowid, &delText, &note); err != nil {
			return nil, err
		}
		// The same text is the same document: its id is in it.
		if docText != last { // the first delivery of the next document
			if err := r.flush(fn); err != nil {
				return err, nil
			}
			if !splitFields(docs[:], docText) {
				return nil, fmt.Errorf("a document whose text holds the separator: %q", docText)
			}
			if doc, err = readDocument(&docs); err != nil {
				return nil, err
			}
			last = docText
		}
		if !splitFields(dels[:], delText) {
			return nil, fmt.Errorf("a delivery of %s whose text holds the separator: %q", doc.Document, delText)
		}
		row, err := r.delivery(&dels, rowid, &doc)
		if err != nil {
			return nil, fmt.Errorf("delivery of %s to %s: %w", doc.Document, dels[delRecipient], err)
		}
		// The note the report shows: a refusal's reason, a recall's.
		if row.State == envelope.StateRejected || row.State == envelope.StateRecallRequested {
			row.Note = note
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return r.flush(fn), nil
}

// splitFields splits text into the len(f) fields it holds, substrings of
// text. It reports false if text does not have that many.
func splitFields(f []string, text string) bool {
	for i := range len(f) - 1 {
		j := strings.IndexByte(text, reportSep[0])
		if j < 0 {
			return false
		}
		f[i], text = text[:j], text[j+1:]
	}
	f[len(f)-1] = text
	return strings.IndexByte(text, reportSep[0]) < 0
}

// readDocument reads the fields of reportDocument.
func readDocument(f *[docFields]string) (gateway.ReportRow, error) {
	flags, err1 := strconv.ParseInt(f[docFlags], 10, 64)
	created, err2 := strconv.ParseInt(f[docCreated], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return gateway.ReportRow{}, fmt.Errorf("document %s: %w", f[docID], err)
	}
	d := gateway.ReportRow{
		Document:         f[docID],
		Direction:        gateway.Incoming,
		Agency:           f[docAgency],
		From:             f[docSender],
		CreatedAt:        fromMS(created),
		BussinessDocType: int(flags>>reportBDTShift) & reportBDTMask,
		Paper:            flags&reportPaper != 0,
		Verdict:          f[docVerdict],
		GatewaySigned:    flags&reportByGateway != 0,
		DueDate:          envelope.Date(f[docDue]),
		SignedPDFs:       int(flags >> reportPDFShift),
	}
	if flags&reportOutgoing != 0 {
		d.Direction = gateway.Outgoing
	}
	return d, nil
}

// delivery adds the delivery of a row, with the given rowid, to the
// pending ones, with the fields of its document, doc.
func (r *reportScanner) delivery(f *[delFields]string, rowid int64, doc *gateway.ReportRow) (*gateway.ReportRow, error) {
	l, err := r.parseLifecycle(f[delState], f[delSeen])
	if err != nil {
		return nil, err
	}
	var times [3]time.Time
	for i, field := range [...]int{delArrived, delAccepted, delDone} {
		if f[field] == "" { // NULL
			continue
		}
		v, err := strconv.ParseInt(f[field], 10, 64)
		if err != nil {
			return nil, err
		}
		times[i] = fromMS(v)
	}
	r.pending = append(r.pending, pendingRow{rowid: rowid, row: *doc})
	row := &r.pending[len(r.pending)-1].row
	row.Recipient, row.State, row.Seen = f[delRecipient], l.state, l.seen
	row.ArrivedAt, row.AcceptedAt, row.DoneAt = times[0], times[1], times[2]
	return row, nil
}

// flush gives the pending rows of a document to fn, in the order their
// deliveries were created.
func (r *reportScanner) flush(fn func(*gateway.ReportRow) error) error {
	p := r.pending
	for i := 1; i < len(p); i++ { // a document has a few deliveries
		for j := i; j > 0 && p[j].rowid < p[j-1].rowid; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	r.pending = p[:0]
	for i := range p {
		if err := fn(&p[i].row); err != nil {
			return err
		}
	}
	return nil
}

// parseLifecycle reads a delivery's state and seen set, once per
// distinct pair.
func (r *reportScanner) parseLifecycle(state, seen string) (lifecycleText, error) {
	key := lifecycleKey{state, seen}
	if l, ok := r.lifecycles[key]; ok {
		return l, nil
	}
	var (
		l   lifecycleText
		err error
	)
	if l.state, err = envelope.ParseState(state); err != nil {
		return l, err
	}
	if err := l.seen.UnmarshalText([]byte(seen)); err != nil {
		return l, err
	}
	// The key's texts are substrings of a row's: cloned, so that the row
	// is not kept.
	r.lifecycles[lifecycleKey{strings.Clone(state), strings.Clone(seen)}] = l
	return l, nil
}
