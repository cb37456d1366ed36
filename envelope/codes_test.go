package envelope_test

import (
	"slices"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// labeledCode is a code with a Valid and a Label method.
type labeledCode interface {
	Valid() bool
	Label() string
}

// checkLabels checks that every code is valid and that the labels are the
// wanted ones, hence non-empty and distinct.
func checkLabels[T labeledCode](t *testing.T, codes []T, want []string) {
	t.Helper()
	if len(codes) != len(want) {
		t.Fatalf("%d codes, want %d", len(codes), len(want))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !c.Valid() {
			t.Errorf("%v.Valid() = false", c)
		}
		l := c.Label()
		if l != want[i] {
			t.Errorf("%v.Label() = %q, want %q", c, l, want[i])
		}
		if l == "" || seen[l] {
			t.Errorf("%v.Label() = %q: empty or not distinct", c, l)
		}
		seen[l] = true
	}
}

func TestPriority(t *testing.T) {
	ps := envelope.Priorities()
	if want := []envelope.Priority{"0", "1", "2", "3", "4"}; !slices.Equal(ps, want) {
		t.Fatalf("Priorities() = %v, want %v", ps, want)
	}
	checkLabels(t, ps, []string{"Thường", "Khẩn", "Thượng khẩn", "Hỏa tốc", "Hỏa tốc hẹn giờ"})

	tests := []struct {
		p          envelope.Priority
		valid, urg bool
	}{
		{envelope.PriorityNormal, true, false},
		{envelope.PriorityUrgent, true, true},
		{envelope.PriorityVeryUrgent, true, true},
		{envelope.PriorityFlash, true, true},
		{envelope.PriorityFlashScheduled, true, true},
		{"", false, false},
		{"5", false, false},
		{"01", false, false},
		{" 1", false, false},
	}
	for _, tt := range tests {
		if got := tt.p.Valid(); got != tt.valid {
			t.Errorf("Priority(%q).Valid() = %v, want %v", tt.p, got, tt.valid)
		}
		if got := tt.p.Urgent(); got != tt.urg {
			t.Errorf("Priority(%q).Urgent() = %v, want %v", tt.p, got, tt.urg)
		}
	}
	if got, want := envelope.Priority("9").Label(), "Độ khẩn không xác định (9)"; got != want {
		t.Errorf("Label() = %q, want %q", got, want)
	}
}

func TestSteeringType(t *testing.T) {
	ts := envelope.SteeringTypes()
	if want := []envelope.SteeringType{envelope.SteeringNone, envelope.SteeringDirective, envelope.SteeringReport}; !slices.Equal(ts, want) {
		t.Fatalf("SteeringTypes() = %v, want %v", ts, want)
	}
	checkLabels(t, ts, []string{"Không phải văn bản chỉ đạo", "Văn bản chỉ đạo", "Báo cáo thực hiện chỉ đạo"})
	for _, s := range []envelope.SteeringType{"", "3", "00", "a"} {
		if s.Valid() {
			t.Errorf("SteeringType(%q).Valid() = true", s)
		}
		if s.Label() == "" {
			t.Errorf("SteeringType(%q).Label() is empty", s)
		}
	}
}

func TestBussinessDocType(t *testing.T) {
	ts := envelope.BussinessDocTypes()
	want := []envelope.BussinessDocType{envelope.BussinessNew, envelope.BussinessRevoke, envelope.BussinessUpdate, envelope.BussinessReplace}
	if !slices.Equal(ts, want) || string(ts[0]) != "0" || string(ts[3]) != "3" {
		t.Fatalf("BussinessDocTypes() = %v, want %v", ts, want)
	}
	checkLabels(t, ts, []string{"Văn bản mới", "Thu hồi", "Cập nhật", "Thay thế"})
	for _, b := range []envelope.BussinessDocType{"", "4", "01"} {
		if b.Valid() {
			t.Errorf("BussinessDocType(%q).Valid() = true", b)
		}
	}
}

func TestDocTable(t *testing.T) {
	tests := []struct {
		t          envelope.DocTable
		valid      bool
		str, label string
	}{
		{envelope.DocTableLegal, true, "A", "Văn bản quy phạm pháp luật"},
		{envelope.DocTableAdmin, true, "B", "Văn bản hành chính"},
		{0, false, "DocTable(0)", "Bảng loại văn bản không xác định (0)"},
		{3, false, "DocTable(3)", "Bảng loại văn bản không xác định (3)"},
	}
	for _, tt := range tests {
		if got := tt.t.Valid(); got != tt.valid {
			t.Errorf("DocTable(%d).Valid() = %v, want %v", int(tt.t), got, tt.valid)
		}
		if got := tt.t.String(); got != tt.str {
			t.Errorf("DocTable(%d).String() = %q, want %q", int(tt.t), got, tt.str)
		}
		if got := tt.t.Label(); got != tt.label {
			t.Errorf("DocTable(%d).Label() = %q, want %q", int(tt.t), got, tt.label)
		}
	}
}

func TestDocKinds(t *testing.T) {
	tests := []struct {
		table    envelope.DocTable
		rows     int
		inferred []int
	}{
		{envelope.DocTableLegal, 13, nil},
		{envelope.DocTableAdmin, 31, []int{10, 11, 12, 13, 14, 15, 16, 17, 27, 28, 29, 30, 31}},
	}
	for _, tt := range tests {
		t.Run(tt.table.String(), func(t *testing.T) {
			kinds := envelope.DocKinds(tt.table)
			if len(kinds) != tt.rows {
				t.Fatalf("%d rows, want %d", len(kinds), tt.rows)
			}
			names := map[string]bool{}
			var inferred []int
			for i, k := range kinds {
				if k.Table != tt.table || k.Row != i+1 {
					t.Errorf("row %d = %+v", i+1, k)
				}
				if k.Name == "" || names[k.Name] {
					t.Errorf("row %d name %q: empty or not distinct", k.Row, k.Name)
				}
				names[k.Name] = true
				if k.Inferred {
					inferred = append(inferred, k.Row)
				}
				got, ok := envelope.LookupDocKind(tt.table, k.Row)
				if !ok || got != k {
					t.Errorf("LookupDocKind(%s, %d) = %+v, %v", tt.table, k.Row, got, ok)
				}
				// Every name finds its own row, except the three names of
				// table A that table B also has.
				byName, ok := envelope.DocKindByName(k.Name)
				if !ok || (byName != k && !(k.Table == envelope.DocTableLegal && byName.Table == envelope.DocTableAdmin)) {
					t.Errorf("DocKindByName(%q) = %+v, %v", k.Name, byName, ok)
				}
			}
			if !slices.Equal(inferred, tt.inferred) {
				t.Errorf("inferred rows %v, want %v", inferred, tt.inferred)
			}
			kinds[0].Name = "changed"
			if k, _ := envelope.LookupDocKind(tt.table, 1); k.Name == "changed" {
				t.Errorf("DocKinds shares its slice with the caller")
			}
		})
	}
	if envelope.DocKinds(0) != nil || envelope.DocKinds(3) != nil {
		t.Errorf("DocKinds of an invalid table is not nil")
	}
	for _, c := range []struct {
		t   envelope.DocTable
		row int
	}{{envelope.DocTableLegal, 0}, {envelope.DocTableLegal, 14}, {envelope.DocTableAdmin, 32}, {envelope.DocTableAdmin, -1}, {0, 1}, {3, 1}} {
		if k, ok := envelope.LookupDocKind(c.t, c.row); ok {
			t.Errorf("LookupDocKind(%d, %d) = %+v, true", int(c.t), c.row, k)
		}
	}
}

func TestDocKindByName(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantTable envelope.DocTable
		wantRow   int
		wantOK    bool
	}{
		{name: "CongVan", in: "Công văn", wantTable: envelope.DocTableAdmin, wantRow: 18, wantOK: true},
		{name: "Spaces", in: "  công  văn ", wantTable: envelope.DocTableAdmin, wantRow: 18, wantOK: true},
		{name: "Upper", in: "CÔNG VĂN", wantTable: envelope.DocTableAdmin, wantRow: 18, wantOK: true},
		{name: "Tab", in: "Công\tđiện", wantTable: envelope.DocTableAdmin, wantRow: 19, wantOK: true},
		{name: "ThongTu", in: "Thông tư", wantTable: envelope.DocTableLegal, wantRow: 9, wantOK: true},
		{name: "ThongTuLienTich", in: "thông tư liên tịch", wantTable: envelope.DocTableLegal, wantRow: 10, wantOK: true},
		{name: "QuyetDinhPrefersB", in: "Quyết định", wantTable: envelope.DocTableAdmin, wantRow: 2, wantOK: true},
		{name: "QuyetDinhCaBiet", in: "Quyết định (cá biệt)", wantTable: envelope.DocTableAdmin, wantRow: 2, wantOK: true},
		{name: "QuyetDinhCaBietNoParens", in: "quyết định cá biệt", wantTable: envelope.DocTableAdmin, wantRow: 2, wantOK: true},
		{name: "QuyetDinhQPPL", in: "Quyết định quy phạm pháp luật", wantTable: envelope.DocTableLegal, wantRow: 8, wantOK: true},
		{name: "QuyetDinhQPPLAbbrev", in: "Quyết định (QPPL)", wantTable: envelope.DocTableLegal, wantRow: 8, wantOK: true},
		{name: "NghiQuyetPrefersB", in: "Nghị quyết", wantTable: envelope.DocTableAdmin, wantRow: 1, wantOK: true},
		{name: "NghiQuyetQPPL", in: "Nghị quyết (quy phạm pháp luật)", wantTable: envelope.DocTableLegal, wantRow: 5, wantOK: true},
		{name: "NghiQuyetLienTich", in: "Nghị quyết liên tịch", wantTable: envelope.DocTableLegal, wantRow: 6, wantOK: true},
		{name: "ChiThiPrefersB", in: "Chỉ thị", wantTable: envelope.DocTableAdmin, wantRow: 3, wantOK: true},
		{name: "ChiThiQPPL", in: "Chỉ thị QPPL", wantTable: envelope.DocTableLegal, wantRow: 11, wantOK: true},
		{name: "Luat", in: "Luật", wantTable: envelope.DocTableLegal, wantRow: 2, wantOK: true},
		{name: "BoLuat", in: "Bộ luật", wantTable: envelope.DocTableLegal, wantRow: 12, wantOK: true},
		{name: "Inferred", in: "Kế hoạch", wantTable: envelope.DocTableAdmin, wantRow: 10, wantOK: true},
		{name: "OldToneThoa", in: "Bản thoả thuận", wantTable: envelope.DocTableAdmin, wantRow: 22, wantOK: true},
		{name: "OldToneUy", in: "Giấy uỷ quyền", wantTable: envelope.DocTableAdmin, wantRow: 24, wantOK: true},
		{name: "HyphenInsteadOfDash", in: "Văn bản quy phạm pháp luật của đơn vị hành chính-kinh tế đặc biệt", wantTable: envelope.DocTableLegal, wantRow: 13, wantOK: true},
		{name: "QualifierWithoutRow", in: "Công văn QPPL", wantOK: false},
		{name: "CaBietLegalOnly", in: "Luật (cá biệt)", wantOK: false},
		{name: "Unknown", in: "Thư điện tử", wantOK: false},
		{name: "Empty", in: "", wantOK: false},
		{name: "Blank", in: "   ", wantOK: false},
		{name: "QualifierOnly", in: "(cá biệt)", wantOK: false},
		{name: "NoDiacritics", in: "Cong van", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := envelope.DocKindByName(tt.in)
			if ok != tt.wantOK {
				t.Fatalf("DocKindByName(%q) = %+v, %v, want ok %v", tt.in, got, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.Table != tt.wantTable || got.Row != tt.wantRow {
				t.Errorf("DocKindByName(%q) = %s %d (%s), want %s %d", tt.in, got.Table, got.Row, got.Name, tt.wantTable, tt.wantRow)
			}
		})
	}
}
