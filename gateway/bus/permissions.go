package bus

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// LeafAdminInboxPrefix is the inbox prefix of the administrator's
// connection that sets a leaf node up (Bus.SourceLeaf, from "lienthong
// nats setup -leaf"): the leaf's JetStream answers there, and the leaf's
// permissions let it answer there only, not into another leaf's set-up
// or any other client's inbox.
func LeafAdminInboxPrefix(leafDomain string) string { return "_INBOX_admin_" + sanitize(leafDomain) }

// CheckID checks a gateway's or an administrator's id: letters, digits,
// '-' and '_' (it is a NATS token and a KV key as it is, so that no two
// ids share one), and not starting with "admin_" or "dir_", the inbox
// prefixes of the leaf nodes' set-up and of directory administrators
// (LeafAdminInboxPrefix, DirectoryAdminInboxPrefix).
func CheckID(id string) error {
	switch {
	case id == "":
		return errors.New("an id is required")
	case sanitize(id) != id:
		return fmt.Errorf("id %q: only letters, digits, '-' and '_'", id)
	case strings.HasPrefix(id, "admin_"), strings.HasPrefix(id, "dir_"):
		return fmt.Errorf("id %q: ids starting with admin_ or dir_ are reserved", id)
	}
	return nil
}

// DirectoryAdminInboxPrefix is the inbox prefix of a directory
// administrator's connection (DirectoryAdminPermissions), apart from every
// gateway's.
func DirectoryAdminInboxPrefix(adminID string) string { return "_INBOX_dir_" + sanitize(adminID) }

// InboxPrefix is the inbox prefix of a gateway's connection: replies to
// its requests (JetStream acknowledgements, the messages its pull
// consumers deliver) come to subjects under it, and its credentials may
// subscribe to nothing else, so that no gateway reads another's replies.
func InboxPrefix(gatewayID string) string { return "_INBOX_" + sanitize(gatewayID) }

// Permissions are the subjects a gateway's NATS user may publish and
// subscribe to, as nats-server's authorization block takes them.
type Permissions struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
}

