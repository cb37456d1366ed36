package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// catchUpPoll is how often a gateway looks for a catch-up consumer to read
// and for the end of the one it reads.
const catchUpPoll = 2 * time.Second

// consumeGateway is Consume with Options.GatewayConsumers: it assigns the
// gateway its agencies (Assign), reads its gateway consumer on each stream
// and, while one exists, its catch-up consumer, whose messages it hands to
// h only where the catch-up owns them and whose end it deletes. What is
// not for an agency of codes is the gate's to settle.
//
// On a hub whose administrator makes the consumers (Options.Bind: a
// gateway may not set its own filters) it assigns nothing: it looks the
// gateway consumers up and checks that their filters are its agencies'.
func (b *Bus) consumeGateway(ctx context.Context, cs *consumer, spec gateway.ConsumerSpec, codes []envelope.AgencyCode) error {
	a := Assignment{Gateway: spec.Gateway, Agencies: codes, Subtrees: spec.Subtrees, AckWait: spec.AckWait}
	assigned := true
	if b.opts.Bind {
		if err := b.checkAssigned(ctx, a); err != nil {
			return err
		}
	} else if err := b.assignSelf(ctx, a); errors.Is(err, ErrCatchUpRunning) {
		// A catch-up of an earlier assignment is unfinished: read it,
		// and assign again once it is done.
		assigned = false
	} else if err != nil {
		return err
	}
	g, err := newGate(cs, spec.Gateway, codes)
	if err != nil {
		return fmt.Errorf("bus: consume for gateway %s: %w", spec.Gateway, err)
	}
	cs.gate = g
	prefetch := max(2, 2*spec.Concurrency)
	for _, s := range packetStreams {
		name := GatewayConsumerName(spec.Gateway, s.kind)
		cctx, cancel := b.deadline(ctx)
		jc, err := b.js.Consumer(cctx, s.stream, name)
		cancel()
		if err != nil {
			return fmt.Errorf("bus: consumer %s on %s for gateway %s: %w", name, s.stream, spec.Gateway, err)
		}
		if err := g.see(s.stream, jc.CachedInfo().Config); err != nil {
			return err
		}
		if err := cs.consumeJC(s.stream, name, jc, prefetch, g.receive(s.stream, cs.receive)); err != nil {
			return err
		}
	}
	go cs.watchCatchUp(ctx, a, assigned, prefetch)
	return nil
}

// consumeJC starts consuming jc into handle and keeps it for Pending,
// Drain and Stop.
func (c *consumer) consumeJC(stream, name string, jc jetstream.Consumer, prefetch int, handle jetstream.MessageHandler) error {
	log := c.log.With(zap.String("consumer", name))
	cc, err := jc.Consume(handle,
		jetstream.PullMaxMessages(prefetch),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			switch {
			case errors.Is(err, jetstream.ErrConsumerDeleted) && strings.HasPrefix(name, "gwc_"):
				// Its agencies were all taken (Assign): it reads
				// nothing more until it is assigned again.
				log.Error("the gateway consumer was deleted: this gateway receives nothing until it is assigned agencies again", zap.Error(err))
				return
			case errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConsumerDeleted):
				log.Debug("consume", zap.Error(err))
				return
			}
			log.Warn("consume", zap.Error(err))
		}))
	if err != nil {
		return fmt.Errorf("bus: consume %s on %s: %w", name, stream, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		cc.Stop()
		return nil
	}
	c.ccs = append(c.ccs, cc)
	c.jcs = append(c.jcs, streamConsumer{stream: stream, name: name, c: jc, cc: cc})
	return nil
}

// forget stops consuming the consumer name on stream and drops it from
// Pending.
func (c *consumer) forget(stream, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jcs = slices.DeleteFunc(c.jcs, func(sc streamConsumer) bool {
		if sc.stream == stream && sc.name == name {
			if sc.cc != nil {
				sc.cc.Stop()
			}
			c.ccs = slices.DeleteFunc(c.ccs, func(cc jetstream.ConsumeContext) bool { return cc == sc.cc })
			return true
		}
		return false
	})
}

