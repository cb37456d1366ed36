package web_test

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"net/http"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// TestWeb_BrokenZip: a ZIP attachment whose end record is cut short is
// said, on both sides' Chi tiết, not to open, and still downloads as it
// was sent.
func TestWeb_BrokenZip(t *testing.T) {
	a := newAxis(t, nil)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("cong-van.pdf")
	w.Write([]byte("%PDF-1.4 công văn\n%%EOF\n"))
	zw.Close()
	broken := buf.Bytes()[:buf.Len()-10]
	id := a.vpcp.send(t, testkit.Letter{
		From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghea},
		Attachments: []testkit.File{{Name: "Công văn nén.zip", ContentType: "application/zip", Data: broken}},
	})
	in := a.nghean.incoming(t, a.vpcp, id, nghea)

	sender := newClient(t, a.vpcp)
	sender.login("vanthu.vpcp")
	recipient := newClient(t, a.nghean)
	recipient.login("vanthu.nghean")
	for _, side := range []struct {
		c  *client
		id string
	}{{sender, id}, {recipient, in}} {
		p := side.c.get("/van-ban/" + side.id)
		mustContain(t, "Chi tiết", p.body, "Công văn nén.zip", "Tệp nén không mở được")
		mustNotContain(t, "Chi tiết", p.body, "Lưu ý khi tiếp nhận")
		p = side.c.get("/van-ban/" + side.id + "/dinh-kem/1")
		if p.status != http.StatusOK || p.body != string(broken) {
			t.Errorf("download: %d, %d bytes, want the %d bytes sent", p.status, len(p.body), len(broken))
		}
	}
}

// TestWeb_ReceiveNotes: what the receive profile tolerated in a document
// another product sent (one agency under both its codes, a hub's
// TraceHeader without OrganId) is listed on its Chi tiết.
func TestWeb_ReceiveNotes(t *testing.T) {
	a := newAxis(t, nil)
	const g12 = "000.00.00.G12"
	is, err := a.ax.CA.Issue(signing.IssueRequest{Agency: g12, Name: "Bộ Tài chính"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	code, _ := envelope.ParseAgencyCode(g12, envelope.CodeStrict)
	a.ax.Register(testkit.HostedEntry("other-product", gateway.HostedAgency{Code: code, Name: "Bộ Tài chính", Signer: signer}))
	testkit.Eventually(t, "the sender in the directory", func() bool { _, ok := a.nghean.gw.Directory().Lookup(g12); return ok })

	p, _, err := envelope.Parse(testkit.Letter{From: g12, FromName: "Bộ Tài chính", To: []string{nghea}}.Packet(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Edoc.Header.To = []envelope.Organization{{OrganID: "H41", OrganName: "UBND tỉnh Nghệ An"}, {OrganID: nghea, OrganName: "UBND tỉnh Nghệ An (mã cũ)"}}
	p.Edoc.Trace = append(p.Edoc.Trace, envelope.TraceHeader{Timestamp: p.Edoc.Trace[0].Timestamp})
	b, err := envelope.Encoder{Lenient: true}.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bus.Open(t.Context(), bus.Options{URL: a.ax.URL, Name: "other-product"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: "lt.edoc.H41", MsgID: "other:1", Packet: signed}); err != nil {
		t.Fatal(err)
	}
	var in string
	testkit.Eventually(t, "the document at Nghệ An", func() bool {
		page, err := a.nghean.gw.Store().Documents(t.Context(), gateway.DocumentQuery{Agencies: []string{nghea}, Direction: gateway.Incoming, DocumentID: p.Edoc.Header.DocumentID})
		if err != nil || len(page.Documents) == 0 {
			return false
		}
		in = page.Documents[0].ID
		return true
	})
	c := newClient(t, a.nghean)
	c.login("vanthu.nghean")
	pg := c.get("/van-ban/" + in)
	mustContain(t, "Chi tiết", pg.body, "Lưu ý khi tiếp nhận", "coi là một nơi nhận", "TraceHeader không có OrganId")
}
