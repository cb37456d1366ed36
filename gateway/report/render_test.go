package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// The sample province: UBND tỉnh Nghệ An, its departments and communes,
// and the central agencies it exchanges with.
const (
	sampleAgency  = "000.00.00.H41"
	sampleName    = "UBND tỉnh Nghệ An"
	sampleGateway = "lienthong-nghean-01"
)

var sampleUnits = []struct{ code, name string }{
	{"000.00.00.H41", "UBND tỉnh Nghệ An"},
	{"000.00.01.H41", "Văn phòng UBND tỉnh Nghệ An"},
	{"000.00.02.H41", "Sở Nội vụ"},
	{"000.00.03.H41", "Sở Tài chính"},
	{"000.00.04.H41", "Sở Xây dựng"},
	{"000.00.05.H41", "Sở Y tế"},
	{"000.00.06.H41", "Sở Giáo dục và Đào tạo"},
	{"000.00.07.H41", "Sở Nông nghiệp và Môi trường"},
	{"000.00.08.H41", "Sở Khoa học và Công nghệ"},
	{"000.00.09.H41", "Sở Công Thương"},
	{"000.00.10.H41", "Sở Tư pháp"},
	{"000.00.31.H41", "UBND phường Trường Vinh"},
	{"000.00.32.H41", "UBND phường Thành Vinh"},
	{"000.00.33.H41", "UBND phường Vinh Hưng"},
	{"000.00.34.H41", "UBND xã Diễn Châu"},
	{"000.00.35.H41", "UBND xã Quỳnh Lưu"},
	{"000.00.36.H41", "UBND xã Nghĩa Đàn"},
	{"000.00.37.H41", "UBND xã Con Cuông"},
	{"000.00.38.H41", "UBND xã Tương Dương"},
}

// sampleOffline are units in the directory that never connected.
var sampleOffline = []struct{ code, name string }{
	{"000.00.39.H41", "UBND xã Nhôn Mai"},
	{"000.00.40.H41", "UBND xã Mỹ Lý"},
}

var sampleOutside = []struct{ code, name string }{
	{"000.00.00.G22", "Văn phòng Chính phủ"},
	{"000.00.00.G09", "Bộ Nội vụ"},
	{"000.00.00.G12", "Bộ Tài chính"},
	{"000.00.00.G18", "Bộ Y tế"},
	{"000.00.00.G10", "Bộ Nông nghiệp và Môi trường"},
	{"000.00.00.H42", "UBND tỉnh Hà Tĩnh"},
}

var sampleReasons = []string{
	"Văn bản gửi nhầm đơn vị, đề nghị gửi lại đúng nơi nhận",
	"Thiếu phụ lục kèm theo văn bản",
	"Chữ ký số trên văn bản không hợp lệ",
	"Văn bản không thuộc thẩm quyền giải quyết của đơn vị",
	"Tệp đính kèm bị lỗi, không mở được",
	"Trùng văn bản đã nhận trước đó",
}

var sampleSubjects = []string{
	"V/v triển khai kế hoạch chuyển đổi số năm 2026",
	"V/v báo cáo kết quả thực hiện dịch vụ công trực tuyến quý III",
	"V/v tăng cường phòng, chống dịch sốt xuất huyết",
	"V/v rà soát, sắp xếp đơn vị sự nghiệp công lập",
	"V/v chuẩn bị khai giảng năm học 2026–2027",
	"V/v phòng, chống thiên tai và tìm kiếm cứu nạn mùa mưa bão",
	"V/v góp ý dự thảo Nghị quyết của HĐND tỉnh",
}

// sampleInput is the input of the sample report, with declarations or
// without.
func sampleInput(declared bool) Input {
	var dir []gateway.Agency
	var hosted []string
	for _, u := range sampleUnits {
		dir = append(dir, gateway.Agency{Code: u.code, Name: u.name, Gateway: sampleGateway})
		hosted = append(hosted, u.code)
	}
	for _, u := range sampleOffline {
		dir = append(dir, gateway.Agency{Code: u.code, Name: u.name, Gateway: "lienthong-tuongduong"})
	}
	for _, u := range sampleOutside {
		dir = append(dir, gateway.Agency{Code: u.code, Name: u.name, Gateway: "truc-quoc-gia"})
	}
	in := Input{
		Agency:    Agency{Code: sampleAgency, Name: sampleName},
		Quarter:   Quarter{Year: 2026, N: 3},
		Gateway:   sampleGateway,
		Hosted:    hosted,
		Directory: dir,
		Live:      map[string]bool{sampleGateway: true, "truc-quoc-gia": true},
		Now:       time.Date(2026, 10, 5, 8, 30, 0, 0, envelope.VietnamTime()),
	}
	if declared {
		units, paper, signing := 24, 1850, true
		in.Declared = Declarations{Units: &units, PaperOutgoing: &paper, SigningIntegrated: &signing}
	}
	return in
}