// GatewayPermissions returns what a gateway hosting agencies needs and no
// more, on a server whose streams and buckets an administrator created
// (Options.Bind) with its consumers: publish packets to any agency; read
// and acknowledge only its own durable consumers — its gateway and
// catch-up consumers (GatewayConsumerName, CatchUpConsumerName), and the
// per-agency consumers of agencies (EnsureConsumers) while the hub still
// has them — never create or change one; read the Object
// Store's packets and the directory; write only its own heartbeat (the
// directory is the administrator's); subscribe only under its
// inbox prefix. It cannot create a consumer of another name, read a
// stream's messages directly, subscribe to the packets' subjects, or
// change or delete a stream.
//
// Large packets: it may write chunks only under its own token
// (ltlarge.<gateway>.>), read any chunk (they are encrypted; the key is in
// the recipient's message), and delete or purge none (StreamLarge refuses
// both to everyone).
func GatewayPermissions(gatewayID string, agencies []envelope.AgencyCode) Permissions {
	dir, gws := "KV_"+BucketDirectory, "KV_"+BucketGateways
	p := Permissions{
		Publish: []string{
			gateway.EdocSubjectPrefix + ">", gateway.StatusSubjectPrefix + ">",
			// No STREAM.INFO of the packet streams: with a subjects
			// filter it would list how many packets every agency has
			// waiting. The gateway looks up its consumers only.
			"$JS.API.INFO",
			// Large packets: its own chunks; anyone's read chunk by
			// chunk.
			LargeSubjectPrefix + sanitize(gatewayID) + ".>",
			"$JS.API.STREAM.INFO." + StreamLarge, "$JS.API.DIRECT.GET." + StreamLarge + ".>",
			// The directory and the heartbeats: read all, watch all.
			"$JS.API.STREAM.INFO." + dir, "$JS.API.DIRECT.GET." + dir + ".>", "$JS.API.STREAM.MSG.GET." + dir,
			"$JS.API.CONSUMER.CREATE." + dir + ".>", "$JS.API.CONSUMER.DELETE." + dir + ".>", "$JS.FC." + dir + ".>",
			"$JS.API.STREAM.INFO." + gws, "$JS.API.DIRECT.GET." + gws + ".>", "$JS.API.STREAM.MSG.GET." + gws,
			"$JS.API.CONSUMER.CREATE." + gws + ".>", "$JS.API.CONSUMER.DELETE." + gws + ".>", "$JS.FC." + gws + ".>",
			"$KV." + BucketGateways + "." + sanitize(gatewayID),
		},
		Subscribe: []string{InboxPrefix(gatewayID) + ".>"},
	}
	// Its own gateway and catch-up consumers (docs/design/consumers.md,
	// §2.3): read and acknowledge, and delete a finished catch-up; never
	// create or update (the filters are in the request's body), pause,
	// reset (a reset rewinds) or delete its gateway consumer. These
	// subjects do not change when agencies are added or moved.
	for _, s := range packetStreams {
		for _, name := range []string{GatewayConsumerName(gatewayID, s.kind), CatchUpConsumerName(gatewayID, s.kind)} {
			p.Publish = append(p.Publish,
				"$JS.API.CONSUMER.INFO."+s.stream+"."+name,
				"$JS.API.CONSUMER.MSG.NEXT."+s.stream+"."+name,
				"$JS.ACK."+s.stream+"."+name+".>",
			)
		}
		p.Publish = append(p.Publish, "$JS.API.CONSUMER.DELETE."+s.stream+"."+CatchUpConsumerName(gatewayID, s.kind))
	}
	// The per-agency consumers of the version before (ConsumerName), for
	// the agencies given, while a gateway moves over.
	for _, a := range agencies {
		for _, s := range packetStreams {
			name := ConsumerName(a, s.kind)
			// No CONSUMER.CREATE: nats-server takes the filter from the
			// request's body, so a gateway that may re-create its own
			// consumer may point it at anyone's subject. The
			// administrator makes the consumers (EnsureConsumers).
			p.Publish = append(p.Publish,
				"$JS.API.CONSUMER.INFO."+s.stream+"."+name,
				"$JS.API.CONSUMER.MSG.NEXT."+s.stream+"."+name,
				"$JS.ACK."+s.stream+"."+name+".>",
			)
		}
	}
	slices.Sort(p.Publish)
	p.Publish = slices.Compact(p.Publish)
	return p
}

// Conf writes a user of nats-server's configuration with these
// permissions, authenticated by the public nkey.
func (p Permissions) Conf(nkey, comment string) string {
	var b strings.Builder
	if comment != "" {
		fmt.Fprintf(&b, "# %s\n", comment)
	}
	fmt.Fprintf(&b, "{\n  nkey: %q\n  permissions: {\n    publish: { allow: [\n", nkey)
	for i, s := range p.Publish {
		sep := ","
		if i == len(p.Publish)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "      %q%s\n", s, sep)
	}
	b.WriteString("    ] }\n    subscribe: { allow: [\n")
	for i, s := range p.Subscribe {
		sep := ","
		if i == len(p.Subscribe)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "      %q%s\n", s, sep)
	}
	b.WriteString("    ] }\n  }\n}\n")
	return b.String()
}

