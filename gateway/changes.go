package gateway

import (
	"context"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// changeBuffer is how many changes a subscriber's channel holds.
const changeBuffer = 64

// Change says that a document of a hosted agency changed: accepted, sent,
// received, a status applied or emitted, revoked/updated/replaced.
type Change struct {
	Document string // local id (Document.ID)
	Agency   string // the hosted agency it belongs to (Document.Agency)
	// Lost is set on the first change a subscriber gets after it fell
	// behind and changes were dropped: it should reload everything.
	Lost bool
	// Seq numbers the gateway's changes from 1 since it started: what
	// was read of the store after LastChange returned n shows every
	// change up to n (see LastChange).
	Seq uint64
}

// Subscribe returns a channel of changes and a function that ends the
// subscription (idempotent; closes the channel). Slow subscribers never
// block the gateway: changes that do not fit the channel's buffer (64) are
// dropped and the next one delivered carries Lost. When the gateway
// closes, every channel is closed; Subscribe after Close returns a channel
// already closed. The channel gets every change numbered after Subscribe
// returned: compare LastChange, taken after Subscribe, with the number a
// reader had before to know whether it missed any.
func (g *Gateway) Subscribe() (<-chan Change, func()) {
	return g.changes.subscribe(changeBuffer)
}

// SubscribeBuffered is Subscribe with a channel of buffer changes (at
// least 1), for a subscriber that reads in bursts behind a busy gateway
// and would rather hold more than read everything again after a Lost: a
// harness following a whole day's traffic (lienthong sim), not a page.
func (g *Gateway) SubscribeBuffered(buffer int) (<-chan Change, func()) {
	return g.changes.subscribe(max(buffer, 1))
}

// LastChange returns the Seq of the latest change (0 before the first).
// A change is numbered once it is in the store, so a reader that takes
// LastChange first and then reads the store sees every change up to the
// number it got; one who later subscribes and finds LastChange still at
// that number has missed none, since every change after it comes on the
// channel. That is how a page rendered before its live stream was opened
// learns whether it should reload (a change may be numbered without
// being sent when nobody subscribed).
func (g *Gateway) LastChange() uint64 {
	return g.changes.last()
}

// notify tells the subscribers that document of agency changed.
func (g *Gateway) notify(document, agency string) {
	if document == "" {
		return
	}
	g.changes.publish(Change{Document: document, Agency: agency})
}

// notifyRelated tells the subscribers about the document that d revokes,
// updates or replaces, if this gateway has it: the store marked it when
// it recorded d. It looks the document up only when someone listens.
func (g *Gateway) notifyRelated(ctx context.Context, d *Document) {
	if d.BussinessDocType < 1 || d.BussinessDocType > 3 || d.Related == "" || !g.changes.activeOrCount() {
		return
	}
	q := DocumentQuery{Agencies: []string{d.Agency}, Direction: d.Direction, DocumentID: d.Related, Limit: 2}
	if d.Direction == Incoming {
		q.From = d.From
	}
	page, err := g.store.Documents(ctx, q)
	if err != nil {
		g.log.Warn("find the related document to notify", zap.String("document", d.ID), zap.String("related", d.Related), zap.Error(err))
		return
	}
	for _, r := range page.Documents {
		if r.ID != d.ID {
			g.notify(r.ID, r.Agency)
		}
	}
}

// notifySent tells the subscribers about the documents whose deliveries
// items marked sent: once per document.
func (g *Gateway) notifySent(ctx context.Context, items []OutboxItem) {
	edocs := false
	for _, item := range items {
		edocs = edocs || item.Kind == KindEdoc && item.Document != ""
	}
	if !edocs || !g.changes.activeOrCount() {
		return
	}
	done := make(map[string]bool)
	for _, item := range items {
		if item.Kind != KindEdoc || item.Document == "" || done[item.Document] {
			continue
		}
		done[item.Document] = true
		agency := item.Agency
		if agency == "" {
			// Not expected: the store names the agency of an edoc's item.
			d, err := g.store.Document(ctx, item.Document)
			if err != nil {
				g.log.Warn("find the sent document to notify", zap.String("document", item.Document), zap.Error(err))
				continue
			}
			agency = d.Agency
		}
		g.notify(item.Document, agency)
	}
}

// changeHub hands changes to subscribers without ever blocking the
// publisher. Its zero value is ready to use.
type changeHub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	// seq is the Seq of the latest change, written under mu.
	seq atomic.Uint64
}

// subscriber is one subscription: its channel, and whether changes were
// dropped since the last one it was given.
type subscriber struct {
	ch   chan Change
	lost bool
}

func (h *changeHub) subscribe(buffer int) (<-chan Change, func()) {
	s := &subscriber{ch: make(chan Change, buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	if h.subs == nil {
		h.subs = make(map[*subscriber]struct{})
	}
	h.subs[s] = struct{}{}
	return s.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

// active reports whether anyone subscribes.
func (h *changeHub) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// activeOrCount reports whether anyone subscribes; when nobody does, it
// numbers a change without sending it, at once, so that the caller need
// not find out what changed and a subscriber that comes later still
// learns that something did (LastChange moved).
func (h *changeHub) activeOrCount() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) > 0 {
		return true
	}
	h.seq.Add(1)
	return false
}

// last returns the Seq of the latest change.
func (h *changeHub) last() uint64 { return h.seq.Load() }

// publish numbers c, gives it to every subscriber whose channel has
// room, and marks the others as having lost changes.
func (h *changeHub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.Seq = h.seq.Add(1)
	for s := range h.subs {
		c.Lost = s.lost
		select {
		case s.ch <- c:
			s.lost = false
		default:
			s.lost = true
		}
	}
}

// close ends every subscription, closing the channels; later subscriptions
// get a closed channel.
func (h *changeHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		close(s.ch)
	}
	h.subs = nil
}
