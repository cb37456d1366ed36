package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	letterpkg "github.com/lienthong/lienthong/internal/letter"
)

// apiClient is a document-management system talking to a gateway's HTTP
// API v1 with its Bearer key.
type apiClient struct {
	// base is the gateway's base URL, asked at each request: a gateway
	// that found its port taken starts again on another.
	base func() string
	key  string
	hc   *http.Client
}

func newClient(base func() string, key string) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &apiClient{base: base, key: key, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// withKey returns a client of the same gateway with another key.
func (c *apiClient) withKey(key string) *apiClient {
	return &apiClient{base: c.base, key: key, hc: c.hc}
}

// response is an HTTP answer read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorBody is the API's error body.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		MessageVi string `json:"messageVi"`
		MessageEn string `json:"messageEn"`
		Fields    []struct {
			Path string `json:"path"`
			Code string `json:"code"`
		} `json:"fields"`
		Existing string `json:"existing"`
	} `json:"error"`
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// apiError decodes the error body; the zero value if there is none.
func (r *response) apiError() errorBody {
	var e errorBody
	json.Unmarshal(r.Body, &e)
	return e
}

// do sends a request; a transport error is returned as is, any HTTP
// status as a response.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body []byte, header http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// getJSON GETs path and decodes a 200 answer into out.
func (c *apiClient) getJSON(ctx context.Context, path string, out any) error {
	r, err := c.do(ctx, http.MethodGet, path, "", nil, nil)
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, r)
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// submit posts a raw edXML packet, with an Idempotency-Key unless it is
// empty.
func (c *apiClient) submit(ctx context.Context, packet []byte, idempotencyKey string) (*response, error) {
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	return c.do(ctx, http.MethodPost, "/api/v1/documents", "application/xml", packet, h)
}

// mustSubmit posts a packet and expects 202.
func (c *apiClient) mustSubmit(t testing.TB, packet []byte) api.Accepted {
	t.Helper()
	r, err := c.submit(context.Background(), packet, "")
	if err != nil {
		t.Fatalf("POST /api/v1/documents: %v", err)
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("POST /api/v1/documents: %s, want 202", r)
	}
	var a api.Accepted
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatal(err)
	}
	if loc := r.Header.Get("Location"); loc != "/api/v1/documents/"+a.ID {
		t.Errorf("Location = %q, want /api/v1/documents/%s", loc, a.ID)
	}
	return a
}

// list reads one page of GET /api/v1/documents.
func (c *apiClient) list(ctx context.Context, query url.Values) (*api.DocumentList, error) {
	var l api.DocumentList
	err := c.getJSON(ctx, "/api/v1/documents?"+query.Encode(), &l)
	return &l, err
}

// listAll reads every page of GET /api/v1/documents, 500 at a time.
func (c *apiClient) listAll(ctx context.Context, query url.Values) ([]gateway.DocumentSummary, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", "500")
	var all []gateway.DocumentSummary
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return all, fmt.Errorf("list %s: more than 1000 pages", query.Encode())
		}
		l, err := c.list(ctx, q)
		if err != nil {
			return all, err
		}
		all = append(all, l.Documents...)
		if l.Next == "" {
			return all, nil
		}
		q.Set("cursor", l.Next)
	}
}

// get reads GET /api/v1/documents/{id}.
func (c *apiClient) get(ctx context.Context, id string) (*gateway.DocumentDetail, error) {
	var d gateway.DocumentDetail
	err := c.getJSON(ctx, "/api/v1/documents/"+id, &d)
	return &d, err
}

func (c *apiClient) mustGet(t testing.TB, id string) *gateway.DocumentDetail {
	t.Helper()
	d, err := c.get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// postStatus posts a processing status about a document.
func (c *apiClient) postStatus(ctx context.Context, id string, body api.StatusBody) (*response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, http.MethodPost, "/api/v1/documents/"+id+"/status", "application/json", b, nil)
}

// mustPostStatus posts a status and expects 202.
func (c *apiClient) mustPostStatus(t testing.TB, id string, body api.StatusBody) {
	t.Helper()
	r, err := c.postStatus(context.Background(), id, body)
	if err != nil {
		t.Fatalf("POST status %s on %s: %v", body.Code, id, err)
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("POST status %s on %s: %s, want 202", body.Code, id, r)
	}
}

// directory reads GET /api/v1/directory, every page.
func (c *apiClient) directory(ctx context.Context) ([]api.DirectoryEntry, error) {
	var all []api.DirectoryEntry
	for cursor := ""; ; {
		var d api.Directory
		if err := c.getJSON(ctx, "/api/v1/directory?limit=5000&cursor="+url.QueryEscape(cursor), &d); err != nil {
			return all, err
		}
		all = append(all, d.Agencies...)
		if d.Next == "" {
			return all, nil
		}
		cursor = d.Next
	}
}

// deliveryState returns the state of a document's delivery to recipient,
// and a description of all its deliveries for messages.
func deliveryState(d *gateway.DocumentDetail, recipient string) (envelope.State, bool, string) {
	var desc []string
	var state envelope.State
	found := false
	for _, dl := range d.Deliveries {
		desc = append(desc, dl.Recipient+"="+dl.State.String()+"/"+string(dl.Transport))
		if dl.Recipient == recipient {
			state, found = dl.State, true
		}
	}
	return state, found, strings.Join(desc, " ")
}

// ---------------------------------------------------------------------------
// Packets

// letter is an outgoing document, written as a DMS would write it.
type letter struct {
	From        agency
	To          []agency
	Number      string
	Notation    string
	Subject     string
	Attachments []envelope.Attachment
	Date        time.Time
}

// documentID is the letter's edXML DocumentId.
func (l *letter) documentID() string { return l.edoc().DocumentID() }

func (l *letter) date() time.Time {
	if l.Date.IsZero() {
		l.Date = time.Now()
	}
	return l.Date
}

// edoc is the letter as the one letter builder has it, as demo.go sends
// it: due in ten days, urgent.
func (l *letter) edoc() letterpkg.Letter {
	now := l.date()
	e := letterpkg.Letter{
		From: letterpkg.Agency(l.From), Number: l.Number, Notation: l.Notation, Subject: l.Subject, At: now,
		DueDate: envelope.DateOf(now.AddDate(0, 0, 10)), Priority: envelope.PriorityUrgent, Attachments: l.Attachments,
	}
	for _, to := range l.To {
		e.To = append(e.To, letterpkg.Agency(to))
	}
	return e
}

// packet encodes the letter as an unsigned edXML edoc.
func (l *letter) packet(t testing.TB) []byte {
	t.Helper()
	b, err := l.edoc().Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withoutSignature returns packet without its one Signature element, which
// the signing package splices in without touching the other bytes.
func withoutSignature(packet []byte) ([]byte, error) {
	start := bytes.Index(packet, []byte("<Signature "))
	if start < 0 {
		start = bytes.Index(packet, []byte("<Signature>"))
	}
	if start < 0 {
		return nil, fmt.Errorf("no <Signature> in the packet")
	}
	const endTag = "</Signature>"
	end := bytes.Index(packet[start:], []byte(endTag))
	if end < 0 {
		return nil, fmt.Errorf("no </Signature> in the packet")
	}
	end += start + len(endTag)
	if bytes.Contains(packet[end:], []byte("<Signature")) {
		return nil, fmt.Errorf("more than one Signature in the packet")
	}
	out := append([]byte{}, packet[:start]...)
	return append(out, packet[end:]...), nil
}
