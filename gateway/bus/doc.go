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
//   - the stream LT_LARGE ([StreamLarge], ltlarge.>) for packets above
//     the inline limit ([DefaultInlineLimit], 512 KiB): encrypted chunks
//     under the sending gateway's token, kept as long as the streams,
//     which refuses deletes and purges (see large.go);
//   - the KV buckets LT_DIRECTORY (agency code tokens or gw.<id> → a
//     record signed by the directory's administrator, which the
//     gateway's [gateway.Directory] verifies) and LT_GATEWAYS (gateway id
//     → [gateway.GatewayBeat] as JSON, expiring after [DefaultBeatTTL]).
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
// the inline limit, [HeaderLarge], [HeaderSize] and [HeaderKey]: the
// packet's name in LT_LARGE (<gateway>.<hex SHA-256>), its size and the
// key of its chunks, the message body then being empty. Each large packet
// is stored once; publishing it again reuses its chunks.
//
// [Bus.Consume] runs, on each stream, one durable pull consumer per
// hosted agency, named from the agency code and not from the gateway:
// ag_<tokens>_edoc and ag_<tokens>_status, where tokens are the code's
// NATS tokens ([envelope.AgencyCode.Tokens]) with '.' replaced by '_' and
// any other character outside [A-Za-z0-9_-] by '_' too (000.00.12.H41 →
// ag_H41_12_edoc; see [ConsumerName]). Each consumer is filtered to
// exactly its agency's subject (lt.edoc.H41.12, not lt.edoc.H41.12.>),
// delivers every message from the start of the stream, and has explicit
// acks and unlimited redelivery. The naming is what makes an agency's
// position its own:
//
//   - an agency added to a gateway gets a consumer of its own, which
//     starts from the first message retained for it, however long the
//     gateway has been running;
//   - an agency that moves to another gateway finds its consumer where
//     the old gateway left it: the new gateway receives what was not
//     acked, and nothing that was;
//   - each agency's consumers are distinct JetStream objects with
//     subjects of their own, so a deployment can allow a gateway's
//     credentials the consumers of its own agencies only: for H41.12 on
//     LT_EDOC, $JS.API.CONSUMER.INFO.LT_EDOC.ag_H41_12_edoc,
//     $JS.API.CONSUMER.MSG.NEXT.LT_EDOC.ag_H41_12_edoc and
//     $JS.ACK.LT_EDOC.ag_H41_12_edoc.> — and not CONSUMER.CREATE, since
//     nats-server takes a consumer's filter from the request's body: on
//     such a hub (Options.Bind) the administrator makes the consumers
//     ([Bus.EnsureConsumers], lienthong nats setup -agency) and Consume
//     only looks them up.
//
// One consumer per agency does not scale: nats-server allows a stream
// 1,000 consumers unless told otherwise, and 111,000 agencies would be
// 222,000 consumers. With [Options.GatewayConsumers] (configuration
// nats.consumers: gateway), Consume instead reads one durable consumer per
// gateway and stream, gwc_<kind>_<gateway> ([GatewayConsumerName]),
// filtered to the gateway's agencies ([Filters]) and made or refiltered by
// [Bus.Assign] from exact handover points ([Bus.HandOver]): an agency
// taken from another gateway is read from the first message that gateway
// was not given, one released is kept in LT_HANDOVER for its next holder,
// and what waited for an added agency is read by a short-lived catch-up
// consumer, gwu_<kind>_<gateway> ([CatchUpConsumerName]), whose metadata
// says which messages are its own. A gateway's NATS permissions name
// these two consumers, so they do not change with its agencies. The
// gateway assigns itself its agencies, or with Bind the administrator
// does ("lienthong nats setup -gateway") and Consume checks the filters
// against the gateway's agencies. Leaf nodes and the move of running
// deployments are docs/design/consumers.md's next steps.
//
// Handlers run in up to Concurrency goroutines across all of a gateway's
// consumers, and Drain and Stop act on all of them. A received message's
// Packet checks the bytes, from the body or LT_LARGE, against
// [HeaderSHA256]. A large packet's chunks are written as they arrive to a
// spool file in [Options.SpoolDir], not held in memory, and read back
// into one buffer once all are there.
//
// # Leaf nodes
//
// A province may run its own nats-server as a leaf node of the hub, with
// a JetStream domain of its own, so that its gateway keeps accepting
// documents while the provincial link is down (deploy/nats/leaf.conf).
// Its gateway opens the Bus with Options.Domain (the leaf's domain) and
// Options.HubDomain (the hub's). Then:
//
//   - [Bus.Publish] publishes into the leaf's [StreamOutEdoc] and
//     [StreamOutStatus] (lt.edoc.> and lt.status.>), which acknowledge at
//     once, link or no link; the hub's LT_EDOC and LT_STATUS source them
//     ([Bus.SourceLeaf], run by an administrator: lienthong nats setup
//     -leaf) and catch up when the link returns, deduplicating on
//     Nats-Msg-Id as for any publish;
//   - [Bus.Consume] makes sure the leaf's LT_EDOC and LT_STATUS, which
//     take no subjects of their own, source the hub's streams through the
//     leaf's durable consumer at the hub ([LeafConsumerName]): one source
//     and one hub consumer per stream, whatever the number of agencies.
//     The consumer's filters, the leaf's agencies and subtrees, are the
//     administrator's ([Bus.AssignLeaf], lienthong nats setup -leaf D
//     -agency …), which also adds, while it runs, a catch-up source
//     ([LeafCatchUpConsumerName]) for what waited for agencies just
//     given to the leaf. The gateway's consumers are on the leaf's
//     streams. A packet between two agencies of the province goes round
//     the hub, and waits for the link like any other;
//   - the directory and the heartbeats are the hub's KV buckets, of which
//     the leaf keeps mirrors: [Bus.WatchDirectory] and [Bus.Gateways] read
//     the mirrors, so a gateway starts and verifies packets with the link
//     down (with what the mirrors last had); [Bus.Heartbeat] writes at
//     the hub, through the mirror's origin, and fails while the link is
//     down;
//   - LT_LARGE is the hub's, looked up when first used (its subjects,
//     ltlarge.>, cross the link): a large packet published while the link
//     is down fails, and the gateway's outbox tries again, as it does for
//     any failed publish.
//
// [Open] on a leaf node touches nothing at the hub: it makes the
// out-streams and the mirrors, so a gateway restarting during an outage
// comes up, and its clerks and document-management systems go on.
//
// Plain lt.> messages must not cross the leaf link (deny_imports and
// deny_exports in leaf.conf), or each packet would also be stored by the
// other side's stream directly, a second time.
//
// At the hub, the leaf node logs in as a user whose permissions are
// [LeafPermissions]: its streams may source only through its own
// consumers, which it may reset and look up but not create or change (so
// not widen their filters), and every source and mirror across the link,
// both ways, delivers on
// subjects under [LeafDeliverPrefix] (which the sources and mirrors made
// here name), so that the leaf is allowed those and not $JS.S.> or
// $JS.M.>, which carry every stream's sources in the account.
//
// # Caveats
//
//   - An agency's consumers outlive its hosting: when it leaves a gateway
//     they stay on the server, keeping its position for the next gateway.
//     Retiring an agency for good means deleting them by hand.
//   - An agency listed by two gateways at once shares its consumers
//     between them: each message goes to one of the two, not to both.
//   - Codes that differ only by '.' against '_' (possible only for codes
//     read in envelope.CodeAny) would share a name; one Consume refuses
//     such a pair, but two gateways hosting one each would share the
//     consumers.
//   - Consumers named gw_<gateway>_edoc and gw_<gateway>_status by earlier
//     versions are no longer used and may be deleted; the first start
//     after upgrading delivers again every message still retained for
//     each hosted agency.
//   - Each consumer fetches up to Concurrency messages ahead; with many
//     busy agencies, fetched messages may wait for a free handler long
//     enough to pass the ack wait and be redelivered.
//   - Publish and the KV calls run under the caller's deadline, or under
//     Options.Timeout when the context has none.
//   - The Bus owns an embedded server passed in Options.Server: Close, and
//     a failing Open, shut it down.
//   - On a leaf node an agency's consumers outlive its hosting; the hub's
//     streams keep a leaf node's out-streams as sources until an
//     administrator removes them; and an agency moved into a leaf whose
//     link is down is refused ([ErrLeafBehind]) until it is up.
package bus
