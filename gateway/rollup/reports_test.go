package rollup_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/rollup"
)

// TestReports_Check: what the faces answer 400 for is told apart by
// parameter, both at once, without a gateway (Check reads nothing).
func TestReports_Check(t *testing.T) {
	r := rollup.New(nil)
	declared := func(v map[string]string) func(string) string {
		return func(name string) string { return v[name] }
	}
	for _, tc := range []struct {
		name   string
		req    gateway.ReportRequest
		params []string
	}{
		{"good", gateway.ReportRequest{Agency: vpcp, Quarter: "2026-Q3"}, nil},
		{"declared", gateway.ReportRequest{Agency: vpcp, Quarter: "2026-Q3", Declared: declared(map[string]string{"paperOutgoing": "4"})}, nil},
		{"bad quarter", gateway.ReportRequest{Agency: vpcp, Quarter: "2026-Q5"}, []string{"quarter"}},
		{"bad declarations", gateway.ReportRequest{Agency: vpcp, Quarter: "2026-Q3", Declared: declared(map[string]string{"paperOutgoing": "many"})}, []string{"declarations"}},
		{"both", gateway.ReportRequest{Agency: vpcp, Quarter: "Q3", Declared: declared(map[string]string{"paperOutgoing": "-1"})}, []string{"quarter", "declarations"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Check(tc.req)
			bad := gateway.ReportRequestErrors(err)
			if (err == nil) != (len(tc.params) == 0) || len(bad) != len(tc.params) {
				t.Fatalf("Check = %v (%d parameters), want problems with %v", err, len(bad), tc.params)
			}
			for i, re := range bad {
				if re.Param != tc.params[i] || re.Err == nil {
					t.Errorf("problem %d: %q (%v), want %q", i, re.Param, re.Err, tc.params[i])
				}
				var as *gateway.ReportRequestError
				if !errors.As(err, &as) {
					t.Errorf("errors.As does not find a *ReportRequestError in %v", err)
				}
			}
		})
	}
	if got := gateway.ReportRequestErrors(errors.New("disk on fire")); got != nil {
		t.Errorf("ReportRequestErrors(another error) = %v", got)
	}
}

// TestReports_Quarters: the quarters offered go back across years, each
// starting on its first day in Vietnam.
func TestReports_Quarters(t *testing.T) {
	now := time.Date(2026, time.February, 10, 12, 0, 0, 0, envelope.VietnamTime())
	got := rollup.New(nil).Quarters(now, 6)
	want := []string{"2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2", "2025-Q1", "2024-Q4"}
	if len(got) != len(want) {
		t.Fatalf("%d quarters, want %d", len(got), len(want))
	}
	for i, q := range got {
		if q.ID != want[i] {
			t.Errorf("quarter %d is %s, want %s", i, q.ID, want[i])
		}
	}
	if q := got[1]; q.Label != "Quý IV năm 2025" || !q.Start.Equal(time.Date(2025, time.October, 1, 0, 0, 0, 0, envelope.VietnamTime())) {
		t.Errorf("2025-Q4: %q from %v", q.Label, q.Start)
	}
	// Exactly n, none for n <= 0.
	for _, n := range []int{0, -1} {
		if got := rollup.New(nil).Quarters(now, n); len(got) != 0 {
			t.Errorf("Quarters(now, %d) = %v", n, got)
		}
	}
}
