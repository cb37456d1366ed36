package store_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/storetest"
	"github.com/lienthong/lienthong/gateway/store"
)

// The report fixture's agency and quarter, for the tests and the
// benchmark: Nghệ An, the first quarter of 2026 (in Vietnam).
const fixtureUnder = "000.00.00.H41"

var (
	fixtureSince = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-7 * time.Hour)
	fixtureUntil = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Add(-7 * time.Hour)
)

// openReportFixture makes a small report fixture in the test's temporary
// directory and opens it; Check runs when the test ends.
func openReportFixture(t *testing.T, docs int) *store.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fixture.db")
	if err := storetest.WriteReportFixture(t.Context(), path, docs, fixtureUnder, fixtureSince, fixtureUntil); err != nil {
		t.Fatal(err)
	}
	return mustOpenStoreAt(t, path)
}

// TestReportFixture: the fixture holds what its documentation says,
// ReportRows reads it back whole, and Check finds nothing wrong.
func TestReportFixture(t *testing.T) {
	const docs = 23 * 6 * 30 // whole cycles of the profiles and of the recipients
	s := openReportFixture(t, docs)
	want, err := storetest.ReportFixtureTotals(docs, fixtureUnder, fixtureSince, fixtureUntil)
	if err != nil {
		t.Fatal(err)
	}
	tally := storetest.NewReportTally(fixtureUnder)
	var last gateway.ReportRow
	err = s.ReportRows(t.Context(), gateway.ReportQuery{Under: fixtureUnder, Since: fixtureSince, Until: fixtureUntil},
		func(r *gateway.ReportRow) error {
			if !gateway.ValidID(r.Document) || !strings.HasPrefix(r.Document, gateway.NewID(r.CreatedAt)[:9]) {
				t.Errorf("document id %q does not fit its time %s", r.Document, r.CreatedAt)
			}
			if r.CreatedAt.Before(last.CreatedAt) || r.CreatedAt.Equal(last.CreatedAt) && r.Document < last.Document {
				t.Errorf("document %s (%s) after %s (%s)", r.Document, r.CreatedAt, last.Document, last.CreatedAt)
			}
			last = *r
			tally.Add(r)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	got := tally.Totals()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("totals of the rows:\n got %+v\nwant %+v", got, want)
	}
	if got.Documents != docs || got.Deliveries != docs*3/2 {
		t.Errorf("%d documents, %d deliveries; want %d and %d", got.Documents, got.Deliveries, docs, docs*3/2)
	}
	all, err := s.CountDocuments(t.Context(), gateway.DocumentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := docs + docs/100 + 2; all != want {
		t.Errorf("%d documents in the store, want %d", all, want)
	}
}
