package api_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/signing"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var pdf = []byte("%PDF-1.7\n% công văn thử nghiệm\n%%EOF\n")

// TestAPI_SendAndRead posts a raw packet and a multipart document, reads
// them back (detail, packet, attachments) and sees them arrive at the
// other hosted agency.
func TestAPI_SendAndRead(t *testing.T) {
	e := newEnv(t, 0)

	var rawID string
	t.Run("Raw", func(t *testing.T) {
		packet := doc{number: "101", files: []envelope.Attachment{{Name: "Công văn số 101.pdf", ContentType: "application/pdf", Data: pdf}}}.packet(t, false)
		r := e.postXML(keyG22, packet, nil).wantStatus(t, http.StatusAccepted)
		a := decode[api.Accepted](t, r)
		if a.ID == "" || a.Replay || a.DocumentID != g22+",2025/11/20,101/VPCP-TTĐT" {
			t.Fatalf("accepted %+v", a)
		}
		if got, want := r.header.Get("Location"), "/api/v1/documents/"+a.ID; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		rawID = a.ID

		d := decode[gateway.DocumentDetail](t, e.get(r.header.Get("Location"), keyG22).wantStatus(t, http.StatusOK))
		if d.ID != a.ID || d.Direction != gateway.Outgoing || d.Agency != g22 || d.Number != "101" || d.Attachments != 1 {
			t.Errorf("document %+v", d.Document)
		}
		if d.Verdict.Outcome != "valid" {
			t.Errorf("verdict %+v", d.Verdict)
		}
		if len(d.Deliveries) != 1 || d.Deliveries[0].Recipient != h41 {
			t.Errorf("deliveries %+v", d.Deliveries)
		}
		if len(d.Events) == 0 || d.Events[0].Kind != gateway.EventQueued {
			t.Errorf("events %+v", d.Events)
		}
	})

	t.Run("Packet", func(t *testing.T) {
		r := e.get("/api/v1/documents/"+rawID+"/packet", keyG22).wantStatus(t, http.StatusOK)
		if got := r.header.Get("Content-Type"); got != "application/xml" {
			t.Errorf("Content-Type %q", got)
		}
		if got, want := r.header.Get("ETag"), `"`+sha256Hex(r.body)+`"`; got != want {
			t.Errorf("ETag %q, want %q", got, want)
		}
		if !bytes.Contains(r.body, []byte("<Signature")) {
			t.Errorf("the stored packet is not signed")
		}
		p, _, err := envelope.Parse(r.body)
		if err != nil || p.Edoc.Header.Code.Number != "101" {
			t.Fatalf("parse the packet: %v", err)
		}
		r2 := e.do(request{method: "GET", path: "/api/v1/documents/" + rawID + "/packet", key: keyG22,
			header: map[string]string{"If-None-Match": r.header.Get("ETag")}})
		r2.wantStatus(t, http.StatusNotModified)
	})

	t.Run("Attachment", func(t *testing.T) {
		r := e.get("/api/v1/documents/"+rawID+"/attachments/1", keyG22).wantStatus(t, http.StatusOK)
		if !bytes.Equal(r.body, pdf) {
			t.Errorf("attachment %q, want %q", r.body, pdf)
		}
		if got := r.header.Get("Content-Type"); got != "application/pdf" {
			t.Errorf("Content-Type %q", got)
		}
		cd := r.header.Get("Content-Disposition")
		if want := `attachment; filename="Cong van so 101.pdf"; filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%20101.pdf`; cd != want {
			t.Errorf("Content-Disposition %q, want %q", cd, want)
		}
		_, enc, _ := strings.Cut(cd, "UTF-8''")
		if name, _ := url.PathUnescape(enc); name != "Công văn số 101.pdf" {
			t.Errorf("filename* decodes to %q", name)
		}
		for _, n := range []string{"0", "2", "x", "-1"} {
			e.get("/api/v1/documents/"+rawID+"/attachments/"+n, keyG22).wantError(t, http.StatusNotFound, api.CodeNotFound)
		}
	})

	var multiID string
	t.Run("Multipart", func(t *testing.T) {
		m := metadata("102")
		m["to"] = []any{map[string]any{"code": "H41"}} // a short form; the name comes from the directory
		m["staff"] = map[string]any{"staff": "Nguyễn Thị Văn Thư", "email": "vanthu@chinhphu.vn"}
		r := e.postMultipart(keyG22, m, nil,
			file{name: "Tờ trình.pdf", data: pdf},
			file{name: "Phụ lục.txt", ctype: "text/plain; charset=utf-8", data: []byte("phụ lục")},
			file{field: "extra", name: "bảng.xlsx", ctype: "application/octet-stream", data: []byte("PK\x03\x04xlsx")},
		).wantStatus(t, http.StatusAccepted)
		a := decode[api.Accepted](t, r)
		multiID = a.ID
		if got, want := a.DocumentID, g22+",2025/11/21,102/VPCP-KSTT"; got != want {
			t.Errorf("documentId %q, want %q", got, want)
		}
		d := decode[gateway.DocumentDetail](t, e.get("/api/v1/documents/"+a.ID, keyG22).wantStatus(t, http.StatusOK))
		if d.Attachments != 3 || d.Priority != 1 || d.TypeName != "Công văn" || d.PromulgationDate != "2025/11/21" {
			t.Errorf("document %+v", d.Document)
		}
		if len(d.Deliveries) != 1 || d.Deliveries[0].Recipient != h41 || d.Deliveries[0].RecipientName != h41Name {
			t.Errorf("deliveries %+v", d.Deliveries)
		}
		for n, want := range map[string]string{
			"1": "application/pdf",
			"2": "text/plain; charset=utf-8",
			"3": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		} {
			r := e.get("/api/v1/documents/"+a.ID+"/attachments/"+n, keyG22).wantStatus(t, http.StatusOK)
			if got := r.header.Get("Content-Type"); got != want {
				t.Errorf("attachment %s: Content-Type %q, want %q", n, got, want)
			}
		}
		packet := e.get("/api/v1/documents/"+a.ID+"/packet", keyG22).wantStatus(t, http.StatusOK)
		p, _, err := envelope.Parse(packet.body)
		if err != nil {
			t.Fatal(err)
		}
		h := p.Edoc.Header
		if h.To[0].OrganName != h41Name || h.From.OrganName != g22Name || h.SignerInfo.FullName != "Trần Văn B" {
			t.Errorf("header %+v", h)
		}
		ts, err := p.Edoc.Trace[0].Timestamp.Time()
		if err != nil || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
			t.Errorf("trace timestamp %q (%v): not now in Vietnam", p.Edoc.Trace[0].Timestamp, err)
		}
		if s := p.Edoc.Bussiness.StaffInfo; len(s) != 1 || s[0].Staff != "Nguyễn Thị Văn Thư" {
			t.Errorf("staff %+v", s)
		}
	})

	t.Run("Received", func(t *testing.T) {
		var in api.DocumentList
		eventually(t, "both documents to reach H41", func() bool {
			in = e.list(keyH41, "direction=in")
			return len(in.Documents) == 2
		})
		for _, d := range in.Documents {
			if d.Agency != h41 || d.From != g22 || d.Direction != gateway.Incoming {
				t.Errorf("incoming %+v", d.Document)
			}
		}
		// The recipient reads the attachment of what it received.
		id := in.Documents[1].ID // oldest last: the raw one
		r := e.get("/api/v1/documents/"+id+"/attachments/1", keyH41).wantStatus(t, http.StatusOK)
		if !bytes.Equal(r.body, pdf) {
			t.Errorf("received attachment %q", r.body)
		}
	})

	t.Run("AccessLog", func(t *testing.T) {
		var found bool
		for _, l := range e.logs.lines("request") {
			if l["method"] == "POST" && l["path"] == "/api/v1/documents" && l["document"] == multiID &&
				l["status"] == float64(202) && l["key"] == "vpcp" && l["duration"] != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("no access log line for the POST of %s", multiID)
		}
	})

	t.Run("AttachmentList", func(t *testing.T) {
		list := decode[[]api.AttachmentInfo](t, e.get("/api/v1/documents/"+rawID+"/attachments", keyG22).wantStatus(t, http.StatusOK))
		sum := sha256.Sum256(pdf)
		if len(list) != 1 || list[0].N != 1 || list[0].Name != "Công văn số 101.pdf" || list[0].ContentType != "application/pdf" ||
			list[0].Size != len(pdf) || list[0].SHA256 != hex.EncodeToString(sum[:]) || list[0].Problem != nil {
			t.Errorf("attachments %+v", list)
		}
		// A ZIP that does not open is listed with its problem, and served
		// as it was sent.
		broken := []byte("PK\x03\x04 cut short")
		id := decode[api.Accepted](t, e.postXML(keyG22, doc{number: "102", files: []envelope.Attachment{
			{Name: "ho-so.zip", ContentType: "application/zip", Data: broken}}}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID
		list = decode[[]api.AttachmentInfo](t, e.get("/api/v1/documents/"+id+"/attachments", keyG22).wantStatus(t, http.StatusOK))
		if len(list) != 1 || list[0].Problem == nil || list[0].Problem.Code != "unreadable-zip" || list[0].Problem.MessageVI == "" {
			t.Errorf("a broken ZIP listed as %+v", list)
		}
		if r := e.get("/api/v1/documents/"+id+"/attachments/1", keyG22).wantStatus(t, http.StatusOK); !bytes.Equal(r.body, broken) {
			t.Errorf("the broken ZIP served as %q", r.body)
		}
	})

	// Attachments of more than 1 MiB of base64, which the parser does not
	// decode into bytes: the same list, the same answers, served as they
	// are decoded, a range of them too.
	t.Run("LargeAttachments", func(t *testing.T) {
		pad := bytes.Repeat([]byte("0123456789abcdef"), 80<<10) // 1.25 MiB
		signed := slices.Concat([]byte("%PDF-1.7\n"), pad,
			[]byte("5 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /ByteRange [0 1 2 3] >>\nendobj\n%%EOF\n"))
		broken := slices.Concat([]byte("PK\x03\x04"), pad)
		id := decode[api.Accepted](t, e.postXML(keyG22, doc{number: "103", files: []envelope.Attachment{
			{Name: "công văn ký số.pdf", ContentType: "application/pdf", Data: signed},
			{Name: "hồ sơ.zip", Data: broken}}}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID
		d := decode[gateway.DocumentDetail](t, e.get("/api/v1/documents/"+id, keyG22).wantStatus(t, http.StatusOK))
		if d.Attachments != 2 || d.SignedPDFs != 1 {
			t.Errorf("%d attachments, %d signed PDFs; want 2 and 1", d.Attachments, d.SignedPDFs)
		}
		list := decode[[]api.AttachmentInfo](t, e.get("/api/v1/documents/"+id+"/attachments", keyG22).wantStatus(t, http.StatusOK))
		if len(list) != 2 || list[0].Size != len(signed) || list[0].SHA256 != sha256Hex(signed) || list[0].Problem != nil ||
			list[1].Size != len(broken) || list[1].SHA256 != sha256Hex(broken) || list[1].ContentType != "application/zip" ||
			list[1].Problem == nil || list[1].Problem.Code != "unreadable-zip" {
			t.Errorf("large attachments listed as %+v", list)
		}
		r := e.get("/api/v1/documents/"+id+"/attachments/1", keyG22).wantStatus(t, http.StatusOK)
		if !bytes.Equal(r.body, signed) || r.header.Get("ETag") != `"`+sha256Hex(signed)+`"` {
			t.Errorf("the large PDF served as %d bytes, ETag %s", len(r.body), r.header.Get("ETag"))
		}
		r = e.do(request{method: "GET", path: "/api/v1/documents/" + id + "/attachments/2", key: keyG22,
			header: map[string]string{"Range": "bytes=1000000-1000099"}}).wantStatus(t, http.StatusPartialContent)
		if !bytes.Equal(r.body, broken[1000000:1000100]) {
			t.Errorf("a range of the large ZIP served as %q", r.body)
		}
	})
}

// TestAPI_List checks the filters and the pages of the list.
func TestAPI_List(t *testing.T) {
	e := newEnv(t, 0)
	var ids []string
	for _, n := range []string{"201", "202", "203"} {
		d := doc{number: n}
		if n == "202" {
			d.subject = "Kế hoạch chuyển đổi số năm 2026"
		}
		ids = append(ids, decode[api.Accepted](t, e.postXML(keyG22, d.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID)
	}
	idsOf := func(l api.DocumentList) []string {
		var out []string
		for _, d := range l.Documents {
			out = append(out, d.ID)
		}
		return out
	}

	t.Run("Pages", func(t *testing.T) {
		p1 := e.list(keyG22, "direction=out&limit=2")
		if len(p1.Documents) != 2 || p1.Next == "" {
			t.Fatalf("page 1: %d documents, next %q", len(p1.Documents), p1.Next)
		}
		p2 := e.list(keyG22, "direction=out&limit=2&cursor="+url.QueryEscape(p1.Next))
		if len(p2.Documents) != 1 || p2.Next != "" {
			t.Fatalf("page 2: %d documents, next %q", len(p2.Documents), p2.Next)
		}
		got := append(idsOf(p1), idsOf(p2)...)
		want := slices.Clone(ids)
		slices.Reverse(want) // newest first
		if !slices.Equal(got, want) {
			t.Errorf("pages %v, want %v", got, want)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		tomorrow := time.Now().In(envelope.VietnamTime()).AddDate(0, 0, 1).Format("2006-01-02")
		for _, tc := range []struct {
			key, query string
			want       int
		}{
			{keyG22, "", 3},
			{keyG22, "direction=in", 0},
			{keyG22, "q=" + url.QueryEscape("chuyển đổi số"), 1},
			{keyG22, "since=" + tomorrow, 0},
			{keyG22, "since=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), 3},
			{keyG22, "until=" + tomorrow, 3},
			{keyG22, "until=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), 0},
			{keyG22, "since=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)) + "&until=" + tomorrow, 3},
			{keyG22, "recipient=" + h41, 3},
			{keyG22, "recipient=H41", 3}, // either form of the code
			{keyG22, "recipient=000.00.00.G12", 0},
			{keyG22, "recipient=" + h41 + "&status=recalled", 0},
			{keyG22, "status=recalled", 0},
			{keyG22, "agency=G22", 3},
			{keyNobody, "", 0},
		} {
			if got := e.list(tc.key, tc.query); len(got.Documents) != tc.want {
				t.Errorf("?%s: %d documents, want %d", tc.query, len(got.Documents), tc.want)
			}
		}
		eventually(t, "the three documents to be arrived at H41", func() bool {
			return len(e.list(keyG22, "status=arrived").Documents) == 3
		})
		if got := len(e.list(keyG22, "status=arrived&recipient="+h41).Documents); got != 3 {
			t.Errorf("arrived at H41: %d documents, want 3", got)
		}
	})
	t.Run("BadParameters", func(t *testing.T) {
		for _, tc := range []struct{ query, field string }{
			{"direction=up", "direction"},
			{"status=03", "status"},
			{"since=20/11/2025", "since"},
			{"until=yesterday", "until"},
			{"recipient=" + url.QueryEscape("not a code"), "recipient"},
			{"limit=0", "limit"},
			{"limit=501", "limit"},
			{"limit=x", "limit"},
			{"cursor=not-a-cursor", "cursor"},
			{"wait=61", "wait"},
			{"wait=-1", "wait"},
			{"wait=soon", "wait"},
		} {
			err := e.get("/api/v1/documents?"+tc.query, keyG22).wantError(t, http.StatusBadRequest, api.CodeBadParameter)
			wantField(t, err, tc.field)
		}
		e.get("/api/v1/documents?agency="+h41, keyG22).wantError(t, http.StatusForbidden, api.CodeForbidden)
	})
}

// TestAPI_ListWait: a DMS that lists with wait=N gets a document that
// arrives while it waits, the empty list when the time is up, and its
// answer at once when the API closes.
func TestAPI_ListWait(t *testing.T) {
	e := newEnv(t, 0)

	got := make(chan api.DocumentList, 1)
	go func() {
		// e.list would call t.Fatal outside the test's goroutine.
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/documents?direction=in&wait=30", nil)
		req.Header.Set("Authorization", "Bearer "+keyH41)
		var l api.DocumentList
		if res, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(res.Body).Decode(&l)
			res.Body.Close()
		}
		got <- l
	}()
	id := decode[api.Accepted](t, e.postXML(keyG22, doc{number: "251"}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID
	select {
	case l := <-got:
		if len(l.Documents) != 1 || l.Documents[0].Number != "251" || l.Documents[0].Direction != gateway.Incoming {
			t.Errorf("the waiting list answered %+v, want the incoming document 251 (sent as %s)", l.Documents, id)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the waiting list did not answer")
	}

	// Nothing comes: the empty list after the wait, as JSON.
	if l := e.list(keyG22, "direction=in&wait=1"); l.Documents == nil || len(l.Documents) != 0 {
		t.Errorf("after the wait: %+v, want an empty list", l)
	}

	// Close ends a waiting list with what it has.
	h, err := api.NewHandler(e.gw, rollup.New(e.gw), e.keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/documents?direction=in&wait=60", nil)
		req.Header.Set("Authorization", "Bearer "+keyG22)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	// The request may reach the handler before or after Close: either way
	// it must answer long before its 60 s.
	time.Sleep(100 * time.Millisecond)
	h.(interface{ Close() }).Close()
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Errorf("the list closed while waiting answered %d, want 200", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not end the waiting list")
	}
}

// TestAPI_Status posts statuses on both sides of a document.
func TestAPI_Status(t *testing.T) {
	e := newEnv(t, 0)
	out := decode[api.Accepted](t, e.postXML(keyG22, doc{number: "301"}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID
	var in string
	eventually(t, "the document to reach H41", func() bool {
		l := e.list(keyH41, "direction=in")
		if len(l.Documents) == 1 {
			in = l.Documents[0].ID
		}
		return in != ""
	})

	t.Run("ReasonRequired", func(t *testing.T) {
		err := e.postStatus(keyH41, in, map[string]any{"code": "02"}).wantError(t, http.StatusUnprocessableEntity, api.CodeReasonRequired)
		wantField(t, err, "description")
	})
	t.Run("NotAllowed", func(t *testing.T) {
		err := e.postStatus(keyH41, in, map[string]any{"code": "13", "description": "lấy lại"}).wantError(t, http.StatusUnprocessableEntity, api.CodeStatusNotAllowed)
		wantField(t, err, "code")
		e.postStatus(keyG22, out, map[string]any{"code": "03"}).wantError(t, http.StatusUnprocessableEntity, api.CodeStatusNotAllowed)
	})
	t.Run("BadCode", func(t *testing.T) {
		wantField(t, e.postStatus(keyH41, in, map[string]any{"code": "99"}).wantError(t, http.StatusUnprocessableEntity, api.CodeValidation), "code")
		wantField(t, e.postStatus(keyH41, in, map[string]any{}).wantError(t, http.StatusUnprocessableEntity, api.CodeValidation), "code")
	})
	t.Run("BadBody", func(t *testing.T) {
		path := "/api/v1/documents/" + in + "/status"
		e.do(request{method: "POST", path: path, key: keyH41, ctype: "application/json", body: []byte(`{"code":`)}).wantError(t, http.StatusBadRequest, api.CodeMalformed)
		wantField(t, e.do(request{method: "POST", path: path, key: keyH41, ctype: "application/json", body: []byte(`{"code":"03","reason":"x"}`)}).wantError(t, http.StatusBadRequest, api.CodeMalformed), "reason")
		e.do(request{method: "POST", path: path, key: keyH41, ctype: "text/plain", body: []byte(`03`)}).wantError(t, http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType)
	})
	t.Run("OtherAgency", func(t *testing.T) {
		// G22's key acting on H41's incoming document: as if it did not exist.
		e.postStatus(keyG22, in, map[string]any{"code": "03"}).wantError(t, http.StatusNotFound, api.CodeNotFound)
		e.postStatus(keyNobody, in, map[string]any{"code": "03"}).wantError(t, http.StatusNotFound, api.CodeNotFound)
	})
	t.Run("Progress", func(t *testing.T) {
		a := decode[api.StatusAccepted](t, e.postStatus(keyH41, in, map[string]any{"code": "3", "staff": map[string]any{"staff": "Lê Thị C"}}).wantStatus(t, http.StatusAccepted))
		if a.ID != in || a.Code != envelope.StatusAccepted {
			t.Errorf("accepted %+v", a)
		}
		e.postStatus(keyH41, in, map[string]any{"code": "06", "description": "Đã xử lý xong"}).wantStatus(t, http.StatusAccepted)
		d := decode[gateway.DocumentDetail](t, e.get("/api/v1/documents/"+in, keyH41).wantStatus(t, http.StatusOK))
		if d.Deliveries[0].State != envelope.StateDone || d.Deliveries[0].Note != "Đã xử lý xong" {
			t.Errorf("state %v, note %q; want done, the 06's description", d.Deliveries[0].State, d.Deliveries[0].Note)
		}
		var codes []envelope.StatusCode
		for _, ev := range d.Events {
			if ev.Kind == gateway.EventStatus {
				codes = append(codes, ev.StatusCode)
			}
		}
		if want := []envelope.StatusCode{"01", "03", "06"}; !slices.Equal(codes, want) {
			t.Errorf("status events %v, want %v", codes, want)
		}
	})
	t.Run("Transition", func(t *testing.T) {
		// 05 after 06 cannot be told from new work on a finished document.
		err := e.postStatus(keyH41, in, map[string]any{"code": "05"}).wantError(t, http.StatusConflict, api.CodeTransition)
		if !strings.Contains(err.MessageVI, "Hoàn thành") || !strings.Contains(err.MessageEN, "final state") {
			t.Errorf("messages %q / %q", err.MessageVI, err.MessageEN)
		}
		err = e.postStatus(keyH41, in, map[string]any{"code": "03"}).wantError(t, http.StatusConflict, api.CodeTransition)
		if !strings.Contains(err.MessageEN, "duplicate") {
			t.Errorf("messages %q / %q", err.MessageVI, err.MessageEN)
		}
		d := decode[gateway.DocumentDetail](t, e.get("/api/v1/documents/"+in, keyH41).wantStatus(t, http.StatusOK))
		if n := len(d.Events); n == 0 || d.Events[n-1].StatusCode != "06" {
			t.Errorf("a refused status was recorded: %+v", d.Events[n-1])
		}
	})
	t.Run("Late", func(t *testing.T) {
		// 04 after 06: the lifecycle records it, the state stays done, and
		// the DMS is told.
		a := decode[api.StatusAccepted](t, e.postStatus(keyH41, in, map[string]any{"code": "04"}).wantStatus(t, http.StatusAccepted))
		if a.Warning == nil || a.Warning.Code != "late-status" || len(a.Warning.Recipients) != 1 || a.Warning.MessageVI == "" || a.Warning.MessageEN == "" {
			t.Errorf("a late 04: %+v, want a late-status warning", a)
		}
		d := decode[gateway.DocumentDetail](t, e.get("/api/v1/documents/"+in, keyH41).wantStatus(t, http.StatusOK))
		if d.Deliveries[0].State != envelope.StateDone {
			t.Errorf("state after a late 04: %v, want done", d.Deliveries[0].State)
		}
	})
	t.Run("SenderSide", func(t *testing.T) {
		eventually(t, "the sender to see its document done", func() bool {
			l := e.list(keyG22, "direction=out&status=done")
			return len(l.Documents) == 1 && l.Documents[0].ID == out
		})
		err := e.postStatus(keyG22, out, map[string]any{"code": "13", "description": "Thu hồi để sửa", "recipients": []string{h99}}).
			wantError(t, http.StatusUnprocessableEntity, api.CodeUnknownRecipient)
		wantField(t, err, "recipients")
		e.postStatus(keyG22, out, map[string]any{"code": "13", "description": "Thu hồi để sửa"}).wantStatus(t, http.StatusAccepted)
		r := e.get("/api/v1/documents/"+out, keyG22).wantStatus(t, http.StatusOK)
		if !strings.Contains(string(r.body), `"note":"Thu hồi để sửa"`) {
			t.Errorf("the recall's reason is not the delivery's note: %s", r.body)
		}
		eventually(t, "the recall to reach H41", func() bool {
			return len(e.list(keyH41, "status=recall_requested").Documents) == 1
		})
	})
}

// TestAPI_Auth checks keys and scopes.
func TestAPI_Auth(t *testing.T) {
	e := newEnv(t, 0)
	id := decode[api.Accepted](t, e.postXML(keyG22, doc{number: "401", files: []envelope.Attachment{{Name: "a.pdf", Data: pdf}}}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID

	t.Run("NoKey", func(t *testing.T) {
		for _, key := range []string{"", "wrong", keyG22 + "x", "sha256:" + sha256Hex([]byte(keyH41))} {
			r := e.get("/api/v1/documents", key)
			r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized)
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("key %q: WWW-Authenticate %q", key, got)
			}
		}
		e.get("/api/v1/openapi.json", "").wantStatus(t, http.StatusOK)
		e.get("/api/v1/directory", "").wantError(t, http.StatusUnauthorized, api.CodeUnauthorized)
	})
	t.Run("ReadOtherAgency", func(t *testing.T) {
		for _, p := range []string{"", "/packet", "/attachments/1"} {
			e.get("/api/v1/documents/"+id+p, keyH41).wantError(t, http.StatusNotFound, api.CodeNotFound)
			e.get("/api/v1/documents/"+id+p, keyNobody).wantError(t, http.StatusNotFound, api.CodeNotFound)
			e.get("/api/v1/documents/"+id+p, keyG22).wantStatus(t, http.StatusOK)
		}
		// The same answer as for a document that does not exist.
		e.get("/api/v1/documents/"+gateway.NewID(time.Now()), keyG22).wantError(t, http.StatusNotFound, api.CodeNotFound)
		e.get("/api/v1/documents/not-an-id", keyG22).wantError(t, http.StatusNotFound, api.CodeNotFound)
		for _, d := range e.list(keyH41, "direction=out").Documents {
			t.Errorf("H41 lists G22's document %s", d.ID)
		}
	})
	t.Run("SendForOtherAgency", func(t *testing.T) {
		before := len(e.list(keyG22, "").Documents)
		err := e.postXML(keyH41, doc{number: "402"}.packet(t, false), nil).wantError(t, http.StatusForbidden, api.CodeForbidden)
		wantField(t, err, "MessageHeader/From/OrganId")
		e.postXML(keyNobody, doc{number: "403"}.packet(t, false), nil).wantError(t, http.StatusForbidden, api.CodeForbidden)
		wantField(t, e.postMultipart(keyH41, metadata("404"), nil).wantError(t, http.StatusForbidden, api.CodeForbidden), "from")
		// An agency not hosted here at all.
		m := metadata("405")
		m["from"] = h99
		e.postMultipart(keyG22, m, nil).wantError(t, http.StatusForbidden, api.CodeForbidden)
		if got := len(e.list(keyG22, "").Documents); got != before {
			t.Errorf("%d documents after refused sends, want %d", got, before)
		}
	})
	t.Run("Directory", func(t *testing.T) {
		d := decode[api.Directory](t, e.get("/api/v1/directory", keyH41).wantStatus(t, http.StatusOK))
		var codes []string
		for _, a := range d.Agencies {
			codes = append(codes, a.Code)
			if !a.Hosted || a.Gateway != "gw-test" || len(a.Certificates) != 0 {
				t.Errorf("entry %+v", a)
			}
		}
		if want := []string{g22, h41}; !slices.Equal(codes, want) {
			t.Errorf("directory %v, want %v", codes, want)
		}
		d = decode[api.Directory](t, e.get("/api/v1/directory?certificates=1", keyH41).wantStatus(t, http.StatusOK))
		for _, a := range d.Agencies {
			if len(a.Certificates) != 1 || !strings.HasPrefix(a.Certificates[0], "-----BEGIN CERTIFICATE-----") {
				t.Errorf("certificates of %s: %v", a.Code, a.Certificates)
			}
		}
		e.get("/api/v1/directory?certificates=yes", keyH41).wantError(t, http.StatusBadRequest, api.CodeBadParameter)

		// Pages, and a search.
		p1 := decode[api.Directory](t, e.get("/api/v1/directory?limit=1", keyH41).wantStatus(t, http.StatusOK))
		if len(p1.Agencies) != 1 || p1.Agencies[0].Code != g22 || p1.Next == "" {
			t.Fatalf("page 1: %+v", p1)
		}
		p2 := decode[api.Directory](t, e.get("/api/v1/directory?limit=1&cursor="+url.QueryEscape(p1.Next), keyH41).wantStatus(t, http.StatusOK))
		if len(p2.Agencies) != 1 || p2.Agencies[0].Code != h41 || p2.Next != "" {
			t.Fatalf("page 2: %+v", p2)
		}
		for query, want := range map[string]string{
			"q=" + url.QueryEscape("nghe AN"): h41,
			"q=chinh+phu":                     g22,
			"under=H41":                       h41,
			"level=1&q=g22":                   g22,
		} {
			d := decode[api.Directory](t, e.get("/api/v1/directory?"+query, keyH41).wantStatus(t, http.StatusOK))
			if len(d.Agencies) != 1 || d.Agencies[0].Code != want {
				t.Errorf("?%s: %+v, want %s", query, d.Agencies, want)
			}
		}
		for _, bad := range []struct{ query, field string }{
			{"limit=0", "limit"}, {"limit=5001", "limit"}, {"level=5", "level"}, {"under=" + url.QueryEscape("<H41>"), "under"},
		} {
			wantField(t, e.get("/api/v1/directory?"+bad.query, keyH41).wantError(t, http.StatusBadRequest, api.CodeBadParameter), bad.field)
		}
	})
}

// TestAPI_BadInput sends what the gateway must refuse, and checks that
// nothing of it was stored.
func TestAPI_BadInput(t *testing.T) {
	const limit = 48 << 10
	e := newEnv(t, limit)
	big := bytes.Repeat([]byte("0123456789abcdef"), limit/16+1)

	for _, tc := range []struct {
		name   string
		req    func() *response
		status int
		code   string
		fields []string
	}{
		{"BrokenXML", func() *response { return e.postXML(keyG22, []byte("<edXML><broken"), nil) }, 400, api.CodeMalformed, nil},
		{"NotEdXML", func() *response { return e.postXML(keyG22, []byte(`<?xml version="1.0"?><html/>`), nil) }, 400, api.CodeMalformed, nil},
		{"Doctype", func() *response {
			return e.postXML(keyG22, []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><edXML>&a;</edXML>`), nil)
		}, 400, api.CodeForbiddenXML, nil},
		{"StatusPacket", func() *response {
			p, err := envelope.Encode(&envelope.Packet{Status: &envelope.Status{
				From:        envelope.Organization{OrganID: g22, OrganName: g22Name},
				ResponseFor: envelope.ResponseFor{OrganID: h41, DocumentID: "x"},
				StatusCode:  envelope.StatusAccepted, Timestamp: envelope.TimestampOf(time.Now()),
			}})
			if err != nil {
				t.Fatal(err)
			}
			return e.postXML(keyG22, p, nil)
		}, 400, api.CodeMalformed, nil},
		{"MissingFieldsRaw", func() *response {
			return e.postXML(keyG22, doc{number: ""}.packet(t, true), nil)
		}, 422, api.CodeValidation, []string{"MessageHeader/Subject", "MessageHeader/Code/CodeNumber"}},
		{"MissingFieldsMultipart", func() *response {
			m := metadata("501")
			delete(m, "subject")
			delete(m, "number")
			m["promulgationDate"] = "21/11/2025"
			return e.postMultipart(keyG22, m, nil)
		}, 422, api.CodeValidation, []string{"MessageHeader/Subject", "MessageHeader/Code/CodeNumber", "MessageHeader/PromulgationInfo/PromulgationDate"}},
		{"NoMetadata", func() *response {
			return e.postMultipart(keyG22, nil, nil, file{name: "a.pdf", data: pdf})
		}, 422, api.CodeValidation, []string{"metadata"}},
		{"MetadataNotJSON", func() *response { return e.postMultipart(keyG22, []byte("{from:"), nil) }, 400, api.CodeMalformed, []string{"metadata"}},
		{"MetadataUnknownMember", func() *response {
			m := metadata("502")
			m["businessDocType"] = 1
			return e.postMultipart(keyG22, m, nil)
		}, 400, api.CodeMalformed, []string{"businessDocType"}},
		{"UnknownRecipientRaw", func() *response {
			return e.postXML(keyG22, doc{number: "503", to: []string{h41, h99}}.packet(t, false), nil)
		}, 422, api.CodeUnknownRecipient, []string{"MessageHeader/To[2]/OrganId"}},
		{"UnknownRecipientMultipart", func() *response {
			m := metadata("504")
			m["to"] = []any{h99, map[string]any{"code": h41, "name": h41Name}}
			return e.postMultipart(keyG22, m, nil)
		}, 422, api.CodeUnknownRecipient, []string{"MessageHeader/To[1]/OrganId"}},
		{"TooLargeRaw", func() *response {
			return e.postXML(keyG22, doc{number: "505", files: []envelope.Attachment{{Name: "big.bin", Data: big}}}.packet(t, false), nil)
		}, 413, api.CodeTooLarge, nil},
		{"TooLargeMultipart", func() *response {
			return e.postMultipart(keyG22, metadata("506"), nil, file{name: "big.bin", data: big})
		}, 413, api.CodeTooLarge, nil},
		{"TooLargeBody", func() *response {
			return e.do(request{base: e.server(1024).URL, method: "POST", path: "/api/v1/documents", key: keyG22,
				ctype: "application/xml", body: doc{number: "507"}.packet(t, false)})
		}, 413, api.CodeTooLarge, nil},
		{"TooLargeMultipartBody", func() *response {
			body, ctype := multipartBody(t, metadata("508"), file{name: "a.pdf", data: pdf})
			return e.do(request{base: e.server(512).URL, method: "POST", path: "/api/v1/documents", key: keyG22, ctype: ctype, body: body})
		}, 413, api.CodeTooLarge, nil},
		{"NotAPacket", func() *response {
			return e.do(request{method: "POST", path: "/api/v1/documents", key: keyG22, ctype: "application/json", body: []byte(`{}`)})
		}, 415, api.CodeUnsupportedMediaType, nil},
		{"NoContentType", func() *response {
			return e.do(request{method: "POST", path: "/api/v1/documents", key: keyG22, body: doc{number: "509"}.packet(t, false)})
		}, 415, api.CodeUnsupportedMediaType, nil},
		{"StrayPart", func() *response {
			return e.postMultipart(keyG22, metadata("510"), nil, file{field: "note", name: "", data: []byte("x")})
		}, 400, api.CodeMalformed, []string{"note"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req().wantError(t, tc.status, tc.code)
			for _, f := range tc.fields {
				wantField(t, err, f)
			}
		})
	}

	t.Run("NothingStored", func(t *testing.T) {
		for _, key := range []string{keyG22, keyH41} {
			if l := e.list(key, ""); len(l.Documents) != 0 {
				t.Errorf("%d documents stored after refusals", len(l.Documents))
			}
		}
	})
	t.Run("UnderTheLimit", func(t *testing.T) {
		e.postXML(keyG22, doc{number: "511", files: []envelope.Attachment{{Name: "a.pdf", Data: pdf}}}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)
	})
	t.Run("Closed", func(t *testing.T) {
		if err := e.gw.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.postXML(keyG22, doc{number: "512"}.packet(t, false), nil).wantError(t, http.StatusServiceUnavailable, api.CodeUnavailable)
		e.postMultipart(keyG22, metadata("513"), nil).wantError(t, http.StatusServiceUnavailable, api.CodeUnavailable)
		if got := len(e.list(keyG22, "").Documents); got != 1 {
			t.Errorf("%d documents after close, want 1", got)
		}
	})
}

// TestAPI_Idempotency replays requests with an Idempotency-Key.
func TestAPI_Idempotency(t *testing.T) {
	e := newEnv(t, 0)
	p1 := doc{number: "601"}.packet(t, false)
	first := decode[api.Accepted](t, e.postXML(keyG22, p1, map[string]string{"Idempotency-Key": "req-601"}).wantStatus(t, http.StatusAccepted))

	t.Run("Replay", func(t *testing.T) {
		r := e.postXML(keyG22, p1, map[string]string{"Idempotency-Key": "req-601"}).wantStatus(t, http.StatusAccepted)
		a := decode[api.Accepted](t, r)
		if a.ID != first.ID || !a.Replay {
			t.Errorf("replay %+v, want id %s and replay", a, first.ID)
		}
		if r.header.Get("Idempotent-Replayed") != "true" || r.header.Get("Location") != "/api/v1/documents/"+first.ID {
			t.Errorf("headers %v", r.header)
		}
	})
	t.Run("Conflict", func(t *testing.T) {
		e.postXML(keyG22, doc{number: "602"}.packet(t, false), map[string]string{"Idempotency-Key": "req-601"}).
			wantError(t, http.StatusConflict, api.CodeIdempotencyConflict)
	})
	t.Run("Duplicate", func(t *testing.T) {
		err := e.postXML(keyG22, p1, nil).wantError(t, http.StatusConflict, api.CodeDuplicate)
		if err.Existing != first.ID {
			t.Errorf("existing %q, want %q", err.Existing, first.ID)
		}
	})
	t.Run("Multipart", func(t *testing.T) {
		hdr := map[string]string{"Idempotency-Key": "req-603"}
		f := file{name: "Quyết định.pdf", data: pdf}
		a := decode[api.Accepted](t, e.postMultipart(keyG22, metadata("603"), hdr, f).wantStatus(t, http.StatusAccepted))
		// The same parts under another boundary (multipartBody draws one
		// each time): a replay.
		b := decode[api.Accepted](t, e.postMultipart(keyG22, metadata("603"), hdr, f).wantStatus(t, http.StatusAccepted))
		if b.ID != a.ID || !b.Replay {
			t.Errorf("replay %+v, want %s", b, a.ID)
		}
		f.data = append(slices.Clone(pdf), '!')
		e.postMultipart(keyG22, metadata("603"), hdr, f).wantError(t, http.StatusConflict, api.CodeIdempotencyConflict)
	})
	t.Run("BadKey", func(t *testing.T) {
		for _, k := range []string{strings.Repeat("k", 256), "with space", "khóa"} {
			wantField(t, e.postXML(keyG22, doc{number: "604"}.packet(t, false), map[string]string{"Idempotency-Key": k}).
				wantError(t, http.StatusBadRequest, api.CodeBadParameter), "Idempotency-Key")
		}
	})
	if got := len(e.list(keyG22, "").Documents); got != 2 {
		t.Errorf("%d documents, want 2", got)
	}
}

// TestAPI_OpenAPI reads the description as a client would and tries every
// operation it lists on the server.
func TestAPI_OpenAPI(t *testing.T) {
	e := newEnv(t, 0)
	r := e.get("/api/v1/openapi.json", "").wantStatus(t, http.StatusOK)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, s := range []string{"Error", "ErrorBody", "FieldError", "Metadata", "DocumentDetail", "DocumentList", "StatusBody", "Directory"} {
		if doc.Components.Schemas[s] == nil {
			t.Errorf("no schema %s", s)
		}
	}
	ops := 0
	for path, methods := range doc.Paths {
		for method := range methods {
			ops++
			p := strings.NewReplacer("{id}", gateway.NewID(time.Now()), "{n}", "1", "{agency}", "000.00.00.G22", "{quarter}", "2026-Q3").Replace(path)
			r := e.do(request{method: strings.ToUpper(method), path: "/api/v1" + p, key: keyG22})
			if r.status == http.StatusMethodNotAllowed || (r.status == http.StatusNotFound && !strings.Contains(path, "{id}")) {
				t.Errorf("%s %s: %d; the description lists a route the server does not serve", method, path, r.status)
			}
		}
	}
	if ops != 12 {
		t.Errorf("%d operations described, want 12", ops)
	}
}

// TestAPI_Signed posts packets the DMS signed itself: kept byte for byte
// when the signature verifies, refused (422 signature) when it does not.
func TestAPI_Signed(t *testing.T) {
	e := newEnv(t, 0)
	t.Run("Valid", func(t *testing.T) {
		signed, err := e.signers[g22].Sign(doc{number: "701"}.packet(t, false))
		if err != nil {
			t.Fatal(err)
		}
		a := decode[api.Accepted](t, e.postXML(keyG22, signed, nil).wantStatus(t, http.StatusAccepted))
		got := e.get("/api/v1/documents/"+a.ID+"/packet", keyG22).wantStatus(t, http.StatusOK)
		if !bytes.Equal(got.body, signed) {
			t.Errorf("the stored packet differs from the signed one posted")
		}
	})
	t.Run("UntrustedSigner", func(t *testing.T) {
		ca, err := signing.InitCA(filepath.Join(t.TempDir(), "other-ca"), signing.CAOptions{KeyBits: 2048})
		if err != nil {
			t.Fatal(err)
		}
		is, err := ca.Issue(signing.IssueRequest{Agency: g22, Name: g22Name})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		signed, err := s.Sign(doc{number: "702"}.packet(t, false))
		if err != nil {
			t.Fatal(err)
		}
		e.postXML(keyG22, signed, nil).wantError(t, http.StatusUnprocessableEntity, api.CodeSignature)
	})
	t.Run("Tampered", func(t *testing.T) {
		signed, err := e.signers[g22].Sign(doc{number: "703"}.packet(t, false))
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Replace(signed, []byte("Về việc thử nghiệm"), []byte("Về việc sửa đổi"), 1)
		e.postXML(keyG22, tampered, nil).wantError(t, http.StatusUnprocessableEntity, api.CodeSignature)
	})
	if got := len(e.list(keyG22, "").Documents); got != 1 {
		t.Errorf("%d documents, want 1", got)
	}
}

// TestAPI_Busy: with every turn of the gateway taken (gateway.AdmitWork),
// a document posted and a status posted are answered 503 busy with
// Retry-After, and nothing of them is kept; given back, the same
// requests are taken. So with the memory of bodies taken
// (gateway.AdmitBody): a request of unknown length weighs the route's
// limit, a packet of the largest size for a document.
func TestAPI_Busy(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	out := decode[api.Accepted](t, e.postXML(keyG22, doc{number: "501"}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)).ID

	var held []func()
	releaseAll := func() {
		for _, r := range held {
			r()
		}
		held = nil
	}
	defer releaseAll()
	wantBusy := func(what string, r *response) {
		t.Helper()
		r.wantError(t, http.StatusServiceUnavailable, api.CodeBusy)
		if ra := r.header.Get("Retry-After"); ra != "1" {
			t.Errorf("%s: Retry-After %q, want 1", what, ra)
		}
	}
	count := func() int {
		t.Helper()
		return len(e.list(keyG22, "direction=out").Documents)
	}

	for _, take := range []struct {
		name  string
		n     int
		admit func() (func(), error)
	}{
		{"every turn", gateway.DefaultSubmissions(), func() (func(), error) { return e.gw.AdmitWork(ctx, "test", gateway.KindEdoc) }},
		// Two callers, each at most one packet of the largest size.
		{"every byte", 2, func() (func(), error) {
			return e.gw.AdmitBody(ctx, "test-"+strconv.Itoa(len(held)), gateway.KindEdoc, -1, e.gw.MaxPacketSize())
		}},
	} {
		t.Run(take.name, func(t *testing.T) {
			for range take.n {
				r, err := take.admit()
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, r)
			}
			before := count()
			packet := doc{number: "502-" + strconv.Itoa(take.n)}.packet(t, false)
			wantBusy("a document", e.postXML(keyG22, packet, nil))
			wantBusy("a status", e.postStatus(keyG22, out, map[string]any{"code": "13", "description": "lấy lại"}))
			if n := count(); n != before {
				t.Fatalf("%d documents after the refusals, want %d", n, before)
			}
			releaseAll()
			e.postXML(keyG22, packet, nil).wantStatus(t, http.StatusAccepted)
			if n := count(); n != before+1 {
				t.Fatalf("%d documents after the document was sent again, want %d", n, before+1)
			}
		})
	}
}

// TestAPI_StalledUploads: DMS connections that declare a body and send
// nothing of it — two declaring a packet of the largest size from one
// key, then more than there are turns from another — do not keep a third
// DMS out: one key holds at most one packet of the largest size of the
// bodies' memory, and a turn is taken once the body is read. (Such a connection is cut
// after httpbody.IdleTimeout: see TestWatch.)
func TestAPI_StalledUploads(t *testing.T) {
	e := newEnv(t, 0)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	stall := func(key string, length int64) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /api/v1/documents HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n<", addr, key, length)
		time.Sleep(20 * time.Millisecond) // in this order
	}
	stall(keyH41, e.gw.MaxPacketSize())
	stall(keyH41, e.gw.MaxPacketSize())
	for range gateway.DefaultSubmissions() + 1 {
		stall(keyNobody, 100)
	}
	// The stalled requests reach their handlers (and are admitted or
	// refused) in their own time: another key's document, sent after,
	// is taken whatever they hold.
	time.Sleep(100 * time.Millisecond)
	e.postXML(keyG22, doc{number: "601"}.packet(t, false), nil).wantStatus(t, http.StatusAccepted)
}
