package envelope_test

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

var (
	roundTripSeed  = flag.Uint64("roundtrip.seed", 0, "seed of the generated round-trip packets (0: time-based)")
	roundTripCount = flag.Int("roundtrip.count", 400, "number of generated round-trip packets")
)

// gen makes random packets that pass strict validation, with Vietnamese
// text, characters that need escaping, 0–5 attachments, every
// BussinessDocType and every status code.
type gen struct{ r *rand.Rand }

var words = strings.Fields(`văn bản điện tử liên thông Ủy ban nhân dân tỉnh Nghệ An Văn phòng Chính phủ
	kết nối phần mềm quản lý báo cáo tình hình thực hiện chỉ đạo Thủ tướng khẩn trương triển khai
	Hà Nội Đà Nẵng Huế Cần Thơ quý IV năm 2025 đề nghị các bộ ngành địa phương phối hợp
	V/v Số ký hiệu QĐ-TTg <hẹn> A&B "trích" 'yếu' > ½ 𝔘`)

var agencies = []string{"000.00.00.G22", "000.00.00.H41", "000.00.12.H41", "002.00.20.H13", "000.00.00.G01",
	"000.00.00.H29", "000.01.00.H37", "000.02.02.H37", "G09.01", "H37.02.02", "000.00.00.K01"}

func (g gen) text(maxWords int) string {
	n := 1 + g.r.IntN(maxWords)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			switch g.r.IntN(12) {
			case 0:
				b.WriteString("\r\n")
			case 1:
				b.WriteString("\n\t")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(words[g.r.IntN(len(words))])
	}
	return b.String()
}

// maybe returns s or, half the time, the empty string.
func (g gen) maybe(s string) string {
	if g.r.IntN(2) == 0 {
		return ""
	}
	return s
}

func (g gen) agency() string { return agencies[g.r.IntN(len(agencies))] }

func (g gen) date() envelope.Date {
	t := time.Date(2015+g.r.IntN(12), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, envelope.VietnamTime())
	return envelope.DateOf(t)
}

func (g gen) timestamp() envelope.Timestamp {
	return envelope.TimestampOf(time.Unix(1_400_000_000+g.r.Int64N(500_000_000), 0))
}

func (g gen) organization(code string) envelope.Organization {
	return envelope.Organization{
		OrganID:              code,
		OrganizationInCharge: g.maybe(g.text(8)),
		OrganName:            g.text(8),
		OrganAdd:             g.maybe(g.text(12)),
		Email:                g.maybe("vanthu@" + strings.ToLower(strings.ReplaceAll(code, ".", "")) + ".gov.vn"),
		Telephone:            g.maybe("024 3823 1234"),
		Fax:                  g.maybe("024 3823 5678"),
		Website:              g.maybe("https://example.gov.vn"),
	}
}

func (g gen) staff() envelope.StaffInfo {
	return envelope.StaffInfo{Department: g.text(4), Staff: g.text(3), Mobile: g.maybe("0912000001"), Email: g.maybe("canbo@gov.vn")}
}