// sampleReport builds a quarter of a province's exchange through the
// Builder, as the store would give it: a few thousand documents, some
// refused, recalled or late.
func sampleReport(t testing.TB, declared bool) *Report {
	t.Helper()
	b, err := NewBuilder(sampleInput(declared))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2026, 3))
	lognormal := func(median, sigma float64) time.Duration {
		return time.Duration(median * math.Exp(sigma*rng.NormFloat64()) * float64(time.Second))
	}
	type detail struct{ number, subject string }
	details := map[string]detail{}
	n := 0
	q := Quarter{Year: 2026, N: 3}
	for m := range 3 {
		start := q.Month(m)
		days := int(start.AddDate(0, 1, 0).Sub(start).Hours() / 24)
		slow := []float64{1.6, 1.0, 0.7}[m] // the hub got faster over the quarter
		docs := 1150 + 180*m + rng.IntN(60)
		for range docs {
			n++
			id := fmt.Sprintf("vb-2026-%05d", n)
			created := start.AddDate(0, 0, rng.IntN(days)).Add(time.Duration(7*3600+rng.IntN(9*3600)) * time.Second)
			unit := sampleUnits[rng.IntN(len(sampleUnits))].code
			details[id] = detail{
				number:  fmt.Sprintf("%d/%s", 100+rng.IntN(3900), []string{"UBND-KGVX", "UBND-KT", "SYT-NVY", "STC-QLNS", "UBND-VX"}[rng.IntN(5)]),
				subject: sampleSubjects[rng.IntN(len(sampleSubjects))],
			}
			if rng.Float64() < 0.22 {
				// A document from outside, to one unit.
				from := sampleOutside[rng.IntN(len(sampleOutside))].code
				r := gateway.ReportRow{
					Document: id, Direction: gateway.Incoming, Agency: unit, From: from, CreatedAt: created,
					Verdict: "valid", SignedPDFs: 1, Recipient: unit, State: envelope.StateDone,
				}
				if rng.Float64() < 0.06 {
					r.Verdict = "invalid"
				}
				r.Seen.Add(envelope.StatusArrived)
				r.Seen.Add(envelope.StatusAccepted)
				r.Seen.Add(envelope.StatusDone)
				if rng.Float64() < 0.004 {
					r.State, r.Note = envelope.StateRejected, sampleReasons[rng.IntN(len(sampleReasons))]
					r.Seen = 0
					r.Seen.Add(envelope.StatusArrived)
					r.Seen.Add(envelope.StatusRejected)
				} else if rng.Float64() < 0.12 {
					r.DueDate = envelope.DateOf(created.AddDate(0, 0, 5+rng.IntN(10)))
					r.State = envelope.StateProcessing
				}
				b.Add(&r)
				continue
			}
			// A document of a unit, to units and perhaps outside.
			var recipients []string
			for range 1 + rng.IntN(4) {
				recipients = append(recipients, sampleUnits[rng.IntN(len(sampleUnits))].code)
			}
			if rng.Float64() < 0.3 {
				recipients = append(recipients, sampleOutside[rng.IntN(len(sampleOutside))].code)
			}
			paper := rng.Float64() < 0.08
			signed := rng.Float64() < 0.86
			pdfs := 0
			if signed && rng.Float64() < 0.9 {
				pdfs = 1
			}
			var due envelope.Date
			if rng.Float64() < 0.12 {
				due = envelope.DateOf(created.AddDate(0, 0, 7+rng.IntN(10)))
			}
			recall := rng.Float64() < 0.004
			for _, to := range recipients {
				r := gateway.ReportRow{
					Document: id, Direction: gateway.Outgoing, Agency: unit, From: unit, CreatedAt: created,
					Paper: paper, SignedPDFs: pdfs, DueDate: due, Recipient: to, State: envelope.StateSent,
				}
				if signed {
					r.Verdict = "valid"
				}
				if rng.Float64() < 0.985 {
					r.ArrivedAt = created.Add(lognormal(1200*slow, 1.1))
					r.Seen.Add(envelope.StatusArrived)
					r.State = envelope.StateArrived
					switch x := rng.Float64(); {
					case x < 0.0015:
						r.State, r.Note = envelope.StateRejected, sampleReasons[rng.IntN(len(sampleReasons))]
						r.Seen.Add(envelope.StatusRejected)
					case x < 0.95:
						r.AcceptedAt = r.ArrivedAt.Add(lognormal(3*3600, 1.0))
						r.Seen.Add(envelope.StatusAccepted)
						r.State = envelope.StateAccepted
						if rng.Float64() < 0.8 {
							r.DoneAt = r.AcceptedAt.Add(lognormal(2.5*86400, 0.8))
							r.Seen.Add(envelope.StatusDone)
							r.State = envelope.StateDone
						}
					}
				}
				if recall && r.State != envelope.StateRejected {
					r.Seen.Add(envelope.StatusRecallRequested)
					if rng.Float64() < 0.7 {
						r.Seen.Add(envelope.StatusRecallAccepted)
						r.State = envelope.StateRecalled
					} else {
						r.Seen.Add(envelope.StatusRecallRefused)
					}
				}
				b.Add(&r)
			}
			// The copies the units hosted here received: documents of
			// their own in the store, counted where they were sent.
			for j, to := range recipients {
				if to == unit || !strings.HasSuffix(to, ".H41") {
					continue
				}
				r := gateway.ReportRow{
					Document: fmt.Sprintf("%s-den-%d", id, j), Direction: gateway.Incoming, Agency: to, From: unit,
					CreatedAt: created.Add(time.Second), Paper: paper, SignedPDFs: pdfs, Recipient: to, State: envelope.StateAccepted,
				}
				if signed {
					r.Verdict = "valid"
				}
				r.Seen.Add(envelope.StatusArrived)
				r.Seen.Add(envelope.StatusAccepted)
				b.Add(&r)
			}
		}
	}
	rep := b.Report()
	// What Generate looks up in the store.
	for i := range rep.Beyond.Refusals {
		f := &rep.Beyond.Refusals[i]
		f.Number, f.Subject = details[f.Document].number, details[f.Document].subject
	}
	return rep
}

