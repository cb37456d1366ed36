package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Check verifies the store's invariants in one read transaction and
// returns every problem found, joined with errors.Join (nil if none):
//
//   - the audit chain: sequence numbers without gaps, each row linked to
//     the previous one, each hash matching its row;
//   - references: every document has its packet, every delivery its
//     document, every event its delivery, every outbox row its packet
//     (and its delivery for an edoc), every quarantine entry and
//     idempotency key what it names, every packet kept in quarantine its
//     packet's SHA-256 and size and an entry, every directory brief the record
//     of its version; every packet its recorded size, and a packet in a
//     file its file, with no file in the directory but theirs (see
//     packetfiles.go); every delivery the
//     copy of its document's creation and fields, and the note of its
//     last applied status, that the report reads;
//   - deliveries: the transport fits the document's direction, SentAt is
//     set exactly when the transport is Sent, and the lifecycle is one
//     envelope.Lifecycle.Apply can reach, as far as certain rules tell (see
//     check.go); an incoming
//     delivery has seen 01; a milestone (arrived_at, accepted_at,
//     done_at) is set exactly when the lifecycle has seen its code (01,
//     03, 06).
//
// It reads the whole audit chain and every delivery: it is meant for
// tests and for an operator's occasional check, not for every request.
// It does not read the packets' bytes; CheckWith with PacketHashes does.
func (s *Store) Check(ctx context.Context) error {
	return s.CheckWith(ctx, CheckOptions{})
}

// CheckOptions choose the checks of CheckWith beyond Check's.
type CheckOptions struct {
	// PacketHashes reads every packet's bytes (its row's, its chunks or
	// its file) and compares their SHA-256 with the one its row records:
	// a packet file altered or damaged on disk since it was written is
	// found only so. It reads the whole store, gigabytes for a busy
	// gateway: lienthong store check does it unless told not to.
	PacketHashes bool
}

// CheckWith is Check, with the further checks opts choose, in the same
// read transaction.
func (s *Store) CheckWith(ctx context.Context, opts CheckOptions) error {
	return s.checkWith(ctx, opts, nil)
}