func (g gen) edoc() *envelope.Packet {
	from := g.agency()
	var to []envelope.Organization
	for _, code := range agencies[:1+g.r.IntN(4)] {
		if code != from {
			to = append(to, g.organization(code))
		}
	}
	if len(to) == 0 {
		to = append(to, g.organization("000.00.00.H41"))
		if from == "000.00.00.H41" {
			from = "000.00.00.G22"
		}
	}
	code := envelope.Code{Number: itoa(1 + g.r.IntN(99999)), Notation: g.maybe("VPCP-TTĐT") + "QĐ"}
	date := g.date()
	h := envelope.MessageHeader{
		From:         g.organization(from),
		To:           to,
		Code:         code,
		Promulgation: envelope.PromulgationInfo{Place: g.maybe("Hà Nội"), Date: date},
		DocumentType: envelope.DocumentType{Type: "2", TypeDetail: g.maybe("18"), TypeName: g.maybe("Công văn")},
		Subject:      g.text(40),
		Content:      g.maybe(g.text(30)),
		SignerInfo:   envelope.SignerInfo{Competence: g.maybe("KT. BỘ TRƯỞNG"), Position: g.maybe("Thứ trưởng"), FullName: g.maybe(g.text(3))},
		DueDate:      envelope.Date(g.maybe(string(g.date()))),
		DocumentID:   envelope.MakeDocumentID(from, date, code),
	}
	for range g.r.IntN(3) {
		h.ToPlaces = append(h.ToPlaces, g.text(6))
	}
	if g.r.IntN(3) > 0 {
		h.OtherInfo = envelope.OtherInfo{
			Priority:             envelope.Priorities()[g.r.IntN(5)],
			SphereOfPromulgation: g.maybe(g.text(5)),
			TyperNotation:        g.maybe("TVC"),
			PromulgationAmount:   g.maybe(itoa(g.r.IntN(100))),
			PageAmount:           g.maybe(itoa(1 + g.r.IntN(40))),
		}
		for range g.r.IntN(3) {
			h.OtherInfo.Appendixes = append(h.OtherInfo.Appendixes, g.text(6))
		}
	}
	for range g.r.IntN(3) {
		d := g.date()
		h.ResponseFor = append(h.ResponseFor, envelope.ResponseFor{
			OrganID: g.agency(), Code: g.maybe("12/UBND-VP"), PromulgationDate: envelope.Date(g.maybe(string(d))),
			DocumentID: envelope.MakeDocumentID(g.agency(), d, envelope.Code{Number: "12", Notation: "UBND-VP"}),
		})
	}
	h.SteeringType = envelope.SteeringType(g.maybe(string(envelope.SteeringTypes()[g.r.IntN(3)])))
	e := &envelope.Edoc{Header: h}
	for range 1 + g.r.IntN(3) {
		e.Trace = append(e.Trace, envelope.TraceHeader{OrganID: g.agency(), Timestamp: g.timestamp()})
	}
	types := envelope.BussinessDocTypes()
	b := &envelope.Bussiness{BussinessDocType: types[g.r.IntN(len(types))], BussinessDocReason: g.maybe(g.text(6)), Paper: g.maybe(itoa(g.r.IntN(2)))}
	original := envelope.MakeDocumentID(from, g.date(), envelope.Code{Number: "7806", Notation: "VPCP-TTĐT"})
	switch b.BussinessDocType {
	case envelope.BussinessRevoke:
		b.DocumentID = original
	case envelope.BussinessUpdate:
		b.DocumentID = original
		b.DocumentInfo = &envelope.BussinessDocumentInfo{DocumentInfo: itoa(g.r.IntN(2)), DocumentReceiver: itoa(g.r.IntN(2))}
		for range g.r.IntN(3) {
			b.DocumentInfo.ReceiverList = append(b.DocumentInfo.ReceiverList, envelope.Receiver{OrganID: g.agency(), ReceiverType: itoa(g.r.IntN(2))})
		}
	case envelope.BussinessReplace:
		b.DocumentID = g.maybe(original)
		for range 1 + g.r.IntN(2) {
			ri := envelope.ReplacementInfo{DocumentID: original}
			for range g.r.IntN(3) {
				ri.OrganIDList = append(ri.OrganIDList, g.agency())
			}
			b.Replacements = append(b.Replacements, ri)
		}
	}
	for range g.r.IntN(3) {
		b.StaffInfo = append(b.StaffInfo, g.staff())
	}
	e.Bussiness = b
	for i := range g.r.IntN(6) {
		data := make([]byte, 1+g.r.IntN(3000))
		for j := range data {
			data[j] = byte(g.r.IntN(256))
		}
		a := envelope.Attachment{Name: "Tệp " + itoa(i+1) + " " + g.text(3) + ".pdf", ContentType: g.maybe("application/pdf"), Description: g.maybe(g.text(4)), Data: data}
		if g.r.IntN(2) == 0 {
			a.ContentID = "cid:" + itoa(100+i)
		}
		e.AddAttachment(a)
	}
	return &envelope.Packet{Edoc: e}
}

