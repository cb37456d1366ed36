package web

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// fakeReports is a gateway.Reports of fixed answers, for the tests of
// Báo cáo that need no gateway: Check refuses a quarter not written
// "2026-Q3", and the declarations checkErr names; Report returns report;
// Quarters returns the first n of quarters (all of them if fewer).
type fakeReports struct {
	quarters []gateway.ReportQuarter
	checkErr error
	report   gateway.QuarterlyReport
}

var quarterID = regexp.MustCompile(`^[0-9]{4}-Q[1-4]$`)

func (f *fakeReports) Check(req gateway.ReportRequest) error {
	var errs []error
	if !quarterID.MatchString(req.Quarter) {
		errs = append(errs, &gateway.ReportRequestError{Param: "quarter", Err: fmt.Errorf("%q is not a quarter", req.Quarter)})
	}
	return errors.Join(append(errs, f.checkErr)...)
}

func (f *fakeReports) Report(ctx context.Context, req gateway.ReportRequest) (gateway.QuarterlyReport, error) {
	if err := f.Check(req); err != nil {
		return nil, err
	}
	if f.report == nil {
		return nil, errors.New("fakeReports: no report")
	}
	return f.report, nil
}

func (f *fakeReports) Submit(context.Context, gateway.ReportRequest, string, []string) (*gateway.Document, error) {
	return nil, errors.New("fakeReports: no submission")
}

func (f *fakeReports) Summary(context.Context, string, string) (any, error) {
	return nil, errors.New("fakeReports: no summary")
}

func (f *fakeReports) Quarters(now time.Time, n int) []gateway.ReportQuarter {
	return f.quarters[:min(n, len(f.quarters))]
}
