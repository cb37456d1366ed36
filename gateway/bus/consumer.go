package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Defaults of gateway.ConsumerSpec.
const (
	// DefaultConcurrency is how many messages are handled at once.
	DefaultConcurrency = 4
	// DefaultAckWait is how long a message may stay unsettled. It is also
	// how long the messages a crashed gateway had in hand wait before they
	// are delivered again, so it is short; a handler doing long work on a
	// large packet calls InProgress.
	DefaultAckWait = 15 * time.Second
)

// ConsumerName returns the name of an agency's durable consumer on the
// stream of kind: ag_<tokens>_edoc or ag_<tokens>_status, tokens being
// the agency code's NATS tokens (envelope.AgencyCode.Tokens) with '.'
// replaced by '_', and every other character NATS does not allow in a
// name (all but [A-Za-z0-9_-]) replaced by '_' too: 000.00.12.H41 on
// LT_EDOC is ag_H41_12_edoc. The name does not depend on the gateway, so
// an agency keeps its consumer, and its position, whichever gateway hosts
// it.
func ConsumerName(agency envelope.AgencyCode, kind gateway.PacketKind) string {
	return consumerNameOf(agency.Tokens(), kind)
}

// consumerNameOf is ConsumerName of an agency's NATS tokens.
func consumerNameOf(tokens string, kind gateway.PacketKind) string {
	return "ag_" + sanitize(strings.ReplaceAll(tokens, ".", "_")) + "_" + string(kind)
}

// sanitize replaces what is not [A-Za-z0-9_-] with '_'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// hostedAgencies returns the agencies of c once each (codes that are
// Equal count once), in the order given. Two different codes whose
// consumers would have the same name are refused.
func hostedAgencies(c gateway.ConsumerSpec) ([]envelope.AgencyCode, error) {
	var codes []envelope.AgencyCode
	byName := make(map[string]envelope.AgencyCode, len(c.Agencies))
	for i, code := range c.Agencies {
		if code.IsZero() {
			return nil, fmt.Errorf("bus: consume for gateway %s: agency %d has no code", c.Gateway, i+1)
		}
		name := ConsumerName(code, gateway.KindEdoc)
		if prev, ok := byName[name]; ok {
			if prev.Equal(code) {
				continue
			}
			return nil, fmt.Errorf("bus: consume for gateway %s: agencies %s and %s would share the consumer %s",
				c.Gateway, prev, code, name)
		}
		byName[name] = code
		codes = append(codes, code)
	}
	return codes, nil
}

// Consume creates or updates, on both streams, one durable pull consumer
// per hosted agency (named by ConsumerName, filtered to exactly
// gateway.Subject(kind, code)) — or with Options.Bind uses those the
// administrator made (EnsureConsumers), since a gateway that may create a
// consumer may give it any filter — and calls h for each message of any of
// them, in up to c.Concurrency goroutines in all. Handlers get a context
// derived from ctx that Stop cancels. When ctx is done, consumption stops
// as with Stop.
func (b *Bus) Consume(ctx context.Context, c gateway.ConsumerSpec, h gateway.Handler) (gateway.Consumer, error) {
	switch {
	case sanitize(c.Gateway) == "":
		return nil, errors.New("bus: consume: a gateway id is required")
	case len(c.Agencies) == 0:
		return nil, fmt.Errorf("bus: consume for gateway %s: no agencies", c.Gateway)
	case h == nil:
		return nil, fmt.Errorf("bus: consume for gateway %s: no handler", c.Gateway)
	case b.opts.GatewayConsumers && b.opts.HubDomain != "":
		return nil, fmt.Errorf("%w: consume for gateway %s: gateway consumers are not yet made on a leaf node", ErrInvalidOption, c.Gateway)
	case len(c.Subtrees) > 0 && !b.opts.GatewayConsumers:
		return nil, fmt.Errorf("%w: consume for gateway %s: subtrees need gateway consumers: a per-agency consumer reads one agency", ErrInvalidOption, c.Gateway)
	}
	codes, err := hostedAgencies(c)
	if err != nil {
		return nil, err
	}
	if b.opts.HubDomain != "" {
		if err := b.sourceFromHub(ctx); err != nil {
			return nil, fmt.Errorf("bus: consume for gateway %s: %w", c.Gateway, err)
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}

	hctx, cancel := context.WithCancel(ctx)
	cs := &consumer{
		bus:     b,
		log:     b.log.With(zap.String("gateway", c.Gateway)),
		h:       h,
		ctx:     hctx,
		cancel:  cancel,
		sem:     make(chan struct{}, c.Concurrency),
		closing: make(chan struct{}),
	}
	if b.opts.GatewayConsumers {
		if err := b.consumeGateway(ctx, cs, c, codes); err != nil {
			cs.Stop()
			return nil, err
		}
		cs.log.Info("consuming", zap.Int("agencies", len(codes)), zap.String("consumers", "per gateway"))
	} else if err := cs.startPerAgency(ctx, c, codes); err != nil {
		cs.Stop()
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			cs.Stop()
		case <-cs.closing:
		}
	}()
	return cs, nil
}

