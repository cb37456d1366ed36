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
