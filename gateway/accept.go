package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// Submission is an outgoing document posted by a document-management
// system.
type Submission struct {
	// Packet is the edXML edoc, signed or not. An unsigned packet is
	// signed with the sending agency's key; a signed one must verify and
	// be bound to its sender.
	Packet []byte
	// Allowed are the agencies the caller may send for; nil means any
	// hosted agency.
	Allowed []string
	// Recipients, if set, must name the same agencies as the packet's To
	// (either code form, any order), or the submission is refused
	// (ErrRecipientsDiffer): the VXP protocol's "to" repeats them beside
	// the packet, and a "to" left from an earlier call — the SDK sends it
	// with every later one — must not send a document to fewer agencies
	// than it names, or to others.
	Recipients []string
	// IdempotencyKey and RequestHash make a retried request safe: see
	// Store.AcceptDocument.
	IdempotencyKey string
	RequestHash    string
	// GiveUp says the caller gives Packet up: the gateway may write into
	// its spare capacity (an unsigned packet is signed in place, not
	// copied, when the capacity holds the Signature), and the caller must
	// not read Packet after Submit.
	GiveUp bool
}

// SubmitError is a submission the gateway refuses because of what it
// contains; Err is one of the package's sentinels, an
// envelope.ValidationErrors, or an envelope parse error.
type SubmitError struct {
	Err error
}

