package vxp_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/gateway/vxp"
	"github.com/lienthong/lienthong/gateway/vxp/client"
	"github.com/lienthong/lienthong/internal/testkit"
)

const (
	g22     = "000.00.00.G22"
	g22Name = "Văn phòng Chính phủ"
	h41     = "000.00.00.H41"
	h41Name = "UBND tỉnh Nghệ An"
)

// side is a gateway with its VXP face and a DMS that uses it through the
// SDK-like client.
type side struct {
	gw     *gateway.Gateway
	face   *vxp.Handler
	srv    *httptest.Server
	dms    *client.Client
	system string
}

// newSide starts a gateway hosting agencies, its VXP face under the real
// axis's prefix with one system acting for all of them, and that system's
// client, made once as a DMS makes its singleton.
func newSide(t *testing.T, ax *testkit.Axis, id, system, secret string, agencies ...[2]string) *side {
	t.Helper()
	gw := ax.Gateway(id, nil, agencies...)
	var codes []string
	for _, a := range agencies {
		codes = append(codes, a[0])
	}
	face, err := vxp.New(vxp.Options{
		Gateway: gw, Store: gw.Store().(vxp.Store), Directory: gw.Directory(),
		Systems: []vxp.System{{ID: system, Secret: []byte(secret), Agencies: codes}},
		Prefix:  vxp.DefaultPrefix, Log: zaptest.NewLogger(t).Named(id + "-vxp"),
	}, hosted(gw))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(face)
	t.Cleanup(srv.Close)
	return &side{gw: gw, face: face, srv: srv, system: system,
		dms: client.New(srv.URL+vxp.DefaultPrefix, system, secret, time.Now().Add(-72*time.Hour), nil)}
}

