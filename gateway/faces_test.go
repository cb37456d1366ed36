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

// TestNoRole: a nil *Gateway in a role's interface is no role, though
// the interface is not nil.
func TestNoRole(t *testing.T) {
	var gw *gateway.Gateway
	var role gateway.GaugeReader = gw
	if role == nil {
		t.Fatal("the interface holding a nil *Gateway is nil")
	}
	if !gateway.NoRole(nil) || !gateway.NoRole(role) || !gateway.NoRole(gw) {
		t.Error("NoRole took nil or a nil *Gateway for a role")
	}
	if gateway.NoRole(&gateway.Gateway{}) || gateway.NoRole(struct{}{}) {
		t.Error("NoRole refused a role")
	}
}
