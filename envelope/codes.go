package envelope

import (
	"strconv"
	"strings"
	"sync"
)

// Priority is the urgency of a document (độ khẩn, OtherInfo/Priority), kept
// as the digit that is on the wire.
type Priority string

// The five priorities of the code list.
const (
	// PriorityNormal (0 Thường): not urgent.
	PriorityNormal Priority = "0"
	// PriorityUrgent (1 Khẩn).
	PriorityUrgent Priority = "1"
	// PriorityVeryUrgent (2 Thượng khẩn).
	PriorityVeryUrgent Priority = "2"
	// PriorityFlash (3 Hỏa tốc).
	PriorityFlash Priority = "3"
	// PriorityFlashScheduled (4 Hỏa tốc hẹn giờ): flash, to be delivered at
	// a set time.
	PriorityFlashScheduled Priority = "4"
)

// priorityLabels holds the Vietnamese label of each priority, in order.
var priorityLabels = [...]struct {
	code  Priority
	label string
}{
	{PriorityNormal, "Thường"},
	{PriorityUrgent, "Khẩn"},
	{PriorityVeryUrgent, "Thượng khẩn"},
	{PriorityFlash, "Hỏa tốc"},
	{PriorityFlashScheduled, "Hỏa tốc hẹn giờ"},
}

// Priorities returns the five priorities from the least to the most urgent.
// The slice is new on every call.
func Priorities() []Priority {
	ps := make([]Priority, len(priorityLabels))
	for i, p := range priorityLabels {
		ps[i] = p.code
	}
	return ps
}

// Valid reports whether p is one of the five priorities, written as on the
// wire ("0" … "4").
func (p Priority) Valid() bool { return p.index() >= 0 }

// index returns the position of p in the code list, or -1.
func (p Priority) index() int {
	for i, l := range priorityLabels {
		if l.code == p {
			return i
		}
	}
	return -1
}

// Label returns the Vietnamese label of the priority, such as "Thượng
// khẩn". A value outside the code list gives "Độ khẩn không xác định (x)".
func (p Priority) Label() string {
	if i := p.index(); i >= 0 {
		return priorityLabels[i].label
	}
	return "Độ khẩn không xác định (" + string(p) + ")"
}

// Urgent reports whether the priority is Khẩn or more urgent (1 to 4). Such
// a document must be sent at once and marked as urgent (QĐ 28/2018/QĐ-TTg).
// A value outside the code list is not urgent.
func (p Priority) Urgent() bool { return p.index() >= 1 }

// SteeringType says whether a document is a directive (văn bản chỉ đạo) or
// a report on one (MessageHeader/SteeringType), kept as the digit that is on
// the wire.
type SteeringType string

// The three steering types of the code list.
const (
	// SteeringNone (0): not a directive.
	SteeringNone SteeringType = "0"
	// SteeringDirective (1): a directive (văn bản chỉ đạo).
	SteeringDirective SteeringType = "1"
	// SteeringReport (2): a report on carrying out a directive.
	SteeringReport SteeringType = "2"
)

// steeringLabels holds the Vietnamese label of each steering type, in order.
var steeringLabels = [...]struct {
	code  SteeringType
	label string
}{
	{SteeringNone, "Không phải văn bản chỉ đạo"},
	{SteeringDirective, "Văn bản chỉ đạo"},
	{SteeringReport, "Báo cáo thực hiện chỉ đạo"},
}

// SteeringTypes returns the three steering types in code order. The slice
// is new on every call.
func SteeringTypes() []SteeringType {
	ts := make([]SteeringType, len(steeringLabels))
	for i, s := range steeringLabels {
		ts[i] = s.code
	}
	return ts
}

// index returns the position of t in the code list, or -1.
func (t SteeringType) index() int {
	for i, l := range steeringLabels {
		if l.code == t {
			return i
		}
	}
	return -1
}

// Valid reports whether t is one of the three steering types ("0", "1",
// "2").
func (t SteeringType) Valid() bool { return t.index() >= 0 }

