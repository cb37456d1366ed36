package report_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/report"
	"github.com/lienthong/lienthong/internal/testkit"
)

// The agencies of the dataset: the four tiers of Nghệ An and the centre.
const (
	vpcp    = "000.00.00.G22" // Văn phòng Chính phủ (centre)
	tinh    = "000.00.00.H41" // UBND tỉnh Nghệ An (province)
	soyte   = "000.00.12.H41" // Sở Y tế (department)
	huyen   = "000.00.05.H41" // UBND huyện Nghi Lộc (district, its own gateway)
	xa      = "000.07.05.H41" // UBND xã Nghi Phong (commune, at the district's gateway)
	xaKhac  = "000.09.05.H41" // UBND xã Nghi Xuân (commune, in the directory, never connected)
	hcm     = "000.00.00.H29" // UBND TP.HCM (another province)
	nghiloc = "nghiloc"
)

// clock is the axis's shared, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func vn(y int, m time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, m, d, h, mi, s, 0, envelope.VietnamTime())
}

// axis is the dataset's gateways.
type axis struct {
	t                          *testing.T
	clk                        *clock
	vpcp, nghean, nghiloc, hcm *gateway.Gateway
}

// send submits a letter at gw at time at, signed by the sender's DMS or
// not, waits until every recipient has it and said 01, and returns the
// local id at the sender.
func (a *axis) send(gw *gateway.Gateway, at time.Time, signed bool, l testkit.Letter, recipients ...*gateway.Gateway) *gateway.Document {
	t := a.t
	t.Helper()
	a.clk.Set(at)
	packet := l.Packet(t)
	if signed {
		h, ok := gw.Hosted(l.From)
		if !ok {
			t.Fatalf("%s is not hosted", l.From)
		}
		var err error
		if packet, err = h.Signer.Sign(packet); err != nil {
			t.Fatal(err)
		}
	}
	d, _, err := gw.Submit(t.Context(), gateway.Submission{Packet: packet})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "01 for "+l.Number, func() bool {
		dd, err := gw.Store().Document(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range dd.Deliveries {
			if !dl.Lifecycle.Seen.Has(envelope.StatusArrived) {
				return false
			}
		}
		return true
	})
	return d
}

// incoming returns the local id of the document received by agency at gw.
func (a *axis) incoming(gw *gateway.Gateway, d *gateway.Document, agency string) string {
	a.t.Helper()
	page, err := gw.Store().Documents(a.t.Context(), gateway.DocumentQuery{Agencies: []string{agency}, Direction: gateway.Incoming, DocumentID: d.DocumentID})
	if err != nil || len(page.Documents) != 1 {
		a.t.Fatalf("%s at %s: %v %d", d.DocumentID, agency, err, len(page.Documents))
	}
	return page.Documents[0].ID
}

