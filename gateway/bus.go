package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Bus is the NATS JetStream fabric as the gateway uses it: two streams of
// packets, durable consumers, a stream of large packets' chunks, the
// directory and the gateways' heartbeats.
type Bus interface {
	// Publish publishes one packet and waits for the stream's ack. A
	// packet above the inline limit is stored in chunks first (once
	// per SHA-256) and the message carries a reference to it.
	Publish(ctx context.Context, m Publication) (PubAck, error)
	// Consume starts the gateway's durable consumers on both streams,
	// filtered to the subjects of the agencies it hosts, and calls h for
	// each message, up to Concurrency at a time, until the returned
	// Consumer is drained or stopped. h settles every message it is given
	// (Ack, Nak or Term); a message it returns from unsettled is
	// redelivered after the ack wait.
	Consume(ctx context.Context, c ConsumerSpec, h Handler) (Consumer, error)

	// WatchDirectory calls fn with every key now in KV LT_DIRECTORY, then
	// with every change, until ctx is done. It returns once the initial
	// keys were passed. fn must be safe for concurrent use: the initial
	// keys, distinct, may be passed from several goroutines at once. The
	// values are as stored: claims, which the gateway's Directory verifies
	// before it uses them. Gateways never write the directory; the
	// administrator does. With held, a key whose current revision held
	// reports the gateway has already is not passed at all: at a restart
	// only the bucket's revisions are read, and the values the gateway
	// lacks.
	WatchDirectory(ctx context.Context, held func(key string, revision uint64) bool, fn func(DirectoryUpdate)) error
	// DirectoryRecord returns the value stored under key in LT_DIRECTORY
	// now, as stored (a claim).
	DirectoryRecord(ctx context.Context, key string) ([]byte, error)
	// Heartbeat publishes this gateway's heartbeat (KV LT_GATEWAYS).
	Heartbeat(ctx context.Context, h GatewayBeat) error
	// Gateways returns the heartbeats of all gateways.
	Gateways(ctx context.Context) ([]GatewayBeat, error)
	// Connected reports whether the NATS connection is up.
	Connected() bool
	// Close closes the connection (and an embedded server it started).
	Close() error
}

// Publication is a message to publish.
type Publication struct {
	Subject string
	MsgID   string // Nats-Msg-Id
	Packet  []byte
}

// PubAck is the stream's acknowledgement of a publish.
type PubAck struct {
	Stream    string
	Sequence  uint64
	Duplicate bool // JetStream had the MsgID already
}

// ConsumerSpec names a gateway's consumers and what they receive.
type ConsumerSpec struct {
	// Gateway is the gateway's id, for logs. Consumers are named after
	// the agencies (see bus.ConsumerName), so that an agency keeps its
	// position when it moves between gateways.
	Gateway string
	// Agencies are the hosted agency codes; exactly their subjects are
	// consumed, on both streams.
	Agencies []envelope.AgencyCode
	// Subtrees are codes delegated to the gateway with everything under
	// them, present and future: its consumers filter on each root and
	// its subtree (lt.<kind>.<root> and lt.<kind>.<root>.>) instead of
	// one subject per hosted agency under it. A province's gateway then
	// has a consumer with two filters, not thousands, which the hub
	// matches each message against. A packet for an agency under a root
	// that the gateway does not host is handed to the handler like any
	// other (the gateway keeps it aside, or drops and counts it if the
	// directory knows no such code): any sender may publish to a
	// code under the root, and packets made to wait would hold the
	// consumer's slots.
	// Only with the bus's gateway consumers.
	Subtrees []envelope.AgencyCode
	// Concurrency is how many messages are handled at once; 0 means the
	// bus's default.
	Concurrency int
	// AckWait is how long a message may stay unsettled before it is
	// redelivered; 0 means 15 s.
	AckWait time.Duration
}

// Handler handles one received message.
type Handler func(ctx context.Context, m Message)