// startPerAgency starts the per-agency consumers of codes (ConsumerName).
func (c *consumer) startPerAgency(ctx context.Context, spec gateway.ConsumerSpec, codes []envelope.AgencyCode) error {
	// Each consumer pulls ahead; all of them together stay near twice the
	// concurrency, so that a gateway hosting hundreds of agencies does not
	// hold thousands of fetched messages past their ack wait.
	prefetch := max(2, 2*spec.Concurrency/(len(codes)*len(packetStreams)))
	for _, code := range codes {
		for _, k := range packetStreams {
			name := ConsumerName(code, k.kind)
			subject := gateway.Subject(k.kind, code)
			if err := c.start(ctx, k.stream, name, subject, k.kind, code, spec, prefetch); err != nil {
				return err
			}
		}
	}
	c.log.Info("consuming", zap.Int("agencies", len(codes)), zap.Int("consumers", len(codes)*len(packetStreams)))
	return nil
}

// start creates or updates the durable consumer name on stream, filtered
// to subject — or, on a server whose administrator made the consumers
// (Options.Bind), looks it up and checks its filter — and starts
// consuming it into c.receive.
func (c *consumer) start(ctx context.Context, stream, name, subject string, kind gateway.PacketKind, code envelope.AgencyCode, spec gateway.ConsumerSpec, prefetch int) error {
	b := c.bus
	cctx, ccancel := b.deadline(ctx)
	var jc jetstream.Consumer
	var err error
	if b.opts.Bind {
		jc, err = b.js.Consumer(cctx, stream, name)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			err = fmt.Errorf("%w: %s on %s for agency %s (the administrator makes it: lienthong nats setup -agency %s)", ErrNoConsumer, name, stream, code, code)
		case err == nil && jc.CachedInfo().Config.FilterSubject != subject:
			err = fmt.Errorf("consumer %s on %s is filtered to %q, not %q: the administrator must make it again (lienthong nats setup -agency %s)",
				name, stream, jc.CachedInfo().Config.FilterSubject, subject, code)
		}
	} else {
		cfg := consumerConfig(name, "lienthong "+string(kind)+" packets for agency "+code.String(), subject, spec.AckWait)
		jc, err = b.js.CreateOrUpdateConsumer(cctx, stream, cfg)
	}
	ccancel()
	if err != nil {
		return fmt.Errorf("bus: consumer %s on %s for gateway %s: %w", name, stream, spec.Gateway, err)
	}
	if err := c.consumeJC(stream, name, jc, prefetch, c.receive); err != nil {
		return fmt.Errorf("bus: for gateway %s: %w", spec.Gateway, err)
	}
	c.log.Debug("consuming", zap.String("consumer", name), zap.String("agency", code.String()), zap.String("subject", subject))
	return nil
}

// consumer is a running consumption: it implements gateway.Consumer.
type consumer struct {
	bus    *Bus
	log    *zap.Logger
	h      gateway.Handler
	ctx    context.Context // the handlers'
	cancel context.CancelFunc
	sem    chan struct{} // one slot per running handler
	gate   *gate         // with gateway consumers: what to do with packets of agencies not hosted

	mu       sync.Mutex
	ccs      []jetstream.ConsumeContext
	jcs      []streamConsumer
	stopped  bool           // Drain or Stop was called
	closing  chan struct{}  // closed when stopped becomes true
	handlers sync.WaitGroup // handlers running; Add only under mu while !stopped
}

// streamConsumer is one durable consumer and the stream it is on.
type streamConsumer struct {
	stream, name string
	c            jetstream.Consumer
	cc           jetstream.ConsumeContext // its consumption, where it can end before the rest (a catch-up)
}

