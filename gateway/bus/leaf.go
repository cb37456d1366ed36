package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
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
// down. It is idempotent. The leaf's out-streams must exist before the
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
	return nil
}

// sourceFromHub makes sure, on a leaf node, that the leaf's LT_EDOC and
// LT_STATUS source each hosted agency's subject from the hub's streams:
// one source per agency, so that an agency added later gets every message
// the hub retains for it. Sources are only added, never removed: an
// agency that leaves keeps its source, as it keeps its consumers. The rest
// of the configuration follows Options.
func (b *Bus) sourceFromHub(ctx context.Context, codes []envelope.AgencyCode) error {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	for _, l := range packetStreams {
		cfg := packetStream(b.opts, l.stream, l.what)
		cfg.Description = "lienthong " + l.what + " packets for the agencies on this leaf node, sourced from the hub's " + l.stream
		var err error
		if cfg.Sources, err = sourcesOf(ctx, b.js, l.stream); err != nil {
			return fmt.Errorf("bus: stream %s of the leaf node: %w", l.stream, err)
		}
		for _, code := range codes {
			subject := gateway.Subject(l.kind, code)
			if !slices.ContainsFunc(cfg.Sources, func(s *jetstream.StreamSource) bool {
				return fromDomain(s, l.stream, b.opts.HubDomain) && s.FilterSubject == subject
			}) {
				cfg.Sources = append(cfg.Sources, &jetstream.StreamSource{Name: l.stream, FilterSubject: subject,
					External: linkTo(b.opts.HubDomain, b.opts.Domain)})
			}
		}
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: stream %s of the leaf node, sourcing %d agencies from the hub: %w", l.stream, len(cfg.Sources), err)
		}
	}
	return nil
}
