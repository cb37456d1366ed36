package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
)

// exchangeTimeout bounds each wait of TestE2E_Exchange for something to
// travel between gateways.
const exchangeTimeout = 30 * time.Second

// TestE2E_Exchange runs four gateways as separate processes — VPCP (G22),
// Bộ Y tế (G18), UBND tỉnh Nghệ An (H41, hosting also Sở Y tế tỉnh Nghệ An
// with its own DMS key) and UBND TP.HCM (H29) — and goes through the life
// of one document from G22 to G18 and H41 through the API only: delivery
// with a valid signature, the recipients' DMS fetching it, 01 back by
// itself, 03–06 seen in turn by the sender, a recall 13 → 15, an illegal
// transition refused with the lifecycle's reason, and keys that cannot
// read or send outside their agency.
func TestE2E_Exchange(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	ax := newAxis(t)
	vpcp := ax.addGateway("vpcp", agVPCP)
	byt := ax.addGateway("byt", agBYT)
	nghean := ax.addGateway("nghean", agNgheAn, agSYTNgheAn)
	hcm := ax.addGateway("hcm", agHCM)
	ax.ready()
	t.Logf("four gateways up, directory complete: %s", time.Since(start).Round(time.Millisecond))

	g22, g18, h41, h29 := vpcp.client(agVPCP), byt.client(agBYT), nghean.client(agNgheAn), hcm.client(agHCM)
	sytH41 := nghean.client(agSYTNgheAn)

	// G22 sends one document to G18 and H41.
	attachment := []byte("Kính gửi: Bộ Y tế; UBND tỉnh Nghệ An.\nĐề nghị báo cáo tình hình liên thông văn bản điện tử quý IV.\n")
	l := &letter{
		From: agVPCP, To: []agency{agBYT, agNgheAn},
		Number: "1021", Notation: "VPCP-KSTT",
		Subject: "V/v báo cáo tình hình liên thông văn bản điện tử quý IV",
		Attachments: []envelope.Attachment{
			{Name: "công văn 1021.txt", ContentType: "text/plain; charset=utf-8", Data: attachment},
			{Name: "phụ lục.bin", ContentType: "application/octet-stream", Data: bytes.Repeat([]byte{0, 1, 2, 0xfe, 0xff}, 300)},
		},
	}
	sent := l.packet(t)
	acc := g22.mustSubmit(t, sent)
	if acc.DocumentID != l.documentID() || acc.Replay {
		t.Fatalf("accepted %+v, want documentId %s and no replay", acc, l.documentID())
	}
	out := g22.mustGet(t, acc.ID)
	if out.Direction != gateway.Outgoing || out.Verdict.Outcome != "valid" || len(out.Deliveries) != 2 {
		t.Fatalf("at G22: direction %s, verdict %q, %d deliveries; want out, valid, 2", out.Direction, out.Verdict.Outcome, len(out.Deliveries))
	}

	// It arrives at both recipients, verified, and their DMS fetch it.
	incoming := map[string]string{} // recipient code → local id there
	for _, r := range []struct {
		c  *apiClient
		ag agency
	}{{g18, agBYT}, {h41, agNgheAn}} {
		d := waitIncoming(t, r.c, acc.DocumentID)
		incoming[r.ag.Code] = d.ID
		checkIncoming(t, r.c, r.ag, d, l, sent)
	}

	// 01 comes back to G22 by itself.
	waitState(t, g22, acc.ID, agBYT.Code, envelope.StateArrived, "01 from G18 at G22")
	waitState(t, g22, acc.ID, agNgheAn.Code, envelope.StateArrived, "01 from H41 at G22")

	// H41 reports 03, 04, 05, 06; G22 sees each in turn.
	for _, step := range []struct {
		code  string
		state envelope.State
	}{
		{"03", envelope.StateAccepted}, {"04", envelope.StateAssigned},
		{"05", envelope.StateProcessing}, {"06", envelope.StateDone},
	} {
		h41.mustPostStatus(t, incoming[agNgheAn.Code], api.StatusBody{Code: step.code,
			Staff: envelope.StaffInfo{Department: "Văn phòng UBND tỉnh", Staff: "Nguyễn Văn An"}})
		waitState(t, h41, incoming[agNgheAn.Code], agNgheAn.Code, step.state, step.code+" at H41 itself")
		waitState(t, g22, acc.ID, agNgheAn.Code, step.state, step.code+" from H41 at G22")
	}
	checkStatusEvents(t, g22.mustGet(t, acc.ID), agNgheAn.Code, "01", "03", "04", "05", "06")

	// G22 recalls it from G18 (13); G18 sees the request and agrees (15);
	// G22 sees it recalled. H41's delivery is untouched.
	g22.mustPostStatus(t, acc.ID, api.StatusBody{Code: "13", Description: "Văn bản ban hành nhầm, đề nghị trả lại", Recipients: []string{agBYT.Code}})
	waitState(t, g18, incoming[agBYT.Code], agBYT.Code, envelope.StateRecallRequested, "13 from G22 at G18")
	g18.mustPostStatus(t, incoming[agBYT.Code], api.StatusBody{Code: "15", Description: "Đồng ý trả lại văn bản"})
	waitState(t, g22, acc.ID, agBYT.Code, envelope.StateRecalled, "15 from G18 at G22")
	waitState(t, g18, incoming[agBYT.Code], agBYT.Code, envelope.StateRecalled, "15 at G18 itself")
	if st, _, desc := deliveryState(g22.mustGet(t, acc.ID), agNgheAn.Code); st != envelope.StateDone {
		t.Errorf("H41's delivery at G22 after the recall from G18: %s, want done", desc)
	}

	// 02 after 06 at H41 is refused with the lifecycle's reason, and
	// nothing is sent.
	r, err := h41.postStatus(ctx, incoming[agNgheAn.Code], api.StatusBody{Code: "02", Description: "Không thuộc thẩm quyền"})
	if err != nil {
		t.Fatal(err)
	}
	want := lifecycleRefusal(t, envelope.StatusRejected, "01", "03", "04", "05", "06")
	if e := r.apiError(); r.Status != http.StatusConflict || e.Error.Code != "transition" ||
		e.Error.MessageEn != want.Error() || e.Error.MessageVi != want.MessageVI() {
		t.Errorf("02 after 06 at H41: %s\nwant 409 transition with %q / %q", r, want.Error(), want.MessageVI())
	}
	if st, _, desc := deliveryState(h41.mustGet(t, incoming[agNgheAn.Code]), agNgheAn.Code); st != envelope.StateDone {
		t.Errorf("H41's document after the refused 02: %s, want done", desc)
	}

	checkScopes(t, scopeCase{
		docG22: acc.ID, docH41: incoming[agNgheAn.Code], letter: l,
		g22: g22, h29: h29, sytH41: sytH41, h41: h41,
	})

	// Nothing travelled that should not have: G22's document ends as
	// expected at G22, and the 02 never reached it — once everything
	// H41 queued is published and G22 has settled everything it got.
	quiesce(t, nghean, vpcp)
	final := g22.mustGet(t, acc.ID)
	for _, ev := range final.Events {
		if ev.StatusCode == envelope.StatusRejected {
			t.Errorf("G22 got a 02 that H41's lifecycle refused: %+v", ev)
		}
	}
	t.Logf("exchange done in %s", time.Since(start).Round(time.Millisecond))

	// Every gateway shuts down gracefully on SIGTERM, and says so by its
	// exit status.
	for _, g := range []*gatewayProc{vpcp, byt, nghean, hcm} {
		g.stop()
		if st := g.exitState(); st != "exit status 0" {
			t.Errorf("%s after SIGTERM: %s, want exit status 0", g.name, st)
		}
	}
}

