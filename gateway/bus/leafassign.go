package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// This file holds the hub's side of a province's leaf node
// (docs/design/consumers.md, §2.8): one durable push consumer per hub
// stream (leaf_<kind>_<domain>) is the source of the leaf's stream of the
// same name, filtered to the leaf's agencies and subtrees by the
// administrator, so that the hub's consumers grow with leaf nodes, not
// with their agencies; a short-lived catch-up consumer
// (leafu_<kind>_<domain>) reads from their start points what waited for
// agencies just given to the leaf.

// leafMaxAckPending bounds what the hub's consumer of a leaf node has sent
// and the leaf has not yet confirmed through flow control.
const leafMaxAckPending = 1000

// leafConsumerConfig is a leaf node's durable consumer on one hub stream,
// as nats-server requires of a consumer a stream sources by name
// (checkConsumerCfg, for AckFlowControl): a push consumer to the leaf's
// delivery subject, acknowledged by the sourcing stream's flow control,
// with an idle heartbeat of exactly one second, a positive MaxAckPending,
// no ack wait and no delivery limit. It starts with what arrives from its
// creation on: what waited before is read by a catch-up.
func leafConsumerConfig(name, what, deliver string, filters []string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Name:           name,
		Durable:        name,
		Description:    what,
		DeliverSubject: deliver,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckFlowControlPolicy,
		FlowControl:    true,
		IdleHeartbeat:  time.Second,
		MaxAckPending:  leafMaxAckPending,
		FilterSubjects: slices.Clone(filters),
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
	}
}

// LeafAssignment is what a province's leaf node is to source from the
// hub: the agencies its gateways host and the subtrees delegated to them.
type LeafAssignment struct {
	// Domain is the leaf node's JetStream domain.
	Domain   string
	Agencies []envelope.AgencyCode
	Subtrees []envelope.AgencyCode
	// Wait is how long AssignLeaf waits for a catch-up it made to be
	// read before it returns; the catch-up is then removed. 0 returns at
	// once, the catch-up left to the next AssignLeaf to remove; a catch-up
	// still being read when Wait ends is ErrLeafCatchUpUnfinished.
	Wait time.Duration
}

