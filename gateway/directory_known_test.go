package gateway_test

import (
	"strings"
	"testing"

	"github.com/lienthong/lienthong/gateway"
)

// TestDirectory_Known: the directory knows a code that is an agency's, a
// former code even when two agencies claim it (which Lookup resolves to
// neither), and the code of an agency taken out; not a code no record
// ever had, nor one that cannot be read.
func TestDirectory_Known(t *testing.T) {
	f := newDirFixture(t)
	apply := func(a gateway.Agency) {
		t.Helper()
		if err := f.dir.Apply(signed(t, f.admin, gateway.DirectoryRecord{Agency: &a})); err != nil {
			t.Fatal(err)
		}
	}
	apply(gateway.Agency{Code: "000.00.31.H41", Name: "Cơ quan 31", Version: 1, OldCodes: []string{"000.27.31.H41"}})
	apply(gateway.Agency{Code: "000.00.32.H41", Name: "Cơ quan 32", Version: 1, OldCodes: []string{"000.27.31.H41"}})
	apply(gateway.Agency{Code: "000.00.33.H41", Name: "Cơ quan 33", Version: 1})
	apply(gateway.Agency{Code: "000.00.33.H41", Version: 2, Removed: true})
	if _, ok := f.dir.Lookup("000.27.31.H41"); ok {
		t.Fatal("Lookup resolves a former code two agencies claim")
	}
	for code, want := range map[string]bool{
		"000.00.31.H41":         true, // current
		"H41.31":                true, // the same, as subject tokens
		"000.27.31.H41":         true, // former, claimed twice
		"H41.31.27":             true,
		"000.00.33.H41":         true, // taken out
		"000.00.34.H41":         false,
		"H41.31.99":             false,
		"GW.NGHEAN":             false,
		strings.Repeat("A", 40): false, // no code
		"":                      false,
	} {
		if got := f.dir.Known(code); got != want {
			t.Errorf("Known(%q) = %v, want %v", code, got, want)
		}
	}
}