// Message is a received packet message. Exactly one of Ack, Nak and Term
// settles it.
type Message interface {
	Subject() string
	MsgID() string
	Kind() PacketKind
	// Packet returns the packet's bytes, from the message or from the
	// stream of large packets, checked against the SHA-256 the message
	// carries.
	Packet(ctx context.Context) ([]byte, error)
	// NumDelivered is how many times the message was delivered, this time
	// included.
	NumDelivered() uint64
	// Ack acknowledges the message and waits for the server to confirm.
	Ack(ctx context.Context) error
	// Nak asks for redelivery after delay.
	Nak(delay time.Duration) error
	// InProgress resets the ack wait, during long work.
	InProgress() error
	// Term stops redelivery for good; use it only once the packet is
	// settled otherwise: quarantined, or addressed to a code that exists
	// nowhere (counted as unknown-recipient).
	Term(reason string) error
}

// Consumer is a running consumption.
type Consumer interface {
	// Drain stops fetching, lets handlers in flight finish and waits for
	// them, or for ctx.
	Drain(ctx context.Context) error
	// Stop stops at once; unsettled messages are redelivered later.
	Stop()
	// Pending returns, by stream name, how many messages for the
	// consumed agencies are not yet acknowledged: those still waiting on
	// the stream and those delivered but not settled, summed over the
	// consumers.
	Pending(ctx context.Context) (map[string]uint64, error)
}

// Agency is a directory entry: an agency, the gateway that hosts it and
// the certificates registered to sign for it. The administrator signs it
// (DirectoryRecord).
type Agency struct {
	Code   string `json:"code"` // canonical, as envelope.AgencyCode.String
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// Kind says what the agency is, in the administrator's words
	// (ministry, province, department, commune …); optional.
	Kind string `json:"kind,omitempty"`
	// Gateway is the id of the hosting gateway.
	Gateway string `json:"gateway"`
	// Certificates are PEM "CERTIFICATE" blocks. They are in the records
	// administrators sign and in a hosted agency's configuration; the
	// Directory keeps only their fingerprints, and the agencies it gives
	// (Lookup, Search …) have none: Gateway.AgencyCertificates reads them
	// back.
	Certificates []string `json:"certificates,omitempty"`
	// OldCodes are codes the agency had before (the 2025 reform changed
	// many), which packets and document systems still use.
	OldCodes []string `json:"oldCodes,omitempty"`
	// Version orders the records of one agency: a record is applied only
	// if its version is higher than the one held, so an older signed
	// record cannot be replayed over a newer one.
	Version   uint64    `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Removed takes the agency out of the directory.
	Removed bool `json:"removed,omitempty"`
	// SignedBy is the subject of the administrator certificate that
	// signed the entry; empty for a hosted agency's own configuration.
	SignedBy string `json:"-"`
}

// GatewayBeat is a gateway's heartbeat.
type GatewayBeat struct {
	Gateway  string    `json:"gateway"`
	Agencies []string  `json:"agencies"`
	Version  string    `json:"version,omitempty"`
	API      string    `json:"api,omitempty"` // the base URL of its HTTP API
	At       time.Time `json:"at"`
}

// Subject prefixes of the two streams.
const (
	EdocSubjectPrefix   = "lt.edoc."
	StatusSubjectPrefix = "lt.status."
)

// Subject returns the subject a packet of kind for agency is published
// to: lt.edoc.<tokens> or lt.status.<tokens>, tokens as
// envelope.AgencyCode.Tokens gives them.
func Subject(kind PacketKind, agency envelope.AgencyCode) string {
	if kind == KindStatus {
		return StatusSubjectPrefix + agency.Tokens()
	}
	return EdocSubjectPrefix + agency.Tokens()
}

// SubjectFor is Subject for an agency code in text.
func SubjectFor(kind PacketKind, agency string) (string, error) {
	code, err := envelope.ParseAgencyCode(agency, envelope.CodeLenient)
	if err != nil {
		return "", fmt.Errorf("gateway: subject for %q: %w", agency, err)
	}
	return Subject(kind, code), nil
}
