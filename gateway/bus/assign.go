package bus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// This file holds the first pieces of the per-gateway consumers of
// docs/design/consumers.md (issue 17): their names, their filters and
// their configuration. One durable consumer per gateway and stream
// (gwc_<kind>_<gateway>) carries every agency the gateway hosts, so the
// hub's consumers grow with gateways, not agencies; a short-lived
// catch-up consumer (gwu_<kind>_<gateway>) reads, from a handover point,
// what waited for agencies just added or moved (HandOver).

// MaxFilterLiterals is how many single agencies one gateway consumer may
// filter on. nats-server checks a consumer's filters for overlap pairwise,
// on every create, update and recovery: 5,000 literals cost it about two
// seconds on a 2-core machine and 10,000 exceed a client's timeout
// (docs/design/consumers.md, §5.3). A gateway hosting more delegates
// subtrees: a province's communes are then two filters, not hundreds.
const MaxFilterLiterals = 5000

// GatewayConsumerName returns the name of a gateway's durable consumer on
// the stream of kind: gwc_edoc_<id> or gwc_status_<id>. The prefix cannot
// be taken for an agency's consumer (ag_…) or an older version's (gw_…).
func GatewayConsumerName(gatewayID string, kind gateway.PacketKind) string {
	return "gwc_" + string(kind) + "_" + sanitize(gatewayID)
}

// CatchUpConsumerName returns the name of a gateway's catch-up consumer on
// the stream of kind: gwu_edoc_<id> or gwu_status_<id>. It exists only
// while agencies added to the gateway are read up from their handover
// points.
func CatchUpConsumerName(gatewayID string, kind gateway.PacketKind) string {
	return "gwu_" + string(kind) + "_" + sanitize(gatewayID)
}

// Filters returns the filter subjects of a gateway consumer on the stream
// of kind: the subject of each hosted agency, and for each delegated
// subtree root r both the subject of r and every subject under it
// (lt.<kind>.<r> and lt.<kind>.<r>.>). nats-server refuses a consumer
// whose filters overlap, so an agency under a delegated subtree, a subtree
// under another and a code given twice are folded into what covers them.
// The result is sorted, so that two calls for the same set compare equal
// and an unchanged set needs no update.
//
// It is refused when there is nothing to filter on (a consumer with no
// filter would be given the whole stream) and when more than
// MaxFilterLiterals single agencies remain outside the subtrees.
func Filters(kind gateway.PacketKind, agencies, subtrees []envelope.AgencyCode) ([]string, error) {
	roots := make(map[string]bool, len(subtrees))
	for i, r := range subtrees {
		if r.IsZero() {
			return nil, fmt.Errorf("bus: filters: subtree %d has no code", i+1)
		}
		roots[r.Tokens()] = true
	}
	// covered reports whether a root covers tokens or one of its parents:
	// a code has a handful of levels, so this is a few lookups.
	covered := func(tokens string) bool {
		for {
			if roots[tokens] {
				return true
			}
			i := strings.LastIndexByte(tokens, '.')
			if i < 0 {
				return false
			}
			tokens = tokens[:i]
		}
	}
	// A root under another root is covered by it.
	var kept []string
	for r := range roots {
		if i := strings.LastIndexByte(r, '.'); i < 0 || !covered(r[:i]) {
			kept = append(kept, r)
		}
	}

	prefix := gateway.Subject(kind, envelope.AgencyCode{})
	literals := make([]string, 0, len(agencies))
	for i, a := range agencies {
		if a.IsZero() {
			return nil, fmt.Errorf("bus: filters: agency %d has no code", i+1)
		}
		if t := a.Tokens(); !covered(t) {
			literals = append(literals, t)
		}
	}
	slices.Sort(literals)
	literals = slices.Compact(literals)
	if len(literals) > MaxFilterLiterals {
		return nil, fmt.Errorf("bus: filters: %d agencies outside delegated subtrees, more than the %d one consumer may filter on; delegate subtrees (a province's communes under its code) instead",
			len(literals), MaxFilterLiterals)
	}
	if len(literals)+len(kept) == 0 {
		return nil, fmt.Errorf("bus: filters: no agency and no subtree: a consumer without filters would read every agency's %s", kind)
	}

	filters := make([]string, 0, len(literals)+2*len(kept))
	for _, t := range literals {
		filters = append(filters, prefix+t)
	}
	for _, r := range kept {
		filters = append(filters, prefix+r, prefix+r+".>")
	}
	slices.Sort(filters)
	return filters, nil
}

// gatewayConsumerConfig is a gateway's durable pull consumer on one
// stream: its filters, explicit acks, redelivered without limit, and at
// most MaxAckPending messages out at once (explicit: nats-server's default
// is the same 1,000 today, but a default may change). Unlike an agency's
// consumer it starts with what arrives from its creation on: what waited
// before for an agency it takes is read by a catch-up consumer from that
// agency's handover point.
func gatewayConsumerConfig(name, what string, filters []string, ackWait time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Name:           name,
		Durable:        name,
		Description:    what,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     -1,
		MaxAckPending:  gatewayMaxAckPending,
		FilterSubjects: slices.Clone(filters),
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
	}
}

