package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

func testMetadata() *Metadata {
	return &Metadata{
		From:              "000.00.00.G22",
		To:                []Recipient{{Code: "000.00.00.H41"}},
		Number:            "7816",
		Notation:          "VPCP-TTĐT",
		Subject:           "V/v kết nối, liên thông phần mềm quản lý văn bản",
		TypeName:          "Công văn",
		PromulgationPlace: "Hà Nội",
		PromulgationDate:  "2025-11-20",
		Priority:          "1",
		DueDate:           "2025-12-01",
		Paper:             true,
		Signer:            Signer{Name: "Nguyễn Văn A", Position: "Thứ trưởng", Competence: "KT. BỘ TRƯỞNG"},
		ToPlaces:          []string{"Như trên"},
	}
}

func TestBuildPacket(t *testing.T) {
	now := time.Date(2025, 11, 20, 2, 30, 0, 0, time.UTC) // 09:30 in Vietnam
	from := party{code: "000.00.00.G22", name: "Văn phòng Chính phủ"}
	to := []party{{code: "000.00.00.H41", name: "UBND tỉnh Nghệ An"}}
	files := []envelope.Attachment{attachmentOf("Công văn.pdf", "", []byte("%PDF-1.7 test"))}

	t.Run("New", func(t *testing.T) {
		b, err := envelope.Encode(buildPacket(testMetadata(), from, to, files, now))
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		p, _, err := envelope.Parse(b)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		e := p.Edoc
		h := e.Header
		for _, c := range []struct{ name, got, want string }{
			{"DocumentId", h.DocumentID, "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"},
			{"PromulgationDate", string(h.Promulgation.Date), "2025/11/20"},
			{"DueDate", string(h.DueDate), "2025/12/01"},
			{"Type", h.DocumentType.Type, "2"},
			{"TypeDetail", h.DocumentType.TypeDetail, "18"},
			{"Priority", string(h.OtherInfo.Priority), "1"},
			{"FullName", h.SignerInfo.FullName, "Nguyễn Văn A"},
			{"From name", h.From.OrganName, "Văn phòng Chính phủ"},
			{"To", h.To[0].OrganID + " " + h.To[0].OrganName, "000.00.00.H41 UBND tỉnh Nghệ An"},
			{"Trace", e.Trace[0].OrganID + " " + string(e.Trace[0].Timestamp), "000.00.00.G22 2025/11/20 09:30:00"},
			{"Paper", e.Bussiness.Paper, "1"},
			{"BussinessDocType", string(e.Bussiness.BussinessDocType), "0"},
			{"Attachment", e.Attachments[0].ContentID + " " + e.Attachments[0].Name + " " + e.Attachments[0].ContentType, "cid:1 Công văn.pdf application/pdf"},
			{"Manifest", e.Manifest[0].ContentID, "cid:1"},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
	})

	t.Run("Replace", func(t *testing.T) {
		m := testMetadata()
		m.BussinessDocType, m.Related, m.Reason = "3", "000.00.00.G22,2025/11/01,7000/VPCP-TTĐT", "Thay thế văn bản sai"
		b, err := envelope.Encode(buildPacket(m, from, to, nil, now))
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		p, _, _ := envelope.Parse(b)
		bs := p.Edoc.Bussiness
		if got, want := bs.DocumentID, m.Related; got != want {
			t.Errorf("Bussiness/DocumentId = %q, want %q", got, want)
		}
		if len(bs.Replacements) != 1 || bs.Replacements[0].DocumentID != m.Related || !slices.Equal(bs.Replacements[0].OrganIDList, []string{"000.00.00.H41"}) {
			t.Errorf("ReplacementInfoList = %+v", bs.Replacements)
		}
	})

	t.Run("Update", func(t *testing.T) {
		m := testMetadata()
		m.BussinessDocType, m.Related = "2", "000.00.00.G22,2025/11/01,7000/VPCP-TTĐT"
		if _, err := envelope.Encode(buildPacket(m, from, to, nil, now)); err != nil {
			t.Fatalf("Encode: %v", err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		m := &Metadata{From: "000.00.00.G22", PromulgationDate: "20/11/2025"}
		_, err := envelope.Encode(buildPacket(m, from, nil, nil, now))
		es, ok := envelope.IsValidationError(err)
		if !ok {
			t.Fatalf("Encode: %v, want ValidationErrors", err)
		}
		var paths []string
		for _, e := range es {
			paths = append(paths, e.Path)
		}
		for _, want := range []string{"MessageHeader/To", "MessageHeader/Subject", "MessageHeader/Code/CodeNumber",
			"MessageHeader/PromulgationInfo/PromulgationDate", "MessageHeader/DocumentType/Type"} {
			if !slices.Contains(paths, want) {
				t.Errorf("no error at %s; got %v", want, paths)
			}
		}
	})
}

func TestMetadata_JSON(t *testing.T) {
	const in = `{"from":"000.00.00.G22","to":["000.00.00.H41",{"code":"000.00.00.H14","name":"Bộ Xây dựng"}],
		"number":7816,"notation":"VPCP","subject":"S","type":2,"typeDetail":"18","priority":0,
		"promulgationDate":"2025-11-20","bussinessDocType":1,"related":"x","signer":{"name":"A"}}`
	var m Metadata
	if e := decodeJSON(strings.NewReader(in), &m, "metadata"); e != nil {
		t.Fatalf("decode: %v", e)
	}
	if got, want := fmt.Sprint(m.To), "[{000.00.00.H41 } {000.00.00.H14 Bộ Xây dựng}]"; got != want {
		t.Errorf("To = %s, want %s", got, want)
	}
	if m.Number != "7816" || m.Type != "2" || m.TypeDetail != "18" || m.Priority != "0" || m.BussinessDocType != "1" {
		t.Errorf("numbers: %+v", m)
	}
	t.Run("UnknownMember", func(t *testing.T) {
		e := decodeJSON(strings.NewReader(`{"businessDocType":1}`), &Metadata{}, "metadata")
		if e == nil || e.Code != CodeMalformed || len(e.Fields) != 1 || e.Fields[0].Path != "businessDocType" {
			t.Fatalf("decode = %+v, want malformed at businessDocType", e)
		}
	})
	t.Run("WrongType", func(t *testing.T) {
		e := decodeJSON(strings.NewReader(`{"to":"000.00.00.H41"}`), &Metadata{}, "metadata")
		if e == nil || e.Status != http.StatusBadRequest || e.Fields[0].Path != "to" {
			t.Fatalf("decode = %+v, want 400 at to", e)
		}
	})
}

func TestSubmitError(t *testing.T) {
	validation := envelope.ValidationErrors{{Path: "MessageHeader/Subject", Code: "required", MessageVI: "Thiếu", MessageEN: "missing"}}
	te := &envelope.TransitionError{From: envelope.StateDone, Code: envelope.StatusAccepted, Party: envelope.PartyRecipient, Err: envelope.ErrFinalState}
	none := func() []FieldError { return nil }
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int // 0: a fault (500)
		wantCode   string
	}{
		{"Closed", gateway.ErrClosed, 503, CodeUnavailable},
		{"TooLarge", &gateway.SubmitError{Err: fmt.Errorf("%w: 9 bytes", gateway.ErrTooLarge)}, 413, CodeTooLarge},
		{"ParserTooLarge", &gateway.SubmitError{Err: fmt.Errorf("x: %w", envelope.ErrTooLarge)}, 413, CodeTooLarge},
		{"Malformed", &gateway.SubmitError{Err: fmt.Errorf("x: %w", envelope.ErrMalformed)}, 400, CodeMalformed},
		{"ForbiddenXML", &gateway.SubmitError{Err: fmt.Errorf("x: %w", envelope.ErrForbiddenXML)}, 400, CodeForbiddenXML},
		{"Validation", &gateway.SubmitError{Err: validation}, 422, CodeValidation},
		{"Duplicate", &gateway.SubmitError{Err: &gateway.DuplicateError{Existing: "abc"}}, 409, CodeDuplicate},
		{"Idempotency", &gateway.SubmitError{Err: fmt.Errorf("store: %w", gateway.ErrIdempotencyConflict)}, 409, CodeIdempotencyConflict},
		{"UnknownRecipient", &gateway.SubmitError{Err: gateway.ErrUnknownRecipient}, 422, CodeUnknownRecipient},
		{"NotHosted", &gateway.SubmitError{Err: gateway.ErrNotHosted}, 403, CodeForbidden},
		{"Signature", &gateway.SubmitError{Err: fmt.Errorf("%w: bad", signing.ErrUntrustedChain)}, 422, CodeSignature},
		{"OwnKey", &gateway.SubmitError{Err: signing.ErrKey}, 0, ""},
		{"Other", &gateway.SubmitError{Err: errors.New("odd")}, 422, CodeRejected},
		{"Fault", errors.New("disk on fire"), 0, ""},
		{"NotASubmitError", te, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := submitError(tc.err, none)
			if tc.wantStatus == 0 {
				if e != nil {
					t.Fatalf("submitError = %+v, want nil (500)", e)
				}
				return
			}
			if e == nil {
				t.Fatalf("submitError = nil, want %d %s", tc.wantStatus, tc.wantCode)
			}
			if e.Status != tc.wantStatus || e.Code != tc.wantCode {
				t.Errorf("submitError = %d %s, want %d %s", e.Status, e.Code, tc.wantStatus, tc.wantCode)
			}
		})
	}
	t.Run("DuplicateExisting", func(t *testing.T) {
		e := submitError(&gateway.SubmitError{Err: fmt.Errorf("store: %w", &gateway.DuplicateError{Existing: "abc"})}, none)
		if got, want := e.Existing, "abc"; got != want {
			t.Errorf("Existing = %q, want %q", got, want)
		}
	})
	t.Run("ValidationPathsUnchanged", func(t *testing.T) {
		e := submitError(&gateway.SubmitError{Err: validation}, none)
		if len(e.Fields) != 1 || e.Fields[0] != (FieldError{Path: "MessageHeader/Subject", Code: "required", MessageVI: "Thiếu", MessageEN: "missing"}) {
			t.Errorf("Fields = %+v", e.Fields)
		}
	})
}

func TestStatusError(t *testing.T) {
	te := &envelope.TransitionError{From: envelope.StateDone, Code: envelope.StatusAccepted, Party: envelope.PartyRecipient, Err: envelope.ErrFinalState}
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"Transition", fmt.Errorf("store: %w", te), 409, CodeTransition, ""},
		{"NotAllowed", fmt.Errorf("%w: 13", gateway.ErrStatusNotAllowed), 422, CodeStatusNotAllowed, "code"},
		{"Reason", fmt.Errorf("%w for 02", gateway.ErrReasonRequired), 422, CodeReasonRequired, "description"},
		{"BadCode", fmt.Errorf("%w: 99", envelope.ErrBadCode), 422, CodeValidation, "code"},
		{"NotHosted", gateway.ErrNotHosted, 403, CodeForbidden, ""},
		{"Recipients", fmt.Errorf("%w: none of the recipients", gateway.ErrNotFound), 422, CodeUnknownRecipient, "recipients"},
		{"Validation", envelope.ValidationErrors{{Path: "MessageHeader/StaffInfo/Email", Code: "bad_format"}}, 422, CodeValidation, "MessageHeader/StaffInfo/Email"},
		{"Closed", gateway.ErrClosed, 503, CodeUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := statusError(tc.err)
			if e == nil {
				t.Fatalf("statusError = nil, want %d", tc.wantStatus)
			}
			if e.Status != tc.wantStatus || e.Code != tc.wantCode {
				t.Errorf("statusError = %d %s, want %d %s", e.Status, e.Code, tc.wantStatus, tc.wantCode)
			}
			if tc.wantField != "" && (len(e.Fields) == 0 || e.Fields[0].Path != tc.wantField) {
				t.Errorf("Fields = %+v, want %s", e.Fields, tc.wantField)
			}
		})
	}
	t.Run("TransitionMessages", func(t *testing.T) {
		e := statusError(te)
		if e.MessageVI != te.MessageVI() || e.MessageEN != te.Error() {
			t.Errorf("messages = %q / %q", e.MessageVI, e.MessageEN)
		}
	})
	if e := statusError(errors.New("disk on fire")); e != nil {
		t.Errorf("statusError(fault) = %+v, want nil", e)
	}
}

