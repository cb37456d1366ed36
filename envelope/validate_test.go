package envelope_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// validEdoc returns a new edoc that passes [envelope.Validate] under
// [envelope.ProfileSend()]: Văn phòng Chính phủ sends a công văn to two
// provincial People's Committees, with two attachments and a new-document
// Bussiness. Every call returns a fresh packet that the caller may change.
func validEdoc(t testing.TB) *envelope.Packet {
	t.Helper()
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From: envelope.Organization{
				OrganID:              "000.00.00.G22",
				OrganizationInCharge: "Văn phòng Chính phủ",
				OrganName:            "Văn phòng Chính phủ",
				OrganAdd:             "Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội",
				Email:                "vanthu@chinhphu.vn",
				Telephone:            "(024) 3823 3288",
				Fax:                  "(024) 3823 4567",
				Website:              "chinhphu.vn",
			},
			To: []envelope.Organization{
				{
					OrganID:              "000.00.00.H41",
					OrganizationInCharge: "Ủy ban nhân dân tỉnh Nghệ An",
					OrganName:            "UBND tỉnh Nghệ An",
					OrganAdd:             "Số 3 đường Trường Thi, TP. Vinh, Nghệ An",
					Email:                "vanthu@nghean.gov.vn",
					Telephone:            "0238 3844 788",
					Website:              "nghean.gov.vn",
				},
				{
					OrganID:   "H29",
					OrganName: "UBND Thành phố Hồ Chí Minh",
					OrganAdd:  "86 Lê Thánh Tôn, Bến Nghé, Quận 1",
					Email:     "vanthu@tphcm.gov.vn",
				},
			},
			Code:         envelope.Code{Number: "7816", Notation: "VPCP-TTĐT"},
			Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: "2025/11/20"},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      "V/v kết nối, liên thông phần mềm quản lý văn bản điện tử",
			Content:      "Văn phòng Chính phủ đề nghị các địa phương hoàn thành kết nối trước ngày 31/12.",
			SignerInfo: envelope.SignerInfo{
				Competence: "KT. BỘ TRƯỞNG, CHỦ NHIỆM",
				Position:   "Phó Chủ nhiệm",
				FullName:   "Nguyễn Văn Ánh",
			},
			DueDate:  "2025/12/31",
			ToPlaces: []string{"Như trên;", "Lưu: VT, TTĐT (2b)."},
			OtherInfo: envelope.OtherInfo{
				Priority:             envelope.PriorityUrgent,
				SphereOfPromulgation: "Liên thông văn bản quốc gia",
				TyperNotation:        "TVC",
				PromulgationAmount:   "2",
				PageAmount:           "3",
				Appendixes:           []string{"Phụ lục I: Danh sách đơn vị"},
			},
			ResponseFor: []envelope.ResponseFor{{
				OrganID:          "000.00.00.H41",
				Code:             "1234/UBND-VX",
				PromulgationDate: "2025/11/01",
				DocumentID:       "000.00.00.H41,2025/11/01,1234/UBND-VX",
			}},
			SteeringType: envelope.SteeringNone,
		},
		Trace: []envelope.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: "2025/11/20 09:30:00"}},
		Bussiness: &envelope.Bussiness{
			BussinessDocType:   envelope.BussinessNew,
			BussinessDocReason: "Văn bản điện tử mới",
			Paper:              "0",
			StaffInfo: []envelope.StaffInfo{{
				Department: "Văn thư",
				Staff:      "Trần Thị Bình",
				Mobile:     "0912345678",
				Email:      "binhtt@chinhphu.vn",
			}},
		},
	}
	e.AddAttachment(envelope.Attachment{
		Name:        "Công văn 7816.pdf",
		Description: "Công văn số 7816/VPCP-TTĐT",
		ContentType: "application/pdf",
		Data:        []byte("%PDF-1.7\n% văn bản\n"),
	})
	e.AddAttachment(envelope.Attachment{
		Name:        "Phụ lục I.docx",
		Description: "Phụ lục kèm theo",
		ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		Data:        []byte("PK\x03\x04 phụ lục"),
	})
	syncDocumentID(&envelope.Packet{Edoc: e})
	p := &envelope.Packet{Edoc: e}
	if err := envelope.Validate(p, envelope.ProfileSend()); err != nil {
		t.Fatalf("validEdoc: Validate(send) = %v", err)
	}
	return p
}

// validStatus returns a new status packet that passes [envelope.Validate]
// under [envelope.ProfileSend()]: UBND tỉnh Nghệ An reports 03 Đã tiếp nhận
// for the document of [validEdoc].
func validStatus(t testing.TB) *envelope.Packet {
	t.Helper()
	p := &envelope.Packet{Status: &envelope.Status{
		From: envelope.Organization{
			OrganID:              "000.00.00.H41",
			OrganizationInCharge: "Ủy ban nhân dân tỉnh Nghệ An",
			OrganName:            "UBND tỉnh Nghệ An",
			OrganAdd:             "Số 3 đường Trường Thi, TP. Vinh, Nghệ An",
			Email:                "vanthu@nghean.gov.vn",
			Telephone:            "0238 3844 788",
			Fax:                  "0238 3844 789",
			Website:              "nghean.gov.vn",
		},
		ResponseFor: envelope.ResponseFor{
			OrganID:          "000.00.00.G22",
			Code:             "7816/VPCP-TTĐT",
			PromulgationDate: "2025/11/20",
			DocumentID:       "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT",
		},
		StaffInfo: envelope.StaffInfo{
			Department: "Văn phòng UBND tỉnh",
			Staff:      "Lê Thị Hồng Nhung",
			Mobile:     "0987654321",
			Email:      "nhunglth@nghean.gov.vn",
		},
		StatusCode:  envelope.StatusAccepted,
		Description: "Đã vào sổ văn bản đến số 1520",
		Timestamp:   "2025/11/20 10:15:00",
	}}
	if err := envelope.Validate(p, envelope.ProfileSend()); err != nil {
		t.Fatalf("validStatus: Validate(send) = %v", err)
	}
	return p
}

// syncDocumentID rewrites an edoc's DocumentId from its From OrganId,
// promulgation date and code, so that a change to one of those tests only
// the rule it is about.
func syncDocumentID(p *envelope.Packet) {
	h := &p.Edoc.Header
	h.DocumentID = envelope.MakeDocumentID(h.From.OrganID, h.Promulgation.Date, h.Code)
}

// vnText returns n characters of Vietnamese text, each three bytes long in
// UTF-8, so that a limit counted in bytes would fail at n.
func vnText(n int) string { return strings.Repeat("ệ", n) }

// vnEmail returns an e-mail address of n characters with a Vietnamese local
// part.
func vnEmail(n int) string {
	const domain = "@gov.vn"
	return vnText(n-len(domain)) + domain
}

// validationCodes are the kinds of validation error and their Code strings,
// as documented on [envelope.ValidationError].
var validationCodes = map[error]string{
	envelope.ErrRequired:           "required",
	envelope.ErrTooLong:            "too_long",
	envelope.ErrBadFormat:          "bad_format",
	envelope.ErrBadCode:            "bad_code",
	envelope.ErrBadAgencyCode:      "bad_agency_code",
	envelope.ErrDuplicateRecipient: "duplicate_recipient",
	envelope.ErrDocumentID:         "document_id",
	envelope.ErrInconsistent:       "inconsistent",
}

// validateCase is one mutation of a valid packet and what Validate must say
// about it.
type validateCase struct {
	name string
	// prof is the profile; the zero Profile means envelope.ProfileSend().
	prof   envelope.Profile
	mutate func(p *envelope.Packet)
	// wantPath and wantErr name the error Validate must report; wantErr nil
	// means the packet must pass.
	wantPath string
	wantErr  error
	// more allows other errors beside the wanted one; without it the wanted
	// error must be the only one.
	more bool
}

func runValidateCases(t *testing.T, base func(testing.TB) *envelope.Packet, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base(t)
			if tc.mutate != nil {
				tc.mutate(p)
			}
			prof := tc.prof
			if prof.Name == "" {
				prof = envelope.ProfileSend()
			}
			err := envelope.Validate(p, prof)
			checkValidation(t, err, tc.wantPath, tc.wantErr, tc.more)
		})
	}
}

// checkValidation checks that err is nil when wantErr is nil, and otherwise
// a ValidationErrors holding a well-formed error of kind wantErr at wantPath
// (the only error unless more).
func checkValidation(t *testing.T, err error, wantPath string, wantErr error, more bool) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatalf("Validate = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Validate = nil, want %s at %s", validationCodes[wantErr], wantPath)
	}
	var es envelope.ValidationErrors
	if !errors.As(err, &es) {
		t.Fatalf("Validate = %T %v, want envelope.ValidationErrors", err, err)
	}
	if !errors.Is(err, wantErr) {
		t.Errorf("errors.Is(err, %v) = false; err = %v", wantErr, err)
	}
	checkWellFormed(t, es)
	var found *envelope.ValidationError
	for _, e := range es {
		if e.Path == wantPath && errors.Is(e, wantErr) {
			found = e
			break
		}
	}
	if found == nil {
		t.Fatalf("Validate = %v\nwant a %s error at %s", err, validationCodes[wantErr], wantPath)
	}
	if got, want := found.Code, validationCodes[wantErr]; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if !more && len(es) != 1 {
		t.Errorf("Validate found %d errors, want only %s at %s: %v", len(es), validationCodes[wantErr], wantPath, err)
	}
}

