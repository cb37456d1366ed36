// Package storetest makes SQLite stores full of data for tests and
// benchmarks: the report fixture, a million documents loaded with SQL in
// seconds rather than through the store's methods one at a time.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// fixtureVersion names the generator. Change it whenever what the fixture
// holds changes, so that databases cached by an older generator are made
// again.
const fixtureVersion = "2"

// LoadReportFixture returns a store holding the report fixture (see
// [WriteReportFixture]), opened for the rest of tb and closed when it
// ends.
//
// The database is made once (in about a minute for a million documents)
// and cached in the system's temporary directory, named after the
// generator's version, the store's schema (its version and a hash of its
// text) and the arguments; later runs open it again, which takes no time.
// The store is the cached file itself: the caller must only read it.
func LoadReportFixture(tb testing.TB, docs int, under string, since, until time.Time) *store.Store {
	tb.Helper()
	f, err := newFixture(docs, under, since, until)
	if err != nil {
		tb.Fatal(err)
	}
	schema, err := schemaFingerprint(tb.Context(), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "lienthong-fixtures")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("report-v%s-%s-%d-%s-%d-%d.db", fixtureVersion,
		schema, docs, f.under.Tokens(), f.since, f.until))
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		tb.Logf("storetest: making the report fixture of %d documents in %s (once: it is cached)", docs, path)
		start := time.Now()
		tmp := path + ".tmp-" + rand.Text()
		defer removeDB(tmp)
		if err := f.write(tb.Context(), tmp); err != nil {
			tb.Fatal(err)
		}
		// Link, not rename: a fixture another process made meanwhile, and
		// may have open, is left alone.
		if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
			tb.Fatal(err)
		}
		tb.Logf("storetest: report fixture made in %s", time.Since(start).Round(time.Millisecond))
	} else if err != nil {
		tb.Fatal(err)
	}
	s, err := store.Open(tb.Context(), path, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// schemaFingerprint names the schema a new store has: its version and a
// hash of its text, so that a fixture made before a migration changed is
// not used. dir is a scratch directory.
func schemaFingerprint(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "schema.db")
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var schema string
	err = db.QueryRowContext(ctx, `SELECT group_concat(sql, ';') FROM
		(SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name)`).Scan(&schema)
	if err != nil {
		return "", fmt.Errorf("storetest: schema: %w", err)
	}
	sum := sha256.Sum256([]byte(schema))
	return fmt.Sprintf("schema%d-%x", store.SchemaVersion(), sum[:6]), nil
}

// removeDB removes a database file and its companions: its journals, and
// the directory of packet files that store.Open makes beside it.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
	os.RemoveAll(path + "-packets")
}

