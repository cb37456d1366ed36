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
	"sync"
	"time"
)

// Min is the size of a buffer from which its maker gives the free pages
// back first: above an idle gateway's heap (a few MiB), so that such a
// buffer would start a collection anyway; on a gateway whose heap is
// larger (a national directory), it is one collection more per such
// buffer, whose packet takes far longer to handle.
const Min = 16 << 20

// Every is the least time between two releases by one Limiter.
const Every = 5 * time.Second

// Limiter bounds how often its FreeOSMemory runs debug.FreeOSMemory (a
// collection, and a walk of the heap that returns its free pages), which
// costs in proportion to the heap, not to the packet: a peer with valid
// credentials could otherwise have it run once per large packet, back to
// back, on a gateway whose heap is large. At most one runs at a time, and
// at most one per Every: a buffer made meanwhile does without, which costs
// it only the pages of what was collected since. The zero Limiter is ready
// to use. The bound holds per Limiter: a process makes one and gives it
// to each of its stores and buses (gateway.MemoryLimiter names it outside
// gateway/).
type Limiter struct {
	mu   sync.Mutex
	last time.Time // of the last release; guarded by mu
}

// FreeOSMemory calls debug.FreeOSMemory, unless another call is running or
// one ran less than Every before now. It reports whether it did.
func (r *Limiter) FreeOSMemory(now time.Time) bool {
	if !r.mu.TryLock() {
		return false // another is running, which gives these pages back too
	}
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < Every {
		return false
	}
	debug.FreeOSMemory()
	r.last = time.Now()
	return true
}