// gatewayMaxAckPending bounds the messages a gateway consumer has out at
// once, all its agencies together.
const gatewayMaxAckPending = 1000

// metaUntil is the metadata key of the last stream sequence a catch-up
// consumer is to read: what is above it came through the gateway
// consumer. The points of the agencies whose handover point is above the
// consumer's own start are kept with it, packed (encodeStarts).
const metaUntil = "lt.until"

// catchUpConsumerConfig is a gateway's catch-up consumer on one stream:
// for each subject being caught up, the messages from its handover point
// (starts, by subject; 1 for an agency nobody held before) up to until,
// the stream's last sequence when the gateway consumer took the subjects.
// One consumer reads them all from the lowest point; the points above it
// are kept in the metadata, so that whoever reads the consumer — the
// gateway, after a restart too — skips what another consumer owns
// (catchUp.owns).
func catchUpConsumerConfig(name, what string, starts map[string]uint64, until uint64, ackWait time.Duration) (jetstream.ConsumerConfig, error) {
	if len(starts) == 0 {
		return jetstream.ConsumerConfig{}, fmt.Errorf("bus: catch-up consumer %s: no subject to catch up", name)
	}
	filters := make([]string, 0, len(starts))
	low := uint64(0)
	for s, p := range starts {
		if p == 0 {
			return jetstream.ConsumerConfig{}, fmt.Errorf("bus: catch-up consumer %s: %s has no handover point (the first sequence is 1)", name, s)
		}
		filters = append(filters, s)
		if low == 0 || p < low {
			low = p
		}
	}
	slices.Sort(filters)
	above := make(map[string]uint64, len(starts))
	for s, p := range starts {
		if p > low {
			above[s] = p
		}
	}
	meta, err := withStarts(map[string]string{metaUntil: strconv.FormatUint(until, 10)}, above)
	if err != nil {
		return jetstream.ConsumerConfig{}, fmt.Errorf("bus: catch-up consumer %s: %w", name, err)
	}
	return jetstream.ConsumerConfig{
		Name:           name,
		Durable:        name,
		Description:    what,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    low,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     -1,
		MaxAckPending:  gatewayMaxAckPending,
		FilterSubjects: filters,
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
		Metadata:       meta,
	}, nil
}

// catchUp is what a catch-up consumer's configuration says it owns.
type catchUp struct {
	from   uint64            // the consumer's start: every subject's point unless in start
	until  uint64            // the last sequence it owns
	starts map[string]uint64 // the points above from, by subject
}

// readCatchUp reads a catch-up consumer's configuration. A consumer
// without lt.until was not made by Assign: it owns nothing, rather than
// everything. A point below the consumer's start is refused: the messages
// between them would never be delivered.
func readCatchUp(cfg jetstream.ConsumerConfig) (catchUp, error) {
	u, ok := cfg.Metadata[metaUntil]
	if !ok {
		return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: no %s in its metadata", cfg.Durable, metaUntil)
	}
	until, err := strconv.ParseUint(u, 10, 64)
	if err != nil {
		return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: %s %q: %w", cfg.Durable, metaUntil, u, err)
	}
	starts, err := decodeStarts(cfg.Metadata)
	if err != nil {
		return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: %w", cfg.Durable, err)
	}
	c := catchUp{from: cfg.OptStartSeq, until: until, starts: starts}
	if cfg.DeliverPolicy == jetstream.DeliverAllPolicy || c.from == 0 {
		c.from = 1
	}
	for s, p := range starts {
		if p < c.from {
			return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: the point of %s, %d, is below the consumer's start %d", cfg.Durable, s, p, c.from)
		}
	}
	return c, nil
}

// owns reports whether the message of subject at stream sequence seq is the
// catch-up's to hand over: at or after its subject's point, and not after
// until. The others are acknowledged unhandled — below the point another
// gateway had them, above until the gateway consumer has them.
func (c catchUp) owns(subject string, seq uint64) bool {
	return seq >= c.startOf(subject) && seq <= c.until
}

// startOf returns the point of the filter that matches subject: the
// subject itself, or the nearest subtree above it (lt.edoc.H41.>).
func (c catchUp) startOf(subject string) uint64 {
	if p, ok := c.starts[subject]; ok {
		return p
	}
	for s := subject; ; {
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			return c.from
		}
		s = s[:i]
		if p, ok := c.starts[s+".>"]; ok {
			return p
		}
	}
}

// BucketHandover is the administrator's KV bucket of handover points:
// under start.<stream>.<filter> (a subtree's ".>" written "=", which no
// code contains), the first stream sequence the filter's next holder is
// to read. Gateways' credentials cannot read it.
const BucketHandover = "LT_HANDOVER"

// ErrCatchUpRunning means that a gateway's catch-up consumer still exists
// and the assignment would add subjects to the gateway (or take subjects
// the catch-up of another gateway reads): what it was made for has not
// all been read, and a second would need other handover points. Assign
// again once the gateway has read it (and deleted it). An assignment that
// only takes subjects away is not refused: it takes them out of the
// catch-up too.
var ErrCatchUpRunning = errors.New("bus: a catch-up is still running for the gateway or leaf node")

