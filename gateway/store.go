package gateway

import (
	"context"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Store is the gateway's durable state. Every method is one transaction:
// it happens entirely or not at all, and what it returns without error is
// on disk. Every mutating method appends to the audit chain in the same
// transaction.
type Store interface {
	// DirectoryRecords returns up to limit directory records kept
	// (KeepDirectoryRecords) whose keys sort after after, by key: a page,
	// since a national directory is too large to hold its records twice.
	DirectoryRecords(ctx context.Context, after string, limit int) ([]KeptRecord, error)
	// DirectoryBriefs returns the same pages of the briefs kept with
	// the records (KeptRecord.Brief, Value nil), and
	// DirectoryRecordsWithoutBrief those of the records kept without
	// one: together, what a start loads.
	DirectoryBriefs(ctx context.Context, after string, limit int) ([]KeptRecord, error)
	DirectoryRecordsWithoutBrief(ctx context.Context, after string, limit int) ([]KeptRecord, error)
	// DirectoryRecordsOf returns the directory records kept under keys
	// (see DirectoryRecordReader).
	DirectoryRecordReader
	// ForgetDirectoryBrief deletes the brief kept under key, if no record
	// of its version is kept: one that no record kept confirmed
	// (Gateway.verifyKept).
	ForgetDirectoryBrief(ctx context.Context, key string) error
	// KeepDirectoryRecords stores directory records the gateway applied,
	// each replacing the one of its key only if its version is higher,
	// and their briefs; a KeptRecord with a Brief and no Value keeps the
	// brief beside the record of its version, if that one is kept.
	// They are a copy of what administrators signed, not the gateway's
	// acts: unlike the other mutating methods, it appends nothing to the
	// audit chain.
	KeepDirectoryRecords(ctx context.Context, records []KeptRecord) error
	// ForgetDirectoryRecord deletes the record kept under key if it is
	// value (a record that no longer verifies); nothing if another is
	// kept there now.
	ForgetDirectoryRecord(ctx context.Context, key string, value []byte) error

	// AcceptDocument records an outgoing document: its packet, the
	// document, one delivery per recipient (Queued, StateSent), a queued
	// event and an outbox row per recipient. If Related is set and
	// BussinessDocType is 1–3, the outgoing document of the same agency
	// with that edXML DocumentId gets a revoked/updated/replaced event on
	// each of its deliveries and its RevokedAt/UpdatedBy/ReplacedBy set;
	// a missing related document is not an error.
	//
	// With an IdempotencyKey already used by the same agency: the same
	// RequestHash returns the document recorded then and replay = true;
	// another hash returns ErrIdempotencyConflict. An agency's second
	// document with the same edXML DocumentId returns ErrDuplicateDocument
	// (wrapped in a *DuplicateError naming the existing document).
	AcceptDocument(ctx context.Context, a AcceptDocument) (doc *Document, replay bool, err error)

	// DueOutbox returns up to limit outbox items whose NextAt is not after
	// now, oldest first.
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	// MarkSent removes the items from the outbox, all in one
	// transaction; for an edoc it sets the delivery's Transport to Sent and
	// SentAt to at and records a sent event. Items already gone (marked
	// before a crash and published again) are skipped; marked counts the
	// others.
	MarkSent(ctx context.Context, items []OutboxItem, at time.Time) (marked int, err error)
	// Postpone records a failed publish: Attempts+1, NextAt, LastError.
	Postpone(ctx context.Context, itemID int64, next time.Time, cause string) error

	// Packet returns a stored packet, ErrNotFound if there is none.
	Packet(ctx context.Context, id string) (*Packet, error)

	// ReceiveDocument records an incoming document: its packet, the
	// document, its delivery (Received, StateArrived, Seen {01}), a
	// received event, the status 01 it sends back (an EventStatus and an
	// outbox row for Reply), and for BussinessDocType 1–3 the event and
	// mark on the related incoming document (same sender and agency). A
	// document already received — same Agency, From and DocumentID —
	// changes nothing and returns it with duplicate = true.
	ReceiveDocument(ctx context.Context, r ReceiveDocument) (doc *Document, duplicate bool, err error)

	// Quarantine keeps a received packet that was not accepted, and
	// queues Reply (status 02 to the sender) if it is not nil. A MsgID
	// already quarantined changes nothing.
	Quarantine(ctx context.Context, q Quarantine) error

	// ApplyStatus records a status packet received from another gateway.
	// The document is found by s.Code: 13 is from the original sender
	// about an incoming document (Agency, From = s.From, DocumentID), any
	// other code from a recipient about an outgoing document of Agency
	// (DocumentID) whose delivery to s.From it concerns. The status goes
	// through the delivery's envelope.Lifecycle: applied, it is an
	// EventStatus and moves the state; refused, it is an
	// EventStatusRefused and the result carries the *TransitionError. A
	// MsgID already applied changes nothing (duplicate). No such document
	// or delivery: ErrNotFound.
	ApplyStatus(ctx context.Context, s ApplyStatus) (StatusResult, error)

	// EmitStatus records a status this gateway sends about a document
	// (Document, a local id): the lifecycle of each delivery in
	// Recipients must take it — otherwise nothing is recorded and the
	// *envelope.TransitionError is returned — then the packet, one
	// EventStatus per delivery and one outbox row per SendTo agency are
	// stored.
	EmitStatus(ctx context.Context, e EmitStatus) error

	// Document returns a document with its deliveries and every event,
	// oldest first; ErrNotFound if there is none.
	Document(ctx context.Context, id string) (*DocumentDetail, error)
	// DocumentSummary returns a document with its deliveries, without
	// its events (what a status about it needs, at a fraction of
	// Document's reads); ErrNotFound if there is none.
	DocumentSummary(ctx context.Context, id string) (*DocumentSummary, error)
	// Documents lists documents, newest first, one page at a time. A
	// query it cannot run is ErrInvalidQuery.
	Documents(ctx context.Context, q DocumentQuery) (DocumentPage, error)
	// CountDocuments counts what Documents would list over all pages.
	CountDocuments(ctx context.Context, q DocumentQuery) (int, error)
	// QuarantineEntries lists quarantined packets, newest first.
	QuarantineEntries(ctx context.Context, limit int) ([]QuarantineEntry, error)

	// ReportRows calls fn once for every delivery of the documents of
	// agency q.Under and the agencies under it (envelope.AgencyCode
	// Contains) created in [q.Since, q.Until), ordered by document, then
	// by delivery. It reads in one transaction and stops at fn's first
	// error, which it returns. The quarterly report is computed from these
	// rows alone.
	ReportRows(ctx context.Context, q ReportQuery, fn func(*ReportRow) error) error

	// Stats returns the store's numbers that the metrics show, as of
	// now.
	Stats(ctx context.Context, now time.Time) (StoreStats, error)

	// Check verifies the store's invariants: the audit chain links, every
	// delivery has its document, every state is one the lifecycle can
	// reach. It returns every problem found, joined.
	Check(ctx context.Context) error
	// Close closes the database.
	Close() error
}

// NewPacket is a packet to store: its ID (see NewID) and bytes; the
// store computes the SHA-256 and the size.
type NewPacket struct {
	ID   string
	Kind PacketKind
	Data []byte
}

// AcceptDocument is an outgoing document to record.
type AcceptDocument struct {
	Packet   NewPacket
	Document Document // ID, PacketID and CreatedAt are set by the store from Packet and At
	// Recipients are the deliveries to create, codes with names.
	Recipients []Recipient
	// IdempotencyKey is the DMS's Idempotency-Key (empty: none);
	// RequestHash identifies the request it came with.
	IdempotencyKey string
	RequestHash    string
	At             time.Time
}

// Recipient is an agency a document goes to.
type Recipient struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
}

