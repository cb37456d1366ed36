package report_test

import (
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/internal/storetest"
	"github.com/lienthong/lienthong/gateway/report"
)

// BenchmarkReport computes Nghệ An's report for a quarter of 1,000,000
// documents (1.5 million deliveries) in a real SQLite store: the store's
// rows, the counting, the percentiles. The fixture is made once (about a
// minute) and cached in the temporary directory.
//
//	go test ./gateway/report -run '^$' -bench Report -benchtime 3x
func BenchmarkReport(b *testing.B) {
	const docs = 1_000_000
	q := report.Quarter{Year: 2026, N: 1}
	st := storetest.LoadReportFixture(b, docs, "000.00.00.H41", q.Start(), q.End())
	totals, err := storetest.ReportFixtureTotals(docs, "000.00.00.H41", q.Start(), q.End())
	if err != nil {
		b.Fatal(err)
	}
	in := report.Input{Agency: report.Agency{Code: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"}, Quarter: q, Now: q.End().Add(24 * time.Hour)}
	var rep *report.Report
	start := time.Now()
	for b.Loop() {
		if rep, err = report.Generate(b.Context(), st, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(docs)*float64(b.N)/time.Since(start).Seconds(), "docs/s")
	// The report saw every document and delivery of the fixture.
	if got, want := rep.Beyond.Deliveries, totals.ToInternal+totals.ToExternal; got != want {
		b.Errorf("%d deliveries of outgoing documents, the fixture has %d", got, want)
	}
	if got, want := rep.Beyond.Incoming, totals.Incoming; got != want {
		b.Errorf("%d incoming documents, the fixture has %d", got, want)
	}
}
