package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerStatus is what the hub holds of one gateway's consumer on one
// stream: its gateway consumer (gwc_…) or its catch-up (gwu_…); or of a
// leaf node's (leaf_…, leafu_…), the source of the leaf's stream.
type ConsumerStatus struct {
	Stream, Name string
	// CatchUp: a catch-up consumer, reading from From up to Until.
	CatchUp     bool
	From, Until uint64
	// Filters is how many subjects it reads; Starts how many of them
	// carry a start point (given lately, see Assign).
	Filters, Starts int
	// Unreadable says why its start points (or, of a catch-up, its
	// bounds) could not be read; empty when they could. A gateway does not
	// read such a consumer's packets, and Assign refuses to change it.
	Unreadable string
	// Pending is what it has not delivered yet; InHand what it delivered
	// and is not acknowledged; Redelivered, of those, delivered more than
	// once.
	Pending             uint64
	InHand, Redelivered int
	// Reading: a gateway is asking it for messages now (of a leaf node's:
	// the leaf's source is subscribed). Paused: a hand-over holds it, or
	// an old per-agency consumer was retired.
	Reading, Paused bool
}

// Status is what the hub holds for the gateways' consumers: per gateway
// and stream, its consumers; the old per-agency ones counted; and the
// administrator's hand-over bucket.
type Status struct {
	Consumers []ConsumerStatus
	// AgencyConsumers are the per-agency consumers (ag_…), of which
	// AgencyConsumersPaused were retired by an assignment.
	AgencyConsumers, AgencyConsumersPaused int
	// HandoverPoints are the subjects with a point kept for their next
	// holder; PendingCatchUps the catch-ups recorded and not yet made
	// (catchup.<stream>.<gateway>); PendingRemakes the remakes of leaf
	// nodes' consumers an assignment left half-done
	// (<stream>.<consumer>), which refuse other assignments that add the
	// subjects they record (ErrLeafRemakePending) until the leaf node's
	// next assignment finishes them; Locks the assignment locks held.
	// InactiveSources are the hub's packet streams' sources of leaf
	// nodes' out-streams (LT_OUT_…) not heard from for a while, or in
	// error: what the leaf's gateways publish waits there only for its
	// MaxAge. A leaf node's own sources of the hub are its consumers'
	// Reading (no: its source is not subscribed).
	InactiveSources []SourceStatus
	HandoverPoints  int
	PendingCatchUps []string
	PendingRemakes  []string
	Locks           []string
}

// SourceStatus is a source of a stream across a leaf node's link that is
// not heard from, or in error.
type SourceStatus struct {
	// Stream is the stream sourcing Source, in the leaf node's
	// JetStream Domain.
	Stream, Source, Domain string
	// Problem says what is wrong: an error, never heard from, not heard
	// from for a while; Lag is what it is behind, as last known.
	Problem string
	Lag     uint64
}

// Status reads what the hub holds for the gateways' consumers, with the
// administrator's credentials: a few requests per stream (consumers are
// listed a page at a time), whatever the number of agencies.
func (b *Bus) Status(ctx context.Context) (Status, error) {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	var out Status
	for _, s := range packetStreams {
		st, err := b.js.Stream(ctx, s.stream)
		if err != nil {
			return out, fmt.Errorf("bus: status: stream %s: %w", s.stream, err)
		}
		for _, src := range st.CachedInfo().Sources {
			if src == nil || src.External == nil {
				continue
			}
			d, ok := strings.CutPrefix(src.External.APIPrefix, "$JS.")
			if d, ok = strings.CutSuffix(d, ".API"); !ok {
				continue
			}
			if p := sourceProblem(src); p != "" {
				out.InactiveSources = append(out.InactiveSources, SourceStatus{Stream: s.stream, Source: src.Name, Domain: d, Problem: p, Lag: src.Lag})
			}
		}
		l := st.ListConsumers(ctx)
		for info := range l.Info() {
			switch {
			case strings.HasPrefix(info.Name, "ag_"):
				out.AgencyConsumers++
				if info.Paused {
					out.AgencyConsumersPaused++
				}
			case strings.HasPrefix(info.Name, "gwc_"), strings.HasPrefix(info.Name, "gwu_"),
				strings.HasPrefix(info.Name, "leaf_"), strings.HasPrefix(info.Name, "leafu_"):
				out.Consumers = append(out.Consumers, consumerStatus(s.stream, info))
			}
		}
		if err := l.Err(); err != nil {
			return out, fmt.Errorf("bus: status: consumers of %s: %w", s.stream, err)
		}
	}
	// By gateway, then stream, the gateway consumer before its catch-up.
	slices.SortFunc(out.Consumers, func(x, y ConsumerStatus) int {
		return cmp.Or(strings.Compare(x.Gateway(), y.Gateway()), strings.Compare(x.Stream, y.Stream), strings.Compare(x.Name, y.Name))
	})
	kv, err := b.js.KeyValue(ctx, BucketHandover)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return out, nil // no assignment was ever made
	}
	if err != nil {
		return out, fmt.Errorf("bus: status: %s: %w", BucketHandover, err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return out, fmt.Errorf("bus: status: keys of %s: %w", BucketHandover, err)
	}
	for k := range keys.Keys() {
		switch {
		case strings.HasPrefix(k, "start."):
			out.HandoverPoints++
		case strings.HasPrefix(k, "catchup."):
			out.PendingCatchUps = append(out.PendingCatchUps, strings.TrimPrefix(k, "catchup."))
		case strings.HasPrefix(k, "remake."):
			out.PendingRemakes = append(out.PendingRemakes, strings.TrimPrefix(k, "remake."))
		case strings.HasPrefix(k, "lock."):
			out.Locks = append(out.Locks, strings.TrimPrefix(k, "lock."))
		}
	}
	return out, nil
}

// Gateway returns the id of the gateway the consumer is for, as its name
// carries it (gwc_<kind>_<id>), or of a leaf node's, its domain
// (leaf_<kind>_<domain>).
func (c ConsumerStatus) Gateway() string {
	parts := strings.SplitN(c.Name, "_", 3)
	if len(parts) < 3 {
		return c.Name
	}
	return parts[2]
}

// consumerStatus reads a gateway's consumer from its info.
func consumerStatus(stream string, info *jetstream.ConsumerInfo) ConsumerStatus {
	cs := ConsumerStatus{
		Stream: stream, Name: info.Name, CatchUp: strings.HasPrefix(info.Name, "gwu_") || strings.HasPrefix(info.Name, "leafu_"),
		Filters: len(filtersOf(info.Config)), Pending: info.NumPending, InHand: info.NumAckPending,
		Redelivered: info.NumRedelivered, Reading: info.NumWaiting > 0, Paused: info.Paused,
	}
	if info.Config.DeliverSubject != "" {
		// A leaf node's, pushed to its source.
		cs.Reading = info.PushBound
	}
	if cs.CatchUp {
		cu, err := readCatchUp(info.Config)
		if err != nil {
			cs.Unreadable = err.Error()
			return cs
		}
		cs.From, cs.Until, cs.Starts = cu.from, cu.until, len(cu.starts)
		return cs
	}
	starts, err := decodeStarts(info.Config.Metadata)
	if err != nil {
		cs.Unreadable = err.Error()
		return cs
	}
	cs.Starts = len(starts)
	return cs
}
