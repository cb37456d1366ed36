package gateway

import (
	"testing"
	"time"
)

func TestFreshPackets(t *testing.T) {
	f := newFreshPackets(100)
	f.put("a", make([]byte, 60))
	f.put("b", make([]byte, 50)) // over the bound: not kept
	if _, ok := f.take("b"); ok {
		t.Fatal("a packet past the bound was kept")
	}
	data, ok := f.take("a")
	if !ok || len(data) != 60 {
		t.Fatalf("take a: %d bytes, %v", len(data), ok)
	}
	if _, ok := f.take("a"); ok {
		t.Fatal("a packet handed twice")
	}
	if f.bytes != 0 || len(f.byID) != 0 {
		t.Fatalf("%d bytes in %d packets left, want none", f.bytes, len(f.byID))
	}

	// A buffer counts its capacity: 10 bytes of a 90-byte buffer leave
	// no room for 20 more.
	f.put("small", make([]byte, 10, 90))
	f.put("more", make([]byte, 20))
	if _, ok := f.take("more"); ok {
		t.Fatal("the bound counted lengths, not the memory held")
	}
	f.take("small")

	// One never taken is forgotten once it is old, by a put or a take.
	f.put("old", make([]byte, 80))
	f.byID["old"] = freshPacket{data: f.byID["old"].data, at: time.Now().Add(-2 * freshTTL)}
	f.oldest = f.byID["old"].at
	if _, ok := f.take("other"); ok {
		t.Fatal("a packet never handed was taken")
	}
	if len(f.byID) != 0 || f.bytes != 0 {
		t.Fatalf("an expired packet kept: %d bytes in %d packets", f.bytes, len(f.byID))
	}
	f.put("new", make([]byte, 80))
	f.clear()
	if _, ok := f.take("new"); ok || f.bytes != 0 {
		t.Fatal("a packet kept after clear")
	}
}