// Label returns the Vietnamese label of the steering type, such as "Văn bản
// chỉ đạo". A value outside the code list gives
// "Loại chỉ đạo không xác định (x)".
func (t SteeringType) Label() string {
	if i := t.index(); i >= 0 {
		return steeringLabels[i].label
	}
	return "Loại chỉ đạo không xác định (" + string(t) + ")"
}

// BussinessDocType says what an edoc does to a document
// (TraceHeaderList/Bussiness/BussinessDocType, spelled with a double s as in
// the regulation): send a new one, or revoke, update or replace the document
// named in Bussiness/DocumentId. It is kept as the digit that is on the wire.
type BussinessDocType string

// The four business document types of the code list.
const (
	// BussinessNew (0): a new document.
	BussinessNew BussinessDocType = "0"
	// BussinessRevoke (1): revoke (thu hồi) the document named in
	// Bussiness/DocumentId.
	BussinessRevoke BussinessDocType = "1"
	// BussinessUpdate (2): update (cập nhật) it, as
	// Bussiness/BussinessDocumentInfo says.
	BussinessUpdate BussinessDocType = "2"
	// BussinessReplace (3): replace (thay thế) it, as
	// Bussiness/ReplacementInfoList says.
	BussinessReplace BussinessDocType = "3"
)

// bussinessLabels holds the Vietnamese label of each business document
// type, in order.
var bussinessLabels = [...]struct {
	code  BussinessDocType
	label string
}{
	{BussinessNew, "Văn bản mới"},
	{BussinessRevoke, "Thu hồi"},
	{BussinessUpdate, "Cập nhật"},
	{BussinessReplace, "Thay thế"},
}

// BussinessDocTypes returns the four business document types in code order.
// The slice is new on every call.
func BussinessDocTypes() []BussinessDocType {
	ts := make([]BussinessDocType, len(bussinessLabels))
	for i, b := range bussinessLabels {
		ts[i] = b.code
	}
	return ts
}

// index returns the position of t in the code list, or -1.
func (t BussinessDocType) index() int {
	for i, l := range bussinessLabels {
		if l.code == t {
			return i
		}
	}
	return -1
}

// Valid reports whether t is one of the four business document types ("0"
// … "3").
func (t BussinessDocType) Valid() bool { return t.index() >= 0 }

// Label returns the Vietnamese label of the business document type, such as
// "Thu hồi". A value outside the code list gives
// "Loại nghiệp vụ không xác định (x)".
func (t BussinessDocType) Label() string {
	if i := t.index(); i >= 0 {
		return bussinessLabels[i].label
	}
	return "Loại nghiệp vụ không xác định (" + string(t) + ")"
}

// DocTable is one of the two tables of document kinds of the 2022
// amendment to QCVN 102:2016. On the wire it is DocumentType/Type when a
// sender follows the amendment; the row is then DocumentType/TypeDetail.
type DocTable int

// The two tables of document kinds.
const (
	// DocTableLegal is table A: legal documents (văn bản quy phạm pháp
	// luật).
	DocTableLegal DocTable = 1
	// DocTableAdmin is table B: administrative documents (văn bản hành
	// chính).
	DocTableAdmin DocTable = 2
)

// Valid reports whether t is table A or table B.
func (t DocTable) Valid() bool { return t == DocTableLegal || t == DocTableAdmin }

// String returns the letter of the table, "A" or "B", or "DocTable(n)" for
// another value.
func (t DocTable) String() string {
	switch t {
	case DocTableLegal:
		return "A"
	case DocTableAdmin:
		return "B"
	}
	return "DocTable(" + strconv.Itoa(int(t)) + ")"
}

// Label returns the Vietnamese label of the table: "Văn bản quy phạm pháp
// luật" or "Văn bản hành chính". Another value gives
// "Bảng loại văn bản không xác định (n)".
func (t DocTable) Label() string {
	switch t {
	case DocTableLegal:
		return "Văn bản quy phạm pháp luật"
	case DocTableAdmin:
		return "Văn bản hành chính"
	}
	return "Bảng loại văn bản không xác định (" + strconv.Itoa(int(t)) + ")"
}

