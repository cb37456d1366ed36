// Package report is the quarterly Section III of the VPCP e-government
// report — deployment, use and signatures of electronic documents — with
// the delivery and signature statistics behind it, for an agency and
// every agency under it.
//
// It computes from rows and renders: a [Builder] counts the store's rows
// (gateway.ReportRow) of a quarter, [Generate] reads them through
// gateway.ReportRowReader (the store, or the running gateway's role) and
// names the refused documents, and a [Report] writes itself as printable
// HTML with SVG charts, JSON, CSV and XLSX in Vietnamese. A Report is the
// gateway.QuarterlyReport the faces serve. The roll-up's pure parts are
// here too: [Packet] makes the document that carries a report to the tier
// above, [Carried] reads the report a received one carries, [Summarize]
// builds the hub's national summary. What a running gateway reads and
// sends for them is gateway/rollup's; this package does no other I/O.
//
// It imports gateway, envelope and internal/vnfmt (the Vietnamese number
// formats it shares with the clerks' page), and no other face.
package report
