package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/disposition"
	"github.com/lienthong/lienthong/gateway/internal/httprange"
)

// getPacket answers the document's edXML packet byte for byte, as it was
// signed (outgoing) or received (incoming), with its SHA-256 as ETag.
func (h *handler) getPacket(w http.ResponseWriter, r *http.Request) {
	d, ok := h.document(w, r)
	if !ok {
		return
	}
	p, ok := h.packet(w, r, d)
	if !ok {
		return
	}
	sum := p.SHA256
	if sum == "" {
		s := sha256.Sum256(p.Data)
		sum = hex.EncodeToString(s[:])
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("ETag", `"`+sum+`"`)
	w.Header().Set("Content-Disposition", disposition.Attachment(d.ID+".edxml"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(p.Data))
}

// getAttachment answers the n-th attachment of the document (from 1),
// decoded, with its content type and file name.
// AttachmentInfo describes one attachment of a document, as
// GET /documents/{id}/attachments lists them.
type AttachmentInfo struct {
	// N is its number, for GET /documents/{id}/attachments/{n}.
	N           int    `json:"n"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256,omitempty"`
	// Problem, when set, says why the file cannot be used as it is
	// (content that does not decode, a ZIP that does not open); the bytes
	// are kept and served as received.
	Problem *AttachmentProblem `json:"problem,omitempty"`
}

// AttachmentProblem is what is wrong with an attachment.
type AttachmentProblem struct {
	Code      string `json:"code"` // undecodable, unreadable-zip
	MessageVI string `json:"messageVi"`
	MessageEN string `json:"messageEn"`
}

// attachments reads the attachments of a document's stored packet; it
// answers the request itself when it cannot.
func (h *handler) attachments(w http.ResponseWriter, r *http.Request, d *gateway.DocumentDetail) ([]envelope.Attachment, bool) {
	p, ok := h.packet(w, r, d)
	if !ok {
		return nil, false
	}
	parser := envelope.Parser{MaxSize: int64(len(p.Data)) + 1}
	pkt, _, err := parser.ParseBytes(p.Data)
	if err != nil || pkt.Edoc == nil {
		jsonServerError(w, r, h.log, fmt.Errorf("api: read stored packet %s: %w", p.ID, err))
		return nil, false
	}
	return pkt.Edoc.Attachments, true
}

// listAttachments lists a document's attachments with what is known of
// each.
func (h *handler) listAttachments(w http.ResponseWriter, r *http.Request) {
	d, ok := h.document(w, r)
	if !ok {
		return
	}
	out := []AttachmentInfo{}
	if d.Attachments > 0 {
		attachments, ok := h.attachments(w, r, d)
		if !ok {
			return
		}
		for i := range attachments {
			a := &attachments[i]
			info := AttachmentInfo{N: i + 1, Name: a.Name, ContentType: a.ContentType, Size: a.Size()}
			if info.ContentType == "" {
				info.ContentType = envelope.ContentTypeOf(a.Name, a.Head())
			}
			switch {
			case a.DecodeError != "":
				info.Problem = &AttachmentProblem{Code: "undecodable",
					MessageVI: "Nội dung tệp không giải mã được (base64 không hợp lệ)", MessageEN: "the content cannot be decoded: " + a.DecodeError}
			case a.ZipError() != nil:
				info.Problem = &AttachmentProblem{Code: "unreadable-zip",
					MessageVI: "Tệp nén không mở được (ZIP hỏng hoặc bị cắt cụt)", MessageEN: "the ZIP archive cannot be opened: " + a.ZipError().Error()}
			}
			if a.DecodeError == "" {
				sum, err := sha256Of(a)
				if err != nil {
					jsonServerError(w, r, h.log, fmt.Errorf("api: read attachment %d of document %s: %w", i+1, d.ID, err))
					return
				}
				info.SHA256 = sum
			}
			out = append(out, info)
		}
	}
	jsonOK(w, r, out)
}

func (h *handler) getAttachment(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		jsonNotFound(w)
		return
	}
	d, ok := h.document(w, r)
	if !ok {
		return
	}
	if n > d.Attachments {
		jsonNotFound(w)
		return
	}
	attachments, ok := h.attachments(w, r, d)
	if !ok {
		return
	}
	if n > len(attachments) {
		jsonNotFound(w)
		return
	}
	a := attachments[n-1]
	if a.DecodeError != "" {
		jsonUnprocessable(w, newError(0, CodeUndecodable,
			"Nội dung tệp đính kèm không giải mã được (base64 không hợp lệ)",
			"the attachment's content cannot be decoded: "+a.DecodeError))
		return
	}
	name := a.Name
	if name == "" {
		name = fmt.Sprintf("attachment-%d", n)
	}
	ctype := a.ContentType
	if ctype == "" {
		ctype = envelope.ContentTypeOf(name, a.Head())
	}
	// Read from the packet's text, not decoded whole: a large
	// attachment is decoded twice (for its SHA-256, then as it is sent)
	// rather than held.
	sum, err := sha256Of(&a)
	if err != nil {
		jsonServerError(w, r, h.log, fmt.Errorf("api: read attachment %d of document %s: %w", n, d.ID, err))
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("ETag", `"`+sum+`"`)
	w.Header().Set("Content-Disposition", disposition.Attachment(name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	httprange.Limit(r) // each far range decodes again (see httprange)
	http.ServeContent(w, r, "", time.Time{}, a.Open())
}

// sha256Of returns the hex SHA-256 of an attachment's content.
func sha256Of(a *envelope.Attachment) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, a.Open()); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// packet reads a document's packet; on failure it answers and returns
// false.
func (h *handler) packet(w http.ResponseWriter, r *http.Request, d *gateway.DocumentDetail) (*gateway.Packet, bool) {
	p, err := h.gw.Packet(r.Context(), d.PacketID)
	if err != nil {
		if errors.Is(err, gateway.ErrNotFound) {
			err = fmt.Errorf("api: the packet %s of document %s is missing: %w", d.PacketID, d.ID, err)
		}
		jsonFailure(w, r, h.log, storeError(err), err)
		return nil, false
	}
	return p, true
}
