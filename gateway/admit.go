package gateway

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Admission bounds what DMSs make the gateway do at once: documents
// submitted and statuses posted, each a signature, a verification or both
// and a commit. Without a bound every request in flight shares the cores
// with every other, so that under load all of them take longer and
// longer, the packets received wait behind them, and each one holds its
// body in memory (up to MaxPacketSize): a few hundred DMSs posting at
// once would queue without limit and could exhaust the memory. With it, a
// few are worked on at once, a few more wait their turn briefly, and the
// others are told at once to try again later (ErrBusy: HTTP 503 with
// Retry-After in API v1, code 99 in the national axis's protocol), which
// every DMS already does for a gateway that is down.
//
// A request is admitted twice. Before its body is read, for the memory
// the body will take (AdmitBody): its weight is its declared length
// (Content-Length), or the route's limit when it declares none, and the
// bodies admitted at once never weigh more than two packets of the largest
// size. Once it is read, for a turn to be worked on (AdmitWork): so that
// a slow upload, or a connection that declares a length and sends
// nothing, never holds a turn of the cores. The HTTP faces also cut a body
// that stops arriving (BodyIdleTimeout). And no one caller (an API key, a
// VXP system) may hold more than half of the bodies' memory, so that one
// DMS, slow, stuck or hostile, cannot keep the others out; a turn, taken
// once the body is read, is only the work of the cores, short and the
// same for all.

// Defaults of the admission (Options).
const (
	// DefaultSubmissionWait is how long a request may wait for its turn.
	// Short: a request that waits longer only adds to the time of those
	// accepted, and the DMS retries it anyway.
	DefaultSubmissionWait = 100 * time.Millisecond
	// DefaultRetryAfter is what a refused DMS is told to wait.
	DefaultRetryAfter = time.Second
)

// DefaultSubmissions is the number of submissions worked on at once, by
// default: four per core. Each is signing (a core's work) or waiting for
// its commit (the disk's): more than a few per core would only share the
// cores thinner, fewer would leave a core idle while the others wait for
// the disk.
func DefaultSubmissions() int { return 4 * runtime.GOMAXPROCS(0) }

// ErrBusy is the cause of every BusyError: the gateway is working on as
// many requests as it takes at once and as many are waiting.
var ErrBusy = errors.New("gateway: busy")

// BusyError refuses a request for now: nothing of it was kept,
// and the same request may be sent again after RetryAfter.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v: try again in %s", ErrBusy, e.RetryAfter)
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// newTurns is the admission of AdmitWork: submissions turns, as many may
// wait (a request that finds more waiting would not have its turn within
// the wait anyway), and no cap per caller: a turn is the cores' work,
// short, and a gateway often serves one DMS.
func newTurns(submissions int, wait time.Duration) *semaphore {
	return newSemaphore(int64(submissions), int64(2*submissions), submissions, wait, DefaultRetryAfter)
}

// newBodies is the admission of AdmitBody: two packets of the largest
// size at once, read and signed, so that one does not keep out every
// other document; one caller at most one of the largest; as many may
// wait as there are turns. (serve's automatic memory limit is sized for
// one: with two at once the collector works harder, the limit being soft;
// docs/design/large-packets.md is the way to less.)
func newBodies(maxPacketSize int64, submissions int, wait time.Duration) *semaphore {
	return newSemaphore(2*maxPacketSize, maxPacketSize, submissions, wait, DefaultRetryAfter)
}

// semaphore is a first-come, first-served semaphore of a capacity (slots
// of weight 1, or bytes) with a bounded queue whose members wait a
// bounded time, and a cap on what one caller holds.
type semaphore struct {
	wait       time.Duration
	retryAfter time.Duration
	maxQueue   int
	callerCap  int64 // what one caller may hold at once

	mu    sync.Mutex
	free  int64
	queue []*semWaiter
	held  map[string]int64 // by caller, while it holds some
}

type semWaiter struct {
	weight int64
	ready  chan struct{} // closed when admitted
}

func newSemaphore(capacity, callerCap int64, maxQueue int, wait, retryAfter time.Duration) *semaphore {
	return &semaphore{
		wait: wait, retryAfter: retryAfter, maxQueue: maxQueue, callerCap: callerCap,
		free: capacity, held: make(map[string]int64),
	}
}