// checkWith is CheckWith; snapshotted, if not nil, is called once the
// snapshot is taken and before the packet files are checked (for the
// tests).
func (s *Store) checkWith(ctx context.Context, opts CheckOptions, snapshotted func()) error {
	var problems []error
	err := s.view(ctx, func(tx *sql.Tx) error {
		audit, err := checkAudit(ctx, tx)
		if err != nil {
			return fmt.Errorf("audit chain: %w", err)
		}
		problems = append(problems, audit...)
		for _, c := range orphanChecks {
			found, err := orphans(ctx, tx, c.query)
			if err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			for _, o := range found {
				problems = append(problems, fmt.Errorf("%s: %s", c.what, o))
			}
		}
		if snapshotted != nil {
			snapshotted()
		}
		files, err := s.files.check(ctx, tx, func(id string) (bool, error) { return s.stillInFile(ctx, id) })
		if err != nil {
			return fmt.Errorf("packet files: %w", err)
		}
		problems = append(problems, files...)
		bad, err := checkDeliveries(ctx, tx)
		if err != nil {
			return fmt.Errorf("deliveries: %w", err)
		}
		problems = append(problems, bad...)
		if opts.PacketHashes {
			bad, err := s.checkHashes(ctx, tx)
			if err != nil {
				return fmt.Errorf("packet hashes: %w", err)
			}
			problems = append(problems, bad...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	if len(problems) == 0 {
		return nil
	}
	for i, p := range problems {
		problems[i] = fmt.Errorf("store: check: %w", p)
	}
	return errors.Join(problems...)
}

// orphanChecks are the reference checks: each query returns one text per
// row that breaks the rule.
var orphanChecks = []struct{ what, query string }{
	{"document without packet", `SELECT d.id FROM documents d
		LEFT JOIN packets p ON p.id = d.packet_id WHERE p.id IS NULL`},
	{"delivery without document", `SELECT v.document || ' to ' || v.recipient FROM deliveries v
		LEFT JOIN documents d ON d.id = v.document WHERE d.id IS NULL`},
	{"document without delivery", `SELECT d.id FROM documents d
		WHERE NOT EXISTS (SELECT 1 FROM deliveries v WHERE v.document = d.id)`},
	// The report reads a delivery's copy of its document's fields and of
	// its last applied status's description (migration 0014).
	{"delivery whose copy of its document is not its document's", `SELECT deliveries.document || ' to ' || deliveries.recipient
		FROM deliveries JOIN documents ON documents.id = deliveries.document
		WHERE deliveries.created_at <> documents.created_at OR deliveries.agency <> documents.agency
			OR deliveries.report_document <> ` + reportDocument},
	{"delivery whose note is not its last status's description", `SELECT deliveries.document || ' to ' || deliveries.recipient
		FROM deliveries WHERE deliveries.note <> ` + deliveryNote},
	{"event without delivery", `SELECT e.seq FROM events e
		LEFT JOIN deliveries v ON v.document = e.document AND v.recipient = e.recipient
		WHERE v.document IS NULL`},
	{"event without packet", `SELECT e.seq FROM events e
		LEFT JOIN packets p ON p.id = e.packet_id WHERE e.packet_id IS NOT NULL AND p.id IS NULL`},
	{"outbox item without packet", `SELECT o.id FROM outbox o
		LEFT JOIN packets p ON p.id = o.packet_id WHERE p.id IS NULL`},
	{"outbox item of another kind than its packet", `SELECT o.id FROM outbox o
		JOIN packets p ON p.id = o.packet_id WHERE p.kind <> o.kind`},
	{"outbox item without document", `SELECT o.id FROM outbox o
		LEFT JOIN documents d ON d.id = o.document WHERE o.document <> '' AND d.id IS NULL`},
	{"outbox edoc without queued delivery", `SELECT o.id FROM outbox o
		LEFT JOIN deliveries v ON v.document = o.document AND v.recipient = o.recipient
		WHERE o.kind = 'edoc' AND (v.document IS NULL OR v.transport <> 'queued')`},
	{"quarantine entry without packet", `SELECT q.id FROM quarantine q
		LEFT JOIN packets p ON p.id = q.packet_id WHERE p.id IS NULL`},
	// Each packet in quarantine is kept once, with its SHA-256 and size
	// (quarantine.go), and as long as an entry names it.
	{"quarantine entry whose packet is not kept", `SELECT q.id FROM quarantine q
		LEFT JOIN quarantine_packets k ON k.packet_id = q.packet_id WHERE k.packet_id IS NULL`},
	{"quarantined packet not as kept", `SELECT k.packet_id FROM quarantine_packets k
		LEFT JOIN packets p ON p.id = k.packet_id WHERE p.id IS NULL OR p.sha256 <> k.sha256 OR p.size <> k.size`},
	{"quarantined packet without entry", `SELECT k.packet_id FROM quarantine_packets k
		WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.packet_id = k.packet_id)`},
	{"quarantine totals not its counts", `SELECT t.entries || ' entries, ' || t.bytes || ' bytes' FROM quarantine_totals t
		WHERE t.entries <> (SELECT count(*) FROM quarantine)
			OR t.bytes <> (SELECT coalesce(sum(size), 0) FROM quarantine_packets)
		UNION ALL SELECT 'no row' WHERE NOT EXISTS (SELECT 1 FROM quarantine_totals)`},
	{"idempotency key without document", `SELECT i.agency || ' ' || i.key FROM idempotency i
		LEFT JOIN documents d ON d.id = i.document WHERE d.id IS NULL`},
	{"packet whose size is not its length", `SELECT p.id FROM packets p
		WHERE p.size <> length(p.data) + coalesce((SELECT sum(length(c.data)) FROM packet_chunks c WHERE c.packet_id = p.id), 0)
			AND NOT ` + inFile},
	{"packet chunk without packet", `SELECT c.packet_id FROM packet_chunks c
		LEFT JOIN packets p ON p.id = c.packet_id WHERE p.id IS NULL`},
	// A brief is kept only beside the record of its version (a restart
	// believes it until the gateway checks the records).
	{"directory brief without its record", `SELECT b.key FROM directory_briefs b
		LEFT JOIN directory d ON d.key = b.key AND d.version = b.version WHERE d.key IS NULL`},
}

// orphans runs one of the orphanChecks.
func orphans(ctx context.Context, tx *sql.Tx, query string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		found = append(found, s)
	}
	return found, rows.Err()
}

// checkDeliveries checks every delivery against its document and its
// lifecycle.
func checkDeliveries(ctx context.Context, tx *sql.Tx) ([]error, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT d.direction, v.document, v.recipient, v.transport, v.state, v.before_recall, v.seen,
			v.sent_at IS NOT NULL, v.arrived_at IS NOT NULL, v.accepted_at IS NOT NULL, v.done_at IS NOT NULL
		FROM deliveries v JOIN documents d ON d.id = v.document`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []error
	for rows.Next() {
		var (
			direction, document, recipient, transport string
			state, beforeRecall, seen                 string
			hasSentAt                                 bool
			milestones                                [3]bool // arrived_at, accepted_at, done_at set
		)
		if err := rows.Scan(&direction, &document, &recipient, &transport, &state, &beforeRecall, &seen, &hasSentAt,
			&milestones[0], &milestones[1], &milestones[2]); err != nil {
			return nil, err
		}
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Errorf("delivery of %s to %s: "+format,
				append([]any{document, recipient}, args...)...))
		}
		l, err := parseLifecycle(state, beforeRecall, seen)
		if err != nil {
			bad("%v", err)
			continue
		}
		switch {
		case gateway.Direction(direction) == gateway.Incoming && gateway.Transport(transport) != gateway.Received,
			gateway.Direction(direction) == gateway.Outgoing && gateway.Transport(transport) != gateway.Queued &&
				gateway.Transport(transport) != gateway.Sent:
			bad("transport %q on an %q document", transport, direction)
		}
		if hasSentAt != (gateway.Transport(transport) == gateway.Sent) {
			bad("transport %q with sent_at set: %t", transport, hasSentAt)
		}
		if gateway.Direction(direction) == gateway.Incoming && !l.Seen.Has(envelope.StatusArrived) {
			bad("incoming, but 01 not seen (seen %q)", seen)
		}
		for i, c := range []envelope.StatusCode{envelope.StatusArrived, envelope.StatusAccepted, envelope.StatusDone} {
			if milestones[i] != l.Seen.Has(c) {
				bad("%s set is %t, but %s seen is %t (seen %q)", milestoneColumns[c], milestones[i], c, l.Seen.Has(c), seen)
			}
		}
		if err := checkLifecycle(l); err != nil {
			bad("%v", err)
		}
	}
	return problems, rows.Err()
}

// stateCodes pairs each state a progress code leads to with that code; a
// lifecycle that reached the state has necessarily seen the code.
var stateCodes = []struct {
	state envelope.State
	code  envelope.StatusCode
}{
	{envelope.StateArrived, envelope.StatusArrived},
	{envelope.StateRejected, envelope.StatusRejected},
	{envelope.StateAccepted, envelope.StatusAccepted},
	{envelope.StateAssigned, envelope.StatusAssigned},
	{envelope.StateProcessing, envelope.StatusProcessing},
	{envelope.StateDone, envelope.StatusDone},
}

// rank orders the progress states as the lifecycle does; -1 for the
// others.
func rank(s envelope.State) int {
	switch s {
	case envelope.StateSent:
		return 0
	case envelope.StateArrived:
		return 1
	case envelope.StateAccepted:
		return 2
	case envelope.StateAssigned:
		return 3
	case envelope.StateProcessing:
		return 4
	case envelope.StateDone:
		return 5
	}
	return -1
}

// checkLifecycle reports a lifecycle that envelope.Lifecycle.Apply cannot
// reach from the zero Lifecycle. It checks only what certainly follows
// from the rules of envelope.Lifecycle:
//
//   - BeforeRecall is StateSent outside a recall and is never a recall
//     state itself;
//   - the progress state (State, or BeforeRecall during or after a recall)
//     has seen the code that leads to it, and no progress code beyond it;
//   - 02 is seen exactly when the progress state is rejected, and then no
//     code of 03–06;
//   - 15 is seen exactly when the state is recalled; a recall state has
//     seen 13; a 16 follows a 13; a 13 seen outside a recall was answered
//     with 16.
func checkLifecycle(l envelope.Lifecycle) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if rank(l.State) < 0 && l.State != envelope.StateRejected &&
		l.State != envelope.StateRecallRequested && l.State != envelope.StateRecalled {
		bad("unknown state %d", int(l.State))
	}
	recall := l.State == envelope.StateRecallRequested || l.State == envelope.StateRecalled
	if !recall && l.BeforeRecall != envelope.StateSent {
		bad("state %s with before_recall %s", l.State, l.BeforeRecall)
	}
	if l.BeforeRecall == envelope.StateRecallRequested || l.BeforeRecall == envelope.StateRecalled ||
		rank(l.BeforeRecall) < 0 && l.BeforeRecall != envelope.StateRejected {
		bad("before_recall %s", l.BeforeRecall)
	}
	progress := l.State
	if recall {
		progress = l.BeforeRecall
	}
	if l.Seen.Has(envelope.StatusRejected) != (progress == envelope.StateRejected) {
		bad("02 seen is %t with progress state %s", l.Seen.Has(envelope.StatusRejected), progress)
	}
	for _, sc := range stateCodes {
		switch {
		case sc.state == progress && !l.Seen.Has(sc.code):
			bad("%s without %s seen", progress, sc.code)
		case sc.state == envelope.StateRejected || !l.Seen.Has(sc.code):
		case progress == envelope.StateRejected && sc.code != envelope.StatusArrived,
			rank(progress) >= 0 && rank(sc.state) > rank(progress):
			bad("%s seen but the progress state is %s", sc.code, progress)
		}
	}
	if l.Seen.Has(envelope.StatusRecallAccepted) != (l.State == envelope.StateRecalled) {
		bad("15 seen is %t in state %s", l.Seen.Has(envelope.StatusRecallAccepted), l.State)
	}
	if recall && !l.Seen.Has(envelope.StatusRecallRequested) {
		bad("%s without 13 seen", l.State)
	}
	if l.Seen.Has(envelope.StatusRecallRefused) && !l.Seen.Has(envelope.StatusRecallRequested) {
		bad("16 seen without 13")
	}
	if !recall && l.Seen.Has(envelope.StatusRecallRequested) && !l.Seen.Has(envelope.StatusRecallRefused) {
		bad("13 seen in state %s, with no 16", l.State)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("lifecycle %s (before recall %s, seen %q): %w", l.State, l.BeforeRecall, l.Seen, errors.Join(errs...))
}

// checkHashes hashes every packet of the snapshot tx, from its row, its
// chunks or its file, and reports each whose SHA-256 is not its row's. A
// packet whose file is not there, or cannot be opened, is reported by
// packetFiles.check already (unless dropped from the quarantine since the
// snapshot), and is not again.
func (s *Store) checkHashes(ctx context.Context, tx *sql.Tx) ([]error, error) {
	// The ids first, then each packet by a statement of its own: a
	// statement open over the whole table would hold every blob's pages
	// while the files are read.
	rows, err := tx.QueryContext(ctx, `SELECT p.id, p.sha256, `+inFile+` FROM packets p ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	type row struct {
		id, sha256 string
		inFile     bool
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.sha256, &r.inFile); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var problems []error
	h := sha256.New()
	for _, r := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h.Reset()
		var err error
		if r.inFile {
			err = s.files.hash(r.id, h)
		} else {
			err = hashStored(ctx, tx, r.id, h)
		}
		switch {
		case errors.Is(err, errUnreadableFile):
			continue // reported by packetFiles.check
		case err != nil:
			return nil, fmt.Errorf("packet %s: %w", r.id, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != r.sha256 {
			problems = append(problems, fmt.Errorf("packet %s: its bytes have the SHA-256 %s, its row records %s", r.id, got, r.sha256))
		}
	}
	return problems, nil
}

// errUnreadableFile is a packet file that is not there or cannot be
// opened, which packetFiles.check reports.
var errUnreadableFile = errors.New("packet file not readable")

// hash writes the bytes of the packet file id to h.
func (f *packetFiles) hash(id string, h hash.Hash) error {
	path, err := f.path(id)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnreadableFile, err)
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnreadableFile, err)
	}
	defer file.Close()
	if _, err := io.Copy(h, file); err != nil {
		return fmt.Errorf("its file: %w", err)
	}
	return nil
}

// hashStored writes the bytes of a packet kept in the database to h: its
// row's data, then its chunks in order (a large packet of an older store).
func hashStored(ctx context.Context, tx *sql.Tx, id string, h hash.Hash) error {
	var data []byte
	if err := tx.QueryRowContext(ctx, `SELECT data FROM packets WHERE id = ?`, id).Scan(&data); err != nil {
		return err
	}
	h.Write(data)
	rows, err := tx.QueryContext(ctx, `SELECT data FROM packet_chunks WHERE packet_id = ? ORDER BY seq`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var chunk sql.RawBytes
		if err := rows.Scan(&chunk); err != nil {
			return err
		}
		h.Write(chunk)
	}
	return rows.Err()
}
