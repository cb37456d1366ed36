// Package rollup connects the quarterly report to a running gateway: it
// computes an agency's report from the gateway's rows, directory and
// heartbeats ([Of]), sends it up the tiers as a signed document
// ([Submit]), and builds a hub's national summary from the reports it
// received ([Summarize]). gateway/report does the computing and the
// rendering over what this package reads; [Reports] hands both to the
// faces (gateway/api, gateway/web) as a gateway.Reports, so that they
// import neither this package nor gateway/report.
//
// It is one of the gateway's flows, like accepting and dispatching, but
// lives apart from package gateway because it needs gateway/report,
// which imports gateway.
package rollup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
)

// heartbeatTimeout bounds the read of the live gateways a report names.
const heartbeatTimeout = 5 * time.Second

// Gateway is what the roll-up needs of a running gateway: its id and the
// roles it reads and submits through (not Admitter, StatusPoster,
// ChangeFeed or GaugeReader). *gateway.Gateway is one.
type Gateway interface {
	// ID names the gateway the report is computed at.
	ID() string
	gateway.Hosting
	gateway.AgencyDirectory
	gateway.HeartbeatReader
	gateway.ReportRowReader
	gateway.DocumentReader
	gateway.Submitter
}

var _ Gateway = (*gateway.Gateway)(nil)

// Of computes the report of agency for quarter at gw: its store's rows,
// the agencies it hosts, the directory and the live gateways it sees.
func Of(ctx context.Context, gw Gateway, agency string, quarter report.Quarter, declared report.Declarations) (*report.Report, error) {
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeAny)
	if err != nil {
		return nil, fmt.Errorf("rollup: agency %q: %w", agency, err)
	}
	in := report.Input{
		Agency: report.Agency{Code: code.String()}, Quarter: quarter, Gateway: gw.ID(),
		Directory: gw.SearchAgencies(gateway.DirectoryQuery{}).Agencies, Declared: declared, Now: time.Now(),
		Live: map[string]bool{},
	}
	if a, ok := gw.Agency(agency); ok {
		in.Agency.Name = a.Name
	}
	for _, h := range gw.HostedAgencies() {
		in.Hosted = append(in.Hosted, h.Code.String())
		if h.Code.Equal(code) {
			in.Agency.Name = h.Name
		}
	}
	bctx, cancel := context.WithTimeout(ctx, heartbeatTimeout)
	defer cancel()
	beats, err := gw.Heartbeats(bctx)
	if err != nil {
		return nil, fmt.Errorf("rollup: read the gateways' heartbeats: %w", err)
	}
	for _, b := range beats {
		in.Live[b.Gateway] = true
	}
	return report.Generate(ctx, gw, in)
}

// Submit sends rep from its agency (hosted by gw) to the agency to, and
// returns the outgoing document; allowed bounds the senders as in
// gateway.Submission.
func Submit(ctx context.Context, gw Gateway, rep *report.Report, to string, allowed []string) (*gateway.Document, error) {
	if _, ok := gw.Hosted(rep.Agency.Code); !ok {
		return nil, fmt.Errorf("rollup: %w: %s", gateway.ErrNotHosted, rep.Agency.Code)
	}
	code, err := envelope.ParseAgencyCode(to, envelope.CodeAny)
	if err != nil {
		return nil, fmt.Errorf("rollup: recipient %q: %w", to, err)
	}
	a, ok := gw.Agency(to)
	if !ok {
		return nil, fmt.Errorf("rollup: %w: %s", gateway.ErrUnknownRecipient, to)
	}
	packet, err := report.Packet(rep, code.String(), a.Name, time.Now())
	if err != nil {
		return nil, err
	}
	d, _, err := gw.Submit(ctx, gateway.Submission{Packet: packet, Allowed: allowed})
	if err != nil {
		return nil, fmt.Errorf("rollup: submit: %w", err)
	}
	return d, nil
}

// Summarize builds the national summary of quarter at the hub gw, whose
// agency hub receives the reports.
func Summarize(ctx context.Context, gw Gateway, hub string, quarter report.Quarter) (*report.Summary, error) {
	hubCode, err := envelope.ParseAgencyCode(hub, envelope.CodeAny)
	if err != nil {
		return nil, fmt.Errorf("rollup: hub %q: %w", hub, err)
	}
	reports, err := received(ctx, gw, hubCode.String(), quarter)
	if err != nil {
		return nil, err
	}
	return report.Summarize(hub, quarter, reports, gw.SearchAgencies(gateway.DirectoryQuery{}).Agencies, time.Now())
}

// received reads the reports of quarter that hub received: the latest per
// agency, from documents whose signature verified and whose sender is
// the agency the report is about. It keeps only those between pages: a
// hub holds at most one report per agency and a page in memory, however
// often the reports were sent again.
func received(ctx context.Context, gw Gateway, hub string, quarter report.Quarter) ([]report.SubmittedReport, error) {
	var kept []report.SubmittedReport
	q := report.ReceivedQuery(hub, quarter)
	for {
		page, err := gw.Documents(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("rollup: list the reports received: %w", err)
		}
		for _, d := range page.Documents {
			rep, err := carried(ctx, gw, &d.Document, quarter)
			if err != nil {
				return nil, err
			}
			if rep != nil {
				kept = append(kept, report.SubmittedReport{Agency: rep.Agency, Document: d.ID, ReceivedAt: d.CreatedAt, Report: rep})
			}
		}
		// Those kept from the pages before come first in kept, so that
		// on a tie the one listed earlier stays, as if all were kept to
		// the end.
		kept = report.Received(kept)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	return kept, nil
}

// carried reads the packet of a received document and returns the report
// of quarter it carries, if any (see report.Carried).
func carried(ctx context.Context, gw Gateway, d *gateway.Document, quarter report.Quarter) (*report.Report, error) {
	if d.Verdict.Outcome != "valid" {
		return nil, nil // not worth reading the packet
	}
	p, err := gw.Packet(ctx, d.PacketID)
	if errors.Is(err, gateway.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rollup: read packet %s: %w", d.PacketID, err)
	}
	return report.Carried(d, p.Data, quarter)
}