// Assignment is what one gateway is to read: its agencies, and the
// subtrees delegated to it (every agency under each root, present and
// future).
type Assignment struct {
	Gateway  string
	Agencies []envelope.AgencyCode
	Subtrees []envelope.AgencyCode
	// AckWait is the consumers' ack wait; 0 means DefaultAckWait.
	AckWait time.Duration
}

// Assign makes the gateway's consumers read what a says, on both streams,
// from exact handover points, so that nothing is lost and no message is
// read by two gateways (docs/design/consumers.md, §2.5–2.6):
//
//   - the gateway consumer is created (from now on) or its filters are
//     updated; it is left alone when they are already those of a;
//   - a subject another gateway's consumer has is handed over from it
//     (HandOver) first;
//   - a subject taken out of the gateway's filters and given to nobody
//     keeps its point in BucketHandover for whoever takes it next: the
//     gateway's ack floor + 1, since it cannot handle what it holds of a
//     subject it no longer hosts;
//   - a subject added that the gateway consumer read already, under a
//     subtree it had, goes on being read from where it is;
//   - another subject added is read from its point — the one kept for
//     it or for a subtree above it let go since, whichever is later, or
//     for an agency of the per-agency consumers of the version before,
//     its acknowledged floor + 1, else the stream's first message — up to the
//     stream's last sequence once the gateway consumer has it, by a
//     catch-up consumer (CatchUpConsumerName). Messages in between may come
//     through both, to the same gateway, whose store keeps one. (A
//     subtree given to a gateway that read agencies under it one by one
//     is read from its own point too: what the gateway had of them comes
//     again, once, and its store keeps one);
//   - while that catch-up runs, nothing can be added (ErrCatchUpRunning),
//     but a subject taken away is taken out of the catch-up as well, its
//     point no later than the catch-up's ack floor + 1 (newCatchUpRelease):
//     a gateway restarted without an agency never reads the catch-up of
//     it to its end.
//
// It is the administrator's act on a hub (a gateway may not change
// filters), and the gateway's own on its embedded server.
func (b *Bus) Assign(ctx context.Context, a Assignment) error {
	if err := CheckID(a.Gateway); err != nil {
		// Consumers are named after it: two ids that a name could not
		// tell apart (a.b and a_b) would share them.
		return fmt.Errorf("bus: assign: gateway %w", err)
	}
	if a.AckWait <= 0 {
		a.AckWait = DefaultAckWait
	}
	kv, err := b.handoverBucket(ctx)
	if err != nil {
		return err
	}
	// Refused on both streams before either is changed; each checks
	// again under its lock.
	for _, s := range packetStreams {
		want, err := Filters(s.kind, a.Agencies, a.Subtrees)
		if err != nil {
			return fmt.Errorf("bus: assign gateway %s: %w", a.Gateway, err)
		}
		added, err := b.addedTo(ctx, s.stream, GatewayConsumerName(a.Gateway, s.kind), false, want)
		if err != nil {
			return fmt.Errorf("bus: assign gateway %s: %w", a.Gateway, err)
		}
		if err := b.refuseLeafRemakes(ctx, kv, s.stream, "", added); err != nil {
			return fmt.Errorf("bus: assign gateway %s: %w", a.Gateway, err)
		}
	}
	// Both streams at once: nats-server checks thousands of filters for
	// overlap in seconds, each consumer on its own.
	errs := make([]error, len(packetStreams))
	var wg sync.WaitGroup
	for i, s := range packetStreams {
		want, err := Filters(s.kind, a.Agencies, a.Subtrees)
		if err != nil {
			return fmt.Errorf("bus: assign gateway %s: %w", a.Gateway, err)
		}
		wg.Go(func() {
			if err := b.assign(ctx, kv, s.stream, s.kind, a, want); err != nil {
				errs[i] = fmt.Errorf("bus: assign gateway %s on %s: %w", a.Gateway, s.stream, err)
			}
		})
	}
	wg.Wait()
	// A catch-up running on one stream is worth saying only when the
	// other has no worse error.
	if slices.ContainsFunc(errs, func(err error) bool { return err != nil && !errors.Is(err, ErrCatchUpRunning) }) {
		errs = slices.DeleteFunc(errs, func(err error) bool { return errors.Is(err, ErrCatchUpRunning) })
	}
	return errors.Join(errs...)
}

