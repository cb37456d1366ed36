package bus

import (
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// unhostedDelay is how long a packet waits before it comes again when its
// agency is assigned to this gateway but not in its configuration yet:
// the gateway is to restart with it.
const unhostedDelay = 10 * time.Second

// gate stands between a gateway's consumers and its handler. A gateway
// consumer's filters are the administrator's; the gateway's agencies are
// its configuration's. The two differ only while an assignment changes,
// and a packet for an agency the gateway does not host is then one of
// two things:
//
//   - of an agency handed over to another gateway: this gateway held it,
//     unacknowledged, when its consumer let the agency go, and the
//     consumer redelivers it here; the next holder reads it too (Assign
//     hands over from the ack floor). It is acknowledged unhandled.
//   - of an agency assigned to this gateway ahead of its configuration
//     (the administrator ran "nats setup -gateway" before the gateway was
//     restarted with the agency): it is nakked to come again after
//     unhostedDelay, and keeps coming until the gateway hosts the agency.
//
// Which of the two it is, the gateway consumer's filters say as the
// server has them now, read at most once per catchUpPoll.
type gate struct {
	c       *consumer
	gateway string
	hosted  map[string]filterSet // by stream: the filters of the configured agencies

	mu       sync.Mutex
	assigned map[string][]string  // by stream: the gateway consumer's filters, as last read
	read     map[string]time.Time // by stream: when they were read
	warned   time.Time
}

// newGate returns the gate of the gateway's consumers for its configured
// agencies.
func newGate(c *consumer, gatewayID string, codes []envelope.AgencyCode) (*gate, error) {
	g := &gate{c: c, gateway: gatewayID, hosted: map[string]filterSet{}, assigned: map[string][]string{}, read: map[string]time.Time{}}
	for _, s := range packetStreams {
		f, err := Filters(s.kind, codes, nil)
		if err != nil {
			return nil, err
		}
		g.hosted[s.stream] = newFilterSet(f)
	}
	return g, nil
}

// receive returns the handler of a consumer on stream: next for a packet
// of a hosted agency, settle for the others.
func (g *gate) receive(stream string, next jetstream.MessageHandler) jetstream.MessageHandler {
	return func(jm jetstream.Msg) {
		if g.hosted[stream].match(jm.Subject()) {
			next(jm)
			return
		}
		g.settle(stream, jm)
	}
}

// settle acknowledges a packet of an agency handed over to another
// gateway and makes one of an agency assigned here but not configured
// come again later (see gate).
func (g *gate) settle(stream string, jm jetstream.Msg) {
	log := g.c.log.With(zap.String("subject", jm.Subject()))
	assigned, err := g.assignedFilters(stream)
	switch {
	case err != nil:
		// Unknown: keep it, it comes again.
		log.Warn("a packet for an agency this gateway does not host, and its consumer unreadable; it will come again", zap.Error(err))
		if err := jm.NakWithDelay(catchUpPoll); err != nil {
			log.Debug("nak", zap.Error(err))
		}
	case newFilterSet(assigned).match(jm.Subject()):
		g.mu.Lock()
		warn := time.Since(g.warned) >= time.Minute
		if warn {
			g.warned = time.Now()
		}
		g.mu.Unlock()
		if warn {
			log.Warn("the administrator assigned this gateway an agency its configuration does not host: its packets wait until the gateway is restarted with the agency in agencies:",
				zap.Duration("retry", g.c.bus.unhostedDelay))
		}
		if err := jm.NakWithDelay(g.c.bus.unhostedDelay); err != nil {
			log.Debug("nak", zap.Error(err))
		}
	default:
		log.Info("a packet of an agency handed over to another gateway, held here unacknowledged: its next holder reads it")
		if err := jm.Ack(); err != nil {
			log.Debug("ack a packet handed over", zap.Error(err))
		}
	}
}

// assignedFilters returns the gateway consumer's filters on stream, read
// again if the last reading is older than catchUpPoll.
func (g *gate) assignedFilters(stream string) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.assigned[stream]; ok && time.Since(g.read[stream]) < catchUpPoll {
		return f, nil
	}
	var kind gateway.PacketKind
	for _, s := range packetStreams {
		if s.stream == stream {
			kind = s.kind
		}
	}
	ctx, cancel := g.c.bus.deadline(g.c.ctx)
	defer cancel()
	jc, err := g.c.bus.js.Consumer(ctx, stream, GatewayConsumerName(g.gateway, kind))
	if err != nil {
		return nil, err
	}
	f := filtersOf(jc.CachedInfo().Config)
	g.assigned[stream], g.read[stream] = f, time.Now()
	return f, nil
}

// filterSet is a set of filter subjects as Filters makes them: literals,
// and subtrees ending in ".>".
type filterSet struct {
	literals map[string]bool
	subtrees []string // each root with its trailing dot: "lt.edoc.H41."
}

func newFilterSet(filters []string) filterSet {
	fs := filterSet{literals: make(map[string]bool, len(filters))}
	for _, f := range filters {
		if root, ok := strings.CutSuffix(f, ">"); ok {
			fs.subtrees = append(fs.subtrees, root)
		} else {
			fs.literals[f] = true
		}
	}
	return fs
}

// match reports whether subject is one of the literals or under one of
// the subtrees.
func (fs filterSet) match(subject string) bool {
	if fs.literals[subject] {
		return true
	}
	for _, root := range fs.subtrees {
		if strings.HasPrefix(subject, root) && len(subject) > len(root) {
			return true
		}
	}
	return false
}