// AssignLeaf makes the hub's durable consumers of the leaf node a.Domain
// (LeafConsumerName) read a's agencies and subtrees, on both streams, and
// the leaf node's streams source the hub's through them (as the leaf's
// gateways do on their own, sourceFromHub), so that the hub has two
// consumers per leaf node whatever the number of its agencies
// (docs/design/consumers.md, §2.8):
//
//   - the consumer is created (from now on) or its filters updated; left
//     alone when they are already those of a. Given a previous holder's
//     subject, it must deliver nothing of it below that holder's point,
//     whatever the leaf resets it to: while it has read the stream only
//     to below the point (a quiet leaf), or was made by start sequence
//     below it (the leaf may reset it to any sequence from its start), it
//     is made again from max(point, read+1) (remakeLeafConsumer);
//     otherwise its filters change while it is paused with the leaf
//     having confirmed it up to the point - 1 (settleLeafConsumer: a reset
//     with no sequence starts at its ack floor + 1). Else ErrLeafBehind;
//   - a subject another gateway's or leaf node's consumer has is handed
//     over from it first (takeForLeaf), at an exact point, as Assign does
//     between gateways; one it has under another filter (a subtree), one
//     a catch-up reads (ErrCatchUpRunning), and one a per-agency consumer
//     of the version before still reads are refused;
//   - a subject taken out of its filters keeps its point there, exact as
//     a gateway's (HandOver);
//   - subjects taken from other holders and others taken away in one
//     assignment are refused before anything is taken
//     (ErrLeafTakeAndRemove); a refusal once subjects were taken (the
//     consumer behind their point: ErrLeafBehind, ErrMixedStarts) names
//     them: they are held by nobody until assigned again;
//   - a subject added is read from its start point up to the stream's
//     last sequence once the consumer has it, by a catch-up consumer
//     (LeafCatchUpConsumerName), which the leaf's streams source too
//     while it runs. A durable source cannot skip per subject, so the
//     catch-up has one start: the lowest point. A point kept by a
//     previous holder must be that start (ErrMixedStarts otherwise), or
//     the leaf would be given again what that holder had. Other points —
//     the last hub sequence the leaf's stream holds of the subject (its
//     per-agency source of the version before, replaced here), else the
//     hub's first message of it — may be above it: what comes again is
//     the leaf's own, dropped by its stream's duplicate window or its
//     gateway's store;
//   - the per-agency sources of the version before are removed from the
//     leaf's streams in the same update that adds the durable ones.
//
// The leaf node's link must be up: its streams are updated through its
// JetStream domain. Once they are, it waits a few seconds for their sources
// of the hub's streams to be heard from: ErrLeafSourceInactive otherwise
// (the assignment is made; the same command again checks again).
func (b *Bus) AssignLeaf(ctx context.Context, a LeafAssignment) error {
	if err := CheckID(a.Domain); err != nil {
		return fmt.Errorf("bus: assign leaf node: domain %w", err)
	}
	hubDomain := b.opts.Domain
	if hubDomain == "" {
		// The administrator's configuration need not name it: the
		// server knows.
		info, err := b.js.AccountInfo(ctx)
		if err != nil {
			return fmt.Errorf("bus: assign leaf node %s: the hub's JetStream domain: %w", a.Domain, err)
		}
		hubDomain = info.Domain
	}
	switch {
	case hubDomain == "":
		return fmt.Errorf("%w: assign leaf node %s: the hub has no JetStream domain for the leaf's sources to name", ErrInvalidOption, a.Domain)
	case a.Domain == hubDomain:
		return fmt.Errorf("%w: assign leaf node %s: it is the hub's domain", ErrInvalidOption, a.Domain)
	}
	kv, err := b.handoverBucket(ctx)
	if err != nil {
		return err
	}
	leaf, err := jetstream.NewWithDomain(b.nc, a.Domain)
	if err != nil {
		return fmt.Errorf("bus: assign leaf node %s: %w", a.Domain, err)
	}
	// Another leaf node's remake left half-done refuses the assignment on
	// both streams before either is changed; each checks again under its
	// lock.
	for _, s := range packetStreams {
		want, err := Filters(s.kind, a.Agencies, a.Subtrees)
		if err != nil {
			return fmt.Errorf("bus: assign leaf node %s: %w", a.Domain, err)
		}
		name := LeafConsumerName(a.Domain, s.kind)
		added, err := b.addedTo(ctx, s.stream, name, true, want)
		if err != nil {
			return fmt.Errorf("bus: assign leaf node %s: %w", a.Domain, err)
		}
		if err := b.refuseLeafRemakes(ctx, kv, s.stream, name, added); err != nil {
			return fmt.Errorf("bus: assign leaf node %s: %w", a.Domain, err)
		}
	}
	// A leaf out of reach on one stream is assigned on neither; a remake
	// left half-done is still finished at the hub on each (each stream's
	// record holds back others' assignments of its subjects).
	var unreached error
	for _, s := range packetStreams {
		want, err := Filters(s.kind, a.Agencies, a.Subtrees)
		if err != nil {
			return fmt.Errorf("bus: assign leaf node %s: %w", a.Domain, err)
		}
		if unreached != nil {
			if err := b.finishRemakeUnreached(ctx, kv, s.stream, s.kind, hubDomain, a.Domain, want); err != nil {
				unreached = errors.Join(unreached, fmt.Errorf("bus: assign leaf node %s on %s: %w", a.Domain, s.stream, err))
			}
			continue
		}
		err = b.assignLeaf(ctx, kv, leaf, s.stream, s.kind, hubDomain, a.Domain, want)
		switch {
		case errors.Is(err, errLeafUnreached):
			unreached = fmt.Errorf("bus: assign leaf node %s on %s: %w", a.Domain, s.stream, err)
		case err != nil:
			return fmt.Errorf("bus: assign leaf node %s on %s: %w", a.Domain, s.stream, err)
		}
	}
	if unreached != nil {
		return unreached
	}
	// The leaf's sources of the hub's streams, heard from: a source that
	// stalls does so silently.
	for _, s := range packetStreams {
		if err := checkLinkSources(ctx, leaf, "the leaf node's", s.stream, s.stream, hubDomain); err != nil {
			return fmt.Errorf("bus: assign leaf node %s: %w", a.Domain, err)
		}
	}
	if a.Wait <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, a.Wait)
	defer cancel()
	for _, s := range packetStreams {
		for {
			running, err := b.endLeafCatchUpLocked(wctx, kv, leaf, s.stream, s.kind, hubDomain, a.Domain)
			if err != nil {
				if wctx.Err() != nil && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) {
					// The wait ended, not the catch-up.
					return fmt.Errorf("%w: %s", ErrLeafCatchUpUnfinished, LeafCatchUpConsumerName(a.Domain, s.kind))
				}
				return fmt.Errorf("bus: assign leaf node %s on %s: %w", a.Domain, s.stream, err)
			}
			if !running {
				break
			}
			select {
			case <-wctx.Done():
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("%w: %s", ErrLeafCatchUpUnfinished, LeafCatchUpConsumerName(a.Domain, s.kind))
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// endLeafCatchUpLocked is endLeafCatchUp under the stream's assignment
// lock, which an assignment holds while it makes a catch-up and adds its
// source to the leaf's stream.
func (b *Bus) endLeafCatchUpLocked(ctx context.Context, kv jetstream.KeyValue, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string) (bool, error) {
	unlock, err := b.lock(ctx, kv, stream)
	if err != nil {
		return true, err
	}
	defer unlock()
	return b.endLeafCatchUp(ctx, leaf, stream, kind, hubDomain, domain)
}

// leafStart is where a subject added to a leaf node is read from, and
// whether that point is a previous holder's (exact: nothing below it is
// the leaf's).
type leafStart struct {
	seq   uint64
	exact bool
}

// assignLeaf is AssignLeaf on one stream.
func (b *Bus) assignLeaf(ctx context.Context, kv jetstream.KeyValue, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string, want []string) (err error) {
	if _, ok := ctx.Deadline(); !ok {
		// Room for a hand-over to wait for what the leaf has in hand.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.opts.Timeout+2*handoverPause)
		defer cancel()
	}
	name := LeafConsumerName(domain, kind)
	// The leaf's stream first: nothing changes at the hub if the leaf is
	// out of reach (but for a remake to finish). Within the bus's
	// timeout: a dropped link may leave the request unanswered.
	lctx, lcancel := context.WithTimeout(ctx, b.opts.Timeout)
	in, err := leaf.Stream(lctx, stream)
	lcancel()
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		in = nil
	case err != nil:
		// Out of reach, but a remake of its consumer left half-done
		// is finished at the hub (the consumer, the catch-up): its
		// record holds back others' assignments of its subjects.
		linkErr := fmt.Errorf("%w: the leaf node's stream %s (is its link up?): %w", errLeafUnreached, stream, err)
		return errors.Join(linkErr, b.finishRemakeUnreached(ctx, kv, stream, kind, hubDomain, domain, want))
	}
	unlock, err := b.lock(ctx, kv, stream)
	if err != nil {
		return err
	}
	defer unlock()
	// A remake of this leaf's consumer an assignment recorded and did
	// not see through: the consumer may be gone, and the leaf's stream
	// without its source, until it is finished. (Other leaves' remakes
	// refuse only subjects added that they record: below.)
	finished, err := b.finishLeafRemake(ctx, kv, leaf, stream, kind, hubDomain, domain, want)
	if err != nil {
		return fmt.Errorf("finish the remake of %s an assignment left half-done: %w", name, err)
	}
	if finished && in != nil {
		if in, err = leaf.Stream(ctx, stream); err != nil {
			return fmt.Errorf("the leaf node's stream %s (is its link up?): %w", stream, err)
		}
	}
	running, err := b.endLeafCatchUp(ctx, leaf, stream, kind, hubDomain, domain)
	if err != nil {
		return err
	}

	var current []string
	own, err := b.js.PushConsumer(ctx, stream, name)
	exists := err == nil
	switch {
	case exists:
		current = filtersOf(own.CachedInfo().Config)
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return err
	}
	added := slices.DeleteFunc(slices.Clone(want), func(f string) bool { return slices.Contains(current, f) })
	removed := slices.DeleteFunc(slices.Clone(current), func(f string) bool { return slices.Contains(want, f) })
	if running && len(added) > 0 {
		return fmt.Errorf("%w: %s", ErrCatchUpRunning, LeafCatchUpConsumerName(domain, kind))
	}
	// Another leaf node's remake left half-done holds back the subjects
	// it records.
	if err := b.refuseLeafRemakes(ctx, kv, stream, name, added); err != nil {
		return err
	}
	// A subject a gateway's or another leaf node's consumer has is
	// handed over from it first, at an exact point; what another reader
	// has otherwise is refused.
	if err := b.leafOverlaps(ctx, stream, domain, added); err != nil {
		return err
	}
	plan, err := b.planLeafTakes(ctx, kv, stream, name, added)
	if err != nil {
		return err
	}
	hub, err := b.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	// Before anything is taken: subjects taken away beside subjects taken
	// from other holders, which the consumer, should it be behind their
	// point, could not be made again for (remakeLeafConsumer keeps no
	// point of a subject taken away); and a batch whose starts could end
	// mixed. Both are refused while the subjects are still with their
	// holders.
	if len(removed) > 0 && len(plan) > 0 {
		var from []string
		for _, t := range plan {
			from = append(from, fmt.Sprintf("%v from %s", t.theirs, t.from.name))
		}
		return fmt.Errorf("%w: %v taken away, %s taken; take subjects away and add them in separate assignments (nothing was taken)", ErrLeafTakeAndRemove, removed, strings.Join(from, ", "))
	}
	if err := b.mixedBeforeTaking(ctx, kv, hub, in, stream, plan, added); err != nil {
		return err
	}
	taken, err := b.takeForLeaf(ctx, kv, stream, plan)
	if err != nil {
		return err
	}
	// Taken from their holders, they are held by nobody until the
	// consumer has them: a refusal until then says so.
	given := false
	defer func() {
		if err != nil && !given && len(taken) > 0 {
			back := "or back"
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, gerr := kv.Get(rctx, leafRemakeKey(stream, name)); !errors.Is(gerr, jetstream.ErrKeyNotFound) {
				// Giving them back adds subjects the record has:
				// refused while it exists (refuseLeafRemakes).
				back = fmt.Sprintf("or back once this leaf node's remake recorded as %s is finished by its next assignment, which does so at the hub even with the leaf out of reach (giving them back is refused until then)", leafRemakeKey(stream, name))
			}
			err = fmt.Errorf("%w; %v were taken from their holders and are held by nobody until assigned again (their packets wait at the hub): give them to this leaf node alone (the same assignment again), %s", err, slices.Sorted(maps.Keys(taken)), back)
		}
	}()
	if len(taken) > 0 {
		// The hand-overs took time; the starts are read after them.
		if hub, err = b.js.Stream(ctx, stream); err != nil {
			return err
		}
	}
	last := hub.CachedInfo().State.LastSeq
	starts := make(map[string]leafStart, len(added))
	for _, f := range added {
		if p, ok := taken[f]; ok {
			starts[f] = leafStart{seq: p, exact: true}
			continue
		}
		p, err := b.leafStartOf(ctx, kv, hub, in, stream, f, last)
		if err != nil {
			return err
		}
		starts[f] = p
	}
	low, err := catchUpStart(starts)
	if err != nil {
		return err
	}
	cfg := leafConsumerConfig(name, "lienthong "+string(kind)+" packets for leaf node "+domain, leafDeliverSubject(domain, kind, false), want)
	remade := false
	var unsourced error // the remake's put-back of the leaf's source failed
	if exists && low.exact {
		// Given the subject, the consumer must deliver nothing of it
		// below the point, which the previous holder had, whatever the
		// leaf resets it to: with no sequence, to its ack floor + 1
		// (its own source does so after every cut); with one, to any
		// sequence from its start, if it was made by start sequence
		// (nats-server's resetStartingSeqLocked).
		info, err := own.Info(ctx)
		if err != nil {
			return err
		}
		byStart := info.Config.DeliverPolicy == jetstream.DeliverByStartSequencePolicy
		if info.Delivered.Stream+1 < low.seq || byStart && info.Config.OptStartSeq < low.seq {
			// It has read the stream only to below the point (its
			// delivered stream sequence, sseq-1, passes what its
			// filters do not match only when it delivers a later
			// match: a quiet leaf's stays behind), or its start is
			// below it: it is made again from max(point, read+1).
			if len(removed) > 0 {
				// Only with no subject taken (refused above): the point
				// is one kept from before.
				return fmt.Errorf("%w: %s has read %s up to %d from %d, the point is %d; take subjects away and add them in separate assignments", ErrLeafBehind, name, stream, info.Delivered.Stream, info.Config.OptStartSeq, low.seq)
			}
			if unsourced, err = b.remakeLeafConsumer(ctx, kv, leaf, stream, kind, hubDomain, domain, own, cfg, low.seq, starts); err != nil {
				return err
			}
			remade, given = true, true
			if in != nil && unsourced == nil {
				// Its source was taken out and put back.
				if in, err = leaf.Stream(ctx, stream); err != nil {
					return fmt.Errorf("the leaf node's stream %s (is its link up?): %w", stream, err)
				}
			}
		} else {
			// Its filters change while it is paused with everything
			// it delivered confirmed up to at least the point - 1:
			// its ack floor only grows from there.
			resume, err := b.settleLeafConsumer(ctx, stream, name, own, low.seq)
			if err != nil {
				return err
			}
			defer resume()
		}
	}

	// Subjects taken away: their point is kept for the next holder, the
	// first at the consumer's ack floor should this process die during
	// the hand-over. Never above what the consumer delivered: the leaf
	// acknowledges its own consumer by flow control, and nats-server
	// takes the Nats-Last-Stream of a flow-control reply as given
	// (consumer.go skips its check against the delivered sequence), so a
	// leaf could push its ack floor past packets it was never sent, which
	// would then go to nobody.
	updated := false
	if len(removed) > 0 {
		info := own.CachedInfo()
		floor := min(info.AckFloor.Stream, info.Delivered.Stream)
		for _, f := range removed {
			if err := putStart(ctx, kv, stream, f, floor+1); err != nil {
				return err
			}
		}
		next, err := b.handOver(ctx, stream, name, removed, added, nil)
		if err != nil {
			return err
		}
		for _, f := range removed {
			if err := putStartAfter(ctx, kv, stream, f, next); err != nil {
				return err
			}
		}
		updated = true
	}
	switch {
	case remade:
	case !exists:
		_, err = b.js.CreatePushConsumer(ctx, stream, cfg)
	case !updated && len(added) > 0:
		var info *jetstream.ConsumerInfo
		if info, err = own.Info(ctx); err == nil {
			ucfg := info.Config
			ucfg.FilterSubject, ucfg.FilterSubjects = "", want
			_, err = b.js.UpdatePushConsumer(ctx, stream, ucfg)
		}
	}
	if err != nil {
		return fmt.Errorf("consumer %s: %w", name, err)
	}
	given = true

	// The catch-up, up to what the consumer may not have delivered.
	catchUp := false
	if len(starts) > 0 {
		if catchUp, err = b.makeLeafCatchUp(ctx, stream, kind, domain, starts, low.seq); err != nil {
			return err
		}
	}
	if remade {
		// The remake is seen through: its catch-up is made.
		if err := kv.Delete(ctx, leafRemakeKey(stream, name)); err != nil {
			return fmt.Errorf("forget the record of the remake of %s: %w", name, err)
		}
	}
	if unsourced != nil {
		return fmt.Errorf("%s is made again and its catch-up made, but the leaf node's source of it is not back: run `lienthong nats setup -leaf %s -agency …` again once its link is back (or restart its gateway): %w", name, domain, unsourced)
	}
	return b.sourceLeafStream(ctx, leaf, in, stream, kind, hubDomain, domain, catchUp || running)
}

// leafRemake is the record of a remake of a leaf node's consumer
// (remakeLeafConsumer), kept in the handover bucket from before its first
// step until the catch-up of the assignment that made it is made: Config
// is the consumer made again, Starts and From the catch-up's starts and
// start (makeLeafCatchUp).
type leafRemake struct {
	Config jetstream.ConsumerConfig `json:"config"`
	Starts map[string]uint64        `json:"starts"`
	From   uint64                   `json:"from"`
}

// leafRemakeKey is the handover bucket's key of the record of a remake of
// the leaf node's consumer name on stream.
func leafRemakeKey(stream, name string) string {
	return "remake." + stream + "." + name
}

// errLeafUnreached is assignLeaf's error when the leaf node does not
// answer: AssignLeaf then only finishes, on its other stream, a remake
// left half-done, never assigns one stream and not the other.
var errLeafUnreached = errors.New("the leaf node is out of reach")

// finishRemakeUnreached finishes at the hub a remake of the leaf node's
// consumer on stream that an assignment left half-done, the leaf being out
// of reach (or retired): the consumer made as recorded and its catch-up,
// the record deleted; the leaf's source of it is put back by the leaf's
// next assignment once its link is back (or by its gateway's restart). It
// returns nil if there is no record, and an error saying what was done or
// why not otherwise.
func (b *Bus) finishRemakeUnreached(ctx context.Context, kv jetstream.KeyValue, stream string, kind gateway.PacketKind, hubDomain, domain string, want []string) error {
	name := LeafConsumerName(domain, kind)
	if _, err := kv.Get(ctx, leafRemakeKey(stream, name)); err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return fmt.Errorf("the record of a remake of %s: %w", name, err)
	}
	unlock, err := b.lock(ctx, kv, stream)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := b.finishLeafRemake(ctx, kv, nil, stream, kind, hubDomain, domain, want); err != nil {
		return fmt.Errorf("finish the remake of %s an assignment left half-done: %w", name, err)
	}
	return fmt.Errorf("the remake of %s an assignment left half-done is finished at the hub; run `lienthong nats setup -leaf %s -agency …` again once its link is back (or restart its gateway), which puts the leaf's source of it back", name, domain)
}

