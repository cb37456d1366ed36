package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/osmem"
)

// Defaults of Options.
const (
	// DefaultInlineLimit is the largest packet carried in the message
	// itself; larger ones go through StreamLarge.
	DefaultInlineLimit = 512 << 10
	// DefaultReplicas is the replica count of the streams and buckets: 1
	// for a single server; a 3-node cluster wants 3.
	DefaultReplicas = 1
	// DefaultTimeout bounds each call whose context has no deadline.
	DefaultTimeout = 30 * time.Second
	// DefaultReconnectWait is the pause between reconnect attempts.
	DefaultReconnectWait = 2 * time.Second
)

// Headers a published message carries besides Nats-Msg-Id.
const (
	// HeaderSHA256 is the hex SHA-256 of the packet.
	HeaderSHA256 = "Lt-Sha256"
)

// Options configure Open. Numbers and durations left at 0 take their
// defaults; negative ones are refused with ErrInvalidOption.
type Options struct {
	// URL is the NATS server or cluster (comma-separated URLs); "" means
	// Server's ClientURL.
	URL string
	// Name is the connection's name, as the server shows it.
	Name string
	// Credentials, all optional: a .creds file, a user and password, a
	// token, or an NKey seed file.
	CredsFile string
	User      string
	Password  string
	Token     string
	NKeyFile  string
	// Domain is the JetStream domain to use, for a leaf node with its own
	// JetStream; "" for the local one.
	Domain string
	// HubDomain is set when the server at URL is a provincial leaf node
	// with its own JetStream domain (Domain, required then): it is the
	// hub's domain. Packets are then published into the leaf's
	// out-streams (StreamOutEdoc, StreamOutStatus), acknowledged there
	// even while the link to the hub is down, and the hub sources them;
	// each hosted agency's packets are sourced from the hub's streams into
	// the leaf's LT_EDOC and LT_STATUS, where its consumers are. The
	// directory and the heartbeats are read from the leaf's mirrors of the
	// hub's buckets and written at the hub; large packets are the hub's.
	// Open needs only the leaf. See the package documentation, "Leaf
	// nodes".
	HubDomain string
	// CAFile is a PEM file of the CAs that sign the servers' TLS
	// certificates; "" means the system's.
	CAFile string
	// InboxPrefix replaces "_INBOX" in reply subjects (see InboxPrefix);
	// "" keeps it.
	InboxPrefix string
	// Bind: the streams and buckets exist (an administrator made them,
	// see GatewayPermissions); Open looks them up instead of creating or
	// updating them. It does not apply on a leaf node (HubDomain), where
	// Open makes the leaf's streams and mirrors itself.
	Bind bool
	// GatewayConsumers: Consume reads one durable consumer per gateway
	// and stream, made by Assign, instead of one per agency
	// (docs/design/consumers.md): the hub's consumers then grow with
	// gateways, not agencies. The gateway assigns itself its agencies
	// (Bus.Assign) — or, with Bind, the administrator did ("lienthong nats
	// setup -gateway") and the gateway checks it. Not yet on a leaf node,
	// where Consume refuses it.
	GatewayConsumers bool
	// InlineLimit is the largest packet sent in the message; 0 means
	// DefaultInlineLimit. It must stay below the server's max payload.
	InlineLimit int
	// Gateway is the id of the gateway the Bus serves: its large packets
	// are under ltlarge.<Gateway>, which its credentials may publish to.
	// "" means Name.
	Gateway string
	// MaxPacketSize is the largest large packet read; 0 means
	// gateway.DefaultMaxPacketSize. A message claiming a larger one is
	// refused before anything is allocated.
	MaxPacketSize int64
	// SpoolDir is the directory where a large packet is written as its
	// chunks arrive (files lt-large-*.spool, 0600, removed once read),
	// so that the fetch holds none of it in memory; "" means
	// os.TempDir(), which may be in memory. Open creates it (0700) and
	// removes the spools a process that stopped mid-fetch left there —
	// only when it is set, since os.TempDir() is shared: give each Bus a
	// directory of its own, on a disk.
	SpoolDir string
	// Replicas of the streams and buckets; 0 means DefaultReplicas.
	Replicas int
	// MaxAge is how long messages and large packets are kept; 0 means
	// DefaultMaxAge.
	MaxAge time.Duration
	// BeatTTL is how long a heartbeat is kept when not renewed; 0 means
	// DefaultBeatTTL.
	BeatTTL time.Duration
	// Timeout bounds each call whose context has no deadline; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// ReconnectWait is the pause between reconnect attempts; 0 means
	// DefaultReconnectWait. Reconnection never gives up.
	ReconnectWait time.Duration
	// Server is an embedded server the Bus owns: Close shuts it down, and
	// so does Open when it fails.
	Server *server.Server
	// MemoryRelease limits how often a large packet's buffer is made only
	// after the heap's free pages are given back: the process's one,
	// shared with its stores (see osmem); nil means one of the Bus's own.
	MemoryRelease *osmem.Limiter
}