// LeafPermissions returns what a province's leaf node (JetStream domain
// leafDomain) needs at the hub (domain hubDomain) for the gateways it
// serves, and no more: its streams may source from the hub's only through
// the leaf's own durable consumers (LeafConsumerName,
// LeafCatchUpConsumerName), whose filters the administrator sets
// (AssignLeaf); its gateways may write only their own heartbeats (never
// the directory, which is the administrator's); and the hub may source the
// leaf's out-streams and ask its JetStream. The permissions are a
// client's, seen from the leaf node: publish is what the leaf sends to the
// hub, subscribe what it receives. They do not depend on the leaf's
// agencies: adding or moving one changes no user block.
//
// The leaf may reset and look up its consumers, never create or update
// one (the filters are in a create request's body, so a leaf that may
// create one may point it at anyone's subjects), pause or delete one. A
// reset with no sequence goes back to the consumer's ack floor, which
// AssignLeaf keeps at or above every handover point of its subjects; one
// with a sequence is refused for the leaf's consumer made to start with
// what arrives after its creation (nats-server's resetStartingSeqLocked),
// goes no lower than its start for one made again by start sequence
// (remakeLeafConsumer, which keeps that start at or above the points),
// and no lower than the catch-up's start for its catch-up.
func LeafPermissions(leafDomain, hubDomain string, gateways []string) Permissions {
	api := "$JS." + hubDomain + ".API."
	dir, gws := "KV_"+BucketDirectory, "KV_"+BucketGateways
	p := Permissions{
		Publish: []string{
			// The mirrors of the directory and the heartbeats.
			api + "CONSUMER.CREATE." + dir, api + "CONSUMER.CREATE." + dir + ".>",
			api + "CONSUMER.CREATE." + gws, api + "CONSUMER.CREATE." + gws + ".>",
			// Large packets, as GatewayPermissions (the chunks of each
			// gateway below).
			api + "STREAM.INFO." + StreamLarge, api + "DIRECT.GET." + StreamLarge + ".>",
			// Deliveries of the hub's sources of the leaf's out-streams,
			// the flow control of the leaf's sources and mirrors, the
			// answers to the administrator.
			LeafDeliverPrefix(leafDomain) + ".>", LeafAdminInboxPrefix(leafDomain) + ".>",
		},
		Subscribe: []string{
			// The hub's requests to the leaf's JetStream, the deliveries
			// of the leaf's sources and mirrors, the flow control of the
			// hub's sources.
			"$JS." + leafDomain + ".API.>", LeafDeliverPrefix(leafDomain) + ".>",
		},
	}
	// The answers to the JetStream requests the streams' sources and
	// mirrors send (consumer create, reset, delete), in nats-server's
	// scoped form, $JSC.R.<domain asked>.<account hash>.<stream>.<consumer>.<id>
	// (infoReplySubject, with the feature flag js_api_reply_v2 on the server
	// that asks: StartServer and deploy/nats set it on the hub and the leaf).
	// In its opaque form, $JSC.R.<id>, the leaf would need $JSC.R.> both
	// ways: it could read the answers to every such request in the account
	// (another leaf's consumer, its filter and position) and answer any it
	// learnt the id of. Scoped, it answers only the hub's requests to its
	// own domain about its out-streams, and hears only the answers about
	// its own consumers of the packet streams and the mirrors' of the
	// directory and the heartbeats (named by nats-server, JS_MIRROR_<hash>,
	// so any; what they say is what every leaf may read). The account hash
	// is the asking server's account's, which the hub does not know of the
	// leaf: any.
	for _, stream := range []string{StreamOutEdoc, StreamOutStatus} {
		p.Publish = append(p.Publish, jscReply(leafDomain, stream, "*"))
	}
	for _, l := range packetStreams {
		for _, name := range []string{LeafConsumerName(leafDomain, l.kind), LeafCatchUpConsumerName(leafDomain, l.kind)} {
			p.Subscribe = append(p.Subscribe, jscReply(hubDomain, l.stream, name))
		}
	}
	for _, stream := range []string{dir, gws} {
		p.Subscribe = append(p.Subscribe, jscReply(hubDomain, stream, "*"))
	}
	// Flow control, in both of nats-server's formats (consumer.go's
	// jsFlowControl and jsFlowControlV2): $JS.FC.<stream>.<consumer>.<token>
	// and $JS.FC.<domain>.<account hash>.<stream>.<consumer>.<token>.
	fc := func(domain, stream string) []string {
		return []string{"$JS.FC." + stream + ".>", "$JS.FC." + domain + ".*." + stream + ".>"}
	}
	// The mirrors' consumers (AckNone: a flow-control reply only lets
	// them send on) have names nats-server makes up.
	for _, stream := range []string{dir, gws} {
		p.Publish = append(p.Publish, fc(hubDomain, stream)...)
	}
	// The leaf's sources' consumers are acknowledged by their flow
	// control (AckFlowControl: a reply's Nats-Last-Stream acknowledges up
	// to it, processFlowControl), behind a 4-character token only: the
	// leaf may answer its own consumers' flow control, never another
	// leaf's or a gateway's consumer's.
	for _, l := range packetStreams {
		for _, name := range []string{LeafConsumerName(leafDomain, l.kind), LeafCatchUpConsumerName(leafDomain, l.kind)} {
			p.Publish = append(p.Publish,
				"$JS.FC."+l.stream+"."+name+".*",
				"$JS.FC."+hubDomain+".*."+l.stream+"."+name+".*",
			)
		}
	}
	for _, stream := range []string{StreamOutEdoc, StreamOutStatus} {
		p.Subscribe = append(p.Subscribe, fc(leafDomain, stream)...)
	}
	for _, g := range gateways {
		p.Publish = append(p.Publish, api+"$KV."+BucketGateways+"."+sanitize(g), LargeSubjectPrefix+sanitize(g)+".>")
		p.Subscribe = append(p.Subscribe, InboxPrefix(g)+".>")
	}
	// The leaf's durable sources (docs/design/consumers.md, §2.8): a
	// source of an existing consumer sends CONSUMER.RESET, never CREATE
	// (nats-server's trySetupSourceConsumer).
	for _, l := range packetStreams {
		for _, name := range []string{LeafConsumerName(leafDomain, l.kind), LeafCatchUpConsumerName(leafDomain, l.kind)} {
			p.Publish = append(p.Publish,
				api+"CONSUMER.RESET."+l.stream+"."+name,
				api+"CONSUMER.INFO."+l.stream+"."+name,
			)
		}
	}
	slices.Sort(p.Publish)
	p.Publish = slices.Compact(p.Publish)
	slices.Sort(p.Subscribe)
	p.Subscribe = slices.Compact(p.Subscribe)
	return p
}