func TestLoadKeys(t *testing.T) {
	hashed := "sha256:" + fmt.Sprintf("%x", sha256Sum("hashed-secret"))
	keys := loadKeys([]Key{
		{Name: "plain", Secret: "plain-secret", Agencies: []string{"000.00.00.G22", "H41", "not a code"}},
		{Name: "hashed", Secret: hashed, Agencies: []string{"000.00.00.H41"}},
		{Name: "broken", Secret: "sha256:xyz"},
		{Name: "empty", Secret: ""},
	}, zap.NewNop())
	h := &handler{keys: keys}
	if got, want := len(keys), 2; got != want {
		t.Fatalf("%d keys loaded, want %d", got, want)
	}
	for _, tc := range []struct{ token, want string }{
		{"plain-secret", "plain"},
		{"hashed-secret", "hashed"},
		{hashed, ""}, // the hash is not the key
		{"sha256:xyz", ""},
		{"", ""},
		{"wrong", ""},
	} {
		got := ""
		if k := h.lookupKey(tc.token); k != nil {
			got = k.name
		}
		if got != tc.want {
			t.Errorf("lookupKey(%q) = %q, want %q", tc.token, got, tc.want)
		}
	}
	p := &principal{key: &keys[0]}
	if got, want := p.scope(), []string{"000.00.00.G22", "000.00.00.H41"}; !slices.Equal(got, want) {
		t.Errorf("scope = %v, want %v", got, want)
	}
	if !p.allows("G22") || p.allows("000.00.00.H14") {
		t.Errorf("allows: G22 %v, H14 %v", p.allows("G22"), p.allows("000.00.00.H14"))
	}
	if got := (&principal{key: &key{}}).scope(); got == nil || len(got) != 0 {
		t.Errorf("empty scope = %#v, want a non-nil empty slice", got)
	}
}

