package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// The roll-up: an agency sends its report to its parent or to the
// Government Office as a signed edXML document (a "Báo cáo") carrying the
// report as JSON and HTML; the hub reads the reports it received and
// builds the national summary. What the roll-up reads and sends at a
// gateway is gateway/rollup's; here are the pure parts: the document that
// carries a report, the report a received one carries, the summary.

// attachmentPrefix starts the name of a report's JSON attachment:
// "lienthong-bao-cao_<agency tokens>_<quarter>.json".
const attachmentPrefix = "lienthong-bao-cao_"

// subjectPrefix starts the subject of a report's document.
const subjectPrefix = "Báo cáo tình hình kết nối, liên thông văn bản điện tử"

// attachmentName is the file name of a report's attachment.
func attachmentName(rep *Report, ext string) string {
	tokens := rep.Agency.Code
	if c, err := envelope.ParseAgencyCode(rep.Agency.Code, envelope.CodeAny); err == nil {
		tokens = c.Tokens()
	}
	return attachmentPrefix + strings.ReplaceAll(tokens, ".", "-") + "_" + rep.Quarter + "." + ext
}

// Packet makes the edXML document that submits rep to the agency to
// (name toName), unsigned: the gateway signs it with the reporting
// agency's key when it accepts it.
func Packet(rep *Report, to, toName string, now time.Time) ([]byte, error) {
	var js, page bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		return nil, err
	}
	if err := rep.WriteHTML(&page); err != nil {
		return nil, err
	}
	date := envelope.DateOf(now)
	// The number is the time of day: an agency may send its report again
	// the same day (corrected declarations), and a DocumentId is unique.
	// (BC + hhmmss + milliseconds: the 11 characters CodeNumber allows).
	v := now.In(envelope.VietnamTime())
	code := envelope.Code{Number: fmt.Sprintf("BC%s%03d", v.Format("150405"), v.Nanosecond()/1e6), Notation: "LT-" + strings.ReplaceAll(rep.Quarter, "-", "")}
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From:         envelope.Organization{OrganID: rep.Agency.Code, OrganName: rep.Agency.Name},
			To:           []envelope.Organization{{OrganID: to, OrganName: toName}},
			Code:         code,
			Promulgation: envelope.PromulgationInfo{Date: date},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "14", TypeName: "Báo cáo"},
			Subject:      subjectPrefix + " " + rep.QuarterLabel + " của " + rep.Agency.Name,
			DocumentID:   envelope.MakeDocumentID(rep.Agency.Code, date, code),
		},
		Trace:     []envelope.TraceHeader{{OrganID: rep.Agency.Code, Timestamp: envelope.TimestampOf(now)}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	e.AddAttachment(envelope.Attachment{Name: attachmentName(rep, "json"), ContentType: "application/json", Data: js.Bytes()})
	e.AddAttachment(envelope.Attachment{Name: attachmentName(rep, "html"), ContentType: "text/html", Data: page.Bytes()})
	b, err := envelope.Encode(&envelope.Packet{Edoc: e})
	if err != nil {
		return nil, fmt.Errorf("report: encode the report's document: %w", err)
	}
	return b, nil
}

// Summary is the national summary a hub builds from the reports it
// received for a quarter, in the style of the Government's own reports.
type Summary struct {
	Quarter      string    `json:"quarter"`
	QuarterLabel string    `json:"quarterLabel"`
	Hub          Agency    `json:"hub"`
	GeneratedAt  time.Time `json:"generatedAt"`
	// Ministries are the level-1 G agencies of the directory (bộ, cơ
	// quan ngang bộ, cơ quan thuộc Chính phủ); Provinces the level-1 H
	// agencies (tỉnh, thành phố trực thuộc trung ương).
	Ministries Group `json:"ministries"`
	Provinces  Group `json:"provinces"`
	// Text is the summary sentence.
	Text string `json:"text"`
	// Reports are the reports received, the latest per agency.
	Reports []SubmittedReport `json:"reports"`
	// Definition says how agencies are counted as connected.
	Definition string `json:"definition"`
}

// Group is the connected and not connected agencies of one kind.
type Group struct {
	Connected    int      `json:"connected"`
	Total        int      `json:"total"`
	NotConnected []Agency `json:"notConnected"`
	// NoReport are the agencies that sent no report (counted as not
	// connected, unless they are the hub).
	NoReport []Agency `json:"noReport"`
}

// SubmittedReport is a report as the hub received it.
type SubmittedReport struct {
	Agency     Agency    `json:"agency"`
	Document   string    `json:"document"` // the hub's local id
	ReceivedAt time.Time `json:"receivedAt"`
	Report     *Report   `json:"report"`
}

// Definition of the summary, as it prints.
const defSummary = "Một bộ, ngành hoặc tỉnh, thành phố được tính là đã kết nối khi báo cáo quý của cơ quan đó, " +
	"gửi về cổng này bằng văn bản điện tử có chữ ký số hợp lệ của chính cơ quan đó, ghi đã kết nối với Trục liên thông văn bản quốc gia. " +
	"Cơ quan chủ trì (cổng này) được tính là đã kết nối. Cơ quan chưa gửi báo cáo được tính là chưa kết nối."