// jscReply is the subject of nats-server's scoped answers to a stream's
// requests to the JetStream of domain about consumer of stream, from any
// account and with any id (infoReplySubject, js_api_reply_v2).
func jscReply(domain, stream, consumer string) string {
	return "$JSC.R." + domain + ".*." + stream + "." + consumer + ".*"
}

// DirectoryAdminPermissions returns what a directory administrator's NATS
// user needs to put the records of scopes (as signing.DirectoryScopes
// names them: "*", agency code tokens such as "H41", "gw:<id>", "gw:*")
// and no more: write LT_DIRECTORY under those keys only, read the
// directory, look up the streams the administrator's connection binds to,
// and subscribe under its own inbox prefix (DirectoryAdminInboxPrefix). The
// records' signatures are what gateways believe; these permissions keep a
// province's administrator's credentials from even writing the keys of
// others.
func DirectoryAdminPermissions(adminID string, scopes []string) Permissions {
	dir := "KV_" + BucketDirectory
	p := Permissions{
		Publish: []string{
			"$JS.API.INFO",
			"$JS.API.STREAM.INFO." + StreamLarge,
			"$JS.API.STREAM.INFO." + dir, "$JS.API.DIRECT.GET." + dir + ".>", "$JS.API.STREAM.MSG.GET." + dir,
			"$JS.API.CONSUMER.CREATE." + dir + ".>", "$JS.API.CONSUMER.DELETE." + dir + ".>", "$JS.FC." + dir + ".>",
			"$JS.API.STREAM.INFO.KV_" + BucketGateways,
		},
		Subscribe: []string{DirectoryAdminInboxPrefix(adminID) + ".>"},
	}
	kv := "$KV." + BucketDirectory + "."
	for _, s := range scopes {
		switch {
		case s == "*":
			p.Publish = append(p.Publish, kv+">")
		case s == "gw:*":
			p.Publish = append(p.Publish, kv+gateway.GatewayKeyPrefix+">")
		case strings.HasPrefix(s, "gw:"):
			p.Publish = append(p.Publish, kv+gateway.GatewayKeyPrefix+sanitize(strings.TrimPrefix(s, "gw:")))
		default:
			p.Publish = append(p.Publish, kv+s, kv+s+".>")
		}
	}
	slices.Sort(p.Publish)
	p.Publish = slices.Compact(p.Publish)
	return p
}