// WriteReportFixture makes a new database at path, which must not exist,
// holding the report fixture: docs documents of under and three agencies
// under it, created evenly over [since, until), with their deliveries and
// their status events; and some documents no report of under in that
// window reads. Every number it holds follows from the arguments:
// [ReportFixtureTotals] gives those of the report's rows. The store's
// Check finds nothing wrong with it.
//
// under must be an agency code of level 1 to 3 (such as 000.00.00.H41).
// Its units are under itself and the three agencies below it numbered 01,
// 02 and 03 (000.00.01.H41 …). Document i (0 ≤ i < docs, in the order of
// creation) is, by rules of i alone:
//
//   - of the unit under, under, 01, 02, 03 for i%5 = 0, 1, 2, 3, 4 (40 %
//     of the documents are under's own);
//   - outgoing when i is even, incoming when it is odd;
//   - outgoing, to 1, 2 or 3 recipients for (i/2)%3 = 0, 1, 2 (2 on
//     average, so 1.5 deliveries per document overall); by (i/6)%4: 0, all
//     recipients are other units (internal); 1, the first is another unit
//     and the others are outside under (000.00.00.G22, then 000.00.00.G12
//     and 000.00.00.H26, or other central agencies if under holds those);
//     2 and 3, all are outside;
//   - incoming, from another unit when (i/6)%4 = 0, else from one of the
//     three outside agencies; its one delivery is to its unit;
//   - with a paper copy when i%7 = 0;
//   - a replacement (BussinessDocType 3) when i%31 = 0, else new (0);
//   - with the verdict "missing" when i%19 = 0 (as an import of old
//     documents might store), else "valid";
//   - with 1 + i%3 attachments, i%3 of them signed PDFs;
//   - due 3 + i%12 days after its creation (the date in Vietnam) when
//     i%4 = 1 or i%8 = 0, else with no due date.
//
// Delivery j (0, 1, 2) of document i follows lifecycle profile
// (i + 7j) % 23 of the 23 profiles below; an incoming delivery has always
// seen 01, so its profile 0 is arrived, and its profile 19 is 01,02:
//
//	 0 sent (seen nothing)           12 rejected 01,02
//	 1 arrived 01                    13 processing 01,03,05
//	 2 arrived 01                    14 done 01,03,04,05,06
//	 3 accepted 01,03                15 recall_requested (before accepted) 01,03,13
//	 4 accepted 01,03                16 recalled (before done) 01,03,06,13,15
//	 5 assigned 01,03,04             17 done 01,03,04,05,06,13,16 (a recall refused)
//	 6 processing 01,03,04,05        18 done 01,03,06
//	 7 processing 01,03,04,05        19 rejected 02 (refused on arrival, no 01)
//	 8 done 01,03,04,05,06           20 assigned 01,03,04
//	 9 done 01,03,06                 21 accepted 01,03
//	10 done 01,03,04,05,06           22 done 01,03,04,05,06
//	11 done 01,03,05,06
//
// Each code seen is one applied status event, in code order, at these
// times after the document's creation: 01 at 1–30 min ((1 + i%30) min) for
// an outgoing delivery, at once for an incoming one; 02 at 2 h; 03 at
// 1–24 h ((1 + i%24) h); 04 and 05 at 30 min and 1 h after the 03; 06 at
// 1–9 days ((1 + i%9) days) after the 03; 13 at 11 days; 15 and 16 at 12
// days. The milestones (ArrivedAt, AcceptedAt, DoneAt) are the times of
// the 01, 03 and 06. The 02's description is "Văn bản không thuộc thẩm
// quyền giải quyết", the 13's "Gửi nhầm nơi nhận", the others' empty: the
// Note of a rejected delivery is the 02's, of a recall_requested one the
// 13's. Status events have no packet and no msg_id; there are no
// transport events (queued, sent, received). An outgoing delivery is
// sent, a second after its document was created.
//
// Besides: docs/100 documents (at least one) of an agency outside under
// (a sibling: 000.00.00.H42 for H41, 000.00.99.H41 for H41.01), by the
// same rules, over the same window; and two documents of under just
// outside the window, created at since − 1 ms and at until.
//
// For 1,000,000 documents the report's rows hold (ReportFixtureTotals
// gives these numbers and the others): 500,000 outgoing and 500,000
// incoming documents; 400,000 of under and 200,000 of each unit; 142,858
// with a paper copy; 32,259 replacements; 375,000 with a due date;
// verdicts 947,368 "valid" and 52,632 "missing"; 999,999 signed PDFs in
// 666,666 documents; incoming documents from a unit 125,001, from outside
// 374,999. 1,499,999 deliveries: sent 43,479, arrived 152,176, rejected
// 130,434, accepted 195,652, assigned 130,434, processing 195,652, done
// 521,738, recall_requested 65,217, recalled 65,217; of the outgoing ones
// 375,003 to units and 624,996 outside; 1,413,042 arrived (ArrivedAt
// set), 1,173,910 accepted, 586,955 done; 195,651 with a Note. The
// database also holds 10,000 documents of the sibling and the two outside
// the window, and takes about 2.5 GB.
func WriteReportFixture(ctx context.Context, path string, docs int, under string, since, until time.Time) error {
	f, err := newFixture(docs, under, since, until)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storetest: report fixture %s: the file exists", path)
	}
	return f.write(ctx, path)
}

// fixture is the report fixture of some arguments.
type fixture struct {
	docs         int
	under        envelope.AgencyCode
	units        [4]string // under, then its three agencies
	ext          [3]string // agencies outside under
	outside      string    // the sibling whose documents no report of under reads
	since, until int64     // unix ms
}

// newFixture checks the arguments of a fixture.
func newFixture(docs int, under string, since, until time.Time) (*fixture, error) {
	code, err := envelope.ParseAgencyCode(under, envelope.CodeStrict)
	if err != nil {
		return nil, fmt.Errorf("storetest: report fixture: %w", err)
	}
	if code.Level() < 1 || code.Level() > 3 {
		return nil, fmt.Errorf("storetest: report fixture: %s is of level %d, want 1 to 3", under, code.Level())
	}
	f := &fixture{docs: docs, under: code, since: since.UnixMilli(), until: until.UnixMilli()}
	if docs < 1 || f.until <= f.since {
		return nil, fmt.Errorf("storetest: report fixture: %d documents over [%s, %s)", docs, since, until)
	}
	groups := code.Groups()
	width := 2
	if len(groups) == 3 {
		width = 3
	}
	f.units[0] = code.String()
	for k := 1; k <= 3; k++ {
		f.units[k] = mustCode(append(groups[:len(groups):len(groups)], fmt.Sprintf("%0*d", width, k))...).String()
	}
	n := 0
	for _, c := range []string{"G22", "G12", "H26", "G09", "G01", "H57"} {
		if ext := mustCode(c); n < len(f.ext) && !code.Contains(ext) {
			f.ext[n] = ext.String()
			n++
		}
	}
	if len(groups) == 1 {
		f.outside = mustCode("H42").String()
		if groups[0] == "H42" {
			f.outside = mustCode("H43").String()
		}
	} else {
		last := strings.Repeat("9", len(groups[len(groups)-1]))
		if groups[len(groups)-1] == last {
			last = last[:len(last)-1] + "8"
		}
		f.outside = mustCode(append(groups[:len(groups)-1:len(groups)-1], last)...).String()
	}
	return f, nil
}

