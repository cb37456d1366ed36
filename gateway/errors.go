package gateway

import (
	"errors"
	"fmt"
)

// Errors of the gateway and of the Store and Bus it uses. Implementations
// wrap them with context; test them with errors.Is.
var (
	// ErrNotFound: no such document, packet, delivery or outbox item.
	ErrNotFound = errors.New("gateway: not found")
	// ErrDuplicateDocument: the agency already sent a document with this
	// edXML DocumentId. The error is a *DuplicateError.
	ErrDuplicateDocument = errors.New("gateway: document already accepted")
	// ErrIdempotencyConflict: the Idempotency-Key was used before with
	// another request.
	ErrIdempotencyConflict = errors.New("gateway: Idempotency-Key reused with a different request")
	// ErrNotHosted: the agency is not hosted by this gateway.
	ErrNotHosted = errors.New("gateway: agency not hosted here")
	// ErrUnknownRecipient: a recipient is not in the directory.
	ErrUnknownRecipient = errors.New("gateway: unknown recipient")
	// ErrRecipientsDiffer: the recipients given beside a packet
	// (Submission.Recipients) are not the agencies of its To.
	ErrRecipientsDiffer = errors.New("gateway: the recipients given are not the packet's To")
	// ErrClosed: the gateway, store or bus is closed.
	ErrClosed = errors.New("gateway: closed")
	// ErrTooLarge: a packet is larger than the configured limit.
	ErrTooLarge = errors.New("gateway: packet too large")
	// ErrInvalidQuery: a DocumentQuery the store cannot run (a cursor that
	// is not the Next of an earlier page, an unknown direction or state).
	ErrInvalidQuery = errors.New("gateway: invalid query")
)

// DuplicateError is ErrDuplicateDocument with the document that exists.
type DuplicateError struct {
	// Existing is the local id of the document already accepted.
	Existing string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%v (document %s)", ErrDuplicateDocument, e.Existing)
}

// Unwrap returns ErrDuplicateDocument.
func (e *DuplicateError) Unwrap() error { return ErrDuplicateDocument }
