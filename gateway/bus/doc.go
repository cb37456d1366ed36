// Package bus is the NATS JetStream fabric of lienthong: it implements
// [gateway.Bus] on a NATS connection and can start the embedded
// nats-server that `lienthong serve` runs by default.
//
// # Basics
//
// [StartServer] starts an in-process nats-server with JetStream and file
// storage; its ClientURL is what [Open] connects to. [Open] connects
// (reconnecting for ever), then creates or updates what the NATS contract
// of DESIGN.md fixes, all of it kept as data in streams.go:
//
//   - the streams LT_EDOC (lt.edoc.>) and LT_STATUS (lt.status.>): file
//     storage, limits retention for [DefaultMaxAge] (30 days, to ride out
//     a week-long outage), a duplicate window of [DuplicateWindow] (48 h);
//   - the Object Store bucket LT_PACKETS for packets above the inline
//     limit ([DefaultInlineLimit], 512 KiB), kept as long as the streams;
//   - the KV buckets LT_DIRECTORY (agency code tokens → [gateway.Agency]
//     as JSON) and LT_GATEWAYS (gateway id → [gateway.GatewayBeat] as
//     JSON, expiring after [DefaultBeatTTL]).
//
// Retention is by limits, never by interest or work queue: a message for
// an agency whose gateway has not created its consumer yet must wait for
// it, not vanish.
//
// # Messages
//
// [Bus.Publish] sends every packet with the headers Nats-Msg-Id (the
// publication's MsgID, which JetStream deduplicates within the window),
// [HeaderSHA256] (the hex SHA-256 of the packet) and, for a packet above
// the inline limit, [HeaderObject]: the name of the object (the same hex
// SHA-256) that holds the packet in LT_PACKETS, the message body then
// being empty. Each object is stored once; publishing the same large
// packet again reuses it.
//
// [Bus.Consume] runs one durable pull consumer per stream, named
// gw_<gateway>_edoc and gw_<gateway>_status (the gateway id with every
// character outside [A-Za-z0-9_-] replaced by '_'), filtered to exactly
// the subjects of the hosted agencies, with explicit acks and unlimited
// redelivery. Starting it again with another agency list updates the
// filter. Handlers run in up to Concurrency goroutines; a received
// message's Packet checks the bytes, from the body or the Object Store,
// against [HeaderSHA256].
//
// # Caveats
//
//   - A consumer delivers from the start of the stream when it is first
//     created. Its filter can change later, but the server keeps the
//     consumer's position: an agency added to an existing consumer gets
//     only the messages stored after the consumer last caught up, not the
//     older ones still in the stream.
//   - Publish and the KV calls run under the caller's deadline, or under
//     Options.Timeout when the context has none.
//   - The Bus owns an embedded server passed in Options.Server: Close, and
//     a failing Open, shut it down.
package bus