// mustCode is the code of groups, level 1 first.
func mustCode(groups ...string) envelope.AgencyCode {
	c, err := envelope.ParseAgencyCode(strings.Join(groups, "."), envelope.CodeStrict)
	if err != nil {
		panic(err)
	}
	return c
}

// extra is how many documents the outside agency has.
func (f *fixture) extra() int { return max(1, f.docs/100) }

// profile is a lifecycle a delivery of the fixture ends in, with the codes
// it took, in order.
type profile struct {
	state, beforeRecall envelope.State
	codes               []envelope.StatusCode
}

// profiles are the fixture's 23 lifecycles, for outgoing deliveries.
var profiles = func() [23]profile {
	p := func(state, before envelope.State, codes ...string) profile {
		cs := make([]envelope.StatusCode, len(codes))
		for i, c := range codes {
			cs[i] = envelope.StatusCode(c)
		}
		return profile{state, before, cs}
	}
	const (
		sent       = envelope.StateSent
		arrived    = envelope.StateArrived
		rejected   = envelope.StateRejected
		accepted   = envelope.StateAccepted
		assigned   = envelope.StateAssigned
		processing = envelope.StateProcessing
		done       = envelope.StateDone
		requested  = envelope.StateRecallRequested
		recalled   = envelope.StateRecalled
	)
	return [23]profile{
		p(sent, sent),
		p(arrived, sent, "01"),
		p(arrived, sent, "01"),
		p(accepted, sent, "01", "03"),
		p(accepted, sent, "01", "03"),
		p(assigned, sent, "01", "03", "04"),
		p(processing, sent, "01", "03", "04", "05"),
		p(processing, sent, "01", "03", "04", "05"),
		p(done, sent, "01", "03", "04", "05", "06"),
		p(done, sent, "01", "03", "06"),
		p(done, sent, "01", "03", "04", "05", "06"),
		p(done, sent, "01", "03", "05", "06"),
		p(rejected, sent, "01", "02"),
		p(processing, sent, "01", "03", "05"),
		p(done, sent, "01", "03", "04", "05", "06"),
		p(requested, accepted, "01", "03", "13"),
		p(recalled, done, "01", "03", "06", "13", "15"),
		p(done, sent, "01", "03", "04", "05", "06", "13", "16"),
		p(done, sent, "01", "03", "06"),
		p(rejected, sent, "02"),
		p(assigned, sent, "01", "03", "04"),
		p(accepted, sent, "01", "03"),
		p(done, sent, "01", "03", "04", "05", "06"),
	}
}()

// profileOf is profile p for an outgoing or incoming delivery: an incoming
// delivery has seen 01.
func profileOf(p int, outgoing bool) profile {
	pr := profiles[p]
	if outgoing || len(pr.codes) > 0 && pr.codes[0] == envelope.StatusArrived {
		return pr
	}
	if pr.state == envelope.StateSent {
		pr.state = envelope.StateArrived
	}
	pr.codes = append([]envelope.StatusCode{envelope.StatusArrived}, pr.codes...)
	return pr
}

// seenOf is the Seen set of codes.
func seenOf(codes []envelope.StatusCode) envelope.StatusSet {
	var s envelope.StatusSet
	for _, c := range codes {
		s.Add(c)
	}
	return s
}

// Descriptions of the fixture's statuses that have one.
const (
	rejectReason = "Văn bản không thuộc thẩm quyền giải quyết"
	recallReason = "Gửi nhầm nơi nhận"
)

// Times in milliseconds.
const (
	minute = int64(time.Minute / time.Millisecond)
	hour   = 60 * minute
	day    = 24 * hour
)

// fixtureDoc is document i of the rules, as the Go side of the fixture
// computes it (the SQL side computes the same).
type fixtureDoc struct {
	agency, sender string
	outgoing       bool
	created        int64
	paper          bool
	bdt            int
	verdict        string
	due            envelope.Date
	signedPDFs     int
	recipients     []string
	profiles       []profile
}

