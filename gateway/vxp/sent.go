package vxp

import (
	"io"
	"net/http"
	"strings"

	"github.com/lienthong/lienthong/gateway"
)

// statusResult is an item of getSentEdocList, as the SDK's StatusResult
// reads it: one recipient of a document sent.
type statusResult struct {
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

// getSentEdocList answers each recipient's state of the documents the
// system's agencies sent: of one document with docId (a sendEdoc DocId),
// else of the latest 500. sendStatus is the transport's (PROCESSING until
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
	data := []statusResult{}
	if kind == gateway.KindStatus {
		writeOK(w, field{"data", data})
		return CodeOK
	}
	var docs []gateway.DocumentSummary
	if ids := append(p.all("docId"), p.all("docid")...); len(ids) > 0 {
		for _, id := range ids {
			d, err := h.store.Document(r.Context(), strings.TrimSpace(id))
			if err != nil {
				if f := h.storeFailure("read a sent document", err, unknownDocID(id)); f.Code != CodeUnknownDocID {
					writeFail(w, f)
					return f.Code
				}
				continue
			}
			if d.Direction != gateway.Outgoing || !containsText(sys.Agencies, d.Agency) {
				continue // another system's: not said
			}
			docs = append(docs, gateway.DocumentSummary{Document: d.Document, Deliveries: d.Deliveries})
			break
		}
		if len(docs) == 0 {
			f := unknownDocID(ids[0])
			writeFail(w, f)
			return f.Code
		}
	} else {
		page, err := h.store.Documents(r.Context(), gateway.DocumentQuery{Agencies: sys.Agencies, Direction: gateway.Outgoing, Limit: maxListed})
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
			res := statusResult{
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
		}
	}
	writeOK(w, field{"data", data})
	return CodeOK
}