func TestAuthenticate(t *testing.T) {
	h := newHandler(pureGateway{}, nil, []Key{{Name: "dms", Secret: "s3cret", Agencies: []string{"000.00.00.G22"}}}, zap.NewNop())
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, callerOf(r).key.name)
	})
	for _, tc := range []struct {
		header, want, challenge string
		status                  int
	}{
		{"", "", `Bearer realm="lienthong"`, 401},
		{"Basic czNjcmV0", "", `Bearer realm="lienthong"`, 401},
		{"Bearer wrong", "", `Bearer realm="lienthong", error="invalid_token"`, 401},
		{"Bearer s3cret", "dms", "", 200},
		{"bearer  s3cret ", "dms", "", 200},
	} {
		r := httptest.NewRequest("GET", "/api/v1/documents", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		w := httptest.NewRecorder()
		h.authenticate(next).ServeHTTP(w, r)
		if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%q: %d %q, want %d %q", tc.header, w.Code, w.Header().Get("WWW-Authenticate"), tc.status, tc.challenge)
		}
		if tc.status == 200 && w.Body.String() != tc.want {
			t.Errorf("%q: caller %q, want %q", tc.header, w.Body.String(), tc.want)
		}
		if tc.status == 401 {
			var body ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != CodeUnauthorized {
				t.Errorf("%q: body %s", tc.header, w.Body)
			}
		}
	}
}

