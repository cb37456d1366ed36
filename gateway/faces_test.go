package gateway_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lienthong/lienthong/gateway"
)

// TestReportRequestErrors: the parameters refused are found however the
// join of Reports.Check was wrapped or joined again.
func TestReportRequestErrors(t *testing.T) {
	quarter := &gateway.ReportRequestError{Param: "quarter", Err: errors.New("not a quarter")}
	declared := &gateway.ReportRequestError{Param: "declarations", Err: errors.New("units: not a number")}
	for _, tc := range []struct {
		name string
		err  error
		want []*gateway.ReportRequestError
	}{
		{"nil", nil, nil},
		{"another error", errors.New("disk on fire"), nil},
		{"one", quarter, []*gateway.ReportRequestError{quarter}},
		{"joined", errors.Join(quarter, declared), []*gateway.ReportRequestError{quarter, declared}},
		{"wrapped join", fmt.Errorf("rollup: %w", errors.Join(quarter, declared)), []*gateway.ReportRequestError{quarter, declared}},
		{"join of wrapped and joined", errors.Join(errors.New("other"), fmt.Errorf("a: %w", quarter), errors.Join(declared)), []*gateway.ReportRequestError{quarter, declared}},
		{"several wrapped", fmt.Errorf("a: %w; b: %w", quarter, declared), []*gateway.ReportRequestError{quarter, declared}},
	} {
		if got := gateway.ReportRequestErrors(tc.err); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ReportRequestErrors(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
