// Package client speaks the national axis SDK's protocol from the DMS's
// side exactly as VNPT's SDKVXP 2.0.1 does on the wire
// (../shared/domain/vxp-api.md): one long-lived object per system, whose
// timestamp is fixed when it is made and whose header keys accumulate
// across calls, sent and signed in a Java HashMap's order; sendEdoc's body
// the file's bytes and a CRLF as application/octet-stream, with hash-file
// the SHA-256 in hex without leading zeros. The tests drive gateways with
// it as the deployed DMS products would, and "lienthong bench -face vxp"
// measures with it. It also holds the protocol's items as the SDK reads
// them (Knobstick, StatusResult, Agency …), which the gateway's face
// writes.
package client

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Client is one SDK service object (KnobstickServiceImp and
// AgencyServiceImp share the behaviour): safe for concurrent use, as a
// DMS's singleton is, although the SDK's own map is not.
type Client struct {
	endpoint string
	secret   []byte
	http     *http.Client

	mu   sync.Mutex
	keys []entry // the SDK's HashMap, in insertion order
}

type entry struct{ key, value string }

// New makes a client for the endpoint (the prefix included, as a DMS
// configures it), with the system id and secret, its timestamp fixed at
// now as the SDK's constructor fixes it. hc nil means a client with a 60 s
// timeout.
func New(endpoint, systemID, secret string, now time.Time, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Client{endpoint: endpoint, secret: []byte(secret), http: hc}
	c.put("timestamp", Timestamp(now))
	c.put("systemid", systemID)
	return c
}

// Timestamp renders t as the SDK does: ddMMyyyy'T'HHmmss+SSSS, where SSSS
// is the milliseconds on four digits (not a zone), in local time.
func Timestamp(t time.Time) string {
	return fmt.Sprintf("%s+%04d", t.Format("02012006T150405"), t.Nanosecond()/int(time.Millisecond))
}

// put sets a key in the map, keeping its first place.
func (c *Client) put(key, value string) {
	for i := range c.keys {
		if c.keys[i].key == key {
			c.keys[i].value = value
			return
		}
	}
	c.keys = append(c.keys, entry{key, value})
}

// Header is what a caller passes as its header JSON: keys and values in
// order, as {"from", "000.00.00.G22"}. A value is a string, or (for "to")
// a list, serialised as JSON.
type Header []KV

// KV is a key of a Header and its value.
type KV [2]any

// Response is an answer's envelope and body.
type Response struct {
	Status    string `json:"status"`
	ErrorCode string `json:"ErrorCode"`
	ErrorDesc string `json:"ErrorDesc"`
	// Raw is the body as received.
	Raw []byte `json:"-"`
	// Header is the answer's HTTP header (the SDK reads none; a client
	// that knows Retry-After may).
	Header http.Header `json:"-"`
}

// call signs and sends one operation: the SDK's sequence of puts into its
// map, every key of the map sent as XroadVnpt-key and signed.
func (c *Client) call(ctx context.Context, method, op, contentType string, h Header, body []byte, extra ...entry) (*http.Response, error) {
	c.mu.Lock()
	c.put("Content-Type", contentType)
	for _, kv := range h {
		key, _ := kv[0].(string)
		c.put(key, headerValue(key, kv[1]))
	}
	for _, e := range extra {
		c.put(e.key, e.value)
	}
	keys := hashMapOrder(c.keys)
	c.mu.Unlock()

	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+"/"+op, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	var signed bytes.Buffer
	signed.WriteByte('{')
	var names []string
	for i, e := range keys {
		// Set on the map directly: the SDK sends the key's own case.
		req.Header["XroadVnpt-"+e.key] = append(req.Header["XroadVnpt-"+e.key], e.value)
		if e.key == "Content-Type" {
			req.Header.Set("Content-Type", e.value)
		}
		if i > 0 {
			signed.WriteByte(',')
		}
		writeGsonString(&signed, "XroadVnpt-"+e.key)
		signed.WriteByte(':')
		writeGsonString(&signed, e.value)
		names = append(names, e.key)
	}
	signed.WriteByte('}')
	mac := hmac.New(sha256.New, c.secret)
	mac.Write(signed.Bytes())
	req.Header["XroadVnpt-sign-header"] = []string{signed.String()}
	req.Header["XroadVnpt-sign-header-key"] = []string{strings.Join(names, ";")}
	req.Header["XroadVnpt-hash-header"] = []string{hex.EncodeToString(mac.Sum(nil))}
	req.Header.Set("User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP")
	req.Header["XroadVnpt-version"] = []string{"3.0.201608"}
	return c.http.Do(req)
}

// headerValue renders a caller's value as the SDK does: "to" as the JSON
// serialisation of what was given, others as their string.
func headerValue(key string, value any) string {
	if key == "to" {
		b, _ := json.Marshal(value)
		return string(b)
	}
	if s, ok := value.(string); ok {
		return s
	}
	return fmt.Sprint(value)
}

// writeGsonString writes s as Gson's JsonObject.toString does: quotes,
// backslashes and control characters escaped, everything else raw.
func writeGsonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// hashMapOrder returns the entries in the order a java.util.HashMap with
// default capacity iterates them: by bucket (the spread String.hashCode,
// masked by the table size, which doubles past 0.75 full), and within a
// bucket in insertion order (a resize keeps it).
func hashMapOrder(keys []entry) []entry {
	size := 16
	for len(keys) > size*3/4 {
		size *= 2
	}
	out := make([]entry, len(keys))
	copy(out, keys)
	bucket := func(k string) int32 {
		h := javaHashCode(k)
		h ^= int32(uint32(h) >> 16)
		return h & int32(size-1)
	}
	sort.SliceStable(out, func(i, j int) bool { return bucket(out[i].key) < bucket(out[j].key) })
	return out
}

// javaHashCode is java.lang.String.hashCode: over UTF-16 code units.
func javaHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// HashFile is the SDK's rendering of a SHA-256: every byte's hex without
// its leading zero.
func HashFile(data []byte) string {
	sum := sha256.Sum256(data)
	var b strings.Builder
	for _, c := range sum {
		b.WriteString(fmt.Sprintf("%x", c))
	}
	return b.String()
}

// read reads an answer's body and envelope. The HTTP status is ignored, as
// the SDK ignores it.
func read(res *http.Response, err error, into any) (*Response, error) {
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var env Response
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("vxp client: the answer is not JSON (HTTP %s): %q", res.Status, raw)
	}
	env.Raw, env.Header = raw, res.Header
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			return &env, fmt.Errorf("vxp client: %w", err)
		}
	}
	return &env, nil
}

