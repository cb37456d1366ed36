package report

import (
	"time"

	"github.com/lienthong/lienthong/internal/vnfmt"
)

// Version is the version of the report's JSON shape.
const Version = 1

// Report is Section III of the quarterly e-government report of an
// agency and everything under it, with the statistics behind it. Every
// number says how it was counted: Definitions holds the definitions, by
// item, as the output prints them.
type Report struct {
	Version int    `json:"version"`
	Agency  Agency `json:"agency"`
	// Quarter is "2026-Q3"; QuarterLabel "Quý III năm 2026"; Since and
	// Until the quarter's bounds [Since, Until) in Vietnam's time.
	Quarter      string    `json:"quarter"`
	QuarterLabel string    `json:"quarterLabel"`
	Since        time.Time `json:"since"`
	Until        time.Time `json:"until"`
	// Gateway is the gateway whose store the report was computed from;
	// GeneratedAt when.
	Gateway     string    `json:"gateway"`
	GeneratedAt time.Time `json:"generatedAt"`

	Deployment Deployment `json:"deployment"` // item 1
	Use        Use        `json:"use"`        // item 2
	Signatures Signatures `json:"signatures"` // item 3
	Beyond     Beyond     `json:"beyond"`     // beyond the form

	// Definitions say how each item is counted, by item key ("1.b" …).
	Definitions []Definition `json:"definitions"`
}

// Agency is an agency by code and name.
type Agency struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Definition is how one item is counted.
type Definition struct {
	Item string `json:"item"`
	Text string `json:"text"`
}

// Ratio is a count out of a total. Percent is 100 × Num / Den, rounded
// to one decimal; 0 when Den is 0.
type Ratio struct {
	Num     int     `json:"num"`
	Den     int     `json:"den"`
	Percent float64 `json:"percent"`
}

// String writes the ratio as the report prints it: "1.234/2.000 (61,7%)";
// with no total, "0/0", as gateway.ReportRatio, what the clerks' page
// shows of it (Report.Highlights), writes itself.
func (r Ratio) String() string { return vnfmt.Ratio(r.Num, r.Den, r.Percent) }

// Declared is a value the gateway cannot know, as the agency declared it
// (from flags or a file); the output labels it as declared.
type Declared[T any] struct {
	Value    T    `json:"value"`
	Declared bool `json:"declared"`
}

// Deployment is item 1: the document-management systems (DMS) and the
// internal axis.
type Deployment struct {
	// Case is 1 (one shared DMS for all units), 2 (a shared DMS for some
	// units and their own for others, all connected) or 3 (some units
	// not connected).
	Case     int    `json:"case"`
	CaseText string `json:"caseText"`
	// Units is how many units the agency has in all: declared, or the
	// units of the directory.
	Units Declared[int] `json:"units"`
	// WithDMS are the units registered in the directory (their DMS is on
	// the axis), out of Units.
	WithDMS Ratio `json:"withDms"`
	// Connected are the units connected during the quarter, out of Units.
	Connected Ratio `json:"connected"`
	// ConnectedUnits and NotConnected list the directory's units.
	ConnectedUnits []Unit `json:"connectedUnits"`
	NotConnected   []Unit `json:"notConnected"`
	// NationalAxis: the agency exchanged documents with agencies outside
	// it during the quarter, or its gateway is live.
	NationalAxis     bool   `json:"nationalAxis"`
	NationalAxisText string `json:"nationalAxisText"`
}

// Unit is a unit of the reporting agency as the directory knows it.
type Unit struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Gateway string `json:"gateway,omitempty"`
	// Exchanged: it sent or received a document during the quarter;
	// Live: its gateway's heartbeat is current.
	Exchanged bool `json:"exchanged"`
	Live      bool `json:"live"`
}

// Use is item 2: how the DMS is used.
type Use struct {
	// Outgoing counts the new documents (not deliveries; not
	// revocations, updates or replacements) the agency's units sent.
	Outgoing int `json:"outgoing"`
	// Internal counts those of them sent only to the agency's own units;
	// ElectronicOnly and WithPaper split them by Paper 0 and 1.
	Internal       int   `json:"internal"`
	ElectronicOnly Ratio `json:"electronicOnly"`
	WithPaper      Ratio `json:"withPaper"`
	// PaperOutgoing is the count of the paper outgoing register
	// (declared); ElectronicPerPaper is Outgoing / PaperOutgoing.
	PaperOutgoing      Declared[int] `json:"paperOutgoing"`
	ElectronicPerPaper float64       `json:"electronicPerPaper"`
}