// assign is Assign on one stream.
func (b *Bus) assign(ctx context.Context, kv jetstream.KeyValue, stream string, kind gateway.PacketKind, a Assignment, want []string) error {
	if _, ok := ctx.Deadline(); !ok {
		// Room for a hand-over to wait for what the consumer it takes
		// from has in hand (settled): a packet nakked for later holds
		// its ack floor back, and handing over from the floor would
		// give the next holder again every packet acknowledged above it.
		// Twice: a catch-up's subjects are handed over from it before
		// the gateway consumer's (releaseCatchUp).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.opts.Timeout+2*handoverPause)
		defer cancel()
	}
	name, catchName := GatewayConsumerName(a.Gateway, kind), CatchUpConsumerName(a.Gateway, kind)
	unlock, err := b.lock(ctx, kv, stream)
	if err != nil {
		return err
	}
	defer unlock()
	if err := b.finishCatchUp(ctx, kv, stream, kind, a); err != nil {
		return err
	}
	others, err := b.gatewayConsumers(ctx, stream, name)
	if err != nil {
		return err
	}
	var current []string
	own, err := b.js.Consumer(ctx, stream, name)
	exists := err == nil
	switch {
	case exists:
		current = filtersOf(own.CachedInfo().Config)
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return err
	}
	added := slices.DeleteFunc(slices.Clone(want), func(f string) bool { return slices.Contains(current, f) })
	removed := slices.DeleteFunc(slices.Clone(current), func(f string) bool { return slices.Contains(want, f) })
	// A leaf node's consumer left half made again: the subjects recorded
	// for it may be shown by no consumer, and added here they would go
	// to two holders. Subjects it does not record, or taken away, are
	// not held back.
	if err := b.refuseLeafRemakes(ctx, kv, stream, "", added); err != nil {
		return err
	}
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	// Subjects the consumer reads already, under a subtree it had (a
	// province's gateway given its agencies one by one instead of its
	// subtree): it goes on reading them from where it is, with no
	// catch-up — one would read their past again, all of it.
	mine := newFilterSet(current)
	fresh := slices.DeleteFunc(slices.Clone(added), func(f string) bool { return mine.covers(f) })
	// The gateway's catch-up. An assignment that adds subjects would
	// need a second one, with points of its own (one per gateway and
	// stream): it waits for this one to end. One that only takes
	// subjects away takes them out of the catch-up too (releaseCatchUp):
	// a gateway restarted without an agency naks its packets, so a
	// catch-up that kept the agency would never end, and the assignment
	// that takes the agency away would wait for it for ever.
	var release *catchUpRelease
	switch cu, cerr := b.js.Consumer(ctx, stream, catchName); {
	case cerr == nil && len(fresh) > 0:
		return fmt.Errorf("%w: %s", ErrCatchUpRunning, catchName)
	case cerr == nil:
		if release, cerr = newCatchUpRelease(cu, removed); cerr != nil {
			return cerr
		}
	case cerr != nil && !errors.Is(cerr, jetstream.ErrConsumerNotFound):
		return cerr
	}

	// Subjects taken from other gateways: handed over from them before
	// this gateway's consumer has them, so that no message goes to both.
	starts := make(map[string]uint64, len(fresh))
	for _, o := range others {
		var theirs []string
		for _, f := range fresh {
			if slices.Contains(o.filters, f) {
				theirs = append(theirs, f)
				continue
			}
			// A subtree over another gateway's agency, or an agency
			// under another gateway's subtree: both would read it.
			if i := slices.IndexFunc(o.filters, func(g string) bool { return overlaps(f, g) }); i >= 0 {
				return fmt.Errorf("%s overlaps %s of %s: take that from it first", f, o.filters[i], o.name)
			}
		}
		if len(theirs) == 0 {
			continue
		}
		if o.unreadable != nil {
			// The points of what is taken from it are not known.
			return o.unreadable
		}
		// Its catch-up would go on handing it what it owns of them.
		if cu, err := b.anyConsumer(ctx, stream, catchUpNameOf(o.name)); err == nil {
			cf := filtersOf(cu.CachedInfo().Config)
			if slices.ContainsFunc(theirs, func(f string) bool { return slices.ContainsFunc(cf, func(g string) bool { return overlaps(f, g) }) }) {
				return fmt.Errorf("%w: %s, which is still catching up on %v; assign again once it is done, or first assign its gateway without them", ErrCatchUpRunning, cu.CachedInfo().Name, theirs)
			}
		} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return err
		}
		// What an assignment of that gateway that died took out of its
		// catch-up and not out of its gateway consumer (putReleased).
		owed, err := released(ctx, kv, stream, o.name)
		if err != nil {
			return err
		}
		point := func(f string, p uint64) uint64 {
			if q, ok := owed[f]; ok {
				return min(p, q)
			}
			return p
		}
		// Should this process die between the hand-over and the points'
		// record, the next assignment starts from these: at most what
		// the other gateway had in hand is read again, not its whole
		// past.
		for _, f := range theirs {
			if err := putStart(ctx, kv, stream, f, point(f, max(o.ackFloor+1, o.starts[f]))); err != nil {
				return err
			}
		}
		next, err := b.handOver(ctx, stream, o.name, theirs, nil, nil)
		if err == nil && b.handedOver != nil {
			err = b.handedOver()
		}
		if err != nil {
			return fmt.Errorf("take %v from %s: %w", theirs, o.name, err)
		}
		for _, f := range theirs {
			// Never below where that gateway's own hold began: what
			// came before was its predecessor's.
			p := point(f, max(next, o.starts[f]))
			if err := putStartAfter(ctx, kv, stream, f, p); err != nil {
				return err
			}
			starts[f] = p
		}
		if len(owed) > 0 {
			maps.DeleteFunc(owed, func(f string, _ uint64) bool { return slices.Contains(theirs, f) })
			if err := putReleasedAfter(ctx, kv, stream, o.name, owed); err != nil {
				return err
			}
		}
	}
	// The others' points, a few requests each: sixteen at a time, since
	// a gateway moving from per-agency consumers brings thousands.
	var (
		todo  = slices.DeleteFunc(slices.Clone(fresh), func(f string) bool { _, ok := starts[f]; return ok })
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, pendingRequests)
	)
	for _, f := range todo {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			p, err := b.startOf(ctx, kv, stream, kind, f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = cmp.Or(first, err)
				return
			}
			starts[f] = p
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}

	// From here the gateway consumer has the added subjects: the catch-up
	// is recorded first, so that if this process dies before making it, the
	// next Assign does (finishCatchUp), and nothing that waited is lost.
	if len(starts) > 0 {
		if err := putPending(ctx, kv, stream, a.Gateway, starts); err != nil {
			return err
		}
	}
	// The added subjects' points go with them into the gateway
	// consumer's metadata: it goes on from where it last delivered, not
	// from now, so it may deliver messages of them from before their
	// points — another gateway's — which the gateway then leaves alone
	// (gate.owns).
	meta := func(old map[string]string) (map[string]string, error) {
		var floor uint64
		if exists {
			floor = own.CachedInfo().AckFloor.Stream
		}
		return startsMetadata(old, want, starts, floor)
	}
	// Subjects released: their point is kept for the next holder — first
	// a provisional one at this consumer's ack floor, as for subjects
	// taken above, should this process die before the exact one.
	updated := false
	if len(removed) > 0 {
		held, err := decodeStarts(own.CachedInfo().Config.Metadata)
		if err != nil {
			return fmt.Errorf("consumer %s: %w", name, err)
		}
		// A subject the catch-up also reads is first taken out of it,
		// while the gateway consumer still has it (releaseCatchUp), and
		// kept from no later than the catch-up's point of it
		// (release.point), so that what the catch-up had not had
		// acknowledged is read again by the next holder. The
		// provisional points are recorded first: should this process
		// die before the gateway consumer's hand-over, the next
		// assignment still keeps them (released).
		prior, err := released(ctx, kv, stream, name)
		if err != nil {
			return err
		}
		releasing := release != nil && len(release.taken) > 0
		if releasing {
			owed := maps.Clone(prior)
			for f, p := range release.points {
				if q, ok := owed[f]; !ok || p < q {
					owed[f] = p
				}
			}
			if err := putReleased(ctx, kv, stream, name, owed); err != nil {
				return err
			}
			if err := b.releaseCatchUp(ctx, stream, release); err != nil {
				return err
			}
		}
		point := func(f string, p uint64) uint64 {
			p = release.point(f, p)
			if q, ok := prior[f]; ok {
				p = min(p, q)
			}
			return p
		}
		for _, f := range removed {
			if err := putStart(ctx, kv, stream, f, point(f, max(own.CachedInfo().AckFloor.Stream+1, held[f]))); err != nil {
				return err
			}
		}
		// The added subjects come in with the same update: the
		// consumer never has no filter.
		next, err := b.handOver(ctx, stream, name, removed, added, meta)
		if err != nil {
			return err
		}
		for _, f := range removed {
			if err := putStartAfter(ctx, kv, stream, f, point(f, max(next, held[f]))); err != nil {
				return err
			}
		}
		// Kept: the record is no longer needed for them. A subject of
		// an earlier record the gateway consumer still has stays in it
		// until it lets the subject go.
		if releasing || len(prior) > 0 {
			maps.DeleteFunc(prior, func(f string, _ uint64) bool { return !slices.Contains(want, f) })
			if err := putReleasedAfter(ctx, kv, stream, name, prior); err != nil {
				return err
			}
		}
		updated = true
	}

	cfg := gatewayConsumerConfig(name, "lienthong "+string(kind)+" packets for gateway "+a.Gateway, want, a.AckWait)
	switch {
	case !exists:
		// Made now, it delivers from now.
		_, err = b.js.CreateConsumer(ctx, stream, cfg)
	case !updated:
		ucfg := own.CachedInfo().Config
		ucfg.FilterSubject, ucfg.FilterSubjects = "", want
		if ucfg.Metadata, err = meta(ucfg.Metadata); err == nil {
			_, err = b.js.UpdateConsumer(ctx, stream, ucfg)
		}
	}
	if err != nil {
		return fmt.Errorf("consumer %s: %w", name, err)
	}
	if len(starts) == 0 {
		return nil
	}
	return b.makeCatchUp(ctx, kv, stream, kind, a, starts)
}

