package envelope

import "errors"

// Errors of reading a packet. Parse errors wrap one of these, so callers can
// tell a refused input from a broken one with errors.Is.
var (
	// ErrTooLarge is returned when the input is larger than the parser's
	// size limit. The parser stops reading at the limit.
	ErrTooLarge = errors.New("envelope: packet larger than the size limit")
	// ErrMalformed is returned when the input is not well-formed XML, or is
	// XML that is not an edXML packet.
	ErrMalformed = errors.New("envelope: malformed packet")
	// ErrForbiddenXML is returned for XML features edXML never uses and an
	// attacker would: a DOCTYPE or entity declaration, nesting deeper than
	// the parser allows, more markup, attributes or namespace declarations
	// than it allows (see [Parser]). The error says which limit and its
	// number.
	ErrForbiddenXML = errors.New("envelope: forbidden XML construct")
	// ErrAttachment is returned when an attachment's content cannot be
	// decoded.
	ErrAttachment = errors.New("envelope: attachment cannot be decoded")
)

// Errors of validation. Every [ValidationError] unwraps to exactly one of
// these, so callers can test a field error's kind with errors.Is.
var (
	// ErrRequired: a required element is missing or empty.
	ErrRequired = errors.New("required")
	// ErrTooLong: a value is longer than the regulation allows.
	ErrTooLong = errors.New("too long")
	// ErrBadFormat: a value does not have the format the regulation sets
	// (a date, a timestamp, a number, a base64 text …).
	ErrBadFormat = errors.New("bad format")
	// ErrBadCode: a value is not one of its code list's codes.
	ErrBadCode = errors.New("not in code list")
	// ErrBadAgencyCode: an agency code (mã định danh) does not follow the
	// rules in force.
	ErrBadAgencyCode = errors.New("bad agency code")
	// ErrDuplicateRecipient: two To elements name the same agency.
	ErrDuplicateRecipient = errors.New("duplicate recipient")
	// ErrDocumentID: the DocumentId does not agree with From, the
	// promulgation date and the document code.
	ErrDocumentID = errors.New("document id mismatch")
	// ErrInconsistent: two parts of the packet contradict each other (a
	// manifest reference without its attachment, a replacement list on a
	// new document …).
	ErrInconsistent = errors.New("inconsistent")
)
