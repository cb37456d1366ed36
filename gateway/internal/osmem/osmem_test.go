package osmem

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// forced is the number of collections forced so far.
func forced() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestLimiter: free pages are given back (a forced collection) at most
// once per Every unless twice Min was allocated since, and not while
// another release runs.
func TestLimiter(t *testing.T) {
	var r Limiter
	try := func(what string, now time.Time, want bool) {
		t.Helper()
		before := forced()
		ran := r.FreeOSMemory(now)
		if ran != want || (forced() > before) != want {
			t.Errorf("%s: ran %t (forced collections %d to %d), want %t", what, ran, before, forced(), want)
		}
	}
	try("the first", time.Now(), true)
	try("right after", time.Now(), false)
	// A large buffer made since, as a packet received and then read
	// again for its download.
	buf := make([]byte, 2*Min)
	buf[len(buf)-1] = 1
	try("right after twice Min allocated", time.Now(), true)
	runtime.KeepAlive(buf)
	try("right after that", time.Now(), false)
	try("Every after", time.Now().Add(Every), true)
	r.mu.Lock() // a release running
	try("during another", time.Now().Add(2*Every), false)
	r.mu.Unlock()
}