// statusPacket is a status edXML as a DMS writes it: from agency about
// the document docID that sender sent.
func statusPacket(t *testing.T, from, fromName, sender, docID string, code envelope.StatusCode, description string) []byte {
	t.Helper()
	b, err := envelope.Encode(&envelope.Packet{Status: &envelope.Status{
		From:        envelope.Organization{OrganID: from, OrganName: fromName},
		ResponseFor: envelope.ResponseFor{OrganID: sender, DocumentID: docID},
		StaffInfo:   envelope.StaffInfo{Department: "Văn phòng", Staff: "Nguyễn Thị Văn Thư"},
		StatusCode:  code, Description: description, Timestamp: envelope.TimestampOf(time.Now()),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantOK(t *testing.T, what string, r *client.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.Status != "OK" || r.ErrorCode != "0" {
		t.Fatalf("%s: %s %s %s", what, r.Status, r.ErrorCode, r.ErrorDesc)
	}
}

// receive waits for an item of kind from the DMS's list, takes it
// (getEdoc, then updateStatus done) and returns its packet.
func (s *side) receive(t *testing.T, kind string, match func(p *envelope.Packet) bool) (*envelope.Packet, []byte) {
	t.Helper()
	ctx := t.Context()
	var (
		found  *envelope.Packet
		packet []byte
	)
	testkit.Eventually(t, s.system+": a "+kind+" in getReceivedEdocList", func() bool {
		l, err := s.dms.GetReceivedEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", kind}})
		wantOK(t, "getReceivedEdocList", &l.Response, err)
		for _, it := range l.Data {
			if it.MessageType != kind || it.Status != "INITIAL" {
				t.Fatalf("item %+v", it)
			}
			e, err := s.dms.GetEdoc(ctx, client.Header{{"filePath", "/var/qlvb/edoc"}, {"docId", it.DocID}})
			wantOK(t, "getEdoc", &e.Response, err)
			p, _, err := envelope.Parse(e.Packet)
			if err != nil {
				t.Fatalf("getEdoc %s: %v", it.DocID, err)
			}
			// downloadEdoc answers the same packet, raw; the DMS's map
			// may say docid (Bkav's spelling) beside an older docId.
			raw, err := s.dms.DownloadEdoc(ctx, client.Header{{"filePath", "/var/qlvb/edoc"}, {"docid", it.DocID}})
			if err != nil || string(raw) != string(e.Packet) {
				t.Fatalf("downloadEdoc %s: %d bytes, %v; getEdoc had %d", it.DocID, len(raw), err, len(e.Packet))
			}
			if !match(p) {
				continue
			}
			r, err := s.dms.UpdateStatus(ctx, client.Header{{"status", "done"}, {"docId", it.DocID}})
			wantOK(t, "updateStatus", r, err)
			found, packet = p, e.Packet
			return true
		}
		return false
	})
	return found, packet
}

func statusOf(code envelope.StatusCode, docID string) func(p *envelope.Packet) bool {
	return func(p *envelope.Packet) bool {
		return p.Status != nil && p.Status.StatusCode == code && p.Status.ResponseFor.DocumentID == docID
	}
}

// TestVXP_Exchange: two document-management systems that speak only the
// SDK's protocol exchange a document with attachments and every status of
// its life, through two gateways; then a recall.
func TestVXP_Exchange(t *testing.T) {
	ax := testkit.NewAxis(t)
	a := newSide(t, ax, "vpcp", "qlvb.vpcp", "bí-mật-của-VPCP-0123456789abcdef", [2]string{g22, g22Name})
	b := newSide(t, ax, "nghean", "qlvb.nghean", "secret-of-nghe-an-0123456789abcd", [2]string{h41, h41Name})
	ctx := t.Context()

	files := []testkit.File{
		{Name: "Công văn 15.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 công văn\n%%EOF\n")},
		{Name: "Phụ lục.docx", ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Data: []byte("PK\x03\x04 phụ lục")},
	}
	letter := testkit.Letter{From: g22, FromName: g22Name, To: []string{h41}, Number: "15", Attachments: files}.Packet(t)
	sent, err := a.dms.SendEdoc(ctx, client.Header{{"from", g22}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"to", []string{h41}}}, letter)
	wantOK(t, "sendEdoc", &sent.Response, err)
	if sent.DocID == "" {
		t.Fatal("sendEdoc answered no DocId")
	}
	// Sent again (the SDK has no idempotency key; DMSs retry): the same
	// document, the same DocId.
	again, err := a.dms.SendEdoc(ctx, client.Header{{"from", g22}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}}, letter)
	wantOK(t, "sendEdoc again", &again.Response, err)
	if again.DocID != sent.DocID {
		t.Errorf("sent twice: DocId %s then %s", sent.DocID, again.DocID)
	}

	got, _ := b.receive(t, "edoc", func(p *envelope.Packet) bool { return p.Edoc != nil })
	docID := got.Edoc.Header.DocumentID
	if got.Edoc.Header.From.OrganID != g22 || len(got.Edoc.Attachments) != 2 || string(got.Edoc.Attachments[1].Data) != string(files[1].Data) {
		t.Errorf("B received %+v with %d attachments", got.Edoc.Header.From, len(got.Edoc.Attachments))
	}
	if got.Signature == nil {
		t.Error("the packet B's DMS received is not signed")
	}
	// Taken: no longer listed, not counted.
	if l, err := b.dms.GetReceivedEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}}); err != nil || len(l.Data) != 0 {
		t.Errorf("after done the list has %d items (%v)", len(l.Data), err)
	}
	if c, err := b.dms.Count(ctx, false, nil); err != nil || c.Count != 0 {
		t.Errorf("countReceiveEdoc after done: %+v, %v", c, err)
	}
	l, err := b.dms.GetReceivedEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}})
	if err != nil || len(l.Data) != 0 {
		t.Fatalf("list: %+v, %v", l, err)
	}
	if items, err := b.gw.Store().(vxp.Store).Inbox(ctx, gateway.InboxQuery{System: b.system, Kind: gateway.KindEdoc, Agencies: []string{h41}}); err != nil || len(items) != 0 {
		t.Fatalf("inbox after done: %+v, %v", items, err)
	}

	// A receives the 01 B's gateway sent by itself.
	a.receive(t, "status", statusOf(envelope.StatusArrived, docID))

	// B's DMS sends 03, 04, 05, 06 as status packets; A's DMS gets each.
	for _, code := range []envelope.StatusCode{envelope.StatusAccepted, envelope.StatusAssigned, envelope.StatusProcessing, envelope.StatusDone} {
		r, err := b.dms.SendEdoc(ctx, client.Header{{"from", h41}, {"servicetype", "eDoc"}, {"messagetype", "status"}},
			statusPacket(t, h41, h41Name, g22, docID, code, code.Name()))
		wantOK(t, "sendEdoc status "+string(code), &r.Response, err)
		st, _ := a.receive(t, "status", statusOf(code, docID))
		if st.Status.From.OrganID != h41 {
			t.Errorf("status %s from %s", code, st.Status.From.OrganID)
		}
	}
	// Each recipient's state, for the document sent.
	s, err := a.dms.GetSentEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"docId", sent.DocID}})
	wantOK(t, "getSentEdocList", &s.Response, err)
	if len(s.Data) != 1 || s.Data[0].ToCode != h41 || s.Data[0].ReceiveStatus != "done" || s.Data[0].SendStatus != "DONE" || s.Data[0].Notation != "15/VPCP-TH" {
		t.Errorf("getSentEdocList %+v", s.Data)
	}

	// A recall: A's DMS sends 13, B's DMS gets it and answers 15; A sees
	// the 15 and the delivery recalled.
	second := testkit.Letter{From: g22, FromName: g22Name, To: []string{h41}, Number: "16"}.Packet(t)
	sent2, err := a.dms.SendEdoc(ctx, client.Header{{"from", g22}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}}, second)
	wantOK(t, "sendEdoc 16", &sent2.Response, err)
	got2, _ := b.receive(t, "edoc", func(p *envelope.Packet) bool { return p.Edoc != nil && p.Edoc.Header.Code.Number == "16" })
	doc2 := got2.Edoc.Header.DocumentID
	a.receive(t, "status", statusOf(envelope.StatusArrived, doc2))
	r, err := a.dms.SendEdoc(ctx, client.Header{{"from", g22}, {"servicetype", "eDoc"}, {"messagetype", "status"}},
		statusPacket(t, g22, g22Name, g22, doc2, envelope.StatusRecallRequested, "Ban hành nhầm, xin lấy lại"))
	wantOK(t, "sendEdoc 13", &r.Response, err)
	b.receive(t, "status", statusOf(envelope.StatusRecallRequested, doc2))
	r, err = b.dms.SendEdoc(ctx, client.Header{{"from", h41}, {"servicetype", "eDoc"}, {"messagetype", "status"}},
		statusPacket(t, h41, h41Name, g22, doc2, envelope.StatusRecallAccepted, "Đồng ý"))
	wantOK(t, "sendEdoc 15", &r.Response, err)
	a.receive(t, "status", statusOf(envelope.StatusRecallAccepted, doc2))
	testkit.Eventually(t, "the second document recalled at A", func() bool {
		s, err := a.dms.GetSentEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"docId", sent2.DocID}})
		return err == nil && len(s.Data) == 1 && s.Data[0].ReceiveStatus == "recalled"
	})

	// The directory, as the SDK reads it.
	ag, err := b.dms.GetAgenciesList(ctx)
	wantOK(t, "getAgenciesList", &ag.Response, err)
	var codes []string
	for _, x := range ag.Data {
		codes = append(codes, x.Code)
	}
	if !slices.Contains(codes, g22) || !slices.Contains(codes, h41) {
		t.Errorf("getAgenciesList: %v", codes)
	}
}