// doc is document i of unit k (0–3; 4 the outside agency) created at
// created.
func (f *fixture) doc(i, k int, created int64) fixtureDoc {
	unit := func(k int) string { return f.units[k%4] }
	d := fixtureDoc{
		outgoing:   i%2 == 0,
		created:    created,
		paper:      i%7 == 0,
		verdict:    "valid",
		signedPDFs: i % 3,
	}
	d.agency = f.outside
	if k < 4 {
		d.agency = f.units[k]
	}
	if i%31 == 0 {
		d.bdt = 3
	}
	if i%19 == 0 {
		d.verdict = "missing"
	}
	if i%4 == 1 || i%8 == 0 {
		d.due = envelope.DateOf(time.UnixMilli(created + int64(3+i%12)*day))
	}
	mode := (i / 6) % 4
	if d.outgoing {
		d.sender = d.agency
		for j := range 1 + (i/2)%3 {
			switch {
			case mode == 0, mode == 1 && j == 0:
				d.recipients = append(d.recipients, unit(k+1+j))
			default:
				d.recipients = append(d.recipients, f.ext[j])
			}
			d.profiles = append(d.profiles, profileOf((i+7*j)%23, true))
		}
	} else {
		d.sender = f.ext[(i/6)%3]
		if mode == 0 {
			d.sender = unit(k + 1)
		}
		d.recipients = []string{d.agency}
		d.profiles = []profile{profileOf(i%23, false)}
	}
	return d
}

// statusAt is when a delivery of document i took code.
func statusAt(i int, outgoing bool, created int64, code envelope.StatusCode) int64 {
	accepted := created + int64(1+i%24)*hour
	switch code {
	case envelope.StatusArrived:
		if outgoing {
			return created + int64(1+i%30)*minute
		}
		return created
	case envelope.StatusRejected:
		return created + 2*hour
	case envelope.StatusAccepted:
		return accepted
	case envelope.StatusAssigned:
		return accepted + 30*minute
	case envelope.StatusProcessing:
		return accepted + hour
	case envelope.StatusDone:
		return accepted + int64(1+i%9)*day
	case envelope.StatusRecallRequested:
		return created + 11*day
	}
	return created + 12*day // 15, 16
}

// created is when document i of n, spread over [since, until), was made.
func (f *fixture) created(i, n int) int64 {
	return f.since + int64(i)*(f.until-f.since)/int64(n)
}

// ReportTotals are the numbers of the report rows of an agency and a
// window: [ReportFixtureTotals] computes those of the fixture, a
// [ReportTally] those of rows read. Documents are counted once, however
// many deliveries they have.
type ReportTotals struct {
	Documents, Outgoing, Incoming int
	// ByAgency counts the documents of each agency.
	ByAgency map[string]int
	// Paper, Replacements (BussinessDocType ≠ 0), WithDueDate count
	// documents; Verdicts counts them by verdict outcome.
	Paper, Replacements, WithDueDate int
	Verdicts                         map[string]int
	// SignedPDFs is the sum of the documents' SignedPDFs; WithSignedPDF
	// counts the documents with at least one.
	SignedPDFs, WithSignedPDF int
	// InternalSenders and ExternalSenders count the incoming documents
	// whose sender is, or is not, under the agency.
	InternalSenders, ExternalSenders int

	Deliveries int
	// ByState counts the deliveries by state.
	ByState map[envelope.State]int
	// ToInternal and ToExternal count the deliveries of outgoing documents
	// to agencies under the agency, or not.
	ToInternal, ToExternal int
	// Arrived, Accepted and Done count the deliveries with the milestone
	// set; ToArrivedMS, ToAcceptedMS and ToDoneMS add up the milestones'
	// times after the documents' creation, in milliseconds.
	Arrived, Accepted, Done             int
	ToArrivedMS, ToAcceptedMS, ToDoneMS int64
	RecallsRequested, RecallRefused     int // deliveries that have seen 13, 16
	// Notes counts the deliveries with a Note, NotesLength adds up their
	// lengths in bytes.
	Notes, NotesLength int
}

