package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// keepAlive is how often a quiet live stream sends a comment, so that
// proxies keep it open and an ended session is noticed.
const keepAlive = 20 * time.Second

// versionKey is where requireClerk puts the request's version.
type versionKey struct{}

// versionOf returns the version requireClerk took for the request.
func versionOf(r *http.Request) string {
	v, _ := r.Context().Value(versionKey{}).(string)
	return v
}

// version writes the number of the gateway's latest change (its Seq) as a
// version of a page: the handler's run, a dash, the number.
func (h *Handler) version(seq uint64) string {
	return h.run + "-" + strconv.FormatUint(seq, 10)
}

// events is the live stream (server-sent events) of the clerk's
// documents: an event "change" whose data is the id of a document that
// changed, or "*" when changes were missed and everything should be
// reloaded; an event "expired" when the session ends.
//
// A page is rendered before its stream opens, and a change in between
// would never be sent: the page names the version it was rendered at
// (?phien-ban=, from its meta live-version), each change event carries
// its own as its id (which the browser sends back as Last-Event-ID when
// it reconnects), and a stream that finds the gateway past that version
// once it has subscribed starts with a change "*". A version of another
// run, or none, counts as behind.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	rc := http.NewResponseController(w)
	changes, stop := h.gw.Subscribe()
	defer stop()
	// After Subscribe: every later change comes on the channel.
	now := h.version(h.gw.LastChange())
	seen := r.Header.Get("Last-Event-ID")
	if seen == "" {
		seen = r.URL.Query().Get("phien-ban")
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	first := "retry: 3000\n: lienthong\n\n"
	if seen != now {
		first = "retry: 3000\nid: " + now + "\nevent: change\ndata: *\n\n"
	}
	if !send("%s", first) {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.closing:
			return
		case <-tick.C:
			if !h.sessions.alive(ss) {
				send("event: expired\ndata: -\n\n")
				return
			}
			if !send(": ping\n\n") {
				return
			}
		case c, ok := <-changes:
			if !ok {
				return
			}
			if !h.sessions.alive(ss) {
				send("event: expired\ndata: -\n\n")
				return
			}
			switch {
			case c.Lost:
				if !send("id: %s\nevent: change\ndata: *\n\n", h.version(c.Seq)) {
					return
				}
			case ss.clerk.allows(c.Agency):
				if !send("id: %s\nevent: change\ndata: %s\n\n", h.version(c.Seq), c.Document) {
					return
				}
			}
		}
	}
}