// finishLeafRemake finishes a remake of the leaf node's consumer on
// stream that an assignment recorded and did not see through (the
// administrator's process died, or an error stopped it after the
// consumer's deletion), and reports whether there was one. Left so, the
// consumer may be gone (nothing is lost: the leaf's packets wait at the
// hub, but the leaf gets none, and an assignment as the one before would
// find the leaf's own subjects starting below the added one's point,
// ErrMixedStarts) and the leaf's stream without its source:
//
//   - the record is checked (leafRemakeConfig): its consumer is made from
//     the leaf's name, delivery subject and the recorded filters, which
//     must be agency subjects of stream, and start, not from the
//     recorded configuration as a whole;
//   - a recorded subject another gateway's or leaf node's consumer now
//     reads (or a catch-up, or an agency's consumer of the version
//     before: leafOverlaps) is refused (ErrLeafRemakeHeldElsewhere) when
//     want, the assignment's filters, has it: made again with it, the
//     consumer would deliver it too. Else it is left out: the assignment
//     did not give it to the leaf;
//   - the consumer gone is made as recorded;
//   - the leaf's stream's source of it is put back; leaf nil (out of
//     reach), it is left to the next assignment of the leaf node
//     (sourceLeafStream) and to its gateway (sourceFromHub);
//   - if the consumer is the one recorded (made by start sequence, with the
//     recorded filters), the catch-up of its added subjects is made unless
//     it exists; if it is the one before (the process died before deleting
//     it), the remake is abandoned, and the assignment that follows does
//     it again;
//   - the record is deleted.
//
// While the record exists, Assign and AssignLeaf of other leaf nodes are
// refused when they add subjects it records (refuseLeafRemakes): they
// may be shown by no consumer.
func (b *Bus) finishLeafRemake(ctx context.Context, kv jetstream.KeyValue, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string, want []string) (bool, error) {
	name := LeafConsumerName(domain, kind)
	e, err := kv.Get(ctx, leafRemakeKey(stream, name))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("the record of a remake: %w", err)
	}
	var r leafRemake
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return false, fmt.Errorf("the record of a remake, %s: %w", e.Key(), err)
	}
	cfg, err := leafRemakeConfig(r, kind, domain)
	if err != nil {
		return false, fmt.Errorf("the record of a remake, %s: %w: %s", e.Key(), err, e.Value())
	}
	// What others read now of the recorded subjects.
	held, err := b.heldElsewhere(ctx, stream, name, domain, cfg.FilterSubjects)
	if err != nil {
		return false, err
	}
	refuse := func(what string) error {
		var hs []string
		for _, f := range slices.Sorted(maps.Keys(held)) {
			hs = append(hs, f+" ("+held[f]+")")
		}
		return fmt.Errorf("%w: %s recorded %s, read now by %s; %s", ErrLeafRemakeHeldElsewhere, e.Key(), slices.Sorted(maps.Keys(held)), strings.Join(hs, ", "), what)
	}
	remade := false
	c, err := b.js.PushConsumer(ctx, stream, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		if len(held) > 0 {
			if slices.ContainsFunc(want, func(f string) bool { _, ok := held[f]; return ok }) {
				return false, refuse("assign the leaf node without them first (its consumer is then made again without them), then give them to it")
			}
			cfg.FilterSubjects = slices.DeleteFunc(cfg.FilterSubjects, func(f string) bool { _, ok := held[f]; return ok })
			maps.DeleteFunc(r.Starts, func(f string, _ uint64) bool { _, ok := held[f]; return ok })
			if len(cfg.FilterSubjects) == 0 {
				return false, refuse("nothing is left to make the leaf node's consumer again with: delete the record (nats kv del " + BucketHandover + " " + e.Key() + ") and assign the leaf node again")
			}
			b.log.Warn("leaf consumer's half-done remake: subjects read elsewhere left out", zap.String("consumer", name), zap.String("stream", stream),
				zap.Strings("subjects", slices.Sorted(maps.Keys(held))))
		}
		if _, err := b.js.CreatePushConsumer(ctx, stream, cfg); err != nil {
			return false, fmt.Errorf("make %s again from %d: %w", name, cfg.OptStartSeq, err)
		}
		remade = true
	case err != nil:
		return false, err
	default:
		ccfg := c.CachedInfo().Config
		remade = ccfg.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && ccfg.OptStartSeq == cfg.OptStartSeq &&
			slices.Equal(slices.Sorted(slices.Values(filtersOf(ccfg))), slices.Sorted(slices.Values(cfg.FilterSubjects)))
		if remade && len(held) > 0 {
			// Made again, and read by another as well: no catch-up
			// adds to that.
			return false, refuse("take them from one of the two first: assign their other holder without them (taking subjects away is not held back by the record), then this leaf node again")
		}
	}
	if leaf != nil {
		if err := b.putLeafSourceBack(ctx, leaf, stream, kind, hubDomain, domain); err != nil {
			return false, err
		}
	}
	if remade && len(r.Starts) > 0 {
		_, err := b.js.PushConsumer(ctx, stream, LeafCatchUpConsumerName(domain, kind))
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			starts := make(map[string]leafStart, len(r.Starts))
			for f, p := range r.Starts {
				starts[f] = leafStart{seq: p}
			}
			if _, err := b.makeLeafCatchUp(ctx, stream, kind, domain, starts, r.From); err != nil {
				return false, err
			}
		case err != nil:
			return false, err
		}
	}
	if err := kv.Delete(ctx, e.Key()); err != nil {
		return false, fmt.Errorf("forget the record of the remake of %s: %w", name, err)
	}
	b.log.Warn("leaf consumer's remake found half-done: finished", zap.String("consumer", name), zap.String("stream", stream),
		zap.Bool("remade", remade), zap.Uint64("from", cfg.OptStartSeq))
	return true, nil
}