// ReportFixtureTotals returns the totals of the rows that ReportRows gives
// for under over [since, until) in the fixture WriteReportFixture makes
// with the same arguments: those of its docs documents.
func ReportFixtureTotals(docs int, under string, since, until time.Time) (ReportTotals, error) {
	f, err := newFixture(docs, under, since, until)
	if err != nil {
		return ReportTotals{}, err
	}
	tally := NewReportTally(f.units[0])
	var row gateway.ReportRow
	for i := range f.docs {
		d := f.doc(i, []int{0, 0, 1, 2, 3}[i%5], f.created(i, f.docs))
		for j, r := range d.recipients {
			p := d.profiles[j]
			row = gateway.ReportRow{
				Document: strconv.Itoa(i), Direction: gateway.Incoming, Agency: d.agency, From: d.sender,
				CreatedAt: time.UnixMilli(d.created).UTC(), BussinessDocType: d.bdt, Paper: d.paper,
				Verdict: d.verdict, DueDate: d.due, SignedPDFs: d.signedPDFs,
				Recipient: r, State: p.state, Seen: seenOf(p.codes),
			}
			if d.outgoing {
				row.Direction = gateway.Outgoing
			}
			for _, m := range []struct {
				code envelope.StatusCode
				t    *time.Time
			}{{envelope.StatusArrived, &row.ArrivedAt}, {envelope.StatusAccepted, &row.AcceptedAt}, {envelope.StatusDone, &row.DoneAt}} {
				if row.Seen.Has(m.code) {
					*m.t = time.UnixMilli(statusAt(i, d.outgoing, d.created, m.code)).UTC()
				}
			}
			switch p.state {
			case envelope.StateRejected:
				row.Note = rejectReason
			case envelope.StateRecallRequested:
				row.Note = recallReason
			}
			tally.Add(&row)
		}
	}
	return tally.Totals(), nil
}

// ReportTally adds up report rows into ReportTotals.
type ReportTally struct {
	under  envelope.AgencyCode
	last   string
	totals ReportTotals
}

// NewReportTally starts a tally of the rows of the report of under.
func NewReportTally(under string) *ReportTally {
	code, _ := envelope.ParseAgencyCode(under, envelope.CodeAny)
	return &ReportTally{under: code, totals: ReportTotals{
		ByAgency: map[string]int{}, Verdicts: map[string]int{}, ByState: map[envelope.State]int{},
	}}
}

// isUnder reports whether code is the agency of the tally or under it.
func (t *ReportTally) isUnder(code string) bool {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	return err == nil && t.under.Contains(c)
}

// Add counts one row; rows come as ReportRows gives them, a document's
// deliveries together.
func (t *ReportTally) Add(r *gateway.ReportRow) {
	s := &t.totals
	if r.Document != t.last {
		t.last = r.Document
		s.Documents++
		s.ByAgency[r.Agency]++
		s.Verdicts[r.Verdict]++
		if r.Direction == gateway.Outgoing {
			s.Outgoing++
		} else {
			s.Incoming++
			if t.isUnder(r.From) {
				s.InternalSenders++
			} else {
				s.ExternalSenders++
			}
		}
		if r.Paper {
			s.Paper++
		}
		if r.BussinessDocType != 0 {
			s.Replacements++
		}
		if r.DueDate != "" {
			s.WithDueDate++
		}
		s.SignedPDFs += r.SignedPDFs
		if r.SignedPDFs > 0 {
			s.WithSignedPDF++
		}
	}
	s.Deliveries++
	s.ByState[r.State]++
	if r.Direction == gateway.Outgoing {
		if t.isUnder(r.Recipient) {
			s.ToInternal++
		} else {
			s.ToExternal++
		}
	}
	if !r.ArrivedAt.IsZero() {
		s.Arrived++
		s.ToArrivedMS += r.ArrivedAt.Sub(r.CreatedAt).Milliseconds()
	}
	if !r.AcceptedAt.IsZero() {
		s.Accepted++
		s.ToAcceptedMS += r.AcceptedAt.Sub(r.CreatedAt).Milliseconds()
	}
	if !r.DoneAt.IsZero() {
		s.Done++
		s.ToDoneMS += r.DoneAt.Sub(r.CreatedAt).Milliseconds()
	}
	if r.Seen.Has(envelope.StatusRecallRequested) {
		s.RecallsRequested++
	}
	if r.Seen.Has(envelope.StatusRecallRefused) {
		s.RecallRefused++
	}
	if r.Note != "" {
		s.Notes++
		s.NotesLength += len(r.Note)
	}
}

// Totals returns the totals of the rows added so far.
func (t *ReportTally) Totals() ReportTotals { return t.totals }

// idAlphabet is gateway.NewID's: lower-case base32 in byte order.
const idAlphabet = "0123456789abcdefghijklmnopqrstuv"

// sqlID is the SQL expression of a gateway.NewID-like id for time created
// (unix ms) and sequence number g: the first 10 characters are the time,
// as NewID writes it, the 16 others g instead of random bits.
func sqlID(created, g string) string {
	var b strings.Builder
	char := func(expr string) {
		if b.Len() > 0 {
			b.WriteString(" || ")
		}
		fmt.Fprintf(&b, "substr('%s', (%s) + 1, 1)", idAlphabet, expr)
	}
	for k := range 9 {
		char(fmt.Sprintf("(%s >> %d) & 31", created, 43-5*k))
	}
	char(fmt.Sprintf("(%s & 7) << 2", created))
	for j := range 16 {
		char(fmt.Sprintf("(%s >> %d) & 31", g, 5*(15-j)))
	}
	return b.String()
}

