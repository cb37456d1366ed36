package report_test

import (
	"slices"
	"testing"

	"github.com/lienthong/lienthong/gateway/report"
)

// TestDeclarationParams: the names DeclarationParams gives are those
// ParseDeclarations reads, and a caller that changes its slice changes no
// one else's.
func TestDeclarationParams(t *testing.T) {
	var read []string
	if _, err := report.ParseDeclarations(func(name string) string {
		read = append(read, name)
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	params := report.DeclarationParams()
	slices.Sort(read)
	if got := slices.Sorted(slices.Values(params)); !slices.Equal(got, read) {
		t.Errorf("DeclarationParams() = %v, ParseDeclarations reads %v", params, read)
	}
	want := slices.Clone(params)
	params[0] = "changed"
	if got := report.DeclarationParams(); !slices.Equal(got, want) {
		t.Errorf("DeclarationParams() after a caller changed its slice = %v, want %v", got, want)
	}
}
