package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// A Report is what the faces serve (gateway.QuarterlyReport): they hold
// it through that interface, and the clerks' page shows its Highlights,
// without importing this package.
var _ gateway.QuarterlyReport = (*Report)(nil)

// Formats are the formats Write writes.
var formats = map[string]func(*Report, io.Writer) error{
	"json": (*Report).WriteJSON,
	"html": (*Report).WriteHTML,
	"csv":  (*Report).WriteCSV,
	"xlsx": (*Report).WriteXLSX,
}

// Write writes r in format: "json", "html", "csv" or "xlsx".
func (r *Report) Write(w io.Writer, format string) error {
	write, ok := formats[format]
	if !ok {
		return fmt.Errorf("report: no format %q", format)
	}
	return write(r, w)
}

// FileName is the name of r's file in format:
// "bao-cao-lien-thong_H41_2026-Q3.html".
func (r *Report) FileName(format string) string {
	tokens := r.Agency.Code
	if c, err := envelope.ParseAgencyCode(r.Agency.Code, envelope.CodeAny); err == nil {
		tokens = c.Tokens()
	}
	return "bao-cao-lien-thong_" + strings.ReplaceAll(tokens, ".", "-") + "_" + r.Quarter + "." + format
}

// Charts are r's charts with their titles: the monthly volumes, the
// monthly share signed, the median time to 01.
func (r *Report) Charts() []gateway.Chart {
	return []gateway.Chart{
		{Title: "Số văn bản đi và văn bản đến theo tháng", SVG: string(MonthlyVolumeChart(r))},
		{Title: "Tỷ lệ văn bản điện tử có ký số theo tháng", SVG: string(SignedShareChart(r))},
		{Title: "Thời gian trung vị đến khi nơi nhận báo đã đến (01), theo tháng", SVG: string(DeliveryTimeChart(r))},
	}
}

// Highlights are r's key figures, as the clerks' page shows them.
func (r *Report) Highlights() gateway.ReportHighlights {
	d, b := &r.Deployment, &r.Beyond
	h := gateway.ReportHighlights{
		Agency: r.Agency.Name, QuarterLabel: r.QuarterLabel,
		Outgoing: r.Use.Outgoing, Incoming: b.Incoming,
		Connected:      gateway.ReportRatio(d.Connected),
		SignedInternal: r.Signatures.Internal.Percent, SignedExternal: r.Signatures.External.Percent,
		Delivered:       gateway.ReportRatio(b.Delivered),
		To03:            gateway.ReportMedian{Count: b.TimeTo03.Count, Seconds: b.TimeTo03.Median},
		To06:            gateway.ReportMedian{Count: b.TimeTo06.Count, Seconds: b.TimeTo06.Median},
		Refused:         len(b.Refusals),
		OverdueOutgoing: b.OverdueOutgoing, OverdueIncoming: b.OverdueIncoming,
		Deployment: d.CaseText, NationalAxis: d.NationalAxisText,
	}
	for _, u := range d.NotConnected {
		h.NotConnected = append(h.NotConnected, u.Name)
	}
	return h
}
