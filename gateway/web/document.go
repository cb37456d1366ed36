package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/disposition"
	"github.com/lienthong/lienthong/gateway/internal/httprange"
)

// documentPage is the data of Chi tiết.
type documentPage struct {
	Doc         *gateway.DocumentDetail
	Kind        string
	Overdue     bool
	Attachments []attachmentInfo
	// AttachmentsError says why the attachments could not be listed.
	AttachmentsError string
	// Actions are the statuses the clerk may send now.
	Actions []action
	// Reason is the reason typed in a form that was refused, kept.
	Reason string
	// Related is the local document a revocation, update or replacement
	// names, when it is here.
	Related string
	// Notes are the document's warnings (gateway.Document.Warnings) but
	// those about an attachment, which are said beside it.
	Notes []envelope.Warning
}

// attachmentInfo is an attachment as the page lists it.
type attachmentInfo struct {
	N           int
	Name        string
	Description string
	ContentType string
	Size        int
	Undecodable bool
	// Problem says why the file will not open (a ZIP archive cut short),
	// in Vietnamese; it is still offered as received.
	Problem string
}

// loadDocument reads the document of the request's {id} if the clerk may
// see it; otherwise it answers (404 for a document of another agency, so
// that its existence is not revealed) and returns nil.
func (h *Handler) loadDocument(w http.ResponseWriter, r *http.Request) *gateway.DocumentDetail {
	ss := sessionOf(r)
	id := r.PathValue("id")
	if !gateway.ValidID(id) {
		h.renderError(w, r, ss, http.StatusNotFound, msgNotFound)
		return nil
	}
	d, err := h.gw.Document(r.Context(), id)
	if errors.Is(err, gateway.ErrNotFound) || err == nil && !ss.clerk.allows(d.Agency) {
		h.renderError(w, r, ss, http.StatusNotFound, msgNotFound)
		return nil
	}
	if err != nil {
		h.storeFailure(w, r, err)
		return nil
	}
	return d
}

// showDocument shows Chi tiết.
func (h *Handler) showDocument(w http.ResponseWriter, r *http.Request) {
	d := h.loadDocument(w, r)
	if d == nil {
		return
	}
	v := newView(r, "Chi tiết văn bản", navOf(d.Direction), nil)
	if c := r.URL.Query().Get("da-gui"); c != "" {
		if code := envelope.StatusCode(c); code.Valid() {
			v.Notice = "Đã ghi nhận và gửi trạng thái “" + code.Name() + "”."
		}
	}
	v.Data = h.documentPage(r.Context(), d)
	h.render(w, r, http.StatusOK, "document", v)
}

func navOf(dir gateway.Direction) string {
	if dir == gateway.Incoming {
		return "den"
	}
	return "di"
}

// documentPage gathers what Chi tiết shows.
func (h *Handler) documentPage(ctx context.Context, d *gateway.DocumentDetail) *documentPage {
	p := &documentPage{
		Doc: d, Kind: documentKind(d.BussinessDocType),
		Overdue: overdue(d.Document, d.Deliveries, startOfDay(h.opts.Now())),
	}
	p.Actions = possibleActions(d)
	for _, w := range d.Warnings {
		if !strings.HasPrefix(w.Path, "AttachmentEncoded/") {
			p.Notes = append(p.Notes, w)
		}
	}
	if d.Attachments > 0 {
		atts, err := h.attachments(ctx, d)
		if err != nil {
			h.log.Warn("attachments of a document could not be listed", zap.String("document", d.ID), zap.Error(err))
			p.AttachmentsError = "Không đọc được danh sách tệp đính kèm."
		}
		for i, a := range atts {
			info := attachmentInfo{
				N: i + 1, Name: attachmentName(a, i+1), Description: a.Description, ContentType: a.ContentType,
				Size: a.Size(), Undecodable: a.DecodeError != "",
			}
			if a.ZipError() != nil {
				info.Problem = "Tệp nén không mở được (tệp ZIP bị hỏng hoặc bị cắt cụt); tải về vẫn nhận đúng tệp như đã nhận."
			}
			p.Attachments = append(p.Attachments, info)
		}
	}
	if d.Related != "" && d.BussinessDocType != 0 {
		q := gateway.DocumentQuery{Agencies: []string{d.Agency}, Direction: d.Direction, DocumentID: d.Related, Limit: 1}
		if d.Direction == gateway.Incoming {
			q.From = d.From
		}
		if res, err := h.gw.Documents(ctx, q); err == nil && len(res.Documents) > 0 {
			p.Related = res.Documents[0].ID
		}
	}
	return p
}

