package bus

import (
	"fmt"
	"slices"
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
