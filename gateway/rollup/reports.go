package rollup

import (
	"context"
	"errors"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
)

// Reports serves the quarterly reports of a gateway to its faces.
type Reports struct {
	gw Gateway
}

var _ gateway.Reports = (*Reports)(nil)

// New returns the reports of gw.
func New(gw Gateway) *Reports { return &Reports{gw: gw} }

// parse reads req's quarter and declarations; each that cannot be read
// is a *gateway.ReportRequestError, joined.
func parse(req gateway.ReportRequest) (report.Quarter, report.Declarations, error) {
	var errs []error
	q, err := report.ParseQuarter(req.Quarter)
	if err != nil {
		errs = append(errs, &gateway.ReportRequestError{Param: "quarter", Err: err})
	}
	get := req.Declared
	if get == nil {
		get = func(string) string { return "" }
	}
	d, err := report.ParseDeclarations(get)
	if err != nil {
		errs = append(errs, &gateway.ReportRequestError{Param: "declarations", Err: err})
	}
	return q, d, errors.Join(errs...)
}

// Check implements gateway.Reports.
func (r *Reports) Check(req gateway.ReportRequest) error {
	_, _, err := parse(req)
	return err
}

// Report implements gateway.Reports.
func (r *Reports) Report(ctx context.Context, req gateway.ReportRequest) (gateway.QuarterlyReport, error) {
	q, d, err := parse(req)
	if err != nil {
		return nil, err
	}
	rep, err := Of(ctx, r.gw, req.Agency, q, d)
	if err != nil {
		return nil, err // not a nil *report.Report in a non-nil interface
	}
	return rep, nil
}

// Submit implements gateway.Reports.
func (r *Reports) Submit(ctx context.Context, req gateway.ReportRequest, to string, allowed []string) (*gateway.Document, error) {
	q, d, err := parse(req)
	if err != nil {
		return nil, err
	}
	rep, err := Of(ctx, r.gw, req.Agency, q, d)
	if err != nil {
		return nil, err
	}
	return Submit(ctx, r.gw, rep, to, allowed)
}

// Summary implements gateway.Reports.
func (r *Reports) Summary(ctx context.Context, hub, quarter string) (any, error) {
	q, err := report.ParseQuarter(quarter)
	if err != nil {
		return nil, &gateway.ReportRequestError{Param: "quarter", Err: err}
	}
	s, err := Summarize(ctx, r.gw, hub, q)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Quarters implements gateway.Reports.
func (r *Reports) Quarters(now time.Time, n int) []gateway.ReportQuarter {
	cur := report.QuarterOf(now)
	out := make([]gateway.ReportQuarter, 0, max(n, 0))
	for i := range n {
		c := report.Quarter{Year: cur.Year, N: cur.N - i}
		for c.N < 1 {
			c.N += 4
			c.Year--
		}
		out = append(out, gateway.ReportQuarter{ID: c.String(), Label: c.Label(), Start: c.Start()})
	}
	return out
}
