package gateway_test

import (
	"archive/zip"
	"bytes"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/testkit"
)

// signedPDF is a small PDF with a signature dictionary, as signing
// software writes it.
const signedPDF = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" +
	"2 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents <3082> >>\nendobj\n" +
	"trailer\n<< /Root 1 0 R >>\n%%EOF\n"

// reportRows returns the report rows of a gateway's store for agency.
func reportRows(t *testing.T, gw *gateway.Gateway, agency string) []gateway.ReportRow {
	t.Helper()
	var rows []gateway.ReportRow
	err := gw.Store().ReportRows(t.Context(), gateway.ReportQuery{Under: agency}, func(r *gateway.ReportRow) error {
		rows = append(rows, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestGateway_ReportRows: a document's signed PDFs are counted at both
// ends, and its delivery's milestones follow the statuses: set at the
// recipient when it emits them, at the sender when they arrive.
func TestGateway_ReportRows(t *testing.T) {
	_, g22, h41, _ := delivered(t)

	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "phụ lục.pdf", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(signedPDF))
	zw.Close()
	letter := testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghean}, Number: "17",
		Attachments: []testkit.File{
			{Name: "công văn.pdf", ContentType: "application/pdf", Data: []byte(signedPDF)},
			{Name: "dự thảo.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\n%%EOF\n")},
			{Name: "phụ lục.zip", ContentType: "application/zip", Data: zipped.Bytes()},
		}}
	doc, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: letter.Packet(t)})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Attachments != 3 || doc.SignedPDFs != 1 {
		t.Errorf("outgoing: %d attachments, %d signed PDFs; want 3 and 1", doc.Attachments, doc.SignedPDFs)
	}
	testkit.Eventually(t, "01", func() bool { return deliveryState(t, g22, doc.ID, nghean) == envelope.StateArrived })
	var in gateway.DocumentSummary
	for _, d := range incoming(t, h41, nghean) {
		if d.DocumentID == doc.DocumentID {
			in = d
		}
	}
	if in.ID == "" || in.SignedPDFs != 1 {
		t.Fatalf("incoming: %+v, want 1 signed PDF", in.Document)
	}

	for _, c := range []envelope.StatusCode{envelope.StatusAccepted, envelope.StatusDone} {
		if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: in.ID, Code: c}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, "done at VPCP", func() bool { return deliveryState(t, g22, doc.ID, nghean) == envelope.StateDone })

	row := func(gw *gateway.Gateway, agency, id string) gateway.ReportRow {
		for _, r := range reportRows(t, gw, agency) {
			if r.Document == id {
				return r
			}
		}
		t.Fatalf("no report row of %s", id)
		return gateway.ReportRow{}
	}
	for _, r := range []gateway.ReportRow{row(g22, vpcp, doc.ID), row(h41, nghean, in.ID)} {
		if r.SignedPDFs != 1 || r.ArrivedAt.IsZero() || r.AcceptedAt.IsZero() || r.DoneAt.IsZero() ||
			r.ArrivedAt.Before(r.CreatedAt.Add(-time.Minute)) || r.AcceptedAt.Before(r.ArrivedAt) || r.DoneAt.Before(r.AcceptedAt) {
			t.Errorf("%s row: %+v", r.Direction, r)
		}
	}
	if r := row(h41, nghean, in.ID); !r.ArrivedAt.Equal(r.CreatedAt) {
		t.Errorf("the incoming delivery arrived at %s, want when it was received, %s", r.ArrivedAt, r.CreatedAt)
	}
}
