package bus_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

func codes(t *testing.T, ss ...string) []envelope.AgencyCode {
	t.Helper()
	out := make([]envelope.AgencyCode, len(ss))
	for i, s := range ss {
		c, err := envelope.ParseAgencyCode(s, envelope.CodeStrict)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		name               string
		agencies, subtrees []string
		want               []string
	}{
		{
			name:     "literals, sorted, each once",
			agencies: []string{"000.00.00.H41", "000.00.00.G12", "000.00.00.H41"},
			want:     []string{"lt.edoc.G12", "lt.edoc.H41"},
		},
		{
			name:     "an agency under a subtree is folded into it",
			agencies: []string{"000.00.12.H41", "000.01.12.H41", "000.00.00.G12"},
			subtrees: []string{"000.00.00.H41"},
			want:     []string{"lt.edoc.G12", "lt.edoc.H41", "lt.edoc.H41.>"},
		},
		{
			name:     "a subtree under another is folded, a sibling with a longer name is not",
			agencies: []string{"000.00.00.H40", "000.00.12.H40"},
			subtrees: []string{"000.00.12.H41", "000.00.00.H41", "000.00.00.H41"},
			want:     []string{"lt.edoc.H40", "lt.edoc.H40.12", "lt.edoc.H41", "lt.edoc.H41.>"},
		},
		{
			name:     "a subtree below a hosted agency leaves the agency a literal",
			agencies: []string{"000.00.00.H41"},
			subtrees: []string{"000.00.12.H41"},
			want:     []string{"lt.edoc.H41", "lt.edoc.H41.12", "lt.edoc.H41.12.>"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bus.Filters(gateway.KindEdoc, codes(t, tc.agencies...), codes(t, tc.subtrees...))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Filters = %q, want %q", got, tc.want)
			}
		})
	}

	got, err := bus.Filters(gateway.KindStatus, codes(t, "000.00.00.G12"), nil)
	if err != nil || !slices.Equal(got, []string{"lt.status.G12"}) {
		t.Errorf("status filters = %q, %v", got, err)
	}
}

func TestFilters_Refused(t *testing.T) {
	if _, err := bus.Filters(gateway.KindEdoc, nil, nil); err == nil || !strings.Contains(err.Error(), "every agency") {
		t.Errorf("no agency: err = %v, want a refusal naming what an empty filter would read", err)
	}
	if _, err := bus.Filters(gateway.KindEdoc, []envelope.AgencyCode{{}}, nil); err == nil || !strings.Contains(err.Error(), "agency 1 has no code") {
		t.Errorf("zero code: err = %v", err)
	}
	if _, err := bus.Filters(gateway.KindEdoc, nil, []envelope.AgencyCode{{}}); err == nil || !strings.Contains(err.Error(), "subtree 1 has no code") {
		t.Errorf("zero subtree: err = %v", err)
	}

	many := make([]string, bus.MaxFilterLiterals+1)
	for i := range many {
		many[i] = fmt.Sprintf("%03d.%02d.%02d.H41", i%1000, i/1000, 1+i/1000)
	}
	agencies := codes(t, many...)
	if _, err := bus.Filters(gateway.KindEdoc, agencies, nil); err == nil || !strings.Contains(err.Error(), "delegate subtrees") {
		t.Errorf("%d literals: err = %v, want a refusal", len(agencies), err)
	}
	if got, err := bus.Filters(gateway.KindEdoc, agencies[:bus.MaxFilterLiterals], nil); err != nil || len(got) != bus.MaxFilterLiterals {
		t.Errorf("%d literals: %d filters, %v", bus.MaxFilterLiterals, len(got), err)
	}
	if got, err := bus.Filters(gateway.KindEdoc, agencies, codes(t, "000.00.00.H41")); err != nil || len(got) != 2 {
		t.Errorf("under one subtree: %q, %v", got, err)
	}
}