// Pending asks the server, consumer by consumer, how many messages are
// not yet acknowledged (NumPending + NumAckPending) and sums them by
// stream: StreamEdoc and StreamStatus are always in the result. Each
// request runs under ctx's deadline, or Options.Timeout.
func (c *consumer) Pending(ctx context.Context) (map[string]uint64, error) {
	c.mu.Lock()
	jcs := slices.Clone(c.jcs)
	c.mu.Unlock()
	// A request per consumer, several at once: a gateway hosting
	// thousands of agencies would otherwise take seconds per scrape.
	out := map[string]uint64{StreamEdoc: 0, StreamStatus: 0}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, pendingRequests)
	)
	for _, sc := range jcs {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ictx, cancel := c.bus.deadline(ctx)
			info, err := sc.c.Info(ictx)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("bus: pending of consumer %s on %s: %w", sc.name, sc.stream, err)
				}
				return
			}
			out[sc.stream] += info.NumPending + uint64(max(info.NumAckPending, 0))
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// pendingRequests is how many consumer info requests Pending has in
// flight at once.
const pendingRequests = 16

// receive is the jetstream callback: it waits for a free slot and runs
// the handler in its own goroutine. A message that arrives once the
// consumer drains or stops is nakked at once, for the next consumer.
func (c *consumer) receive(jm jetstream.Msg) {
	select {
	case c.sem <- struct{}{}:
	case <-c.closing:
		c.release(jm)
		return
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		<-c.sem
		c.release(jm)
		return
	}
	c.handlers.Add(1)
	c.mu.Unlock()
	m := &message{bus: c.bus, m: jm}
	go func() {
		defer c.handlers.Done()
		defer func() { <-c.sem }()
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("handler panicked; the message will be redelivered",
					zap.String("subject", m.Subject()), zap.String("msgId", m.MsgID()),
					zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			}
		}()
		c.h(c.ctx, m)
	}()
}

// release gives back a message that will not be handled here.
func (c *consumer) release(jm jetstream.Msg) {
	if err := jm.Nak(); err != nil {
		c.log.Debug("nak a message not handled", zap.String("subject", jm.Subject()), zap.Error(err))
	}
}

// begin marks the consumer stopped, once, and returns its consume
// contexts.
func (c *consumer) begin() []jetstream.ConsumeContext {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped {
		c.stopped = true
		close(c.closing)
	}
	return slices.Clone(c.ccs)
}

// Drain stops fetching, lets the handlers in flight finish and waits for
// them, or for ctx; then the handlers' context is cancelled. Messages
// fetched but not yet handled are nakked for redelivery. If ctx ends
// first, Drain stops as Stop does and returns ctx's error.
func (c *consumer) Drain(ctx context.Context) error {
	for _, cc := range c.begin() {
		cc.Drain()
	}
	done := make(chan struct{})
	go func() {
		c.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		c.cancel()
		return nil
	case <-ctx.Done():
		c.Stop()
		return fmt.Errorf("bus: drain consumer: %w", ctx.Err())
	}
}

// Stop stops fetching at once and cancels the handlers' context, without
// waiting for them; what they leave unsettled is redelivered after the ack
// wait.
func (c *consumer) Stop() {
	for _, cc := range c.begin() {
		cc.Stop()
	}
	c.cancel()
}

// EnsureConsumers creates or updates, on both streams, the durable
// consumers of agencies (named by ConsumerName, filtered to exactly their
// subjects, with ackWait, 0 meaning DefaultAckWait). It is the
// administrator's act on a hub whose gateways bind (Options.Bind): a
// gateway's credentials may use only its agencies' consumers, and may not
// create one, since nats-server takes a consumer's filter from the
// request's body.
func (b *Bus) EnsureConsumers(ctx context.Context, agencies []envelope.AgencyCode, ackWait time.Duration) error {
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	codes, err := hostedAgencies(gateway.ConsumerSpec{Gateway: "administrator", Agencies: agencies})
	if err != nil {
		return err
	}
	for _, code := range codes {
		for _, k := range packetStreams {
			name := ConsumerName(code, k.kind)
			cfg := consumerConfig(name, "lienthong "+string(k.kind)+" packets for agency "+code.String(), gateway.Subject(k.kind, code), ackWait)
			cctx, cancel := b.deadline(ctx)
			_, err := b.js.CreateOrUpdateConsumer(cctx, k.stream, cfg)
			cancel()
			if err != nil {
				return fmt.Errorf("bus: create or update consumer %s on %s: %w", name, k.stream, err)
			}
		}
	}
	return nil
}
