package store_test

import (
	"path/filepath"
	"runtime/metrics"
	"testing"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/osmem"
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
