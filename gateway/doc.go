// Package gateway is the running lienthong edge gateway: it accepts
// documents from document-management systems, signs them, delivers them to
// other agencies' gateways over NATS JetStream, receives theirs, verifies
// and stores them, and carries processing statuses both ways.
//
// The package holds the domain of the running service — documents,
// deliveries, events, the outbox, quarantine — and the interfaces of what
// it needs: a [Store] (gateway/store, SQLite) and a [Bus] (gateway/bus,
// NATS JetStream), and an [Observer] it tells what it does (gateway/metrics).
// Subpackages implement those interfaces; they do not import each other.
//
// The faces — gateway/api, gateway/vxp, gateway/web, gateway/metrics and
// gateway/report — are handed the small role interfaces of faces.go
// ([DocumentReader], [Submitter], [StatusPoster], [Admitter],
// [ChangeFeed], [Hosting], [AgencyDirectory], [HeartbeatReader],
// [ReportRowReader], [GaugeReader]),
// which *Gateway implements, rather than the whole *Gateway, and never
// reach through it to its Store or Bus. The quarterly reports reach the
// API and the clerks' page as a [Reports], made by gateway/rollup and
// wired in cmd/lienthong, so that no face imports another; what two faces
// share lives in internal packages (internal/vnfmt, internal/vntext,
// gateway/internal/disposition).
//
// # Trust
//
// Everything that arrives is a claim until a checked signature says
// otherwise. The [Directory] believes only entries the axis administrator
// signed (see directory.go and signing.RecordVerifier); the verifier
// (signing.Verifier) accepts a packet's signature only if its certificate
// is registered in its sender's verified entry, or is a gateway certificate
// of its sender's hosting gateway, and a certificate naming an agency signs
// for that agency only. Gateways never write the directory.
//
// # Flow of one document
//
//  0. Admit: a DMS's request is admitted for its body's memory before the
//     body is read, and for a turn of the cores once it is (admit.go);
//     what finds no room is told to send it again later (ErrBusy), rather
//     than queued without limit.
//  1. Accept: a packet is validated, signed and, in one store transaction,
//     recorded with one delivery per recipient, a queued event and one
//     outbox row per recipient. Only then is it acknowledged.
//  2. Dispatch: the outbox loop publishes each row to lt.edoc.<recipient
//     tokens> with Nats-Msg-Id <packet id>:<recipient>; on the publish ack
//     the delivery is sent. Rows left by a crash are published again, and
//     JetStream's duplicate window and the receiver's dedupe absorb it.
//     A packet just stored is handed to the loop (fresh.go), which then
//     does not read it back.
//  3. Receive: for each message on the hosted agencies' subjects the
//     gateway fetches the packet, verifies it, parses it, dedupes it, stores
//     it with its verdict and queues status 01 to the sender, then acks.
//     A packet that fails is quarantined; its sender gets status 02 only
//     if the packet's signature is valid and bound to that sender (what
//     is not proven is never answered).
//  4. Status: statuses travel on lt.status.<recipient tokens> through the
//     same outbox and consumers, each an immutable event; the delivery's
//     state follows envelope.Lifecycle.
package gateway