// DocKind is a kind of document (loại văn bản): a row of table A or B.
type DocKind struct {
	Table DocTable // the table: A (legal) or B (administrative)
	Row   int      // the row number in the table, from 1
	Name  string   // the Vietnamese name, such as "Công văn"
	// Inferred is true when the source listing the rows did not show this
	// one: its name comes from the order of the kinds of administrative
	// documents in Nghị định 30/2020/NĐ-CP (rows 10–17 and from 27 in
	// table B).
	Inferred bool
}

// docKindsA is table A, legal documents, in row order.
var docKindsA = []DocKind{
	{DocTableLegal, 1, "Hiến pháp", false},
	{DocTableLegal, 2, "Luật", false},
	{DocTableLegal, 3, "Pháp lệnh", false},
	{DocTableLegal, 4, "Lệnh", false},
	{DocTableLegal, 5, "Nghị quyết", false},
	{DocTableLegal, 6, "Nghị quyết liên tịch", false},
	{DocTableLegal, 7, "Nghị định", false},
	{DocTableLegal, 8, "Quyết định", false},
	{DocTableLegal, 9, "Thông tư", false},
	{DocTableLegal, 10, "Thông tư liên tịch", false},
	{DocTableLegal, 11, "Chỉ thị", false},
	{DocTableLegal, 12, "Bộ luật", false},
	{DocTableLegal, 13, "Văn bản quy phạm pháp luật của đơn vị hành chính – kinh tế đặc biệt", false},
}

// docKindsB is table B, administrative documents, in row order.
var docKindsB = []DocKind{
	{DocTableAdmin, 1, "Nghị quyết (cá biệt)", false},
	{DocTableAdmin, 2, "Quyết định (cá biệt)", false},
	{DocTableAdmin, 3, "Chỉ thị", false},
	{DocTableAdmin, 4, "Quy chế", false},
	{DocTableAdmin, 5, "Quy định", false},
	{DocTableAdmin, 6, "Thông cáo", false},
	{DocTableAdmin, 7, "Thông báo", false},
	{DocTableAdmin, 8, "Hướng dẫn", false},
	{DocTableAdmin, 9, "Chương trình", false},
	{DocTableAdmin, 10, "Kế hoạch", true},
	{DocTableAdmin, 11, "Phương án", true},
	{DocTableAdmin, 12, "Đề án", true},
	{DocTableAdmin, 13, "Dự án", true},
	{DocTableAdmin, 14, "Báo cáo", true},
	{DocTableAdmin, 15, "Biên bản", true},
	{DocTableAdmin, 16, "Tờ trình", true},
	{DocTableAdmin, 17, "Hợp đồng", true},
	{DocTableAdmin, 18, "Công văn", false},
	{DocTableAdmin, 19, "Công điện", false},
	{DocTableAdmin, 20, "Bản ghi nhớ", false},
	{DocTableAdmin, 21, "Bản cam kết", false},
	{DocTableAdmin, 22, "Bản thỏa thuận", false},
	{DocTableAdmin, 23, "Giấy chứng nhận", false},
	{DocTableAdmin, 24, "Giấy ủy quyền", false},
	{DocTableAdmin, 25, "Giấy mời", false},
	{DocTableAdmin, 26, "Giấy giới thiệu", false},
	{DocTableAdmin, 27, "Giấy nghỉ phép", true},
	{DocTableAdmin, 28, "Phiếu gửi", true},
	{DocTableAdmin, 29, "Phiếu chuyển", true},
	{DocTableAdmin, 30, "Phiếu báo", true},
	{DocTableAdmin, 31, "Thư công", true},
}

// docKindTable returns the rows of table t, or nil.
func docKindTable(t DocTable) []DocKind {
	switch t {
	case DocTableLegal:
		return docKindsA
	case DocTableAdmin:
		return docKindsB
	}
	return nil
}

// DocKinds returns the rows of table t in row order, or nil for a value
// that is not a table. The slice is new on every call.
func DocKinds(t DocTable) []DocKind {
	rows := docKindTable(t)
	if rows == nil {
		return nil
	}
	return append([]DocKind(nil), rows...)
}