// watchCatchUp reads the gateway's catch-up consumers while they exist —
// made by this gateway's Assign or by the administrator's — and deletes
// each once it has nothing left; then, if the assignment could not be made
// for a catch-up still running, makes it. It ends with the consumer.
func (c *consumer) watchCatchUp(ctx context.Context, a Assignment, assigned bool, prefetch int) {
	// Nothing of it outlives the consumer: an Assign after Stop would
	// pause and refilter other gateways' consumers for nothing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	reading := map[string]bool{} // by stream
	t := time.NewTicker(catchUpPoll)
	defer t.Stop()
	for {
		running := false
		for _, s := range packetStreams {
			if c.stepCatchUp(ctx, s.stream, CatchUpConsumerName(a.Gateway, s.kind), reading, prefetch) {
				running = true
			}
		}
		if !assigned && !running {
			if err := c.bus.Assign(ctx, a); err == nil {
				assigned = true
				for _, s := range packetStreams {
					if err := c.gate.reread(s.stream); err != nil {
						c.log.Warn("read the gateway consumer again", zap.String("stream", s.stream), zap.Error(err))
					}
				}
				continue // read the catch-up it made at once
			} else if !errors.Is(err, ErrCatchUpRunning) {
				c.log.Error("assign the gateway its agencies", zap.Error(err))
			}
		}
		select {
		case <-c.closing:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stepCatchUp starts reading the catch-up consumer name on stream if it
// exists and is not read yet, or deletes it if it has nothing left. It
// reports whether it still exists.
func (c *consumer) stepCatchUp(ctx context.Context, stream, name string, reading map[string]bool, prefetch int) bool {
	cctx, cancel := c.bus.deadline(ctx)
	defer cancel()
	jc, err := c.bus.js.Consumer(cctx, stream, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		if reading[stream] {
			c.forget(stream, name)
			delete(reading, stream)
		}
		return false
	case err != nil:
		c.log.Warn("look for a catch-up", zap.String("consumer", name), zap.Error(err))
		return true
	}
	info := jc.CachedInfo()
	if !reading[stream] {
		cu, err := readCatchUp(info.Config)
		if err != nil {
			c.log.Error("catch-up consumer not read", zap.Error(err))
			return true
		}
		next := c.gate.pass(stream, c.receive)
		handle := func(jm jetstream.Msg) {
			md, err := jm.Metadata()
			if err == nil && !cu.owns(jm.Subject(), md.Sequence.Stream) {
				// Another consumer's: the gateway consumer's above
				// until, the previous holder's below the point.
				if err := jm.Ack(); err != nil {
					c.log.Debug("ack a message the catch-up does not own", zap.Error(err))
				}
				return
			}
			next(jm)
		}
		if err := c.consumeJC(stream, name, jc, prefetch, handle); err != nil {
			c.log.Error("read the catch-up", zap.Error(err))
			return true
		}
		reading[stream] = true
		c.log.Info("catching up", zap.String("consumer", name), zap.Uint64("from", cu.from), zap.Uint64("until", cu.until), zap.Uint64("pending", info.NumPending))
		return true
	}
	// Paused, an assignment is taking subjects out of it (releaseCatchUp):
	// its filters may be about to lose some, whose messages it has not
	// delivered yet and which nothing left would count as pending; the
	// hand-over's point needs it to exist until it is done.
	if info.Paused {
		return true
	}
	// Done once every message it owns is settled: nothing is out, and
	// either nothing is left or it has delivered past until (what comes
	// after is the gateway consumer's, and keeps coming under load).
	cu, err := readCatchUp(info.Config)
	if err != nil {
		c.log.Error("catch-up consumer not read", zap.Error(err))
		return true
	}
	if info.NumAckPending == 0 && (info.NumPending == 0 || info.Delivered.Stream >= cu.until) {
		c.forget(stream, name)
		delete(reading, stream)
		if err := c.bus.js.DeleteConsumer(cctx, stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			c.log.Warn("delete the finished catch-up", zap.String("consumer", name), zap.Error(err))
			return true
		}
		c.log.Info("caught up", zap.String("consumer", name))
		return false
	}
	return true
}

// checkAssigned checks, on a hub whose administrator assigns, that the
// gateway's consumers exist with the filters of its agencies: a gateway
// that read other filters would quietly miss or take packets.
func (b *Bus) checkAssigned(ctx context.Context, a Assignment) error {
	hint := fmt.Sprintf("the administrator assigns them: lienthong nats setup -gateway %s -agency … [-subtree …] (every agency and subtree of its configuration)", a.Gateway)
	for _, s := range packetStreams {
		want, err := Filters(s.kind, a.Agencies, a.Subtrees)
		if err != nil {
			return fmt.Errorf("bus: consume for gateway %s: %w", a.Gateway, err)
		}
		name := GatewayConsumerName(a.Gateway, s.kind)
		cctx, cancel := b.deadline(ctx)
		jc, err := b.js.Consumer(cctx, s.stream, name)
		cancel()
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			return fmt.Errorf("%w: %s on %s for gateway %s (%s)", ErrNoConsumer, name, s.stream, a.Gateway, hint)
		case err != nil:
			return fmt.Errorf("bus: consumer %s on %s for gateway %s: %w", name, s.stream, a.Gateway, err)
		}
		have := filtersOf(jc.CachedInfo().Config)
		slices.Sort(have)
		if !slices.Equal(have, want) {
			missing := slices.DeleteFunc(slices.Clone(want), func(f string) bool { return slices.Contains(have, f) })
			extra := slices.DeleteFunc(have, func(f string) bool { return slices.Contains(want, f) })
			return fmt.Errorf("bus: consumer %s on %s is not assigned this gateway's agencies (missing %d: %v; not configured here %d: %v): %s",
				name, s.stream, len(missing), head(missing), len(extra), head(extra), hint)
		}
	}
	return nil
}

// head returns at most the first five of ss, for an error message.
func head(ss []string) []string { return ss[:min(len(ss), 5)] }

// assignSelf is Assign for a gateway starting. A catch-up running
// elsewhere (another gateway's, holding an agency this one takes) is
// waited for, within the bus's timeout, as long as this gateway has no
// consumer yet; once it has one it can start with it, and its own
// unfinished catch-up is read before it assigns again (watchCatchUp).
func (b *Bus) assignSelf(ctx context.Context, a Assignment) error {
	wctx, cancel := b.deadline(ctx)
	defer cancel()
	for {
		err := b.Assign(wctx, a)
		if !errors.Is(err, ErrCatchUpRunning) {
			return err
		}
		have := true
		for _, s := range packetStreams {
			if _, cerr := b.js.Consumer(wctx, s.stream, GatewayConsumerName(a.Gateway, s.kind)); cerr != nil {
				have = false
			}
		}
		if have {
			return err
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("bus: assign gateway %s: %w (and still after waiting: %w)", a.Gateway, err, wctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
