package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/gateway"
)

// directoryPage is the data of Danh bạ.
type directoryPage struct {
	Query   string
	Entries []directoryEntry
	Total   int
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

// directory shows Danh bạ: every agency of the axis, or those whose code
// or name contains the search (letter case and Vietnamese marks
// ignored).
func (h *Handler) directory(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page := &directoryPage{Query: q}
	live, err := h.beats.live(r.Context())
	if err != nil {
		page.BeatsUnknown = true
	}
	needle := fold(q)
	for _, a := range h.gw.Directory().Agencies() {
		page.Total++
		if needle != "" && !strings.Contains(fold(a.Name), needle) && !strings.Contains(fold(a.Code), needle) {
			continue
		}
		_, hosted := h.gw.Hosted(a.Code)
		e := directoryEntry{Agency: a, Tier: tierOf(a), Live: live[a.Gateway], Hosted: hosted}
		if a.Parent != "" {
			e.ParentName = h.agencyName(a.Parent)
		}
		page.Entries = append(page.Entries, e)
	}
	h.render(w, r, http.StatusOK, "directory", newView(r, "Danh bạ cơ quan", "danh-ba", page))
}

// beatCache keeps the gateways' heartbeats for a few seconds, so that the
// directory page does not read the bus on every request.
type beatCache struct {
	gw  *gateway.Gateway
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
	beats, err := c.gw.Bus().Gateways(ctx)
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

// fold lower-cases s and takes the marks off Vietnamese letters, for a
// search that finds "Nghệ An" when a clerk types "nghe an". Marks typed
// as combining characters (some keyboards send "e" then the marks) are
// dropped too.
func fold(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		}
		r = unicode.ToLower(r)
		if f, ok := foldTable[r]; ok {
			r = f
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// foldTable maps each lower-case Vietnamese letter with marks to its base
// letter.
var foldTable = func() map[rune]rune {
	m := map[rune]rune{}
	for base, letters := range map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậ", 'e': "èéẻẽẹêềếểễệ", 'i': "ìíỉĩị",
		'o': "òóỏõọôồốổỗộơờớởỡợ", 'u': "ùúủũụưừứửữự", 'y': "ỳýỷỹỵ", 'd': "đ",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()
