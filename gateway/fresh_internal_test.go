package gateway

import (
	"testing"
	"time"
)

func TestFreshPackets(t *testing.T) {
	now := time.Now()
	f := newFreshPackets(100)
	f.put("a", make([]byte, 60), now)
	f.put("b", make([]byte, 50), now) // over the bound: not kept
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
	// One never taken is forgotten once it is old and room is needed.
	f.put("old", make([]byte, 80), now)
	f.put("new", make([]byte, 30), now.Add(freshTTL/2))
	if _, ok := f.take("new"); ok {
		t.Fatal("kept past the bound while the old one is not yet expired")
	}
	f.put("new", make([]byte, 30), now.Add(2*freshTTL))
	if _, ok := f.take("old"); ok {
		t.Fatal("an expired packet kept")
	}
	if _, ok := f.take("new"); !ok {
		t.Fatal("no room made by the expired packet")
	}
}
