package gateway

import (
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Direction is which way a document went, seen from this gateway.
type Direction string

// The two directions.
const (
	// Outgoing: sent by an agency this gateway hosts (văn bản đi).
	Outgoing Direction = "out"
	// Incoming: received by an agency this gateway hosts (văn bản đến).
	Incoming Direction = "in"
)

// PacketKind says whether a packet is a document or a status.
type PacketKind string

// The two kinds of packet.
const (
	KindEdoc   PacketKind = "edoc"
	KindStatus PacketKind = "status"
)

// Packet is one edXML packet, stored once, byte for byte as it was signed
// (outgoing) or received (incoming).
type Packet struct {
	// ID is the store's identifier: 26 characters of lower-case base32,
	// time-ordered, unique across gateways (see NewID).
	ID     string     `json:"id"`
	Kind   PacketKind `json:"kind"`
	SHA256 string     `json:"sha256"` // hex
	Size   int64      `json:"size"`
	Data   []byte     `json:"-"`
}

// Verdict is what the receiving gateway concluded about a packet's
// signature; the fields of signing.Verdict that are kept.
type Verdict struct {
	Outcome     string `json:"outcome"` // signing.Outcome
	Subject     string `json:"subject,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	ReasonVI    string `json:"reasonVi"`
	ReasonEN    string `json:"reasonEn"`
	Legacy      bool   `json:"legacy,omitempty"`
	// ByGateway: the packet came unsigned and the gateway signed it with
	// the agency's key on acceptance (an outgoing document only). The
	// quarterly report does not count such a document as signed by its
	// agency.
	ByGateway bool `json:"byGateway,omitempty"`
}

// Document is one document at this gateway. An outgoing document belongs
// to the hosted agency that sent it; an incoming one to the hosted agency
// that received it, so a packet sent to two agencies hosted here makes two
// incoming documents.
type Document struct {
	// ID is the local identifier: the ID of the document's packet.
	ID        string    `json:"id"`
	Direction Direction `json:"direction"`
	// Agency is the hosted agency the document belongs to (its code as
	// envelope.AgencyCode.String gives it).
	Agency string `json:"agency"`
	// DocumentID is the edXML DocumentId, unique per sender.
	DocumentID string `json:"documentId"`
	From       string `json:"from"`
	FromName   string `json:"fromName,omitempty"`
	// Number and Notation are the số and ký hiệu.
	Number           string        `json:"number"`
	Notation         string        `json:"notation"`
	Subject          string        `json:"subject"`
	TypeName         string        `json:"typeName,omitempty"`
	PromulgationDate envelope.Date `json:"promulgationDate,omitempty"`
	Priority         int           `json:"priority"`
	DueDate          envelope.Date `json:"dueDate,omitempty"`
	// Paper says a paper copy is sent too (Bussiness/Paper = 1).
	Paper bool `json:"paper"`
	// BussinessDocType is 0 for a new document, 1–3 for a revocation,
	// update or replacement of Related (an edXML DocumentId).
	BussinessDocType int    `json:"bussinessDocType"`
	Related          string `json:"related,omitempty"`
	// Attachments is how many attachments the packet carries;
	// SignedPDFs how many of them are PDFs with a digital signature in
	// them (envelope.Attachment.SignedPDF).
	Attachments int `json:"attachments"`
	SignedPDFs  int `json:"signedPdfs"`
	// Verdict is the signature verdict: the receiver's for an incoming
	// document, the gateway's own check for an outgoing one.
	Verdict  Verdict `json:"verdict"`
	PacketID string  `json:"packetId"`
	// CreatedAt is when the document was accepted (outgoing) or
	// received (incoming).
	CreatedAt time.Time `json:"createdAt"`
	// RevokedAt is set when a revocation (BussinessDocType 1) naming the
	// document was accepted or received; ReplacedBy and UpdatedBy name the
	// local documents that replaced or updated it last.
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	ReplacedBy string     `json:"replacedBy,omitempty"`
	UpdatedBy  string     `json:"updatedBy,omitempty"`
	// Warnings are what is odd about the document but did not stop it:
	// for an incoming one, what the receive profile tolerated
	// (envelope.ValidateWithWarnings: a TraceHeader a hub added without
	// OrganId, one agency listed under both its codes); for both
	// directions, a ZIP attachment that does not open (code
	// "unreadable-zip", path "AttachmentEncoded/Attachment[n]"), kept and
	// served as it came. Stored with the document, so that its reader
	// learns of them without reading the packet again.
	Warnings []envelope.Warning `json:"warnings,omitempty"`
}

// Transport is where a delivery stands on the wire, apart from the
// processing status the recipient reports.
type Transport string

// The transport states.
const (
	// Queued: in the outbox, not yet acknowledged by JetStream.
	Queued Transport = "queued"
	// Sent: JetStream acknowledged the publish.
	Sent Transport = "sent"
	// Received: an incoming document, stored here.
	Received Transport = "received"
)

// Delivery is a document with one recipient: for an outgoing document one
// per recipient, for an incoming one a single delivery whose recipient is
// the hosted agency.
type Delivery struct {
	Document      string             `json:"-"` // Document.ID
	Recipient     string             `json:"recipient"`
	RecipientName string             `json:"recipientName,omitempty"`
	Transport     Transport          `json:"transport"`
	Lifecycle     envelope.Lifecycle `json:"-"`
	// State is Lifecycle.State, for JSON.
	State     envelope.State `json:"state"`
	SentAt    *time.Time     `json:"sentAt,omitempty"`
	UpdatedAt time.Time      `json:"updatedAt"`
	// Note is the description of the last status applied to the delivery
	// (the reason of a refusal or a recall request, a comment), empty if
	// none.
	Note string `json:"note,omitempty"`
}

// EventKind names what an event records.
type EventKind string

// The kinds of event.
const (
	EventQueued   EventKind = "queued"   // an outgoing delivery was put in the outbox
	EventSent     EventKind = "sent"     // JetStream acknowledged its publish
	EventReceived EventKind = "received" // an incoming document was stored
	// EventStatus: a status applied to the delivery (sent or received).
	EventStatus EventKind = "status"
	// EventStatusRefused: a status the lifecycle refused; kept as
	// evidence, the state did not change. Refusal says why.
	EventStatusRefused EventKind = "status_refused"
	EventRevoked       EventKind = "revoked"  // a revocation named the document
	EventUpdated       EventKind = "updated"  // an update named the document
	EventReplaced      EventKind = "replaced" // a replacement named the document
)

// Event is one immutable fact about a delivery.
type Event struct {
	Seq       int64     `json:"seq"`
	Document  string    `json:"-"`
	Recipient string    `json:"recipient"`
	Kind      EventKind `json:"kind"`
	// StatusCode, By (the agency that emitted the status), Description
	// and Staff are set for status events.
	StatusCode  envelope.StatusCode `json:"statusCode,omitempty"`
	By          string              `json:"by,omitempty"`
	Description string              `json:"description,omitempty"`
	Staff       string              `json:"staff,omitempty"`
	// Refusal is the lifecycle's reason (Vietnamese, then English) for a
	// refused status.
	Refusal  string `json:"refusal,omitempty"`
	PacketID string `json:"packetId,omitempty"`
	// At is when it happened (the status packet's timestamp for a
	// status); RecordedAt when this gateway stored it.
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recordedAt"`
}

// OutboxItem is one packet waiting to be published to one recipient.
type OutboxItem struct {
	ID        int64      `json:"id"`
	PacketID  string     `json:"packetId"`
	Kind      PacketKind `json:"kind"`
	Recipient string     `json:"recipient"`
	// Document is the local document the packet is about, for logs and
	// for the delivery an edoc's publish marks sent; Agency is the hosted
	// agency that document belongs to (empty if there is no Document).
	Document  string    `json:"document"`
	Agency    string    `json:"agency,omitempty"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"nextAt"`
	LastError string    `json:"lastError,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// MsgID is the item's Nats-Msg-Id: "<packet id>:<recipient>".
func (o OutboxItem) MsgID() string { return o.PacketID + ":" + o.Recipient }

// QuarantineEntry is a received packet that was not accepted, kept with
// the reason; nothing received is dropped.
type QuarantineEntry struct {
	ID int64 `json:"id"`
	// PacketID names the stored bytes.
	PacketID string `json:"packetId"`
	// Subject and MsgID are the NATS message's.
	Subject string `json:"subject"`
	MsgID   string `json:"msgId"`
	// Sender and Recipient are what could be read of them, possibly
	// empty.
	Sender    string `json:"sender,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	// Reason is a stable code ("signature:invalid", "validation",
	// "unreadable", "unknown-document" …); ReasonVI and ReasonEN say it
	// for people.
	Reason     string    `json:"reason"`
	ReasonVI   string    `json:"reasonVi"`
	ReasonEN   string    `json:"reasonEn"`
	ReceivedAt time.Time `json:"receivedAt"`
}
