package gateway

import "time"

// InboxState is where a document-management system of the VXP face
// (gateway/vxp) stands with an item it was listed: new until it says
// otherwise with updateStatus; done takes it off the list.
type InboxState string

// The states of an inbox item.
const (
	InboxNew        InboxState = "new"
	InboxProcessing InboxState = "processing" // the system is taking it; still listed
	InboxFailed     InboxState = "fail"       // the system could not take it; still listed, to try again
	InboxDone       InboxState = "done"       // taken: no longer listed
)

// InboxItem is a packet received for one of a system's agencies — an
// incoming document (KindEdoc), or a status about a document of the agency
// that another agency sent (KindStatus) — as that system sees it.
type InboxItem struct {
	// DocID is the item's id for the system: a UUID, as the national
	// axis gives (DMS products parse it as one).
	DocID    string
	System   string
	Kind     PacketKind
	Agency   string // the hosted agency it was received for
	Document string // the local document (incoming, or the one a status is about)
	Event    int64  // the status's event; 0 for a document
	PacketID string
	Sender   string // the agency that sent the packet
	State    InboxState
	// Description is what the system said with its last updateStatus.
	Description string
	Created     time.Time // when the packet was stored
	Updated     time.Time
}

// InboxQuery selects a system's items of one kind. Agencies are the
// agencies the system acts for, in canonical form; items are made, on the
// way, for every packet they received since the last query, except those
// stored before Since (zero: none). After and Before, if set, keep the
// items received in [After, Before]. Limit bounds the answer: items not
// yet tried first (new, processing), then those the system failed to
// take, each by when they were received.
type InboxQuery struct {
	System        string
	Kind          PacketKind
	Agencies      []string
	Since         time.Time
	After, Before time.Time
	Limit         int
}