// ReceiveDocument is an incoming document to record.
type ReceiveDocument struct {
	Packet   NewPacket
	Document Document // ID, PacketID and CreatedAt are set by the store
	// MsgID is the NATS message's Nats-Msg-Id.
	MsgID string
	// Reply is the status 01 going back to the sender.
	Reply *Reply
	At    time.Time
}

// Reply is a status packet this gateway sends, with whom it goes to.
type Reply struct {
	Packet      NewPacket
	To          string // the agency code it is published to
	Code        envelope.StatusCode
	By          string // the hosted agency emitting it
	Description string
	Staff       string
	At          time.Time // the packet's Timestamp
}

// Quarantine is a received packet that was not accepted.
type Quarantine struct {
	Packet NewPacket
	Entry  QuarantineEntry // ID and PacketID are set by the store
	// Reply is the status 02 to the sender, when one could be made.
	Reply *Reply
}

// ApplyStatus is a status packet received from another gateway.
type ApplyStatus struct {
	Packet NewPacket
	MsgID  string
	// Agency is the hosted agency the status was addressed to.
	Agency string
	// From is the agency that emitted the status; DocumentID the edXML
	// DocumentId it is about (ResponseFor/DocumentId).
	From        string
	DocumentID  string
	Code        envelope.StatusCode
	Description string
	Staff       string
	At          time.Time // the packet's Timestamp
	RecordedAt  time.Time
}

