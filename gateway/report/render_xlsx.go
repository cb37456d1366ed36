package report

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/lienthong/lienthong/envelope"
)

// The sheets of WriteXLSX.
const (
	sheetItems       = "Mục III"
	sheetMonths      = "Theo tháng"
	sheetParties     = "Theo cơ quan"
	sheetRefusals    = "Từ chối"
	sheetDefinitions = "Định nghĩa"
)

// xlsxItemsHeaderRow is the row of the column names on sheet "Mục III";
// the title is above it, the items below.
const xlsxItemsHeaderRow = 5

// WriteXLSX writes the report as an Excel workbook with the sheets "Mục
// III" (the form's items and the annex's, the rows of WriteCSV before the
// months), "Theo tháng", "Theo cơ quan", "Từ chối" and "Định nghĩa".
// Numbers are numbers, shares are fractions shown as percentages. Nothing
// is written when the workbook cannot be made.
func (r *Report) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	x := &xlsxWriter{f: f}
	x.styles()
	x.items(r)
	x.months(r)
	x.parties(r)
	x.refusals(r)
	x.definitions(r)
	if x.err == nil {
		x.err = f.SetDocProps(&excelize.DocProperties{
			Title:    "Báo cáo tình hình kết nối, liên thông văn bản điện tử — " + r.Agency.Name + " — " + r.QuarterLabel,
			Subject:  "Mục III, báo cáo định kỳ hằng quý",
			Creator:  "lienthong " + r.Gateway,
			Language: "vi-VN",
		})
	}
	if x.err != nil {
		return fmt.Errorf("report: make the workbook of %s %s: %w", r.Agency.Code, r.Quarter, x.err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return fmt.Errorf("report: encode the workbook of %s %s: %w", r.Agency.Code, r.Quarter, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("report: write the workbook: %w", err)
	}
	return nil
}

// xlsxWriter fills a workbook and keeps its first error.
type xlsxWriter struct {
	f   *excelize.File
	err error
	// Styles.
	title, header, text, wrap, integer, decimal, share, date int
}

func (x *xlsxWriter) fail(err error, what string) {
	if err != nil && x.err == nil {
		x.err = fmt.Errorf("%s: %w", what, err)
	}
}

func (x *xlsxWriter) style(s *excelize.Style) int {
	id, err := x.f.NewStyle(s)
	x.fail(err, "style")
	return id
}

func (x *xlsxWriter) styles() {
	border := []excelize.Border{
		{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1},
	}
	top := &excelize.Alignment{Vertical: "top"}
	pct, dec := "0.0%", "#,##0.00"
	dmy := "dd/mm/yyyy"
	x.title = x.style(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}})
	x.header = x.style(&excelize.Style{
		Font: &excelize.Font{Bold: true}, Border: border,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE4EE"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	x.text = x.style(&excelize.Style{Border: border, Alignment: top})
	x.wrap = x.style(&excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	x.integer = x.style(&excelize.Style{Border: border, Alignment: top, NumFmt: 3}) // #,##0
	x.decimal = x.style(&excelize.Style{Border: border, Alignment: top, CustomNumFmt: &dec})
	x.share = x.style(&excelize.Style{Border: border, Alignment: top, CustomNumFmt: &pct})
	x.date = x.style(&excelize.Style{Border: border, Alignment: top, CustomNumFmt: &dmy})
}

// sheet names the workbook's first sheet, or adds one.
func (x *xlsxWriter) sheet(name string, first bool) {
	if first {
		x.fail(x.f.SetSheetName("Sheet1", name), "sheet "+name)
		return
	}
	_, err := x.f.NewSheet(name)
	x.fail(err, "sheet "+name)
}

// set writes v in the cell at col, row (from 1) with style; a nil v
// leaves the cell empty but styled.
func (x *xlsxWriter) set(sheet string, col, row int, v any, style int) {
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		x.fail(err, "cell")
		return
	}
	if v != nil {
		x.fail(x.f.SetCellValue(sheet, cell, v), sheet+"!"+cell)
	}
	x.fail(x.f.SetCellStyle(sheet, cell, cell, style), sheet+"!"+cell)
}

// number writes an int, a float64, a string or nil with the style that
// fits it.
func (x *xlsxWriter) number(sheet string, col, row int, v any) {
	switch v.(type) {
	case int:
		x.set(sheet, col, row, v, x.integer)
	case float64:
		x.set(sheet, col, row, v, x.decimal)
	default:
		x.set(sheet, col, row, v, x.text)
	}
}

// fraction writes a percentage as a fraction shown as one; nil leaves the
// cell empty.
func (x *xlsxWriter) fraction(sheet string, col, row int, percent any) {
	if p, ok := percent.(float64); ok {
		x.set(sheet, col, row, p/100, x.share)
		return
	}
	x.set(sheet, col, row, nil, x.share)
}

// headers writes the column names in row, with the columns' widths, and
// freezes the rows above and including it.
func (x *xlsxWriter) headers(sheet string, row int, cols []string, widths []float64) {
	for i, c := range cols {
		x.set(sheet, i+1, row, c, x.header)
		name, err := excelize.ColumnNumberToName(i + 1)
		x.fail(err, "column")
		x.fail(x.f.SetColWidth(sheet, name, name, widths[i]), "width")
	}
	x.fail(x.f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: row, TopLeftCell: fmt.Sprintf("A%d", row+1), ActivePane: "bottomLeft"}), "panes")
}

