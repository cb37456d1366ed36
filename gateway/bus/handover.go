package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// handoverPause is how long HandOver pauses a consumer at most: if the
// process that paused it dies, the consumer goes on by itself.
const handoverPause = 30 * time.Second

// HandOver takes subjects out of the filters of the durable consumer name
// on stream at an exact point, and returns it: the first stream sequence
// the consumer will not deliver for those subjects. Every message of them
// below it was delivered to the consumer (acknowledged, or pending with it:
// a consumer keeps redelivering what it has pending, whatever its filters
// say now); every one from it on is for whoever takes the subjects next,
// through a consumer that starts there (docs/design/consumers.md, §2.6).
//
// It pauses the consumer, waits until its delivered sequence holds still,
// changes its filters, checks that nothing moved meanwhile, and resumes it.
// The consumer must keep at least one subject: with none, nats-server would
// deliver it every subject of the stream.
func (b *Bus) HandOver(ctx context.Context, stream, name string, subjects []string) (next uint64, err error) {
	return b.handOver(ctx, stream, name, subjects, nil, nil)
}

// handOver is HandOver that also adds subjects to the consumer's filters
// in the same update (a gateway whose agencies are all replaced), with
// the metadata meta makes of the consumer's (their start points), and that
// takes a consumer's last subjects: the consumer is then deleted.
//
// Either way the point is where the consumer's acknowledgements reach
// (settled): messages it had in hand when paused are first given
// handoverDrain to be acknowledged, which a running gateway does in
// milliseconds (or once a packet it nakked for later comes back). What is still unacknowledged then (its gateway is gone,
// stuck on a large packet, or no longer hosts the agency and could not
// handle it) is read again by the next holder rather than lost: a
// gateway's consumer keeps redelivering what it has pending whatever its
// filters say, and the gateway settles what it no longer hosts unhandled
// (the gate).
func (b *Bus) handOver(ctx context.Context, stream, name string, subjects, add []string, meta func(map[string]string) (map[string]string, error)) (next uint64, err error) {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	// Whether the filters were changed: a consumer found gone before
	// then was deleted with the filters it had (errGoneUnchanged).
	changed := false
	defer func() {
		if err != nil && !changed && consumerGone(err) {
			err = fmt.Errorf("%w: %w", errGoneUnchanged, err)
		}
	}()
	c, err := b.anyConsumer(ctx, stream, name)
	if err != nil {
		return 0, fmt.Errorf("bus: hand over from %s on %s: %w", name, stream, err)
	}
	cfg := c.CachedInfo().Config
	filters := filtersOf(cfg)
	kept := slices.DeleteFunc(slices.Clone(filters), func(f string) bool { return slices.Contains(subjects, f) })
	if len(kept) == len(filters) {
		return 0, fmt.Errorf("bus: hand over from %s on %s: it has none of %v", name, stream, subjects)
	}
	kept = append(kept, add...)
	if meta != nil {
		// Before the pause: metadata that cannot be read leaves the
		// consumer as it was.
		if cfg.Metadata, err = meta(cfg.Metadata); err != nil {
			return 0, fmt.Errorf("bus: hand over from %s on %s: %w", name, stream, err)
		}
	}
	if _, err := b.js.PauseConsumer(ctx, stream, name, time.Now().Add(handoverPause)); err != nil {
		return 0, fmt.Errorf("bus: hand over from %s on %s: pause: %w", name, stream, err)
	}
	// Resumed whatever happens, unless it is gone; the pause also ends
	// by itself.
	retired := false
	defer func() {
		if retired {
			return
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if _, rerr := b.js.ResumeConsumer(rctx, stream, name); rerr != nil {
			err = errors.Join(err, fmt.Errorf("bus: hand over from %s on %s: resume: %w", name, stream, rerr))
		}
	}()
	delivered, err := b.stillDelivered(ctx, c)
	if err != nil {
		return 0, fmt.Errorf("bus: hand over from %s on %s: %w", name, stream, err)
	}
	if len(kept) == 0 {
		// With no filter nats-server would deliver it every subject:
		// it goes, once what it has in hand is settled — while paused,
		// so that nothing new comes; what is nakked for later cannot
		// come back meanwhile and is read again by the next holder.
		if next, err = b.settled(ctx, stream, name, c, delivered); err != nil {
			return 0, err
		}
		retired = true
		if err := b.js.DeleteConsumer(ctx, stream, name); err != nil {
			return 0, fmt.Errorf("bus: hand over from %s on %s: delete it: %w", name, stream, err)
		}
		return next, nil
	}
	cfg.FilterSubject, cfg.FilterSubjects = "", kept
	if len(kept) == 1 {
		cfg.FilterSubject, cfg.FilterSubjects = kept[0], nil
	}
	if cfg.DeliverSubject != "" {
		_, err = b.js.UpdatePushConsumer(ctx, stream, cfg)
	} else {
		_, err = b.js.UpdateConsumer(ctx, stream, cfg)
	}
	if err != nil {
		return 0, fmt.Errorf("bus: hand over from %s on %s: update its filters: %w", name, stream, err)
	}
	changed = true
	info, err := c.Info(ctx)
	switch {
	case err != nil:
		return 0, fmt.Errorf("bus: hand over from %s on %s: %w", name, stream, err)
	case !info.Paused || info.Delivered.Stream != delivered:
		// The pause ended before the filters changed: the point is not
		// known. The caller must do it again.
		return 0, fmt.Errorf("bus: hand over from %s on %s: the consumer moved (paused %v, delivered %d, was %d)", name, stream, info.Paused, info.Delivered.Stream, delivered)
	}
	if cfg.DeliverSubject != "" {
		// A leaf node's consumer (AssignLeaf) is acknowledged by its
		// source's flow control, which nats-server asks for when the
		// consumer is idle (its heartbeat) or its window is full: under
		// traffic the ack floor lags by up to MaxAckPending messages.
		// Paused, it is idle, and nothing it delivered is ever nakked:
		// the point is where the acknowledgements reach while paused.
		return b.settled(ctx, stream, name, c, delivered)
	}
	// Resumed, it delivers nothing more of the subjects but keeps
	// redelivering what it holds of them (a packet nakked for later
	// among them): the point is where its acknowledgements reach once
	// those are settled.
	if _, err := b.js.ResumeConsumer(ctx, stream, name); err != nil {
		return 0, fmt.Errorf("bus: hand over from %s on %s: resume: %w", name, stream, err)
	}
	return b.settled(ctx, stream, name, c, delivered)
}

// errGoneUnchanged is handOver's error when the consumer was deleted by
// someone else before the hand-over changed its filters: what it had when
// deleted is what it had when the hand-over began.
var errGoneUnchanged = errors.New("bus: the consumer was deleted before its filters changed")

// consumerGone reports whether err says a consumer does not exist: looked
// up, paused or read (not found), or updated (does not exist).
func consumerGone(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDoesNotExist)
}

