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
// A request is admitted before its body is read: its weight is its
// declared length (Content-Length), or MaxPacketSize when it declares
// none, and the bodies admitted at once never weigh more than
// AdmissionBytes, so that two packets of the largest size may be read and
// signed at once but not twenty.

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

// BusyError refuses a request for now: nothing of it was read or kept,
// and the same request may be sent again after RetryAfter.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v: try again in %s", ErrBusy, e.RetryAfter)
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// admission is a first-come, first-served semaphore of slots and bytes,
// with a bounded queue whose members wait a bounded time.
type admission struct {
	wait       time.Duration
	retryAfter time.Duration
	maxWeight  int64 // a request's weight at most (and when unknown)
	maxQueue   int

	mu    sync.Mutex
	slots int   // free
	bytes int64 // free
	queue []*admissionWaiter
}

type admissionWaiter struct {
	weight int64
	ready  chan struct{} // closed when admitted
}

func newAdmission(slots int, bytes, maxWeight int64, wait, retryAfter time.Duration) *admission {
	return &admission{
		wait: wait, retryAfter: retryAfter, maxWeight: maxWeight,
		// As many may wait as may work: a request that finds more
		// waiting would not have its turn within the wait anyway.
		maxQueue: slots,
		slots:    slots, bytes: bytes,
	}
}

// weightOf is what a request declaring length bytes (-1: unknown) weighs.
func (a *admission) weightOf(length int64) int64 {
	if length < 0 || length > a.maxWeight {
		return a.maxWeight
	}
	return length
}

// acquire waits for a slot and weight bytes, at most a.wait, and returns
// the function that gives them back (once, whatever the calls).
func (a *admission) acquire(ctx context.Context, weight int64) (func(), error) {
	a.mu.Lock()
	if len(a.queue) == 0 && a.fits(weight) {
		a.take(weight)
		a.mu.Unlock()
		return a.releaser(weight), nil
	}
	if len(a.queue) >= a.maxQueue {
		a.mu.Unlock()
		return nil, &BusyError{RetryAfter: a.retryAfter}
	}
	w := &admissionWaiter{weight: weight, ready: make(chan struct{})}
	a.queue = append(a.queue, w)
	a.mu.Unlock()

	t := time.NewTimer(a.wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return a.releaser(weight), nil
	case <-t.C:
		err = &BusyError{RetryAfter: a.retryAfter}
	case <-ctx.Done():
		err = ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.ready:
		// Admitted while the time ran out: give it back.
		a.give(weight)
	default:
		for i, q := range a.queue {
			if q == w {
				a.queue = append(a.queue[:i], a.queue[i+1:]...)
				break
			}
		}
		// The head may have been waiting for bytes those behind it
		// need fewer of.
		a.admitQueued()
	}
	return nil, err
}

func (a *admission) fits(weight int64) bool { return a.slots > 0 && a.bytes >= weight }

func (a *admission) take(weight int64) { a.slots--; a.bytes -= weight }

// give returns a slot and weight bytes and admits who waits for them;
// a.mu is held.
func (a *admission) give(weight int64) {
	a.slots++
	a.bytes += weight
	a.admitQueued()
}

// admitQueued admits the waiting requests in their order while they fit;
// a.mu is held.
func (a *admission) admitQueued() {
	for len(a.queue) > 0 && a.fits(a.queue[0].weight) {
		w := a.queue[0]
		a.queue = a.queue[1:]
		a.take(w.weight)
		close(w.ready)
	}
}

func (a *admission) releaser(weight int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.give(weight)
			a.mu.Unlock()
		})
	}
}

// Admit waits for the turn of a request from a DMS that makes the gateway
// sign or verify: a document submitted or a status posted, whose body
// declares length bytes (-1 if it does not say). It returns the function
// to call when the request is done, or a *BusyError (nothing read, send
// it again later) if its turn does not come within the wait, or ctx's
// error. Call it before reading the body.
func (g *Gateway) Admit(ctx context.Context, length int64) (release func(), err error) {
	if g.isClosed() {
		return nil, ErrClosed
	}
	release, err = g.admission.acquire(ctx, g.admission.weightOf(length))
	if errors.Is(err, ErrBusy) {
		g.obs.Submitted(SubmitBusy)
	}
	return release, err
}