// StatusResult is what applying a received status did.
type StatusResult struct {
	Document  string // local id
	Recipient string
	// Duplicate: the MsgID was applied before; nothing changed.
	Duplicate bool
	// Refused is the lifecycle's refusal; the status was kept as an
	// EventStatusRefused.
	Refused *envelope.TransitionError
	State   envelope.State
	// Created is when the document was accepted (outgoing) or received
	// (incoming); it is set unless Duplicate.
	Created time.Time
}

// StoreStats are the store's numbers that the metrics show.
type StoreStats struct {
	// OutboxItems is how many packets wait to be published, one per
	// recipient; OldestOutbox is when the oldest of them was queued (zero
	// when there is none).
	OutboxItems  int
	OldestOutbox time.Time
	// QuarantineItems is how many received packets are in quarantine
	// (entries: a packet received under several message ids is one
	// packet kept, and as many entries); QuarantineBytes is the size of
	// the packets kept there.
	QuarantineItems int
	QuarantineBytes int64
	// QuarantineDropped is how many entries were dropped from the
	// quarantine, with their packets, to keep it within its bounds, since
	// the store was opened.
	QuarantineDropped int64
	// Overdue is how many incoming documents are past their due date
	// (due before the day of now in Vietnam) and not done, rejected or
	// recalled.
	Overdue int
	// WriterBatches is how many transactions the store's writer ran,
	// committed or failed, since the store was opened: one sync of the
	// log each. WriterUpdates is how many updates they held (each
	// document accepted or received, status, ... is one): over
	// WriterBatches, the updates a sync. WriterQueue is how many updates
	// wait for the writer, not yet in a transaction.
	WriterBatches, WriterUpdates int64
	WriterQueue                  int
}

// EmitStatus is a status this gateway sends about one of its documents.
type EmitStatus struct {
	// Document is the local id.
	Document string
	// Recipients are the deliveries the status applies to: the hosted
	// agency for an incoming document; one or more recipients of an
	// outgoing one for 13.
	Recipients []string
	Party      envelope.Party
	// Packet is the signed status packet, Reply its description; it is
	// queued once per agency in SendTo.
	Reply  Reply
	SendTo []string
	At     time.Time
}

// DocumentDetail is a document with its deliveries and events.
type DocumentDetail struct {
	Document
	Deliveries []Delivery `json:"deliveries"`
	Events     []Event    `json:"events"`
}

