package vxp

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/vxp/client"
)

// maxListed bounds a list: the SDK has no paging, so the oldest items come
// first and the rest after the DMS has taken those (done).
const maxListed = 500

// timeLayout is how times are written in answers and read in fromDate and
// toDate: dd/MM/yyyy HH:mm:ss, Vietnam's time (the .NET sample's).
const timeLayout = "02/01/2006 15:04:05"

// statusWords are an item's status and status_desc: the states of the
// LGSP wrapper of the same protocol (INITIAL, PROCESSING, FAIL; DONE
// items are no longer listed).
var statusWords = map[gateway.InboxState][2]string{
	gateway.InboxNew:        {"INITIAL", "Chờ nhận"},
	gateway.InboxProcessing: {"PROCESSING", "Đang nhận"},
	gateway.InboxFailed:     {"FAIL", "Nhận lỗi"},
	gateway.InboxDone:       {"DONE", "Đã nhận"},
}

// getReceivedEdocList lists what the system's agencies received and it
// has not taken yet (updateStatus done): documents (messagetype edoc, the
// default) or statuses (status), oldest first, at most 500; fromDate and
// toDate, when given, bound the time each was received.
func (h *Handler) getReceivedEdocList(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	kind, f := messageType(p)
	if f != nil {
		writeFail(w, f)
		return f.Code
	}
	if kind == "" {
		kind = gateway.KindEdoc
	}
	from, to, f := dateRange(p)
	if f != nil {
		writeFail(w, f)
		return f.Code
	}
	items, err := h.store.Inbox(r.Context(), gateway.InboxQuery{System: sys.ID, Kind: kind, Agencies: sys.Agencies, Since: sys.Since, Limit: maxListed})
	if err != nil {
		f := h.storeFailure("list the inbox", err, nil)
		writeFail(w, f)
		return f.Code
	}
	data := []client.Knobstick{}
	for _, it := range items {
		if !from.IsZero() && it.Created.Before(from) || !to.IsZero() && it.Created.After(to) {
			continue
		}
		words := statusWords[it.State]
		data = append(data, client.Knobstick{
			DocID: it.DocID, ServiceType: "eDoc", MessageType: string(it.Kind),
			Created: showTime(it.Created), Updated: showTime(it.Updated),
			From: it.Sender, To: it.Agency, Status: words[0], StatusDesc: words[1],
		})
	}
	writeOK(w, field{"data", data})
	return CodeOK
}

// dateRange reads fromDate and toDate (dd/MM/yyyy HH:mm:ss, or a day).
func dateRange(p params) (from, to time.Time, f *Failure) {
	read := func(name string) (time.Time, *Failure) {
		v, ok, _ := p.get(name)
		if !ok || strings.TrimSpace(v) == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{timeLayout, "02/01/2006"} {
			if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), envelope.VietnamTime()); err == nil {
				return t, nil
			}
		}
		return time.Time{}, badParameter(name, "phải có dạng dd/MM/yyyy HH:mm:ss", "must be dd/MM/yyyy HH:mm:ss")
	}
	if from, f = read("fromDate"); f != nil {
		return
	}
	to, f = read("toDate")
	return
}

func showTime(t time.Time) string { return t.In(envelope.VietnamTime()).Format(timeLayout) }

// item finds the system's item named by docId (see docIDParam), in one
// of its agencies still.
func (h *Handler) item(r *http.Request, sys *System, p params) (*gateway.InboxItem, *Failure) {
	id, f := h.docIDParam(sys, p)
	if f != nil {
		return nil, f
	}
	it, err := h.store.InboxItem(r.Context(), sys.ID, id)
	if err != nil {
		return nil, h.storeFailure("find an inbox item", err, unknownDocID(id))
	}
	if !containsText(sys.Agencies, it.Agency) {
		// The agency was given to another system since: not this one's.
		return nil, unknownDocID(id)
	}
	return it, nil
}

