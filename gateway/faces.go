package gateway

import (
	"context"
	"crypto/x509"
	"io"
	"time"

	"github.com/lienthong/lienthong/internal/vnfmt"
)

// The faces — the HTTP API (gateway/api), the national axis SDK's
// protocol (gateway/vxp), the clerks' web pages (gateway/web), the
// metrics (gateway/metrics) and the quarterly report (gateway/report) —
// are handed the small role interfaces below, not the whole *Gateway, in
// the manner of jetstream's Stream and Consumer: each face says in its
// own (composite) interface which roles it needs, a test gives it a fake
// of just those, and none of them sees the Store's writes or the Bus.
// *Gateway implements every role; the Store implements DocumentReader
// and ReportRowReader too, for the CLI's offline reads. Reports, how
// api and web get the quarterly reports, is not a role of *Gateway:
// gateway/rollup makes it, over the roles it needs.

// DocumentReader reads documents with their deliveries and events, and
// the packets they came in: what the faces show.
type DocumentReader interface {
	// Document returns a document with its deliveries and every event;
	// ErrNotFound if there is none.
	Document(ctx context.Context, id string) (*DocumentDetail, error)
	// Documents lists documents, newest first, one page at a time; a
	// query that cannot run is ErrInvalidQuery.
	Documents(ctx context.Context, q DocumentQuery) (DocumentPage, error)
	// CountDocuments counts what Documents would list over all pages.
	CountDocuments(ctx context.Context, q DocumentQuery) (int, error)
	// Packet returns a stored packet; ErrNotFound if there is none.
	Packet(ctx context.Context, id string) (*Packet, error)
}

// Submitter accepts outgoing packets for a document-management system
// or the roll-up (see Gateway.Submit): it sends documents in the name of
// the agencies it is allowed.
type Submitter interface {
	Submit(ctx context.Context, s Submission) (doc *Document, replay bool, err error)
}

// StatusPoster posts processing statuses of received documents for a
// document-management system or a clerk (see Gateway.PostStatusResult).
// It is apart from Submitter so that a face which only posts statuses
// (the clerks' page) cannot send packets.
type StatusPoster interface {
	PostStatusResult(ctx context.Context, r StatusRequest) (StatusPosted, error)
}

// Admitter admits the requests of document-management systems before
// their bodies are read (see admit.go).
type Admitter interface {
	AdmitBody(ctx context.Context, caller string, kind PacketKind, length, limit int64) (release func(), err error)
	AdmitWork(ctx context.Context, caller string, kind PacketKind) (release func(), err error)
	// MaxPacketSize is the largest packet the gateway accepts.
	MaxPacketSize() int64
}

// ChangeFeed tells the pages and lists that wait for news that documents
// changed (see Gateway.Subscribe).
type ChangeFeed interface {
	Subscribe() (<-chan Change, func())
	LastChange() uint64
}

// Hosting says which agencies the gateway acts for.
type Hosting interface {
	// Hosted returns the hosted agency with code (either form, or a
	// former code), or false.
	Hosted(code string) (*HostedAgency, bool)
	// HostedAgencies returns them in configuration order.
	HostedAgencies() []HostedAgency
}

// AgencyDirectory reads the gateway's view of the directory: the
// agencies of the axis and their certificates.
type AgencyDirectory interface {
	// Agency returns the entry of code (either form, or a former code).
	Agency(code string) (Agency, bool)
	// SearchAgencies returns a page of the directory (see
	// Directory.Search); the zero query returns every agency.
	SearchAgencies(q DirectoryQuery) DirectoryPage
	// DirectorySize is how many agencies the directory holds.
	DirectorySize() int
	// AgencyCertificates returns the signing certificates registered for
	// codes (see directory_certs.go).
	AgencyCertificates(ctx context.Context, codes []string) ([]RegisteredCertificates, error)
}

// HeartbeatReader reads which gateways of the axis are alive: those whose
// heartbeat the bus still keeps.
type HeartbeatReader interface {
	Heartbeats(ctx context.Context) ([]GatewayBeat, error)
}

// ReportRowReader reads what the quarterly report is computed from: the
// rows of the deliveries (Store.ReportRows), and a document to name the
// refused ones.
type ReportRowReader interface {
	ReportRows(ctx context.Context, q ReportQuery, fn func(*ReportRow) error) error
	Document(ctx context.Context, id string) (*DocumentDetail, error)
}