// Signatures is item 3: digital signatures.
type Signatures struct {
	// Integrated: signing is integrated in the shared DMS (declared).
	Integrated Declared[bool] `json:"integrated"`
	// Months are the quarter's three months: signed / all documents,
	// within the agency and with other agencies.
	Months []MonthSignatures `json:"months"`
	// Internal and External are the monthly averages: the sums over the
	// quarter divided by three, and their share.
	Internal MonthlyAverage `json:"internal"`
	External MonthlyAverage `json:"external"`
	// SignedPDF counts the documents that carried at least one signed PDF
	// attachment, out of all documents counted.
	SignedPDF Ratio `json:"signedPdf"`
}

// MonthSignatures is one month of item 3.
type MonthSignatures struct {
	Month    string `json:"month"` // "07/2026"
	Internal Ratio  `json:"internal"`
	External Ratio  `json:"external"`
}

// MonthlyAverage is a monthly average of signed and all documents.
type MonthlyAverage struct {
	Signed  float64 `json:"signed"`
	All     float64 `json:"all"`
	Percent float64 `json:"percent"`
}

// Beyond is what the form does not ask and the gateway knows.
type Beyond struct {
	// Deliveries counts the deliveries of the documents the units sent
	// (one per recipient); Delivered those that reached the recipient
	// (status 01).
	Deliveries int   `json:"deliveries"`
	Delivered  Ratio `json:"delivered"`
	// TimeTo01, TimeTo03 and TimeTo06 are the times from sending to the
	// recipient's 01, 03 and 06.
	TimeTo01 Durations `json:"timeTo01"`
	TimeTo03 Durations `json:"timeTo03"`
	TimeTo06 Durations `json:"timeTo06"`
	// Refusals are the deliveries refused (02), by recipients of the
	// units' documents (Outgoing) or by the units (Incoming).
	Refusals []Refusal `json:"refusals"`
	// Recalls counts recall requests (13) and their outcomes.
	Recalls Recalls `json:"recalls"`
	// OverdueOutgoing counts deliveries of the units' documents that
	// their recipients had not finished by the due date;
	// OverdueIncoming documents the units had not finished by theirs.
	OverdueOutgoing int `json:"overdueOutgoing"`
	OverdueIncoming int `json:"overdueIncoming"`
	// Incoming counts the documents the units received.
	Incoming int `json:"incoming"`
	// ByCounterpart and ByMonth break the exchange down.
	ByCounterpart []Counterpart `json:"byCounterpart"`
	ByMonth       []Month       `json:"byMonth"`
}

// Durations summarise times in seconds: how many, the median and the 95th
// percentile (nearest rank).
type Durations struct {
	Count  int     `json:"count"`
	Median float64 `json:"medianSeconds"`
	P95    float64 `json:"p95Seconds"`
}

// Refusal is a refused delivery.
type Refusal struct {
	Document  string    `json:"document"` // local id
	Direction string    `json:"direction"`
	Agency    string    `json:"agency"`    // the unit
	Party     string    `json:"party"`     // the recipient (outgoing) or the sender (incoming)
	Number    string    `json:"number"`    // số/ký hiệu, when known
	Subject   string    `json:"subject"`   // trích yếu, when known
	Reason    string    `json:"reason"`    // what the refusal said
	CreatedAt time.Time `json:"createdAt"` // of the document
}

// Recalls count recall requests and what became of them.
type Recalls struct {
	Requested int `json:"requested"`
	Recalled  int `json:"recalled"`
	Refused   int `json:"refused"`
}

// Counterpart is the exchange with one agency outside or inside the
// reporting agency.
type Counterpart struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Internal bool   `json:"internal"`
	Sent     int    `json:"sent"`     // deliveries to it
	Received int    `json:"received"` // documents from it
	Refused  int    `json:"refused"`  // deliveries it refused
}

// Month is one month of the exchange.
type Month struct {
	Month     string `json:"month"` // "07/2026"
	Outgoing  int    `json:"outgoing"`
	Incoming  int    `json:"incoming"`
	Signed    int    `json:"signed"`
	Documents int    `json:"documents"`
	// MedianTo01 is the median time to 01 of the month's deliveries, in
	// seconds, over Arrived deliveries (0 and Arrived 0: none arrived).
	MedianTo01 float64 `json:"medianTo01Seconds"`
	Arrived    int     `json:"arrived"`
}
