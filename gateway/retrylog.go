package gateway

import (
	"sync"
	"time"
)

// loudAttempt says whether the failure of an outbox item's attempt (1 for
// its first) is logged as a warning: the first, then attempts 2, 4, 8 …
// An item failing as long as an outage lasts (NATS away for an hour is
// some 20 retries of each queued item) writes a line at each doubling of
// its attempts rather than at each retry; the other failures are logged
// at Debug, counted by the metrics, and summed up by publishFailureLog.
func loudAttempt(attempt int) bool {
	return attempt > 0 && attempt&(attempt-1) == 0
}

// publishFailureWarnEvery is how often at most a gateway sums up the
// publish failures it did not warn of one by one.
const publishFailureWarnEvery = time.Minute

// publishFailureLog throttles the warning that sums up the publish
// failures not warned of one by one (loudAttempt). The first of them is
// told at once, so that an operator sees that some are left out; those of
// the following publishFailureWarnEvery are only counted, and the first
// after it tells their number. The log stays at a line a minute however
// many items the outbox holds, beside each item's doublings.
type publishFailureLog struct {
	mu     sync.Mutex
	warned time.Time // when the last summary was written
	n      int       // failures since, not told yet
}

// note counts n failures at now and reports whether to warn, and of how
// many failures (these included).
func (l *publishFailureLog) note(now time.Time, n int) (total int, warn bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += n
	if !l.warned.IsZero() && now.Sub(l.warned) < publishFailureWarnEvery {
		return 0, false
	}
	total, l.n, l.warned = l.n, 0, now
	return total, true
}

// retryJitter takes up to a fifth off d, the delay before item's next
// attempt, so that the items that failed together (all of them, when NATS
// went away) do not all come due at the same instant again, as one burst
// for the bus and the store. It only shortens d: MaxRetryDelay stays the
// longest wait. The fraction is a hash of the item's id and attempts
// rather than random: different across items and across an item's
// retries, and the same in every run, so that tests can tell the delay.
func retryJitter(d time.Duration, item OutboxItem) time.Duration {
	// splitmix64's finaliser: every bit of the id and the attempts moves
	// about half the bits of the result.
	x := uint64(item.ID)*0x9e3779b97f4a7c15 + uint64(item.Attempts)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	frac := float64(x>>11) / (1 << 53) // in [0, 1)
	return d - time.Duration(frac*float64(d/5))
}