// items is sheet "Mục III": a title, then the rows of the CSV's items.
func (x *xlsxWriter) items(r *Report) {
	s := sheetItems
	x.sheet(s, true)
	x.set(s, 1, 1, "BÁO CÁO TÌNH HÌNH KẾT NỐI, LIÊN THÔNG VĂN BẢN ĐIỆN TỬ — MỤC III", x.title)
	line := r.Agency.Name + " (mã định danh " + r.Agency.Code + ") — " + r.QuarterLabel
	if p := period(r); p != "" {
		line += " (" + p + ")"
	}
	x.fail(x.f.SetCellValue(s, "A2", line), s+"!A2")
	x.fail(x.f.SetCellValue(s, "A3", "Lập lúc "+viDateTime(r.GeneratedAt)+" (giờ Việt Nam) từ số liệu của cổng "+r.Gateway+
		"; tỷ lệ tính trên tử số/mẫu số; cột Kê khai: giá trị do cơ quan kê khai."), s+"!A3")
	x.headers(s, xlsxItemsHeaderRow, []string{"Mục", "Chỉ tiêu", "Giá trị", "Tử số", "Mẫu số", "Tỷ lệ", "Kê khai"},
		[]float64{22, 70, 14, 12, 12, 10, 10})
	for i, it := range r.itemRows() {
		n := xlsxItemsHeaderRow + 1 + i
		x.set(s, 1, n, it.key, x.text)
		x.set(s, 2, n, it.label, x.wrap)
		x.number(s, 3, n, it.value)
		x.number(s, 4, n, it.num)
		x.number(s, 5, n, it.den)
		x.fraction(s, 6, n, it.share)
		var d any
		if it.declared {
			d = "kê khai"
		}
		x.set(s, 7, n, d, x.text)
	}
}