// waitIncoming waits until the DMS of c lists an incoming document with
// documentID, and returns it.
func waitIncoming(t *testing.T, c *apiClient, documentID string) gateway.DocumentSummary {
	t.Helper()
	var found gateway.DocumentSummary
	waitFor(t, exchangeTimeout, "incoming "+documentID+" at "+c.base(), func() (bool, string) {
		l, err := c.list(context.Background(), url.Values{"direction": {"in"}})
		if err != nil {
			return false, err.Error()
		}
		for _, d := range l.Documents {
			if d.DocumentID == documentID {
				found = d
				return true, ""
			}
		}
		return false, "not listed yet"
	})
	return found
}

// checkIncoming checks what a recipient's DMS reads of the document: its
// fields, the verdict, the packet (the bytes sent plus the Signature the
// sending gateway added) and the attachments.
func checkIncoming(t *testing.T, c *apiClient, ag agency, d gateway.DocumentSummary, l *letter, sent []byte) {
	t.Helper()
	ctx := context.Background()
	if d.Direction != gateway.Incoming || d.Agency != ag.Code || d.From != l.From.Code ||
		d.Number != l.Number || d.Notation != l.Notation || d.Subject != l.Subject || d.Attachments != len(l.Attachments) {
		t.Errorf("at %s: listed %+v", ag.Code, d.Document)
	}
	if d.Verdict.Outcome != "valid" {
		t.Errorf("at %s: verdict %+v, want valid", ag.Code, d.Verdict)
	}
	detail := c.mustGet(t, d.ID)
	if detail.Verdict.Outcome != "valid" || len(detail.Deliveries) != 1 || detail.Deliveries[0].Recipient != ag.Code ||
		detail.Deliveries[0].Transport != gateway.Received {
		t.Errorf("at %s: document %+v with deliveries %+v", ag.Code, detail.Verdict, detail.Deliveries)
	}
	r, err := c.do(ctx, http.MethodGet, "/api/v1/documents/"+d.ID+"/packet", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("at %s: GET packet: %s", ag.Code, r)
	}
	sum := sha256.Sum256(r.Body)
	if etag := strings.Trim(r.Header.Get("ETag"), `"`); etag != hex.EncodeToString(sum[:]) {
		t.Errorf("at %s: packet ETag %q, want its SHA-256 %x", ag.Code, etag, sum)
	}
	unsigned, err := withoutSignature(r.Body)
	if err != nil {
		t.Errorf("at %s: the packet received: %v", ag.Code, err)
	} else if !bytes.Equal(unsigned, sent) {
		t.Errorf("at %s: the packet received, without its Signature, differs from the one sent (%d bytes, sent %d)", ag.Code, len(unsigned), len(sent))
	}
	for i, a := range l.Attachments {
		path := "/api/v1/documents/" + d.ID + "/attachments/" + strconv.Itoa(i+1)
		r, err := c.do(ctx, http.MethodGet, path, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, a.Data) {
			t.Errorf("at %s: GET %s: %d, %d bytes; want 200 and the %d bytes sent", ag.Code, path, r.Status, len(r.Body), len(a.Data))
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, url.PathEscape(a.Name)) {
			t.Errorf("at %s: GET %s: Content-Disposition %q does not name %q", ag.Code, path, cd, a.Name)
		}
	}
}