// DocumentQuery selects documents for a list.
type DocumentQuery struct {
	// Agencies limits the list to documents of these hosted agencies;
	// empty means all.
	Agencies []string
	// Direction, if set, limits to one direction.
	Direction Direction
	// State, if set, keeps documents with at least one delivery in it.
	State *envelope.State
	// Recipient, if set, keeps documents with a delivery to this agency
	// (its code as deliveries store it: canonical, "000.00.00.G22").
	// With State, that same delivery must be in the state.
	Recipient string
	// Recipients, if set, keeps documents with a delivery to one of these
	// agencies (canonical codes), as Recipient does for one: the clerk's
	// page sets it to the agencies whose name a clerk typed. With State,
	// that delivery must be in the state. Recipient and Recipients are not
	// set together (ErrInvalidQuery). Each code is a parameter of the
	// query: callers keep the list short (a few hundred at most).
	Recipients []string
	// Since keeps documents created at or after it; zero means no bound.
	Since time.Time
	// Until keeps documents created before it; zero means no bound.
	Until time.Time
	// Text, if set, keeps documents whose subject, number, notation or
	// sender name contains it (case-insensitive).
	Text string
	// DocumentID and From, if set, keep the documents with this edXML
	// DocumentId and this sender (canonical code).
	DocumentID string
	From       string
	// Senders, if set, keeps the documents from one of these agencies
	// (canonical codes; an outgoing document's sender is its agency). From
	// and Senders are not set together (ErrInvalidQuery); keep it short,
	// as Recipients.
	Senders []string
	// Cursor continues a previous page (DocumentPage.Next).
	Cursor string
	// Limit is the page size; 0 means 50, at most 500.
	Limit int
}

// DocumentPage is one page of a list.
type DocumentPage struct {
	Documents []DocumentSummary `json:"documents"`
	// Next is the cursor of the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

// DocumentSummary is a document in a list, with its deliveries.
type DocumentSummary struct {
	Document
	Deliveries []Delivery `json:"deliveries"`
}

// ReportQuery selects the rows of a quarterly report.
type ReportQuery struct {
	// Under is the reporting agency: its documents and those of every
	// agency under it.
	Under string
	// Since and Until bound the documents' CreatedAt: [Since, Until).
	Since, Until time.Time
}

// ReportRow is one delivery of a document, with what the quarterly report
// reads of both. fn must not keep the pointer: the store reuses the row.
type ReportRow struct {
	// Of the document.
	Document         string // local id
	Direction        Direction
	Agency           string // the hosted agency it belongs to
	From             string // the sender (the agency itself for an outgoing one)
	CreatedAt        time.Time
	BussinessDocType int
	Paper            bool
	// Verdict is the signature verdict's outcome (signing.Outcome);
	// GatewaySigned that the packet came unsigned and the gateway signed
	// it (Verdict.ByGateway).
	Verdict       string
	GatewaySigned bool
	DueDate       envelope.Date
	// SignedPDFs counts the attachments that are PDFs with a digital
	// signature in them.
	SignedPDFs int
	// Of the delivery.
	Recipient string
	State     envelope.State
	// Seen is every status code the delivery's lifecycle took.
	Seen envelope.StatusSet
	// ArrivedAt, AcceptedAt and DoneAt are when the delivery first took
	// 01, 03 and 06 (the status's own time); zero if it never did.
	ArrivedAt, AcceptedAt, DoneAt time.Time
	// Note is the description of the last status applied (a refusal's
	// reason), as Delivery.Note.
	Note string
}

// KeptRecord is a directory record the gateway applied, as it keeps it:
// the key in LT_DIRECTORY, the record's version and its signed wire form.
type KeptRecord struct {
	Key     string
	Version uint64
	Value   []byte
	// Revision is the record's revision in LT_DIRECTORY, 0 if not known.
	Revision uint64
	// Brief is what the directory made of an agency's record, kept beside
	// it so that a restart need not open the record again (see
	// Directory's keptBrief); nil for a gateway's record.
	Brief []byte
}
