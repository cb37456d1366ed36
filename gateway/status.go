package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
)

// StatusRequest is a status a hosted agency reports about one of its
// documents.
type StatusRequest struct {
	// Document is the local id.
	Document string
	Code     envelope.StatusCode
	// Description is the reason or comment; required for 02 and 13.
	Description string
	Staff       envelope.StaffInfo
	// Recipients limits a recall (13) to some recipients of an outgoing
	// document; empty means all of them.
	Recipients []string
	// Allowed are the agencies the caller may act for; nil means any.
	Allowed []string
}

// Errors of PostStatus about the request itself.
var (
	// ErrStatusNotAllowed: the code cannot be sent by this side of the
	// document (13 on an incoming document, 03 on an outgoing one …).
	ErrStatusNotAllowed = errors.New("gateway: this status cannot be sent for this document")
	// ErrReasonRequired: 02 and 13 need a description.
	ErrReasonRequired = errors.New("gateway: a reason is required")
)

// StatusPosted says what PostStatusResult recorded besides the status.
type StatusPosted struct {
	// Late lists the deliveries (by recipient) already past the code: the
	// status is recorded and sent, as the lifecycle allows, but their
	// state does not change (03 after 06, say). A document-management
	// system that posted the wrong code should be told.
	Late []string
}

// PostStatus records and sends a status about a document: as its
// recipient (02, 03, 04, 05, 06, 15, 16 on an incoming document) or as its
// sender (13 on an outgoing document). The delivery's lifecycle must take
// it: a refusal is a *envelope.TransitionError and nothing is sent.
func (g *Gateway) PostStatus(ctx context.Context, r StatusRequest) error {
	_, err := g.PostStatusResult(ctx, r)
	return err
}

// PostStatusResult is PostStatus, saying also which deliveries the status
// came late for.
func (g *Gateway) PostStatusResult(ctx context.Context, r StatusRequest) (StatusPosted, error) {
	var posted StatusPosted
	err := g.postStatus(ctx, r, &posted)
	return posted, err
}

func (g *Gateway) postStatus(ctx context.Context, r StatusRequest, posted *StatusPosted) error {
	if g.isClosed() {
		return ErrClosed
	}
	// The document and its deliveries' lifecycles, not its events.
	d, err := g.store.DocumentSummary(ctx, r.Document)
	if err != nil {
		return err
	}
	agency, ok := g.Hosted(d.Agency)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotHosted, d.Agency)
	}
	if r.Allowed != nil && !contains(r.Allowed, agency.Code) {
		return fmt.Errorf("%w: the caller may not act for %s", ErrNotHosted, agency.Code)
	}
	if !r.Code.Valid() {
		return fmt.Errorf("%w: status code %q", envelope.ErrBadCode, r.Code)
	}
	party := envelope.PartyRecipient
	if d.Direction == Outgoing {
		party = envelope.PartySender
	}
	if r.Code.SentBy() != party || r.Code == envelope.StatusArrived {
		return fmt.Errorf("%w: %s (%s) is not sent by the %s", ErrStatusNotAllowed, r.Code, r.Code.NameEN(), party)
	}
	if (r.Code == envelope.StatusRejected || r.Code == envelope.StatusRecallRequested) && strings.TrimSpace(r.Description) == "" {
		return fmt.Errorf("%w for status %s", ErrReasonRequired, r.Code)
	}
	var recipients, sendTo []string
	if party == envelope.PartyRecipient {
		recipients, sendTo = []string{d.Agency}, []string{d.From}
	} else {
		for _, dl := range d.Deliveries {
			if len(r.Recipients) == 0 || containsText(r.Recipients, dl.Recipient) {
				recipients = append(recipients, dl.Recipient)
			}
		}
		if len(recipients) == 0 {
			return fmt.Errorf("%w: none of the recipients %v", ErrNotFound, r.Recipients)
		}
		sendTo = recipients
	}
	for _, dl := range d.Deliveries {
		if !containsText(recipients, dl.Recipient) {
			continue
		}
		// The store applies the lifecycle again in its transaction; this
		// only tells a code that will not move the delivery (05 repeated
		// is progress reported again, not late).
		// While a recall is pending a progress code moves the state the
		// delivery returns to (BeforeRecall), not its state.
		if next, err := dl.Lifecycle.Apply(r.Code, party); err == nil && next.State == dl.Lifecycle.State &&
			next.BeforeRecall == dl.Lifecycle.BeforeRecall && r.Code != envelope.StatusProcessing {
			posted.Late = append(posted.Late, dl.Recipient)
		}
	}
	now := g.opts.Now().UTC()
	code := d.Number
	if d.Notation != "" {
		code += "/" + d.Notation
	}
	reply, err := g.statusPacket(agency, envelope.ResponseFor{
		OrganID: d.From, Code: code, PromulgationDate: d.PromulgationDate, DocumentID: d.DocumentID,
	}, r.Code, r.Description, r.Staff, now)
	if err != nil {
		return fmt.Errorf("gateway: make status %s: %w", r.Code, err)
	}
	// Handed to the dispatcher before the commit, which may wake it.
	g.fresh.put(reply.Packet.ID, reply.Packet.Data)
	if err := g.store.EmitStatus(ctx, EmitStatus{
		Document: d.ID, Recipients: recipients, Party: party, Reply: *reply, SendTo: sendTo, At: now,
	}); err != nil {
		g.fresh.take(reply.Packet.ID) // not stored
		return err
	}
	g.log.Info("status sent", zap.String("document", d.ID), zap.String("statusCode", string(r.Code)),
		zap.String("by", agency.Code.String()), zap.Strings("to", sendTo))
	g.wakeDispatcher()
	g.notify(d.ID, d.Agency)
	return nil
}

func containsText(codes []string, code string) bool {
	c := canonicalCode(code)
	for _, s := range codes {
		if canonicalCode(s) == c {
			return true
		}
	}
	return false
}
