package api_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/internal/letter"
	"github.com/lienthong/lienthong/signing"
)

// The agencies of the test gateway and the keys of their DMS.
const (
	g22       = "000.00.00.G22"
	g22Name   = "Văn phòng Chính phủ"
	h41       = "000.00.00.H41"
	h41Name   = "UBND tỉnh Nghệ An"
	h99       = "000.00.00.H99" // in no directory
	keyG22    = "dms-of-the-government-office"
	keyH41    = "dms-of-nghe-an"
	keyNobody = "dms-with-no-agency"
)

// env is a running gateway hosting G22 and H41 on a real SQLite file and
// an embedded NATS server, with its API on a loopback HTTP server.
type env struct {
	t    testing.TB
	gw   *gateway.Gateway
	srv  *httptest.Server
	keys []api.Key
	log  *zap.Logger
	logs *syncBuffer
	// signers are the hosted agencies' signers, by code.
	signers map[string]*signing.Signer
}

// newEnv starts the gateway; maxPacket 0 means the gateway's default.
func newEnv(t testing.TB, maxPacket int64) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	logs := &syncBuffer{}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(logs), zap.DebugLevel))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})

	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	var agencies []gateway.HostedAgency
	signers := map[string]*signing.Signer{}
	for _, a := range []struct{ code, name string }{{g22, g22Name}, {h41, h41Name}} {
		is, err := ca.Issue(signing.IssueRequest{Agency: a.code, Name: a.name})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		agencies = append(agencies, gateway.HostedAgency{Code: envelope.MustAgencyCode(a.code), Name: a.name, Signer: s})
		signers[a.code] = s
	}

	st, err := store.Open(ctx, filepath.Join(dir, "lienthong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Host: "127.0.0.1", Port: -1})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Options{URL: ns.ClientURL(), Server: ns}, log.Named("bus"))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{
		ID: "gw-test", Agencies: agencies, Store: st, Bus: b, Logger: log, Roots: roots,
		MaxPacketSize: maxPacket, DispatchInterval: 50 * time.Millisecond,
	})
	if err != nil {
		b.Close()
		st.Close()
		t.Fatal(err)
	}
	if err := gw.Open(ctx); err != nil {
		b.Close()
		st.Close()
		t.Fatal(err)
	}
	e := &env{t: t, gw: gw, log: log, logs: logs, signers: signers, keys: []api.Key{
		{Name: "vpcp", Secret: keyG22, Agencies: []string{g22}},
		{Name: "nghean", Secret: "sha256:" + sha256Hex([]byte(keyH41)), Agencies: []string{"H41"}},
		{Name: "nobody", Secret: keyNobody},
	}}
	h, err := api.NewHandler(gw, rollup.New(gw), e.keys, log.Named("api"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		for _, l := range logs.lines("request failed") {
			t.Errorf("a request failed with 500: %v", l)
		}
		e.srv.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Close(cctx); err != nil {
			t.Errorf("close gateway: %v", err)
		}
		if err := st.Check(cctx); err != nil {
			t.Errorf("store check: %v", err)
		}
		b.Close()
		st.Close()
	})
	return e
}

// server starts another API server on the same gateway with a body limit.
func (e *env) server(maxBody int64) *httptest.Server {
	srv := httptest.NewServer(api.NewHandlerWithMaxBody(e.gw, rollup.New(e.gw), e.keys, e.log.Named("api"), maxBody))
	e.t.Cleanup(srv.Close)
	return srv
}

// request is one HTTP request to the API.
type request struct {
	method, path, key string
	ctype             string
	body              []byte
	header            map[string]string
	base              string // another server's URL
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(r request) *response {
	e.t.Helper()
	base := e.srv.URL
	if r.base != "" {
		base = r.base
	}
	req, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(r.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}
}

func (e *env) get(path, key string) *response {
	e.t.Helper()
	return e.do(request{method: "GET", path: path, key: key})
}

// postXML posts a raw packet.
func (e *env) postXML(key string, packet []byte, header map[string]string) *response {
	e.t.Helper()
	return e.do(request{method: "POST", path: "/api/v1/documents", key: key, ctype: "application/xml", body: packet, header: header})
}

// postStatus posts a status body.
func (e *env) postStatus(key, id string, body any) *response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(request{method: "POST", path: "/api/v1/documents/" + id + "/status", key: key, ctype: "application/json", body: b})
}

