package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/gateway"
)

// Streams of a provincial leaf node (Options.HubDomain), in the leaf's own
// JetStream domain.
const (
	// StreamOutEdoc takes the documents the leaf's gateways publish
	// (lt.edoc.>); the hub's LT_EDOC sources it.
	StreamOutEdoc = "LT_OUT_EDOC"
	// StreamOutStatus takes the statuses the leaf's gateways publish
	// (lt.status.>); the hub's LT_STATUS sources it.
	StreamOutStatus = "LT_OUT_STATUS"
)

// leafOutConfigs returns the leaf node's out-streams: they take every
// packet published on the leaf, and keep it until the hub has sourced it
// and for as long as the hub's streams keep theirs.
func leafOutConfigs(o Options) []jetstream.StreamConfig {
	var cfgs []jetstream.StreamConfig
	for _, l := range packetStreams {
		cfg := packetStream(o, l.out, l.what, l.subjects)
		cfg.Description = "lienthong " + l.what + " packets published on this leaf node, sourced by the hub's " + l.stream
		cfgs = append(cfgs, cfg)
	}
	return cfgs
}

// setupLeaf makes, on a leaf node, everything the gateway needs there and
// nothing at the hub, so that it starts with its link down: the
// out-streams, and local mirrors of the hub's directory and heartbeats
// (read locally, written at the hub through the mirror). StreamLarge is
// the hub's, looked up when first used (largeStream); the in-streams
// are made by Consume (sourceFromHub).
func (b *Bus) setupLeaf(ctx context.Context) error {
	for _, cfg := range leafOutConfigs(b.opts) {
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: create or update the leaf node's stream %s: %w", cfg.Name, err)
		}
	}
	mirror := func(cfg jetstream.KeyValueConfig) jetstream.KeyValueConfig {
		cfg.Description += " (a mirror of the hub's)"
		cfg.Mirror = &jetstream.StreamSource{Name: cfg.Bucket, External: linkTo(b.opts.HubDomain, b.opts.Domain)}
		return cfg
	}
	var err error
	if b.directory, err = b.js.CreateOrUpdateKeyValue(ctx, mirror(directoryConfig(b.opts))); err != nil {
		return fmt.Errorf("bus: create or update the leaf node's mirror of %s: %w", BucketDirectory, err)
	}
	if b.gateways, err = b.js.CreateOrUpdateKeyValue(ctx, mirror(gatewaysConfig(b.opts))); err != nil {
		return fmt.Errorf("bus: create or update the leaf node's mirror of %s: %w", BucketGateways, err)
	}
	return nil
}

// apiPrefix is the JetStream API prefix of a domain, as a stream source
// read back from the server names it.
func apiPrefix(domain string) string { return "$JS." + domain + ".API" }

// LeafDeliverPrefix is the prefix of the subjects on which the messages of
// every source and mirror across a leaf node's link are delivered, both
// ways: $LT.<leaf domain>. The leaf node's permissions at the hub
// (LeafPermissions) allow it those subjects only, not the $JS.S.> and
// $JS.M.> that would carry every stream's sources in the account.
func LeafDeliverPrefix(leafDomain string) string { return "$LT." + leafDomain }

// linkTo is the external stream of a source or mirror of a stream in
// domain, across the link of the leaf node leafDomain.
func linkTo(domain, leafDomain string) *jetstream.ExternalStream {
	return &jetstream.ExternalStream{APIPrefix: apiPrefix(domain), DeliverPrefix: LeafDeliverPrefix(leafDomain)}
}

// fromDomain reports whether a stream source is the stream name in domain.
func fromDomain(s *jetstream.StreamSource, name, domain string) bool {
	if s.Name != name {
		return false
	}
	if s.Domain != "" {
		return s.Domain == domain
	}
	return s.External != nil && s.External.APIPrefix == apiPrefix(domain)
}

// SourceLeaf connects a provincial leaf node, whose JetStream domain is
// domain, to the hub this Bus is open on: it makes the leaf's
// out-streams if they do not exist yet (one replica), then adds each as a
// source of the hub's stream of the same packets, so that what the
// leaf's gateways publish reaches the hub, however long the link was
// down. It is idempotent. It then waits a few seconds for the hub's
// sources to be heard from: ErrLeafSourceInactive otherwise. The leaf's out-streams must exist before the
// hub sources them: a source whose stream is missing is retried only
// after a back-off.
func (b *Bus) SourceLeaf(ctx context.Context, domain string) error {
	if domain == "" || domain == b.opts.Domain {
		return fmt.Errorf("%w: source leaf: the leaf node's JetStream domain %q must be set and differ from the hub's", ErrInvalidOption, domain)
	}
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	leaf, err := jetstream.NewWithDomain(b.nc, domain)
	if err != nil {
		return fmt.Errorf("bus: source leaf %s: %w", domain, err)
	}
	o := b.opts
	o.Replicas = 1
	for _, cfg := range leafOutConfigs(o) {
		_, err := leaf.Stream(ctx, cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = leaf.CreateStream(ctx, cfg)
		}
		if err != nil {
			return fmt.Errorf("bus: source leaf %s: stream %s in its domain (is the leaf node connected?): %w", domain, cfg.Name, err)
		}
	}
	for _, l := range packetStreams {
		s, err := b.js.Stream(ctx, l.stream)
		if err != nil {
			return fmt.Errorf("bus: source leaf %s: stream %s: %w", domain, l.stream, err)
		}
		cfg := s.CachedInfo().Config
		if slices.ContainsFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return fromDomain(s, l.out, domain) }) {
			continue
		}
		cfg.Sources = append(cfg.Sources, &jetstream.StreamSource{Name: l.out, External: linkTo(domain, domain)})
		if _, err := b.js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: source leaf %s: add %s as a source of %s: %w", domain, l.out, l.stream, err)
		}
	}
	// Sourced, and heard from: a source that stalls does so silently.
	for _, l := range packetStreams {
		if err := checkLinkSources(ctx, b.js, "the hub's", l.stream, l.out, domain); err != nil {
			return fmt.Errorf("bus: source leaf %s: %w", domain, err)
		}
	}
	return nil
}