// Bus is the NATS JetStream fabric: it implements gateway.Bus. Create it
// with Open; it is safe for concurrent use.
type Bus struct {
	opts Options
	log  *zap.Logger
	nc   *nats.Conn
	js   jetstream.JetStream // the streams, the buckets (on a leaf node, its mirrors), the consumers
	hub  jetstream.JetStream // StreamLarge's: js, or the hub's domain on a leaf node

	largeMu sync.Mutex       // guards large, set when first used, and stored
	large   jetstream.Stream // StreamLarge: use largeStream
	// stored are the names of large packets this Bus stored whole, which
	// it may reuse without reading their chunks back.
	stored map[string]bool
	// release limits getLarge's return of free pages to the system
	// (Options.MemoryRelease).
	release   *osmem.Limiter
	directory jetstream.KeyValue
	gateways  jetstream.KeyValue

	// unhostedDelay is how long a packet of an agency assigned but not
	// configured waits before it comes again (the gate).
	unhostedDelay time.Duration
	// handedOverSettle is how long the gate keeps a packet of a subject
	// handed over before it acknowledges it (handedOverWait).
	handedOverSettle time.Duration
	// spooled, in tests, is called when chunk i of a large packet has
	// been written to the spool at path.
	spooled func(ctx context.Context, path string, i int)
	// handedOver, in tests, is called when Assign has taken subjects
	// from another gateway and not yet recorded their points: an error
	// stands for the process dying there.
	handedOver func() error
	// leafRemaking, in tests, is called at each step of
	// remakeLeafConsumer ("unsourced", "deleted", "made"): an error stands
	// for the process dying there, and nothing after runs, its deferred
	// steps neither.
	leafRemaking func(step string) error

	connClosed chan struct{} // closed when the connection is closed
	closeOnce  sync.Once
	closeErr   error
}

var _ gateway.Bus = (*Bus)(nil)

// Open connects to NATS and creates or updates the streams (LT_LARGE
// included) and the KV buckets of the NATS contract — or, with
// Options.Bind, looks them up. It makes Options.SpoolDir, if set, and
// removes the spools left there. The connection reconnects for ever,
// logging each disconnect and reconnect to log. A nil log discards them.
// Options out of range (negative, or an inline limit that leaves no room
// below the server's max payload) and a missing URL give
// ErrInvalidOption. When Open fails, it shuts down opts.Server.
func Open(ctx context.Context, opts Options, log *zap.Logger) (_ *Bus, err error) {
	if log == nil {
		log = zap.NewNop()
	}
	defer func() {
		if err != nil && opts.Server != nil {
			opts.Server.Shutdown()
			opts.Server.WaitForShutdown()
		}
	}()
	if opts.URL == "" {
		if opts.Server == nil {
			return nil, fmt.Errorf("%w: open: a NATS URL or an embedded server is required", ErrInvalidOption)
		}
		opts.URL = opts.Server.ClientURL()
	}
	for _, o := range []struct {
		name  string
		value int64
	}{
		{"inline limit", int64(opts.InlineLimit)}, {"replicas", int64(opts.Replicas)},
		{"max age", int64(opts.MaxAge)}, {"heartbeat TTL", int64(opts.BeatTTL)},
		{"timeout", int64(opts.Timeout)}, {"reconnect wait", int64(opts.ReconnectWait)},
	} {
		if o.value < 0 {
			return nil, fmt.Errorf("%w: open: negative %s %d", ErrInvalidOption, o.name, o.value)
		}
	}
	if opts.HubDomain != "" && (opts.Domain == "" || opts.Domain == opts.HubDomain) {
		return nil, fmt.Errorf("%w: open: a hub domain (%q) needs the leaf node's own JetStream domain, a different one (domain %q)",
			ErrInvalidOption, opts.HubDomain, opts.Domain)
	}
	if opts.InlineLimit == 0 {
		opts.InlineLimit = DefaultInlineLimit
	}
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = gateway.DefaultMaxPacketSize
	}
	if opts.Replicas == 0 {
		opts.Replicas = DefaultReplicas
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.BeatTTL == 0 {
		opts.BeatTTL = DefaultBeatTTL
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ReconnectWait == 0 {
		opts.ReconnectWait = DefaultReconnectWait
	}
	if opts.SpoolDir != "" {
		if err := openSpoolDir(opts.SpoolDir, log); err != nil {
			return nil, err
		}
	}
	b := &Bus{opts: opts, log: log, connClosed: make(chan struct{}), unhostedDelay: unhostedDelay, handedOverSettle: handedOverSettle,
		release: opts.MemoryRelease}
	if b.release == nil {
		b.release = new(osmem.Limiter)
	}

	nopts := []nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(opts.ReconnectWait),
		nats.Timeout(min(opts.Timeout, 10*time.Second)),
		nats.DrainTimeout(opts.Timeout),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected; reconnecting", zap.Error(err))
			} else {
				log.Info("NATS disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", zap.String("url", nc.ConnectedUrlRedacted()))
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.connClosed) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("NATS error", zap.String("subscription", subject), zap.Error(err))
		}),
	}
	switch {
	case opts.CredsFile != "":
		nopts = append(nopts, nats.UserCredentials(opts.CredsFile))
	case opts.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(opts.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("bus: open: nkey %s: %w", opts.NKeyFile, err)
		}
		nopts = append(nopts, o)
	}
	if opts.User != "" {
		nopts = append(nopts, nats.UserInfo(opts.User, opts.Password))
	}
	if opts.Token != "" {
		nopts = append(nopts, nats.Token(opts.Token))
	}
	if opts.CAFile != "" {
		nopts = append(nopts, nats.RootCAs(opts.CAFile))
	}
	if opts.InboxPrefix != "" {
		nopts = append(nopts, nats.CustomInboxPrefix(opts.InboxPrefix))
	}
	nc, err := nats.Connect(opts.URL, nopts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to %s: %w", redactURL(opts.URL), err)
	}
	b.nc = nc
	defer func() {
		if err != nil {
			nc.Close()
		}
	}()
	if max := nc.MaxPayload(); int64(opts.InlineLimit)+4096 > max {
		return nil, fmt.Errorf("%w: open: inline limit %d is too close to the server's max payload %d", ErrInvalidOption, opts.InlineLimit, max)
	}
	if opts.Domain != "" {
		b.js, err = jetstream.NewWithDomain(nc, opts.Domain)
	} else {
		b.js, err = jetstream.New(nc)
	}
	if err != nil {
		return nil, fmt.Errorf("bus: open: JetStream: %w", err)
	}
	b.hub = b.js
	if opts.HubDomain != "" {
		if b.hub, err = jetstream.NewWithDomain(nc, opts.HubDomain); err != nil {
			return nil, fmt.Errorf("bus: open: the hub's JetStream: %w", err)
		}
	}
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	if err := b.setup(ctx); err != nil {
		return nil, err
	}
	log.Info("bus open", zap.String("url", nc.ConnectedUrlRedacted()), zap.String("domain", opts.Domain), zap.String("hubDomain", opts.HubDomain),
		zap.Int("inlineLimit", opts.InlineLimit), zap.Duration("maxAge", opts.MaxAge), zap.Int("replicas", opts.Replicas))
	return b, nil
}