// wantStatus fails unless the response has the status.
func (r *response) wantStatus(t testing.TB, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// wantError fails unless the response is an error with status and code,
// and returns the error.
func (r *response) wantError(t testing.TB, status int, code string) *api.Error {
	t.Helper()
	r.wantStatus(t, status)
	var body api.ErrorBody
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if body.Error.Code != code {
		t.Fatalf("error code %q, want %q; body %s", body.Error.Code, code, r.body)
	}
	if body.Error.MessageVI == "" || body.Error.MessageEN == "" {
		t.Errorf("error without messages: %s", r.body)
	}
	return body.Error
}

// wantField fails unless the error names path among its fields.
func wantField(t testing.TB, e *api.Error, path string) {
	t.Helper()
	for _, f := range e.Fields {
		if f.Path == path {
			return
		}
	}
	t.Errorf("no field %q in %+v", path, e.Fields)
}

func decode[T any](t testing.TB, r *response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// list returns the documents the key sees with the query.
func (e *env) list(key, query string) api.DocumentList {
	e.t.Helper()
	return decode[api.DocumentList](e.t, e.get("/api/v1/documents?"+query, key).wantStatus(e.t, http.StatusOK))
}

// eventually waits for cond, failing after a while.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// doc describes a test document.
type doc struct {
	from    string
	to      []string
	number  string
	subject string
	files   []envelope.Attachment
}

// packet encodes d as an unsigned edoc; lenient writes it even when it is
// not valid.
func (d doc) packet(t testing.TB, lenient bool) []byte {
	t.Helper()
	if d.from == "" {
		d.from = g22
	}
	if len(d.to) == 0 {
		d.to = []string{h41}
	}
	if d.subject == "" && !lenient {
		d.subject = "Về việc thử nghiệm liên thông số " + d.number
	}
	l := letter.Letter{
		From: letter.Agency{Code: d.from, Name: g22Name}, Number: d.number, Notation: "VPCP-TTĐT", Subject: d.subject,
		Promulgated: "2025/11/20", Priority: envelope.PriorityNormal, Attachments: d.files,
		SignerInfo: envelope.SignerInfo{Position: "Thứ trưởng", FullName: "Nguyễn Văn A"},
	}
	for _, to := range d.to {
		l.To = append(l.To, letter.Agency{Code: to, Name: "Nơi nhận " + to})
	}
	encode := l.Encode
	if lenient {
		encode = l.EncodeLenient
	}
	b, err := encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// file is a file part of a multipart request.
type file struct {
	field, name, ctype string
	data               []byte
}

// multipartBody writes metadata (JSON, or raw bytes when it is []byte)
// and files; a nil metadata leaves the part out.
func multipartBody(t testing.TB, metadata any, files ...file) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if metadata != nil {
		b, ok := metadata.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(metadata); err != nil {
				t.Fatal(err)
			}
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="metadata"`)
		h.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(h)
		w.Write(b)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		field := f.field
		if field == "" {
			field = "files"
		}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, f.name))
		if f.ctype != "" {
			h.Set("Content-Type", f.ctype)
		}
		w, _ := mw.CreatePart(h)
		w.Write(f.data)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// postMultipart posts metadata and files.
func (e *env) postMultipart(key string, metadata any, header map[string]string, files ...file) *response {
	e.t.Helper()
	body, ctype := multipartBody(e.t, metadata, files...)
	return e.do(request{method: "POST", path: "/api/v1/documents", key: key, ctype: ctype, body: body, header: header})
}

// metadata is a valid metadata for number.
func metadata(number string) map[string]any {
	return map[string]any{
		"from":              g22,
		"to":                []any{h41},
		"number":            number,
		"notation":          "VPCP-KSTT",
		"subject":           "V/v triển khai liên thông văn bản điện tử " + number,
		"typeName":          "Công văn",
		"promulgationPlace": "Hà Nội",
		"promulgationDate":  "2025-11-21",
		"priority":          1,
		"signer":            map[string]any{"name": "Trần Văn B", "position": "Chánh Văn phòng"},
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines with the message msg.
func (b *syncBuffer) lines(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