// leafRemakeConfig is the consumer a remake record stands for, made from
// what the leaf node's consumer is (leafConsumerConfig: its name, its
// delivery subject) and only the record's filters and start, which are
// checked: agency subjects of kind, a start, and the catch-up's starts
// among the filters. Anything else the record says is not trusted.
func leafRemakeConfig(r leafRemake, kind gateway.PacketKind, domain string) (jetstream.ConsumerConfig, error) {
	name := LeafConsumerName(domain, kind)
	if r.Config.Name != name || r.Config.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || r.Config.OptStartSeq == 0 {
		return jetstream.ConsumerConfig{}, fmt.Errorf("not a consumer %s by start sequence", name)
	}
	filters := filtersOf(r.Config)
	if len(filters) == 0 {
		return jetstream.ConsumerConfig{}, errors.New("no filter")
	}
	for _, f := range filters {
		if err := checkAgencySubject(kind, f); err != nil {
			return jetstream.ConsumerConfig{}, err
		}
	}
	for f, p := range r.Starts {
		if !slices.Contains(filters, f) || p == 0 || p < r.From {
			return jetstream.ConsumerConfig{}, fmt.Errorf("a catch-up start %s at %d, from %d, not of its filters or below its start", f, p, r.From)
		}
	}
	cfg := leafConsumerConfig(name, "lienthong "+string(kind)+" packets for leaf node "+domain, leafDeliverSubject(domain, kind, false), filters)
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, r.Config.OptStartSeq
	return cfg, nil
}

// checkAgencySubject refuses a filter that is not, on the stream of kind,
// an agency's subject or a subtree of them, as Filters makes them:
// lt.<kind>.<tokens> or lt.<kind>.<tokens>.>, tokens of letters and
// digits.
func checkAgencySubject(kind gateway.PacketKind, f string) error {
	rest, ok := strings.CutPrefix(f, gateway.Subject(kind, envelope.AgencyCode{}))
	if !ok {
		return fmt.Errorf("filter %q is not a subject of %s packets", f, kind)
	}
	rest = strings.TrimSuffix(rest, ".>")
	for t := range strings.SplitSeq(rest, ".") {
		if t == "" || strings.ContainsFunc(t, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) {
			return fmt.Errorf("filter %q is not an agency's subject", f)
		}
	}
	return nil
}