// docIDParam reads this call's docId. The SDK's map keeps every key a DMS
// ever passed, and DMSs spell this one docId or docid: a DMS that uses
// both sends this call's id under one spelling and an earlier call's,
// unchanged, under the other. So of two values, the one whose spelling
// changed since the system's previous call is this call's; if neither
// changed, the call is the previous one again and gets the same choice;
// otherwise the call is refused, never guessed.
func (h *Handler) docIDParam(sys *System, p params) (string, *Failure) {
	sp := p.spellings("docId")
	values := map[string]bool{}
	for _, v := range sp {
		values[strings.TrimSpace(v)] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	mem := h.docIDs[sys.ID]
	h.docIDs[sys.ID] = docIDMemory{values: sp}
	switch {
	case len(values) == 0:
		return "", badParameter("docId", "thiếu mã gói tin (docId)", "docId is missing")
	case len(values) == 1:
		for v := range values {
			return v, nil
		}
	case len(sp) > 2:
		return "", badParameter("docId", "có quá nhiều cách viết (docId, docid …)", "is given under too many spellings")
	}
	var changed []string
	for k, v := range sp {
		if old, ok := mem.values[k]; !ok || old != v {
			changed = append(changed, k)
		}
	}
	choice := ""
	switch {
	case len(changed) == 1:
		choice = changed[0]
	case len(changed) == 0 && mem.choice != "":
		choice = mem.choice
	default:
		return "", badParameter("docId", "docId và docid chỉ hai gói tin khác nhau và không rõ lần gọi này chỉ gói nào; hãy dùng một cách viết",
			"docId and docid name two items and which one this call means cannot be told; use one spelling")
	}
	h.docIDs[sys.ID] = docIDMemory{values: sp, choice: choice}
	return strings.TrimSpace(sp[choice]), nil
}

// noteDocIDs records a call's docId spellings for the system's next call
// (see docIDParam), when the call reads them otherwise.
func (h *Handler) noteDocIDs(sys *System, sp map[string]string) {
	if len(sp) == 0 {
		return
	}
	h.mu.Lock()
	h.docIDs[sys.ID] = docIDMemory{values: sp}
	h.mu.Unlock()
}

// docIDMemory is a system's docId spellings at its previous call that had
// one, and the spelling that call was taken to mean.
type docIDMemory struct {
	values map[string]string
	choice string
}

// unknownDocID is the failure for a docId the system has no item by; the
// same whether another system has one (which is not said).
func unknownDocID(id string) *Failure {
	return fail(CodeUnknownDocID, "Không có gói tin %q", "no item %q", strings.TrimSpace(id))
}

// getEdoc answers an item's packet, in base64, as received.
func (h *Handler) getEdoc(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	data, f := h.itemPacket(r, sys, p)
	if f != nil {
		writeFail(w, f, field{"data", ""})
		return f.Code
	}
	writeOK(w, field{"data", base64.StdEncoding.EncodeToString(data)})
	return CodeOK
}

// downloadEdoc answers an item's packet as it is (not JSON: the SDK writes
// the body to a file and calls any non-empty body a success, so a failure
// is an empty body, with its code in the X-Vxp-ErrorCode header).
func (h *Handler) downloadEdoc(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	data, f := h.itemPacket(r, sys, p)
	if f != nil {
		w.Header().Set("X-Vxp-ErrorCode", f.Code)
		w.WriteHeader(http.StatusNotFound)
		return f.Code
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
	return CodeOK
}

func (h *Handler) itemPacket(r *http.Request, sys *System, p params) ([]byte, *Failure) {
	// The SDK sends "{}" with Expect: 100-continue; read it.
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	it, f := h.item(r, sys, p)
	if f != nil {
		return nil, f
	}
	pkt, err := h.store.Packet(r.Context(), it.PacketID)
	if err != nil {
		return nil, h.storeFailure("read an item's packet", err, nil)
	}
	return pkt.Data, nil
}

// updateStatus records what the DMS did with an item: done (taken: no
// longer listed), fail (it could not: listed again, to try again) or
// processing (still listed). It is the transport's acknowledgement, not a
// QCVN status: those are status packets sent with sendEdoc.
func (h *Handler) updateStatus(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	f := h.update(r, sys, p)
	if f != nil {
		writeFail(w, f)
		return f.Code
	}
	writeOK(w)
	return CodeOK
}

func (h *Handler) update(r *http.Request, sys *System, p params) *Failure {
	v, ok, amb := p.get("status")
	if !ok || amb {
		return badParameter("status", "phải là done, fail hoặc processing (một giá trị)", "must be one of done, fail, processing")
	}
	var state gateway.InboxState
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "done":
		state = gateway.InboxDone
	case "fail":
		state = gateway.InboxFailed
	case "processing", "initial":
		state = gateway.InboxProcessing
	default:
		return badParameter("status", "phải là done, fail hoặc processing", "must be one of done, fail, processing")
	}
	it, f := h.item(r, sys, p)
	if f != nil {
		return f
	}
	desc, _, _ := p.get("description")
	if err := h.store.SetInboxState(r.Context(), sys.ID, it.DocID, state, desc); err != nil {
		return h.storeFailure("record an item's state", err, unknownDocID(it.DocID))
	}
	return nil
}

// countReceive answers how many items of a kind getReceivedEdocList would
// list (without its limit).
func (h *Handler) countReceive(kind gateway.PacketKind) func(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	return func(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
		n, err := h.store.CountInbox(r.Context(), gateway.InboxQuery{System: sys.ID, Kind: kind, Agencies: sys.Agencies, Since: sys.Since})
		if err != nil {
			f := h.storeFailure("count the inbox", err, nil)
			writeFail(w, f)
			return f.Code
		}
		writeOK(w, field{"count", n})
		return CodeOK
	}
}