// consumerInfo is a consumer, pull (a gateway's) or push (a leaf node's),
// as a hand-over reads it.
type consumerInfo interface {
	Info(ctx context.Context) (*jetstream.ConsumerInfo, error)
	CachedInfo() *jetstream.ConsumerInfo
}

// anyConsumer looks up the consumer name on stream, pull or push.
func (b *Bus) anyConsumer(ctx context.Context, stream, name string) (consumerInfo, error) {
	c, err := b.js.Consumer(ctx, stream, name)
	if errors.Is(err, jetstream.ErrNotPullConsumer) {
		return b.js.PushConsumer(ctx, stream, name)
	}
	return c, err
}

// stillDelivered waits until c is paused and its delivered stream sequence
// reads the same twice, 200 ms apart, and returns it: a message already on
// its way when the pause came counts.
func (b *Bus) stillDelivered(ctx context.Context, c consumerInfo) (uint64, error) {
	var last uint64
	seen := false
	for {
		info, err := c.Info(ctx)
		if err != nil {
			return 0, err
		}
		if info.Paused {
			if seen && info.Delivered.Stream == last {
				return last, nil
			}
			last, seen = info.Delivered.Stream, true
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the pause to hold: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// handoverDrain is how long handOver waits at most for a consumer to have
// every delivered message acknowledged: twice its ack wait, within the
// pause.
func handoverDrain(ackWait time.Duration) time.Duration {
	return min(max(2*ackWait, 5*time.Second), handoverPause-5*time.Second)
}

// settled waits until the consumer name has every message it was
// delivered, up to delivered, acknowledged, and returns where the next
// holder of its subjects starts: delivered + 1. If that does not come —
// nobody reads the consumer, or not within handoverDrain — it is the ack
// floor + 1 instead: the next holder reads what was in hand again rather
// than lose it.
func (b *Bus) settled(ctx context.Context, stream, name string, c consumerInfo, delivered uint64) (uint64, error) {
	deadline := time.Now().Add(handoverDrain(c.CachedInfo().Config.AckWait))
	if d, ok := ctx.Deadline(); ok && d.Add(-time.Second).Before(deadline) {
		// Leave a second of the caller's time to change the filters.
		deadline = d.Add(-time.Second)
	}
	for {
		info, err := c.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("bus: hand over from %s on %s: %w", name, stream, err)
		}
		if info.AckFloor.Stream >= delivered || info.NumAckPending == 0 {
			return delivered + 1, nil
		}
		// Nobody reads it: no pull request waits, or, for a leaf
		// node's push consumer, no leaf is subscribed.
		idle := info.NumWaiting == 0
		if info.Config.DeliverSubject != "" {
			idle = !info.PushBound
		}
		if idle || time.Now().After(deadline) {
			// Its gateway does not settle them (none is reading it,
			// or not in time).
			b.log.Warn("hand over: the consumer left messages unacknowledged; they will be read again by the next holder",
				zap.String("consumer", name), zap.String("stream", stream), zap.Int("unacknowledged", info.NumAckPending))
			return info.AckFloor.Stream + 1, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("bus: hand over from %s on %s: waiting for its acknowledgements: %w", name, stream, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// catchUpRelease is what an assignment that only takes subjects away from
// a gateway takes out of the gateway's running catch-up consumer: the
// catch-up's subjects the gateway is no longer assigned, and for each the
// point from which its next holder is to read what the catch-up owed the
// gateway.
type catchUpRelease struct {
	name  string
	state catchUp
	taken []string
	// points are, by subject of taken, the first sequence of it the
	// gateway may not have handled: provisional (newCatchUpRelease),
	// then exact once the catch-up let the subjects go (releaseCatchUp).
	points map[string]uint64
}

// newCatchUpRelease reads the catch-up consumer c of a gateway whose
// gateway consumer is to let the subjects removed go, and what is to be
// taken out of it — those of them it reads — with provisional points:
// the catch-up's ack floor + 1, never below the subject's own start in it.
// While the gateway consumer still has a subject, the gateway acknowledges
// none of the catch-up's messages of it unhandled (its gate naks what it
// does not host but is assigned), so each message of it at or below the
// floor was handled — or is another consumer's, below the subject's start.
// Nothing is lost from the point; what the gateway acknowledged above the
// floor (messages after one it nakked) is read again by the next holder,
// a duplicate at another gateway that a point cannot avoid.
func newCatchUpRelease(c jetstream.Consumer, removed []string) (*catchUpRelease, error) {
	info := c.CachedInfo()
	state, err := readCatchUp(info.Config)
	if err != nil {
		return nil, err
	}
	r := &catchUpRelease{name: info.Name, state: state, points: map[string]uint64{}}
	for _, f := range filtersOf(info.Config) {
		if slices.Contains(removed, f) {
			r.taken = append(r.taken, f)
			r.points[f] = max(info.AckFloor.Stream+1, state.startOf(f))
			continue
		}
		// The catch-up's filters are some of the gateway consumer's,
		// which do not overlap: a filter of it over or under a removed
		// one would keep part of what is let go, from a point not
		// known.
		if i := slices.IndexFunc(removed, func(g string) bool { return overlaps(f, g) }); i >= 0 {
			return nil, fmt.Errorf("%w: %s catches up on %s, which overlaps %s, taken from the gateway", ErrCatchUpRunning, info.Name, f, removed[i])
		}
	}
	return r, nil
}

// point returns where the next holder of subject f is to start, given p,
// the point the gateway consumer's hand-over of f gives. A nil release,
// or a subject the catch-up did not read, leaves p as it is.
//
// The catch-up owns f's messages from f's start up to until; the gateway
// consumer those from where it stood when it was given f (at most
// until+1, docs/design/consumers.md §2.5) up to p − 1, and had them all
// acknowledged. So:
//
//   - if the catch-up has not had all of its own acknowledged, the next
//     holder starts at its point (the first message it may not have
//     had acknowledged): everything of f below it was handled through
//     the catch-up. Not at p if p is lower: what p would add is what
//     the catch-up handled, read again at another gateway, which cannot
//     tell it from a new packet;
//   - if it has, it is done: the gateway consumer's p, never below
//     until+1 (a gateway consumer that never delivered, its gateway
//     down, gives the point where it was made).
//
// Either way the point is no later than any message of f the gateway did
// not acknowledge, and the next holder reads again only what the gateway
// acknowledged above it.
func (r *catchUpRelease) point(f string, p uint64) uint64 {
	if r == nil {
		return p
	}
	q, ok := r.points[f]
	switch {
	case !ok:
		return p
	case q > r.state.until:
		return max(p, r.state.until+1)
	}
	return q
}

// releaseCatchUp takes r's subjects out of the catch-up consumer's filters
// as handOver takes subjects out of a gateway consumer — paused around the
// change, so that nothing is delivered while its filters change, and the
// point where the gateway's acknowledgements reach — and sets r's points
// to it, never below each subject's start in the catch-up. The start
// points of its metadata are rewritten for the subjects left (lt.until
// stays: what is above it is still the gateway consumer's); a catch-up
// left with none is deleted.
//
// It must run while the gateway consumer still has the subjects, for the
// reason newCatchUpRelease gives: once it has let them go, the gateway
// acknowledges unhandled what the catch-up still redelivers of them (the
// gate: handed over), and the point is to be below that already.
func (b *Bus) releaseCatchUp(ctx context.Context, stream string, r *catchUpRelease) error {
	if r == nil || len(r.taken) == 0 {
		return nil
	}
	// Its start is not changed by an update, so the points kept are
	// those above it, as catchUpConsumerConfig writes them.
	meta := func(old map[string]string) (map[string]string, error) {
		above := maps.Clone(r.state.starts)
		for _, f := range r.taken {
			delete(above, f)
		}
		return withStarts(old, above)
	}
	next, err := b.handOver(ctx, stream, r.name, r.taken, nil, meta)
	switch {
	case errors.Is(err, errGoneUnchanged):
		// Its gateway deleted it meanwhile, finished (stepCatchUp:
		// nothing left to deliver of the filters it had, all of them,
		// and nothing unacknowledged), which it checked before the
		// hand-over changed anything: every message it owned of the
		// subjects was handled, and their points are past until.
		for _, f := range r.taken {
			r.points[f] = max(r.state.until+1, r.state.startOf(f))
		}
		b.log.Info("the catch-up finished while its subjects were taken out of it", zap.String("consumer", r.name), zap.String("stream", stream), zap.Strings("subjects", r.taken))
		return nil
	case err != nil:
		return fmt.Errorf("take %v out of the catch-up: %w", r.taken, err)
	}
	for _, f := range r.taken {
		r.points[f] = max(next, r.state.startOf(f))
	}
	b.log.Info("subjects taken out of a catch-up: the gateway no longer has them", zap.String("consumer", r.name), zap.String("stream", stream), zap.Strings("subjects", r.taken))
	return nil
}
