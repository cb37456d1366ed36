package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// maxRefusalsDetailed bounds how many refusals get their document's
// number and subject looked up; the rest keep their id.
const maxRefusalsDetailed = 1000

// Generate computes the report of in.Agency for in.Quarter from the
// store's rows.
func Generate(ctx context.Context, st gateway.Store, in Input) (*Report, error) {
	b, err := NewBuilder(in)
	if err != nil {
		return nil, err
	}
	q := gateway.ReportQuery{Under: b.in.Agency.Code, Since: in.Quarter.Start(), Until: in.Quarter.End()}
	err = st.ReportRows(ctx, q, func(r *gateway.ReportRow) error {
		b.Add(r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: read the store: %w", err)
	}
	rep := b.Report()
	for i := range rep.Beyond.Refusals[:min(len(rep.Beyond.Refusals), maxRefusalsDetailed)] {
		f := &rep.Beyond.Refusals[i]
		d, err := st.Document(ctx, f.Document)
		if errors.Is(err, gateway.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("report: read refused document %s: %w", f.Document, err)
		}
		f.Number, f.Subject = d.Number, d.Subject
		if d.Notation != "" {
			f.Number += "/" + d.Notation
		}
	}
	return rep, nil
}

// Of computes the report of agency for quarter at gw: its store, the
// agencies it hosts, the directory and the live gateways it sees.
func Of(ctx context.Context, gw *gateway.Gateway, agency string, quarter Quarter, declared Declarations) (*Report, error) {
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		return nil, fmt.Errorf("report: agency %q: %w", agency, err)
	}
	in := Input{
		Agency: Agency{Code: code.String()}, Quarter: quarter, Gateway: gw.ID(),
		Directory: gw.Directory().Agencies(), Declared: declared, Now: time.Now(),
		Live: map[string]bool{},
	}
	if a, ok := gw.Directory().Lookup(agency); ok {
		in.Agency.Name = a.Name
	}
	for _, h := range gw.HostedAgencies() {
		in.Hosted = append(in.Hosted, h.Code.String())
		if h.Code.Equal(code) {
			in.Agency.Name = h.Name
		}
	}
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	beats, err := gw.Bus().Gateways(bctx)
	if err != nil {
		return nil, fmt.Errorf("report: read the gateways' heartbeats: %w", err)
	}
	for _, b := range beats {
		in.Live[b.Gateway] = true
	}
	return Generate(ctx, gw.Store(), in)
}