// Summarize builds the national summary of quarter at hub from the
// reports it received (the latest per agency, as Received keeps them) and
// the directory's agencies.
func Summarize(hub string, quarter Quarter, reports []SubmittedReport, directory []gateway.Agency, now time.Time) (*Summary, error) {
	hubCode, err := envelope.ParseAgencyCode(hub, envelope.CodeAny)
	if err != nil {
		return nil, fmt.Errorf("report: hub %q: %w", hub, err)
	}
	s := &Summary{
		Quarter: quarter.String(), QuarterLabel: quarter.Label(), GeneratedAt: now,
		Hub:     Agency{Code: hubCode.String()},
		Reports: []SubmittedReport{}, Definition: defSummary,
	}
	byTokens := map[string]*SubmittedReport{}
	for i := range reports {
		r := &reports[i]
		c, _ := envelope.ParseAgencyCode(r.Agency.Code, envelope.CodeAny)
		byTokens[c.Tokens()] = r
		s.Reports = append(s.Reports, *r)
	}
	s.Ministries.NotConnected, s.Ministries.NoReport = []Agency{}, []Agency{}
	s.Provinces.NotConnected, s.Provinces.NoReport = []Agency{}, []Agency{}
	for _, a := range directory {
		c, err := envelope.ParseAgencyCode(a.Code, envelope.CodeAny)
		if err != nil || c.Level() != 1 {
			continue
		}
		var g *Group
		switch c.Groups()[0][0] {
		case 'G':
			g = &s.Ministries
		case 'H':
			g = &s.Provinces
		default:
			continue
		}
		g.Total++
		agency := Agency{Code: c.String(), Name: a.Name}
		if c.Equal(hubCode) {
			s.Hub.Name = a.Name
			g.Connected++
			continue
		}
		r, ok := byTokens[c.Tokens()]
		switch {
		case !ok:
			g.NoReport = append(g.NoReport, agency)
			g.NotConnected = append(g.NotConnected, agency)
		case r.Report.Deployment.NationalAxis:
			g.Connected++
		default:
			g.NotConnected = append(g.NotConnected, agency)
		}
	}
	s.Text = summaryText(s)
	return s, nil
}

// summaryText writes the sentence: "Quý III năm 2026: 20/22 bộ, … và
// 60/63 tỉnh, … đã kết nối liên thông văn bản điện tử. Chưa kết nối: …".
func summaryText(s *Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ và %d/%d tỉnh, thành phố trực thuộc trung ương "+
		"đã kết nối, liên thông văn bản điện tử với Trục liên thông văn bản quốc gia.",
		s.QuarterLabel, s.Ministries.Connected, s.Ministries.Total, s.Provinces.Connected, s.Provinces.Total)
	var not []string
	for _, a := range append(append([]Agency{}, s.Ministries.NotConnected...), s.Provinces.NotConnected...) {
		not = append(not, a.Name)
	}
	if len(not) > 0 {
		fmt.Fprintf(&b, " Các cơ quan chưa kết nối: %s.", strings.Join(not, ", "))
	}
	var none []string
	for _, a := range append(append([]Agency{}, s.Ministries.NoReport...), s.Provinces.NoReport...) {
		none = append(none, a.Name)
	}
	if len(none) > 0 {
		fmt.Fprintf(&b, " Chưa gửi báo cáo: %s.", strings.Join(none, ", "))
	}
	return b.String()
}

// ReceivedQuery lists the documents hub received since quarter began
// that may carry a report (see Carried), a page at a time.
func ReceivedQuery(hub string, quarter Quarter) gateway.DocumentQuery {
	return gateway.DocumentQuery{Agencies: []string{hub}, Direction: gateway.Incoming, Since: quarter.Start(), Text: subjectPrefix, Limit: 500}
}

// Received keeps the latest report of each agency among reports, ordered
// by agency code.
func Received(reports []SubmittedReport) []SubmittedReport {
	latest := map[string]SubmittedReport{}
	for _, r := range reports {
		c, _ := envelope.ParseAgencyCode(r.Agency.Code, envelope.CodeAny)
		if cur, ok := latest[c.Tokens()]; !ok || r.ReceivedAt.After(cur.ReceivedAt) {
			latest[c.Tokens()] = r
		}
	}
	out := make([]SubmittedReport, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Agency.Code < out[j].Agency.Code })
	return out
}

// Carried returns the report of quarter a received document carries in
// its packet data, or nil if it carries none, or one of another quarter,
// or one about an agency other than its sender, or its signature did not
// verify.
func Carried(d *gateway.Document, data []byte, quarter Quarter) (*Report, error) {
	if d.Verdict.Outcome != "valid" {
		return nil, nil
	}
	parser := envelope.Parser{MaxSize: int64(len(data)) + 1}
	pkt, _, err := parser.ParseBytes(data)
	if err != nil || pkt.Edoc == nil {
		return nil, nil
	}
	for _, a := range pkt.Edoc.Attachments {
		if !strings.HasPrefix(a.Name, attachmentPrefix) || !strings.HasSuffix(a.Name, "_"+quarter.String()+".json") {
			continue
		}
		data, err := a.Content() // the parser keeps a large one undecoded
		if err != nil {
			return nil, fmt.Errorf("report: read attachment %q of packet %s: %w", a.Name, d.PacketID, err)
		}
		var rep Report
		if err := json.Unmarshal(data, &rep); err != nil || rep.Version != Version || rep.Quarter != quarter.String() {
			continue
		}
		from, err1 := envelope.ParseAgencyCode(d.From, envelope.CodeAny)
		about, err2 := envelope.ParseAgencyCode(rep.Agency.Code, envelope.CodeAny)
		if err1 != nil || err2 != nil || !from.Equal(about) {
			continue
		}
		return &rep, nil
	}
	return nil, nil
}
