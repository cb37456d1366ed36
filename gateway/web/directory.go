package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// DefaultDirectoryPageSize is how many agencies a page of Danh bạ shows
// when Options.DirectoryPageSize is 0.
const DefaultDirectoryPageSize = 200

// directoryPage is the data of Danh bạ.
type directoryPage struct {
	Query   string
	Entries []directoryEntry
	// Total is how many agencies the directory holds.
	Total int
	// Next is the URL of the next page, empty on the last; First, on a
	// later page, the URL of the first.
	Next, First string
	// BeatsUnknown: the heartbeats could not be read, so liveness is not
	// shown.
	BeatsUnknown bool
}

// directoryEntry is one agency of the directory.
type directoryEntry struct {
	gateway.Agency
	Tier   tier
	Live   bool
	Hosted bool
	// ParentName names the agency above, when the directory knows it.
	ParentName string
}

// directory shows Danh bạ a page at a time, in the order of the codes:
// every agency of the axis, or those whose code, name or old code
// contains the search (letter case and Vietnamese marks ignored). The
// next page starts after the code in trang.
func (h *Handler) directory(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q := strings.TrimSpace(qv.Get("q"))
	after := qv.Get("trang")
	page := &directoryPage{Query: q, Total: h.gw.DirectorySize()}
	live, err := h.beats.live(r.Context())
	if err != nil {
		page.BeatsUnknown = true
	}
	res := h.gw.SearchAgencies(gateway.DirectoryQuery{Text: q, After: after, Limit: h.opts.DirectoryPageSize})
	for _, a := range res.Agencies {
		_, hosted := h.gw.Hosted(a.Code)
		e := directoryEntry{Agency: a, Tier: tierOf(a), Live: live[a.Gateway], Hosted: hosted}
		if a.Parent != "" {
			e.ParentName = h.agencyName(a.Parent)
		}
		page.Entries = append(page.Entries, e)
	}
	link := func(cursor string) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if cursor != "" {
			v.Set("trang", cursor)
		}
		if len(v) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + v.Encode()
	}
	if res.Next != "" {
		page.Next = link(res.Next)
	}
	if after != "" {
		page.First = link("")
	}
	h.render(w, r, http.StatusOK, "directory", newView(r, "Danh bạ cơ quan", "danh-ba", page))
}

// beatCache keeps the gateways' heartbeats for a few seconds, so that the
// directory page does not read the bus on every request.
type beatCache struct {
	gw  gateway.HeartbeatReader
	log *zap.Logger
	ttl time.Duration

	mu  sync.Mutex
	at  time.Time
	ids map[string]bool
}

// live returns the ids of the gateways whose heartbeat is current.
func (c *beatCache) live(ctx context.Context) (map[string]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids != nil && time.Since(c.at) < c.ttl {
		return c.ids, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	beats, err := c.gw.Heartbeats(ctx)
	if err != nil {
		c.log.Warn("heartbeats could not be read", zap.Error(err))
		return map[string]bool{}, err
	}
	live := make(map[string]bool, len(beats))
	for _, b := range beats {
		// The bus keeps a heartbeat only for its TTL: one it returns
		// is from a gateway that beat recently.
		live[b.Gateway] = true
	}
	c.ids, c.at = live, time.Now()
	return live, nil
}
