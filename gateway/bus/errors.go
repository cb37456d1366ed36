package bus

import "errors"

// Errors of Open and StartServer.
var (
	// ErrInvalidOption means an Options or ServerOptions value is out of
	// range, or a required one is missing.
	ErrInvalidOption = errors.New("bus: invalid option")
	// ErrNoConsumer means that, on a server whose administrator makes the
	// consumers (Options.Bind), a hosted agency's consumer does not
	// exist: "lienthong nats setup -agency" makes it.
	ErrNoConsumer = errors.New("bus: the agency's consumer does not exist")
)

// Errors of a received message's Packet.
var (
	// ErrPacketMismatch means the bytes of a received packet do not match
	// the SHA-256 its message carries (HeaderSHA256), the message carries
	// none, or a large packet's headers or chunks do not fit together.
	ErrPacketMismatch = errors.New("bus: packet does not match its SHA-256")
	// ErrPacketMissing means a chunk of the large packet a message refers
	// to (HeaderLarge) is not in StreamLarge: expired, or never put.
	ErrPacketMissing = errors.New("bus: packet object missing")
)

// Errors of AssignLeaf.
var (
	// ErrLeafBehind is returned by AssignLeaf when the leaf node's consumer
	// has not yet read, or the leaf not yet confirmed, the hub's stream up to
	// the handover point of an agency given to it — given the agency now, it
	// would deliver (or, reset to its ack floor, deliver again) the agency's
	// messages below the point, which its previous holder had — and cannot be
	// made again from the point (remakeLeafConsumer) just now: the leaf has
	// not confirmed what it was sent (its link is down, or it holds its
	// flow-control replies back), or packets for its agencies wait to be
	// sent, or subjects are also taken away in the same assignment. Assign
	// again.
	ErrLeafBehind = errors.New("bus: the leaf node's consumer is behind the handover point")
	// ErrMixedStarts is returned by AssignLeaf when the agencies added to a
	// leaf node at once have start points that one catch-up cannot serve: a
	// durable source reads from one sequence, and starting below a previous
	// holder's point would give the leaf what that holder had. Add them in
	// separate assignments.
	ErrMixedStarts = errors.New("bus: the agencies added to the leaf node resume from different handover points")
	// ErrLeafCatchUpUnfinished is returned by AssignLeaf when the
	// assignment is made but the leaf node has not read its catch-up
	// (LeafCatchUpConsumerName) within LeafAssignment.Wait: it goes on
	// reading it, and the next AssignLeaf (the same command again) removes
	// it once read; until then agencies cannot be added to the leaf
	// (ErrCatchUpRunning).
	ErrLeafCatchUpUnfinished = errors.New("bus: the leaf node is still reading its catch-up")
	// ErrLeafTakeAndRemove is returned by AssignLeaf, before anything is
	// taken, when the assignment would both take agencies from another
	// gateway or leaf node and take others away from the leaf node: should
	// its consumer be behind the taken ones' point, it could not be made
	// again from there, and they would be held by nobody until assigned
	// again. Take agencies away and add them in separate assignments.
	ErrLeafTakeAndRemove = errors.New("bus: the leaf node's assignment takes agencies from other holders and takes others away at once")
	// ErrLeafRemakePending is returned by Assign, and by AssignLeaf for
	// another leaf node, when they add subjects overlapping those recorded
	// for a remake of a leaf node's consumer that an assignment left
	// half-done (remake.<stream>.<consumer> in BucketHandover): the
	// consumer may be gone, and the hub's consumers do not show the
	// subjects recorded for it, which another holder could then take while
	// the next AssignLeaf of that leaf node makes the consumer again with
	// them: one agency's packets would go to two holders. Assignments of
	// other subjects go ahead. Assign the leaf node first (lienthong nats
	// setup -leaf <domain> -agency …), which finishes the remake at the
	// hub, even with the leaf node out of reach or retired. Do not delete
	// the record by hand: once the consumer is gone it alone holds the
	// leaf's position in its own agencies, whose next holder would
	// otherwise read them from their start, a second time.
	ErrLeafRemakePending = errors.New("bus: a leaf node's consumer was left half made again")
	// ErrLeafRemakeHeldElsewhere is returned by AssignLeaf when a remake
	// of the leaf node's consumer left half-done recorded subjects that
	// another gateway's or leaf node's consumer (or a catch-up, or an
	// agency's consumer of the version before) now reads: made again with
	// them, the consumer would deliver them too. Assign the leaf node
	// without them: the remake is finished without them.
	ErrLeafRemakeHeldElsewhere = errors.New("bus: subjects of a leaf node's half-done remake are read elsewhere")
)