// heldElsewhere returns, of filters, those another gateway's or leaf
// node's consumer than name reads, or a catch-up or an agency's consumer
// of the version before (leafOverlaps), with who reads them.
func (b *Bus) heldElsewhere(ctx context.Context, stream, name, domain string, filters []string) (map[string]string, error) {
	others, err := b.gatewayConsumers(ctx, stream, name)
	if err != nil {
		return nil, err
	}
	// Who reads each filter.
	by := make(map[string]string)
	for _, o := range others {
		for _, g := range o.filters {
			by[g] = o.name
		}
	}
	// The other readers leafOverlaps refuses.
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	own := []string{LeafCatchUpConsumerName(domain, gateway.KindEdoc), LeafCatchUpConsumerName(domain, gateway.KindStatus)}
	l := st.ListConsumers(ctx)
	for info := range l.Info() {
		legacy := strings.HasPrefix(info.Name, "ag_") && !info.Paused
		catchUp := strings.HasPrefix(info.Name, "gwu_") || (strings.HasPrefix(info.Name, "leafu_") && !slices.Contains(own, info.Name))
		if legacy || catchUp {
			for _, g := range filtersOf(info.Config) {
				by[g] = info.Name
			}
		}
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	// By lookups, so that thousands of filters on each side cost little:
	// a subject is read by whoever reads it or a subtree above it, and a
	// subtree (few) by whoever reads a subject under it too.
	held := make(map[string]string)
	for _, f := range filters {
		for _, k := range append([]string{f}, subtreesAbove(f)...) {
			if h, ok := by[k]; ok {
				held[f] = h
				break
			}
		}
		if _, ok := held[f]; ok || !strings.HasSuffix(f, ".>") {
			continue
		}
		for g, h := range by {
			if overlaps(f, g) {
				held[f] = h
				break
			}
		}
	}
	return held, nil
}

// refuseLeafRemakes refuses, with ErrLeafRemakePending, an assignment on
// stream that adds subjects overlapping those of a remake of a leaf node's
// consumer other than except that is recorded and not finished
// (finishLeafRemake): its filters and its catch-up's starts. The subjects
// it records may be shown by no consumer, and taken by another holder
// meanwhile, they would go to both once the remake is finished. Other
// assignments go ahead: one leaf node's remake, left by a link that
// dropped or a leaf retired, holds back only its own subjects.
func (b *Bus) refuseLeafRemakes(ctx context.Context, kv jetstream.KeyValue, stream, except string, added []string) error {
	if len(added) == 0 {
		return nil
	}
	keys, err := kv.ListKeysFiltered(ctx, leafRemakeKey(stream, "*"))
	if err != nil {
		return fmt.Errorf("the records of leaf consumers' remakes: %w", err)
	}
	defer keys.Stop()
	var pending, subjects []string
	for k := range keys.Keys() {
		name := strings.TrimPrefix(k, leafRemakeKey(stream, ""))
		if name == except {
			continue
		}
		e, err := kv.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue // finished meanwhile
		case err != nil:
			return fmt.Errorf("the record of a remake, %s: %w", k, err)
		}
		var r leafRemake
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			// Unreadable: what it holds back is not known.
			pending = append(pending, name)
			continue
		}
		recorded := append(filtersOf(r.Config), slices.Collect(maps.Keys(r.Starts))...)
		hit := false
		for _, f := range added {
			for _, g := range recorded {
				if overlaps(f, g) {
					hit = true
					if !slices.Contains(subjects, f) {
						subjects = append(subjects, f)
					}
				}
			}
		}
		if hit {
			pending = append(pending, name)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	slices.Sort(pending)
	slices.Sort(subjects)
	domain := leafDomainOf(pending[0])
	return fmt.Errorf("%w: %s on %s, of leaf node %s (%s), records %v: run `lienthong nats setup -leaf %s -agency … -subtree …` (its agencies and subtrees) for it first, which finishes it at the hub, even with the leaf node out of reach or retired; "+
		"do not delete the record: it holds the leaf's position in its own agencies, and without it their next holder would read them again from their start",
		ErrLeafRemakePending, strings.Join(pending, ", "), stream, domain, leafRemakeKey(stream, pending[0]), subjects, domain)
}

// addedTo returns the filters of want that the consumer name on stream
// (a push consumer if push, a leaf node's) does not have; all of them if
// it does not exist.
func (b *Bus) addedTo(ctx context.Context, stream, name string, push bool, want []string) ([]string, error) {
	var cfg jetstream.ConsumerConfig
	var err error
	if push {
		var c jetstream.PushConsumer
		if c, err = b.js.PushConsumer(ctx, stream, name); err == nil {
			cfg = c.CachedInfo().Config
		}
	} else {
		var c jetstream.Consumer
		if c, err = b.js.Consumer(ctx, stream, name); err == nil {
			cfg = c.CachedInfo().Config
		}
	}
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return want, nil
	case err != nil:
		return nil, err
	}
	current := filtersOf(cfg)
	return slices.DeleteFunc(slices.Clone(want), func(f string) bool { return slices.Contains(current, f) }), nil
}

// leafDomainOf returns the domain of a leaf node's consumer's name,
// leaf_<kind>_<domain> (a domain is a CheckID, which the name keeps).
func leafDomainOf(name string) string {
	parts := strings.SplitN(name, "_", 3)
	if len(parts) < 3 {
		return name
	}
	return parts[2]
}