func (e *SubmitError) Error() string { return "gateway: submit: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *SubmitError) Unwrap() error { return e.Err }

// Submit accepts an outgoing document: it checks it (size, edXML, strict
// validation, a hosted sender the caller may act for, recipients in the
// directory), signs it if it is not signed, and records it with one
// delivery per recipient. When Submit returns without error the document
// is durable and will be delivered. Refusals because of the submission are
// *SubmitError; other errors are faults.
func (g *Gateway) Submit(ctx context.Context, s Submission) (_ *Document, replay bool, err error) {
	if g.isClosed() {
		return nil, false, ErrClosed
	}
	// What a *SubmitError means, unless a signature is refused.
	refusal := SubmitInvalid
	defer func() { g.observeSubmit(refusal, replay, err) }()
	if int64(len(s.Packet)) > g.opts.MaxPacketSize {
		return nil, false, &SubmitError{fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(s.Packet), g.opts.MaxPacketSize)}
	}
	// One parse: the tree is read into the packet to validate it, then
	// signed.
	tree, _, err := g.parser.ReadTree(s.Packet)
	if err != nil {
		return nil, false, &SubmitError{err}
	}
	p, _, err := envelope.FromTree(tree.Root())
	if err != nil {
		return nil, false, &SubmitError{err}
	}
	if p.Edoc == nil {
		return nil, false, &SubmitError{fmt.Errorf("%w: a status packet; post statuses to /documents/{id}/status", envelope.ErrMalformed)}
	}
	if err := envelope.Validate(p, envelope.ProfileSend()); err != nil {
		return nil, false, &SubmitError{err}
	}
	h := p.Edoc.Header
	sender, ok := g.Hosted(h.From.OrganID)
	if !ok {
		return nil, false, &SubmitError{fmt.Errorf("%w: the sender %s", ErrNotHosted, h.From.OrganID)}
	}
	if s.Allowed != nil && !contains(s.Allowed, sender.Code) {
		return nil, false, &SubmitError{fmt.Errorf("%w: the caller may not send for %s", ErrNotHosted, sender.Code)}
	}
	if len(s.Recipients) > 0 && !sameAgencies(s.Recipients, h.To) {
		var to []string
		for _, t := range h.To {
			to = append(to, t.OrganID)
		}
		return nil, false, &SubmitError{fmt.Errorf("%w: %v, the packet's To %v", ErrRecipientsDiffer, s.Recipients, to)}
	}
	var recipients []Recipient
	var warns []envelope.Warning
	for i, to := range h.To {
		a, ok := g.dir.Lookup(to.OrganID)
		if !ok {
			return nil, false, &SubmitError{fmt.Errorf("%w: %s is not in the directory", ErrUnknownRecipient, to.OrganID)}
		}
		path := fmt.Sprintf("MessageHeader/To[%d]/OrganId", i+1)
		for _, r := range recipients {
			if r.Code == a.Code {
				return nil, false, &SubmitError{envelope.ValidationErrors{envelope.NewValidationError(path, envelope.ErrDuplicateRecipient,
					fmt.Sprintf("%s và một nơi nhận khác là cùng một cơ quan %s (mã cũ và mã mới)", to.OrganID, a.Code),
					fmt.Sprintf("%s and another recipient are the same agency %s (its former and current codes)", to.OrganID, a.Code))}}
			}
		}
		if canonicalCode(to.OrganID) != a.Code {
			// A former code (the 2025 reform): delivered to the agency
			// that holds it now, and the sender's DMS told.
			warns = append(warns, oldCodeWarning(path, to.OrganID, a.Code))
		}
		name := to.OrganName
		if name == "" {
			name = a.Name
		}
		recipients = append(recipients, Recipient{Code: a.Code, Name: name})
	}
	signed := s.Packet
	var doc Document
	if p.Signature == nil {
		// What is kept of the parsed packet is taken now: its
		// attachments are garbage while the packet is signed, and a
		// large one, which the parser did not decode, reads the text
		// of s.Packet, which signing in place moves.
		doc = documentOf(p, Outgoing, sender.Code.String())
		p = nil
		start := time.Now()
		sign := sender.Signer.SignTree
		if s.GiveUp {
			sign = sender.Signer.SignTreeInPlace
		}
		if signed, err = sign(s.Packet, tree); err != nil {
			return nil, false, &SubmitError{err}
		}
		g.obs.Signed(time.Since(start))
		doc.Verdict = Verdict{
			Outcome: string(signing.Valid), Subject: sender.Signer.Certificate().Subject.String(),
			ReasonVI: "Ký số bởi cổng liên thông khi tiếp nhận", ReasonEN: "signed by the gateway on acceptance",
			ByGateway: true,
		}
	} else {
		p, tree = nil, nil
		vd, err := g.verify(ctx, s.Packet)
		if err != nil {
			return nil, false, err
		}
		if vd.Outcome != signing.Valid {
			refusal = SubmitRefused
			return nil, false, &SubmitError{fmt.Errorf("%w: %s", vd.Cause, vd.ReasonEN)}
		}
		// The document is read from what the signature covers.
		doc = documentOf(vd.Packet, Outgoing, sender.Code.String())
		doc.Verdict = verdictOf(vd)
	}
	if canonicalCode(h.From.OrganID) != sender.Code.String() {
		warns = append(warns, oldCodeWarning("MessageHeader/From/OrganId", h.From.OrganID, sender.Code.String()))
	}
	doc.From = sender.Code.String()
	doc.Warnings = append(doc.Warnings, warns...)
	now := g.opts.Now().UTC()
	id := NewID(now)
	// Handed to the dispatcher before the commit, which may wake it; only
	// a buffer given up, which its caller will not write again.
	if s.GiveUp {
		g.fresh.put(id, signed)
	}
	d, replay, err := g.store.AcceptDocument(ctx, AcceptDocument{
		Packet:         NewPacket{ID: id, Kind: KindEdoc, Data: signed},
		Document:       doc,
		Recipients:     recipients,
		IdempotencyKey: s.IdempotencyKey,
		RequestHash:    s.RequestHash,
		At:             now,
	})
	if err != nil || replay {
		g.fresh.take(id) // not stored
	}
	if err != nil {
		if errors.Is(err, ErrDuplicateDocument) || errors.Is(err, ErrIdempotencyConflict) {
			return nil, false, &SubmitError{err}
		}
		return nil, false, err
	}
	if !replay {
		g.log.Info("document accepted", zap.String("document", d.ID), zap.String("documentId", d.DocumentID),
			zap.String("from", d.From), zap.Int("recipients", len(recipients)))
		g.notify(d.ID, d.Agency) // before the dispatcher can tell it was sent
		g.wakeDispatcher()
		g.notifyRelated(ctx, d)
	}
	return d, replay, nil
}

// observeSubmit tells the observer how Submit judged a submission:
// refusal is what a *SubmitError means unless it is a duplicate. Faults
// (not a *SubmitError, or the gateway's own key) are not reported.
func (g *Gateway) observeSubmit(refusal SubmitOutcome, replay bool, err error) {
	var se *SubmitError
	switch {
	case err == nil && replay:
		g.obs.Submitted(SubmitReplay)
	case err == nil:
		g.obs.Submitted(SubmitAccepted)
	case !errors.As(err, &se), errors.Is(err, signing.ErrKey):
	case errors.Is(err, ErrDuplicateDocument), errors.Is(err, ErrIdempotencyConflict):
		g.obs.Submitted(SubmitDuplicate)
	default:
		g.obs.Submitted(refusal)
	}
}

