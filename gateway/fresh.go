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
// The bytes are those the store committed, and nobody writes them after:
// the dispatcher publishes exactly what it would have read. A packet is
// handed once (take removes it); one the dispatcher does not take soon
// (it publishes from the store what waited before) is forgotten after
// freshTTL, and they never hold more than maxBytes, so that an outage of
// NATS does not keep packets in memory: the dispatcher then reads them
// from the store, as always.
type freshPackets struct {
	maxBytes int64

	mu    sync.Mutex
	byID  map[string]freshPacket
	bytes int64
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
func (f *freshPackets) put(id string, data []byte, now time.Time) {
	n := int64(len(data))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes+n > f.maxBytes {
		for k, p := range f.byID {
			if now.Sub(p.at) > freshTTL {
				delete(f.byID, k)
				f.bytes -= int64(len(p.data))
			}
		}
		if f.bytes+n > f.maxBytes {
			return
		}
	}
	if old, ok := f.byID[id]; ok {
		f.bytes -= int64(len(old.data))
	}
	f.byID[id] = freshPacket{data: data, at: now}
	f.bytes += n
}

// take returns the packet id if it was handed and not taken yet.
func (f *freshPackets) take(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.byID[id]
	if !ok {
		return nil, false
	}
	delete(f.byID, id)
	f.bytes -= int64(len(p.data))
	return p.data, true
}