// possibleActions are the statuses the document's lifecycle takes now
// from this side.
func possibleActions(d *gateway.DocumentDetail) []action {
	candidates, party := recipientActions, envelope.PartyRecipient
	if d.Direction == gateway.Outgoing {
		candidates, party = senderActions, envelope.PartySender
	}
	if d.RevokedAt != nil {
		return nil
	}
	var out []action
	for _, a := range candidates {
		for _, dl := range d.Deliveries {
			if _, err := dl.Lifecycle.Apply(a.Code, party); err == nil {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// attachments reads the attachments of a document's packet.
func (h *Handler) attachments(ctx context.Context, d *gateway.DocumentDetail) ([]envelope.Attachment, error) {
	p, err := h.gw.Packet(ctx, d.PacketID)
	if err != nil {
		return nil, err
	}
	parser := envelope.Parser{MaxSize: int64(len(p.Data)) + 1}
	pkt, _, err := parser.ParseBytes(p.Data)
	if err != nil {
		return nil, fmt.Errorf("web: read packet %s: %w", p.ID, err)
	}
	if pkt.Edoc == nil {
		return nil, fmt.Errorf("web: packet %s is not a document", p.ID)
	}
	return pkt.Edoc.Attachments, nil
}

func attachmentName(a envelope.Attachment, n int) string {
	if strings.TrimSpace(a.Name) != "" {
		return a.Name
	}
	return "tep-dinh-kem-" + strconv.Itoa(n)
}

// attachment sends the n-th attachment (from 1), decoded, as a download.
func (h *Handler) attachment(w http.ResponseWriter, r *http.Request) {
	d := h.loadDocument(w, r)
	if d == nil {
		return
	}
	ss := sessionOf(r)
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > d.Attachments {
		h.renderError(w, r, ss, http.StatusNotFound, "Văn bản không có tệp đính kèm này.")
		return
	}
	atts, err := h.attachments(r.Context(), d)
	if err != nil {
		h.storeFailure(w, r, err)
		return
	}
	if n > len(atts) {
		h.renderError(w, r, ss, http.StatusNotFound, "Văn bản không có tệp đính kèm này.")
		return
	}
	a := atts[n-1]
	if a.DecodeError != "" {
		h.renderError(w, r, ss, http.StatusUnprocessableEntity, "Nội dung tệp đính kèm không giải mã được (base64 không hợp lệ); gói tin gốc vẫn được lưu nguyên vẹn.")
		return
	}
	name := attachmentName(a, n)
	ctype := a.ContentType
	if ctype == "" {
		ctype = envelope.ContentTypeOf(name, a.Head())
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", disposition.Attachment(name))
	w.Header().Set("Cache-Control", "private, no-store")
	// Decoded as it is sent; each far range decodes again (httprange).
	httprange.Limit(r)
	http.ServeContent(w, r, "", time.Time{}, a.Open())
}

// postStatus sends a status about a document from the page's form.
func (h *Handler) postStatus(w http.ResponseWriter, r *http.Request) {
	d := h.loadDocument(w, r)
	if d == nil {
		return
	}
	ss := sessionOf(r)
	code := envelope.StatusCode(r.PostFormValue("ma"))
	reason := strings.TrimSpace(r.PostFormValue("ly-do"))
	fail := func(status int, msg string) {
		v := newView(r, "Chi tiết văn bản", navOf(d.Direction), nil)
		v.Message = msg
		p := h.documentPage(r.Context(), d)
		p.Reason = reason
		v.Data = p
		h.render(w, r, status, "document", v)
	}
	if !code.Valid() {
		fail(http.StatusUnprocessableEntity, fmt.Sprintf("Mã trạng thái “%s” không có trong danh mục.", r.PostFormValue("ma")))
		return
	}
	req := gateway.StatusRequest{
		Document: d.ID, Code: code, Description: reason,
		Staff:   envelope.StaffInfo{Staff: ss.clerk.Name, Department: "Văn thư"},
		Allowed: ss.clerk.codes(),
	}
	if d.Direction == gateway.Outgoing {
		// A recall goes to the recipients whose lifecycle takes it: not
		// to one that refused the document or gave it back already.
		for _, dl := range d.Deliveries {
			if _, err := dl.Lifecycle.Apply(code, envelope.PartySender); err == nil {
				req.Recipients = append(req.Recipients, dl.Recipient)
			}
		}
	}
	_, err := h.gw.PostStatusResult(r.Context(), req)
	var te *envelope.TransitionError
	switch {
	case err == nil:
		h.log.Info("status sent from the page", zap.String("document", d.ID), zap.String("statusCode", string(code)),
			zap.String("clerk", ss.clerk.Username))
		http.Redirect(w, r, "/van-ban/"+d.ID+"?da-gui="+string(code), http.StatusSeeOther)
	case errors.Is(err, gateway.ErrReasonRequired):
		fail(http.StatusUnprocessableEntity, msgReasonRequired+" Trạng thái “"+code.Name()+"” cần nêu lý do.")
	case errors.As(err, &te):
		fail(http.StatusConflict, "Không gửi được trạng thái “"+code.Name()+"”: "+te.MessageVI())
	case errors.Is(err, gateway.ErrStatusNotAllowed):
		fail(http.StatusConflict, "Trạng thái “"+code.Name()+"” không dùng được cho văn bản này.")
	case errors.Is(err, gateway.ErrClosed):
		fail(http.StatusServiceUnavailable, msgUnavailable)
	default:
		h.serverError(w, r, fmt.Errorf("web: post status %s on %s: %w", code, d.ID, err))
	}
}
