package vxp

import (
	"io"
	"net/http"
	"strings"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/vxp/client"
)

// maxSent and maxSentRows bound getSentEdocList's answer: the latest
// documents, and their recipients (a ministry's circular goes to a
// hundred).
const (
	maxSent     = 200
	maxSentRows = 2000
)

// getSentEdocList answers each recipient's state of the documents the
// system's agencies sent: of one document with docId (a sendEdoc DocId),
// else of the latest 200 (2,000 recipients at most). sendStatus is the transport's (PROCESSING until
// the axis has the packet, then DONE); receiveStatus the recipient's
// lifecycle state in lienthong's words (arrived, accepted … see
// envelope.State), receiveStatusDesc its Vietnamese name. Statuses
// (messagetype status) are not documents: their list is empty.
func (h *Handler) getSentEdocList(w http.ResponseWriter, r *http.Request, sys *System, p params) string {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	kind, f := messageType(p)
	if f != nil {
		writeFail(w, f)
		return f.Code
	}
	data := []client.StatusResult{}
	if kind == gateway.KindStatus {
		writeOK(w, field{"data", data})
		return CodeOK
	}
	// docId, when it names a document the system's agencies sent, is
	// that one; other values are keys the SDK kept from earlier calls (an
	// inbox item's UUID …) and are ignored.
	var docs []gateway.DocumentSummary
	sp := p.spellings("docId")
	h.noteDocIDs(sys, sp)
	if len(sp) > 2 {
		f := badParameter("docId", "có quá nhiều cách viết (docId, docid …)", "is given under too many spellings")
		writeFail(w, f)
		return f.Code
	}
	seen := map[string]bool{}
	for _, id := range sp {
		id = strings.TrimSpace(id)
		if seen[id] || id == "" {
			continue
		}
		seen[id] = true
		d, err := h.store.Document(r.Context(), id)
		if err != nil {
			if f := h.storeFailure("read a sent document", err, unknownDocID(id)); f.Code != CodeUnknownDocID {
				writeFail(w, f)
				return f.Code
			}
			continue
		}
		if d.Direction == gateway.Outgoing && containsText(sys.Agencies, d.Agency) {
			docs = append(docs, gateway.DocumentSummary{Document: d.Document, Deliveries: d.Deliveries})
		}
	}
	if len(docs) == 0 {
		page, err := h.store.Documents(r.Context(), gateway.DocumentQuery{Agencies: sys.Agencies, Direction: gateway.Outgoing, Limit: maxSent})
		if err != nil {
			f := h.storeFailure("list sent documents", err, nil)
			writeFail(w, f)
			return f.Code
		}
		docs = page.Documents
	}
	for _, d := range docs {
		notation := d.Number
		if d.Notation != "" {
			notation += "/" + d.Notation
		}
		for _, dl := range d.Deliveries {
			res := client.StatusResult{
				ServiceType: "eDoc", MessageType: "edoc", SenderDocID: d.ID,
				FromCode: d.Agency, ToCode: dl.Recipient,
				SendStatus: "PROCESSING", SendStatusDesc: "Đang gửi",
				ReceiveStatus: dl.State.String(), ReceiveStatusDesc: dl.State.Name(),
				Title: d.Subject, Notation: notation, SentTime: showTime(d.CreatedAt),
			}
			if dl.Transport != gateway.Queued {
				res.SendStatus, res.SendStatusDesc = "DONE", "Đã gửi"
			}
			if dl.Transport != gateway.Queued && dl.UpdatedAt.After(d.CreatedAt) {
				res.ReceivedTime = showTime(dl.UpdatedAt)
			}
			data = append(data, res)
			if len(data) == maxSentRows {
				break
			}
		}
		if len(data) == maxSentRows {
			break
		}
	}
	writeOK(w, field{"data", data})
	return CodeOK
}