// wantASCIIEnvelope checks an answer byte by byte: ASCII only (sendEdoc's
// is read as US-ASCII), status, ErrorCode and ErrorDesc JSON strings, and
// each of keys present as a string.
func wantASCIIEnvelope(t *testing.T, what string, raw []byte, keys ...string) map[string]any {
	t.Helper()
	for i, c := range raw {
		if c >= 0x80 {
			t.Errorf("%s: byte %d of the answer is not ASCII: %q", what, i, raw)
			break
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not JSON: %q", what, raw)
	}
	for _, k := range append([]string{"status", "ErrorCode", "ErrorDesc"}, keys...) {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s: %q is %#v, want a string, in %s", what, k, m[k], raw)
		}
	}
	return m
}

// TestVXP_Refusals: each bad request gets its FAIL envelope, with the keys
// the SDK reads even on failure, in ASCII, and nothing is stored or sent.
func TestVXP_Refusals(t *testing.T) {
	const (
		g18     = "000.00.00.G18"
		g18Name = "Bộ Y tế"
		secret  = "secret-of-the-government-office-0123"
	)
	ax := testkit.NewAxis(t)
	gw := ax.Gateway("hub", nil, [2]string{g22, g22Name}, [2]string{g18, g18Name}, [2]string{h41, h41Name})
	st := gw.Store().(vxp.Store)
	face, err := vxp.New(vxp.Options{
		Gateway: gw, Store: st, Directory: gw.Directory(), Prefix: vxp.DefaultPrefix, Log: zaptest.NewLogger(t),
		Systems: []vxp.System{
			{ID: "qlvb.vpcp", Secret: []byte(secret), Agencies: []string{g22}},
			{ID: "qlvb.byt", Secret: []byte("secret-of-the-ministry-of-health-0"), Agencies: []string{"G18"}},
		},
	}, hosted(gw))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(face)
	defer srv.Close()
	endpoint := srv.URL + vxp.DefaultPrefix + "/" // a trailing slash, as some DMSs are configured
	vpcp := client.New(endpoint, "qlvb.vpcp", secret, time.Now(), nil)
	byt := client.New(endpoint, "qlvb.byt", "secret-of-the-ministry-of-health-0", time.Now(), nil)
	ctx := t.Context()
	edoc := client.Header{{"from", g22}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}}
	letter := testkit.Letter{From: g22, FromName: g22Name, To: []string{g18}}.Packet(t)

	// stored counts the documents the gateway accepted to send: a refused
	// sendEdoc adds none. Incoming copies are left out, as they arrive in
	// their own time (a document to an agency on this same gateway).
	stored := func() int {
		page, err := st.Documents(ctx, gateway.DocumentQuery{Direction: gateway.Outgoing})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Documents)
	}
	send := func(c *client.Client, h client.Header, body []byte) (*client.Response, error) {
		r, err := c.SendEdoc(ctx, h, body)
		if err != nil {
			return nil, err
		}
		wantASCIIEnvelope(t, "sendEdoc", r.Raw, "DocId")
		return &r.Response, nil
	}
	for _, tc := range []struct {
		name string
		call func() (*client.Response, error)
		code string
	}{
		{"WrongSecret", func() (*client.Response, error) {
			return send(client.New(endpoint, "qlvb.vpcp", "not-the-secret", time.Now(), nil), edoc, letter)
		}, vxp.CodeUnknownSystem},
		{"UnknownSystem", func() (*client.Response, error) {
			return send(client.New(endpoint, "vxp.saas.03", secret, time.Now(), nil), edoc, letter)
		}, vxp.CodeUnknownSystem},
		{"FromNotTheSystems", func() (*client.Response, error) {
			return send(vpcp, client.Header{{"from", g18}, {"messagetype", "edoc"}}, letter)
		}, vxp.CodeFromNotAllowed},
		{"PacketFromAnother", func() (*client.Response, error) {
			other := testkit.Letter{From: g18, FromName: g18Name, To: []string{g22}}.Packet(t)
			return send(vpcp, client.Header{{"messagetype", "edoc"}}, other)
		}, vxp.CodeFromNotAllowed},
		{"HashFile", func() (*client.Response, error) {
			r, err := vpcp.Call(ctx, "sendEdoc", append(slices.Clone(edoc), client.KV{"hash-file", client.HashFile([]byte("another file"))}), append(slices.Clone(letter), '\r', '\n'))
			if err == nil {
				wantASCIIEnvelope(t, "sendEdoc", r.Raw, "DocId")
			}
			return r, err
		}, vxp.CodeBadHashFile},
		{"BrokenXML", func() (*client.Response, error) { return send(vpcp, edoc, []byte("<edXML><broken")) }, vxp.CodeMalformed},
		{"NotEdXML", func() (*client.Response, error) {
			return send(vpcp, edoc, []byte(`<?xml version="1.0"?><html><body>công văn</body></html>`))
		}, vxp.CodeMalformed},
		{"Empty", func() (*client.Response, error) { return send(vpcp, edoc, nil) }, vxp.CodeMalformed},
		{"UnknownRecipient", func() (*client.Response, error) {
			return send(vpcp, edoc, testkit.Letter{From: g22, FromName: g22Name, To: []string{"000.00.00.H99"}, Number: "99"}.Packet(t))
		}, vxp.CodeUnknownRecipient},
		{"StatusAboutNothing", func() (*client.Response, error) {
			return send(vpcp, client.Header{{"from", g22}, {"messagetype", "status"}},
				statusPacket(t, g22, g22Name, g18, g18+",2026/11/20,1/BYT", envelope.StatusAccepted, ""))
		}, vxp.CodeUnknownDocument},
		{"BadMessageType", func() (*client.Response, error) {
			return send(vpcp, client.Header{{"from", g22}, {"messagetype", "fax"}}, letter)
		}, vxp.CodeBadParameter},
		{"UnknownOperation", func() (*client.Response, error) { return vpcp.Call(ctx, "sendFax", nil, nil) }, vxp.CodeUnknownOperation},
		{"RegisterAgency", func() (*client.Response, error) {
			return vpcp.Call(ctx, "registerAgency", nil, []byte(`{"id":"","pcode":"000.00.00.G22","code":"000.01.00.G22","name":"Vụ Tổng hợp","mail":"","mobile":"","fax":""}`))
		}, vxp.CodeNotPermitted},
		{"DeleteAgency", func() (*client.Response, error) {
			return vpcp.Call(ctx, "deleteAgency", client.Header{{"AgencyCode", g18}}, []byte("{}"))
		}, vxp.CodeNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := stored()
			r, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			wantASCIIEnvelope(t, tc.name, r.Raw)
			if r.Status != "FAIL" || r.ErrorCode != tc.code || r.ErrorDesc == "" {
				t.Errorf("answer %s %s %q, want FAIL %s", r.Status, r.ErrorCode, r.ErrorDesc, tc.code)
			}
			if n := stored(); n != before {
				t.Errorf("%d documents stored, want %d", n, before)
			}
		})
	}

	// A document from the Government Office to the Ministry of Health on
	// the same gateway: the ministry's system lists it.
	sent, err := vpcp.SendEdoc(ctx, edoc, letter)
	wantOK(t, "sendEdoc", &sent.Response, err)
	wantASCIIEnvelope(t, "sendEdoc", sent.Raw, "DocId")
	var item string
	testkit.Eventually(t, "the ministry's item", func() bool {
		l, err := byt.GetReceivedEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}})
		if err == nil && len(l.Data) == 1 {
			item = l.Data[0].DocID
		}
		return item != ""
	})
	// The Government Office's system cannot read, acknowledge or count the
	// ministry's item; nor an id that is nobody's.
	for _, id := range []string{item, "8af226c8-7cde-4fbe-88fe-e15a768b49cb"} {
		e, err := vpcp.GetEdoc(ctx, client.Header{{"docId", id}})
		if err != nil {
			t.Fatal(err)
		}
		wantASCIIEnvelope(t, "getEdoc", e.Raw, "data")
		if e.Status != "FAIL" || e.ErrorCode != vxp.CodeUnknownDocID || e.Data != "" {
			t.Errorf("getEdoc of %s by another system: %s %s", id, e.Status, e.ErrorCode)
		}
		u, err := vpcp.UpdateStatus(ctx, client.Header{{"status", "done"}, {"docId", id}})
		if err != nil || u.Status != "FAIL" || u.ErrorCode != vxp.CodeUnknownDocID {
			t.Errorf("updateStatus of %s by another system: %+v, %v", id, u, err)
		}
		if raw, err := vpcp.DownloadEdoc(ctx, client.Header{{"docId", id}}); err != nil || len(raw) != 0 {
			t.Errorf("downloadEdoc of %s by another system: %d bytes, %v", id, len(raw), err)
		}
	}
	if c, err := byt.Count(ctx, false, nil); err != nil || c.Count != 1 {
		t.Errorf("the ministry's count after the other system's tries: %+v, %v", c, err)
	}
	// "to" must name the packet's To: a "to" left in the SDK's map by an
	// earlier call never sends a document to fewer agencies, or others.
	// A fresh client, as a DMS restarted.
	dms := client.New(endpoint, "qlvb.vpcp", secret, time.Now(), nil)
	deliveredTo := func(docID string) []string {
		d, err := st.Document(ctx, docID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, dl := range d.Deliveries {
			got = append(got, dl.Recipient)
		}
		return got
	}
	r1, err := dms.SendEdoc(ctx, append(slices.Clone(edoc), client.KV{"to", []string{"G18"}}),
		testkit.Letter{From: g22, FromName: g22Name, To: []string{g18}, Number: "201"}.Packet(t))
	wantOK(t, "sendEdoc with to", &r1.Response, err)
	if got := deliveredTo(r1.DocID); !slices.Equal(got, []string{g18}) {
		t.Errorf("delivered to %v", got)
	}
	both := testkit.Letter{From: g22, FromName: g22Name, To: []string{g18, h41}, Number: "202"}.Packet(t)
	before := stored()
	r2, err := dms.SendEdoc(ctx, edoc, both) // the SDK sends the old to=["G18"] again
	if err != nil || r2.Status != "FAIL" || r2.ErrorCode != vxp.CodeBadParameter {
		t.Errorf("a leftover to naming fewer than the To: %+v, %v", r2, err)
	}
	if n := stored(); n != before {
		t.Errorf("%d documents stored after the refusal, want %d", n, before)
	}
	r3, err := dms.SendEdoc(ctx, append(slices.Clone(edoc), client.KV{"to", []string{h41, g18}}), both)
	wantOK(t, "sendEdoc with the whole To", &r3.Response, err)
	if got := deliveredTo(r3.DocID); len(got) != 2 {
		t.Errorf("delivered to %v, want both", got)
	}
	// Another packet with a DocumentId already used: refused, DocId names
	// the document that has it.
	other := testkit.Letter{From: g22, FromName: g22Name, To: []string{g18, h41}, Number: "202", Subject: "Nội dung khác"}.Packet(t)
	r4, err := dms.SendEdoc(ctx, append(slices.Clone(edoc), client.KV{"to", []string{h41, g18}}), other)
	if err != nil || r4.Status != "FAIL" || r4.ErrorCode != vxp.CodeDuplicate || r4.DocID != r3.DocID {
		t.Errorf("another packet with the same DocumentId: %+v, %v", r4, err)
	}

	// An illegal transition: 15 (recall accepted) with no recall asked.
	got, err := byt.GetEdoc(ctx, client.Header{{"docId", item}})
	wantOK(t, "getEdoc", &got.Response, err)
	p, _, err := envelope.Parse(got.Packet)
	if err != nil {
		t.Fatal(err)
	}
	r, err := byt.SendEdoc(ctx, client.Header{{"from", g18}, {"messagetype", "status"}},
		statusPacket(t, g18, g18Name, g22, p.Edoc.Header.DocumentID, envelope.StatusRecallAccepted, ""))
	if err != nil || r.Status != "FAIL" || r.ErrorCode != vxp.CodeTransition {
		t.Errorf("15 without a recall: %+v, %v", r, err)
	}
	// A bad status value for updateStatus.
	u, err := byt.UpdateStatus(ctx, client.Header{{"status", "read"}, {"docId", item}})
	if err != nil || u.ErrorCode != vxp.CodeBadParameter {
		t.Errorf("updateStatus read: %+v, %v", u, err)
	}
}

