package vnfmt_test

import (
	"math"
	"testing"

	"github.com/lienthong/lienthong/internal/vnfmt"
)

func TestNumbers(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{vnfmt.Int(0), "0"},
		{vnfmt.Int(1234567), "1.234.567"},
		{vnfmt.Int(-1234), "-1.234"},
		{vnfmt.Number(1234.5, 2), "1.234,5"},
		{vnfmt.Number(3, 2), "3"},
		{vnfmt.Number(-0.001, 2), "0"},
		{vnfmt.Fixed(86, 1), "86,0"},
		{vnfmt.Number(math.NaN(), 1), "—"},
		{vnfmt.Percent(56.75), "56,8%"},
		{vnfmt.Ratio(1234, 2000, 61.7), "1.234/2.000 (61,7%)"},
		{vnfmt.Ratio(0, 0, 0), "0/0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		seconds float64
		want    string
	}{
		{0.4, "dưới 1 giây"},
		{45, "45 giây"},
		{750, "12 phút 30 giây"},
		{3600, "1 giờ"},
		{2*3600 + 15*60, "2 giờ 15 phút"},
		{86400 - 10, "1 ngày"},
		{3*86400 + 4*3600, "3 ngày 4 giờ"},
	} {
		if got := vnfmt.Duration(tc.seconds); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.seconds, got, tc.want)
		}
	}
}