// evilName is a name that must come out as text.
const evilName = `<script>alert("x")</script> & 'Sở' <b>`

// evilReport is the sample with markup in every name it prints.
func evilReport(t testing.TB) *Report {
	r := sampleReport(t, true)
	r.Agency.Name = evilName
	r.Gateway = evilName
	r.Deployment.NotConnected[0].Name = evilName
	r.Beyond.ByCounterpart[0].Name = evilName
	r.Beyond.Refusals[0].Reason = evilName
	r.Beyond.Refusals[0].Subject = evilName
	r.Beyond.ByMonth[0].Month = evilName
	r.Signatures.Months[0].Month = evilName
	return r
}

func TestVietnameseNumbers(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{viInt(0), "0"},
		{viInt(999), "999"},
		{viInt(1000), "1.000"},
		{viInt(1234), "1.234"},
		{viInt(1234567), "1.234.567"},
		{viInt(-1234), "-1.234"},
		{viNumber(56.7, 1), "56,7"},
		{viNumber(1234.5, 2), "1.234,5"},
		{viNumber(1234.56, 2), "1.234,56"},
		{viNumber(2.0, 2), "2"},
		{viNumber(-0.001, 2), "0"},
		{viPercent(56.7), "56,7%"},
		{viPercent(100), "100,0%"},
		{viPercent(86), "86,0%"},
		{viFixed(1234.5, 2), "1.234,50"},
		{viRatio(Ratio{Num: 1234, Den: 2000, Percent: 61.7}), "1.234/2.000 (61,7%)"},
		{viRatio(Ratio{}), "0/0"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestVietnameseDurations(t *testing.T) {
	for _, tt := range []struct {
		seconds float64
		want    string
	}{
		{0, "dưới 1 giây"},
		{-3, "dưới 1 giây"},
		{0.6, "dưới 1 giây"},
		{1, "1 giây"},
		{45, "45 giây"},
		{45.4, "45 giây"},
		{60, "1 phút"},
		{750, "12 phút 30 giây"},
		{3600, "1 giờ"},
		{2*3600 + 15*60, "2 giờ 15 phút"},
		{2*3600 + 15*60 + 40, "2 giờ 16 phút"},
		{86399, "1 ngày"},
		{3*86400 + 4*3600, "3 ngày 4 giờ"},
		{3*86400 + 23*3600 + 45*60, "4 ngày"},
	} {
		if got := viDuration(tt.seconds); got != tt.want {
			t.Errorf("viDuration(%v) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

func TestSampleReport(t *testing.T) {
	r := sampleReport(t, true)
	if r.Use.Outgoing < 2000 || r.Beyond.Deliveries < 5000 || len(r.Beyond.Refusals) < 5 {
		t.Fatalf("the sample is too small to show: %d documents, %d deliveries, %d refusals",
			r.Use.Outgoing, r.Beyond.Deliveries, len(r.Beyond.Refusals))
	}
	if r.Deployment.Case != 3 || len(r.Deployment.NotConnected) != len(sampleOffline) {
		t.Fatalf("case %d, not connected %v", r.Deployment.Case, r.Deployment.NotConnected)
	}
}

// TestHighlights: the figures the clerks' page shows are the report's.
func TestHighlights(t *testing.T) {
	r := sampleReport(t, true)
	h := r.Highlights()
	d, b := r.Deployment, r.Beyond
	if h.Agency != r.Agency.Name || h.QuarterLabel != r.QuarterLabel || h.Outgoing != r.Use.Outgoing || h.Incoming != b.Incoming ||
		h.Connected.String() != d.Connected.String() || h.Delivered.String() != b.Delivered.String() ||
		h.SignedInternal != r.Signatures.Internal.Percent || h.SignedExternal != r.Signatures.External.Percent ||
		h.To03.Count != b.TimeTo03.Count || h.To03.Seconds != b.TimeTo03.Median || h.To06.Count != b.TimeTo06.Count || h.To06.Seconds != b.TimeTo06.Median ||
		h.Refused != len(b.Refusals) || h.OverdueOutgoing != b.OverdueOutgoing || h.OverdueIncoming != b.OverdueIncoming ||
		h.Deployment != d.CaseText || h.NationalAxis != d.NationalAxisText || len(h.NotConnected) != len(d.NotConnected) {
		t.Errorf("Highlights = %+v\nof %+v", h, r)
	}
	for i, u := range d.NotConnected {
		if h.NotConnected[i] != u.Name {
			t.Errorf("NotConnected[%d] = %q, want %q", i, h.NotConnected[i], u.Name)
		}
	}
	if h.Outgoing == 0 || h.Delivered.Den == 0 || h.To03.Count == 0 || h.Refused == 0 || len(h.NotConnected) == 0 {
		t.Errorf("the sample shows too little: %+v", h)
	}
}

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriteHTML(t *testing.T) {
	r := sampleReport(t, true)
	page := renderHTML(t, r)
	d, u, s, b := r.Deployment, r.Use, r.Signatures, r.Beyond

	// In the form's order.
	order := []string{
		"<!DOCTYPE html>", `<html lang="vi">`, "<style>", "@page", "size: A4", "@media print", "</style>",
		sampleName, sampleAgency,
		"BÁO CÁO TÌNH HÌNH KẾT NỐI, LIÊN THÔNG VĂN BẢN ĐIỆN TỬ",
		"Quý III năm 2026", "01/07/2026–30/09/2026",
		"III. KẾT NỐI, LIÊN THÔNG VĂN BẢN ĐIỆN TỬ",
		"1. Tình hình triển khai hệ thống quản lý văn bản và trục liên thông văn bản nội bộ",
		"a)</span> Trường hợp triển khai", html.EscapeString(d.CaseText),
		"b)</span> Số đơn vị có hệ thống quản lý văn bản", viRatio(d.WithDMS), viInt(24), `<span class="decl">(kê khai)</span>`,
		"c)</span> Số đơn vị có hệ thống QLVB đã kết nối", viRatio(d.Connected), "UBND xã Nhôn Mai", "000.00.39.H41", "UBND xã Mỹ Lý",
		"d)</span> Tình hình kết nối trục liên thông văn bản nội bộ với Trục liên thông văn bản quốc gia", d.NationalAxisText,
		"2. Tình hình sử dụng hệ thống quản lý văn bản",
		"a)</span> Tỷ lệ văn bản trao đổi giữa các đơn vị hoàn toàn dưới dạng điện tử", viPercent(u.ElectronicOnly.Percent),
		"b)</span> Tỷ lệ văn bản trao đổi giữa các đơn vị dưới dạng điện tử song song với văn bản giấy", viPercent(u.WithPaper.Percent),
		"c)</span> Tổng số văn bản đi dưới dạng điện tử", viInt(u.Outgoing),
		"d)</span> Tổng số văn bản đi dưới dạng giấy", "1.850", `<span class="decl">(kê khai)</span>`,
		"đ)</span> Tỷ lệ văn bản đi điện tử/văn bản đi giấy", viNumber(u.ElectronicPerPaper, 2),
		"3. Tình hình sử dụng chữ ký số",
		"a)</span> Tích hợp ký số", "Đã tích hợp", `<span class="decl">(kê khai)</span>`,
		"b)</span> Tần suất trung bình hằng tháng",
		"Trong nội bộ cơ quan: <span class=\"v\">" + viNumber(s.Internal.Signed, 2) + "/" + viNumber(s.Internal.All, 2),
		"Với cơ quan khác: <span class=\"v\">" + viNumber(s.External.Signed, 2) + "/" + viNumber(s.External.All, 2),
		"07/2026", "08/2026", "09/2026",
		"c)</span> Văn bản có tệp PDF ký số", viRatio(s.SignedPDF),
		"PHỤ LỤC: SỐ LIỆU BỔ SUNG",
		viRatio(b.Delivered),
		viDuration(b.TimeTo01.Median), viDuration(b.TimeTo01.P95), viDuration(b.TimeTo06.Median),
		`id="chart-time"`,
		html.EscapeString(b.Refusals[0].Number), html.EscapeString(b.Refusals[0].Reason),
		"Văn phòng Chính phủ", "000.00.00.G22",
		`id="chart-volume"`, `id="chart-signed"`,
		"Báo cáo lập lúc 05/10/2026 08:30", sampleGateway,
		"</html>",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(page[at:], want)
		if i < 0 {
			where := "anywhere"
			if strings.Contains(page, want) {
				where = "in order"
			}
			t.Fatalf("the page does not have %q %s", want, where)
		}
		at += i + len(want)
	}
	for _, def := range r.Definitions {
		if !strings.Contains(page, `<p class="def">`+template.HTMLEscapeString(def.Text)+`</p>`) {
			t.Errorf("the definition of %s is not printed", def.Item)
		}
	}
	for _, bad := range []string{"<script", "chưa kê khai</span>", "NaN", "%!"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	// Numbers are Vietnamese: no "1,234" thousands, no "56.7%".
	if m := regexp.MustCompile(`>\d{1,3},\d{3}\b|\d+\.\d%`).FindString(page); m != "" {
		t.Errorf("a number is not written the Vietnamese way: %q", m)
	}
	for _, code := range []string{"1.a", "1.b", "1.c", "1.d", "2.a", "2.c", "2.d", "3.b", "3.c", "P.1", "P.2", "P.3", "P.4"} {
		if newHTMLView(r).Def(code) == "" {
			t.Errorf("no definition for %s", code)
		}
	}
}

func TestWriteHTML_NotDeclared(t *testing.T) {
	r := sampleReport(t, false)
	page := renderHTML(t, r)
	if n := strings.Count(page, `<span class="decl">(kê khai)</span>`); n != 0 {
		t.Errorf("nothing was declared, yet %d values are labelled as declared", n)
	}
	for _, want := range []string{
		`Tổng số văn bản đi dưới dạng giấy:
  <span class="none">chưa kê khai</span>`,
		`chưa kê khai số văn bản đi giấy`,
		`Tích hợp ký số trên hệ thống QLVB dùng chung:
  <span class="none">chưa kê khai</span>`,
		"theo danh bạ trục liên thông; chưa kê khai tổng số đơn vị",
		viInt(r.Deployment.Units.Value),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not have %q", want)
		}
	}
}

func TestWriteHTML_Escapes(t *testing.T) {
	page := renderHTML(t, evilReport(t))
	if strings.Contains(page, "<script") || strings.Contains(page, "'Sở' <b>") {
		t.Fatal("a name came out as markup")
	}
	if n := strings.Count(page, "&lt;script&gt;"); n < 8 {
		t.Errorf("the names are escaped %d times, want each of them", n)
	}
}

func TestWriteHTML_Empty(t *testing.T) {
	b, err := NewBuilder(Input{Agency: Agency{Code: "H41", Name: sampleName}, Quarter: Quarter{Year: 2026, N: 3}, Gateway: sampleGateway})
	if err != nil {
		t.Fatal(err)
	}
	r := b.Report()
	page := renderHTML(t, r)
	for _, want := range []string{"III. KẾT NỐI", "không có văn bản trao đổi giữa các đơn vị trong quý", "Không có văn bản trao đổi trong quý", "không có"} {
		if !strings.Contains(page, want) {
			t.Errorf("the empty report does not have %q", want)
		}
	}
	for _, w := range []func(io.Writer) error{r.WriteCSV, r.WriteXLSX, r.WriteJSON} {
		if err := w(io.Discard); err != nil {
			t.Error(err)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriters_Fail(t *testing.T) {
	r := sampleReport(t, true)
	for name, w := range map[string]func(io.Writer) error{"html": r.WriteHTML, "csv": r.WriteCSV, "xlsx": r.WriteXLSX, "json": r.WriteJSON} {
		err := w(failWriter{})
		if err == nil || !strings.Contains(err.Error(), "report: ") || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// readCSV reads WriteCSV's output by key, checking its shape.
func readCSV(t *testing.T, r *Report) (records [][]string, byKey map[string][]string) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatal("the CSV does not start with the UTF-8 BOM")
	}
	records, err := csv.NewReader(bytes.NewReader(data[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(records[0], ","); got != "muc,chi_tieu,gia_tri,tu_so,mau_so,ty_le,ke_khai" {
		t.Fatalf("header %q", got)
	}
	byKey = map[string][]string{}
	for _, rec := range records[1:] {
		if _, dup := byKey[rec[0]]; dup {
			t.Errorf("key %s twice", rec[0])
		}
		byKey[rec[0]] = rec
	}
	return records, byKey
}

func TestWriteCSV(t *testing.T) {
	r := sampleReport(t, true)
	records, rows := readCSV(t, r)
	want := 1 + len(r.itemRows()) + 6*len(r.Beyond.ByMonth) + 3*len(r.Beyond.ByCounterpart)
	if len(records) != want {
		t.Errorf("%d records, want %d", len(records), want)
	}
	d, u, s := r.Deployment, r.Use, r.Signatures
	g22 := r.Beyond.ByCounterpart[0]
	for _, c := range r.Beyond.ByCounterpart {
		if c.Code == "000.00.00.G22" {
			g22 = c
		}
	}
	itoa, ftoa := strconv.Itoa, func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for key, want := range map[string][]string{
		"1.a":                            {itoa(d.Case), "", "", "", "0"},
		"1.b.tong":                       {"24", "", "", "", "1"},
		"1.b":                            {itoa(d.WithDMS.Num), itoa(d.WithDMS.Num), "24", ftoa(d.WithDMS.Percent), "0"},
		"1.c":                            {itoa(d.Connected.Num), itoa(d.Connected.Num), "24", ftoa(d.Connected.Percent), "0"},
		"1.c.chua_ket_noi.000.00.39.H41": {"000.00.39.H41", "", "", "", "0"},
		"1.d":                            {"1", "", "", "", "0"},
		"2.a":                            {itoa(u.ElectronicOnly.Num), itoa(u.ElectronicOnly.Num), itoa(u.Internal), ftoa(u.ElectronicOnly.Percent), "0"},
		"2.b":                            {itoa(u.WithPaper.Num), itoa(u.WithPaper.Num), itoa(u.Internal), ftoa(u.WithPaper.Percent), "0"},
		"2.c":                            {itoa(u.Outgoing), "", "", "", "0"},
		"2.d":                            {"1850", "", "", "", "1"},
		"2.đ":                            {ftoa(u.ElectronicPerPaper), itoa(u.Outgoing), "1850", "", "0"},
		"3.a":                            {"1", "", "", "", "1"},
		"3.b.noi_bo":                     {ftoa(s.Internal.Signed), ftoa(s.Internal.Signed), ftoa(s.Internal.All), ftoa(s.Internal.Percent), "0"},
		"3.b.ngoai":                      {ftoa(s.External.Signed), ftoa(s.External.Signed), ftoa(s.External.All), ftoa(s.External.Percent), "0"},
		"3.c":                            {itoa(s.SignedPDF.Num), itoa(s.SignedPDF.Num), itoa(s.SignedPDF.Den), ftoa(s.SignedPDF.Percent), "0"},
		"P.2.01.trung_vi":                {ftoa(r.Beyond.TimeTo01.Median), "", "", "", "0"},
		"P.4.tu_choi":                    {itoa(len(r.Beyond.Refusals)), "", "", "", "0"},
		"T.07/2026.di":                   {itoa(r.Beyond.ByMonth[0].Outgoing), "", "", "", "0"},
		"T.07/2026.noi_bo":               {itoa(s.Months[0].Internal.Num), itoa(s.Months[0].Internal.Num), itoa(s.Months[0].Internal.Den), ftoa(s.Months[0].Internal.Percent), "0"},
		"T.09/2026.ngoai":                {itoa(s.Months[2].External.Num), itoa(s.Months[2].External.Num), itoa(s.Months[2].External.Den), ftoa(s.Months[2].External.Percent), "0"},
		"CQ.000.00.00.G22.gui":           {itoa(g22.Sent), "", "", "", "0"},
		"CQ.000.00.00.G22.nhan":          {itoa(g22.Received), "", "", "", "0"},
	} {
		rec, ok := rows[key]
		if !ok {
			t.Errorf("no row %s", key)
			continue
		}
		if got := rec[2:]; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row %s: %q, want %q", key, got, want)
		}
	}
	if got := rows["2.c"][1]; got != "Tổng số văn bản đi dưới dạng điện tử" {
		t.Errorf("label of 2.c: %q", got)
	}
	if got := rows["CQ.000.00.00.G22.gui"][1]; got != "Lượt gửi đến Văn phòng Chính phủ" {
		t.Errorf("label of a counterpart: %q", got)
	}
	// The items come first, then the months, then the counterparts.
	if records[1][0] != "1.a" || !strings.HasPrefix(records[1+len(r.itemRows())][0], "T.07/2026.") ||
		!strings.HasPrefix(records[len(records)-1][0], "CQ.") {
		t.Error("the rows are not in the order items, months, counterparts")
	}

	// Not declared: empty values, ke_khai 0.
	_, rows = readCSV(t, sampleReport(t, false))
	for _, key := range []string{"2.d", "2.đ", "3.a"} {
		if rec := rows[key]; rec[2] != "" || rec[6] != "0" {
			t.Errorf("undeclared %s: %q", key, rec)
		}
	}
	// Markup and commas in names survive as text.
	_, rows = readCSV(t, evilReport(t))
	if rec := rows["1.c.chua_ket_noi.000.00.39.H41"]; rec[1] != "Đơn vị chưa kết nối: "+evilName {
		t.Errorf("name in the CSV: %q", rec[1])
	}
}

func TestWriteXLSX(t *testing.T) {
	r := sampleReport(t, true)
	var buf bytes.Buffer
	if err := r.WriteXLSX(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := strings.Join(f.GetSheetList(), "|"), "Mục III|Theo tháng|Theo cơ quan|Từ chối|Định nghĩa"; got != want {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	raw := excelize.Options{RawCellValue: true}
	cell := func(sheet, ref string, o ...excelize.Options) string {
		t.Helper()
		v, err := f.GetCellValue(sheet, ref, o...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	number := func(sheet, ref string) float64 {
		t.Helper()
		v, err := strconv.ParseFloat(cell(sheet, ref, raw), 64)
		if err != nil {
			t.Fatalf("%s!%s is not a number: %v", sheet, ref, err)
		}
		return v
	}
	if got := cell("Mục III", "A1"); !strings.HasPrefix(got, "BÁO CÁO TÌNH HÌNH KẾT NỐI") {
		t.Errorf("title %q", got)
	}
	if got := cell("Mục III", "A2"); !strings.Contains(got, sampleName) || !strings.Contains(got, "Quý III năm 2026") {
		t.Errorf("subtitle %q", got)
	}
	if got := cell("Mục III", "B5"); got != "Chỉ tiêu" {
		t.Errorf("header %q", got)
	}
	// Same rows as the CSV's items.
	items := r.itemRows()
	rowOf := map[string]int{}
	for i, it := range items {
		n := xlsxItemsHeaderRow + 1 + i
		if got := cell("Mục III", fmt.Sprintf("A%d", n)); got != it.key {
			t.Fatalf("row %d: key %q, want %q", n, got, it.key)
		}
		rowOf[it.key] = n
	}
	if got := cell("Mục III", fmt.Sprintf("A%d", xlsxItemsHeaderRow+1+len(items))); got != "" {
		t.Errorf("a row after the items: %q", got)
	}
	if got := number("Mục III", fmt.Sprintf("C%d", rowOf["2.c"])); got != float64(r.Use.Outgoing) {
		t.Errorf("2.c = %v, want %d", got, r.Use.Outgoing)
	}
	n := rowOf["2.a"]
	if got := number("Mục III", fmt.Sprintf("E%d", n)); got != float64(r.Use.Internal) {
		t.Errorf("2.a denominator %v", got)
	}
	if got := number("Mục III", fmt.Sprintf("F%d", n)); math.Abs(got-r.Use.ElectronicOnly.Percent/100) > 1e-12 {
		t.Errorf("2.a share %v, want %v", got, r.Use.ElectronicOnly.Percent/100)
	}
	if got, want := cell("Mục III", fmt.Sprintf("F%d", n)), fmt.Sprintf("%.1f%%", r.Use.ElectronicOnly.Percent); got != want {
		t.Errorf("2.a share shows %q, want %q", got, want)
	}
	if got := cell("Mục III", fmt.Sprintf("G%d", rowOf["2.d"])); got != "kê khai" {
		t.Errorf("2.d declared: %q", got)
	}
	if got := number("Mục III", fmt.Sprintf("C%d", rowOf["3.b.noi_bo"])); got != r.Signatures.Internal.Signed {
		t.Errorf("3.b %v", got)
	}

	m := r.Beyond.ByMonth[1]
	if cell("Theo tháng", "A3") != m.Month || number("Theo tháng", "B3") != float64(m.Outgoing) || number("Theo tháng", "C3") != float64(m.Incoming) {
		t.Errorf("Theo tháng row 3: %q %q %q", cell("Theo tháng", "A3"), cell("Theo tháng", "B3"), cell("Theo tháng", "C3"))
	}
	if got := number("Theo tháng", "M3"); got != m.MedianTo01 {
		t.Errorf("median %v, want %v", got, m.MedianTo01)
	}
	c := r.Beyond.ByCounterpart[0]
	if cell("Theo cơ quan", "A2") != c.Code || cell("Theo cơ quan", "B2") != c.Name || number("Theo cơ quan", "D2") != float64(c.Sent) {
		t.Errorf("Theo cơ quan row 2")
	}
	rows, err := f.GetRows("Từ chối")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(r.Beyond.Refusals) {
		t.Errorf("%d rows of refusals, want %d", len(rows)-1, len(r.Beyond.Refusals))
	}
	fr := r.Beyond.Refusals[0]
	if cell("Từ chối", "I2") != fr.Reason || cell("Từ chối", "B2") != fr.Number || cell("Từ chối", "J2") != viDate(fr.CreatedAt) {
		t.Errorf("Từ chối row 2: %q %q %q", cell("Từ chối", "I2"), cell("Từ chối", "B2"), cell("Từ chối", "J2"))
	}
	if got := cell("Định nghĩa", "B3"); got != r.Definitions[1].Text {
		t.Errorf("definition %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	r := sampleReport(t, true)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "{\n  \"version\": 1,") {
		t.Errorf("not indented: %.40q", buf.String())
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := back.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Error("the JSON does not round-trip")
	}
}

// wellFormed decodes an SVG as XML and returns the text of its elements
// by name.
func wellFormed(t *testing.T, svg string) map[string][]string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	texts := map[string][]string{}
	var stack []string
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root {
				attrs := map[string]string{}
				for _, a := range tok.Attr {
					attrs[a.Name.Local] = a.Value
				}
				if tok.Name.Local != "svg" || attrs["role"] != "img" || attrs["viewBox"] == "" || attrs["aria-labelledby"] == "" {
					t.Errorf("the root is %s %v", tok.Name.Local, attrs)
				}
				root = false
			}
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				name := stack[len(stack)-1]
				texts[name] = append(texts[name], string(tok))
			}
		}
	}
	return texts
}

func TestCharts(t *testing.T) {
	r := sampleReport(t, true)
	for name, svg := range map[string]template.HTML{
		"volume": MonthlyVolumeChart(r),
		"signed": SignedShareChart(r),
		"time":   DeliveryTimeChart(r),
	} {
		t.Run(name, func(t *testing.T) {
			texts := wellFormed(t, string(svg))
			all := strings.Join(texts["text"], "|")
			if len(texts["title"]) == 0 || len(texts["desc"]) != 1 || !strings.Contains(texts["desc"][0], sampleName) {
				t.Errorf("title %q, desc %q", texts["title"], texts["desc"])
			}
			for _, m := range r.Beyond.ByMonth {
				if !strings.Contains(all, "Tháng "+m.Month) || !strings.Contains(texts["desc"][0], m.Month) {
					t.Errorf("month %s is not labelled", m.Month)
				}
			}
			var want []string
			switch name {
			case "volume":
				m := r.Beyond.ByMonth[0]
				want = []string{"Văn bản đi", "Văn bản đến", "Đi", "Đến", viInt(m.Outgoing), viInt(m.Incoming)}
			case "signed":
				m := r.Signatures.Months[0]
				want = []string{"Trong nội bộ", "Với cơ quan khác", "100%", viPercent(m.Internal.Percent), viPercent(m.External.Percent)}
			case "time":
				want = []string{viDuration(r.Beyond.ByMonth[0].MedianTo01), viDuration(r.Beyond.ByMonth[2].MedianTo01)}
			}
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("no label %q in %q", w, all)
				}
			}
			if name != "time" && !strings.Contains(string(svg), `-hatch)"`) {
				t.Error("the second series is told apart by colour only")
			}
		})
	}

	// Markup in names is text.
	evil := evilReport(t)
	for _, svg := range []template.HTML{MonthlyVolumeChart(evil), SignedShareChart(evil), DeliveryTimeChart(evil)} {
		if strings.Contains(string(svg), "<script") {
			t.Fatal("a name came out as markup")
		}
		texts := wellFormed(t, string(svg))
		if !strings.Contains(texts["desc"][0], evilName) {
			t.Errorf("the name is lost: %q", texts["desc"][0])
		}
	}

	// Every chart has a legend naming each of its series, drawn first.
	for name, tt := range map[string]struct {
		svg  template.HTML
		want []string
	}{
		"volume": {MonthlyVolumeChart(r), []string{"Văn bản đi", "Văn bản đến"}},
		"signed": {SignedShareChart(r), []string{"Trong nội bộ", "Với cơ quan khác"}},
		"time":   {DeliveryTimeChart(r), []string{"Thời gian trung vị đến trạng thái 01 (đã đến)"}},
	} {
		texts := wellFormed(t, string(tt.svg))["text"]
		if got := texts[:min(len(texts), len(tt.want))]; strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: the legend says %q, want %q", name, got, tt.want)
		}
		if got := strings.Count(string(tt.svg), `<g class="legend-item">`); got != len(tt.want) {
			t.Errorf("%s: %d legend entries, want %d", name, got, len(tt.want))
		}
	}

	// What is not known is said once where it is missing: for a month
	// (both bars), for a bar (the other known), for the whole chart.
	gaps := &Report{
		Signatures: Signatures{Months: []MonthSignatures{
			{Month: "07/2026"},
			{Month: "08/2026", Internal: Ratio{Num: 1, Den: 2, Percent: 50}},
			{Month: "09/2026", Internal: Ratio{Num: 2, Den: 2, Percent: 100}, External: Ratio{Num: 1, Den: 4, Percent: 25}},
		}},
		Beyond: Beyond{ByMonth: []Month{{Month: "07/2026"}, {Month: "08/2026"}, {Month: "09/2026"}}},
	}
	texts := wellFormed(t, string(SignedShareChart(gaps)))
	if got, want := strings.Count(strings.Join(texts["text"], "|"), "Không có số liệu"), 1; got != want {
		t.Errorf("signed: the empty month is said %d times, want %d: %q", got, want, texts["text"])
	}
	if got, want := strings.Join(texts["tspan"], " "), "không có số liệu"; got != want {
		t.Errorf("signed: the bar not known says %q, want %q", got, want)
	}
	texts = wellFormed(t, string(DeliveryTimeChart(gaps)))
	if all := strings.Join(texts["text"], "|"); strings.Count(all, "Không có số liệu") != 1 || !strings.Contains(all, "Không có số liệu trong quý") {
		t.Errorf("time: a quarter without figures says %q", all)
	}

	// Deliveries whose 01 came within the second: a bar, not "no data".
	fast := &Report{Beyond: Beyond{ByMonth: []Month{{Month: "07/2026", Arrived: 3}, {Month: "08/2026"}, {Month: "09/2026", MedianTo01: 90, Arrived: 1}}}}
	texts = wellFormed(t, string(DeliveryTimeChart(fast)))
	if all := strings.Join(texts["text"], "|"); !strings.Contains(all, "dưới 1 giây") || !strings.Contains(all, "1 phút 30 giây") ||
		strings.Contains(all, "trong quý") || strings.Count(all, "Không có số liệu") != 1 {
		t.Errorf("time: fast deliveries say %q", all)
	}

	// No months: a chart that says so.
	empty := &Report{}
	for _, svg := range []template.HTML{MonthlyVolumeChart(empty), SignedShareChart(empty), DeliveryTimeChart(empty)} {
		if texts := wellFormed(t, string(svg)); !strings.Contains(strings.Join(texts["text"], "|"), "Chưa có số liệu") {
			t.Errorf("the empty chart says %q", texts["text"])
		}
	}
}

func TestNiceScale(t *testing.T) {
	for _, tt := range []struct {
		max, top, step float64
	}{
		{0, 1, 1}, {3, 3, 1}, {1234, 1500, 500}, {1700, 2000, 500}, {95, 100, 25}, {7.3, 8, 2}, {0.4, 1, 1},
	} {
		top, step := niceScale(tt.max, 4, 1)
		if math.Abs(top-tt.top) > 1e-9 || math.Abs(step-tt.step) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tt.max, top, step, tt.top, tt.step)
		}
	}
}