// SendResult is sendEdoc's answer.
type SendResult struct {
	Response
	DocID string `json:"DocId"`
}

// SendEdoc sends a packet file with the caller's header JSON (from,
// servicetype, messagetype, maybe to): the file and a CRLF, as
// application/octet-stream, with hash-file.
func (c *Client) SendEdoc(ctx context.Context, h Header, file []byte) (*SendResult, error) {
	body := append(append([]byte{}, file...), '\r', '\n')
	var out SendResult
	res, err := c.call(ctx, http.MethodPost, "sendEdoc", "application/octet-stream", h, body, entry{"hash-file", HashFile(file)})
	env, err := read(res, err, nil)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(env.Raw, &out); err != nil {
		return nil, err
	}
	out.Response = *env
	return &out, nil
}

// Knobstick is an item of getReceivedEdocList.
type Knobstick struct {
	DocID       string `json:"docId"`
	ServiceType string `json:"serviceType"`
	MessageType string `json:"messageType"`
	Created     string `json:"created_time"`
	Updated     string `json:"updated_time"`
	From        string `json:"from"`
	To          string `json:"to"`
	Status      string `json:"status"`
	StatusDesc  string `json:"status_desc"`
}

// ListResult is getReceivedEdocList's answer.
type ListResult struct {
	Response
	Data []Knobstick `json:"data"`
}

// GetReceivedEdocList lists what was received (h: servicetype,
// messagetype, maybe fromDate, toDate).
func (c *Client) GetReceivedEdocList(ctx context.Context, h Header) (*ListResult, error) {
	var out ListResult
	res, err := c.call(ctx, http.MethodPost, "getReceivedEdocList", "application/json", h, nil)
	env, err := read(res, err, &out)
	if env != nil {
		out.Response = *env
	}
	return &out, err
}

// EdocResult is getEdoc's answer, with the packet decoded.
type EdocResult struct {
	Response
	Data   string `json:"data"`
	Packet []byte `json:"-"`
}

// GetEdoc fetches an item (h: docId or docid, filePath).
func (c *Client) GetEdoc(ctx context.Context, h Header) (*EdocResult, error) {
	var out EdocResult
	res, err := c.call(ctx, http.MethodPost, "getEdoc", "application/json", h, []byte("{}"))
	env, err := read(res, err, &out)
	if env != nil {
		out.Response = *env
	}
	if err == nil && out.ErrorCode == "0" {
		out.Packet, err = base64.StdEncoding.DecodeString(out.Data)
	}
	return &out, err
}

