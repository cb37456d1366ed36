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