// releasedKey is the handover bucket's key of the points of subjects taken
// out of a gateway's catch-up on stream and not yet out of its gateway
// consumer, name: an assignment that takes them from that consumer, the
// gateway's own or another's, keeps its point at most these.
func releasedKey(stream, name string) string {
	return "released." + stream + "." + name
}

// released returns the points recorded by putReleased, by subject: none
// if there is no record.
func released(ctx context.Context, kv jetstream.KeyValue, stream, name string) (map[string]uint64, error) {
	e, err := kv.Get(ctx, releasedKey(stream, name))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return map[string]uint64{}, nil
	case err != nil:
		return nil, fmt.Errorf("the points of subjects taken out of a catch-up: %w", err)
	}
	owed := map[string]uint64{}
	if err := json.Unmarshal(e.Value(), &owed); err != nil {
		return nil, fmt.Errorf("the points of subjects taken out of a catch-up, %s: %w", e.Key(), err)
	}
	return owed, nil
}

// putReleased records the points of subjects about to be taken out of a
// gateway's catch-up on stream, which its gateway consumer name still has:
// the catch-up's messages of them the gateway has not had acknowledged
// are read by nobody else, and the hand-over from the gateway consumer
// that follows keeps its own point, at most this one. An empty record is
// deleted.
func putReleased(ctx context.Context, kv jetstream.KeyValue, stream, name string, owed map[string]uint64) error {
	if len(owed) == 0 {
		if err := kv.Delete(ctx, releasedKey(stream, name)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("forget the points of subjects taken out of the catch-up of %s: %w", name, err)
		}
		return nil
	}
	data, err := json.Marshal(owed)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, releasedKey(stream, name), data); err != nil {
		return fmt.Errorf("record the points of subjects taken out of the catch-up of %s: %w", name, err)
	}
	return nil
}