// checkWellFormed checks what every ValidationError must have: a path,
// messages in both languages, and exactly one kind whose Code it carries.
func checkWellFormed(t *testing.T, es envelope.ValidationErrors) {
	t.Helper()
	if len(es) == 0 {
		t.Errorf("empty ValidationErrors returned as an error")
	}
	for _, e := range es {
		if e == nil {
			t.Errorf("nil *ValidationError in %v", es)
			continue
		}
		if e.Path == "" || e.MessageVI == "" || e.MessageEN == "" {
			t.Errorf("%+v: want Path, MessageVI and MessageEN set", *e)
		}
		var kinds []string
		for kind, code := range validationCodes {
			if errors.Is(e, kind) {
				kinds = append(kinds, code)
			}
		}
		if len(kinds) != 1 || kinds[0] != e.Code {
			t.Errorf("%s: Code %q, unwraps to kinds %v; want exactly the kind of its Code", e.Path, e.Code, kinds)
		}
		if got, want := e.Error(), e.Path+": "+e.MessageEN; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}

func TestValidate_ValidPackets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(testing.TB) *envelope.Packet
	}{
		{"edoc", validEdoc},
		{"status", validStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.build(t)
			for _, prof := range []envelope.Profile{envelope.ProfileSend(), envelope.ProfileReceive()} {
				if err := envelope.Validate(p, prof); err != nil {
					t.Errorf("Validate(%s) = %v, want nil", prof.Name, err)
				}
			}
			b, err := envelope.Encode(p)
			if err != nil {
				t.Fatalf("Encode = %v", err)
			}
			if len(b) == 0 {
				t.Fatal("Encode returned no bytes")
			}
			back, _, err := envelope.Parse(b)
			if err != nil {
				t.Fatalf("Parse(Encode(p)) = %v", err)
			}
			if err := envelope.Validate(back, envelope.ProfileSend()); err != nil {
				t.Errorf("Validate(send) of the re-parsed packet = %v, want nil", err)
			}
		})
	}
}

func TestValidate_ValidEdocShape(t *testing.T) {
	// Other tests rely on these features of the helper.
	p := validEdoc(t)
	e := p.Edoc
	if got, want := len(e.Header.To), 2; got != want {
		t.Errorf("len(To) = %d, want %d", got, want)
	}
	if got, want := e.Bussiness.BussinessDocType, envelope.BussinessNew; got != want {
		t.Errorf("BussinessDocType = %q, want %q", got, want)
	}
	if got, want := len(e.Attachments), 2; got != want {
		t.Fatalf("len(Attachments) = %d, want %d", got, want)
	}
	if got, want := len(e.Manifest), 2; got != want {
		t.Fatalf("len(Manifest) = %d, want %d", got, want)
	}
	for i, a := range e.Attachments {
		if got, want := a.ContentID, "cid:"+strconv.Itoa(i+1); got != want {
			t.Errorf("Attachment[%d].ContentID = %q, want %q", i+1, got, want)
		}
		if got, want := e.Manifest[i].ContentID, a.ContentID; got != want {
			t.Errorf("Reference[%d].ContentID = %q, want %q", i+1, got, want)
		}
	}
	if got, want := e.Header.DocumentID, "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"; got != want {
		t.Errorf("DocumentID = %q, want %q", got, want)
	}
	if validEdoc(t) == p || validEdoc(t).Edoc == e {
		t.Error("validEdoc returned a shared packet")
	}
}

func TestValidate_NilAndEmptyPackets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       *envelope.Packet
		wantErr error
	}{
		{"nil packet", nil, envelope.ErrRequired},
		{"neither edoc nor status", &envelope.Packet{}, envelope.ErrRequired},
		{"both edoc and status", &envelope.Packet{Edoc: validEdoc(t).Edoc, Status: validStatus(t).Status}, envelope.ErrInconsistent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, prof := range []envelope.Profile{envelope.ProfileSend(), envelope.ProfileReceive()} {
				checkValidation(t, envelope.Validate(tc.p, prof), "edXMLHeader/MessageHeader", tc.wantErr, false)
			}
			if _, err := envelope.Encode(tc.p); !errors.Is(err, tc.wantErr) {
				t.Errorf("Encode = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestValidate_EdocRequired(t *testing.T) {
	runValidateCases(t, validEdoc, []validateCase{
		{
			name:     "From/OrganId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.OrganID = ""; syncDocumentID(p) },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "From/OrganName empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.OrganName = "" },
			wantPath: "MessageHeader/From/OrganName", wantErr: envelope.ErrRequired,
		},
		{
			name:     "To/OrganName empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganName = "" },
			wantPath: "MessageHeader/To[2]/OrganName", wantErr: envelope.ErrRequired,
		},
		{
			name:     "To missing",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To = nil },
			wantPath: "MessageHeader/To", wantErr: envelope.ErrRequired,
		},
		{
			name:     "To empty slice",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To = []envelope.Organization{} },
			wantPath: "MessageHeader/To", wantErr: envelope.ErrRequired,
		},
		{
			name:     "To/OrganId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = "" },
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "CodeNumber empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Code.Number = ""; syncDocumentID(p) },
			wantPath: "MessageHeader/Code/CodeNumber", wantErr: envelope.ErrRequired,
		},
		{
			name:     "CodeNotation empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Code.Notation = ""; syncDocumentID(p) },
			wantPath: "MessageHeader/Code/CodeNotation", wantErr: envelope.ErrRequired,
		},
		{
			name:     "PromulgationDate empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = ""; syncDocumentID(p) },
			wantPath: "MessageHeader/PromulgationInfo/PromulgationDate", wantErr: envelope.ErrRequired,
		},
		{
			name:     "PromulgationInfo/Place empty is fine",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Place = "" },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "DocumentType/Type empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.Type = "" },
			wantPath: "MessageHeader/DocumentType/Type", wantErr: envelope.ErrRequired,
		},
		{
			name:     "DocumentType TypeDetail and TypeName empty are fine",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType = envelope.DocumentType{Type: "1"} },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "Subject empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Subject = "" },
			wantPath: "MessageHeader/Subject", wantErr: envelope.ErrRequired,
		},
		{
			name:     "DocumentId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name: "optional elements all empty are fine",
			mutate: func(p *envelope.Packet) {
				h := &p.Edoc.Header
				h.Content = ""
				h.SignerInfo = envelope.SignerInfo{}
				h.DueDate = ""
				h.ToPlaces = nil
				h.OtherInfo = envelope.OtherInfo{}
				h.ResponseFor = nil
				h.SteeringType = ""
				p.Edoc.Trace = nil
				for i := range h.To {
					h.To[i] = envelope.Organization{OrganID: h.To[i].OrganID, OrganName: h.To[i].OrganName}
				}
				h.From = envelope.Organization{OrganID: h.From.OrganID, OrganName: h.From.OrganName}
			},
			wantPath: "", wantErr: nil,
		},
		{
			name:     "ResponseFor/OrganId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.ResponseFor[0].OrganID = "" },
			wantPath: "MessageHeader/ResponseFor[1]/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name: "ResponseFor/DocumentId empty",
			mutate: func(p *envelope.Packet) {
				h := &p.Edoc.Header
				h.ResponseFor = append(h.ResponseFor, envelope.ResponseFor{OrganID: "000.00.00.H29"})
			},
			wantPath: "MessageHeader/ResponseFor[2]/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "TraceHeader/OrganId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].OrganID = "" },
			wantPath: "TraceHeaderList/TraceHeader[1]/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "TraceHeader/Timestamp empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].Timestamp = "" },
			wantPath: "TraceHeaderList/TraceHeader[1]/Timestamp", wantErr: envelope.ErrRequired,
		},
		{
			name: "second TraceHeader/Timestamp empty",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Trace = append(p.Edoc.Trace, envelope.TraceHeader{OrganID: "000.00.00.H41"})
			},
			wantPath: "TraceHeaderList/TraceHeader[2]/Timestamp", wantErr: envelope.ErrRequired,
		},
		{
			name:     "Bussiness missing",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness = nil },
			wantPath: "TraceHeaderList/Bussiness", wantErr: envelope.ErrRequired,
		},
		{
			name:     "BussinessDocType empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.BussinessDocType = "" },
			wantPath: "TraceHeaderList/Bussiness/BussinessDocType", wantErr: envelope.ErrRequired,
		},
		{
			name:     "Paper empty is fine",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.Paper = "" },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "Attachment/ContentId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Attachments[1].ContentID = ""; p.Edoc.Manifest = p.Edoc.Manifest[:1] },
			wantPath: "AttachmentEncoded/Attachment[2]/ContentId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "Attachment/AttachmentName empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Attachments[0].Name = "" },
			wantPath: "AttachmentEncoded/Attachment[1]/AttachmentName", wantErr: envelope.ErrRequired,
		},
		{
			name:     "Reference/ContentId empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Manifest[1].ContentID = "" },
			wantPath: "edXMLBody/edXMLManifest/Reference[2]/ContentId", wantErr: envelope.ErrRequired,
			more: true, // and the second attachment is then not in the manifest
		},
		{
			name:     "no attachments at all is fine",
			mutate:   func(p *envelope.Packet) { p.Edoc.Attachments = nil; p.Edoc.Manifest = nil },
			wantPath: "", wantErr: nil,
		},
	})
}