// months is sheet "Theo tháng".
func (x *xlsxWriter) months(r *Report) {
	s := sheetMonths
	x.sheet(s, false)
	x.headers(s, 1, []string{
		"Tháng", "Văn bản đi", "Văn bản đến", "Văn bản tính ký số", "Văn bản có ký số", "Tỷ lệ có ký số",
		"Nội bộ: có ký số", "Nội bộ: tổng số", "Nội bộ: tỷ lệ",
		"Với cơ quan khác: có ký số", "Với cơ quan khác: tổng số", "Với cơ quan khác: tỷ lệ",
		"Trung vị thời gian đến 01 (giây)", "Trung vị thời gian đến 01",
	}, []float64{10, 12, 12, 12, 12, 10, 12, 12, 10, 14, 14, 12, 16, 18})
	ratio := func(col, n int, q Ratio) {
		x.number(s, col, n, q.Num)
		x.number(s, col+1, n, q.Den)
		var p any
		if q.Den > 0 {
			p = q.Percent
		}
		x.fraction(s, col+2, n, p)
	}
	for i, m := range r.Beyond.ByMonth {
		n := i + 2
		sig := r.monthSignatures(m.Month)
		x.set(s, 1, n, m.Month, x.text)
		x.number(s, 2, n, m.Outgoing)
		x.number(s, 3, n, m.Incoming)
		x.number(s, 4, n, m.Documents)
		x.number(s, 5, n, m.Signed)
		var p any
		if m.Documents > 0 {
			p = percent(m.Signed, m.Documents)
		}
		x.fraction(s, 6, n, p)
		ratio(7, n, sig.Internal)
		ratio(10, n, sig.External)
		var sec, human any
		if m.Arrived > 0 {
			sec, human = m.MedianTo01, viDuration(m.MedianTo01)
		}
		x.number(s, 13, n, sec)
		x.set(s, 14, n, human, x.text)
	}
}

// parties is sheet "Theo cơ quan".
func (x *xlsxWriter) parties(r *Report) {
	s := sheetParties
	x.sheet(s, false)
	x.headers(s, 1, []string{"Mã định danh", "Tên cơ quan, đơn vị", "Phạm vi", "Lượt gửi đến", "Văn bản nhận từ", "Lượt bị từ chối"},
		[]float64{18, 50, 14, 14, 14, 14})
	for i, c := range r.Beyond.ByCounterpart {
		n := i + 2
		scope := "Ngoài cơ quan"
		if c.Internal {
			scope = "Nội bộ"
		}
		x.set(s, 1, n, c.Code, x.text)
		x.set(s, 2, n, c.Name, x.wrap)
		x.set(s, 3, n, scope, x.text)
		x.number(s, 4, n, c.Sent)
		x.number(s, 5, n, c.Received)
		x.number(s, 6, n, c.Refused)
	}
}

// refusals is sheet "Từ chối".
func (x *xlsxWriter) refusals(r *Report) {
	s := sheetRefusals
	x.sheet(s, false)
	x.headers(s, 1, []string{"STT", "Số/ký hiệu", "Trích yếu", "Đơn vị", "Mã đơn vị", "Chiều", "Bên liên quan", "Mã bên liên quan", "Lý do", "Ngày", "Mã văn bản"},
		[]float64{6, 16, 45, 30, 16, 10, 30, 16, 45, 12, 24})
	names := r.names()
	for i, f := range r.Beyond.Refusals {
		n := i + 2
		dir := "Đi"
		if f.Direction == "in" {
			dir = "Đến"
		}
		x.number(s, 1, n, i+1)
		x.set(s, 2, n, f.Number, x.text)
		x.set(s, 3, n, f.Subject, x.wrap)
		x.set(s, 4, n, names[f.Agency], x.wrap)
		x.set(s, 5, n, f.Agency, x.text)
		x.set(s, 6, n, dir, x.text)
		x.set(s, 7, n, names[f.Party], x.wrap)
		x.set(s, 8, n, f.Party, x.text)
		x.set(s, 9, n, f.Reason, x.wrap)
		var day any
		if !f.CreatedAt.IsZero() {
			// The day in Vietnam, as a date without a zone: Excel has none.
			v := f.CreatedAt.In(envelope.VietnamTime())
			day = time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)
		}
		x.set(s, 10, n, day, x.date)
		x.set(s, 11, n, f.Document, x.text)
	}
}

// definitions is sheet "Định nghĩa".
func (x *xlsxWriter) definitions(r *Report) {
	s := sheetDefinitions
	x.sheet(s, false)
	x.headers(s, 1, []string{"Mục", "Định nghĩa"}, []float64{8, 110})
	for i, d := range r.Definitions {
		x.set(s, 1, i+2, d.Item, x.text)
		x.set(s, 2, i+2, d.Text, x.wrap)
	}
}