// putReleasedAfter is putReleased once a hand-over is done, given its own
// few seconds as putStartAfter is.
func putReleasedAfter(ctx context.Context, kv jetstream.KeyValue, stream, name string, owed map[string]uint64) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return putReleased(pctx, kv, stream, name, owed)
}

// startsMetadata returns a gateway consumer's metadata old with the start
// points of starts (packed, as a catch-up's: encodeStarts) for the
// subjects it reads (filters), and without the points of subjects it no
// longer reads or that are at or below its ack floor — every message under
// them is settled, none comes again. A subject with no point (1) is read
// whole. Points of the version before (lt.start.<subject>) are read and
// written again packed.
func startsMetadata(old map[string]string, filters []string, starts map[string]uint64, floor uint64) (map[string]string, error) {
	held, err := decodeStarts(old)
	if err != nil {
		return nil, err
	}
	reads := make(map[string]bool, len(filters))
	for _, f := range filters {
		reads[f] = true
	}
	keep := make(map[string]uint64, len(held)+len(starts))
	for s, p := range held {
		if p > floor+1 && reads[s] {
			keep[s] = p
		}
	}
	for s, p := range starts {
		if p > 1 && p > floor+1 {
			keep[s] = p
		} else {
			delete(keep, s)
		}
	}
	return withStarts(old, keep)
}

// makeCatchUp makes the gateway's catch-up consumer on stream for starts,
// up to the stream's last sequence now — what the gateway consumer, which
// has the subjects already, may not have delivered — and forgets the
// record of it.
func (b *Bus) makeCatchUp(ctx context.Context, kv jetstream.KeyValue, stream string, kind gateway.PacketKind, a Assignment, starts map[string]uint64) error {
	catchName := CatchUpConsumerName(a.Gateway, kind)
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	until := st.CachedInfo().State.LastSeq
	for f, p := range starts {
		if p > until {
			delete(starts, f)
		}
	}
	if len(starts) > 0 {
		ccfg, err := catchUpConsumerConfig(catchName, "lienthong catch-up of "+string(kind)+" packets for gateway "+a.Gateway, starts, until, a.AckWait)
		if err != nil {
			return err
		}
		c, err := b.js.CreateConsumer(ctx, stream, ccfg)
		if err != nil {
			return fmt.Errorf("catch-up consumer %s: %w", catchName, err)
		}
		if c.CachedInfo().NumPending == 0 {
			// Nothing waited for the subjects: no catch-up to read.
			if err := b.js.DeleteConsumer(ctx, stream, catchName); err != nil {
				return fmt.Errorf("delete the empty catch-up consumer %s: %w", catchName, err)
			}
		} else {
			b.log.Info("catch-up", zap.String("gateway", a.Gateway), zap.String("stream", stream), zap.Int("subjects", len(starts)), zap.Uint64("until", until), zap.Uint64("pending", c.CachedInfo().NumPending))
		}
	}
	if err := kv.Delete(ctx, pendingKey(stream, a.Gateway)); err != nil {
		return fmt.Errorf("forget the record of the catch-up %s: %w", catchName, err)
	}
	return nil
}