func TestValidate_StatusRequired(t *testing.T) {
	runValidateCases(t, validStatus, []validateCase{
		{
			name:     "From/OrganId empty",
			mutate:   func(p *envelope.Packet) { p.Status.From.OrganID = "" },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "From/OrganName empty",
			mutate:   func(p *envelope.Packet) { p.Status.From.OrganName = "" },
			wantPath: "MessageHeader/From/OrganName", wantErr: envelope.ErrRequired,
		},
		{
			name:     "ResponseFor/OrganId empty",
			mutate:   func(p *envelope.Packet) { p.Status.ResponseFor.OrganID = "" },
			wantPath: "MessageHeader/ResponseFor/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "ResponseFor/DocumentId empty",
			mutate:   func(p *envelope.Packet) { p.Status.ResponseFor.DocumentID = "" },
			wantPath: "MessageHeader/ResponseFor/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name: "ResponseFor Code and PromulgationDate empty are fine",
			mutate: func(p *envelope.Packet) {
				p.Status.ResponseFor.Code = ""
				p.Status.ResponseFor.PromulgationDate = ""
			},
			wantPath: "", wantErr: nil,
		},
		{
			name:     "StatusCode empty",
			mutate:   func(p *envelope.Packet) { p.Status.StatusCode = "" },
			wantPath: "MessageHeader/StatusCode", wantErr: envelope.ErrRequired,
		},
		{
			name:     "Timestamp empty",
			mutate:   func(p *envelope.Packet) { p.Status.Timestamp = "" },
			wantPath: "MessageHeader/Timestamp", wantErr: envelope.ErrRequired,
		},
		{
			name:     "StaffInfo empty is fine",
			mutate:   func(p *envelope.Packet) { p.Status.StaffInfo = envelope.StaffInfo{} },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "Description empty for 03 is fine",
			mutate:   func(p *envelope.Packet) { p.Status.Description = "" },
			wantPath: "", wantErr: nil,
		},
		{
			name: "Description empty for 02 Từ chối tiếp nhận",
			mutate: func(p *envelope.Packet) {
				p.Status.StatusCode = envelope.StatusRejected
				p.Status.Description = ""
			},
			wantPath: "MessageHeader/Description", wantErr: envelope.ErrRequired,
		},
		{
			name: "Description given for 02",
			mutate: func(p *envelope.Packet) {
				p.Status.StatusCode = envelope.StatusRejected
				p.Status.Description = "Văn bản gửi nhầm đơn vị"
			},
			wantPath: "", wantErr: nil,
		},
		{
			name: "Description empty for 13 Yêu cầu lấy lại",
			mutate: func(p *envelope.Packet) {
				p.Status.StatusCode = envelope.StatusRecallRequested
				p.Status.Description = ""
			},
			wantPath: "MessageHeader/Description", wantErr: envelope.ErrRequired,
		},
		{
			name: "Description empty for 16 is fine",
			mutate: func(p *envelope.Packet) {
				p.Status.StatusCode = envelope.StatusRecallRefused
				p.Status.Description = ""
			},
			wantPath: "", wantErr: nil,
		},
	})
}

func TestValidate_StatusCodes(t *testing.T) {
	// Every code of the list passes, with a Description where one is
	// required.
	for _, code := range envelope.StatusCodes() {
		p := validStatus(t)
		p.Status.StatusCode = code
		if err := envelope.Validate(p, envelope.ProfileSend()); err != nil {
			t.Errorf("StatusCode %s: Validate(send) = %v, want nil", code, err)
		}
	}
	runValidateCases(t, validStatus, []validateCase{
		{
			name:     "07",
			mutate:   func(p *envelope.Packet) { p.Status.StatusCode = "07" },
			wantPath: "MessageHeader/StatusCode", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "single digit 3",
			mutate:   func(p *envelope.Packet) { p.Status.StatusCode = "3" },
			wantPath: "MessageHeader/StatusCode", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "14",
			mutate:   func(p *envelope.Packet) { p.Status.StatusCode = "14" },
			wantPath: "MessageHeader/StatusCode", wantErr: envelope.ErrBadCode,
		},
	})
}

// lengthField is a text field with a length limit.
type lengthField struct {
	path  string
	max   int
	set   func(p *envelope.Packet, v string)
	value func(n int) string // nil: vnText
}

func TestValidate_Lengths(t *testing.T) {
	edocFields := []lengthField{
		{"MessageHeader/From/OrganName", 200, func(p *envelope.Packet, v string) { p.Edoc.Header.From.OrganName = v }, nil},
		{"MessageHeader/To[2]/OrganName", 200, func(p *envelope.Packet, v string) { p.Edoc.Header.To[1].OrganName = v }, nil},
		{"MessageHeader/From/OrganAdd", 500, func(p *envelope.Packet, v string) { p.Edoc.Header.From.OrganAdd = v }, nil},
		{"MessageHeader/To[2]/OrganAdd", 500, func(p *envelope.Packet, v string) { p.Edoc.Header.To[1].OrganAdd = v }, nil},
		{"MessageHeader/From/OrganizationInCharge", 500, func(p *envelope.Packet, v string) { p.Edoc.Header.From.OrganizationInCharge = v }, nil},
		{"MessageHeader/From/Email", 100, func(p *envelope.Packet, v string) { p.Edoc.Header.From.Email = v }, vnEmail},
		{"MessageHeader/To[1]/Email", 100, func(p *envelope.Packet, v string) { p.Edoc.Header.To[0].Email = v }, vnEmail},
		{"MessageHeader/From/Telephone", 20, func(p *envelope.Packet, v string) { p.Edoc.Header.From.Telephone = v }, nil},
		{"MessageHeader/To[1]/Telephone", 20, func(p *envelope.Packet, v string) { p.Edoc.Header.To[0].Telephone = v }, nil},
		{"MessageHeader/From/Fax", 20, func(p *envelope.Packet, v string) { p.Edoc.Header.From.Fax = v }, nil},
		{"MessageHeader/Code/CodeNumber", 11, func(p *envelope.Packet, v string) { p.Edoc.Header.Code.Number = v; syncDocumentID(p) }, nil},
		{"MessageHeader/Code/CodeNotation", 30, func(p *envelope.Packet, v string) { p.Edoc.Header.Code.Notation = v; syncDocumentID(p) }, nil},
		{"MessageHeader/PromulgationInfo/Place", 50, func(p *envelope.Packet, v string) { p.Edoc.Header.Promulgation.Place = v }, nil},
		{"MessageHeader/DocumentType/TypeName", 100, func(p *envelope.Packet, v string) { p.Edoc.Header.DocumentType.TypeName = v }, nil},
		{"MessageHeader/Subject", 500, func(p *envelope.Packet, v string) { p.Edoc.Header.Subject = v }, nil},
		{"MessageHeader/Content", 500, func(p *envelope.Packet, v string) { p.Edoc.Header.Content = v }, nil},
		{"MessageHeader/ToPlaces/Place[2]", 150, func(p *envelope.Packet, v string) { p.Edoc.Header.ToPlaces[1] = v }, nil},
		{"MessageHeader/OtherInfo/SphereOfPromulgation", 100, func(p *envelope.Packet, v string) { p.Edoc.Header.OtherInfo.SphereOfPromulgation = v }, nil},
		{"MessageHeader/OtherInfo/TyperNotation", 10, func(p *envelope.Packet, v string) { p.Edoc.Header.OtherInfo.TyperNotation = v }, nil},
		{"MessageHeader/ResponseFor[1]/Code", 42, func(p *envelope.Packet, v string) { p.Edoc.Header.ResponseFor[0].Code = v }, nil},
		{"TraceHeaderList/Bussiness/StaffInfo[1]/Mobile", 20, func(p *envelope.Packet, v string) { p.Edoc.Bussiness.StaffInfo[0].Mobile = v }, nil},
		{"TraceHeaderList/Bussiness/StaffInfo[1]/Email", 100, func(p *envelope.Packet, v string) { p.Edoc.Bussiness.StaffInfo[0].Email = v }, vnEmail},
	}
	statusFields := []lengthField{
		{"MessageHeader/From/OrganName", 200, func(p *envelope.Packet, v string) { p.Status.From.OrganName = v }, nil},
		{"MessageHeader/From/OrganAdd", 500, func(p *envelope.Packet, v string) { p.Status.From.OrganAdd = v }, nil},
		{"MessageHeader/From/Email", 100, func(p *envelope.Packet, v string) { p.Status.From.Email = v }, vnEmail},
		{"MessageHeader/ResponseFor/Code", 42, func(p *envelope.Packet, v string) { p.Status.ResponseFor.Code = v }, nil},
		{"MessageHeader/StaffInfo/Mobile", 20, func(p *envelope.Packet, v string) { p.Status.StaffInfo.Mobile = v }, nil},
		{"MessageHeader/StaffInfo/Email", 100, func(p *envelope.Packet, v string) { p.Status.StaffInfo.Email = v }, vnEmail},
	}
	for _, group := range []struct {
		kind   string
		base   func(testing.TB) *envelope.Packet
		fields []lengthField
	}{
		{"edoc", validEdoc, edocFields},
		{"status", validStatus, statusFields},
	} {
		t.Run(group.kind, func(t *testing.T) {
			var cases []validateCase
			for _, f := range group.fields {
				value := f.value
				if value == nil {
					value = vnText
				}
				atMax, overMax := value(f.max), value(f.max+1)
				if got, want := len([]rune(atMax)), f.max; got != want {
					t.Fatalf("%s: test value has %d characters, want %d", f.path, got, want)
				}
				if len(atMax) <= f.max {
					t.Fatalf("%s: test value has %d bytes; it must be longer in bytes than in characters", f.path, len(atMax))
				}
				set := f.set
				cases = append(cases,
					validateCase{
						name:   f.path + " at the limit",
						mutate: func(p *envelope.Packet) { set(p, atMax) },
					},
					validateCase{
						name:     f.path + " one over",
						mutate:   func(p *envelope.Packet) { set(p, overMax) },
						wantPath: f.path, wantErr: envelope.ErrTooLong,
					},
					validateCase{
						name:   f.path + " one over, receive",
						prof:   envelope.ProfileReceive(),
						mutate: func(p *envelope.Packet) { set(p, overMax) },
					},
				)
			}
			runValidateCases(t, group.base, cases)
		})
	}
}

func TestValidate_LengthMessages(t *testing.T) {
	p := validEdoc(t)
	p.Edoc.Header.Subject = vnText(501)
	es, ok := envelope.IsValidationError(envelope.Validate(p, envelope.ProfileSend()))
	if !ok || len(es) != 1 {
		t.Fatalf("Validate = %v, want one error", es)
	}
	for _, msg := range []string{es[0].MessageVI, es[0].MessageEN} {
		if !strings.Contains(msg, "501") || !strings.Contains(msg, "500") {
			t.Errorf("message %q should give the length (501) and the limit (500)", msg)
		}
	}
}

func TestValidate_Formats(t *testing.T) {
	runValidateCases(t, validEdoc, []validateCase{
		{
			name:     "PromulgationDate with dashes",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "2025-11-20"; syncDocumentID(p) },
			wantPath: "MessageHeader/PromulgationInfo/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PromulgationDate 30 February",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "2014/02/30"; syncDocumentID(p) },
			wantPath: "MessageHeader/PromulgationInfo/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PromulgationDate without leading zeros",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "2025/1/2"; syncDocumentID(p) },
			wantPath: "MessageHeader/PromulgationInfo/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PromulgationDate dd/MM/yyyy",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "20/11/2025"; syncDocumentID(p) },
			wantPath: "MessageHeader/PromulgationInfo/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PromulgationDate with a time",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "2025/11/20 09:30:00"; syncDocumentID(p) },
			wantPath: "MessageHeader/PromulgationInfo/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PromulgationDate 29 February of a leap year",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "2024/02/29"; syncDocumentID(p) },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "DueDate month 13",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DueDate = "2025/13/01" },
			wantPath: "MessageHeader/DueDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "ResponseFor/PromulgationDate with dashes",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.ResponseFor[0].PromulgationDate = "2025-11-01" },
			wantPath: "MessageHeader/ResponseFor[1]/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "TraceHeader/Timestamp ISO 8601",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].Timestamp = "2025-11-20T09:30:00+07:00" },
			wantPath: "TraceHeaderList/TraceHeader[1]/Timestamp", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "TraceHeader/Timestamp without seconds",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].Timestamp = "2025/11/20 09:30" },
			wantPath: "TraceHeaderList/TraceHeader[1]/Timestamp", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "TraceHeader/Timestamp hour 24",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].Timestamp = "2025/11/20 24:00:00" },
			wantPath: "TraceHeaderList/TraceHeader[1]/Timestamp", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "TraceHeader/Timestamp date only",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].Timestamp = "2025/11/20" },
			wantPath: "TraceHeaderList/TraceHeader[1]/Timestamp", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PageAmount not a number",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.PageAmount = "ba" },
			wantPath: "MessageHeader/OtherInfo/PageAmount", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PageAmount with a space",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.PageAmount = " 3" },
			wantPath: "MessageHeader/OtherInfo/PageAmount", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "PromulgationAmount negative",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.PromulgationAmount = "-2" },
			wantPath: "MessageHeader/OtherInfo/PromulgationAmount", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "From/Email without @",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.Email = "vanthu.chinhphu.vn" },
			wantPath: "MessageHeader/From/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "To/Email with two @",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].Email = "vanthu@tphcm@gov.vn" },
			wantPath: "MessageHeader/To[2]/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "To/Email with a space",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[0].Email = "van thu@nghean.gov.vn" },
			wantPath: "MessageHeader/To[1]/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "Email with no domain",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.Email = "vanthu@" },
			wantPath: "MessageHeader/From/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "Email with no local part",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.Email = "@chinhphu.vn" },
			wantPath: "MessageHeader/From/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "StaffInfo/Email bad",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.StaffInfo[0].Email = "binhtt" },
			wantPath: "TraceHeaderList/Bussiness/StaffInfo[1]/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "control character in Subject",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Subject = "V/v kết nối\x01" },
			wantPath: "MessageHeader/Subject", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "tab, CR and LF in Subject are fine",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Subject = "V/v kết nối\r\n\tliên thông" },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "invalid UTF-8 in Content",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Content = "Kết nối \xff" },
			wantPath: "MessageHeader/Content", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "U+FFFE in SignerInfo/FullName",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.SignerInfo.FullName = "Nguyễn\uFFFE" },
			wantPath: "MessageHeader/SignerInfo/FullName", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "NUL in To/OrganName",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganName = "UBND\x00" },
			wantPath: "MessageHeader/To[2]/OrganName", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "control character in an Appendix",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.Appendixes[0] = "Phụ lục\x1f" },
			wantPath: "MessageHeader/OtherInfo/Appendixes/Appendix[1]", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "control character in Attachment/Description",
			mutate:   func(p *envelope.Packet) { p.Edoc.Attachments[1].Description = "Phụ lục\x02" },
			wantPath: "AttachmentEncoded/Attachment[2]/Description", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "control character in Reference/AttachmentName",
			mutate:   func(p *envelope.Packet) { p.Edoc.Manifest[0].AttachmentName = "a\x03.pdf" },
			wantPath: "edXMLBody/edXMLManifest/Reference[1]/AttachmentName", wantErr: envelope.ErrBadFormat,
		},
	})
	runValidateCases(t, validStatus, []validateCase{
		{
			name:     "status Timestamp with dashes",
			mutate:   func(p *envelope.Packet) { p.Status.Timestamp = "2025-11-20 10:15:00" },
			wantPath: "MessageHeader/Timestamp", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "status Timestamp 31 November",
			mutate:   func(p *envelope.Packet) { p.Status.Timestamp = "2025/11/31 10:15:00" },
			wantPath: "MessageHeader/Timestamp", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "status ResponseFor/PromulgationDate impossible",
			mutate:   func(p *envelope.Packet) { p.Status.ResponseFor.PromulgationDate = "2014/02/30" },
			wantPath: "MessageHeader/ResponseFor/PromulgationDate", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "status StaffInfo/Email bad",
			mutate:   func(p *envelope.Packet) { p.Status.StaffInfo.Email = "nhung at nghean.gov.vn" },
			wantPath: "MessageHeader/StaffInfo/Email", wantErr: envelope.ErrBadFormat,
		},
		{
			name:     "status Description with a control character",
			mutate:   func(p *envelope.Packet) { p.Status.Description = "Đã tiếp nhận\x07" },
			wantPath: "MessageHeader/Description", wantErr: envelope.ErrBadFormat,
		},
	})
}

func TestValidate_CodeLists(t *testing.T) {
	runValidateCases(t, validEdoc, []validateCase{
		{
			name:     "Priority 5",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.Priority = "5" },
			wantPath: "MessageHeader/OtherInfo/Priority", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "Priority written as a name",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.Priority = "Khẩn" },
			wantPath: "MessageHeader/OtherInfo/Priority", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "Priority 4 Hỏa tốc hẹn giờ",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.Priority = envelope.PriorityFlashScheduled },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "Priority empty",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.OtherInfo.Priority = "" },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "SteeringType 3",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.SteeringType = "3" },
			wantPath: "MessageHeader/SteeringType", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "SteeringType 2",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.SteeringType = envelope.SteeringReport },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "BussinessDocType 4",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.BussinessDocType = "4" },
			wantPath: "TraceHeaderList/Bussiness/BussinessDocType", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "Paper 2",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.Paper = "2" },
			wantPath: "TraceHeaderList/Bussiness/Paper", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "Paper 1",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.Paper = "1" },
			wantPath: "", wantErr: nil,
		},
		{
			name:     "DocumentType Type 3",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.Type = "3" },
			wantPath: "MessageHeader/DocumentType/Type", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "DocumentType Type 18 (row number for Công văn)",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.Type = "18" },
			wantPath: "MessageHeader/DocumentType/Type", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "DocumentType Type not a number",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.Type = "B" },
			wantPath: "MessageHeader/DocumentType/Type", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "DocumentType TypeDetail 99",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.TypeDetail = "99" },
			wantPath: "MessageHeader/DocumentType/TypeDetail", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "DocumentType TypeDetail 0",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.TypeDetail = "0" },
			wantPath: "MessageHeader/DocumentType/TypeDetail", wantErr: envelope.ErrBadCode,
		},
		{
			name: "DocumentType TypeDetail 14 is past table A",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Header.DocumentType = envelope.DocumentType{Type: "1", TypeDetail: "14"}
			},
			wantPath: "MessageHeader/DocumentType/TypeDetail", wantErr: envelope.ErrBadCode,
		},
		{
			name: "DocumentType table A row 13",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Header.DocumentType = envelope.DocumentType{Type: "1", TypeDetail: "13"}
			},
			wantPath: "", wantErr: nil,
		},
		{
			name: "DocumentType table B row 31",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Header.DocumentType = envelope.DocumentType{Type: "2", TypeDetail: "31"}
			},
			wantPath: "", wantErr: nil,
		},
		{
			name:     "DocumentType TypeDetail not a number",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentType.TypeDetail = "CV" },
			wantPath: "MessageHeader/DocumentType/TypeDetail", wantErr: envelope.ErrBadCode,
		},
	})
}

func TestValidate_AgencyCodes(t *testing.T) {
	lenient := envelope.ProfileSend()
	lenient.Codes = envelope.CodeLenient
	runValidateCases(t, validEdoc, []validateCase{
		{
			name:     "strict refuses 28.22.H17",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = "28.22.H17" },
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:   "send with lenient codes accepts 28.22.H17",
			prof:   lenient,
			mutate: func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = "28.22.H17" },
		},
		{
			name:     "send with lenient codes still refuses vxp.saas.03",
			prof:     lenient,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = "vxp.saas.03" },
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "strict refuses lower case",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[0].OrganID = "000.00.00.h41" },
			wantPath: "MessageHeader/To[1]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "strict refuses surrounding space",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[0].OrganID = " 000.00.00.H41" },
			wantPath: "MessageHeader/To[1]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:   "QĐ 20 form",
			mutate: func(p *envelope.Packet) { p.Edoc.Header.To[0].OrganID = "H41.12" },
		},
		{
			name:   "QĐ 20 form in From",
			mutate: func(p *envelope.Packet) { p.Edoc.Header.From.OrganID = "G22"; syncDocumentID(p) },
		},
		{
			name:     "From refuses an irregular code",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.OrganID = "vxp.saas.03"; syncDocumentID(p) },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "ResponseFor/OrganId bad",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.ResponseFor[0].OrganID = "28.22.H17" },
			wantPath: "MessageHeader/ResponseFor[1]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "TraceHeader/OrganId bad",
			mutate:   func(p *envelope.Packet) { p.Edoc.Trace[0].OrganID = "G22.1" },
			wantPath: "TraceHeaderList/TraceHeader[1]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "code longer than 35 characters",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = "H29." + strings.Repeat("01.", 11) + "001" },
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
	})
	runValidateCases(t, validStatus, []validateCase{
		{
			name:     "status From/OrganId bad",
			mutate:   func(p *envelope.Packet) { p.Status.From.OrganID = "28.22.H17" },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "status ResponseFor/OrganId bad",
			mutate:   func(p *envelope.Packet) { p.Status.ResponseFor.OrganID = "G22.VPCP" },
			wantPath: "MessageHeader/ResponseFor/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
	})
	if got, want := envelope.ProfileSend().Codes, envelope.CodeStrict; got != want {
		t.Errorf("ProfileSend().Codes = %v after copying it, want %v", got, want)
	}
}

func TestValidate_DuplicateRecipients(t *testing.T) {
	setTo := func(codes ...string) func(p *envelope.Packet) {
		return func(p *envelope.Packet) {
			h := &p.Edoc.Header
			h.To = h.To[:0]
			for _, c := range codes {
				h.To = append(h.To, envelope.Organization{OrganID: c, OrganName: "Cơ quan " + c})
			}
		}
	}
	runValidateCases(t, validEdoc, []validateCase{
		{
			name:     "same code twice",
			mutate:   setTo("000.00.00.H41", "000.00.00.H41"),
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrDuplicateRecipient,
		},
		{
			name:     "QCVN 102 form then QĐ 20 form",
			mutate:   setTo("000.00.12.H41", "H41.12"),
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrDuplicateRecipient,
		},
		{
			name:     "QĐ 20 form then QCVN 102 form",
			mutate:   setTo("H41.12", "000.00.12.H41"),
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrDuplicateRecipient,
		},
		{
			name:     "level-1 code in both forms",
			mutate:   setTo("000.00.00.H29", "H29"),
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrDuplicateRecipient,
		},
		{
			name:     "third repeats the first",
			mutate:   setTo("000.00.12.H41", "000.00.00.H29", "H41.12"),
			wantPath: "MessageHeader/To[3]/OrganId", wantErr: envelope.ErrDuplicateRecipient,
		},
		{
			name:   "parent and child are different recipients",
			mutate: setTo("000.00.00.H41", "H41.12", "000.01.12.H41"),
		},
		{
			// On receive a repeat is one recipient, with a warning
			// (TestValidateWithWarnings_OneAgencyTwoCodes).
			name:   "duplicate with an irregular code, receive",
			prof:   envelope.ProfileReceive(),
			mutate: setTo("28.22.H17", "28.22.H17"),
		},
		{
			name:   "duplicate in another case, receive",
			prof:   envelope.ProfileReceive(),
			mutate: setTo("vxp.saas.03", "VXP.SAAS.03"),
		},
	})

	// Each repeat is reported once, at the repeating recipient.
	p := validEdoc(t)
	setTo("H41.12", "000.00.12.H41", "000.00.00.H29", "H29", "000.00.12.H41")(p)
	es, _ := envelope.IsValidationError(envelope.Validate(p, envelope.ProfileSend()))
	var paths []string
	for _, e := range es {
		if errors.Is(e, envelope.ErrDuplicateRecipient) {
			paths = append(paths, e.Path)
		}
	}
	want := []string{"MessageHeader/To[2]/OrganId", "MessageHeader/To[4]/OrganId", "MessageHeader/To[5]/OrganId"}
	if !slices.Equal(paths, want) || len(es) != len(want) {
		t.Errorf("errors = %v\nwant duplicates at %v only", es, want)
	}
	for _, e := range es {
		if !strings.Contains(e.MessageEN, "To[1]") && !strings.Contains(e.MessageEN, "To[3]") {
			t.Errorf("%s: message %q should name the recipient it repeats", e.Path, e.MessageEN)
		}
	}
}

func TestValidate_DocumentID(t *testing.T) {
	runValidateCases(t, validEdoc, []validateCase{
		{
			name:     "wrong date",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "000.00.00.G22,2025/11/21,7816/VPCP-TTĐT" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "date changed after the DocumentId was made",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Promulgation.Date = "2025/11/19" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "wrong sender",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "000.00.00.G01,2025/11/20,7816/VPCP-TTĐT" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "sender changed after the DocumentId was made",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.OrganID = "000.00.00.G09" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "wrong number",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "000.00.00.G22,2025/11/20,7817/VPCP-TTĐT" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "wrong notation",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "000.00.00.G22,2025/11/20,7816/VPCP-KSTT" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "UUID",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name:     "spaces after the commas",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "000.00.00.G22, 2025/11/20, 7816/VPCP-TTĐT" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrDocumentID,
		},
		{
			name: "made with MakeDocumentID",
			mutate: func(p *envelope.Packet) {
				h := &p.Edoc.Header
				h.Code = envelope.Code{Number: "15", Notation: "CT-TTg"}
				h.Promulgation.Date = envelope.NewDate(2025, 1, 2)
				h.DocumentID = envelope.DocumentID{OrganID: "000.00.00.G22", Date: "2025/01/02", CodeNumber: "15", CodeNotation: "CT-TTg"}.String()
			},
		},
	})
	p := validEdoc(t)
	p.Edoc.Header.DocumentID = "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00"
	es, _ := envelope.IsValidationError(envelope.Validate(p, envelope.ProfileSend()))
	if len(es) != 1 || !strings.Contains(es[0].MessageEN, "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT") {
		t.Errorf("Validate = %v, want one error giving the expected DocumentId", es)
	}
}

func TestValidate_Bussiness(t *testing.T) {
	const original = "000.00.00.G22,2025/11/01,7700/VPCP-TTĐT"
	runValidateCases(t, validEdoc, []validateCase{
		{
			name: "type 1 revoke",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessRevoke
				p.Edoc.Bussiness.DocumentID = original
			},
		},
		{
			name:     "type 1 without DocumentId",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.BussinessDocType = envelope.BussinessRevoke },
			wantPath: "TraceHeaderList/Bussiness/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name: "type 2 update",
			mutate: func(p *envelope.Packet) {
				b := p.Edoc.Bussiness
				b.BussinessDocType = envelope.BussinessUpdate
				b.DocumentID = original
				b.DocumentInfo = &envelope.BussinessDocumentInfo{
					DocumentInfo:     "1",
					DocumentReceiver: "1",
					ReceiverList:     []envelope.Receiver{{OrganID: "000.00.00.H41", ReceiverType: "0"}},
				}
			},
		},
		{
			name: "type 2 without BussinessDocumentInfo",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessUpdate
				p.Edoc.Bussiness.DocumentID = original
			},
			wantPath: "TraceHeaderList/Bussiness/BussinessDocumentInfo", wantErr: envelope.ErrRequired,
		},
		{
			name: "type 2 without DocumentId",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessUpdate
				p.Edoc.Bussiness.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: "1", DocumentReceiver: "0"}
			},
			wantPath: "TraceHeaderList/Bussiness/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name: "type 2 with DocumentInfo 2",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessUpdate
				p.Edoc.Bussiness.DocumentID = original
				p.Edoc.Bussiness.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: "2", DocumentReceiver: "0"}
			},
			wantPath: "TraceHeaderList/Bussiness/BussinessDocumentInfo/DocumentInfo", wantErr: envelope.ErrBadCode,
		},
		{
			name: "type 2 without DocumentReceiver",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessUpdate
				p.Edoc.Bussiness.DocumentID = original
				p.Edoc.Bussiness.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: "1"}
			},
			wantPath: "TraceHeaderList/Bussiness/BussinessDocumentInfo/DocumentReceiver", wantErr: envelope.ErrRequired,
		},
		{
			name: "type 2 with a bad Receiver/OrganId",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessUpdate
				p.Edoc.Bussiness.DocumentID = original
				p.Edoc.Bussiness.DocumentInfo = &envelope.BussinessDocumentInfo{
					DocumentInfo: "0", DocumentReceiver: "1",
					ReceiverList: []envelope.Receiver{{OrganID: "H41"}, {OrganID: "28.22.H17"}},
				}
			},
			wantPath: "TraceHeaderList/Bussiness/BussinessDocumentInfo/ReceiverList/Receiver[2]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name: "type 3 replace",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessReplace
				p.Edoc.Bussiness.Replacements = []envelope.ReplacementInfo{
					{DocumentID: original, OrganIDList: []string{"000.00.00.H41", "H29"}},
				}
			},
		},
		{
			name:     "type 3 without ReplacementInfoList",
			mutate:   func(p *envelope.Packet) { p.Edoc.Bussiness.BussinessDocType = envelope.BussinessReplace },
			wantPath: "TraceHeaderList/Bussiness/ReplacementInfoList", wantErr: envelope.ErrRequired,
		},
		{
			name: "type 3 with a ReplacementInfo without DocumentId",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessReplace
				p.Edoc.Bussiness.Replacements = []envelope.ReplacementInfo{
					{DocumentID: original}, {OrganIDList: []string{"H41"}},
				}
			},
			wantPath: "TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo[2]/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name: "type 3 with a bad OrganId in OrganIdList",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessReplace
				p.Edoc.Bussiness.Replacements = []envelope.ReplacementInfo{
					{DocumentID: original, OrganIDList: []string{"H41", "H41*"}},
				}
			},
			wantPath: "TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo[1]/OrganIdList/OrganId[2]", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name: "type 0 with a ReplacementInfoList",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.Replacements = []envelope.ReplacementInfo{{DocumentID: original}}
			},
			wantPath: "TraceHeaderList/Bussiness/ReplacementInfoList", wantErr: envelope.ErrInconsistent,
		},
		{
			name: "type 0 with BussinessDocumentInfo",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: "1", DocumentReceiver: "0"}
			},
			wantPath: "TraceHeaderList/Bussiness/BussinessDocumentInfo", wantErr: envelope.ErrInconsistent,
		},
		{
			name: "type 1 with a ReplacementInfoList",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessRevoke
				p.Edoc.Bussiness.DocumentID = original
				p.Edoc.Bussiness.Replacements = []envelope.ReplacementInfo{{DocumentID: original}}
			},
			wantPath: "TraceHeaderList/Bussiness/ReplacementInfoList", wantErr: envelope.ErrInconsistent,
		},
		{
			name: "type 3 with BussinessDocumentInfo",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessReplace
				p.Edoc.Bussiness.Replacements = []envelope.ReplacementInfo{{DocumentID: original}}
				p.Edoc.Bussiness.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: "1", DocumentReceiver: "0"}
			},
			wantPath: "TraceHeaderList/Bussiness/BussinessDocumentInfo", wantErr: envelope.ErrInconsistent,
		},
		{
			name:   "type 0 with a DocumentId is fine",
			mutate: func(p *envelope.Packet) { p.Edoc.Bussiness.DocumentID = original },
		},
		{
			name:   "no StaffInfo is fine",
			mutate: func(p *envelope.Packet) { p.Edoc.Bussiness.StaffInfo = nil },
		},
	})
}

func TestValidate_Attachments(t *testing.T) {
	runValidateCases(t, validEdoc, []validateCase{
		{
			name: "duplicate ContentId cid:1 and 1",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Attachments[1].ContentID = "1"
				p.Edoc.Manifest[1].ContentID = "1"
			},
			wantPath: "AttachmentEncoded/Attachment[2]/ContentId", wantErr: envelope.ErrInconsistent,
			more: true, // the manifest repeats it too
		},
		{
			name: "duplicate ContentId CID:1 and cid:1",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Attachments[0].ContentID = "CID:1"
				p.Edoc.Attachments[1].ContentID = "cid:1"
				p.Edoc.Manifest[0].ContentID = "CID:1"
				p.Edoc.Manifest[1].ContentID = "cid:1"
			},
			wantPath: "AttachmentEncoded/Attachment[2]/ContentId", wantErr: envelope.ErrInconsistent,
			more: true, // the manifest repeats it too
		},
		{
			name:     "attachment missing from the manifest",
			mutate:   func(p *envelope.Packet) { p.Edoc.Manifest = p.Edoc.Manifest[:1] },
			wantPath: "AttachmentEncoded/Attachment[2]/ContentId", wantErr: envelope.ErrInconsistent,
		},
		{
			name:     "manifest reference listed twice",
			mutate:   func(p *envelope.Packet) { p.Edoc.Manifest[1].ContentID = p.Edoc.Manifest[0].ContentID },
			wantPath: "edXMLBody/edXMLManifest/Reference[2]/ContentId", wantErr: envelope.ErrInconsistent,
			more: true, // and the second attachment is then not in the manifest
		},
		{
			name:     "CodeNumber holding a slash",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Code.Number = "12/3" },
			wantPath: "MessageHeader/Code/CodeNumber", wantErr: envelope.ErrBadFormat,
			more: true, // the DocumentId no longer matches either
		},
		{
			name:     "Subject of only spaces",
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Subject = "   " },
			wantPath: "MessageHeader/Subject", wantErr: envelope.ErrRequired,
		},
		{
			name: "dashed date accepted on receive",
			prof: envelope.ProfileReceive(),
			mutate: func(p *envelope.Packet) {
				p.Edoc.Header.Promulgation.Date = "2019-01-16"
				p.Edoc.Header.DueDate = "28/09/2018"
			},
			wantPath: "", wantErr: nil,
		},
		{
			name:   "Reference without cid: matches an Attachment with it",
			mutate: func(p *envelope.Packet) { p.Edoc.Manifest[0].ContentID = "1" },
		},
		{
			name:   "Reference with cid: matches an Attachment without it",
			mutate: func(p *envelope.Packet) { p.Edoc.Attachments[1].ContentID = "2" },
		},
		{
			name: "AddAttachment keeps a given ContentId",
			mutate: func(p *envelope.Packet) {
				p.Edoc.AddAttachment(envelope.Attachment{ContentID: "bia", Name: "Bìa.pdf", Data: []byte("x")})
			},
		},
		{
			name: "AddAttachment numbers the next one cid:3",
			mutate: func(p *envelope.Packet) {
				p.Edoc.AddAttachment(envelope.Attachment{Name: "Tờ trình.pdf", Data: []byte("x")})
			},
		},
		{
			name: "manifest Reference with no attachment",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Manifest = append(p.Edoc.Manifest, envelope.Reference{ContentID: "cid:9", AttachmentName: "Thiếu.pdf"})
			},
			wantPath: "edXMLBody/edXMLManifest/Reference[3]/ContentId", wantErr: envelope.ErrInconsistent,
		},
		{
			name:     "attachment removed, its Reference left",
			mutate:   func(p *envelope.Packet) { p.Edoc.Attachments = p.Edoc.Attachments[:1] },
			wantPath: "edXMLBody/edXMLManifest/Reference[2]/ContentId", wantErr: envelope.ErrInconsistent,
		},
		{
			name: "DecodeError set",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Attachments[1].Data = nil
				p.Edoc.Attachments[1].DecodeError = "illegal base64 data at input byte 12"
			},
			wantPath: "AttachmentEncoded/Attachment[2]/ContentTransferEncoded", wantErr: envelope.ErrBadFormat,
		},
		{
			name: "DecodeError set, receive",
			prof: envelope.ProfileReceive(),
			mutate: func(p *envelope.Packet) {
				p.Edoc.Attachments[0].Data = nil
				p.Edoc.Attachments[0].DecodeError = "illegal base64 data at input byte 0"
			},
			wantPath: "AttachmentEncoded/Attachment[1]/ContentTransferEncoded", wantErr: envelope.ErrBadFormat,
		},
		{
			name: "empty attachment content is fine",
			mutate: func(p *envelope.Packet) {
				p.Edoc.Attachments[0].Data = nil
			},
		},
	})
}

func TestValidate_EdocAndStatus(t *testing.T) {
	// Both set, and neither, are told apart with their kinds.
	both := validEdoc(t)
	both.Status = validStatus(t).Status
	err := envelope.Validate(both, envelope.ProfileSend())
	checkValidation(t, err, "edXMLHeader/MessageHeader", envelope.ErrInconsistent, false)
	if errors.Is(err, envelope.ErrRequired) {
		t.Errorf("both set: %v, want no required error", err)
	}

	neither := validEdoc(t)
	neither.Edoc = nil
	neither.Signature = &envelope.SignatureInfo{Namespace: envelope.XMLDSigNamespace}
	err = envelope.Validate(neither, envelope.ProfileSend())
	checkValidation(t, err, "edXMLHeader/MessageHeader", envelope.ErrRequired, false)
	if errors.Is(err, envelope.ErrInconsistent) {
		t.Errorf("neither set: %v, want no inconsistent error", err)
	}
}

func TestValidate_Receive(t *testing.T) {
	recv := envelope.ProfileReceive()
	runValidateCases(t, validEdoc, []validateCase{
		{
			name: "the quirks of the official samples together",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				h := &p.Edoc.Header
				h.From.OrganID = "002.00.20.H13"
				h.To[0].OrganID = "28.22.H17"
				h.To[1].OrganID = "vxp.saas.03"
				h.Code.Number = "74fass22"
				h.DocumentID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
				h.DocumentType = envelope.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"}
				h.SteeringType = "1"
				p.Edoc.Bussiness.DocumentID = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
				h.ResponseFor = nil
			},
		},
		{
			name: "irregular agency codes",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				p.Edoc.Header.To[1].OrganID = "28.22.H17"
				p.Edoc.Header.To[0].OrganID = "vxp.saas.03"
			},
		},
		{
			name:   "agency code with surrounding white space",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = " 000.00.00.H29 " },
		},
		{
			name:   "UUID DocumentId",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00" },
		},
		{
			name:   "impossible date inside Bussiness/DocumentId",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Bussiness.DocumentID = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT" },
		},
		{
			name: "impossible date inside a ResponseFor/DocumentId",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				p.Edoc.Header.ResponseFor[0].DocumentID = "000.00.00.H41,2025/02/30,1234/UBND-VX"
			},
		},
		{
			name:   "DocumentType row number in Type",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Header.DocumentType = envelope.DocumentType{Type: "18"} },
		},
		{
			name: "code lists and numbers outside the lists",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				h := &p.Edoc.Header
				h.OtherInfo.Priority = "5"
				h.OtherInfo.PageAmount = "ba trang"
				h.SteeringType = "false"
				p.Edoc.Bussiness.Paper = "2"
				p.Edoc.Bussiness.BussinessDocType = "9"
			},
		},
		{
			name: "optional-when-receiving elements missing",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				h := &p.Edoc.Header
				h.From.OrganName = ""
				h.To[0].OrganName = ""
				h.Code = envelope.Code{}
				h.Promulgation.Date = ""
				h.DocumentType = envelope.DocumentType{}
				h.Subject = ""
				p.Edoc.Bussiness = nil
				p.Edoc.Trace[0].Timestamp = ""
				p.Edoc.Attachments[0].Name = ""
			},
		},
		{
			name: "update without BussinessDocumentInfo, revoke without DocumentId",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				p.Edoc.Bussiness.BussinessDocType = envelope.BussinessUpdate
			},
		},
		{
			name:   "bad e-mail",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Header.From.Email = "vpcp" },
		},
		{
			name:   "TraceHeader timestamp in another format",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Trace[0].Timestamp = "2018-09-28T00:00:00" },
		},
		{
			name:   "manifest Reference with no attachment",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Edoc.Attachments = p.Edoc.Attachments[:1] },
		},
		{
			name:     "empty From/OrganId",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.OrganID = "" },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "no To",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To = nil },
			wantPath: "MessageHeader/To", wantErr: envelope.ErrRequired,
		},
		{
			name:     "empty To/OrganId",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[0].OrganID = "" },
			wantPath: "MessageHeader/To[1]/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "OrganId with a space inside",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[1].OrganID = "000.00.00 H29" },
			wantPath: "MessageHeader/To[2]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "OrganId with a star",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[0].OrganID = "H41.*" },
			wantPath: "MessageHeader/To[1]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "From/OrganId with a star",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.From.OrganID = "*" },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "OrganId with a NATS wildcard",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.To[0].OrganID = "H41.>" },
			wantPath: "MessageHeader/To[1]/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
		{
			name:     "empty DocumentId",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.DocumentID = "" },
			wantPath: "MessageHeader/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "control character",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Edoc.Header.Subject = "\x01" },
			wantPath: "MessageHeader/Subject", wantErr: envelope.ErrBadFormat,
		},
		{
			name: "duplicate ContentId",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				p.Edoc.Attachments[1].ContentID = "1"
			},
			wantPath: "AttachmentEncoded/Attachment[2]/ContentId", wantErr: envelope.ErrInconsistent,
		},
	})
	runValidateCases(t, validStatus, []validateCase{
		{
			name: "sample-like status",
			prof: recv,
			mutate: func(p *envelope.Packet) {
				s := p.Status
				s.From.OrganID = "vxp.saas.03"
				s.From.OrganName = ""
				s.ResponseFor.OrganID = "28.22.H17"
				s.ResponseFor.DocumentID = "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00"
				s.StatusCode = envelope.StatusRejected
				s.Description = ""
				s.Timestamp = "2019-01-16T10:00:00"
				s.StaffInfo.Email = "not an address"
			},
		},
		{
			name:   "no Timestamp",
			prof:   recv,
			mutate: func(p *envelope.Packet) { p.Status.Timestamp = "" },
		},
		{
			name:     "status code 07",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Status.StatusCode = "07" },
			wantPath: "MessageHeader/StatusCode", wantErr: envelope.ErrBadCode,
		},
		{
			name:     "no status code",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Status.StatusCode = "" },
			wantPath: "MessageHeader/StatusCode", wantErr: envelope.ErrRequired,
		},
		{
			name:     "missing ResponseFor/DocumentId",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Status.ResponseFor.DocumentID = "" },
			wantPath: "MessageHeader/ResponseFor/DocumentId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "missing ResponseFor/OrganId",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Status.ResponseFor.OrganID = "" },
			wantPath: "MessageHeader/ResponseFor/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "empty From/OrganId",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Status.From.OrganID = "" },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrRequired,
		},
		{
			name:     "From/OrganId with a space",
			prof:     recv,
			mutate:   func(p *envelope.Packet) { p.Status.From.OrganID = "H41 12" },
			wantPath: "MessageHeader/From/OrganId", wantErr: envelope.ErrBadAgencyCode,
		},
	})
}

func TestValidate_ReceiveIsLaxerThanSend(t *testing.T) {
	// The sample-like edoc passes receive but not send, and send names
	// each rule it breaks.
	p := validEdoc(t)
	h := &p.Edoc.Header
	h.To[0].OrganID = "28.22.H17"
	h.DocumentID = "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00"
	h.DocumentType.TypeDetail = "0"
	if err := envelope.Validate(p, envelope.ProfileReceive()); err != nil {
		t.Fatalf("Validate(receive) = %v, want nil", err)
	}
	es, ok := envelope.IsValidationError(envelope.Validate(p, envelope.ProfileSend()))
	if !ok {
		t.Fatal("Validate(send) = nil, want errors")
	}
	checkWellFormed(t, es)
	var got []string
	for _, e := range es {
		got = append(got, e.Path+" "+e.Code)
	}
	want := []string{
		"MessageHeader/To[1]/OrganId bad_agency_code",
		"MessageHeader/DocumentType/TypeDetail bad_code",
		"MessageHeader/DocumentId document_id",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Validate(send) errors =\n%q\nwant\n%q", got, want)
	}
}

func TestValidate_DocumentOrder(t *testing.T) {
	p := validEdoc(t)
	h := &p.Edoc.Header
	h.From.OrganName = ""
	h.To[1].OrganID = "bad*"
	h.Code.Number = vnText(12)
	syncDocumentID(p)
	h.Subject = ""
	h.OtherInfo.Priority = "5"
	h.SteeringType = "9"
	p.Edoc.Trace[0].Timestamp = "x"
	p.Edoc.Bussiness.Paper = "7"
	p.Edoc.Attachments[0].DecodeError = "illegal base64 data at input byte 3"
	es, ok := envelope.IsValidationError(envelope.Validate(p, envelope.ProfileSend()))
	if !ok {
		t.Fatal("Validate = nil, want errors")
	}
	checkWellFormed(t, es)
	var got []string
	for _, e := range es {
		got = append(got, e.Path)
	}
	want := []string{
		"MessageHeader/From/OrganName",
		"MessageHeader/To[2]/OrganId",
		"MessageHeader/Code/CodeNumber",
		"MessageHeader/Subject",
		"MessageHeader/OtherInfo/Priority",
		"MessageHeader/SteeringType",
		"TraceHeaderList/TraceHeader[1]/Timestamp",
		"TraceHeaderList/Bussiness/Paper",
		"AttachmentEncoded/Attachment[1]/ContentTransferEncoded",
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths =\n%q\nwant\n%q", got, want)
	}
}

func TestValidate_ValidationErrors(t *testing.T) {
	p := validEdoc(t)
	p.Edoc.Header.From.OrganID = ""
	p.Edoc.Header.To[1].OrganID = "28.22.H17"
	p.Edoc.Header.Subject = ""
	p.Edoc.Header.OtherInfo.Priority = "5"
	syncDocumentID(p)
	err := envelope.Validate(p, envelope.ProfileSend())
	wantPaths := []string{
		"MessageHeader/From/OrganId",
		"MessageHeader/To[2]/OrganId",
		"MessageHeader/Subject",
		"MessageHeader/OtherInfo/Priority",
	}

	t.Run("Error mentions every path", func(t *testing.T) {
		if err == nil {
			t.Fatal("Validate = nil")
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "envelope: invalid packet: ") {
			t.Errorf("Error() = %q, want the prefix %q", msg, "envelope: invalid packet: ")
		}
		for _, path := range wantPaths {
			if !strings.Contains(msg, path+": ") {
				t.Errorf("Error() = %q, does not mention %s", msg, path)
			}
		}
		es, _ := envelope.IsValidationError(err)
		if got, want := len(es), len(wantPaths); got != want {
			t.Fatalf("len = %d, want %d: %v", got, want, err)
		}
		parts := make([]string, len(es))
		for i, e := range es {
			parts[i] = e.Error()
		}
		if got, want := msg, "envelope: invalid packet: "+strings.Join(parts, "; "); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})

	t.Run("errors.As through wrapping", func(t *testing.T) {
		wrapped := fmt.Errorf("gửi văn bản 7816/VPCP-TTĐT: %w", err)
		var es envelope.ValidationErrors
		if !errors.As(wrapped, &es) {
			t.Fatalf("errors.As(%v, *ValidationErrors) = false", wrapped)
		}
		if got, want := len(es), len(wantPaths); got != want {
			t.Errorf("len = %d, want %d", got, want)
		}
		for i, path := range wantPaths {
			if i < len(es) && es[i].Path != path {
				t.Errorf("es[%d].Path = %q, want %q", i, es[i].Path, path)
			}
		}
		var one *envelope.ValidationError
		if !errors.As(wrapped, &one) {
			t.Fatalf("errors.As(%v, **ValidationError) = false", wrapped)
		}
		if got, want := one.Path, wantPaths[0]; got != want {
			t.Errorf("first ValidationError Path = %q, want %q", got, want)
		}
		for _, kind := range []error{envelope.ErrRequired, envelope.ErrBadAgencyCode, envelope.ErrBadCode} {
			if !errors.Is(wrapped, kind) {
				t.Errorf("errors.Is(wrapped, %v) = false", kind)
			}
		}
		for _, kind := range []error{envelope.ErrTooLong, envelope.ErrDuplicateRecipient, envelope.ErrDocumentID, envelope.ErrInconsistent, envelope.ErrMalformed} {
			if errors.Is(wrapped, kind) {
				t.Errorf("errors.Is(wrapped, %v) = true, want false", kind)
			}
		}
		twice := fmt.Errorf("outbox: %w", wrapped)
		if es2, ok := envelope.IsValidationError(twice); !ok || len(es2) != len(wantPaths) {
			t.Errorf("IsValidationError(twice wrapped) = %v, %v", es2, ok)
		}
	})

	t.Run("IsValidationError", func(t *testing.T) {
		es, ok := envelope.IsValidationError(err)
		if !ok {
			t.Fatal("IsValidationError(err) = false")
		}
		if got, want := len(es), len(wantPaths); got != want {
			t.Errorf("len = %d, want %d", got, want)
		}
		for _, other := range []error{nil, errors.New("x"), envelope.ErrRequired, fmt.Errorf("wrap: %w", envelope.ErrMalformed)} {
			if es, ok := envelope.IsValidationError(other); ok || es != nil {
				t.Errorf("IsValidationError(%v) = %v, %v; want nil, false", other, es, ok)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		es, _ := envelope.IsValidationError(err)
		b, jerr := json.Marshal(es[0])
		if jerr != nil {
			t.Fatal(jerr)
		}
		var m map[string]string
		if jerr := json.Unmarshal(b, &m); jerr != nil {
			t.Fatal(jerr)
		}
		if got, want := m["path"], wantPaths[0]; got != want {
			t.Errorf("path = %q, want %q (%s)", got, want, b)
		}
		if got, want := m["code"], "required"; got != want {
			t.Errorf("code = %q, want %q (%s)", got, want, b)
		}
		if m["messageVi"] == "" || m["messageEn"] == "" {
			t.Errorf("messages missing: %s", b)
		}
		if got, want := len(m), 4; got != want {
			t.Errorf("%d keys, want %d: %s", got, want, b)
		}
	})
}

func TestValidate_Encode(t *testing.T) {
	t.Run("refuses an invalid packet with the same errors", func(t *testing.T) {
		for _, p := range []*envelope.Packet{
			func() *envelope.Packet { p := validEdoc(t); p.Edoc.Header.Subject = ""; return p }(),
			func() *envelope.Packet { p := validEdoc(t); p.Edoc.Header.To[1].OrganID = "28.22.H17"; return p }(),
			func() *envelope.Packet { p := validStatus(t); p.Status.StatusCode = "07"; return p }(),
		} {
			want := envelope.Validate(p, envelope.ProfileSend())
			if want == nil {
				t.Fatal("test packet is valid")
			}
			for name, enc := range map[string]func(*envelope.Packet) ([]byte, error){
				"Encode":           envelope.Encode,
				"Encoder{}.Encode": envelope.Encoder{}.Encode,
			} {
				b, err := enc(p)
				if b != nil {
					t.Errorf("%s returned %d bytes with an error", name, len(b))
				}
				if !reflect.DeepEqual(err, want) {
					t.Errorf("%s = %v, want %v", name, err, want)
				}
				if _, ok := err.(envelope.ValidationErrors); !ok {
					t.Errorf("%s error is %T, want envelope.ValidationErrors", name, err)
				}
			}
		}
	})

	t.Run("Lenient encodes what only receive accepts", func(t *testing.T) {
		p := validEdoc(t)
		p.Edoc.Header.To[1].OrganID = "28.22.H17"
		p.Edoc.Header.DocumentID = "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00"
		p.Edoc.Bussiness.DocumentID = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
		if _, err := envelope.Encode(p); !errors.Is(err, envelope.ErrBadAgencyCode) || !errors.Is(err, envelope.ErrDocumentID) {
			t.Errorf("Encode = %v, want bad agency code and document id errors", err)
		}
		b, err := envelope.Encoder{Lenient: true}.Encode(p)
		if err != nil {
			t.Fatalf("Encoder{Lenient: true}.Encode = %v", err)
		}
		for _, s := range []string{"28.22.H17", "3f1f1b8e-6c4e-4a4e-9d3b-2a7c1e5b9f00"} {
			if !strings.Contains(string(b), s) {
				t.Errorf("encoded packet lacks %q", s)
			}
		}
		back, _, err := envelope.Parse(b)
		if err != nil {
			t.Fatalf("Parse = %v", err)
		}
		if err := envelope.Validate(back, envelope.ProfileReceive()); err != nil {
			t.Errorf("Validate(receive) of the re-parsed packet = %v", err)
		}
	})

	t.Run("Lenient encodes a status only receive accepts", func(t *testing.T) {
		p := validStatus(t)
		p.Status.StatusCode = envelope.StatusRejected
		p.Status.Description = ""
		p.Status.Timestamp = ""
		if _, err := envelope.Encode(p); err == nil {
			t.Error("Encode = nil error, want validation errors")
		}
		if _, err := (envelope.Encoder{Lenient: true}).Encode(p); err != nil {
			t.Errorf("Encoder{Lenient: true}.Encode = %v", err)
		}
	})

	t.Run("Lenient does not validate", func(t *testing.T) {
		// A lenient encoder writes a packet as it is, even one the receive
		// profile refuses: validation is the caller's business.
		p := validEdoc(t)
		p.Edoc.Header.To = nil
		if err := envelope.Validate(p, envelope.ProfileReceive()); err == nil {
			t.Fatal("Validate(receive) = nil, want an error for the missing To")
		}
		if _, err := (envelope.Encoder{Lenient: true}).Encode(p); err != nil {
			t.Errorf("Encoder{Lenient: true}.Encode = %v, want nil", err)
		}
		for _, bad := range []*envelope.Packet{nil, {}} {
			if b, err := (envelope.Encoder{Lenient: true}).Encode(bad); err == nil || b != nil {
				t.Errorf("Encoder{Lenient: true}.Encode(%v) = %d bytes, %v; want an error", bad, len(b), err)
			}
		}
	})
}
