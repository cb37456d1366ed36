package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Accepted is the answer to POST /api/v1/documents: 202, with Location the
// document's URL. A replay of an Idempotency-Key answers the same way, with
// Replay set (and the header Idempotent-Replayed: true).
type Accepted struct {
	// ID is the local id of the document.
	ID string `json:"id"`
	// DocumentID is its edXML DocumentId.
	DocumentID string `json:"documentId"`
	// Replay is set when the Idempotency-Key was seen before with the
	// same request: nothing new was accepted.
	Replay bool `json:"replay"`
}

// DocumentList is a page of GET /api/v1/documents.
type DocumentList struct {
	Documents []gateway.DocumentSummary `json:"documents"`
	// Next is the cursor of the next page, empty on the last one.
	Next string `json:"next"`
}

// Media types of a raw edXML packet.
var xmlMediaTypes = map[string]bool{"application/xml": true, "text/xml": true, "application/edxml+xml": true}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// createDocument accepts an outgoing document: a raw edXML packet, or
// metadata and files that become one.
func (h *handler) createDocument(w http.ResponseWriter, r *http.Request) {
	caller := callerOf(r)
	idemKey, e := idempotencyKey(r)
	if e != nil {
		jsonBadRequest(w, e)
		return
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mediaType = ""
	}
	if !xmlMediaTypes[mediaType] && mediaType != "multipart/form-data" {
		jsonError(w, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Gửi gói tin edXML (application/xml) hoặc metadata và tệp (multipart/form-data)",
			"send an edXML packet (application/xml) or metadata and files (multipart/form-data)"))
		return
	}
	read, release, ok := h.admitBody(w, r, gateway.KindEdoc, h.maxBody)
	if !ok {
		return
	}
	defer release()
	var sub *submission
	if xmlMediaTypes[mediaType] {
		sub, e = h.rawSubmission(r, mediaType, idemKey != "")
	} else {
		sub, e, err = h.multipartSubmission(r, params["boundary"], caller)
	}
	read()
	if e != nil || err != nil {
		jsonFailure(w, r, h.log, e, err)
		return
	}
	// The body read, a turn to sign and commit it: a slow upload holds
	// none.
	releaseTurn, ok := h.admitWork(w, r, gateway.KindEdoc)
	if !ok {
		return
	}
	defer releaseTurn()
	doc, replay, err := h.gw.Submit(r.Context(), gateway.Submission{
		Packet: sub.packet, Allowed: caller.scope(), IdempotencyKey: idemKey, RequestHash: sub.hash,
		// The body is not read again but to name unknown recipients,
		// which Submit finds before it signs.
		GiveUp: true,
	})
	if err != nil {
		jsonFailure(w, r, h.log, submitError(err, sub.unknown), err)
		return
	}
	setDocument(r, doc.ID)
	w.Header().Set("Location", Prefix+"/documents/"+doc.ID)
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	jsonAccepted(w, r, Accepted{ID: doc.ID, DocumentID: doc.DocumentID, Replay: replay})
}

// submission is a document read from a request, ready for gateway.Submit.
type submission struct {
	packet []byte
	// hash identifies the request for Idempotency-Key.
	hash string
	// unknown names the recipients that are not in the directory, when
	// the gateway says there are some.
	unknown func() []FieldError
}

// signatureRoom is the spare capacity a packet's buffer keeps for the
// Signature the gateway splices into it (a few KiB with its certificate
// chain).
const signatureRoom = 64 << 10

// rawSubmission reads a raw packet. The request hash, if keyed (the
// request has an Idempotency-Key: nothing else reads it), is the SHA-256
// of the media type and the body: 42 ms of a 70 MB packet.
func (h *handler) rawSubmission(r *http.Request, mediaType string, keyed bool) (*submission, *Error) {
	// With a known length, read into one buffer of that size: io.ReadAll
	// would grow by doubling, and a 67 MB packet would cost twice that.
	// The room left after it takes the Signature, spliced in place.
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= h.maxBody {
		buf.Grow(int(n) + max(bytes.MinRead, signatureRoom)) // ReadFrom wants MinRead free bytes before it sees EOF
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, bodyError(err)
	}
	packet := buf.Bytes()
	sub := &submission{packet: packet, unknown: func() []FieldError { return h.unknownRecipientsOf(packet) }}
	if keyed {
		sum := sha256.New()
		io.WriteString(sum, mediaType+"\n")
		sum.Write(packet)
		sub.hash = hex.EncodeToString(sum.Sum(nil))
	}
	return sub, nil
}