// LookupDocKind returns row row of table t, and whether there is one.
func LookupDocKind(t DocTable, row int) (DocKind, bool) {
	rows := docKindTable(t)
	if row < 1 || row > len(rows) {
		return DocKind{}, false
	}
	return rows[row-1], true
}

// DocKindByName returns the document kind with the given name, as senders
// write it in DocumentType/TypeName, and whether there is one.
//
// The comparison ignores case, spaces around the name and runs of spaces
// inside it, the kind of dash ("-", "–", "—"), and where the tone mark sits
// in oa, oe and uy ("thoả thuận" and "thỏa thuận", "uỷ quyền" and "ủy
// quyền"). Letters must be in precomposed (NFC) form, as Vietnamese text
// usually is.
//
// Three names are in both tables: Nghị quyết, Quyết định and Chỉ thị. A
// trailing " (cá biệt)" (or " cá biệt") picks table B; a trailing
// " (quy phạm pháp luật)", " quy phạm pháp luật", " (QPPL)" or " QPPL"
// picks table A. Without such a qualifier table B is chosen, since
// administrative documents are by far the most exchanged: "Quyết định" is
// row 2 of table B, "Quyết định quy phạm pháp luật" row 8 of table A. A
// qualifier naming a table that has no such row finds nothing ("Công văn
// QPPL").
func DocKindByName(name string) (DocKind, bool) {
	key, want := splitQualifier(normalizeKindName(name))
	if key == "" {
		return DocKind{}, false
	}
	var found DocKind
	ok := false
	for _, k := range docKindsByName()[key] {
		switch {
		case k.Table == want:
			return k, true
		case want == 0 && (!ok || k.Table == DocTableAdmin):
			found, ok = k, true
		}
	}
	return found, ok
}

// docKindsByName indexes both tables by normalized name, without the
// " (cá biệt)" qualifier of table B's rows 1 and 2. It is made at the
// first look-up, not when the package loads: normalizing the names has
// kindNameFolder build its replacer.
var docKindsByName = sync.OnceValue(func() map[string][]DocKind {
	m := make(map[string][]DocKind)
	for _, rows := range [][]DocKind{docKindsA, docKindsB} {
		for _, k := range rows {
			key, _ := splitQualifier(normalizeKindName(k.Name))
			m[key] = append(m[key], k)
		}
	}
	return m
})

// kindQualifiers are the trailing qualifiers of a normalized name that pick
// a table.
var kindQualifiers = []struct {
	suffix string
	table  DocTable
}{
	{" (cá biệt)", DocTableAdmin},
	{" cá biệt", DocTableAdmin},
	{" (quy phạm pháp luật)", DocTableLegal},
	{" quy phạm pháp luật", DocTableLegal},
	{" (qppl)", DocTableLegal},
	{" qppl", DocTableLegal},
}

// splitQualifier removes a trailing table qualifier from a normalized name
// and returns the table it picks, or 0 if there is none.
func splitQualifier(name string) (string, DocTable) {
	for _, q := range kindQualifiers {
		if base, ok := strings.CutSuffix(name, q.suffix); ok {
			return base, q.table
		}
	}
	return name, 0
}

// kindNameFolder maps dashes to one form and moves the tone mark of oa, oe
// and uy to the first vowel ("oả" → "ỏa"), so both placements compare
// equal.
var kindNameFolder = strings.NewReplacer(
	"–", " - ", "—", " - ", "‐", " - ", "-", " - ",
	"oà", "òa", "oá", "óa", "oả", "ỏa", "oã", "õa", "oạ", "ọa",
	"oè", "òe", "oé", "óe", "oẻ", "ỏe", "oẽ", "õe", "oẹ", "ọe",
	"uỳ", "ùy", "uý", "úy", "uỷ", "ủy", "uỹ", "ũy", "uỵ", "ụy",
)

// normalizeKindName lowers the case of a document kind's name, folds its
// dashes and tone-mark placement, and collapses its spaces.
func normalizeKindName(name string) string {
	s := kindNameFolder.Replace(strings.ToLower(name))
	return strings.Join(strings.Fields(s), " ")
}