// fixturePacket is the bytes of every document's packet: the fixture's
// packets only have to exist.
var fixturePacket = []byte(`<edXML:edXMLEnvelope/>`)

// write makes the fixture's database at path.
func (f *fixture) write(ctx context.Context, path string) (err error) {
	defer func() {
		if err != nil {
			removeDB(path)
			err = fmt.Errorf("storetest: report fixture %s: %w", path, err)
		}
	}()
	// The schema is the store's own.
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// One connection, no journal and no sync: a fixture that fails half
	// way is removed.
	u := url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: url.Values{"_pragma": {
		"foreign_keys(0)", "journal_mode(OFF)", "synchronous(OFF)", "cache_size(-262144)", "temp_store(MEMORY)",
	}}.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The indexes are made again once the rows are in: sorting each once
	// is much faster than keeping it up to date row by row.
	indexes, err := dropIndexes(ctx, tx)
	if err != nil {
		return err
	}
	for _, step := range f.statements() {
		if _, err := tx.ExecContext(ctx, step.sql, step.args...); err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
	}
	for _, q := range indexes {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// The planner's statistics, as a store in use for a while has them:
	// Close runs PRAGMA optimize, which analyzes with this limit.
	for _, q := range []string{`PRAGMA analysis_limit = 400`, `ANALYZE`, `PRAGMA journal_mode = WAL`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return db.Close()
}

// dropIndexes drops the indexes of the schema that can be dropped (not
// those of primary keys and unique constraints) and returns the
// statements that make them again.
func dropIndexes(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names, indexes []string
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			rows.Close()
			return nil, err
		}
		names, indexes = append(names, name), append(indexes, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, err
		}
	}
	return indexes, nil
}

// statement is one step of writing the fixture.
type statement struct {
	what string
	sql  string
	args []any
}

