package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// csvHeader names the columns of WriteCSV: the item's key, its label in
// Vietnamese, its value, the numerator, the denominator and the share of
// a ratio (a percentage, 0 to 100), and 1 when the agency declared the
// value.
var csvHeader = []string{"muc", "chi_tieu", "gia_tri", "tu_so", "mau_so", "ty_le", "ke_khai"}

// utf8BOM starts the CSV file, so that Excel reads it as UTF-8.
const utf8BOM = "\ufeff"

// WriteCSV writes the report as CSV, UTF-8 with a byte-order mark so that
// Excel shows Vietnamese right. The columns are csvHeader's; the rows are
// the form's items and sub-items ("1.a" … "3.c"), the annex's ("P.1" …),
// then one row per month and figure ("T.07/2026.noi_bo") and per
// counterpart and figure ("CQ.000.00.00.G22.gui"). Numbers are written
// the machine way (1234.5); a ratio's gia_tri is its numerator; a value
// that is not known is empty. Nothing is written when the CSV cannot be
// made.
func (r *Report) WriteCSV(w io.Writer) error {
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	cw := csv.NewWriter(&buf)
	_ = cw.Write(csvHeader) // a bytes.Buffer does not fail; cw.Error says otherwise
	for _, rows := range [][]row{r.itemRows(), r.monthRows(), r.counterpartRows()} {
		for _, x := range rows {
			_ = cw.Write(x.csv())
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write the CSV of %s %s: %w", r.Agency.Code, r.Quarter, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("report: write the CSV: %w", err)
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode %s %s as JSON: %w", r.Agency.Code, r.Quarter, err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("report: write the JSON: %w", err)
	}
	return nil
}

// row is one row of the CSV and of the XLSX's sheet "Mục III". value,
// num and den are int, float64, string or nil (not known); share is a
// percentage or nil.
type row struct {
	key, label string
	value      any
	num, den   any
	share      any
	declared   bool
}

// csv is the row's CSV record.
func (x row) csv() []string {
	d := "0"
	if x.declared {
		d = "1"
	}
	return []string{x.key, x.label, csvValue(x.value), csvValue(x.num), csvValue(x.den), csvValue(x.share), d}
}

// csvValue writes a value the machine way.
func csvValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// countRow is a row of a count.
func countRow(key, label string, n int) row { return row{key: key, label: label, value: n} }

// ratioRow is a row of a ratio: the numerator as the value.
func ratioRow(key, label string, r Ratio) row {
	x := row{key: key, label: label, value: r.Num, num: r.Num, den: r.Den}
	if r.Den > 0 {
		x.share = r.Percent
	}
	return x
}

// boolValue is 1 or 0.
func boolValue(b bool) int {
	if b {
		return 1
	}
	return 0
}

// itemRows are the rows of the form's items and of the annex.
func (r *Report) itemRows() []row {
	d, u, s, b := &r.Deployment, &r.Use, &r.Signatures, &r.Beyond
	rows := []row{
		{key: "1.a", label: "Trường hợp triển khai hệ thống QLVB và trục liên thông nội bộ (1: một hệ thống QLVB dùng chung; 2: mọi đơn vị đã kết nối; 3: còn đơn vị chưa kết nối)",
			value: d.Case, declared: d.Case == 1},
		{key: "1.b.tong", label: "Tổng số đơn vị", value: d.Units.Value, declared: d.Units.Declared},
		ratioRow("1.b", "Số đơn vị có hệ thống QLVB", d.WithDMS),
		ratioRow("1.c", "Số đơn vị đã kết nối với hệ thống QLVB dùng chung, trục liên thông nội bộ", d.Connected),
	}
	for _, x := range d.NotConnected {
		name := x.Name
		if name == "" {
			name = x.Code
		}
		rows = append(rows, row{key: "1.c.chua_ket_noi." + x.Code, label: "Đơn vị chưa kết nối: " + name, value: x.Code})
	}
	rows = append(rows,
		row{key: "1.d", label: "Kết nối với Trục liên thông văn bản quốc gia (1: đã kết nối; 0: chưa)", value: boolValue(d.NationalAxis)},
		ratioRow("2.a", "Văn bản trao đổi giữa các đơn vị hoàn toàn dưới dạng điện tử", u.ElectronicOnly),
		ratioRow("2.b", "Văn bản trao đổi giữa các đơn vị dưới dạng điện tử song song với văn bản giấy", u.WithPaper),
		countRow("2.c", "Tổng số văn bản đi dưới dạng điện tử", u.Outgoing),
	)
	paper := row{key: "2.d", label: "Tổng số văn bản đi dưới dạng giấy", declared: u.PaperOutgoing.Declared}
	perPaper := row{key: "2.đ", label: "Tỷ lệ văn bản đi điện tử/văn bản đi giấy"}
	if u.PaperOutgoing.Declared {
		paper.value = u.PaperOutgoing.Value
		if u.PaperOutgoing.Value > 0 {
			perPaper.value, perPaper.num, perPaper.den = u.ElectronicPerPaper, u.Outgoing, u.PaperOutgoing.Value
		}
	}
	integrated := row{key: "3.a", label: "Tích hợp ký số trên hệ thống QLVB dùng chung (1: có; 0: không)", declared: s.Integrated.Declared}
	if s.Integrated.Declared {
		integrated.value = boolValue(s.Integrated.Value)
	}
	avg := func(key, label string, a MonthlyAverage) row {
		x := row{key: key, label: label, value: a.Signed, num: a.Signed, den: a.All}
		if a.All > 0 {
			x.share = a.Percent
		}
		return x
	}
	rows = append(rows, paper, perPaper, integrated,
		avg("3.b.noi_bo", "Trung bình hằng tháng: văn bản điện tử có ký số/tổng số văn bản điện tử trong nội bộ cơ quan", s.Internal),
		avg("3.b.ngoai", "Trung bình hằng tháng: văn bản điện tử có ký số/tổng số văn bản điện tử với cơ quan khác", s.External),
		ratioRow("3.c", "Văn bản có tệp PDF ký số", s.SignedPDF),

		countRow("P.1.luot_gui", "Tổng số lượt gửi văn bản đi (mỗi nơi nhận một lượt)", b.Deliveries),
		ratioRow("P.1", "Lượt gửi đã đến nơi nhận (01)", b.Delivered),
		countRow("P.1.van_ban_den", "Tổng số văn bản đến", b.Incoming),
	)
	for _, t := range []struct {
		code, name string
		d          Durations
	}{{"01", "đã đến", b.TimeTo01}, {"03", "đã tiếp nhận", b.TimeTo03}, {"06", "hoàn thành", b.TimeTo06}} {
		rows = append(rows, countRow("P.2."+t.code+".so_luot", "Số lượt nơi nhận báo "+t.name+" ("+t.code+")", t.d.Count))
		med := row{key: "P.2." + t.code + ".trung_vi", label: "Thời gian đến " + t.code + " (" + t.name + "), trung vị, giây"}
		p95 := row{key: "P.2." + t.code + ".p95", label: "Thời gian đến " + t.code + " (" + t.name + "), phân vị 95, giây"}
		if t.d.Count > 0 {
			med.value, p95.value = t.d.Median, t.d.P95
		}
		rows = append(rows, med, p95)
	}
	rows = append(rows,
		countRow("P.3.di", "Lượt gửi văn bản đi quá hạn xử lý", b.OverdueOutgoing),
		countRow("P.3.den", "Văn bản đến quá hạn xử lý", b.OverdueIncoming),
		countRow("P.4.tu_choi", "Lượt bị từ chối tiếp nhận (02)", len(b.Refusals)),
		countRow("P.4.yeu_cau_lay_lai", "Yêu cầu lấy lại (13)", b.Recalls.Requested),
		countRow("P.4.da_lay_lai", "Đã lấy lại (15)", b.Recalls.Recalled),
		countRow("P.4.tu_choi_lay_lai", "Bị từ chối lấy lại (16)", b.Recalls.Refused),
	)
	return rows
}

// monthRows are the rows of each month.
func (r *Report) monthRows() []row {
	var rows []row
	for _, m := range r.Beyond.ByMonth {
		k, t := "T."+m.Month+".", " tháng "+m.Month
		sig := r.monthSignatures(m.Month)
		signed := ratioRow(k+"ky_so", "Văn bản có ký số/văn bản tính ký số"+t, Ratio{Num: m.Signed, Den: m.Documents, Percent: percent(m.Signed, m.Documents)})
		median := row{key: k + "tg01", label: "Thời gian đến 01, trung vị, giây," + t}
		if m.Arrived > 0 {
			median.value = m.MedianTo01
		}
		rows = append(rows,
			countRow(k+"di", "Văn bản đi"+t, m.Outgoing),
			countRow(k+"den", "Văn bản đến"+t, m.Incoming),
			signed,
			ratioRow(k+"noi_bo", "Văn bản có ký số trong nội bộ cơ quan"+t, sig.Internal),
			ratioRow(k+"ngoai", "Văn bản có ký số với cơ quan khác"+t, sig.External),
			median,
		)
	}
	return rows
}

// counterpartRows are the rows of each counterpart.
func (r *Report) counterpartRows() []row {
	var rows []row
	for _, c := range r.Beyond.ByCounterpart {
		k, name := "CQ."+c.Code+".", c.Name
		if name == "" {
			name = c.Code
		}
		rows = append(rows,
			countRow(k+"gui", "Lượt gửi đến "+name, c.Sent),
			countRow(k+"nhan", "Văn bản nhận từ "+name, c.Received),
			countRow(k+"tu_choi", "Lượt gửi bị "+name+" từ chối", c.Refused),
		)
	}
	return rows
}
