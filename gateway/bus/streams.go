package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// Names of the NATS contract (DESIGN.md, "NATS contract").
const (
	// StreamEdoc holds documents: subjects lt.edoc.<recipient tokens>.
	StreamEdoc = "LT_EDOC"
	// StreamStatus holds statuses: subjects lt.status.<recipient tokens>.
	StreamStatus = "LT_STATUS"
	// BucketDirectory is the KV bucket of the directory: agency code
	// tokens → gateway.Agency as JSON.
	BucketDirectory = "LT_DIRECTORY"
	// BucketGateways is the KV bucket of heartbeats: gateway id →
	// gateway.GatewayBeat as JSON.
	BucketGateways = "LT_GATEWAYS"
)

// Limits of the NATS contract.
const (
	// DefaultMaxAge is how long messages and large packets are kept:
	// long enough to ride out a week-long outage several times over.
	DefaultMaxAge = 30 * 24 * time.Hour
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id; a
	// publish repeated within it is a duplicate. It is shortened to
	// MaxAge if MaxAge is shorter.
	DuplicateWindow = 48 * time.Hour
	// DirectoryHistory is how many revisions of each directory entry are
	// kept.
	DirectoryHistory = 5
	// DefaultBeatTTL is how long a heartbeat stays in LT_GATEWAYS when it
	// is not renewed: a gateway silent for longer is no longer listed.
	DefaultBeatTTL = time.Hour
)

// packetStreams are the two packet streams of the contract: the kind of
// packet each holds, its subjects, and the out-stream of a leaf node that
// takes the same packets there (leaf.go).
var packetStreams = []struct {
	kind     gateway.PacketKind
	stream   string // LT_EDOC, LT_STATUS: the hub's, and a leaf node's in-stream
	out      string // a leaf node's out-stream
	what     string
	subjects string
}{
	{gateway.KindEdoc, StreamEdoc, StreamOutEdoc, "document", gateway.EdocSubjectPrefix + ">"},
	{gateway.KindStatus, StreamStatus, StreamOutStatus, "status", gateway.StatusSubjectPrefix + ">"},
}

// streamConfigs returns the two packet streams as the contract sets them.
// Both keep every message for maxAge whether or not a consumer exists
// (limits retention): a message for an agency whose gateway has not yet
// created its consumer waits for it.
func streamConfigs(o Options) []jetstream.StreamConfig {
	var cfgs []jetstream.StreamConfig
	for _, s := range packetStreams {
		cfgs = append(cfgs, packetStream(o, s.stream, s.what, s.subjects))
	}
	return cfgs
}

// packetStream is the configuration of a stream of packets of kind what,
// taking subjects (none for a stream that only sources others).
func packetStream(o Options, name, what string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: "lienthong " + what + " packets, by recipient agency",
		Subjects:    subjects,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		MaxAge:      o.MaxAge,
		Duplicates:  min(DuplicateWindow, o.MaxAge),
		Replicas:    o.Replicas,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		// MaxMsgsPerSubject -1: a recipient's subject is not a
		// last-value slot.
		MaxMsgsPerSubject: -1,
		// A positive limit, not -1: nats-server takes -1 for "not set"
		// and applies its default of 1,000 consumers per stream, which
		// with a consumer per agency capped a hub at 1,000 agencies.
		MaxConsumers: MaxConsumersPerStream,
	}
}

// MaxConsumersPerStream is the packet streams' limit of consumers, set on
// the streams and as the embedded server's default (deploy/nats sets it on
// the hub's and the leaf nodes' servers too).
const MaxConsumersPerStream = 10000

// directoryConfig is the KV bucket of the directory; entries do not
// expire.
func directoryConfig(o Options) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      BucketDirectory,
		Description: "lienthong directory: agency code tokens to agency, gateway and certificates",
		History:     DirectoryHistory,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}
}

// gatewaysConfig is the KV bucket of heartbeats; a heartbeat not renewed
// within BeatTTL expires.
func gatewaysConfig(o Options) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      BucketGateways,
		Description: "lienthong gateway heartbeats",
		History:     1,
		TTL:         o.BeatTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}
}

// consumerConfig is the durable pull consumer of one agency on one
// stream: exactly its subject, explicit acks, every message from the
// start of the stream (so a new agency's consumer gets all that is
// retained for it), redelivered without limit.
func consumerConfig(name, what, subject string, ackWait time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Name:          name,
		Durable:       name,
		Description:   what,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		FilterSubject: subject,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
	}
}

