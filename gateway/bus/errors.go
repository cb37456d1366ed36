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
	// none, or the Object Store found the object corrupt.
	ErrPacketMismatch = errors.New("bus: packet does not match its SHA-256")
	// ErrPacketMissing means the object a message refers to
	// (HeaderObject) is not in the Object Store: expired, deleted, or
	// never put.
	ErrPacketMissing = errors.New("bus: packet object missing")
)