// multipartSubmission reads metadata and files and writes the packet they
// describe. Refusals are *Error; a failure of the encoder itself is err.
func (h *handler) multipartSubmission(r *http.Request, boundary string, caller *principal) (*submission, *Error, error) {
	up, e := readUpload(r, boundary)
	if e != nil {
		return nil, e, nil
	}
	from, to, e := h.resolveParties(up.meta, caller)
	if e != nil {
		return nil, e, nil
	}
	packet, err := envelope.Encode(buildPacket(up.meta, from, to, up.files, h.now()))
	if err != nil {
		if e := packetError(err); e != nil {
			return nil, e, nil
		}
		return nil, nil, fmt.Errorf("api: encode the packet: %w", err)
	}
	// The recipients were found in the directory just before.
	return &submission{packet: packet, hash: up.hash, unknown: func() []FieldError { return nil }}, nil, nil
}

// idempotencyKey reads the Idempotency-Key header: at most 255 visible
// ASCII characters.
func idempotencyKey(r *http.Request) (string, *Error) {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(k) > maxIdempotencyKey {
		return "", badParameter("Idempotency-Key", "Idempotency-Key dài quá 255 ký tự", "Idempotency-Key is longer than 255 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", badParameter("Idempotency-Key", "Idempotency-Key chỉ gồm ký tự ASCII nhìn thấy được", "Idempotency-Key must be visible ASCII characters")
		}
	}
	return k, nil
}

// bodyError maps an error reading the request body.
func bodyError(err error) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge()
	}
	return newError(http.StatusBadRequest, CodeMalformed,
		"Không đọc được nội dung yêu cầu", "the request body cannot be read: "+err.Error())
}

// upload is a multipart submission read in full.
type upload struct {
	meta  *Metadata
	files []envelope.Attachment
	// hash identifies the request for Idempotency-Key: the SHA-256 of the
	// parts (names, file names, content types, contents), not of the raw
	// body, whose boundary a client may draw anew on each retry.
	hash string
}

