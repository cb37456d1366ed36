package store_test

import (
	"fmt"
	"path/filepath"
	"runtime/metrics"
	"testing"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/osmem"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestPacketFiles_ReleaseBeforeRead: a packet of osmem.Min bytes or more
// is read back once the heap's free pages are given back (a forced
// collection), so that its buffer does not add to the garbage of the one
// it came in; a smaller one is read without, and so is one read less than
// osmem.Every after the last release.
func TestPacketFiles_ReleaseBeforeRead(t *testing.T) {
	s := mustOpenStoreAt(t, filepath.Join(t.TempDir(), "lienthong.db"))
	small := newAccept(vpcp, "small", t0, hanoi)
	small.Packet = newPacket(gateway.KindEdoc, t0, largeSize)
	mustAccept(t, s, small)
	large := newAccept(vpcp, "large", t0, hanoi)
	large.Packet = newPacket(gateway.KindEdoc, t0, osmem.Min)
	mustAccept(t, s, large)
	forced := func() uint64 {
		m := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(m)
		return m[0].Value.Uint64()
	}
	for _, tc := range []struct {
		name    string
		p       gateway.NewPacket
		release bool
	}{
		{"below osmem.Min", small.Packet, false},
		{"at osmem.Min", large.Packet, true},
		{"again, within osmem.Every", large.Packet, false},
	} {
		before := forced()
		mustPacket(t, s, tc.p)
		if got := forced() > before; got != tc.release {
			t.Errorf("%s: free pages given back %t, want %t", tc.name, got, tc.release)
		}
	}
}

// TestPacketFiles_ReleaseShared: stores given the same MemoryRelease give
// the free pages back at most once per osmem.Every between them: the
// bound is the process's, not each store's.
func TestPacketFiles_ReleaseShared(t *testing.T) {
	mem := new(gateway.MemoryLimiter)
	var packets []gateway.NewPacket
	var stores []*store.Store
	for i := range 2 {
		s := mustOpenStoreWith(t, filepath.Join(t.TempDir(), "lienthong.db"), store.Options{MemoryRelease: mem})
		a := newAccept(vpcp, fmt.Sprintf("large%d", i), t0, hanoi)
		a.Packet = newPacket(gateway.KindEdoc, t0, osmem.Min)
		mustAccept(t, s, a)
		stores, packets = append(stores, s), append(packets, a.Packet)
	}
	forced := func() uint64 {
		m := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(m)
		return m[0].Value.Uint64()
	}
	for i, want := range []bool{true, false} {
		before := forced()
		mustPacket(t, stores[i], packets[i])
		if got := forced() > before; got != want {
			t.Errorf("store %d: free pages given back %t, want %t", i, got, want)
		}
	}
}