// DownloadEdoc fetches an item's packet as it is (GET): its bytes, or
// nothing.
func (c *Client) DownloadEdoc(ctx context.Context, h Header) ([]byte, error) {
	res, err := c.call(ctx, http.MethodGet, "downloadEdoc", "application/json", h, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return io.ReadAll(res.Body)
}

// UpdateStatus acknowledges an item (h: status done|fail|processing, docId
// or docid).
func (c *Client) UpdateStatus(ctx context.Context, h Header) (*Response, error) {
	res, err := c.call(ctx, http.MethodPost, "updateStatus", "application/json", h, []byte("{}"))
	return read(res, err, nil)
}

// CountResult is countReceiveEdoc's and countReceiveStatus's answer.
type CountResult struct {
	Response
	Count int `json:"count"`
}

// Count calls countReceiveEdoc (status false) or countReceiveStatus.
func (c *Client) Count(ctx context.Context, status bool, h Header) (*CountResult, error) {
	op := "countReceiveEdoc"
	if status {
		op = "countReceiveStatus"
	}
	var out CountResult
	res, err := c.call(ctx, http.MethodPost, op, "application/json", h, []byte("{}"))
	env, err := read(res, err, &out)
	if env != nil {
		out.Response = *env
	}
	return &out, err
}

// StatusResult is an item of getSentEdocList.
type StatusResult struct {
	ServiceType       string `json:"serviceType"`
	MessageType       string `json:"messageType"`
	SenderDocID       string `json:"senderDocId"`
	ReceiverDocID     string `json:"receiverDocId"`
	FromCode          string `json:"fromCode"`
	ToCode            string `json:"toCode"`
	SendStatus        string `json:"sendStatus"`
	SendStatusDesc    string `json:"sendStatusDesc"`
	ReceiveStatus     string `json:"receiveStatus"`
	ReceiveStatusDesc string `json:"receiveStatusDesc"`
	Title             string `json:"title"`
	Notation          string `json:"notation"`
	SentTime          string `json:"sentTime"`
	ReceivedTime      string `json:"receivedTime"`
}

// SentResult is getSentEdocList's answer.
type SentResult struct {
	Response
	Data []StatusResult `json:"data"`
}

// GetSentEdocList lists the recipients' states of what was sent (h:
// servicetype, messagetype, maybe docId).
func (c *Client) GetSentEdocList(ctx context.Context, h Header) (*SentResult, error) {
	var out SentResult
	res, err := c.call(ctx, http.MethodPost, "getSentEdocList", "application/json", h, nil)
	env, err := read(res, err, &out)
	if env != nil {
		out.Response = *env
	}
	return &out, err
}

// Agency is an item of getAgenciesList.
type Agency struct {
	ID      string `json:"id"`
	PID     string `json:"pid"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Mail    string `json:"mail"`
	OldCode string `json:"oldCode"`
}

// AgencyQD20 is an item of getAgenciesListQD20 (Code102 the QCVN 102
// code).
type AgencyQD20 struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Mail    string `json:"mail"`
	Code102 string `json:"code102"`
}

// Unit is an item of getSynchronizeUnit.
type Unit struct {
	ID         string `json:"id"`
	PID        string `json:"pid"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Mail       string `json:"mail"`
	Version    uint64 `json:"version"`
	CenterCode string `json:"centerCode"`
	Deleted    bool   `json:"deleted"`
	ModifyDate string `json:"modifyDate"`
	IsAgency   bool   `json:"isAgency"`
}

// AgenciesResult is getAgenciesList's answer.
type AgenciesResult struct {
	Response
	Data []Agency `json:"data"`
}

// GetAgenciesList reads the directory.
func (c *Client) GetAgenciesList(ctx context.Context) (*AgenciesResult, error) {
	var out AgenciesResult
	res, err := c.call(ctx, http.MethodPost, "getAgenciesList", "application/json", nil, nil)
	env, err := read(res, err, &out)
	if env != nil {
		out.Response = *env
	}
	return &out, err
}

// Call sends any operation with a JSON content type and answers the
// envelope and the raw body: for the operations without a helper
// (getAgenciesListQD20, getSynchronizeUnit, registerAgency, deleteAgency).
func (c *Client) Call(ctx context.Context, op string, h Header, body []byte) (*Response, error) {
	res, err := c.call(ctx, http.MethodPost, op, "application/json", h, body)
	return read(res, err, nil)
}