// readUpload reads the metadata part and the file parts.
func readUpload(r *http.Request, boundary string) (*upload, *Error) {
	if boundary == "" {
		return nil, newError(http.StatusBadRequest, CodeMalformed,
			"multipart/form-data thiếu boundary", "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	up := &upload{}
	sum := sha256.New()
	io.WriteString(sum, "multipart/form-data\n")
	for n := 1; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bodyError(err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, bodyError(err)
		}
		name, filename := part.FormName(), part.FileName()
		ctype := part.Header.Get("Content-Type")
		hashPart(sum, name, filename, ctype, data)
		switch {
		case name == "metadata" && filename == "":
			if up.meta != nil {
				return nil, newError(http.StatusBadRequest, CodeMalformed,
					"Chỉ được gửi một phần metadata", "only one metadata part is allowed",
					fieldError("metadata", "duplicate", "metadata lặp lại", "metadata repeats"))
			}
			up.meta = &Metadata{}
			if e := decodeJSON(bytes.NewReader(data), up.meta, "metadata"); e != nil {
				return nil, e
			}
		case filename != "":
			up.files = append(up.files, attachmentOf(filename, ctype, data))
		default:
			return nil, newError(http.StatusBadRequest, CodeMalformed,
				fmt.Sprintf("Phần %q không phải metadata cũng không phải tệp", name),
				fmt.Sprintf("part %q is neither the metadata nor a file (a file part needs a filename)", name),
				fieldError(name, "unexpected", "Phần không mong đợi", "unexpected part"))
		}
	}
	if up.meta == nil {
		return nil, newError(http.StatusUnprocessableEntity, CodeValidation,
			"Thiếu phần metadata", "the metadata part is missing",
			fieldError("metadata", "required", "Thiếu phần metadata (JSON)", "the metadata part (JSON) is required"))
	}
	up.hash = hex.EncodeToString(sum.Sum(nil))
	return up, nil
}

func hashPart(sum hash.Hash, name, filename, ctype string, data []byte) {
	fmt.Fprintf(sum, "%q %q %q %d\n", name, filename, ctype, len(data))
	sum.Write(data)
}

// attachmentOf makes an attachment of a file part: its content type is
// the part's, unless that says nothing (absent or
// application/octet-stream), in which case it comes from the name or the
// content.
func attachmentOf(filename, ctype string, data []byte) envelope.Attachment {
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || mt == "application/octet-stream" {
		ctype = envelope.ContentTypeOf(filename, data)
	}
	return envelope.Attachment{Name: filename, ContentType: ctype, Data: data}
}

// unknownRecipientsOf names the recipients of a raw packet that are not
// in the directory, with their paths.
func (h *handler) unknownRecipientsOf(packet []byte) []FieldError {
	p := envelope.Parser{MaxSize: int64(len(packet)) + 1}
	pkt, _, err := p.ParseBytes(packet)
	if err != nil || pkt.Edoc == nil {
		return nil
	}
	var out []FieldError
	for i, to := range pkt.Edoc.Header.To {
		if _, ok := h.gw.Agency(to.OrganID); !ok {
			out = append(out, unknownRecipientField(fmt.Sprintf("MessageHeader/To[%d]/OrganId", i+1), to.OrganID))
		}
	}
	return out
}

// maxListWait bounds the wait parameter of the list: long enough to save a
// DMS most of its polling, short enough for proxies' idle timeouts.
const maxListWait = 60 * time.Second

// listDocuments lists the documents of the key's agencies, newest first.
// With wait=N (seconds, at most 60) and nothing to list, it answers as
// soon as a document of those agencies changes and the query finds
// something, or after N seconds with the empty list: a DMS waits for new
// documents without polling.
func (h *handler) listDocuments(w http.ResponseWriter, r *http.Request) {
	caller := callerOf(r)
	q, e := documentQuery(r, caller)
	if e != nil {
		jsonError(w, e)
		return
	}
	wait, e := listWait(r)
	if e != nil {
		jsonError(w, e)
		return
	}
	list := DocumentList{Documents: []gateway.DocumentSummary{}}
	if len(q.Agencies) == 0 {
		// An empty list means every agency to the store; the key has none.
		jsonOK(w, r, list)
		return
	}
	var changes <-chan gateway.Change
	var timeout <-chan time.Time
	if wait > 0 {
		// Subscribed before the first query, so that a document arriving
		// between the query and the wait is not missed.
		var stop func()
		changes, stop = h.gw.Subscribe()
		defer stop()
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		page, err := h.gw.Documents(r.Context(), q)
		if err != nil {
			if errors.Is(err, gateway.ErrInvalidQuery) {
				jsonBadRequest(w, badParameter("cursor", "cursor không phải giá trị next của một trang trước", "cursor is not the next of an earlier page"))
				return
			}
			jsonFailure(w, r, h.log, storeError(err), err)
			return
		}
		if len(page.Documents) > 0 || wait == 0 || !h.waitChange(r, changes, timeout, q.Agencies) {
			if page.Documents != nil {
				list.Documents = page.Documents
			}
			list.Next = page.Next
			jsonOK(w, r, list)
			return
		}
	}
}

// waitChange waits for a change of a document of one of agencies (or a
// change that says changes were lost) and reports true; false when the
// wait ends first: its time is up, the client went away, the API or the
// gateway closes.
func (h *handler) waitChange(r *http.Request, changes <-chan gateway.Change, timeout <-chan time.Time, agencies []string) bool {
	for {
		select {
		case c, ok := <-changes:
			if !ok {
				return false
			}
			if c.Lost || slices.Contains(agencies, c.Agency) {
				return true
			}
		case <-timeout:
			return false
		case <-r.Context().Done():
			return false
		case <-h.closing:
			return false
		}
	}
}

// listWait reads the list's wait parameter: seconds, 0 to 60.
func listWait(r *http.Request) (time.Duration, *Error) {
	s := r.URL.Query().Get("wait")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || time.Duration(n)*time.Second > maxListWait {
		return 0, badParameter("wait", "wait phải là số giây từ 0 đến 60", "wait must be a number of seconds from 0 to 60")
	}
	return time.Duration(n) * time.Second, nil
}

// documentQuery reads the list's parameters: direction, status,
// recipient, since, until, q, agency, cursor, limit.
func documentQuery(r *http.Request, caller *principal) (gateway.DocumentQuery, *Error) {
	v := r.URL.Query()
	q := gateway.DocumentQuery{Agencies: caller.scope(), Text: strings.TrimSpace(v.Get("q")), Cursor: v.Get("cursor")}
	switch d := v.Get("direction"); d {
	case "":
	case string(gateway.Outgoing), string(gateway.Incoming):
		q.Direction = gateway.Direction(d)
	default:
		return q, badParameter("direction", "direction phải là out (văn bản đi) hoặc in (văn bản đến)", "direction must be out or in")
	}
	if s := v.Get("status"); s != "" {
		st, err := envelope.ParseState(s)
		if err != nil {
			return q, badParameter("status",
				"status phải là một trạng thái: sent, arrived, rejected, accepted, assigned, processing, done, recall_requested, recalled",
				"status must be a state: sent, arrived, rejected, accepted, assigned, processing, done, recall_requested, recalled")
		}
		q.State = &st
	}
	if s := v.Get("since"); s != "" {
		t, ok := parseSince(s)
		if !ok {
			return q, badParameter("since", "since phải là thời điểm RFC 3339 hoặc ngày yyyy-mm-dd", "since must be an RFC 3339 time or a date yyyy-mm-dd")
		}
		q.Since = t
	}
	if s := v.Get("until"); s != "" {
		t, ok := parseSince(s)
		if !ok {
			return q, badParameter("until", "until phải là thời điểm RFC 3339 hoặc ngày yyyy-mm-dd", "until must be an RFC 3339 time or a date yyyy-mm-dd")
		}
		q.Until = t
	}
	if s := v.Get("recipient"); s != "" {
		c, err := envelope.ParseAgencyCode(s, envelope.CodeAny)
		if err != nil {
			return q, badParameter("recipient", "recipient phải là mã định danh của một cơ quan", "recipient must be an agency code")
		}
		q.Recipient = c.String()
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return q, badParameter("limit", "limit phải là số từ 1 đến 500", "limit must be a number from 1 to 500")
		}
		q.Limit = n
	}
	if a := v.Get("agency"); a != "" {
		if !caller.allows(a) {
			return q, forbiddenAgency("agency", a)
		}
		c, _ := envelope.ParseAgencyCode(a, envelope.CodeAny)
		q.Agencies = []string{c.String()}
	}
	return q, nil
}

