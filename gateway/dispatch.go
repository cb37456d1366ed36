package gateway

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// dispatchBatch is how many outbox items one pass takes, and
// dispatchParallel how many of them are published at once.
const (
	dispatchBatch    = 128
	dispatchParallel = 32
	// publishTimeout bounds one publish of a small packet.
	publishTimeout = 5 * time.Second
)

// dispatchLoop publishes due outbox items: when woken after an accept, and
// every DispatchInterval for retries and for what a crash left behind.
func (g *Gateway) dispatchLoop(ctx context.Context) {
	defer g.wg.Done()
	t := time.NewTicker(g.opts.DispatchInterval)
	defer t.Stop()
	for {
		for ctx.Err() == nil && g.dispatchOnce(ctx) == dispatchBatch {
			// A full batch: there may be more right away.
		}
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-t.C:
		}
	}
}

// dispatchOnce publishes one batch of due items, up to dispatchParallel at
// a time, marks those JetStream acknowledged as sent in one transaction and
// postpones the others. It returns how many items it took.
func (g *Gateway) dispatchOnce(ctx context.Context) int {
	items, err := g.store.DueOutbox(ctx, g.opts.Now(), dispatchBatch)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Error("read the outbox", zap.Error(err))
		}
		return 0
	}
	if len(items) == 0 {
		return 0
	}
	errs := make([]error, len(items))
	sem := make(chan struct{}, dispatchParallel)
	var wg sync.WaitGroup
	packets := &packetCache{store: g.store, fresh: g.fresh, loaded: make(map[string]*cachedPacket)}
	for i, item := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = g.publish(ctx, item, packets)
		}()
	}
	wg.Wait()
	var sent []OutboxItem
	quiet := 0 // failures logged at Debug only
	var lastErr error
	for i, item := range items {
		if errs[i] == nil {
			sent = append(sent, item)
			g.obs.Published(item.Kind, item.Recipient, nil)
			continue
		}
		if ctx.Err() != nil {
			continue // shutting down: the item stays due
		}
		g.obs.Published(item.Kind, item.Recipient, errs[i])
		log := g.itemLogger(item)
		delay := retryJitter(g.retryDelay(item.Attempts), item)
		attempt := item.Attempts + 1
		fields := []zap.Field{zap.Error(errs[i]), zap.Int("attempt", attempt), zap.Duration("retryIn", delay)}
		if loudAttempt(attempt) {
			log.Warn("publish failed; will retry", fields...)
		} else {
			log.Debug("publish failed; will retry", fields...)
			quiet++
			lastErr = errs[i]
		}
		if err := g.store.Postpone(ctx, item.ID, g.opts.Now().Add(delay), errs[i].Error()); err != nil {
			log.Error("postpone the outbox item", zap.Error(err))
		}
	}
	if quiet > 0 {
		if n, warn := g.publishFailures.note(g.opts.Now(), quiet); warn {
			g.log.Warn("publishes failed and will be retried; each item's failures are logged at its attempts 1, 2, 4, 8 …, the others at debug",
				zap.Int("failures", n), zap.Duration("summaryEvery", publishFailureWarnEvery), zap.NamedError("last", lastErr))
		}
	}
	if len(sent) > 0 {
		// Even when shutting down: what was published should be recorded.
		if _, err := g.store.MarkSent(context.WithoutCancel(ctx), sent, g.opts.Now()); err != nil {
			// Published but not marked: they will be published again,
			// and the duplicate window absorbs it.
			g.log.Error("mark outbox items sent", zap.Int("items", len(sent)), zap.Error(err))
		} else {
			g.notifySent(context.WithoutCancel(ctx), sent)
		}
		for _, item := range sent {
			g.itemLogger(item).Debug("sent")
		}
	}
	return len(items)
}

func (g *Gateway) itemLogger(item OutboxItem) *zap.Logger {
	return g.log.With(zap.String("document", item.Document), zap.String("recipient", item.Recipient),
		zap.String("kind", string(item.Kind)), zap.String("packet", item.PacketID))
}

// packetCache reads each packet of a batch once, however many recipients
// it goes to: a 67 MB document to five agencies is read, and held, once;
// and not at all if it was just stored (fresh).
type packetCache struct {
	store  Store
	fresh  *freshPackets
	mu     sync.Mutex
	loaded map[string]*cachedPacket
}

type cachedPacket struct {
	once sync.Once
	p    *Packet
	err  error
}

func (c *packetCache) get(ctx context.Context, id string) (*Packet, error) {
	c.mu.Lock()
	e, ok := c.loaded[id]
	if !ok {
		e = &cachedPacket{}
		c.loaded[id] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		if data, ok := c.fresh.take(id); ok {
			// What publish reads: the bytes (not their kind or digest).
			e.p = &Packet{ID: id, Size: int64(len(data)), Data: data}
			return
		}
		e.p, e.err = c.store.Packet(ctx, id)
	})
	return e.p, e.err
}

func (g *Gateway) publish(ctx context.Context, item OutboxItem, packets *packetCache) error {
	p, err := packets.get(ctx, item.PacketID)
	if err != nil {
		return err
	}
	subject, err := SubjectFor(item.Kind, item.Recipient)
	if err != nil {
		return err
	}
	// A short deadline: while NATS is away a publish should fail fast and
	// be retried, not hold the whole batch; large packets get a second per
	// MiB for its chunks.
	pctx, cancel := context.WithTimeout(ctx, publishTimeout+time.Duration(len(p.Data)>>20)*time.Second)
	defer cancel()
	_, err = g.bus.Publish(pctx, Publication{Subject: subject, MsgID: item.MsgID(), Packet: p.Data})
	return err
}

// retryDelay is the backoff after attempts failed publishes: 1 s, 2 s,
// 4 s … capped at MaxRetryDelay. dispatchOnce takes up to a fifth off it
// (retryJitter).
func (g *Gateway) retryDelay(attempts int) time.Duration {
	if attempts > 20 {
		return g.opts.MaxRetryDelay
	}
	d := time.Second << attempts
	if d > g.opts.MaxRetryDelay {
		d = g.opts.MaxRetryDelay
	}
	return d
}