func (g gen) status() *envelope.Packet {
	codes := envelope.StatusCodes()
	s := &envelope.Status{
		From: g.organization(g.agency()),
		ResponseFor: envelope.ResponseFor{
			OrganID: g.agency(), Code: g.maybe("7816/VPCP-TTĐT"), PromulgationDate: envelope.Date(g.maybe(string(g.date()))),
			DocumentID: envelope.MakeDocumentID("000.00.00.G22", g.date(), envelope.Code{Number: "7816", Notation: "VPCP-TTĐT"}),
		},
		StaffInfo:   g.staff(),
		StatusCode:  codes[g.r.IntN(len(codes))],
		Description: g.text(20),
		Timestamp:   g.timestamp(),
	}
	return &envelope.Packet{Status: s}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRoundTrip_Generated(t *testing.T) {
	seed := *roundTripSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -roundtrip.seed=%d)", seed, seed)
	g := gen{rand.New(rand.NewPCG(seed, seed>>1))}
	seenTypes := map[envelope.BussinessDocType]bool{}
	seenCodes := map[envelope.StatusCode]bool{}
	seenAttachments := map[int]bool{}
	for i := 0; i < *roundTripCount; i++ {
		var p *envelope.Packet
		if i%3 == 2 {
			p = g.status()
			seenCodes[p.Status.StatusCode] = true
		} else {
			p = g.edoc()
			seenTypes[p.Edoc.Bussiness.BussinessDocType] = true
			seenAttachments[len(p.Edoc.Attachments)] = true
		}
		b, err := envelope.Encode(p)
		if err != nil {
			t.Fatalf("packet %d: Encode: %v", i, err)
		}
		got, _, err := envelope.Parse(b)
		if err != nil {
			t.Fatalf("packet %d: Parse: %v\n%s", i, err, b)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("packet %d: parse(encode(p)) != p\n got: %+v\nwant: %+v", i, show(got), show(p))
		}
		again, err := envelope.Encode(got)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("packet %d: encoding the parsed packet gives other bytes (err %v)", i, err)
		}
	}
	if *roundTripCount >= 100 {
		if len(seenTypes) != 4 || len(seenCodes) != 9 || len(seenAttachments) != 6 {
			t.Errorf("generator coverage: %d BussinessDocTypes, %d status codes, %d attachment counts", len(seenTypes), len(seenCodes), len(seenAttachments))
		}
	}
}

// show prints the parts of a packet that differ most often.
func show(p *envelope.Packet) any {
	if p.Status != nil {
		return *p.Status
	}
	return struct {
		H envelope.MessageHeader
		T []envelope.TraceHeader
		B *envelope.Bussiness
		M []envelope.Reference
		N int
	}{p.Edoc.Header, p.Edoc.Trace, p.Edoc.Bussiness, p.Edoc.Manifest, len(p.Edoc.Attachments)}
}

// TestRoundTrip_Samples re-encodes every official sample as received and
// checks the result reads back to the same values. The Signature and the
// vendor extras are not written again (Encode never writes them), so they
// are left out of the comparison.
func TestRoundTrip_Samples(t *testing.T) {
	for _, name := range sampleNames(t) {
		t.Run(name, func(t *testing.T) {
			first, _, err := envelope.Parse(readSample(t, name))
			if err != nil {
				t.Fatal(err)
			}
			b, err := envelope.Encoder{Lenient: true}.Encode(first)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			second, warns, err := envelope.Parse(b)
			if err != nil {
				t.Fatalf("re-Parse: %v", err)
			}
			first.Signature, first.Extras = nil, nil
			if !reflect.DeepEqual(second, first) {
				t.Errorf("encode(parse(sample)) reads back differently\n got: %+v\nwant: %+v", show(second), show(first))
			}
			for _, w := range warns {
				switch w.Code {
				case "no-signature", "attachment-decode":
				default:
					t.Errorf("re-encoded sample gives warning %v", w)
				}
			}
		})
	}
}