// remakeLeafConsumer makes the leaf node's consumer name again as cfg,
// starting at max(point, where it had read to + 1), when it has read the
// stream only up to below point, a previous holder's handover point of a
// subject added to it: it is paused; once it holds still with everything
// it delivered confirmed by the leaf (its ack floor, within a heartbeat
// while paused) and nothing of its subjects waiting after that, it is
// deleted and made anew. Nothing of its subjects lies between where it had
// read to and the stream's last sequence, and point is at most one past
// that: nothing of them is skipped. Otherwise (the leaf's link is down,
// or the consumer has packets to deliver, after which it will have read
// further) it is resumed and ErrLeafBehind returned: assign again.
//
// It is also made again, from where it had read to + 1, when it was made
// by start sequence below point (an earlier remake): the leaf may reset a
// consumer made by start sequence to any sequence from its start on
// (nats-server's resetStartingSeqLocked), and below point it would get
// the previous holder's packets. Its start is then at or above every
// exact point of its subjects. Packets waiting are no hindrance then:
// they come from the new consumer, which starts where the old one stopped.
//
// The leaf's stream's source of it is taken out before it is deleted and
// put back once it is made again (withoutLeafSource): nats-server's
// source knows its consumer by name and its delivery sequence, which a
// consumer made again starts anew, and drops deliveries below the one it
// has seen (processInboundSourceMsg) until they pass it, then confirms
// (by flow control, up to the stream sequence) past what it dropped: the
// first packets of the new consumer would be lost. A source set up anew
// resets the consumer (to its ack floor, one below its start) and counts
// from its first delivery.
//
// Before the source is taken out, the remake and the catch-up that follows
// it (starts, from point) are recorded in kv (leafRemake); AssignLeaf
// deletes the record once the catch-up is made. Should the process die in
// between, leaving the leaf without its consumer or its source (and an
// assignment as the one before with ErrLeafBehind or ErrMixedStarts), the
// next assignment finishes the remake first (finishLeafRemake).
func (b *Bus) remakeLeafConsumer(ctx context.Context, kv jetstream.KeyValue, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string, own jetstream.PushConsumer, cfg jetstream.ConsumerConfig, point uint64, starts map[string]leafStart) (unsourced, err error) {
	name := cfg.Name
	if _, err := b.js.PauseConsumer(ctx, stream, name, time.Now().Add(handoverPause)); err != nil {
		return nil, fmt.Errorf("pause %s: %w", name, err)
	}
	deleted, died, recorded := false, false, false
	// step, in tests, may stand for the process dying after a step.
	step := func(name string) error {
		if b.leafRemaking == nil {
			return nil
		}
		err := b.leafRemaking(name)
		died = err != nil
		return err
	}
	defer func() {
		if deleted || died {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, rerr := b.js.ResumeConsumer(rctx, stream, name)
		if rerr != nil {
			err = errors.Join(err, fmt.Errorf("resume %s: %w", name, rerr))
		}
		if recorded && rerr == nil {
			// The consumer is the one before, resumed (a deletion
			// that failed to answer may have deleted it: the record
			// is then kept): nothing to finish. Left, the record would
			// refuse other assignments of its subjects
			// (refuseLeafRemakes) until the leaf, whose link may be
			// what failed, is assigned again. Its source, taken out or
			// not, is put back by the next assignment of it and by the
			// leaf's gateway (sourceFromHub).
			if derr := kv.Delete(rctx, leafRemakeKey(stream, name)); derr != nil {
				err = errors.Join(err, fmt.Errorf("forget the record of the remake of %s, not begun: %w", name, derr))
			}
		}
	}()
	delivered, err := b.stillDelivered(ctx, own)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	next, err := b.settled(ctx, stream, name, own, delivered)
	if err != nil {
		return nil, err
	}
	info, err := own.Info(ctx)
	if err != nil {
		return nil, err
	}
	if next != delivered+1 || info.Delivered.Stream != delivered || (point > delivered+1 && info.NumPending > 0) {
		return nil, fmt.Errorf("%w: %s has read %s up to %d (confirmed to %d, %d waiting), the point is %d", ErrLeafBehind, name, stream, delivered, next-1, info.NumPending, point)
	}
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, max(point, delivered+1)
	// Recorded before the first step that leaves the leaf without its
	// consumer or its source, so that the next assignment finishes what
	// this one may not (finishLeafRemake), until the catch-up is made.
	record := leafRemake{Config: cfg, Starts: make(map[string]uint64, len(starts)), From: point}
	for f, p := range starts {
		record.Starts[f] = p.seq
	}
	data, err := json.Marshal(record)
	if err != nil {
		return nil, err
	}
	if _, err := kv.Put(ctx, leafRemakeKey(stream, name), data); err != nil {
		return nil, fmt.Errorf("record the remake of %s: %w", name, err)
	}
	recorded = true
	if err := step("recorded"); err != nil {
		return nil, err
	}
	putBack, err := b.withoutLeafSource(ctx, leaf, stream, kind, hubDomain, domain)
	if err != nil {
		return nil, err
	}
	made := false
	defer func() {
		if died {
			return
		}
		perr := putBack()
		if made && err == nil {
			// Made again: what is left at the hub (the catch-up) is
			// done without the leaf, and the source is put back by the
			// next assignment and the leaf's gateway.
			unsourced = perr
			return
		}
		err = errors.Join(err, perr)
	}()
	if err := step("unsourced"); err != nil {
		return nil, err
	}
	if err := b.js.DeleteConsumer(ctx, stream, name); err != nil {
		return nil, fmt.Errorf("delete %s to make it again from %d: %w", name, cfg.OptStartSeq, err)
	}
	deleted = true
	if err := step("deleted"); err != nil {
		return nil, err
	}
	if _, err := b.js.CreatePushConsumer(ctx, stream, cfg); err != nil {
		// Deleted and not made again: nothing is lost (the leaf's
		// packets wait at the hub), and the next assignment makes it
		// as recorded (finishLeafRemake).
		return nil, fmt.Errorf("make %s again from %d: %w", name, cfg.OptStartSeq, err)
	}
	made = true
	if err := step("made"); err != nil {
		return nil, err
	}
	b.log.Info("leaf consumer made again from a handover point", zap.String("consumer", name), zap.String("stream", stream),
		zap.Uint64("read", delivered), zap.Uint64("from", cfg.OptStartSeq))
	return nil, nil
}

// withoutLeafSource takes the source of the leaf node's consumer out of the
// leaf's stream, and returns what puts it back (also when it was not
// there: AssignLeaf adds it anyway); a stream not made yet has none.
func (b *Bus) withoutLeafSource(ctx context.Context, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string) (func() error, error) {
	name := LeafConsumerName(domain, kind)
	// Within the bus's timeout: a link that drops leaves the request
	// unanswered (nothing may say no responders), and the assignment's
	// deadline leaves room for hand-overs.
	lctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	in, err := leaf.Stream(lctx, stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return func() error { return nil }, nil
	case err != nil:
		return nil, fmt.Errorf("the leaf node's stream %s (is its link up?): %w", stream, err)
	}
	cfg := in.CachedInfo().Config
	if slices.ContainsFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, stream, hubDomain, name) }) {
		cfg.Sources = slices.DeleteFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, stream, hubDomain, name) })
		if _, err := leaf.UpdateStream(lctx, cfg); err != nil {
			return nil, fmt.Errorf("take %s out of the leaf node's stream %s: %w", name, stream, err)
		}
	}
	return func() error {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.Timeout)
		defer cancel()
		return b.putLeafSourceBack(rctx, leaf, stream, kind, hubDomain, domain)
	}, nil
}

// putLeafSourceBack adds the source of the leaf node's consumer to the
// leaf's stream if it is not there; a stream not made yet is left to
// AssignLeaf to make.
func (b *Bus) putLeafSourceBack(ctx context.Context, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string) error {
	name := LeafConsumerName(domain, kind)
	in, err := leaf.Stream(ctx, stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("put %s back into the leaf node's stream %s (is its link up?): %w", name, stream, err)
	}
	cfg := in.CachedInfo().Config
	if slices.ContainsFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, stream, hubDomain, name) }) {
		return nil
	}
	cfg.Sources = append(cfg.Sources, leafSource(hubDomain, domain, stream, kind, false))
	if _, err := leaf.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("put %s back into the leaf node's stream %s: %w", name, stream, err)
	}
	return nil
}

// settleLeafConsumer pauses the leaf node's consumer name, waits until
// its delivered stream sequence holds still and the leaf has confirmed
// what it was sent (settled: within a heartbeat while paused), and
// requires its ack floor + 1 to be at least point, an exact handover point
// of a subject about to be added to its filters: a reset with no sequence
// (which the leaf may always send, and its source sends after every cut
// or restart) starts it again there, with the new filters. Under traffic
// its ack floor lags what it delivered by up to MaxAckPending, and a leaf
// may hold its flow-control replies back: ErrLeafBehind then, the consumer
// resumed. Otherwise it is left paused for the filters to change, and
// resume resumes it (the pause also ends by itself).
func (b *Bus) settleLeafConsumer(ctx context.Context, stream, name string, own jetstream.PushConsumer, point uint64) (_ func(), err error) {
	if _, err := b.js.PauseConsumer(ctx, stream, name, time.Now().Add(handoverPause)); err != nil {
		return nil, fmt.Errorf("pause %s: %w", name, err)
	}
	resume := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := b.js.ResumeConsumer(rctx, stream, name); err != nil {
			b.log.Warn("resume the leaf consumer; its pause ends by itself", zap.String("consumer", name), zap.String("stream", stream), zap.Error(err))
		}
	}
	defer func() {
		if err != nil {
			resume()
		}
	}()
	delivered, err := b.stillDelivered(ctx, own)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := b.settled(ctx, stream, name, own, delivered); err != nil {
		return nil, err
	}
	info, err := own.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.AckFloor.Stream+1 < point {
		return nil, fmt.Errorf("%w: the leaf has confirmed %s on %s up to %d (delivered %d), the point is %d", ErrLeafBehind, name, stream, info.AckFloor.Stream, delivered, point)
	}
	return resume, nil
}

// catchUpStart returns the one start of a catch-up of starts: the lowest,
// which must be every previous holder's point (ErrMixedStarts).
func catchUpStart(starts map[string]leafStart) (leafStart, error) {
	var low leafStart
	for _, p := range starts {
		if low.seq == 0 || p.seq < low.seq || (p.seq == low.seq && p.exact) {
			low = p
		}
	}
	for f, p := range starts {
		if p.exact && p.seq != low.seq {
			return leafStart{}, fmt.Errorf("%w: %s resumes at %d, another at %d", ErrMixedStarts, f, p.seq, low.seq)
		}
	}
	return low, nil
}