// status posts a status at gw at time at and waits for the sender to
// apply it.
func (a *axis) status(gw *gateway.Gateway, id string, at time.Time, code envelope.StatusCode, reason string, sender *gateway.Gateway, sent *gateway.Document, recipient string) {
	t := a.t
	t.Helper()
	a.clk.Set(at)
	if err := gw.PostStatus(t.Context(), gateway.StatusRequest{Document: id, Code: code, Description: reason}); err != nil {
		t.Fatalf("status %s: %v", code, err)
	}
	testkit.Eventually(t, "status "+string(code)+" at the other end", func() bool {
		dd, err := sender.Store().Document(t.Context(), sent.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range dd.Deliveries {
			if dl.Recipient == recipient && dl.Lifecycle.Seen.Has(code) {
				return true
			}
		}
		return false
	})
}

// TestReport_Dataset builds, through real gateways with a shared clock,
// a four-tier exchange of known counts around the first quarter of 2027
// (its first and last seconds, and month boundaries, in Vietnam's time),
// and checks every number of Nghệ An's report against the count written
// by hand below, and the delivery times against the store's events.
func TestReport_Dataset(t *testing.T) {
	clk := &clock{t: vn(2026, 12, 20, 8, 0, 0)}
	ax := testkit.NewAxis(t)
	withClock := func(o *gateway.Options) { o.Now = clk.Now }
	a := &axis{t: t, clk: clk}
	a.vpcp = ax.Gateway("vpcp", withClock, [2]string{vpcp, "Văn phòng Chính phủ"})
	a.nghean = ax.Gateway("nghean", withClock, [2]string{tinh, "UBND tỉnh Nghệ An"}, [2]string{soyte, "Sở Y tế tỉnh Nghệ An"})
	a.nghiloc = ax.Gateway(nghiloc, withClock, [2]string{huyen, "UBND huyện Nghi Lộc"}, [2]string{xa, "UBND xã Nghi Phong"})
	a.hcm = ax.Gateway("hcm", withClock, [2]string{hcm, "UBND Thành phố Hồ Chí Minh"})
	// A commune registered in the directory whose gateway never beats.
	ax.Register(gateway.Agency{Code: xaKhac, Name: "UBND xã Nghi Xuân", Parent: huyen, Gateway: "xa-nghixuan"})
	testkit.Eventually(t, "the directory", func() bool {
		for _, gw := range []*gateway.Gateway{a.vpcp, a.nghean, a.nghiloc, a.hcm} {
			for _, c := range []string{vpcp, tinh, soyte, huyen, xa, xaKhac, hcm} {
				if _, ok := gw.Directory().Lookup(c); !ok {
					return false
				}
			}
		}
		return true
	})
	signedPDF := testkit.File{Name: "Quyết định (đã ký).pdf", ContentType: "application/pdf",
		Data: []byte("%PDF-1.7\n1 0 obj << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] /Contents <00> >> endobj\n%%EOF\n")}
	letter := func(from, number string, to ...string) testkit.Letter {
		return testkit.Letter{From: from, FromName: "Cơ quan " + from, To: to, Number: number, Notation: "TEST", Subject: "Văn bản số " + number}
	}

	// D1: province → department, electronic only, unsigned (the gateway
	// signs it); 03 after 1 h, 06 after 3 days. The quarter's first second.
	d1 := a.send(a.nghean, vn(2027, 1, 1, 0, 0, 0), false, letter(tinh, "1", soyte), a.nghean)
	in1 := a.incoming(a.nghean, d1, soyte)
	a.status(a.nghean, in1, vn(2027, 1, 1, 1, 0, 0), envelope.StatusAccepted, "", a.nghean, d1, soyte)
	a.status(a.nghean, in1, vn(2027, 1, 4, 0, 0, 0), envelope.StatusDone, "", a.nghean, d1, soyte)
	// D2: the previous quarter's last second: not counted.
	l2 := letter(tinh, "2", soyte)
	l2.Paper = true
	a.send(a.nghean, vn(2026, 12, 31, 23, 59, 59), false, l2, a.nghean)
	// D3: department → district (another gateway, inside the province),
	// signed; the district refuses it. January's last second.
	d3 := a.send(a.nghean, vn(2027, 1, 31, 23, 59, 59), true, letter(soyte, "3", huyen), a.nghiloc)
	const reason3 = "Văn bản không đúng thẩm quyền của huyện"
	a.status(a.nghiloc, a.incoming(a.nghiloc, d3, huyen), vn(2027, 2, 1, 0, 30, 0), envelope.StatusRejected, reason3, a.nghean, d3, huyen)
	// D4: province → TP.HCM, signed; 03 after 2 h. February's first second.
	d4 := a.send(a.nghean, vn(2027, 2, 1, 0, 0, 0), true, letter(tinh, "4", hcm), a.hcm)
	a.status(a.hcm, a.incoming(a.hcm, d4, hcm), vn(2027, 2, 1, 2, 0, 0), envelope.StatusAccepted, "", a.nghean, d4, hcm)
	// D5: province → department and TP.HCM with paper, unsigned; recalled
	// after 1 h: the department gives it back, TP.HCM refuses.
	l5 := letter(tinh, "5", soyte, hcm)
	l5.Paper = true
	d5 := a.send(a.nghean, vn(2027, 2, 15, 10, 0, 0), false, l5, a.nghean, a.hcm)
	clk.Set(vn(2027, 2, 15, 11, 0, 0))
	if err := a.nghean.PostStatus(t.Context(), gateway.StatusRequest{Document: d5.ID, Code: envelope.StatusRecallRequested, Description: "Gửi nhầm"}); err != nil {
		t.Fatal(err)
	}
	in5 := a.incoming(a.nghean, d5, soyte)
	testkit.Eventually(t, "13 at the department", func() bool {
		d, err := a.nghean.Store().Document(t.Context(), in5)
		return err == nil && d.Deliveries[0].State == envelope.StateRecallRequested
	})
	in5hcm := a.incoming(a.hcm, d5, hcm)
	testkit.Eventually(t, "13 at TP.HCM", func() bool {
		d, err := a.hcm.Store().Document(t.Context(), in5hcm)
		return err == nil && d.Deliveries[0].State == envelope.StateRecallRequested
	})
	a.status(a.nghean, in5, vn(2027, 2, 15, 11, 10, 0), envelope.StatusRecallAccepted, "", a.nghean, d5, soyte)
	a.status(a.hcm, in5hcm, vn(2027, 2, 15, 11, 20, 0), envelope.StatusRecallRefused, "Đã xử lý xong", a.nghean, d5, hcm)
	// D6: the centre → province, signed, with a signed PDF, due the
	// quarter's last day, never finished. The quarter's last second.
	l6 := letter(vpcp, "6", tinh)
	l6.DueDate = "2027/03/31"
	l6.Attachments = []testkit.File{signedPDF}
	a.send(a.vpcp, vn(2027, 3, 31, 23, 59, 59), true, l6, a.nghean)
	// D7: the next quarter's first second: not counted.
	a.send(a.vpcp, vn(2027, 4, 1, 0, 0, 0), true, letter(vpcp, "7", tinh), a.nghean)
	// D8: district → province (a unit hosted elsewhere), unsigned at its
	// DMS, signed by its gateway.
	a.send(a.nghiloc, vn(2027, 3, 10, 9, 0, 0), false, letter(huyen, "8", tinh), a.nghean)
	// D9: department → province, a signed revocation of D1.
	l9 := letter(soyte, "9", tinh)
	l9.Revokes = d1.DocumentID
	a.send(a.nghean, vn(2027, 3, 1, 8, 0, 0), true, l9, a.nghean)
	// D10: TP.HCM → department, signed; the department refuses it.
	d10 := a.send(a.hcm, vn(2027, 1, 15, 14, 0, 0), true, letter(hcm, "10", soyte), a.nghean)
	const reason10 = "Không thuộc thẩm quyền của Sở Y tế"
	a.status(a.nghean, a.incoming(a.nghean, d10, soyte), vn(2027, 1, 15, 14, 10, 0), envelope.StatusRejected, reason10, a.hcm, d10, soyte)
	// D11: province → department with paper, signed, due 10/03; accepted
	// after a day, never finished.
	l11 := letter(tinh, "11", soyte)
	l11.Paper, l11.DueDate = true, "2027/03/10"
	d11 := a.send(a.nghean, vn(2027, 3, 5, 9, 0, 0), true, l11, a.nghean)
	a.status(a.nghean, a.incoming(a.nghean, d11, soyte), vn(2027, 3, 6, 9, 0, 0), envelope.StatusAccepted, "", a.nghean, d11, soyte)

	clk.Set(vn(2027, 4, 15, 9, 0, 0))
	units, paper, integrated := 6, 10, true
	rep, err := report.Generate(t.Context(), a.nghean.Store(), report.Input{
		Agency: report.Agency{Code: tinh, Name: "UBND tỉnh Nghệ An"}, Quarter: report.Quarter{Year: 2027, N: 1},
		Gateway: "nghean", Hosted: []string{tinh, soyte}, Directory: a.nghean.Directory().Agencies(),
		Live:     map[string]bool{"vpcp": true, "nghean": true, nghiloc: true, "hcm": true},
		Declared: report.Declarations{Units: &units, PaperOutgoing: &paper, SharedDMS: "some", SigningIntegrated: &integrated},
		Now:      clk.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ratio := func(num, den int, pct float64) report.Ratio { return report.Ratio{Num: num, Den: den, Percent: pct} }
	check := func(what string, got, want any) {
		t.Helper()
		if !equalJSON(t, got, want) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}

	// Item 1. Units under H41 in the directory: H41, Sở Y tế, the district,
	// two communes (5); connected: the three that exchanged and Nghi Phong
	// (its gateway is live); Nghi Xuân is not.
	dep := rep.Deployment
	check("units", dep.Units, report.Declared[int]{Value: 6, Declared: true})
	check("units with a DMS", dep.WithDMS, ratio(5, 6, 83.3))
	check("connected units", dep.Connected, ratio(4, 6, 66.7))
	check("case", dep.Case, 3)
	check("not connected", codes(dep.NotConnected), []string{xaKhac})
	check("connected", codes(dep.ConnectedUnits), []string{tinh, huyen, soyte, xa})
	check("national axis", dep.NationalAxis, true)

	// Item 2. New outgoing documents: D1, D3, D4, D5, D11 (D2 is last
	// quarter's, D9 a revocation); internal: D1, D3, D11 (D5 also goes to
	// TP.HCM); with paper: D11.
	use := rep.Use
	check("outgoing", use.Outgoing, 5)
	check("internal", use.Internal, 3)
	check("electronic only", use.ElectronicOnly, ratio(2, 3, 66.7))
	check("with paper", use.WithPaper, ratio(1, 3, 33.3))
	check("paper outgoing", use.PaperOutgoing, report.Declared[int]{Value: 10, Declared: true})
	check("electronic per paper", use.ElectronicPerPaper, 0.5)

	// Item 3. Counted: the outgoing D1 D3 D4 D5 D9 D11 and the incoming
	// from other gateways D6 D8 D10. Signed: all but D1 and D5 (the
	// gateway signed them). January: internal D1 ✗ D3 ✓, external D10 ✓;
	// February: external D4 ✓ D5 ✗; March: internal D8 ✓ D9 ✓ D11 ✓,
	// external D6 ✓.
	sig := rep.Signatures
	check("months", sig.Months, []report.MonthSignatures{
		{Month: "01/2027", Internal: ratio(1, 2, 50), External: ratio(1, 1, 100)},
		{Month: "02/2027", Internal: ratio(0, 0, 0), External: ratio(1, 2, 50)},
		{Month: "03/2027", Internal: ratio(3, 3, 100), External: ratio(1, 1, 100)},
	})
	check("internal average", sig.Internal, report.MonthlyAverage{Signed: 1.33, All: 1.67, Percent: 80})
	check("external average", sig.External, report.MonthlyAverage{Signed: 1, All: 1.33, Percent: 75})
	check("signed PDF", sig.SignedPDF, ratio(1, 9, 11.1))
	check("integrated", sig.Integrated, report.Declared[bool]{Value: true, Declared: true})

	// Beyond. Deliveries of the outgoing documents: D1 D3 D4 D5×2 D9 D11.
	be := rep.Beyond
	check("deliveries", be.Deliveries, 7)
	check("delivered", be.Delivered, ratio(7, 7, 100))
	check("time to 01", be.TimeTo01, report.Durations{Count: 7})
	check("time to 03", be.TimeTo03, report.Durations{Count: 3, Median: 7200, P95: 86400})
	check("time to 06", be.TimeTo06, report.Durations{Count: 1, Median: 259200, P95: 259200})
	check("recalls", be.Recalls, report.Recalls{Requested: 2, Recalled: 1, Refused: 1})
	check("overdue outgoing (D11)", be.OverdueOutgoing, 1)
	check("overdue incoming (D6)", be.OverdueIncoming, 1)
	check("incoming", be.Incoming, 7)
	var reasons []string
	for _, r := range be.Refusals {
		reasons = append(reasons, r.Direction+" "+r.Party+" "+r.Number+": "+r.Reason)
	}
	sort.Strings(reasons)
	check("refusals", reasons, []string{"in " + hcm + " 10/TEST: " + reason10, "out " + huyen + " 3/TEST: " + reason3})
	check("by month", be.ByMonth, []report.Month{
		// Every 01 came within its second: a median of 0 over deliveries
		// that arrived, not "no data".
		{Month: "01/2027", Outgoing: 2, Incoming: 2, Signed: 2, Documents: 3, Arrived: 2},
		{Month: "02/2027", Outgoing: 2, Incoming: 1, Signed: 1, Documents: 2, Arrived: 3},
		{Month: "03/2027", Outgoing: 2, Incoming: 4, Signed: 4, Documents: 4, Arrived: 2},
	})
	parties := map[string][3]int{}
	for _, c := range be.ByCounterpart {
		parties[c.Code] = [3]int{c.Sent, c.Received, c.Refused}
	}
	check("by counterpart", parties, map[string][3]int{
		soyte: {3, 1, 0}, huyen: {1, 1, 1}, hcm: {2, 1, 0}, vpcp: {0, 1, 0}, tinh: {1, 3, 0},
	})

	// The times again, counted independently from the store's events.
	want03 := independentTimes(t, a.nghean, report.Quarter{Year: 2027, N: 1}, envelope.StatusAccepted)
	check("times to 03 from the events", want03, []float64{3600, 7200, 86400})
}

// independentTimes lists, from every outgoing document's events, the
// seconds from sending to the first status code of each delivery.
func independentTimes(t *testing.T, gw *gateway.Gateway, q report.Quarter, code envelope.StatusCode) []float64 {
	t.Helper()
	var out []float64
	page, err := gw.Store().Documents(t.Context(), gateway.DocumentQuery{Direction: gateway.Outgoing, Since: q.Start(), Until: q.End(), Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range page.Documents {
		d, err := gw.Store().Document(t.Context(), s.ID)
		if err != nil {
			t.Fatal(err)
		}
		first := map[string]time.Time{}
		for _, e := range d.Events {
			if e.Kind == gateway.EventStatus && e.StatusCode == code {
				if _, ok := first[e.Recipient]; !ok {
					first[e.Recipient] = e.At
				}
			}
		}
		for _, at := range first {
			out = append(out, at.Sub(d.CreatedAt).Seconds())
		}
	}
	slices.Sort(out)
	return out
}

func codes(us []report.Unit) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Code)
	}
	sort.Strings(out)
	return out
}

// equalJSON compares two values by their JSON.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := jsonOf(a)
	jb, err2 := jsonOf(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(ja, jb)
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }
