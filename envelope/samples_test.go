package envelope_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// The official sample packets of the national axis library, byte for byte
// (see testdata/samples/README.md).
const samplesDir = "testdata/samples"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleNames(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(samplesDir, "*.edxml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 15 {
		t.Fatalf("found %d samples, want 15", len(names))
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

func warningCodes(ws []envelope.Warning) []string {
	var out []string
	for _, w := range ws {
		if !slices.Contains(out, w.Code) {
			out = append(out, w.Code)
		}
	}
	slices.Sort(out)
	return out
}

// wantAttachment is what a sample's attachment decodes to.
type wantAttachment struct {
	contentID, name string
	size            int
	decodeError     bool
	innerName       string
	innerSize       int
}

type wantEdoc struct {
	from, documentID, codeNumber, codeNotation string
	to                                         []string
	date                                       envelope.Date
	bussinessType                              envelope.BussinessDocType
	bussinessDocID                             string
	replacements                               []envelope.ReplacementInfo
	receivers                                  []envelope.Receiver
	responseFor                                []envelope.ResponseFor
	trace                                      []envelope.TraceHeader
	attachments                                []wantAttachment
	extras                                     []string
	signatureNS                                string
}

type wantStatus struct {
	from, responseOrgan, responseDocID, description string
	code                                            envelope.StatusCode
	timestamp                                       envelope.Timestamp
}

const (
	vpcpDocID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
	zipSize   = 270823 // decoded size of the ZIP in the four large samples
	innerSize = 388347 // size of the edXML file inside it
)

func TestParse_Samples(t *testing.T) {
	edocs := map[string]wantEdoc{
		"edoc.edxml": {
			from: "002.00.20.H13", to: []string{"000.00.15.H51"},
			documentID: "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb",
			codeNumber: "12234555512", codeNotation: "PRO-TEST-CASE1", date: "2019/01/17",
			trace: []envelope.TraceHeader{{OrganID: "01.02.G22", Timestamp: "2018/06/20 16:35:56"}},
			attachments: []wantAttachment{{
				contentID: "cid:36b8a92e-f054-11e7-842b-005056b672fc", name: "GUIDE_INSTALL OPENVPN.SIGNED.PDF",
				decodeError: true,
			}},
			signatureNS: envelope.XMLDSigNamespace,
		},
		"edoc_new.edxml": {
			from: "002.00.20.H13", to: []string{"28.22.H17"}, documentID: vpcpDocID,
			codeNumber: "74fass22", codeNotation: "VPCP-TTĐT", date: "2019/01/16",
			bussinessType: "0", bussinessDocID: "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT",
			trace:       []envelope.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: "2018/09/28 00:00:00"}},
			attachments: []wantAttachment{{contentID: "cid:209", name: "1896_QD-TTg_m_294779.doc", size: zipSize, innerName: "32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml", innerSize: innerSize}},
			signatureNS: envelope.Namespace,
		},
		"edoc_replacement.edxml": {
			from: "000.00.00.G22", to: []string{"000.00.00.H41", "000.00.00.H14", "000.00.00.G17"}, documentID: vpcpDocID,
			codeNumber: "7816", codeNotation: "VPCP-TTĐT", date: "2018/09/28",
			bussinessType: "3",
			replacements: []envelope.ReplacementInfo{
				{DocumentID: "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT", OrganIDList: []string{"000.00.00.H41", "000.00.00.H14"}},
				{DocumentID: "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT", OrganIDList: []string{"000.00.00.H41", "000.00.00.H14"}},
			},
			trace:       []envelope.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: "2018/09/28 00:00:00"}},
			attachments: []wantAttachment{{contentID: "cid:209", name: "1896_QD-TTg_m_294779.doc", size: zipSize, innerName: "30d190ec-60e3-41b6-bda7-50b17d98b35d.edxml", innerSize: innerSize}},
			signatureNS: envelope.Namespace,
		},
		"edoc_revocation.edxml": {
			from: "000.00.00.G22", to: []string{"000.00.00.H41", "000.00.00.H14", "000.00.00.G17"}, documentID: vpcpDocID,
			codeNumber: "7816", codeNotation: "VPCP-TTĐT", date: "2018/09/28",
			bussinessType: "1",
			responseFor: []envelope.ResponseFor{{
				OrganID: "000.00.00.H14", Code: "267/VPCP-TTĐT",
				DocumentID: "000.00.04.G14,2012/08/06,267/VPCP-TTĐT", PromulgationDate: "2018/09/28",
			}},
			trace:       []envelope.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: "2018/09/28 00:00:00"}},
			attachments: []wantAttachment{{contentID: "cid:209", name: "1896_QD-TTg_m_294779.doc", size: zipSize, innerName: "a3661564-bcbb-4406-a6a9-ceddbc8f4e17.edxml", innerSize: innerSize}},
			signatureNS: envelope.Namespace,
		},
		"edoc_update.edxml": {
			from: "000.00.00.G22", to: []string{"000.00.00.H41", "000.00.00.H14", "000.00.00.G17"}, documentID: vpcpDocID,
			codeNumber: "7816", codeNotation: "VPCP-TTĐT", date: "2018/09/28",
			bussinessType: "2", bussinessDocID: "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT",
			receivers:   []envelope.Receiver{{OrganID: "000.00.00.H41", ReceiverType: "0"}, {OrganID: "000.00.00.H14", ReceiverType: "1"}},
			trace:       []envelope.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: "2018/09/28 00:00:00"}},
			attachments: []wantAttachment{{contentID: "cid:209", name: "1896_QD-TTg_m_294779.doc", size: zipSize, innerName: "3ed3cc90-1dcb-4382-9725-1de9cd899790.edxml", innerSize: innerSize}},
			signatureNS: envelope.Namespace,
		},
	}
	nghean, vpcp := "000.00.00.H41", "000.00.00.G22"
	statuses := map[string]wantStatus{
		"status.edxml":                      {from: nghean, responseOrgan: vpcp, code: "01", timestamp: "2018/09/28 17:25:11", description: "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"},
		"status_inbox_01.edxml":             {from: nghean, responseOrgan: vpcp, code: "01", timestamp: "2015/09/20 11:08:36", description: "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"},
		"status_rejection_02.edxml":         {from: nghean, responseOrgan: vpcp, code: "02", timestamp: "2015/09/20 11:08:36", description: "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử"},
		"status_acceptance_03.edxml":        {from: nghean, responseOrgan: vpcp, code: "03", timestamp: "2015/09/20 11:08:36", description: "Văn thư cơ - Phòng Văn thư - Lưu trữ: Tiếp nhận văn bản điện tử, vào sổ văn bản đến của đơn vị"},
		"status_assignment_04.edxml":        {from: nghean, responseOrgan: vpcp, code: "04", timestamp: "2015/09/20 11:08:36", description: "Lãnh đạo: Phân công xử lý"},
		"status_processing_05.edxml":        {from: nghean, responseOrgan: vpcp, code: "05", timestamp: "2015/09/20 11:08:36", description: "Đang xử lý văn bản đến"},
		"status_finish_06.edxml":            {from: nghean, responseOrgan: vpcp, code: "06", timestamp: "2015/09/20 11:08:36", description: "Văn thư: Ban hành văn bản đến, hoàn thành xử lý"},
		"status_cancellation_13.edxml":      {from: vpcp, responseOrgan: nghean, code: "13", timestamp: "2015/09/20 11:08:36", description: "Văn thư yêu cầu lấy lại văn bản điện tử kèm lý do"},
		"status_change-acceptance_15.edxml": {from: nghean, responseOrgan: vpcp, code: "15", timestamp: "2015/09/20 11:08:36", description: "Văn thư đồng ý yêu cầu cập nhật, lấy lại"},
		"status_change-rejection_16.edxml":  {from: nghean, responseOrgan: vpcp, code: "16", timestamp: "2015/09/20 11:08:36", description: "Văn thư từ chối yêu cầu cập nhật, lấy lại"},
	}
	for _, name := range sampleNames(t) {
		t.Run(name, func(t *testing.T) {
			pkt, warns, err := envelope.Parse(readSample(t, name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if want, ok := edocs[name]; ok {
				checkEdoc(t, pkt, warns, want)
				return
			}
			want, ok := statuses[name]
			if !ok {
				t.Fatalf("no expectations for sample %s", name)
			}
			s := pkt.Status
			if s == nil || pkt.Edoc != nil {
				t.Fatalf("not parsed as a status packet: %+v", pkt)
			}
			if got := s.From.OrganID; got != want.from {
				t.Errorf("From/OrganId = %q, want %q", got, want.from)
			}
			if got := s.ResponseFor.OrganID; got != want.responseOrgan {
				t.Errorf("ResponseFor/OrganId = %q, want %q", got, want.responseOrgan)
			}
			if got, want := s.ResponseFor.DocumentID, vpcpDocID; got != want {
				t.Errorf("ResponseFor/DocumentId = %q, want %q", got, want)
			}
			if got, want := s.ResponseFor.Code, "7816/VPCP-TTĐT"; got != want {
				t.Errorf("ResponseFor/Code = %q, want %q", got, want)
			}
			if got := s.StatusCode; got != want.code {
				t.Errorf("StatusCode = %q, want %q", got, want.code)
			}
			if got := s.Timestamp; got != want.timestamp {
				t.Errorf("Timestamp = %q, want %q", got, want.timestamp)
			}
			if got := s.Description; got != want.description {
				t.Errorf("Description = %q, want %q", got, want.description)
			}
			if s.StaffInfo.Staff == "" || s.StaffInfo.Mobile != "84912000001" {
				t.Errorf("StaffInfo = %+v, want the sample's staff", s.StaffInfo)
			}
			if len(warns) != 0 {
				t.Errorf("warnings on a clean status sample: %v", warns)
			}
			if err := envelope.Validate(pkt, envelope.ProfileReceive()); err != nil {
				t.Errorf("Validate(receive): %v", err)
			}
		})
	}
}

func checkEdoc(t *testing.T, pkt *envelope.Packet, warns []envelope.Warning, want wantEdoc) {
	t.Helper()
	e := pkt.Edoc
	if e == nil || pkt.Status != nil {
		t.Fatalf("not parsed as an edoc: %+v", pkt)
	}
	h := e.Header
	if got := h.From.OrganID; got != want.from {
		t.Errorf("From/OrganId = %q, want %q", got, want.from)
	}
	var to []string
	for _, o := range h.To {
		to = append(to, o.OrganID)
	}
	if !slices.Equal(to, want.to) {
		t.Errorf("To/OrganId = %q, want %q", to, want.to)
	}
	if got := h.DocumentID; got != want.documentID {
		t.Errorf("DocumentId = %q, want %q", got, want.documentID)
	}
	if h.Code.Number != want.codeNumber || h.Code.Notation != want.codeNotation {
		t.Errorf("Code = %+v, want %s/%s", h.Code, want.codeNumber, want.codeNotation)
	}
	if got := h.Promulgation.Date; got != want.date {
		t.Errorf("PromulgationDate = %q, want %q", got, want.date)
	}
	if !reflect.DeepEqual(h.ResponseFor, want.responseFor) {
		t.Errorf("ResponseFor = %+v, want %+v", h.ResponseFor, want.responseFor)
	}
	if !reflect.DeepEqual(e.Trace, want.trace) {
		t.Errorf("Trace = %+v, want %+v", e.Trace, want.trace)
	}
	b := e.Bussiness
	switch {
	case want.bussinessType == "" && b != nil:
		t.Errorf("Bussiness = %+v, want none", b)
	case want.bussinessType != "" && b == nil:
		t.Errorf("Bussiness missing, want type %s", want.bussinessType)
	case b != nil:
		if b.BussinessDocType != want.bussinessType {
			t.Errorf("BussinessDocType = %q, want %q", b.BussinessDocType, want.bussinessType)
		}
		if b.DocumentID != want.bussinessDocID {
			t.Errorf("Bussiness/DocumentId = %q, want %q", b.DocumentID, want.bussinessDocID)
		}
		if b.Paper != "0" || len(b.StaffInfo) != 1 || b.StaffInfo[0].Staff != "Nguyễn Thị Ngọc Trâm" {
			t.Errorf("Bussiness Paper/StaffInfo = %q/%+v", b.Paper, b.StaffInfo)
		}
		if !reflect.DeepEqual(b.Replacements, want.replacements) {
			t.Errorf("ReplacementInfoList = %+v, want %+v", b.Replacements, want.replacements)
		}
		var receivers []envelope.Receiver
		if b.DocumentInfo != nil {
			receivers = b.DocumentInfo.ReceiverList
			if b.DocumentInfo.DocumentInfo != "1" || b.DocumentInfo.DocumentReceiver != "1" {
				t.Errorf("BussinessDocumentInfo = %+v", b.DocumentInfo)
			}
		}
		if !reflect.DeepEqual(receivers, want.receivers) {
			t.Errorf("ReceiverList = %+v, want %+v", receivers, want.receivers)
		}
	}
	if len(e.Attachments) != len(want.attachments) || len(e.Manifest) != len(want.attachments) {
		t.Fatalf("%d attachments and %d manifest references, want %d", len(e.Attachments), len(e.Manifest), len(want.attachments))
	}
	for i, wa := range want.attachments {
		a := e.Attachments[i]
		if a.ContentID != wa.contentID || a.Name != wa.name {
			t.Errorf("attachment %d = %q %q, want %q %q", i, a.ContentID, a.Name, wa.contentID, wa.name)
		}
		if !envelope.SameContentID(e.Manifest[i].ContentID, a.ContentID) {
			t.Errorf("manifest reference %d has ContentId %q", i, e.Manifest[i].ContentID)
		}
		if got := len(a.Data); got != wa.size {
			t.Errorf("attachment %d decodes to %d bytes, want %d", i, got, wa.size)
		}
		if got := a.DecodeError != ""; got != wa.decodeError {
			t.Errorf("attachment %d DecodeError = %q", i, a.DecodeError)
		}
		if wa.innerName == "" {
			continue
		}
		inner, err := a.Inner(0)
		if err != nil {
			t.Fatalf("attachment %d Inner: %v", i, err)
		}
		if inner.Name != wa.innerName || len(inner.Data) != wa.innerSize || inner.ContentType != "application/xml" {
			t.Errorf("attachment %d inner file = %q (%s) %d bytes, want %q %d bytes", i, inner.Name, inner.ContentType, len(inner.Data), wa.innerName, wa.innerSize)
		}
	}
	var extras []string
	for _, x := range pkt.Extras {
		extras = append(extras, x.Path)
	}
	if !slices.Equal(extras, want.extras) {
		t.Errorf("extras at %q, want %q", extras, want.extras)
	}
	if pkt.Signature == nil {
		t.Fatal("Signature not found")
	}
	if got := pkt.Signature.Namespace; got != want.signatureNS {
		t.Errorf("Signature namespace = %q, want %q", got, want.signatureNS)
	}
	if got := pkt.Signature.SignatureMethod; got != "http://www.w3.org/2000/09/xmldsig#rsa-sha1" {
		t.Errorf("SignatureMethod = %q", got)
	}
	if len(pkt.Signature.Certificates) != 1 {
		t.Errorf("%d certificates in the Signature, want 1", len(pkt.Signature.Certificates))
	}
	codes := warningCodes(warns)
	if want.signatureNS != envelope.XMLDSigNamespace && !slices.Contains(codes, "signature-namespace") {
		t.Errorf("no signature-namespace warning among %v", codes)
	}
	if len(want.extras) > 0 && !slices.Contains(codes, "unknown-element") {
		t.Errorf("no unknown-element warning among %v", codes)
	}
	if err := envelope.Validate(pkt, envelope.ProfileReceive()); (err != nil) != slices.ContainsFunc(want.attachments, func(a wantAttachment) bool { return a.decodeError }) {
		t.Errorf("Validate(receive) = %v", err)
	}
}

func TestParse_SampleQuirks(t *testing.T) {
	t.Run("StrayBytes", func(t *testing.T) {
		_, warns, err := envelope.Parse(readSample(t, "edoc_new.edxml"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(warningCodes(warns), "leading-bytes") {
			t.Errorf("no leading-bytes warning in %v", warns)
		}
	})
	t.Run("EmptyResponseForAndUndeclaredPrefix", func(t *testing.T) {
		_, warns, err := envelope.Parse(readSample(t, "edoc.edxml"))
		if err != nil {
			t.Fatal(err)
		}
		codes := warningCodes(warns)
		for _, want := range []string{"empty-element", "undeclared-prefix", "attachment-decode"} {
			if !slices.Contains(codes, want) {
				t.Errorf("no %s warning among %v", want, codes)
			}
		}
	})
}
