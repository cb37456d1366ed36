package gateway

import (
	"context"
	"time"
)

// DispatchOnceForTest runs one pass of the outbox dispatcher
// (dispatchOnce) and returns how many items it took. On a gateway not
// opened nothing else dispatches: the test decides when each pass runs.
func (g *Gateway) DispatchOnceForTest(ctx context.Context) int { return g.dispatchOnce(ctx) }

// RetryDelayForTest is the back-off after attempts failed publishes
// (retryDelay).
func (g *Gateway) RetryDelayForTest(attempts int) time.Duration { return g.retryDelay(attempts) }

// HandleForTest hands m to the receiver (handle) as the consumer does,
// and returns once it is handled.
func (g *Gateway) HandleForTest(ctx context.Context, m Message) { g.handle(ctx, m) }

// RetryJitterForTest is the delay the dispatcher postpones item by when
// the back-off says d (retryJitter): item as the dispatcher took it, its
// attempts before the failure.
func RetryJitterForTest(d time.Duration, item OutboxItem) time.Duration { return retryJitter(d, item) }