// statements are the SQL that writes the fixture, in one transaction.
// The rules are those of fixture.doc and statusAt, written again in SQL.
func (f *fixture) statements() []statement {
	n, extra := f.docs, f.extra()
	total := n + extra + 2
	var st []statement
	add := func(what, query string, args ...any) {
		st = append(st, statement{what, query, args})
	}

	// Small tables of the rules: the units (k = 4 is the outside
	// agency), the outside agencies, the profiles and their codes.
	add("tables", `CREATE TEMP TABLE unit (k INTEGER PRIMARY KEY, code TEXT NOT NULL);
		CREATE TEMP TABLE ext (j INTEGER PRIMARY KEY, code TEXT NOT NULL);
		CREATE TEMP TABLE js (j INTEGER PRIMARY KEY);
		INSERT INTO js VALUES (0), (1), (2);
		CREATE TEMP TABLE prof (p INTEGER NOT NULL, outgoing INTEGER NOT NULL, state TEXT NOT NULL,
			before_recall TEXT NOT NULL, seen TEXT NOT NULL, PRIMARY KEY (p, outgoing));
		CREATE TEMP TABLE profcode (p INTEGER NOT NULL, outgoing INTEGER NOT NULL, ord INTEGER NOT NULL,
			code TEXT NOT NULL, PRIMARY KEY (p, outgoing, ord))`)
	for k, c := range append(f.units[:], f.outside) {
		add("unit", `INSERT INTO unit VALUES (?, ?)`, k, c)
	}
	for j, c := range f.ext {
		add("ext", `INSERT INTO ext VALUES (?, ?)`, j, c)
	}
	for p := range profiles {
		for _, out := range []bool{true, false} {
			pr := profileOf(p, out)
			add("profile", `INSERT INTO prof VALUES (?, ?, ?, ?, ?)`, p, out, pr.state.String(),
				pr.beforeRecall.String(), seenOf(pr.codes).String())
			for ord, c := range pr.codes {
				add("profile code", `INSERT INTO profcode VALUES (?, ?, ?, ?)`, p, out, ord, string(c))
			}
		}
	}

	// fx: one row per document: g its sequence number (and that of its
	// id), i its number for the rules, k its unit, created.
	add("documents to make", `CREATE TEMP TABLE fx (g INTEGER PRIMARY KEY, i INTEGER NOT NULL,
			k INTEGER NOT NULL, created INTEGER NOT NULL, id TEXT NOT NULL, agency TEXT NOT NULL,
			outgoing INTEGER NOT NULL, sender TEXT NOT NULL, nrec INTEGER NOT NULL, mode INTEGER NOT NULL)`)
	add("documents to make", `INSERT INTO fx (g, i, k, created, id, agency, outgoing, sender, nrec, mode)
		WITH RECURSIVE seq (g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM seq WHERE g + 1 < :total),
		a AS (SELECT g,
				CASE WHEN g < :n THEN g WHEN g < :n + :extra THEN g - :n ELSE g - :n - :extra END AS i,
				CASE WHEN g < :n THEN :since + g * (:until - :since) / :n
					WHEN g < :n + :extra THEN :since + (g - :n) * (:until - :since) / :extra
					WHEN g = :n + :extra THEN :since - 1
					ELSE :until END AS created,
				g >= :n AND g < :n + :extra AS outside
			FROM seq),
		b AS (SELECT g, i, created,
				CASE WHEN outside THEN 4 ELSE (0x32100 >> (4 * (i % 5))) & 15 END AS k,
				i % 2 = 0 AS outgoing,
				CASE WHEN i % 2 = 0 THEN 1 + (i / 2) % 3 ELSE 1 END AS nrec,
				(i / 6) % 4 AS mode
			FROM a)
		SELECT g, i, k, created, `+sqlID("created", "g")+`, (SELECT code FROM unit WHERE unit.k = b.k),
			outgoing,
			CASE WHEN outgoing THEN (SELECT code FROM unit WHERE unit.k = b.k)
				WHEN mode = 0 THEN (SELECT code FROM unit WHERE unit.k = (b.k + 1) % 4)
				ELSE (SELECT code FROM ext WHERE ext.j = (i / 6) % 3) END,
			nrec, mode
		FROM b`,
		sql.Named("total", total), sql.Named("n", n), sql.Named("extra", extra),
		sql.Named("since", f.since), sql.Named("until", f.until))

	sum := sha256.Sum256(fixturePacket)
	add("packets", `INSERT INTO packets (id, kind, sha256, size, data, created_at)
		SELECT id, 'edoc', ?, ?, ?, created FROM fx ORDER BY g`,
		hex.EncodeToString(sum[:]), len(fixturePacket), fixturePacket)

	due := `CASE WHEN i % 4 = 1 OR i % 8 = 0
		THEN strftime('%Y/%m/%d', (created + (3 + i % 12) * 86400000 + 7 * 3600000) / 1000, 'unixepoch')
		ELSE '' END`
	add("documents", `INSERT INTO documents (id, direction, agency, document_id, sender, sender_name,
			number, notation, subject, type_name, promulgation_date, priority, due_date, paper,
			bussiness_doc_type, related, attachments, signed_pdfs, verdict_outcome, verdict_subject,
			verdict_fingerprint, verdict_reason_vi, verdict_reason_en, verdict_legacy, packet_id, msg_id,
			search, created_at)
		SELECT id, CASE WHEN outgoing THEN 'out' ELSE 'in' END, agency, doc_id, sender, sender_name,
			number, 'UBND-VP', subject, 'Công văn', promulgation, 1 + i % 3, `+due+`, i % 7 = 0,
			CASE WHEN i % 31 = 0 THEN 3 ELSE 0 END,
			CASE WHEN i % 31 = 0 THEN sender || ',' || promulgation || ',' || (g - 1) || '/UBND-VP' ELSE '' END,
			1 + i % 3, i % 3,
			CASE WHEN i % 19 = 0 THEN 'missing' ELSE 'valid' END,
			CASE WHEN i % 19 = 0 THEN '' ELSE 'CN=' || sender_name || ',O=' || sender END,
			CASE WHEN i % 19 = 0 THEN '' ELSE printf('%016x%016x%016x%016x', g, g * 31, g * 17, g * 7) END,
			CASE WHEN i % 19 = 0 THEN 'Không có chữ ký số' ELSE 'Chữ ký số hợp lệ' END,
			CASE WHEN i % 19 = 0 THEN 'no signature' ELSE 'the signature is valid' END,
			0, id, '', lower(subject || char(31) || number || char(31) || 'UBND-VP' || char(31) || sender_name),
			created
		FROM (SELECT d.*,
				sender || ',' || promulgation || ',' || g || '/UBND-VP' AS doc_id,
				'Cơ quan ' || sender AS sender_name,
				CAST(g AS TEXT) AS number,
				'V/v báo cáo tình hình thực hiện nhiệm vụ quý, văn bản số ' || g AS subject
			FROM (SELECT *, strftime('%Y/%m/%d', (created + 7 * 3600000) / 1000, 'unixepoch') AS promulgation
				FROM fx) AS d)
		ORDER BY g`)

	// The deliveries and their events: fx × js (j < nrec) × the profile.
	recipient := `CASE WHEN NOT fx.outgoing THEN fx.agency
			WHEN fx.mode = 0 OR fx.mode = 1 AND js.j = 0 THEN (SELECT code FROM unit WHERE unit.k = (fx.k + 1 + js.j) % 4)
			ELSE (SELECT code FROM ext WHERE ext.j = js.j) END`
	profileJoin := `js.j < fx.nrec AND prof.p = (fx.i + 7 * js.j) % 23 AND prof.outgoing = fx.outgoing`
	accepted := `(created + (1 + i % 24) * 3600000)`
	at := func(code string) string {
		switch code {
		case "01":
			return `CASE WHEN outgoing THEN created + (1 + i % 30) * 60000 ELSE created END`
		case "02":
			return `created + 2 * 3600000`
		case "03":
			return accepted
		case "04":
			return accepted + ` + 30 * 60000`
		case "05":
			return accepted + ` + 3600000`
		case "06":
			return accepted + ` + (1 + i % 9) * 86400000`
		case "13":
			return `created + 11 * 86400000`
		}
		return `created + 12 * 86400000`
	}
	var statusTime strings.Builder
	statusTime.WriteString(`CASE code`)
	for _, c := range []string{"01", "02", "03", "04", "05", "06", "13", "15", "16"} {
		fmt.Fprintf(&statusTime, ` WHEN '%s' THEN %s`, c, at(c))
	}
	statusTime.WriteString(` END`)
	milestone := func(code string) string {
		return `CASE WHEN instr(',' || seen || ',', ',` + code + `,') > 0 THEN ` + at(code) + ` END`
	}
	// The last status's time: the codes are in code-list order.
	var lastTime strings.Builder
	lastTime.WriteString(`CASE`)
	for _, c := range []string{"16", "15", "13", "06", "05", "04", "03", "02", "01"} {
		fmt.Fprintf(&lastTime, ` WHEN instr(',' || seen || ',', ',%s,') > 0 THEN %s`, c, at(c))
	}
	lastTime.WriteString(` WHEN outgoing THEN created + 1000 ELSE created END`)
	// A delivery's copy of its document's fields is the store's
	// reportDocument (gateway/store/report.go) of the document's row, with
	// its creation and agency: the store's Check compares them
	// (TestReportFixture).
	reportDocument := `(((documents.direction = 'out') | (documents.paper << 1) | (documents.bussiness_doc_type << 2) |
			(documents.verdict_by_gateway << 7) | (documents.signed_pdfs << 8))
		|| char(31) || documents.created_at || char(31) || documents.verdict_outcome || char(31) || documents.due_date
		|| char(31) || documents.agency || char(31) || documents.sender || char(31) || documents.id)`
	// Its note is the description of its last status, the last of its
	// profile's codes (the events below are in code order).
	note := `(SELECT CASE code WHEN '02' THEN '` + rejectReason + `' WHEN '13' THEN '` + recallReason + `' ELSE '' END
		FROM profcode WHERE profcode.p = d.p AND profcode.outgoing = d.outgoing ORDER BY ord DESC LIMIT 1)`
	add("deliveries", `INSERT INTO deliveries (document, recipient, recipient_name, transport, state,
			before_recall, seen, sent_at, updated_at, arrived_at, accepted_at, done_at, note, created_at,
			agency, report_document)
		SELECT id, recipient, 'Cơ quan ' || recipient, CASE WHEN outgoing THEN 'sent' ELSE 'received' END,
			state, before_recall, seen, CASE WHEN outgoing THEN created + 1000 END, `+lastTime.String()+`,
			`+milestone("01")+`, `+milestone("03")+`, `+milestone("06")+`, coalesce(`+note+`, ''), created,
			agency, (SELECT `+reportDocument+` FROM documents WHERE documents.id = d.id)
		FROM (SELECT fx.*, js.j, prof.p, prof.state, prof.before_recall, prof.seen, `+recipient+` AS recipient
			FROM fx CROSS JOIN js CROSS JOIN prof
			WHERE `+profileJoin+`
			ORDER BY fx.g, js.j) AS d`)
	add("events", `INSERT INTO events (document, recipient, kind, status_code, by_agency, description,
			at, recorded_at)
		SELECT id, recipient, 'status', code,
			CASE WHEN code = '13' THEN sender ELSE recipient END,
			CASE code WHEN '02' THEN '`+rejectReason+`' WHEN '13' THEN '`+recallReason+`' ELSE '' END,
			`+statusTime.String()+`, `+statusTime.String()+`
		FROM (SELECT fx.*, js.j, profcode.ord, profcode.code, `+recipient+` AS recipient
			FROM fx CROSS JOIN js CROSS JOIN prof CROSS JOIN profcode
			WHERE `+profileJoin+` AND profcode.p = prof.p AND profcode.outgoing = prof.outgoing
			ORDER BY fx.g, js.j, profcode.ord)`)
	add("cleanup", `DROP TABLE fx; DROP TABLE prof; DROP TABLE profcode; DROP TABLE js; DROP TABLE ext; DROP TABLE unit`)
	return st
}
