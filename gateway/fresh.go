package gateway

import (
	"sync"
	"time"
)

// freshPackets hands the packets the gateway has just stored — a document
// accepted, a status it sends, the 01 of a document received — to the
// dispatcher, which publishes them at once and would otherwise read each
// back from the store: a read after every commit, from a connection whose
// page cache the commit dropped (about a tenth of a delivery's work
// outside RSA), and for a large packet a second copy while the first
// (the request's buffer) is still held (docs/design/large-packets.md, step
// A3).
//
// The bytes are those the store committed, and nobody writes them after
// (a document is handed only if its submitter gave its buffer up,
// Submission.GiveUp): the dispatcher publishes exactly what it would have
// read. A packet is handed once (take removes it). What is held never
// counts more than maxBytes of memory (the capacity of each buffer, which
// may be larger than the packet); a packet the dispatcher does not take
// soon (it publishes first what waited before, or is not running) is
// forgotten after freshTTL, and everything when the gateway closes. The
// dispatcher then reads the store, as always.
type freshPackets struct {
	maxBytes int64

	mu     sync.Mutex
	byID   map[string]freshPacket
	bytes  int64
	oldest time.Time // of the packets held; zero if none
}

type freshPacket struct {
	data []byte
	at   time.Time
}

// freshTTL is how long a packet handed to the dispatcher waits for it.
const freshTTL = 10 * time.Second

func newFreshPackets(maxBytes int64) *freshPackets {
	return &freshPackets{maxBytes: maxBytes, byID: make(map[string]freshPacket)}
}

// put hands the stored packet id to the dispatcher, if there is room.
func (f *freshPackets) put(id string, data []byte) {
	now := time.Now()
	n := int64(cap(data))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expire(now)
	if f.bytes+n > f.maxBytes {
		return
	}
	if old, ok := f.byID[id]; ok {
		f.bytes -= int64(cap(old.data))
	}
	f.byID[id] = freshPacket{data: data, at: now}
	f.bytes += n
	if f.oldest.IsZero() {
		f.oldest = now
	}
}

// take returns the packet id if it was handed and not taken yet.
func (f *freshPackets) take(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expire(time.Now())
	p, ok := f.byID[id]
	if !ok {
		return nil, false
	}
	delete(f.byID, id)
	f.bytes -= int64(cap(p.data))
	return p.data, true
}

// expire forgets the packets held longer than freshTTL. It looks through
// them only when the oldest is that old, which the dispatcher's takes make
// rare; f.mu is held.
func (f *freshPackets) expire(now time.Time) {
	if f.oldest.IsZero() || now.Sub(f.oldest) <= freshTTL {
		return
	}
	f.oldest = time.Time{}
	for k, p := range f.byID {
		if now.Sub(p.at) > freshTTL {
			delete(f.byID, k)
			f.bytes -= int64(cap(p.data))
		} else if f.oldest.IsZero() || p.at.Before(f.oldest) {
			f.oldest = p.at
		}
	}
}

// clear forgets every packet held (the gateway closes).
func (f *freshPackets) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.byID)
	f.bytes, f.oldest = 0, time.Time{}
}