// leafStartOf returns where subject f, added to a leaf node, is to be read
// from on the hub's stream: the point kept for it or a subtree above it
// (exact: a previous holder had everything below); else one past the last
// hub sequence the leaf's stream holds of it, sourced by a per-agency
// source of the version before, which delivered the subject in order; else
// the hub's first message of it; else one past last, the stream's last
// sequence before the consumer is given f.
func (b *Bus) leafStartOf(ctx context.Context, kv jetstream.KeyValue, hub, in jetstream.Stream, stream, f string, last uint64) (leafStart, error) {
	var p uint64
	for _, k := range append([]string{f}, subtreesAbove(f)...) {
		q, err := keptPoint(ctx, kv, stream, k)
		if err != nil {
			return leafStart{}, err
		}
		p = max(p, q)
	}
	if p > 0 {
		return leafStart{seq: p, exact: true}, nil
	}
	if in != nil && !strings.HasSuffix(f, ">") {
		m, err := in.GetLastMsgForSubject(ctx, f)
		switch {
		case err == nil:
			if seq, ok := sourcedSeq(m.Header.Get("Nats-Stream-Source"), stream); ok {
				return leafStart{seq: seq + 1}, nil
			}
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			return leafStart{}, fmt.Errorf("the leaf's last message on %s: %w", f, err)
		}
	}
	m, err := hub.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(f))
	switch {
	case err == nil:
		return leafStart{seq: m.Sequence}, nil
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return leafStart{seq: last + 1}, nil
	}
	return leafStart{}, fmt.Errorf("the hub's first message on %s: %w", f, err)
}

// sourcedSeq reads the source's stream sequence from a sourced message's
// Nats-Stream-Source header, which nats-server writes as "<stream>[:<api
// hash>] <seq> <filter> <destination> <subject>…" (genSourceHeader). ok
// is false for another stream's or an unreadable header.
func sourcedSeq(header, stream string) (uint64, bool) {
	fields := strings.Fields(header)
	if len(fields) < 2 {
		return 0, false
	}
	if name, _, _ := strings.Cut(fields[0], ":"); name != stream {
		return 0, false
	}
	seq, err := strconv.ParseUint(fields[1], 10, 64)
	return seq, err == nil && seq > 0
}

// leafTake is what takeForLeaf takes from one gateway's or leaf node's
// consumer: its subjects of those added, and the points owed by an
// assignment of it that died (released).
type leafTake struct {
	from   gatewayConsumer
	theirs []string
	owed   map[string]uint64
}

// point is the point of f taken from t at p: never above what is owed.
func (t leafTake) point(f string, p uint64) uint64 {
	if q, ok := t.owed[f]; ok {
		return min(p, q)
	}
	return p
}

// planLeafTakes finds the subjects of added that another gateway's or leaf
// node's consumer has, for takeForLeaf to hand over, changing nothing. A
// subject one of them has under a different filter (a subtree over it, or
// under it) is refused, and so is one its catch-up still reads.
func (b *Bus) planLeafTakes(ctx context.Context, kv jetstream.KeyValue, stream, name string, added []string) ([]leafTake, error) {
	if len(added) == 0 {
		return nil, nil
	}
	others, err := b.gatewayConsumers(ctx, stream, name)
	if err != nil {
		return nil, err
	}
	var plan []leafTake
	for _, o := range others {
		var theirs []string
		for _, f := range added {
			if slices.Contains(o.filters, f) {
				theirs = append(theirs, f)
				continue
			}
			if i := slices.IndexFunc(o.filters, func(g string) bool { return overlaps(f, g) }); i >= 0 {
				return nil, fmt.Errorf("%s overlaps %s of %s: take it from there first (assign that one without it)", f, o.filters[i], o.name)
			}
		}
		if len(theirs) == 0 {
			continue
		}
		if o.unreadable != nil {
			return nil, o.unreadable
		}
		cu, err := b.anyConsumer(ctx, stream, catchUpNameOf(o.name))
		switch {
		case err == nil:
			cf := filtersOf(cu.CachedInfo().Config)
			if slices.ContainsFunc(theirs, func(f string) bool { return slices.ContainsFunc(cf, func(g string) bool { return overlaps(f, g) }) }) {
				return nil, fmt.Errorf("%w: %s, which is still catching up on %v; assign again once it is done", ErrCatchUpRunning, cu.CachedInfo().Name, theirs)
			}
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return nil, err
		}
		// What an assignment of that gateway that died took out of its
		// catch-up and not out of its gateway consumer (putReleased).
		owed, err := released(ctx, kv, stream, o.name)
		if err != nil {
			return nil, err
		}
		plan = append(plan, leafTake{from: o, theirs: theirs, owed: owed})
	}
	return plan, nil
}

// mixedBeforeTaking refuses, with ErrMixedStarts and before anything is
// taken, an assignment of added whose catch-up could end with more than
// one start (catchUpStart): refused after the hand-overs, it would leave
// the subjects taken from their holders held by nobody. A taken subject's
// point is known only once its holder is paused and settled (HandOver),
// so what is refused is every batch whose points are not sure to agree:
// subjects taken from two consumers; subjects of one consumer whose points
// may differ (one's hold began after the consumer's ack floor, or an
// assignment of it that died owes one a point); a taken subject beside one
// whose start is a point kept for it, or a subject with packets at the
// hub or on the leaf already (its start may be below the taken one's
// point). Beside a taken subject, only subjects with no packet yet are
// added: their start, one past the stream's last sequence, is at or above
// any point. Add the others in separate assignments.
func (b *Bus) mixedBeforeTaking(ctx context.Context, kv jetstream.KeyValue, hub, in jetstream.Stream, stream string, plan []leafTake, added []string) error {
	if len(plan) == 0 {
		return nil
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s; add them in separate assignments (nothing was taken)", ErrMixedStarts, fmt.Sprintf(format, args...))
	}
	if len(plan) > 1 {
		return refuse("%v would be taken from %s and %v from %s, at points of their own", plan[0].theirs, plan[0].from.name, plan[1].theirs, plan[1].from.name)
	}
	t := plan[0]
	if len(t.theirs) > 1 {
		for _, f := range t.theirs {
			if _, ok := t.owed[f]; ok || t.from.starts[f] > t.from.ackFloor+1 {
				return refuse("the points of %v taken from %s may differ (%s's hold began at %d, its ack floor is %d, owed %v)",
					t.theirs, t.from.name, f, t.from.starts[f], t.from.ackFloor, t.owed)
			}
		}
	}
	last := hub.CachedInfo().State.LastSeq
	for _, f := range added {
		if slices.Contains(t.theirs, f) {
			continue
		}
		p, err := b.leafStartOf(ctx, kv, hub, in, stream, f, last)
		if err != nil {
			return err
		}
		if p.exact || p.seq <= last {
			what := "its first packet waiting"
			if p.exact {
				what = "the point kept for it"
			}
			return refuse("%s starts at %d (%s), %v taken from %s at a point known only once taken", f, p.seq, what, t.theirs, t.from.name)
		}
	}
	return nil
}

// takeForLeaf hands the subjects of plan over from their consumers, as
// Assign does between gateways (HandOver, the points kept in
// BucketHandover first provisionally, then exactly), and returns their
// points.
func (b *Bus) takeForLeaf(ctx context.Context, kv jetstream.KeyValue, stream string, plan []leafTake) (map[string]uint64, error) {
	points := make(map[string]uint64)
	for _, t := range plan {
		o, theirs, owed := t.from, t.theirs, t.owed
		for _, f := range theirs {
			if err := putStart(ctx, kv, stream, f, t.point(f, max(o.ackFloor+1, o.starts[f]))); err != nil {
				return nil, err
			}
		}
		next, err := b.handOver(ctx, stream, o.name, theirs, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("take %v from %s: %w", theirs, o.name, err)
		}
		for _, f := range theirs {
			p := t.point(f, max(next, o.starts[f]))
			if err := putStartAfter(ctx, kv, stream, f, p); err != nil {
				return nil, err
			}
			points[f] = p
		}
		if len(owed) > 0 {
			for _, f := range theirs {
				delete(owed, f)
			}
			if err := putReleasedAfter(ctx, kv, stream, o.name, owed); err != nil {
				return nil, err
			}
		}
	}
	return points, nil
}

