package gateway

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// dispatchBatch is how many outbox items one pass takes.
const dispatchBatch = 128

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

// dispatchOnce publishes one batch of due items and returns how many it
// took.
func (g *Gateway) dispatchOnce(ctx context.Context) int {
	items, err := g.store.DueOutbox(ctx, g.opts.Now(), dispatchBatch)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Error("read the outbox", zap.Error(err))
		}
		return 0
	}
	for _, item := range items {
		if ctx.Err() != nil {
			break
		}
		g.dispatch(ctx, item)
	}
	return len(items)
}

// dispatch publishes one item, then marks it sent or postpones it.
func (g *Gateway) dispatch(ctx context.Context, item OutboxItem) {
	log := g.log.With(zap.String("document", item.Document), zap.String("recipient", item.Recipient),
		zap.String("kind", string(item.Kind)), zap.String("packet", item.PacketID))
	err := g.publish(ctx, item)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the item stays due
		}
		delay := g.retryDelay(item.Attempts)
		log.Warn("publish failed; will retry", zap.Error(err), zap.Int("attempt", item.Attempts+1), zap.Duration("retryIn", delay))
		if perr := g.store.Postpone(ctx, item.ID, g.opts.Now().Add(delay), err.Error()); perr != nil {
			log.Error("postpone the outbox item", zap.Error(perr))
		}
		return
	}
	if err := g.store.MarkSent(ctx, item, g.opts.Now()); err != nil && !errors.Is(err, ErrNotFound) {
		// Published but not marked: it will be published again, and the
		// duplicate window absorbs it.
		log.Error("mark the outbox item sent", zap.Error(err))
		return
	}
	log.Debug("sent")
}

func (g *Gateway) publish(ctx context.Context, item OutboxItem) error {
	p, err := g.store.Packet(ctx, item.PacketID)
	if err != nil {
		return err
	}
	subject, err := SubjectFor(item.Kind, item.Recipient)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(len(p.Data)>>20)*time.Second)
	defer cancel()
	_, err = g.bus.Publish(pctx, Publication{Subject: subject, MsgID: item.MsgID(), Packet: p.Data})
	return err
}

// retryDelay is the backoff after attempts failed publishes: 1 s, 2 s,
// 4 s … capped at MaxRetryDelay.
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
