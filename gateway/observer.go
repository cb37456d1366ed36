package gateway

import (
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// Observer is told what the gateway does, for metrics (gateway/metrics
// implements it with Prometheus collectors). The gateway calls it from its
// own goroutines while it works, so its methods must be quick and safe for
// concurrent use. Agency codes are passed as the gateway has them; what
// an Observer keeps of them (for labels that stay few) is its business.
type Observer interface {
	// Submitted: Submit judged a document posted by a DMS. Faults of the
	// gateway (the store, its own signing key) are not submissions judged
	// and are not reported.
	Submitted(outcome SubmitOutcome)
	// Signed: the gateway signed a packet (an edoc accepted unsigned, or a
	// status it sends) in d.
	Signed(d time.Duration)
	// Verified: the signature of a packet (received, or submitted already
	// signed) was verified in d.
	Verified(d time.Duration)
	// Verdict: the signature of a received packet of kind was judged.
	Verdict(kind PacketKind, outcome signing.Outcome)
	// Published: a packet of kind to the agency to was published and
	// JetStream acknowledged it (err nil), or the publish failed (err).
	// Failures while the gateway closes are not reported.
	Published(kind PacketKind, to string, err error)
	// Received: a received message of kind from the agency from ("" when
	// it could not be read) was settled with outcome. A message the
	// gateway leaves to be delivered again is not reported until it is
	// settled.
	Received(kind PacketKind, from string, outcome ReceiveOutcome)
	// Redelivered: a message of kind was delivered again (not for the
	// first time).
	Redelivered(kind PacketKind)
	// StatusApplied: the status code, from the recipient from, was applied
	// to an outgoing document accepted age ago.
	StatusApplied(code envelope.StatusCode, from string, age time.Duration)
	// DirectoryRejected: an update of the directory was not applied, for
	// reason (one of the Reject constants): unsigned, mis-signed, out of
	// its signer's scope, stale, a deletion.
	DirectoryRejected(reason string)
}

// SubmitOutcome is how Submit judged a submission.
type SubmitOutcome string

// The outcomes of a submission.
const (
	// SubmitAccepted: recorded, to be delivered.
	SubmitAccepted SubmitOutcome = "accepted"
	// SubmitReplay: the same request with the same Idempotency-Key again;
	// the document recorded then is returned.
	SubmitReplay SubmitOutcome = "replay"
	// SubmitDuplicate: the agency already sent a document with this
	// DocumentId, or the Idempotency-Key was used with another request.
	SubmitDuplicate SubmitOutcome = "duplicate"
	// SubmitInvalid: the packet is too large, unreadable or not valid, its
	// sender is not one the caller may send for, or a recipient is not in
	// the directory.
	SubmitInvalid SubmitOutcome = "invalid"
	// SubmitRefused: the packet came signed and its signature does not
	// verify or is not bound to its sender.
	SubmitRefused SubmitOutcome = "refused"
	// SubmitBusy: the gateway was working on as many requests as it takes
	// and as many were waiting; the DMS was told to try again later (see
	// Admit). Nothing of the request was read.
	SubmitBusy SubmitOutcome = "busy"
)

// ReceiveOutcome is how a received message was settled.
type ReceiveOutcome string

// The outcomes of a received message.
const (
	// ReceiveOK: stored (a document) or applied (a status).
	ReceiveOK ReceiveOutcome = "ok"
	// ReceiveDuplicate: received before; nothing changed.
	ReceiveDuplicate ReceiveOutcome = "duplicate"
	// ReceiveQuarantined: not accepted, kept in quarantine.
	ReceiveQuarantined ReceiveOutcome = "quarantined"
	// ReceiveRefused: a status the delivery's lifecycle refused; it is
	// kept as evidence and the state did not change.
	ReceiveRefused ReceiveOutcome = "refused"
	// ReceiveUnknownRecipient: addressed (by its subject, under a
	// subtree delegated to the gateway) to an agency code that the
	// administered directory does not know at all — not an agency's, not
	// a former code of one — so made up: terminated and not kept, since
	// a sender may publish to as many such codes as it likes. A packet
	// for a code the directory knows but the gateway does not host is
	// quarantined instead.
	ReceiveUnknownRecipient ReceiveOutcome = "unknown-recipient"
)

// NopObserver is an Observer that does nothing: the one a Gateway uses
// when Options.Observer is nil.
type NopObserver struct{}

var _ Observer = NopObserver{}

// Submitted does nothing.
func (NopObserver) Submitted(SubmitOutcome) {}

// Signed does nothing.
func (NopObserver) Signed(time.Duration) {}

// Verified does nothing.
func (NopObserver) Verified(time.Duration) {}

// Verdict does nothing.
func (NopObserver) Verdict(PacketKind, signing.Outcome) {}

// Published does nothing.
func (NopObserver) Published(PacketKind, string, error) {}

// Received does nothing.
func (NopObserver) Received(PacketKind, string, ReceiveOutcome) {}

// Redelivered does nothing.
func (NopObserver) Redelivered(PacketKind) {}

// StatusApplied does nothing.
func (NopObserver) StatusApplied(envelope.StatusCode, string, time.Duration) {}

// DirectoryRejected does nothing.
func (NopObserver) DirectoryRejected(string) {}