// leafOverlaps refuses subjects another reader of stream has, other than
// the gateways' and leaf nodes' consumers takeForLeaf took them from: a
// gateway's or another leaf node's catch-up, or an agency's consumer of the
// version before (ag_…) not retired by an assignment (paused): its gateway
// would go on reading the agency, and what it acknowledged is no point the
// leaf could start from exactly.
func (b *Bus) leafOverlaps(ctx context.Context, stream, domain string, added []string) error {
	if len(added) == 0 {
		return nil
	}
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	own := []string{LeafCatchUpConsumerName(domain, gateway.KindEdoc), LeafCatchUpConsumerName(domain, gateway.KindStatus)}
	l := st.ListConsumers(ctx)
	for info := range l.Info() {
		legacy := strings.HasPrefix(info.Name, "ag_") && !info.Paused
		catchUp := strings.HasPrefix(info.Name, "gwu_") || (strings.HasPrefix(info.Name, "leafu_") && !slices.Contains(own, info.Name))
		if !legacy && !catchUp {
			continue
		}
		for _, f := range added {
			i := slices.IndexFunc(filtersOf(info.Config), func(g string) bool { return overlaps(f, g) })
			switch {
			case i < 0:
			case catchUp:
				return fmt.Errorf("%w: %s reads %s (%s); assign again once it is done", ErrCatchUpRunning, info.Name, filtersOf(info.Config)[i], f)
			default:
				return fmt.Errorf("%s overlaps %s of %s: take it from there first (assign that one without it)", f, filtersOf(info.Config)[i], info.Name)
			}
		}
	}
	if err := l.Err(); err != nil {
		return fmt.Errorf("list consumers: %w", err)
	}
	return nil
}

// makeLeafCatchUp makes the leaf node's catch-up consumer on stream for
// starts, from start up to the stream's last sequence now, and reports
// whether it has anything to read; one with nothing is removed at once.
func (b *Bus) makeLeafCatchUp(ctx context.Context, stream string, kind gateway.PacketKind, domain string, starts map[string]leafStart, start uint64) (bool, error) {
	name := LeafCatchUpConsumerName(domain, kind)
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return false, err
	}
	until := st.CachedInfo().State.LastSeq
	var filters []string
	for f, p := range starts {
		if p.seq <= until {
			filters = append(filters, f)
		}
	}
	if len(filters) == 0 {
		return false, nil
	}
	slices.Sort(filters)
	cfg := leafConsumerConfig(name, "lienthong catch-up of "+string(kind)+" packets for leaf node "+domain, leafDeliverSubject(domain, kind, true), filters)
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	cfg.Metadata = map[string]string{metaUntil: strconv.FormatUint(until, 10)}
	c, err := b.js.CreatePushConsumer(ctx, stream, cfg)
	if err != nil {
		return false, fmt.Errorf("catch-up consumer %s: %w", name, err)
	}
	if c.CachedInfo().NumPending == 0 {
		if err := b.js.DeleteConsumer(ctx, stream, name); err != nil {
			return false, fmt.Errorf("delete the empty catch-up consumer %s: %w", name, err)
		}
		return false, nil
	}
	b.log.Info("leaf catch-up", zap.String("leaf", domain), zap.String("stream", stream), zap.Int("subjects", len(filters)),
		zap.Uint64("from", start), zap.Uint64("until", until), zap.Uint64("pending", c.CachedInfo().NumPending))
	return true, nil
}

// endLeafCatchUp removes the leaf node's catch-up on stream once the leaf
// has confirmed all of it up to its lt.until (its ack floor), first from
// the leaf's stream's sources, then at the hub; it reports whether one is
// still running.
func (b *Bus) endLeafCatchUp(ctx context.Context, leaf jetstream.JetStream, stream string, kind gateway.PacketKind, hubDomain, domain string) (bool, error) {
	name := LeafCatchUpConsumerName(domain, kind)
	c, err := b.js.PushConsumer(ctx, stream, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return false, err
	}
	until, err := strconv.ParseUint(info.Config.Metadata[metaUntil], 10, 64)
	if err != nil {
		return false, fmt.Errorf("catch-up consumer %s: %s %q: %w", name, metaUntil, info.Config.Metadata[metaUntil], err)
	}
	if info.AckFloor.Stream < until && info.NumPending+uint64(info.NumAckPending) > 0 {
		if info.Delivered.Stream >= until && !info.Paused {
			// All it is for was sent; what it sends after is the
			// leaf's consumer's too. Its ack floor moves with the
			// leaf's flow control, which nats-server asks for when the
			// consumer is idle: paused, it is, within a heartbeat.
			if _, err := b.js.PauseConsumer(ctx, stream, name, time.Now().Add(handoverPause)); err != nil {
				return true, fmt.Errorf("pause the catch-up %s once sent: %w", name, err)
			}
		}
		return true, nil
	}
	in, err := leaf.Stream(ctx, stream)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return true, fmt.Errorf("the leaf node's stream %s (is its link up?): %w", stream, err)
	}
	if err == nil {
		cfg := in.CachedInfo().Config
		if slices.ContainsFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, stream, hubDomain, name) }) {
			cfg.Sources = slices.DeleteFunc(cfg.Sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, stream, hubDomain, name) })
			if _, err := leaf.UpdateStream(ctx, cfg); err != nil {
				return true, fmt.Errorf("remove the catch-up %s from the leaf node's stream %s: %w", name, stream, err)
			}
		}
	}
	if err := b.js.DeleteConsumer(ctx, stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return true, fmt.Errorf("delete the finished catch-up %s: %w", name, err)
	}
	b.log.Info("leaf catch-up done", zap.String("leaf", domain), zap.String("stream", stream), zap.Uint64("until", until))
	return false, nil
}

// sourceLeafStream makes the leaf node's stream source the hub's through
// the leaf's durable consumer, and its catch-up while there is one, and
// no longer through the per-agency sources of the version before: in one
// update, so that what those had not delivered comes through the
// catch-up, made from their positions. A stream the leaf's gateways have
// not made yet is made here.
func (b *Bus) sourceLeafStream(ctx context.Context, leaf jetstream.JetStream, in jetstream.Stream, stream string, kind gateway.PacketKind, hubDomain, domain string, catchUp bool) error {
	var cfg jetstream.StreamConfig
	if in != nil {
		cfg = in.CachedInfo().Config
	} else {
		o := b.opts
		o.Replicas = 1
		var what string
		for _, l := range packetStreams {
			if l.stream == stream {
				what = l.what
			}
		}
		cfg = leafInConfig(o, stream, what)
	}
	cuName := LeafCatchUpConsumerName(domain, kind)
	sources := slices.DeleteFunc(slices.Clone(cfg.Sources), func(s *jetstream.StreamSource) bool {
		// The per-agency sources of the version before, and a catch-up's
		// whose consumer is gone (ended by an assignment that raced
		// another).
		return isPerAgencySource(s, stream, hubDomain) || (!catchUp && isLeafSource(s, stream, hubDomain, cuName))
	})
	for _, cu := range []bool{false, true} {
		if cu && !catchUp {
			continue
		}
		src := leafSource(hubDomain, domain, stream, kind, cu)
		if !slices.ContainsFunc(sources, func(s *jetstream.StreamSource) bool { return isLeafSource(s, stream, hubDomain, src.Consumer.Name) }) {
			sources = append(sources, src)
		}
	}
	if in != nil && slices.EqualFunc(sources, cfg.Sources, func(a, b *jetstream.StreamSource) bool { return a == b }) {
		return nil
	}
	cfg.Sources = sources
	var err error
	if in == nil {
		_, err = leaf.CreateStream(ctx, cfg)
	} else {
		_, err = leaf.UpdateStream(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("the leaf node's stream %s, sourcing the hub's through %s: %w", stream, LeafConsumerName(domain, kind), err)
	}
	return nil
}