// parseSince reads an RFC 3339 time, or a date (yyyy-mm-dd or
// yyyy/mm/dd) taken as midnight in Vietnam.
func parseSince(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := envelope.Date(normalizeDate(s)).Time()
	return t, err == nil
}

// getDocument answers a document with its deliveries and events.
func (h *handler) getDocument(w http.ResponseWriter, r *http.Request) {
	d, ok := h.document(w, r)
	if !ok {
		return
	}
	jsonOK(w, r, d)
}

// document reads the document named by the path for the caller; when it
// does not exist or belongs to an agency outside the key's, it answers
// 404 (the same, so as not to tell which) and returns false.
func (h *handler) document(w http.ResponseWriter, r *http.Request) (*gateway.DocumentDetail, bool) {
	id := r.PathValue("id")
	setDocument(r, id)
	if !gateway.ValidID(id) {
		jsonNotFound(w)
		return nil, false
	}
	d, err := h.gw.Document(r.Context(), id)
	if errors.Is(err, gateway.ErrNotFound) {
		jsonNotFound(w)
		return nil, false
	}
	if err != nil {
		jsonFailure(w, r, h.log, storeError(err), err)
		return nil, false
	}
	if !callerOf(r).allows(d.Agency) {
		jsonNotFound(w)
		return nil, false
	}
	return d, true
}

// storeError maps an error of a store read, or returns nil for a fault.
func storeError(err error) *Error {
	if errors.Is(err, gateway.ErrClosed) {
		return unavailable()
	}
	return nil
}