// Connected reports whether the NATS connection is up.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Close drains the connection (subscriptions stop, pending publishes are
// flushed) and then shuts down the embedded server the Bus owns, if any,
// waiting for it. Calling it again returns the first result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		if err := b.nc.Drain(); err != nil {
			b.nc.Close() // not connected: nothing to drain
		}
		t := time.NewTimer(b.opts.Timeout + 5*time.Second)
		select {
		case <-b.connClosed:
		case <-t.C:
			b.nc.Close()
			errs = append(errs, fmt.Errorf("bus: close: the connection did not drain within %s", b.opts.Timeout))
		}
		t.Stop()
		if srv := b.opts.Server; srv != nil {
			srv.Shutdown()
			srv.WaitForShutdown()
		}
		b.log.Info("bus closed")
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// Publish publishes one packet to m.Subject, which must be under one of
// the two streams, and waits for the stream's ack. m.MsgID is required:
// it is the Nats-Msg-Id JetStream deduplicates on. A packet above the
// inline limit is put in StreamLarge first, encrypted, unless it is there
// already (see putLarge), and the message carries its name and key
// (HeaderLarge, HeaderSize, HeaderKey) and an empty body. The call runs
// under ctx's deadline, or Options.Timeout.
func (b *Bus) Publish(ctx context.Context, m gateway.Publication) (gateway.PubAck, error) {
	if !strings.HasPrefix(m.Subject, gateway.EdocSubjectPrefix) && !strings.HasPrefix(m.Subject, gateway.StatusSubjectPrefix) {
		return gateway.PubAck{}, fmt.Errorf("bus: publish to %q: not a subject of %s or %s", m.Subject, StreamEdoc, StreamStatus)
	}
	if m.MsgID == "" {
		return gateway.PubAck{}, fmt.Errorf("bus: publish to %s: a message id is required", m.Subject)
	}
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	sum := sha256.Sum256(m.Packet)
	digest := hex.EncodeToString(sum[:])
	msg := &nats.Msg{Subject: m.Subject, Header: nats.Header{}}
	msg.Header.Set(HeaderSHA256, digest)
	if len(m.Packet) > b.opts.InlineLimit {
		if err := b.putLarge(ctx, digest, m.Packet, msg.Header); err != nil {
			return gateway.PubAck{}, fmt.Errorf("bus: publish %s to %s: %w", m.MsgID, m.Subject, err)
		}
	} else {
		msg.Data = m.Packet
	}
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.MsgID))
	if err != nil {
		return gateway.PubAck{}, fmt.Errorf("bus: publish %s to %s: %w", m.MsgID, m.Subject, err)
	}
	return gateway.PubAck{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// deadline returns ctx, bounded by Options.Timeout when it has no
// deadline of its own.
func (b *Bus) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.opts.Timeout)
}

// redactURL hides the password or token in a NATS URL list.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		scheme, rest, ok := strings.Cut(strings.TrimSpace(p), "://")
		if !ok {
			continue
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			parts[i] = scheme + "://xxx@" + rest[at+1:]
		}
	}
	return strings.Join(parts, ",")
}
