// Package osmem gives the heap's free pages back to the system before a
// large packet's buffer is made, at a bounded rate.
//
// A buffer of a large packet is one allocation, which cannot reuse the
// pages of smaller garbage, and the collector, whose goal is twice the live
// heap, has not yet collected the previous packet's buffer when the next
// one is made: each would add its size to the gateway's resident memory
// (docs/design/large-packets.md §3). A collection that returns the free
// pages first keeps the peak at one packet's size.
package osmem

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Min is the size of a buffer from which its maker gives the free pages
// back first: above an idle gateway's heap (a few MiB), so that such a
// buffer would start a collection anyway; on a gateway whose heap is
// larger (a national directory), it is one collection more per such
// buffer, whose packet takes far longer to handle.
const Min = 16 << 20

// Every is the least time between two releases by one Limiter, unless
// the heap has grown by a buffer's worth since (see Limiter).
const Every = 5 * time.Second

// Limiter bounds how often its FreeOSMemory runs debug.FreeOSMemory (a
// collection, and a walk of the heap that returns its free pages), which
// costs in proportion to the heap, not to the packet: a peer with valid
// credentials could otherwise have it run once per large packet, back to
// back, on a gateway whose heap is large. At most one runs at a time, and
// at most one per Every, unless the process allocated, since the last,
// twice Min or half its live heap, whichever is more: that much new
// memory, not yet seen by the collector, is what a release is for (a large
// packet received, then read again for its download a second later), and
// such releases come at most twice as often as the collector's own cycles
// (GOGC 100: one per live heap allocated). A buffer made without a release
// costs only the pages of what was collected since. The zero Limiter is
// ready to use. The bound holds per Limiter: a process makes one and gives
// it to each of its stores and buses (gateway.MemoryLimiter names it
// outside gateway/).
type Limiter struct {
	mu     sync.Mutex
	last   time.Time // of the last release; guarded by mu
	allocs uint64    // the heap's cumulative allocations after it; guarded by mu
}

// FreeOSMemory calls debug.FreeOSMemory, unless another call is running or
// one ran less than Every before now and the heap has not grown by a
// buffer's worth since (see Limiter). It reports whether it did.
func (r *Limiter) FreeOSMemory(now time.Time) bool {
	if !r.mu.TryLock() {
		return false // another is running, which gives these pages back too
	}
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < Every {
		allocs, live := heap()
		if allocs-r.allocs < max(2*Min, live/2) {
			return false
		}
	}
	debug.FreeOSMemory()
	r.last = time.Now()
	r.allocs, _ = heap()
	return true
}

// heap returns the bytes the process has allocated on the heap so far, and
// its live heap as the last collection found it.
func heap() (allocs, live uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		allocs = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		live = s[1].Value.Uint64()
	}
	return allocs, live
}