// LeafConsumerName returns the name of a leaf node's durable consumer on
// the hub's stream of kind, the source of the leaf's stream of the same
// name: leaf_edoc_<domain> or leaf_status_<domain>. Its filters are the
// leaf's agencies and subtrees, set by the administrator (AssignLeaf).
func LeafConsumerName(leafDomain string, kind gateway.PacketKind) string {
	return "leaf_" + string(kind) + "_" + sanitize(leafDomain)
}

// LeafCatchUpConsumerName returns the name of a leaf node's catch-up
// consumer on the hub's stream of kind: leafu_edoc_<domain> or
// leafu_status_<domain>. It exists only while what waited at the hub for
// agencies just given to the leaf is read from their start points.
func LeafCatchUpConsumerName(leafDomain string, kind gateway.PacketKind) string {
	return "leafu_" + string(kind) + "_" + sanitize(leafDomain)
}

// leafDeliverSubject is the subject on which the hub's consumer of a leaf
// node delivers: under LeafDeliverPrefix, which only that leaf may
// subscribe to at the hub (LeafPermissions).
func leafDeliverSubject(leafDomain string, kind gateway.PacketKind, catchUp bool) string {
	s := LeafDeliverPrefix(leafDomain) + ".src." + string(kind)
	if catchUp {
		s += ".cu"
	}
	return s
}

// leafSource is the source, in a leaf node's stream of kind, of the hub's
// stream through the leaf's durable consumer (or its catch-up): the leaf
// resets the consumer, which the administrator made, and never creates
// one.
func leafSource(hubDomain, leafDomain, stream string, kind gateway.PacketKind, catchUp bool) *jetstream.StreamSource {
	name := LeafConsumerName(leafDomain, kind)
	if catchUp {
		name = LeafCatchUpConsumerName(leafDomain, kind)
	}
	return &jetstream.StreamSource{
		Name:     stream,
		External: linkTo(hubDomain, leafDomain),
		Consumer: &jetstream.StreamConsumerSource{Name: name, DeliverSubject: leafDeliverSubject(leafDomain, kind, catchUp)},
	}
}

// isLeafSource reports whether s is the source of the hub's stream in
// hubDomain through the consumer name.
func isLeafSource(s *jetstream.StreamSource, stream, hubDomain, name string) bool {
	return fromDomain(s, stream, hubDomain) && s.Consumer != nil && s.Consumer.Name == name
}

// isPerAgencySource reports whether s is a source of the hub's stream of
// the version before durable leaf sources: one per agency, filtered to its
// subject, through a consumer nats-server makes (JS_SRC_…).
func isPerAgencySource(s *jetstream.StreamSource, stream, hubDomain string) bool {
	return fromDomain(s, stream, hubDomain) && s.Consumer == nil
}

// sourceFromHub makes sure, on a leaf node, that the leaf's LT_EDOC and
// LT_STATUS exist and source the hub's streams through the leaf's durable
// consumer (LeafConsumerName): one source per stream, whatever the number
// of agencies, filtered at the hub by the administrator (AssignLeaf). The
// consumer may not exist yet: the source then retries until it does. The
// other sources are kept: the catch-up the administrator adds while it
// runs, and the per-agency sources of the version before, which the
// administrator's AssignLeaf replaces from their positions. The rest of
// the configuration follows Options.
func (b *Bus) sourceFromHub(ctx context.Context) error {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	for _, l := range packetStreams {
		cfg := leafInConfig(b.opts, l.stream, l.what)
		var err error
		if cfg.Sources, err = sourcesOf(ctx, b.js, l.stream); err != nil {
			return fmt.Errorf("bus: stream %s of the leaf node: %w", l.stream, err)
		}
		name := LeafConsumerName(b.opts.Domain, l.kind)
		if !slices.ContainsFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, l.stream, b.opts.HubDomain, name) }) {
			cfg.Sources = append(cfg.Sources, leafSource(b.opts.HubDomain, b.opts.Domain, l.stream, l.kind, false))
		}
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: stream %s of the leaf node, sourcing the hub's through %s: %w", l.stream, name, err)
		}
	}
	return nil
}

// leafInConfig is a leaf node's stream of the hub's packets of kind what
// for its agencies, without its sources.
func leafInConfig(o Options, stream, what string) jetstream.StreamConfig {
	cfg := packetStream(o, stream, what)
	cfg.Description = "lienthong " + what + " packets for the agencies on this leaf node, sourced from the hub's " + stream
	return cfg
}