// setup creates or updates the streams and buckets, and keeps the
// handles Publish, Consume and the directory use. On a leaf node it
// creates or updates the leaf's streams and mirrors (setupLeaf).
func (b *Bus) setup(ctx context.Context) error {
	if b.opts.HubDomain != "" {
		return b.setupLeaf(ctx)
	}
	if b.opts.Bind {
		return b.bind(ctx)
	}
	for _, cfg := range streamConfigs(b.opts) {
		if err := createOrUpdateKeepingSources(ctx, b.js, cfg); err != nil {
			return fmt.Errorf("bus: create or update stream %s: %w", cfg.Name, err)
		}
	}
	var err error
	if b.large, err = b.js.CreateOrUpdateStream(ctx, largeConfig(b.opts)); err != nil {
		return fmt.Errorf("bus: create or update stream %s: %w", StreamLarge, err)
	}
	if b.directory, err = createOrUpdateBucket(ctx, b.js, directoryConfig(b.opts)); err != nil {
		return fmt.Errorf("bus: create or update key-value bucket %s: %w", BucketDirectory, err)
	}
	if b.gateways, err = createOrUpdateBucket(ctx, b.js, gatewaysConfig(b.opts)); err != nil {
		return fmt.Errorf("bus: create or update key-value bucket %s: %w", BucketGateways, err)
	}
	return nil
}

// createOrUpdateBucket creates the KV bucket cfg, or updates the settings
// of cfg in the one that exists, and in both cases forbids roll-ups and
// purges on its stream: a KV stream allows them by default, and a message
// with the header Nats-Rollup: all, which any writer of one key may send —
// or have JetStream send for it, as the answer to a request whose reply
// subject is a key — would delete every other key (every gateway's
// heartbeat, the whole directory). Nothing here purges a key; deletes are
// markers, which stay allowed.
func createOrUpdateBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	name := "KV_" + cfg.Bucket
	if _, err := js.Stream(ctx, name); errors.Is(err, jetstream.ErrStreamNotFound) {
		// Another process may make it meanwhile, with roll-ups already
		// off: then it exists, which is what is wanted.
		if _, err := js.CreateKeyValue(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	sc := s.CachedInfo().Config
	sc.Description, sc.Replicas, sc.MaxAge = cfg.Description, cfg.Replicas, cfg.TTL
	sc.MaxMsgsPerSubject = max(int64(cfg.History), 1)
	sc.AllowRollup, sc.DenyPurge = false, true
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		return nil, err
	}
	return js.KeyValue(ctx, cfg.Bucket)
}

// createOrUpdateKeepingSources creates the stream cfg, or updates it
// keeping the sources it has: the leaf nodes' out-streams SourceLeaf
// added.
func createOrUpdateKeepingSources(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	var err error
	if cfg.Sources, err = sourcesOf(ctx, js, cfg.Name); err != nil {
		return err
	}
	_, err = js.CreateOrUpdateStream(ctx, cfg)
	return err
}

// sourcesOf returns the sources of the stream name; none if it does not
// exist.
func sourcesOf(ctx context.Context, js jetstream.JetStream, name string) ([]*jetstream.StreamSource, error) {
	s, err := js.Stream(ctx, name)
	switch {
	case err == nil:
		return s.CachedInfo().Config.Sources, nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, nil
	}
	return nil, err
}

// bind looks up the stream of large packets and the buckets an
// administrator made. The packet streams are not looked up: a gateway's
// credentials may not read their information (GatewayPermissions), and
// Consume finds its consumers there or says they are missing.
func (b *Bus) bind(ctx context.Context) error {
	var err error
	if b.large, err = b.js.Stream(ctx, StreamLarge); err != nil {
		return fmt.Errorf("bus: stream %s (bind: it must exist): %w", StreamLarge, err)
	}
	if c := b.large.CachedInfo().Config; !c.DiscardNewPerSubject || !c.DenyPurge || !c.DenyDelete {
		b.log.Warn("the stream of large packets lets chunks be replaced or removed: the administrator must run \"lienthong nats setup\" of this version",
			zap.String("stream", StreamLarge))
	}
	if b.directory, err = b.js.KeyValue(ctx, BucketDirectory); err != nil {
		return fmt.Errorf("bus: key-value bucket %s (bind: it must exist): %w", BucketDirectory, err)
	}
	for _, bucket := range []string{BucketDirectory, BucketGateways} {
		if s, err := b.js.Stream(ctx, "KV_"+bucket); err == nil && s.CachedInfo().Config.AllowRollup {
			b.log.Warn("a key-value bucket takes roll-ups, which empty it: the administrator must run \"lienthong nats setup\" of this version",
				zap.String("bucket", bucket))
		}
	}
	if b.gateways, err = b.js.KeyValue(ctx, BucketGateways); err != nil {
		return fmt.Errorf("bus: key-value bucket %s (bind: it must exist): %w", BucketGateways, err)
	}
	return nil
}
