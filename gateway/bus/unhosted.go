package bus

import (
	"fmt"
	"math"
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
// server has them now.
//
// A gateway consumer given a subject goes on from where it last
// delivered, not from the moment it was given it: it may deliver the
// subject's messages from before its start point — another gateway's, or
// the catch-up's. The points are in its metadata (Assign), and the gate
// acknowledges those messages unhandled (owns). A subject the gate has
// not seen in the consumer's filters yet makes it read them again first.
type gate struct {
	c       *consumer
	gateway string
	hosted  map[string]filterSet // by stream: the filters of the configured agencies

	mu     sync.Mutex
	views  map[string]consumerView // by stream: the gateway consumer as last read
	warned time.Time
	gone   map[string]time.Time // by subject: when it was first seen handed over
}

// viewTTL is how long the gate believes a reading of its gateway consumer
// for a subject among its filters. A reading of a consumer filtered to
// 5,000 agencies is some 150 KB: at a hundred gateways, once a minute per
// stream is half a megabyte a second for the hub, every 2 s would be 15.
const viewTTL = time.Minute

// consumerView is what the gate knows of a gateway consumer: its filters
// and its subjects' start points, and when it read them.
type consumerView struct {
	filters filterSet
	starts  catchUp
	read    time.Time
}

// newGate returns the gate of the gateway's consumers for its configured
// agencies.
func newGate(c *consumer, gatewayID string, codes []envelope.AgencyCode) (*gate, error) {
	g := &gate{c: c, gateway: gatewayID, hosted: map[string]filterSet{}, views: map[string]consumerView{}, gone: map[string]time.Time{}}
	for _, s := range packetStreams {
		f, err := Filters(s.kind, codes, nil)
		if err != nil {
			return nil, err
		}
		g.hosted[s.stream] = newFilterSet(f)
	}
	return g, nil
}

// see records what the gateway consumer on stream is, as read from the
// server. Start points that cannot be read leave the view as it was: the
// error says why.
func (g *gate) see(stream string, cfg jetstream.ConsumerConfig) error {
	starts, err := decodeStarts(cfg.Metadata)
	if err != nil {
		return fmt.Errorf("bus: gateway consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	v := consumerView{filters: newFilterSet(filtersOf(cfg)), starts: catchUp{from: 1, until: math.MaxUint64, starts: starts}, read: time.Now()}
	g.mu.Lock()
	g.views[stream] = v
	g.mu.Unlock()
	return nil
}

// receive returns the handler of the gateway consumer on stream: a packet
// below its subject's start point is acknowledged unhandled, one of a
// hosted agency goes to next, the others to settle.
func (g *gate) receive(stream string, next jetstream.MessageHandler) jetstream.MessageHandler {
	passed := g.pass(stream, next)
	return func(jm jetstream.Msg) {
		if md, err := jm.Metadata(); err == nil {
			v, err := g.view(stream, jm.Subject())
			if err != nil {
				// Whether it is this gateway's is not known: it comes
				// again.
				g.c.log.Warn("the gateway consumer unreadable; the packet will come again", zap.String("subject", jm.Subject()), zap.Error(err))
				if err := jm.NakWithDelay(catchUpPoll); err != nil {
					g.c.log.Debug("nak", zap.Error(err))
				}
				return
			}
			if !v.starts.owns(jm.Subject(), md.Sequence.Stream) {
				g.c.log.Debug("a packet from before its subject came to this gateway: another's, or the catch-up's",
					zap.String("subject", jm.Subject()), zap.Uint64("seq", md.Sequence.Stream))
				if err := jm.Ack(); err != nil {
					g.c.log.Debug("ack a packet not this consumer's", zap.Error(err))
				}
				return
			}
		}
		passed(jm)
	}
}

// pass returns the handler of a catch-up consumer on stream, whose own
// points it checks itself: next for a packet of a hosted agency, settle
// for the others.
func (g *gate) pass(stream string, next jetstream.MessageHandler) jetstream.MessageHandler {
	return func(jm jetstream.Msg) {
		if g.hosted[stream].match(jm.Subject()) {
			next(jm)
			return
		}
		g.settle(stream, jm, next)
	}
}

// view returns the gateway consumer on stream as last read, read again
// first if subject is not among its filters — it was given the subject
// since, or took it away (a packet it still redelivers), and either way
// what to do with the packet depends on the consumer as it is now — or
// if the reading is older than viewTTL (the subject moved away and back,
// with another start point).
func (g *gate) view(stream, subject string) (consumerView, error) {
	g.mu.Lock()
	v, ok := g.views[stream]
	g.mu.Unlock()
	if ok && v.filters.match(subject) && time.Since(v.read) < viewTTL {
		return v, nil
	}
	if err := g.reread(stream); err != nil {
		return v, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.views[stream], nil
}

// reread reads the gateway consumer on stream from the server.
func (g *gate) reread(stream string) error {
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
		return err
	}
	return g.see(stream, jc.CachedInfo().Config)
}

// settle acknowledges a packet of an agency handed over to another
// gateway and makes one of an agency assigned here but not configured
// come again later (see gate). A packet that the consumer reads only
// through a delegated subtree, for an agency the gateway does not host,
// goes to next, whose gateway keeps it aside (quarantine), or drops and
// counts it if the directory knows no such code, and settles it:
// anyone may publish to a code under the subtree, made up or not, and a
// packet made to come again holds one of the consumer's MaxAckPending
// slots until it is handled, so a thousand of them would stop the
// province's gateway. Only the administrator's literal assignment, ahead
// of the configuration, makes packets wait.
func (g *gate) settle(stream string, jm jetstream.Msg, next jetstream.MessageHandler) {
	log := g.c.log.With(zap.String("subject", jm.Subject()))
	v, err := g.view(stream, jm.Subject())
	switch {
	case err != nil:
		// Unknown: keep it, it comes again.
		log.Warn("a packet for an agency this gateway does not host, and its consumer unreadable; it will come again", zap.Error(err))
		if err := jm.NakWithDelay(catchUpPoll); err != nil {
			log.Debug("nak", zap.Error(err))
		}
	case v.filters.match(jm.Subject()) && !v.filters.literals[jm.Subject()]:
		next(jm)
	case v.filters.match(jm.Subject()):
		g.mu.Lock()
		warn := time.Since(g.warned) >= time.Minute
		if warn {
			g.warned = time.Now()
		}
		g.mu.Unlock()
		if warn {
			// Also a gateway restarted without an agency before its
			// assignment without it: the assignment takes the agency
			// out of its consumers, catch-up included (Assign), and
			// these are then handed over.
			log.Warn("this gateway's consumers read an agency its configuration does not host (assigned ahead of it, or taken out of the configuration before the assignment): its packets wait until the gateway runs with the agency in agencies:, or is assigned without it",
				zap.Duration("retry", g.c.bus.unhostedDelay))
		}
		if err := jm.NakWithDelay(g.c.bus.unhostedDelay); err != nil {
			log.Debug("nak", zap.Error(err))
		}
	default:
		// Handed over. Its next holder reads it only if it was still
		// unacknowledged when the hand-over fixed its point, which may
		// take a hand-over's pause after the filters changed (settled):
		// acknowledged before, it would be nobody's. So it is first
		// kept that long from when this gateway saw the subject go.
		if wait := g.handedOverWait(jm.Subject()); wait > 0 {
			if err := jm.NakWithDelay(wait); err != nil {
				log.Debug("nak", zap.Error(err))
			}
			return
		}
		log.Info("a packet of an agency handed over to another gateway, held here unacknowledged: its next holder reads it")
		if err := jm.Ack(); err != nil {
			log.Debug("ack a packet handed over", zap.Error(err))
		}
	}
}

// handedOverSettle is how long after a subject left the gateway consumer
// its hand-over has surely fixed its point: a pause, and a margin.
const handedOverSettle = handoverPause + 5*time.Second

// handedOverWait returns how much longer a packet of subject, which the
// gateway consumer no longer reads, must wait before it is acknowledged:
// handedOverSettle from when this process first saw the subject gone.
func (g *gate) handedOverWait(subject string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	for s, at := range g.gone {
		if now.Sub(at) > 10*g.c.bus.handedOverSettle {
			delete(g.gone, s)
		}
	}
	at, ok := g.gone[subject]
	if !ok {
		at = now
		g.gone[subject] = at
	}
	return g.c.bus.handedOverSettle - now.Sub(at)
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

// covers reports whether every subject filter f matches is one fs
// matches: f is one of the literals or under one of the subtrees, or f is
// a subtree (lt.edoc.H41.12.>) under one of the subtrees.
func (fs filterSet) covers(f string) bool {
	root, ok := strings.CutSuffix(f, ">")
	if !ok {
		return fs.match(f)
	}
	for _, r := range fs.subtrees {
		if strings.HasPrefix(root, r) {
			return true
		}
	}
	return false
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
