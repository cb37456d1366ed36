package bus

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// Metadata keys of a catch-up consumer: the last stream sequence it is to
// read (what is above it came through the gateway consumer), and for each
// agency whose handover point is above the consumer's own start, that
// point, under metaStart+<subject>.
const (
	metaUntil = "lt.until"
	metaStart = "lt.start."
)

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
	meta := map[string]string{metaUntil: strconv.FormatUint(until, 10)}
	for s, p := range starts {
		if p > low {
			meta[metaStart+s] = strconv.FormatUint(p, 10)
		}
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
// everything.
func readCatchUp(cfg jetstream.ConsumerConfig) (catchUp, error) {
	u, ok := cfg.Metadata[metaUntil]
	if !ok {
		return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: no %s in its metadata", cfg.Durable, metaUntil)
	}
	until, err := strconv.ParseUint(u, 10, 64)
	if err != nil {
		return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: %s %q: %w", cfg.Durable, metaUntil, u, err)
	}
	c := catchUp{from: cfg.OptStartSeq, until: until, starts: make(map[string]uint64)}
	if cfg.DeliverPolicy == jetstream.DeliverAllPolicy || c.from == 0 {
		c.from = 1
	}
	for k, v := range cfg.Metadata {
		s, ok := strings.CutPrefix(k, metaStart)
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return catchUp{}, fmt.Errorf("bus: catch-up consumer %s: %s %q: %w", cfg.Durable, k, v, err)
		}
		c.starts[s] = p
	}
	return c, nil
}

// owns reports whether the message of subject at stream sequence seq is the
// catch-up's to hand over: at or after its subject's point, and not after
// until. The others are acknowledged unhandled — below the point another
// gateway had them, above until the gateway consumer has them.
func (c catchUp) owns(subject string, seq uint64) bool {
	from := c.from
	if p, ok := c.starts[subject]; ok {
		from = p
	}
	return seq >= from && seq <= c.until
}
