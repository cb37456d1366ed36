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

	"github.com/lienthong/lienthong/gateway"
)

// Defaults of gateway.ConsumerSpec.
const (
	// DefaultConcurrency is how many messages are handled at once.
	DefaultConcurrency = 4
	// DefaultAckWait is how long a message may stay unsettled.
	DefaultAckWait = 60 * time.Second
)

// ConsumerName returns the name of a gateway's durable consumer on a
// stream of kind: gw_<gateway>_edoc or gw_<gateway>_status, the gateway
// id with every character NATS does not allow in a name (all but
// [A-Za-z0-9_-]) replaced by '_'.
func ConsumerName(gatewayID string, kind gateway.PacketKind) string {
	return "gw_" + sanitize(gatewayID) + "_" + string(kind)
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

// Consume creates or updates the gateway's durable pull consumers on
// both streams, filtered to exactly gateway.Subject(kind, code) for each
// hosted agency, and calls h for each message, in up to c.Concurrency
// goroutines. Handlers get a context derived from ctx that Stop cancels.
// When ctx is done, consumption stops as with Stop.
func (b *Bus) Consume(ctx context.Context, c gateway.ConsumerSpec, h gateway.Handler) (gateway.Consumer, error) {
	switch {
	case sanitize(c.Gateway) == "":
		return nil, errors.New("bus: consume: a gateway id is required")
	case len(c.Agencies) == 0:
		return nil, fmt.Errorf("bus: consume for gateway %s: no agencies", c.Gateway)
	case h == nil:
		return nil, fmt.Errorf("bus: consume for gateway %s: no handler", c.Gateway)
	}
	for i, code := range c.Agencies {
		if code.IsZero() {
			return nil, fmt.Errorf("bus: consume for gateway %s: agency %d has no code", c.Gateway, i+1)
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	kinds := []struct {
		kind   gateway.PacketKind
		stream string
	}{{gateway.KindEdoc, StreamEdoc}, {gateway.KindStatus, StreamStatus}}

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
	for _, k := range kinds {
		var subjects []string
		for _, code := range c.Agencies {
			subjects = append(subjects, gateway.Subject(k.kind, code))
		}
		slices.Sort(subjects)
		subjects = slices.Compact(subjects)
		name := ConsumerName(c.Gateway, k.kind)
		cfg := consumerConfig(name, "lienthong gateway "+c.Gateway+": "+string(k.kind)+" packets for its agencies", subjects, c.AckWait)
		cctx, ccancel := b.deadline(ctx)
		jc, err := b.js.CreateOrUpdateConsumer(cctx, k.stream, cfg)
		ccancel()
		if err != nil {
			cs.Stop()
			return nil, fmt.Errorf("bus: create or update consumer %s on %s: %w", name, k.stream, err)
		}
		log := cs.log.With(zap.String("consumer", name))
		cc, err := jc.Consume(cs.receive,
			jetstream.PullMaxMessages(c.Concurrency),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConnectionClosed) {
					log.Debug("consume", zap.Error(err))
					return
				}
				log.Warn("consume", zap.Error(err))
			}))
		if err != nil {
			cs.Stop()
			return nil, fmt.Errorf("bus: consume %s on %s: %w", name, k.stream, err)
		}
		cs.mu.Lock()
		cs.ccs = append(cs.ccs, cc)
		cs.mu.Unlock()
		log.Info("consuming", zap.Strings("subjects", subjects))
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

// consumer is a running consumption: it implements gateway.Consumer.
type consumer struct {
	bus    *Bus
	log    *zap.Logger
	h      gateway.Handler
	ctx    context.Context // the handlers'
	cancel context.CancelFunc
	sem    chan struct{} // one slot per running handler

	mu       sync.Mutex
	ccs      []jetstream.ConsumeContext
	stopped  bool           // Drain or Stop was called
	closing  chan struct{}  // closed when stopped becomes true
	handlers sync.WaitGroup // handlers running; Add only under mu while !stopped
}

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
