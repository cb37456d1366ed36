package web

import (
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often a quiet live stream sends a comment, so that
// proxies keep it open and an ended session is noticed.
const keepAlive = 20 * time.Second

// events is the live stream (server-sent events) of the clerk's
// documents: an event "change" whose data is the id of a document that
// changed, or "*" when changes were missed and everything should be
// reloaded; an event "expired" when the session ends.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	rc := http.NewResponseController(w)
	changes, stop := h.gw.Subscribe()
	defer stop()
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
	if !send("retry: 3000\n: lienthong\n\n") {
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
				if !send("event: change\ndata: *\n\n") {
					return
				}
			case ss.clerk.allows(c.Agency):
				if !send("event: change\ndata: %s\n\n", c.Document) {
					return
				}
			}
		}
	}
}