// TestVXP_WithAPIv1: a DMS on API v1 and a DMS on the VXP face exchange
// documents and statuses with each other, both ways.
func TestVXP_WithAPIv1(t *testing.T) {
	ax := testkit.NewAxis(t)
	a := newSide(t, ax, "vpcp", "qlvb.vpcp", "secret-of-the-government-office-01", [2]string{g22, g22Name})
	b := newSide(t, ax, "nghean", "qlvb.nghean", "secret-of-nghe-an-0123456789abcd", [2]string{h41, h41Name})
	const key = "api-v1-key-of-the-government-office"
	apiH, err := api.NewHandler(a.gw, rollup.New(a.gw), []api.Key{{Name: "qlvb-api", Secret: key, Agencies: []string{g22}}}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(apiH)
	defer apiSrv.Close()
	ctx := t.Context()
	call := func(method, path, ctype string, body []byte, into any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, apiSrv.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if into != nil {
			if err := json.NewDecoder(res.Body).Decode(into); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
		return res.StatusCode
	}

	// API v1 → VXP: posted on API v1, taken by the VXP DMS, which accepts
	// it (03); the API v1 DMS sees it accepted.
	var accepted api.Accepted
	if code := call(http.MethodPost, "/api/v1/documents", "application/xml",
		testkit.Letter{From: g22, FromName: g22Name, To: []string{h41}, Number: "31"}.Packet(t), &accepted); code != http.StatusAccepted {
		t.Fatalf("POST /documents: %d", code)
	}
	got, _ := b.receive(t, "edoc", func(p *envelope.Packet) bool { return p.Edoc != nil && p.Edoc.Header.Code.Number == "31" })
	r, err := b.dms.SendEdoc(ctx, client.Header{{"from", h41}, {"servicetype", "eDoc"}, {"messagetype", "status"}},
		statusPacket(t, h41, h41Name, g22, got.Edoc.Header.DocumentID, envelope.StatusAccepted, "Đã vào sổ"))
	wantOK(t, "sendEdoc 03", &r.Response, err)
	testkit.Eventually(t, "the API v1 DMS to see 03", func() bool {
		var d gateway.DocumentDetail
		call(http.MethodGet, "/api/v1/documents/"+accepted.ID, "", nil, &d)
		return len(d.Deliveries) == 1 && d.Deliveries[0].State == envelope.StateAccepted
	})

	// VXP → API v1: sent by the VXP DMS, listed on API v1, accepted there;
	// the VXP DMS gets the 03 as a status packet.
	r, err = b.dms.SendEdoc(ctx, client.Header{{"from", h41}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}},
		testkit.Letter{From: h41, FromName: h41Name, To: []string{g22}, Number: "77", Notation: "UBND-VX"}.Packet(t))
	wantOK(t, "sendEdoc", &r.Response, err)
	var list api.DocumentList
	if code := call(http.MethodGet, "/api/v1/documents?direction=in&wait=30", "", nil, &list); code != http.StatusOK || len(list.Documents) != 1 {
		t.Fatalf("GET /documents?direction=in: %d, %d documents", code, len(list.Documents))
	}
	in := list.Documents[0]
	if in.From != h41 || in.Number != "77" {
		t.Fatalf("the API v1 DMS got %+v", in.Document)
	}
	if code := call(http.MethodPost, "/api/v1/documents/"+in.ID+"/status", "application/json", []byte(`{"code":"03"}`), nil); code != http.StatusAccepted {
		t.Fatalf("POST status 03: %d", code)
	}
	st, _ := b.receive(t, "status", statusOf(envelope.StatusAccepted, in.DocumentID))
	if st.Status.From.OrganID != g22 {
		t.Errorf("the 03 is from %s", st.Status.From.OrganID)
	}
}

// TestVXP_Answers: every operation's answer, on success, is the ASCII
// envelope with its own keys — Vietnamese names in the directory escaped.
func TestVXP_Answers(t *testing.T) {
	ax := testkit.NewAxis(t)
	a := newSide(t, ax, "vpcp", "qlvb.vpcp", "secret-of-the-government-office-01", [2]string{g22, g22Name})
	ctx := t.Context()
	for _, tc := range []struct {
		op     string
		header client.Header
	}{
		{"getAgenciesList", nil},
		{"getAgenciesListQD20", client.Header{{"level", "1"}}},
		{"getSynchronizeUnit", nil},
		{"getReceivedEdocList", client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}}},
		{"getReceivedEdocList", client.Header{{"messagetype", "status"}}},
		{"getSentEdocList", client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}}},
		{"countReceiveEdoc", nil},
		{"countReceiveStatus", nil},
	} {
		r, err := a.dms.Call(ctx, tc.op, tc.header, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		m := wantASCIIEnvelope(t, tc.op, r.Raw)
		if r.Status != "OK" || r.ErrorCode != "0" || r.ErrorDesc != "Thanh cong" {
			t.Errorf("%s: %s %s %s", tc.op, r.Status, r.ErrorCode, r.ErrorDesc)
		}
		switch tc.op {
		case "countReceiveEdoc", "countReceiveStatus":
			if _, ok := m["count"].(float64); !ok {
				t.Errorf("%s: count is %#v", tc.op, m["count"])
			}
		default:
			if _, ok := m["data"].([]any); !ok {
				t.Errorf("%s: data is %#v", tc.op, m["data"])
			}
		}
	}
	ag, err := a.dms.GetAgenciesList(ctx)
	if err != nil || len(ag.Data) == 0 {
		t.Fatalf("getAgenciesList: %+v, %v", ag, err)
	}
	if !bytes.Contains(ag.Raw, []byte(`"name":"V\u0103n ph\u00f2ng Ch\u00ednh ph\u1ee7"`)) {
		t.Errorf("the agency's name is not escaped as expected: %s", ag.Raw)
	}
	if ag.Data[0].Name != g22Name {
		t.Errorf("decoded name %q", ag.Data[0].Name)
	}
	// A client that does not take gzip gets the same answer, plain; and
	// the answer follows the directory's changes.
	plain := client.New(a.srv.URL+vxp.DefaultPrefix, a.system, "secret-of-the-government-office-01", time.Now(),
		&http.Client{Transport: &http.Transport{DisableCompression: true}})
	ax.Register(gateway.Agency{Code: "000.00.00.H29", Name: "UBND Thành phố Hồ Chí Minh", Gateway: "hcm"})
	testkit.Eventually(t, "the new agency in getAgenciesList, plain", func() bool {
		ag, err := plain.GetAgenciesList(ctx)
		if err != nil || ag.Status != "OK" {
			t.Fatalf("plain getAgenciesList: %+v, %v", ag, err)
		}
		for _, x := range ag.Data {
			if x.Code == "000.00.00.H29" && x.Name == "UBND Thành phố Hồ Chí Minh" {
				return true
			}
		}
		return false
	})
}

