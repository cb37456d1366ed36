package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// TestSimLayout: the sim's nation holds every agency once, the first
// gateway hosts a quarter of them in one province, and a subtree is
// delegated to a gateway only when every agency of the directory under it
// is that gateway's: the size gives consumers of a few filters,
// not thousands.
func TestSimLayout(t *testing.T) {
	for _, tc := range []struct{ n, g, extra, maxFilters int }{
		{200, 5, 0, 40}, // four gateways of 38 agencies in 16 units each
		{2000, 20, 109000, 20},
		{20000, 100, 91000, 10},
		{3, 1, 5, 3},
	} {
		l, err := newSimLayout(tc.n, tc.g, tc.extra)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		owner := map[string]int{} // tokens → gateway, -1 elsewhere
		add := func(a simAgency, gi int) {
			c, err := envelope.ParseAgencyCode(a.code, envelope.CodeStrict)
			if err != nil {
				t.Fatalf("%+v: %s: %v", tc, a.code, err)
			}
			if _, dup := owner[c.Tokens()]; dup {
				t.Fatalf("%+v: %s twice", tc, a.code)
			}
			owner[c.Tokens()] = gi
		}
		hosted := 0
		for gi, hs := range l.hosted {
			if len(hs) == 0 {
				t.Errorf("%+v: gateway %d hosts nothing", tc, gi)
			}
			hosted += len(hs)
			for _, a := range hs {
				add(a, gi)
			}
		}
		for _, a := range l.extra {
			add(a, -1)
		}
		if hosted != tc.n || len(l.extra) != tc.extra {
			t.Errorf("%+v: %d hosted and %d others", tc, hosted, len(l.extra))
		}
		if want := max(1, tc.n/4); tc.g > 1 && len(l.hosted[0]) != want {
			t.Errorf("%+v: the first gateway hosts %d, want %d", tc, len(l.hosted[0]), want)
		}
		for _, a := range l.hosted[0] {
			if !strings.HasSuffix(a.code, ".H01") {
				t.Errorf("%+v: the first gateway hosts %s, outside its province", tc, a.code)
			}
		}
		sorted := slices.Sorted(maps.Keys(owner))
		largest := 0
		for gi, roots := range l.subtrees {
			for _, r := range roots {
				i, _ := slices.BinarySearch(sorted, r.Tokens())
				for ; i < len(sorted) && (sorted[i] == r.Tokens() || strings.HasPrefix(sorted[i], r.Tokens()+".")); i++ {
					if o := owner[sorted[i]]; o != gi {
						t.Fatalf("%+v: %s delegated to gateway %d holds %s of %d", tc, r, gi, sorted[i], o)
					}
				}
			}
			var codes []envelope.AgencyCode
			for _, a := range l.hosted[gi] {
				codes = append(codes, envelope.MustAgencyCode(a.code))
			}
			f, err := bus.Filters(gateway.KindEdoc, codes, roots)
			if err != nil {
				t.Fatal(err)
			}
			largest = max(largest, len(f))
		}
		if largest > tc.maxFilters {
			t.Errorf("%+v: a gateway consumer of %d filters, want at most %d", tc, largest, tc.maxFilters)
		}
		t.Logf("%+v: largest gateway consumer %d filters", tc, largest)
	}
}