// verify verifies a packet's signature, telling the observer how long it
// took.
func (g *Gateway) verify(ctx context.Context, packet []byte) (*signing.Verdict, error) {
	start := time.Now()
	vd, err := g.verifier.Load().Verify(ctx, packet)
	if err == nil {
		g.obs.Verified(time.Since(start))
	}
	return vd, err
}

func contains(codes []string, c envelope.AgencyCode) bool {
	for _, s := range codes {
		if x, err := envelope.ParseAgencyCode(s, envelope.CodeAny); err == nil && x.Equal(c) {
			return true
		}
	}
	return false
}

func verdictOf(vd *signing.Verdict) Verdict {
	return Verdict{
		Outcome: string(vd.Outcome), Subject: vd.Subject, Fingerprint: vd.Fingerprint,
		ReasonVI: vd.ReasonVI, ReasonEN: vd.ReasonEN, Legacy: vd.Legacy,
	}
}

// documentOf reads the document fields of an edoc. agency is the hosted
// agency the document belongs to.
func documentOf(p *envelope.Packet, dir Direction, agency string) Document {
	h := p.Edoc.Header
	d := Document{
		Direction:        dir,
		Agency:           agency,
		DocumentID:       h.DocumentID,
		From:             canonicalCode(h.From.OrganID),
		FromName:         h.From.OrganName,
		Number:           h.Code.Number,
		Notation:         h.Code.Notation,
		Subject:          h.Subject,
		TypeName:         h.DocumentType.TypeName,
		PromulgationDate: h.Promulgation.Date,
		DueDate:          h.DueDate,
		Attachments:      len(p.Edoc.Attachments),
	}
	// Neither check needs an attachment's bytes: for a large one, which
	// the parser did not decode, both come from its one pass over the
	// text of the packet that was checked (or verified).
	for i := range p.Edoc.Attachments {
		a := &p.Edoc.Attachments[i]
		if a.SignedPDF() {
			d.SignedPDFs++
		}
		if err := a.ZipError(); err != nil {
			// Kept and served as it came; its reader is told it will
			// not open.
			d.Warnings = append(d.Warnings, envelope.Warning{
				Path: fmt.Sprintf("AttachmentEncoded/Attachment[%d]", i+1), Code: "unreadable-zip",
				MessageVI: fmt.Sprintf("Tệp nén %q không mở được (ZIP hỏng hoặc bị cắt cụt); vẫn giữ nguyên như đã nhận", a.Name),
				MessageEN: err.Error() + "; kept as received",
			})
		}
	}
	d.Priority, _ = strconv.Atoi(string(h.OtherInfo.Priority))
	if b := p.Edoc.Bussiness; b != nil {
		d.Paper = b.PaperCopy()
		d.BussinessDocType, _ = strconv.Atoi(string(b.BussinessDocType))
		if d.BussinessDocType != 0 {
			d.Related = b.DocumentID
			if d.Related == "" && len(b.Replacements) > 0 {
				// A replacement may name the document it replaces only
				// in its ReplacementInfoList.
				d.Related = b.Replacements[0].DocumentID
			}
		}
	}
	return d
}

// canonicalCode returns the canonical text of an agency code, or the text
// itself if it is not one.
func canonicalCode(s string) string {
	c, err := envelope.ParseAgencyCode(s, envelope.CodeAny)
	if err != nil {
		return s
	}
	return c.String()
}

// sameAgencies reports whether codes and the packet's To name the same
// agencies, in either code form.
func sameAgencies(codes []string, to []envelope.Organization) bool {
	for _, code := range codes {
		found := false
		for _, t := range to {
			if sameAgencyIn(t.OrganID, []string{code}) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for _, t := range to {
		if !sameAgencyIn(t.OrganID, codes) {
			return false
		}
	}
	return true
}

// sameAgencyIn reports whether code names one of the agencies of codes,
// in either code form.
func sameAgencyIn(code string, codes []string) bool {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return false
	}
	for _, other := range codes {
		if o, err := envelope.ParseAgencyCode(other, envelope.CodeAny); err == nil && o.Tokens() == c.Tokens() {
			return true
		}
	}
	return false
}