// finishCatchUp makes the catch-up an earlier Assign recorded and did not
// make (putPending), if there is one and it was not made.
func (b *Bus) finishCatchUp(ctx context.Context, kv jetstream.KeyValue, stream string, kind gateway.PacketKind, a Assignment) error {
	e, err := kv.Get(ctx, pendingKey(stream, a.Gateway))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("the record of a catch-up: %w", err)
	}
	var starts map[string]uint64
	if err := json.Unmarshal(e.Value(), &starts); err != nil {
		return fmt.Errorf("the record of a catch-up %s: %w", e.Key(), err)
	}
	if _, err := b.js.Consumer(ctx, stream, CatchUpConsumerName(a.Gateway, kind)); err == nil {
		// Made; only its record was left.
		if err := kv.Delete(ctx, e.Key()); err != nil {
			return fmt.Errorf("forget the record of a catch-up: %w", err)
		}
		return nil
	}
	b.log.Warn("catch-up recorded but not made: making it", zap.String("gateway", a.Gateway), zap.String("stream", stream), zap.Int("subjects", len(starts)))
	return b.makeCatchUp(ctx, kv, stream, kind, a, starts)
}

// pendingKey is the handover bucket's key of the catch-up being made for
// gateway on stream.
func pendingKey(stream, gatewayID string) string {
	return "catchup." + stream + "." + sanitize(gatewayID)
}

// putPending records the catch-up about to be made for gateway on stream.
func putPending(ctx context.Context, kv jetstream.KeyValue, stream, gatewayID string, starts map[string]uint64) error {
	data, err := json.Marshal(starts)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, pendingKey(stream, gatewayID), data); err != nil {
		return fmt.Errorf("record the catch-up of gateway %s: %w", gatewayID, err)
	}
	return nil
}

// overlaps reports whether two filters of the shapes Filters makes (a
// subject, or a subtree's p.>) match a subject in common.
func overlaps(a, b string) bool {
	pa, wa := strings.CutSuffix(a, ".>")
	pb, wb := strings.CutSuffix(b, ".>")
	switch {
	case !wa && !wb:
		return a == b
	case wa && !wb:
		return strings.HasPrefix(b, pa+".")
	case !wa && wb:
		return strings.HasPrefix(a, pb+".")
	}
	return strings.HasPrefix(pa+".", pb+".") || strings.HasPrefix(pb+".", pa+".")
}

// lockStale is how old a lock of the handover bucket may be before
// another Assign takes it: its holder died.
const lockStale = 2 * time.Minute