// acquire waits for weight, at most s.wait, and returns the function that
// gives it back (once, whatever the calls). A caller that would hold more
// than its cap is refused at once: waiting would not help it.
func (s *semaphore) acquire(ctx context.Context, caller string, weight int64) (func(), error) {
	s.mu.Lock()
	if s.held[caller]+weight > s.callerCap {
		s.mu.Unlock()
		return nil, &BusyError{RetryAfter: s.retryAfter}
	}
	if len(s.queue) == 0 && s.free >= weight {
		s.take(caller, weight)
		s.mu.Unlock()
		return s.releaser(caller, weight), nil
	}
	if len(s.queue) >= s.maxQueue {
		s.mu.Unlock()
		return nil, &BusyError{RetryAfter: s.retryAfter}
	}
	w := &semWaiter{weight: weight, ready: make(chan struct{})}
	s.queue = append(s.queue, w)
	// Counted as held while it waits, so that one caller cannot fill the
	// queue either.
	s.held[caller] += weight
	s.mu.Unlock()

	t := time.NewTimer(s.wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return s.releaser(caller, weight), nil
	case <-t.C:
		err = &BusyError{RetryAfter: s.retryAfter}
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.ready:
		// Admitted while the time ran out: give it back.
		s.give(caller, weight)
	default:
		s.forget(caller, weight)
		for i, q := range s.queue {
			if q == w {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		// The head may have been waiting for more than those behind
		// it need.
		s.admitQueued()
	}
	return nil, err
}

// take takes weight from what is free for caller, who did not wait; s.mu
// is held.
func (s *semaphore) take(caller string, weight int64) {
	s.free -= weight
	s.held[caller] += weight
}

// give returns weight that caller held and admits who waits for it; s.mu
// is held.
func (s *semaphore) give(caller string, weight int64) {
	s.free += weight
	s.forget(caller, weight)
	s.admitQueued()
}

func (s *semaphore) forget(caller string, weight int64) {
	if s.held[caller] -= weight; s.held[caller] <= 0 {
		delete(s.held, caller)
	}
}

// admitQueued admits the waiting requests in their order while they fit
// (their callers' holds were counted when they queued); s.mu is held.
func (s *semaphore) admitQueued() {
	for len(s.queue) > 0 && s.free >= s.queue[0].weight {
		w := s.queue[0]
		s.queue = s.queue[1:]
		s.free -= w.weight
		close(w.ready)
	}
}

func (s *semaphore) releaser(caller string, weight int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.give(caller, weight)
			s.mu.Unlock()
		})
	}
}

// AdmitBody waits for the memory of a request's body, before it is read:
// a document submitted or a status posted by a DMS (caller names it: an
// API key, a VXP system), whose body declares length bytes (-1 if it does
// not say) and may not be longer than limit. It returns the function to
// call once the request is done, or a *BusyError (nothing read: send it
// again later) if its turn does not come within the wait, or ctx's error.
// kind is what the request is, if known before its body is read ("" if
// not): a document refused is counted (SubmitBusy).
func (g *Gateway) AdmitBody(ctx context.Context, caller string, kind PacketKind, length, limit int64) (release func(), err error) {
	if g.isClosed() {
		return nil, ErrClosed
	}
	weight := min(limit, g.opts.MaxPacketSize)
	if length >= 0 && length < weight {
		weight = length
	}
	release, err = g.bodies.acquire(ctx, caller, weight)
	g.countBusy(kind, err)
	return release, err
}

// AdmitWork waits for a turn of the gateway to work on a request whose
// body is read (AdmitBody): to sign, verify and commit it. It returns as
// AdmitBody does.
func (g *Gateway) AdmitWork(ctx context.Context, caller string, kind PacketKind) (release func(), err error) {
	if g.isClosed() {
		return nil, ErrClosed
	}
	release, err = g.turns.acquire(ctx, caller, 1)
	g.countBusy(kind, err)
	return release, err
}

// countBusy counts a document refused as busy.
func (g *Gateway) countBusy(kind PacketKind, err error) {
	if kind == KindEdoc && errors.Is(err, ErrBusy) {
		g.obs.Submitted(SubmitBusy)
	}
}