// TestVXP_Leftovers: the keys the SDK keeps from earlier calls do not make
// a call act on another item, and what a DMS sends again is taken once.
func TestVXP_Leftovers(t *testing.T) {
	ax := testkit.NewAxis(t)
	a := newSide(t, ax, "vpcp", "qlvb.vpcp", "secret-of-the-government-office-01", [2]string{g22, g22Name})
	b := newSide(t, ax, "nghean", "qlvb.nghean", "secret-of-nghe-an-0123456789abcd", [2]string{h41, h41Name})
	ctx := t.Context()
	for _, n := range []string{"41", "42"} {
		r, err := a.dms.SendEdoc(ctx, client.Header{{"from", g22}, {"messagetype", "edoc"}, {"to", []string{h41}}},
			testkit.Letter{From: g22, FromName: g22Name, To: []string{h41}, Number: n}.Packet(t))
		wantOK(t, "sendEdoc "+n, &r.Response, err)
	}
	items := map[string]string{} // number → docId
	testkit.Eventually(t, "both documents listed at B", func() bool {
		l, err := b.dms.GetReceivedEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}})
		if err != nil || len(l.Data) != 2 {
			return false
		}
		for _, it := range l.Data {
			e, err := b.dms.GetEdoc(ctx, client.Header{{"docId", it.DocID}})
			wantOK(t, "getEdoc", &e.Response, err)
			p, _, err := envelope.Parse(e.Packet)
			if err != nil {
				t.Fatal(err)
			}
			items[p.Edoc.Header.Code.Number] = it.DocID
		}
		return true
	})
	number := func(e *client.EdocResult) string {
		t.Helper()
		p, _, err := envelope.Parse(e.Packet)
		if err != nil {
			t.Fatal(err)
		}
		return p.Edoc.Header.Code.Number
	}
	// docId=Y, then docid=Y fail, then docId=X twice (the SDK's retry):
	// X each time, never Y, which the map still holds under docid.
	e, err := b.dms.GetEdoc(ctx, client.Header{{"docId", items["42"]}})
	wantOK(t, "getEdoc 42", &e.Response, err)
	u, err := b.dms.UpdateStatus(ctx, client.Header{{"status", "fail"}, {"docid", items["42"]}})
	wantOK(t, "updateStatus fail 42", u, err)
	for range 2 {
		e, err := b.dms.GetEdoc(ctx, client.Header{{"docId", items["41"]}})
		wantOK(t, "getEdoc 41", &e.Response, err)
		if got := number(e); got != "41" {
			t.Fatalf("getEdoc docId=41's item answered document %s", got)
		}
	}
	u, err = b.dms.UpdateStatus(ctx, client.Header{{"status", "done"}, {"docid", items["41"]}})
	wantOK(t, "updateStatus done 41", u, err)
	l, err := b.dms.GetReceivedEdocList(ctx, client.Header{{"messagetype", "edoc"}})
	if err != nil || len(l.Data) != 1 || l.Data[0].DocID != items["42"] || l.Data[0].Status != "FAIL" {
		t.Errorf("after 41 done and 42 failed: %+v, %v", l.Data, err)
	}
	// getSentEdocList with an inbox item's id left under docId: the list,
	// not a failure.
	s, err := b.dms.GetSentEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}})
	wantOK(t, "getSentEdocList with a leftover docId", &s.Response, err)

	// The same status packet sent twice: taken once, the same DocId.
	var doc41 string
	for _, p := range []string{"41"} {
		e, err := b.dms.GetEdoc(ctx, client.Header{{"docid", items[p]}})
		wantOK(t, "getEdoc", &e.Response, err)
		parsed, _, _ := envelope.Parse(e.Packet)
		doc41 = parsed.Edoc.Header.DocumentID
	}
	accepted := statusPacket(t, h41, h41Name, g22, doc41, envelope.StatusAccepted, "Đã vào sổ")
	var ids []string
	for range 2 {
		r, err := b.dms.SendEdoc(ctx, client.Header{{"from", h41}, {"messagetype", "status"}}, accepted)
		wantOK(t, "sendEdoc 03", &r.Response, err)
		ids = append(ids, r.DocID)
	}
	if ids[0] != ids[1] || ids[0] == "" {
		t.Errorf("the same 03 twice: DocIds %v", ids)
	}
	a.receive(t, "status", statusOf(envelope.StatusAccepted, doc41))
	page, err := b.gw.Store().(vxp.Store).Documents(ctx, gateway.DocumentQuery{Direction: gateway.Incoming, DocumentID: doc41})
	if err != nil || len(page.Documents) != 1 {
		t.Fatalf("B's document: %+v, %v", page, err)
	}
	d, err := b.gw.Store().(vxp.Store).Document(ctx, page.Documents[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range d.Events {
		if ev.Kind == gateway.EventStatus && ev.StatusCode == envelope.StatusAccepted {
			n++
		}
	}
	if n != 1 {
		t.Errorf("B recorded (and sent) 03 %d times, want once", n)
	}

	// downloadEdoc refused: nothing in the body, which the SDK would save
	// as the packet.
	raw, err := client.New(b.srv.URL+vxp.DefaultPrefix, b.system, "wrong", time.Now(), nil).DownloadEdoc(ctx, client.Header{{"docId", items["42"]}})
	if err != nil || len(raw) != 0 {
		t.Errorf("downloadEdoc with a wrong secret: %q, %v", raw, err)
	}
}

// observed records what the face counts.
type observed struct {
	mu  sync.Mutex
	ops []string
}

func (o *observed) ObserveVXP(operation, system, code string, _ float64) {
	o.mu.Lock()
	o.ops = append(o.ops, operation+"|"+system+"|"+code)
	o.mu.Unlock()
}

// TestVXP_Observed: operations are counted under the SDK's names whatever
// the case of the path, and unknown ones under "", so that no one can grow
// the metrics' series by trying spellings.
func TestVXP_Observed(t *testing.T) {
	ax := testkit.NewAxis(t)
	gw := ax.Gateway("vpcp", nil, [2]string{g22, g22Name})
	obs := &observed{}
	face, err := vxp.New(vxp.Options{Gateway: gw, Store: gw.Store().(vxp.Store), Directory: gw.Directory(), Observer: obs,
		Systems: []vxp.System{{ID: "qlvb", Secret: []byte("secret-0123456789"), Agencies: []string{g22}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(face)
	defer srv.Close()
	for _, op := range []string{"GETAGENCIESLIST", "getagencieslist", "sendFax"} {
		c := client.New(srv.URL, "qlvb", "secret-0123456789", time.Now(), nil)
		if _, err := c.Call(t.Context(), op, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"getAgenciesList|qlvb|0", "getAgenciesList|qlvb|0", "||14"}
	if !slices.Equal(obs.ops, want) {
		t.Errorf("observed %q, want %q", obs.ops, want)
	}
}

// hosted is what serve gives vxp.New: the code an agency gw hosts has now.
func hosted(gw *gateway.Gateway) func(string) (string, bool) {
	return func(code string) (string, bool) {
		a, ok := gw.Hosted(code)
		if !ok {
			return "", false
		}
		return a.Code.String(), true
	}
}

// TestVXP_Busy: with every turn of the gateway taken (gateway.AdmitWork),
// sendEdoc is answered FAIL 99 — what the SDK's DMSs send again later —
// with Retry-After, and nothing is kept; given back, the same packet is
// taken.
func TestVXP_Busy(t *testing.T) {
	ax := testkit.NewAxis(t)
	a := newSide(t, ax, "vpcp", "qlvb.vpcp", "secret-of-the-government-office-01", [2]string{g22, g22Name})
	ax.Register(gateway.Agency{Code: h41, Name: h41Name, Gateway: "nghean"})
	ctx := t.Context()
	var held []func()
	for range gateway.DefaultSubmissions() {
		r, err := a.gw.AdmitWork(ctx, "test", gateway.KindEdoc)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	header := client.Header{{"from", g22}, {"messagetype", "edoc"}, {"to", []string{h41}}}
	packet := testkit.Letter{From: g22, FromName: g22Name, To: []string{h41}, Number: "61"}.Packet(t)
	r, err := a.dms.SendEdoc(ctx, header, packet)
	if err != nil {
		t.Fatal(err)
	}
	wantASCIIEnvelope(t, "sendEdoc", r.Raw, "DocId")
	if r.Status != "FAIL" || r.ErrorCode != vxp.CodeUnavailable || r.DocID != "" {
		t.Errorf("sendEdoc with every turn taken: %s %s %q, DocId %q; want FAIL 99", r.Status, r.ErrorCode, r.ErrorDesc, r.DocID)
	}
	if ra := r.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	page, err := a.gw.Store().Documents(ctx, gateway.DocumentQuery{Direction: gateway.Outgoing})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Documents) != 0 {
		t.Fatalf("%d documents kept after the refusal", len(page.Documents))
	}
	for _, r := range held {
		r()
	}
	r, err = a.dms.SendEdoc(ctx, header, packet)
	wantOK(t, "sendEdoc once the turns are given back", &r.Response, err)
}