// GaugeReader is what the metrics read at each scrape.
type GaugeReader interface {
	Hosting
	// ID and Version name the gateway.
	ID() string
	Version() string
	// CRLs are the revocation lists signature verification uses.
	CRLs() []*x509.RevocationList
	// Connected is whether the bus's connection is up.
	Connected() bool
	// DirectoryUpdated is when the view of the directory last changed.
	DirectoryUpdated() time.Time
	// LastHeartbeat is when the gateway's heartbeat last got through.
	LastHeartbeat() time.Time
	// Stats are the store's numbers as of now (Store.Stats).
	Stats(ctx context.Context, now time.Time) (StoreStats, error)
	// Pending counts the messages not yet acknowledged, by stream;
	// ErrClosed while the gateway is not open.
	Pending(ctx context.Context) (map[string]uint64, error)
}

// ReportRequest names a quarterly report for the faces, which do not
// read its parameters themselves.
type ReportRequest struct {
	// Agency is the agency the report is of, with every agency under it.
	Agency string
	// Quarter is written "2026-Q3".
	Quarter string
	// Declared reads the figures the gateway cannot know, as the agency
	// declared them, by parameter name (a URL query's Get); nil declares
	// none.
	Declared func(name string) string
}

// ReportRequestError says which parameter of a ReportRequest cannot be
// read: "quarter" or "declarations".
type ReportRequestError struct {
	Param string
	Err   error
}

// Error says which parameter and why.
func (e *ReportRequestError) Error() string { return "report: " + e.Param + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ReportRequestError) Unwrap() error { return e.Err }