// TestRoutes_OpenAPI checks that openapi.json describes exactly the
// routes the mux serves, and only those.
func TestRoutes_OpenAPI(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Servers []struct{ URL string }                `json:"servers"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || len(doc.Servers) != 1 || doc.Servers[0].URL != Prefix {
		t.Fatalf("openapi %q, servers %+v", doc.OpenAPI, doc.Servers)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			described[strings.ToUpper(method)+" "+Prefix+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range newHandler(pureGateway{}, nil, nil, nil).routeTable() {
		served[rt.method+" "+rt.path] = true
		if !described[rt.method+" "+rt.path] {
			t.Errorf("route %s %s is not in openapi.json", rt.method, rt.path)
		}
	}
	for op := range described {
		if !served[op] {
			t.Errorf("openapi.json describes %s, which is not served", op)
		}
	}
}

func TestMuxErrors(t *testing.T) {
	srv := httptest.NewServer(newHandler(pureGateway{}, nil, nil, zap.NewNop()).routes())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/nowhere", 404, CodeNotFound, ""},
		{"DELETE", "/api/v1/documents", 405, CodeMethodNotAllowed, "GET, HEAD, POST"},
		{"GET", "/api/v1/openapi.json", 200, "", ""},
		{"GET", "/api/v1//openapi.json", 200, "", ""}, // redirected to the clean path
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body ErrorBody
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if tc.code != "" && (body.Error == nil || body.Error.Code != tc.code) {
			t.Errorf("%s %s: body %+v, want code %s", tc.method, tc.path, body.Error, tc.code)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestParseSince(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-11-20T10:00:00Z", time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC), true},
		{"2025-11-20", time.Date(2025, 11, 19, 17, 0, 0, 0, time.UTC), true},
		{"2025/11/20", time.Date(2025, 11, 19, 17, 0, 0, 0, time.UTC), true},
		{"20/11/2025", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, ok := parseSince(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// TestAccessLog checks the access log's fields, and that a body JSON
// cannot carry becomes a 500 whose cause is logged.
func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zap.DebugLevel))
	h := newHandler(pureGateway{}, nil, nil, log)
	srv := httptest.NewServer(h.accessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setDocument(r, "doc1")
		jsonOK(w, r, gateway.Delivery{State: envelope.State(99)})
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	for k, want := range map[string]any{"level": "error", "msg": "request", "method": "GET", "path": "/x", "status": float64(500), "document": "doc1"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if line["error"] == nil || line["duration"] == nil {
		t.Errorf("log without error or duration: %v", line)
	}
}

// pureGateway is the Gateway of the tests of the handler's pure parts: the
// default packet size and nothing else (any other call panics).
type pureGateway struct{ Gateway }

func (pureGateway) MaxPacketSize() int64 { return gateway.DefaultMaxPacketSize }

// pureReports is a Reports that is there: any call panics.
type pureReports struct{ gateway.Reports }

// TestNewHandler_Required: an API without its gateway (nil, or a nil
// *gateway.Gateway in the interface) or its reports is refused when it is
// made, not by a panic on the first request that needs them.
func TestNewHandler_Required(t *testing.T) {
	var nilGateway *gateway.Gateway
	for name, tc := range map[string]struct {
		gw      Gateway
		reports gateway.Reports
	}{
		"no gateway":             {nil, pureReports{}},
		"a nil *gateway.Gateway": {nilGateway, pureReports{}},
		"no reports":             {pureGateway{}, nil},
	} {
		if h, err := NewHandler(tc.gw, tc.reports, nil, nil); err == nil || h != nil {
			t.Errorf("%s: NewHandler = %v, %v; want an error", name, h, err)
		}
	}
	if _, err := NewHandler(pureGateway{}, pureReports{}, nil, nil); err != nil {
		t.Errorf("NewHandler refused a gateway and reports: %v", err)
	}
}
