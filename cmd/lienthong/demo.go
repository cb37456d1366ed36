package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// runDemo shows what lienthong does with nothing else running. Until the
// gateway lands it walks one document through the packet layer: build, encode
// strictly, parse leniently, follow its statuses through the lifecycle.
func runDemo(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("demo", "demo", `
Runs a self-contained demonstration: Văn phòng Chính phủ sends a công văn to
UBND tỉnh Nghệ An; the packet is built, encoded, read back and its
processing statuses are followed through the lifecycle. Needs no network,
no broker and no files.`)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	now := time.Now()
	date := envelope.DateOf(now)
	vpcp := envelope.Organization{OrganID: "000.00.00.G22", OrganName: "Văn phòng Chính phủ", OrganAdd: "Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội", Email: "vpcp@chinhphu.vn"}
	nghean := envelope.Organization{OrganID: "000.00.00.H41", OrganName: "UBND tỉnh Nghệ An", OrganAdd: "Số 03 Trường Thi, TP Vinh, Nghệ An", Email: "ubnd@nghean.gov.vn"}
	code := envelope.Code{Number: "7816", Notation: "VPCP-KSTT"}
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From:         vpcp,
			To:           []envelope.Organization{nghean},
			Code:         code,
			Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: date},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      "V/v báo cáo tình hình liên thông văn bản điện tử quý IV",
			SignerInfo:   envelope.SignerInfo{Competence: "KT. BỘ TRƯỞNG, CHỦ NHIỆM", Position: "Phó Chủ nhiệm", FullName: "Nguyễn Văn A"},
			DueDate:      envelope.DateOf(now.AddDate(0, 0, 10)),
			OtherInfo:    envelope.OtherInfo{Priority: envelope.PriorityUrgent, PageAmount: "2"},
			DocumentID:   envelope.MakeDocumentID(vpcp.OrganID, date, code),
		},
		Trace:     []envelope.TraceHeader{{OrganID: vpcp.OrganID, Timestamp: envelope.TimestampOf(now)}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	e.AddAttachment(envelope.Attachment{Name: "congvan.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("Kính gửi UBND tỉnh Nghệ An …\n")})
	b, err := envelope.Encode(&envelope.Packet{Edoc: e})
	if err != nil {
		return fmt.Errorf("demo: encode: %w", err)
	}
	fmt.Fprintf(m.Stdout, "== Gói tin edXML đã tạo (%d byte), đọc lại:\n\n", len(b))
	pkt, warns, err := envelope.Parse(b)
	if err != nil {
		return fmt.Errorf("demo: parse: %w", err)
	}
	if err := writeSummary(m.Stdout, len(b), pkt, warns); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, "\n== Trạng thái xử lý tại UBND tỉnh Nghệ An (đến không theo thứ tự):")
	events := []envelope.StatusEvent{
		{Code: envelope.StatusAccepted, From: envelope.PartyRecipient},
		{Code: envelope.StatusArrived, From: envelope.PartyRecipient},
		{Code: envelope.StatusProcessing, From: envelope.PartyRecipient},
		{Code: envelope.StatusRecallRequested, From: envelope.PartySender},
		{Code: envelope.StatusRecallRefused, From: envelope.PartyRecipient},
		{Code: envelope.StatusDone, From: envelope.PartyRecipient},
		{Code: envelope.StatusDone, From: envelope.PartyRecipient},
	}
	var lc envelope.Lifecycle
	for _, ev := range events {
		next, err := lc.Apply(ev.Code, ev.From)
		if err != nil {
			if te, ok := err.(*envelope.TransitionError); ok {
				fmt.Fprintf(m.Stdout, "  %s %-26s → bỏ qua: %s\n", ev.Code, ev.Code.Name(), te.MessageVI())
				continue
			}
			return err
		}
		fmt.Fprintf(m.Stdout, "  %s %-26s → %s\n", ev.Code, ev.Code.Name(), next.State.Name())
		lc = next
	}
	return nil
}