// lock takes the handover bucket's lock of stream, waiting for it while
// another Assign holds it, so that two assignments never refilter the same
// consumers at once. unlock releases it.
func (b *Bus) lock(ctx context.Context, kv jetstream.KeyValue, stream string) (unlock func(), err error) {
	key := "lock." + stream
	for {
		now := []byte(time.Now().UTC().Format(time.RFC3339Nano))
		rev, err := kv.Create(ctx, key, now)
		if errors.Is(err, jetstream.ErrKeyExists) {
			if e, gerr := kv.Get(ctx, key); gerr == nil {
				at, perr := time.Parse(time.RFC3339Nano, string(e.Value()))
				if perr != nil || time.Since(at) > lockStale {
					rev, err = kv.Update(ctx, key, now, e.Revision())
				}
			}
		}
		switch {
		case err == nil:
			return func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := kv.Delete(uctx, key, jetstream.LastRevision(rev)); err != nil {
					b.log.Warn("release the handover lock", zap.String("stream", stream), zap.Error(err))
				}
			}, nil
		case !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyNotFound) && !isWrongSequence(err):
			return nil, fmt.Errorf("take the handover lock of %s: %w", stream, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the handover lock of %s (another assignment runs): %w", stream, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// isWrongSequence reports whether err is a KV update that lost a race.
func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// gatewayConsumer is another gateway's consumer on a stream, and its
// filters.
type gatewayConsumer struct {
	name     string
	filters  []string
	ackFloor uint64            // when listed
	starts   map[string]uint64 // its subjects' start points (metadata)
	// unreadable says why its start points cannot be read: an
	// assignment that takes none of its subjects goes on without them.
	unreadable error
}

// gatewayConsumers lists the gateway consumers and the leaf nodes'
// consumers on stream other than except: a hundred or so, one per gateway
// and leaf node.
func (b *Bus) gatewayConsumers(ctx context.Context, stream, except string) ([]gatewayConsumer, error) {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	var out []gatewayConsumer
	l := st.ListConsumers(ctx)
	for info := range l.Info() {
		// A leaf node's consumer too: what it has is handed over from
		// it as from a gateway's.
		if (!strings.HasPrefix(info.Name, "gwc_") && !strings.HasPrefix(info.Name, "leaf_")) || info.Name == except {
			continue
		}
		starts, err := decodeStarts(info.Config.Metadata)
		if err != nil {
			err = fmt.Errorf("consumer %s: %w", info.Name, err)
		}
		out = append(out, gatewayConsumer{name: info.Name, filters: filtersOf(info.Config), ackFloor: info.AckFloor.Stream, starts: starts, unreadable: err})
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	return out, nil
}

// catchUpNameOf returns the name of the catch-up of a gateway's or a leaf
// node's consumer name: gwc_… has gwu_…, leaf_… has leafu_….
func catchUpNameOf(name string) string {
	if rest, ok := strings.CutPrefix(name, "leaf_"); ok {
		return "leafu_" + rest
	}
	return "gwu" + strings.TrimPrefix(name, "gwc")
}

// filtersOf returns a consumer's filters, one or many.
func filtersOf(cfg jetstream.ConsumerConfig) []string {
	if cfg.FilterSubject != "" {
		return []string{cfg.FilterSubject}
	}
	return slices.Clone(cfg.FilterSubjects)
}

// startOf returns where the next holder of filter f starts: the point kept
// in the handover bucket; else, for a single agency whose per-agency
// consumer (ConsumerName) exists, its acknowledged floor + 1, that
// consumer being paused for a week so that a gateway of the version before
// reads no more of it; else the stream's first message. The per-agency
// consumers are those of the gateway being assigned (docs/design/
// consumers.md §3: its old version is stopped first), so what is read
// twice is read by one gateway.
func (b *Bus) startOf(ctx context.Context, kv jetstream.KeyValue, stream string, kind gateway.PacketKind, f string) (uint64, error) {
	// The point kept for f, and those kept for the subtrees above it when
	// they were let go (a province's gateway no longer delegated its
	// subtree: its agencies nobody took one by one were its own until
	// then). The latest release is the highest point: each holder starts
	// at its predecessor's and is let go at its own ack floor or above.
	var p uint64
	for _, k := range append([]string{f}, subtreesAbove(f)...) {
		q, err := keptPoint(ctx, kv, stream, k)
		if err != nil {
			return 0, err
		}
		p = max(p, q)
	}
	if p > 0 {
		return p, nil
	}
	tokens, ok := strings.CutPrefix(f, gateway.Subject(kind, envelope.AgencyCode{}))
	if !ok || strings.HasSuffix(tokens, ">") {
		return 1, nil
	}
	legacy := consumerNameOf(tokens, kind)
	c, err := b.js.Consumer(ctx, stream, legacy)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return 1, nil
	case err != nil:
		return 0, fmt.Errorf("per-agency consumer %s: %w", legacy, err)
	}
	if _, err := b.js.PauseConsumer(ctx, stream, legacy, time.Now().Add(7*24*time.Hour)); err != nil {
		return 0, fmt.Errorf("pause the per-agency consumer %s: %w", legacy, err)
	}
	// Its ack floor once paused: an acknowledgement still on its way
	// makes the start only lower, and what is read twice is read by the
	// same gateway, whose store keeps one.
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("per-agency consumer %s: %w", legacy, err)
	}
	return info.AckFloor.Stream + 1, nil
}

// keptPoint returns the handover point kept for filter f on stream, 0 if
// none is.
func keptPoint(ctx context.Context, kv jetstream.KeyValue, stream, f string) (uint64, error) {
	e, err := kv.Get(ctx, startKey(stream, f))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("handover point of %s: %w", f, err)
	}
	p, perr := strconv.ParseUint(string(e.Value()), 10, 64)
	if perr != nil || p == 0 {
		return 0, fmt.Errorf("handover point %s: %q is not a sequence", e.Key(), e.Value())
	}
	return p, nil
}

// subtreesAbove returns the subtree filters that cover filter f, the
// nearest first: lt.edoc.H41.12.05 and lt.edoc.H41.12.> are under
// lt.edoc.H41.12.> (the first only) and lt.edoc.H41.>. The kind's prefix
// (lt.edoc.) is never one.
func subtreesAbove(f string) []string {
	s := strings.TrimSuffix(strings.TrimSuffix(f, ">"), ".")
	var out []string
	for {
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			return out
		}
		s = s[:i]
		if strings.Count(s, ".") < 2 {
			// lt.edoc: the stream, not an agency.
			return out
		}
		out = append(out, s+".>")
	}
}

// startKey is the handover bucket's key of filter f on stream.
func startKey(stream, f string) string {
	return "start." + stream + "." + strings.ReplaceAll(f, ">", "=")
}

// putStart keeps the point p of filter f on stream.
func putStart(ctx context.Context, kv jetstream.KeyValue, stream, f string, p uint64) error {
	if _, err := kv.Put(ctx, startKey(stream, f), []byte(strconv.FormatUint(p, 10))); err != nil {
		return fmt.Errorf("keep the handover point of %s: %w", f, err)
	}
	return nil
}

// putStartAfter is putStart once a hand-over is done: given its own few
// seconds, whatever is left of ctx, since the provisional point it
// replaces would have the next holder read again what was in hand.
func putStartAfter(ctx context.Context, kv jetstream.KeyValue, stream, f string, p uint64) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return putStart(pctx, kv, stream, f, p)
}

// handoverBucket creates or binds the handover bucket.
func (b *Bus) handoverBucket(ctx context.Context) (jetstream.KeyValue, error) {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	kv, err := createOrUpdateBucket(ctx, b.js, jetstream.KeyValueConfig{
		Bucket:      BucketHandover,
		Description: "lienthong handover points of agencies between gateways (administrator's)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: create or update key-value bucket %s: %w", BucketHandover, err)
	}
	return kv, nil
}