// ReportRequestErrors returns the *ReportRequestError err is, or those
// it wraps or joins at any depth (Reports.Check joins one per parameter;
// a caller may wrap the join), in order; none if err is nil or holds
// none.
func ReportRequestErrors(err error) []*ReportRequestError {
	var out []*ReportRequestError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *ReportRequestError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, e := range e.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// QuarterlyReport is a computed quarterly report, served as it is: the
// faces neither compute nor render it.
type QuarterlyReport interface {
	// Write renders the report in format: "json", "html", "csv" or
	// "xlsx".
	Write(w io.Writer, format string) error
	// FileName is the name of the report's file in format:
	// "bao-cao-lien-thong_H41_2026-Q3.html".
	FileName(format string) string
	// Charts are the report's charts, each an SVG document the report
	// drew and escaped, with its title.
	Charts() []Chart
	// Highlights are the report's key figures, those the clerks' page
	// shows above its charts.
	Highlights() ReportHighlights
}

// ReportHighlights are the key figures of a quarterly report, as the
// clerks' page shows them: the page reads these, not the report's own
// fields, so that what it shows is checked when it is compiled.
type ReportHighlights struct {
	// Agency is the name of the agency the report is of; QuarterLabel
	// "Quý III năm 2026".
	Agency, QuarterLabel string
	// Outgoing counts the new documents the agency's units sent;
	// Incoming the documents they received.
	Outgoing, Incoming int
	// Connected are the units connected during the quarter, out of all.
	Connected ReportRatio
	// SignedInternal and SignedExternal are the shares of documents
	// signed, in percent, within the agency and with other agencies
	// (monthly averages).
	SignedInternal, SignedExternal float64
	// Delivered are the deliveries that reached their recipients (01),
	// out of all.
	Delivered ReportRatio
	// To03 and To06 are the times from sending to the recipient's 03
	// (received) and 06 (finished).
	To03, To06 ReportMedian
	// Refused counts the deliveries refused (02), either way.
	Refused int
	// OverdueOutgoing counts the deliveries of the units' documents not
	// finished by their due date; OverdueIncoming the units' received
	// documents not finished by theirs.
	OverdueOutgoing, OverdueIncoming int
	// Deployment and NationalAxis say, in a sentence each, how the
	// agency's document-management systems are deployed and whether it
	// is on the national axis.
	Deployment, NationalAxis string
	// NotConnected names the units not connected during the quarter.
	NotConnected []string
}

// ReportRatio is a count out of a total; Percent is 100 × Num / Den,
// rounded to one decimal, 0 when Den is 0.
type ReportRatio struct {
	Num, Den int
	Percent  float64
}

// String writes the ratio as the report prints it: "1.234/2.000
// (61,7%)"; with no total, "0/0".
func (r ReportRatio) String() string { return vnfmt.Ratio(r.Num, r.Den, r.Percent) }

// ReportMedian is the median of Count times, in seconds; no median when
// Count is 0.
type ReportMedian struct {
	Count   int
	Seconds float64
}

// Chart is a chart of a report: its title and its SVG.
type Chart struct {
	Title string
	SVG   string
}

// ReportQuarter is a quarter a report can be asked for.
type ReportQuarter struct {
	// ID is "2026-Q3", Label "Quý III năm 2026".
	ID, Label string
	// Start is the quarter's first instant, in Vietnam's time.
	Start time.Time
}

// Reports makes the quarterly reports the faces serve. gateway/report
// computes and renders them from the gateway's rows; the wiring (cmd)
// hands an implementation to the faces, which therefore do not import
// gateway/report.
type Reports interface {
	// Check reads req's quarter and declarations without computing
	// anything: each that cannot be read is a *ReportRequestError, all
	// of them joined.
	Check(req ReportRequest) error
	// Report computes the report req names (a bad request as Check).
	Report(ctx context.Context, req ReportRequest) (QuarterlyReport, error)
	// Submit computes it and sends it, as a document of req.Agency (which
	// must be hosted here: ErrNotHosted), to the agency to
	// (ErrUnknownRecipient if the directory does not know it); allowed
	// bounds the senders as in Submission.
	Submit(ctx context.Context, req ReportRequest, to string, allowed []string) (*Document, error)
	// Summary builds the national summary of quarter from the reports
	// the hosted agency hub received, as a value to encode in JSON.
	Summary(ctx context.Context, hub, quarter string) (any, error)
	// Quarters returns exactly n quarters (none if n <= 0): the one of
	// now and those before it, latest first.
	Quarters(now time.Time, n int) []ReportQuarter
}

// The roles *Gateway plays.
var (
	_ DocumentReader  = (*Gateway)(nil)
	_ ReportRowReader = (*Gateway)(nil)
	_ Submitter       = (*Gateway)(nil)
	_ StatusPoster    = (*Gateway)(nil)
	_ Admitter        = (*Gateway)(nil)
	_ ChangeFeed      = (*Gateway)(nil)
	_ AgencyDirectory = (*Gateway)(nil)
	_ HeartbeatReader = (*Gateway)(nil)
	_ GaugeReader     = (*Gateway)(nil)
	_ DocumentReader  = Store(nil)
	_ ReportRowReader = Store(nil)
)

// NoRole reports whether role, a role the wiring hands a face, is
// missing: nil, or a nil *Gateway, which the interface holding it does
// not compare equal to nil. The faces' constructors refuse it rather
// than panic on the first request.
func NoRole(role any) bool {
	switch g := role.(type) {
	case nil:
		return true
	case *Gateway:
		return g == nil
	}
	return false
}

// Document returns a document of the store (DocumentReader).
func (g *Gateway) Document(ctx context.Context, id string) (*DocumentDetail, error) {
	return g.store.Document(ctx, id)
}

// Documents lists the store's documents (DocumentReader).
func (g *Gateway) Documents(ctx context.Context, q DocumentQuery) (DocumentPage, error) {
	return g.store.Documents(ctx, q)
}

// CountDocuments counts the store's documents (DocumentReader).
func (g *Gateway) CountDocuments(ctx context.Context, q DocumentQuery) (int, error) {
	return g.store.CountDocuments(ctx, q)
}

// Packet returns a packet of the store (DocumentReader).
func (g *Gateway) Packet(ctx context.Context, id string) (*Packet, error) {
	return g.store.Packet(ctx, id)
}

// ReportRows reads the store's rows of the quarterly report
// (ReportRowReader).
func (g *Gateway) ReportRows(ctx context.Context, q ReportQuery, fn func(*ReportRow) error) error {
	return g.store.ReportRows(ctx, q, fn)
}

// Stats returns the store's numbers (GaugeReader).
func (g *Gateway) Stats(ctx context.Context, now time.Time) (StoreStats, error) {
	return g.store.Stats(ctx, now)
}

// Connected is whether the bus's connection is up (GaugeReader).
func (g *Gateway) Connected() bool { return g.bus.Connected() }

// Heartbeats reads the live gateways' heartbeats from the bus
// (HeartbeatReader).
func (g *Gateway) Heartbeats(ctx context.Context) ([]GatewayBeat, error) {
	return g.bus.Gateways(ctx)
}

// Agency looks code up in the directory (AgencyDirectory).
func (g *Gateway) Agency(code string) (Agency, bool) { return g.dir.Lookup(code) }

// SearchAgencies searches the directory (AgencyDirectory).
func (g *Gateway) SearchAgencies(q DirectoryQuery) DirectoryPage { return g.dir.Search(q) }

// DirectorySize is how many agencies the directory holds
// (AgencyDirectory).
func (g *Gateway) DirectorySize() int { return g.dir.Len() }

// DirectoryUpdated is when the directory last changed (GaugeReader).
func (g *Gateway) DirectoryUpdated() time.Time { return g.dir.Updated() }
