package report

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// rowStore is a gateway.Store that has only the rows of the report, in
// the order ReportRows gives them, and no document.
type rowStore struct {
	gateway.Store
	rows []gateway.ReportRow
}

func (s *rowStore) ReportRows(ctx context.Context, q gateway.ReportQuery, fn func(*gateway.ReportRow) error) error {
	for i := range s.rows {
		r := s.rows[i]
		if r.CreatedAt.Before(q.Since) || !r.CreatedAt.Before(q.Until) {
			continue
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *rowStore) Document(context.Context, string) (*gateway.DocumentDetail, error) {
	return nil, gateway.ErrNotFound
}

// mixedRows are the rows of a quarter of every kind the report counts
// differently: outgoing and incoming, to and from units under the agency,
// hosted here or not, and outside it; signed by the agency, by the
// gateway or not at all; refused, recalled, asked to be recalled and
// refusing it; due before or after the cutoff, done in time or not, or
// with a due date that cannot be read; milestones set or not, a 01 before
// its document; documents on the months' first and last milliseconds.
func mixedRows(q Quarter) []gateway.ReportRow {
	rng := rand.New(rand.NewPCG(20, 26))
	units := []string{"000.00.00.H41", "000.00.12.H41", "000.00.05.H41", "000.07.05.H41"}
	outside := []string{"000.00.00.G22", "000.00.00.H29", "not a code"}
	states := []envelope.State{envelope.StateSent, envelope.StateArrived, envelope.StateAccepted, envelope.StateDone,
		envelope.StateRejected, envelope.StateRecallRequested, envelope.StateRecalled}
	codes := []envelope.StatusCode{envelope.StatusArrived, envelope.StatusAccepted, envelope.StatusDone,
		envelope.StatusRecallRequested, envelope.StatusRecallRefused}
	var times []time.Time
	for m := range 3 {
		times = append(times, q.Month(m), q.Month(m+1).Add(-time.Millisecond))
	}
	span := q.End().Sub(q.Start())
	for range 2000 {
		times = append(times, q.Start().Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var rows []gateway.ReportRow
	for i, created := range times {
		d := gateway.ReportRow{
			Document: fmt.Sprintf("doc-%05d", i), Direction: gateway.Outgoing, Agency: pick(units), CreatedAt: created,
			BussinessDocType: []int{0, 0, 0, 1, 2}[rng.IntN(5)], Paper: rng.IntN(5) == 0,
			Verdict: []string{"valid", "valid", "invalid", "unsigned"}[rng.IntN(4)], GatewaySigned: rng.IntN(4) == 0,
			SignedPDFs: rng.IntN(3),
		}
		d.From = d.Agency
		switch rng.IntN(6) {
		case 0:
			d.DueDate = envelope.DateOf(created.AddDate(0, 0, rng.IntN(10)))
		case 1:
			d.DueDate = envelope.DateOf(q.End().AddDate(0, 0, rng.IntN(40)-20))
		case 2:
			d.DueDate = "31/02/2026"
		}
		recipients := 1
		if rng.IntN(3) == 0 {
			d.Direction = gateway.Incoming
			d.From = pick(append(slices.Clone(units), outside...))
		} else {
			recipients += rng.IntN(4)
		}
		for range recipients {
			r := d
			r.Recipient = d.Agency
			if d.Direction == gateway.Outgoing {
				r.Recipient = pick(append(slices.Clone(units), outside...))
			}
			r.State = states[rng.IntN(len(states))]
			for _, c := range codes {
				if rng.IntN(3) == 0 {
					r.Seen.Add(c)
				}
			}
			milestone := func() time.Time {
				if rng.IntN(4) == 0 {
					return time.Time{}
				}
				return created.Add(time.Duration(rng.Int64N(int64(20*24*time.Hour))) - time.Second).Truncate(time.Millisecond)
			}
			r.ArrivedAt, r.AcceptedAt, r.DoneAt = milestone(), milestone(), milestone()
			if r.State == envelope.StateRejected || r.State == envelope.StateRecallRequested {
				r.Note = fmt.Sprintf("lý do %d", rng.IntN(100))
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// TestGenerate_Parts: the report read in parts of the quarter, each by
// its own Builder, merged, is the report read in one part, whatever the
// number of parts; and the rows made every figure count something.
func TestGenerate_Parts(t *testing.T) {
	q := Quarter{Year: 2026, N: 1}
	st := &rowStore{rows: mixedRows(q)}
	in := Input{
		Agency: Agency{Code: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"}, Quarter: q, Gateway: "nghean",
		Hosted: []string{"000.00.00.H41", "000.00.12.H41"}, Now: q.Month(2).AddDate(0, 0, 10),
		Directory: []gateway.Agency{{Code: "000.00.05.H41", Name: "UBND huyện Nghi Lộc", Gateway: "nghiloc"}},
	}
	one, want := readReport(t, st, in, 1)
	for _, parts := range []int{2, 3, 4, 7} {
		if _, got := readReport(t, st, in, parts); string(got) != string(want) {
			t.Errorf("in %d parts:\n%s\nin one:\n%s", parts, got, want)
		}
	}
	be := one.Beyond
	for what, n := range map[string]int{
		"outgoing": one.Use.Outgoing, "internal": one.Use.Internal, "with paper": one.Use.WithPaper.Num,
		"electronic only": one.Use.ElectronicOnly.Num, "signed PDFs": one.Signatures.SignedPDF.Num,
		"deliveries": be.Deliveries, "delivered": be.Delivered.Num, "incoming": be.Incoming,
		"overdue outgoing": be.OverdueOutgoing, "overdue incoming": be.OverdueIncoming,
		"recalls requested": be.Recalls.Requested, "recalled": be.Recalls.Recalled, "recalls refused": be.Recalls.Refused,
		"refusals": len(be.Refusals), "counterparts": len(be.ByCounterpart), "times to 01": be.TimeTo01.Count,
		"times to 03": be.TimeTo03.Count, "times to 06": be.TimeTo06.Count, "connected units": len(one.Deployment.ConnectedUnits),
	} {
		if n == 0 {
			t.Errorf("no %s: the rows do not test it", what)
		}
	}
	for i, m := range be.ByMonth {
		if m.Outgoing == 0 || m.Incoming == 0 || m.Signed == 0 || m.Arrived == 0 {
			t.Errorf("month %d counts nothing of some kind: %+v", i, m)
		}
		if s := one.Signatures.Months[i]; s.Internal.Den == 0 || s.External.Den == 0 {
			t.Errorf("month %d signs nothing of some kind: %+v", i, s)
		}
	}
}

// TestGenerate_PartsLate: what only a later part sees — a unit that
// exchanged, a document outside the province — is in the merged report.
func TestGenerate_PartsLate(t *testing.T) {
	q := Quarter{Year: 2026, N: 1}
	row := func(id string, at time.Time, to string) gateway.ReportRow {
		return gateway.ReportRow{Document: id, Direction: gateway.Outgoing, Agency: "000.00.00.H41", From: "000.00.00.H41",
			CreatedAt: at, Recipient: to, State: envelope.StateSent}
	}
	st := &rowStore{rows: []gateway.ReportRow{
		row("early", q.Start(), "000.00.12.H41"),
		row("late", q.Month(2), "000.00.05.H41"),
		row("late", q.Month(2), "000.00.00.H29"),
	}}
	in := Input{
		Agency: Agency{Code: "000.00.00.H41"}, Quarter: q, Now: q.End(),
		Directory: []gateway.Agency{{Code: "000.00.05.H41", Gateway: "nghiloc"}},
	}
	one, want := readReport(t, st, in, 1)
	if !one.Deployment.NationalAxis || len(one.Deployment.ConnectedUnits) != 1 {
		t.Fatalf("in one part: national axis %v, connected %+v", one.Deployment.NationalAxis, one.Deployment.ConnectedUnits)
	}
	if _, got := readReport(t, st, in, 3); string(got) != string(want) {
		t.Errorf("in 3 parts:\n%s\nin one:\n%s", got, want)
	}
}

// readReport reads the report of in from st in parts, and its JSON.
func readReport(t *testing.T, st gateway.Store, in Input, parts int) (*Report, []byte) {
	t.Helper()
	b, err := read(t.Context(), st, in, parts)
	if err != nil {
		t.Fatal(err)
	}
	rep := b.Report()
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return rep, js
}