// waitState waits until the document id, read by c, has its delivery to
// recipient in state.
func waitState(t *testing.T, c *apiClient, id, recipient string, state envelope.State, what string) {
	t.Helper()
	waitFor(t, exchangeTimeout, what+" ("+state.String()+")", func() (bool, string) {
		d, err := c.get(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		st, ok, desc := deliveryState(d, recipient)
		return ok && st == state, desc
	})
}

// checkStatusEvents checks that the document has a status event from
// recipient for each code.
func checkStatusEvents(t *testing.T, d *gateway.DocumentDetail, recipient string, codes ...string) {
	t.Helper()
	seen := map[envelope.StatusCode]bool{}
	for _, ev := range d.Events {
		if ev.Kind == gateway.EventStatus && ev.Recipient == recipient {
			seen[ev.StatusCode] = true
		}
	}
	for _, c := range codes {
		if !seen[envelope.StatusCode(c)] {
			t.Errorf("no status event %s from %s at the sender; events: %+v", c, recipient, d.Events)
		}
	}
}

// lifecycleRefusal is the refusal the lifecycle gives to code from the
// recipient after the codes applied.
func lifecycleRefusal(t *testing.T, code envelope.StatusCode, applied ...string) *envelope.TransitionError {
	t.Helper()
	var l envelope.Lifecycle
	for _, c := range applied {
		var err error
		if l, err = l.Apply(envelope.StatusCode(c), envelope.PartyRecipient); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Apply(code, envelope.PartyRecipient)
	te, ok := err.(*envelope.TransitionError)
	if !ok {
		t.Fatalf("the lifecycle takes %s after %v: %v", code, applied, err)
	}
	return te
}

// scopeCase is what checkScopes needs.
type scopeCase struct {
	docG22, docH41 string // the document at G22 and at H41
	letter         *letter
	g22, h29       *apiClient
	h41, sytH41    *apiClient // two keys of the same gateway
}

// checkScopes checks that a DMS key acts for its agencies only.
func checkScopes(t *testing.T, s scopeCase) {
	t.Helper()
	ctx := context.Background()
	expect := func(what string, r *response, err error, status int, code string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if r.Status != status || r.apiError().Error.Code != code {
			t.Errorf("%s: %s; want %d %s", what, r, status, code)
		}
	}
	get := func(c *apiClient, path string) (*response, error) {
		return c.do(ctx, http.MethodGet, path, "", nil, nil)
	}

	// H29's DMS, at its own gateway: G22's document is not there for it
	// (404), and it cannot send for G22 (403).
	r, err := get(s.h29, "/api/v1/documents/"+s.docG22)
	expect("H29's key reads G22's document id at its gateway", r, err, http.StatusNotFound, "not-found")
	forged := &letter{From: agVPCP, To: []agency{agBYT}, Number: "1022", Notation: "VPCP-KSTT", Subject: "Văn bản giả danh VPCP"}
	r, err = s.h29.submit(ctx, forged.packet(t), "")
	expect("H29's key sends for G22", r, err, http.StatusForbidden, "forbidden")
	// At G22's gateway, H29's key is not a key at all.
	r, err = get(s.g22.withKey(s.h29.key), "/api/v1/documents/"+s.docG22)
	expect("H29's key at G22's gateway", r, err, http.StatusUnauthorized, "unauthorized")
	if r != nil && r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}

	// Two agencies on one gateway: the key of Sở Y tế tỉnh Nghệ An sees
	// nothing of UBND tỉnh Nghệ An's document, which H41's key reads.
	for _, path := range []string{"", "/packet", "/attachments/1"} {
		r, err := get(s.sytH41, "/api/v1/documents/"+s.docH41+path)
		expect("Sở Y tế's key: GET H41's document"+path, r, err, http.StatusNotFound, "not-found")
		r, err = get(s.h41, "/api/v1/documents/"+s.docH41+path)
		if err != nil || r.Status != http.StatusOK {
			t.Errorf("H41's key: GET its document%s: %v %v", path, r, err)
		}
	}
	r, err = s.sytH41.postStatus(ctx, s.docH41, api.StatusBody{Code: "05"})
	expect("Sở Y tế's key posts a status on H41's document", r, err, http.StatusNotFound, "not-found")
	l, err := s.sytH41.list(ctx, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l.Documents {
		t.Errorf("Sở Y tế's key lists a document of %s: %s", d.Agency, d.DocumentID)
	}
	r, err = get(s.sytH41, "/api/v1/documents?agency="+agNgheAn.Code)
	expect("Sở Y tế's key lists H41's documents", r, err, http.StatusForbidden, "forbidden")
	forged = &letter{From: agNgheAn, To: []agency{agVPCP}, Number: "77", Notation: "UBND-VX", Subject: "Văn bản gửi thay UBND tỉnh"}
	r, err = s.sytH41.submit(ctx, forged.packet(t), "")
	expect("Sở Y tế's key sends for H41", r, err, http.StatusForbidden, "forbidden")
}
