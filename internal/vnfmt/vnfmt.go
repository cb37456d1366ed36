// Package vnfmt writes numbers and durations the Vietnamese way ("1.234,5",
// "56,7%", "2 giờ 15 phút"), as the quarterly report prints them and the
// clerks' pages show them. It is the one formatting package the faces
// share (gateway/report renders with it, gateway/web shows parts of a
// report with it), so that neither face imports the other.
package vnfmt

import (
	"math"
	"strconv"
	"strings"
)

// Int writes n the Vietnamese way: "1.234.567".
func Int(n int) string { return Number(float64(n), 0) }

// Number writes x the Vietnamese way, with at most decimals decimals
// and no trailing zeros: "1.234,5", "56,75", "3".
func Number(x float64, decimals int) string { return format(x, decimals, true) }

// Fixed writes x the Vietnamese way with decimals decimals: "86,0".
func Fixed(x float64, decimals int) string { return format(x, decimals, false) }

func format(x float64, decimals int, trim bool) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if trim {
		frac = strings.TrimRight(frac, "0")
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte(',')
		b.WriteString(frac)
	}
	out := b.String()
	if neg && strings.Trim(out, "0,.") != "" {
		out = "-" + out
	}
	return out
}

// Percent writes a percentage with one decimal: "56,7%", "86,0%".
func Percent(p float64) string { return Fixed(p, 1) + "%" }

// Ratio writes num out of den, percent of it, as "1.234/2.000 (61,7%)"; with no total,
// "0/0".
func Ratio(num, den int, percent float64) string {
	s := Int(num) + "/" + Int(den)
	if den == 0 {
		return s
	}
	return s + " (" + Percent(percent) + ")"
}

// Duration writes seconds for people, to two units at most: "dưới 1
// giây", "45 giây", "12 phút 30 giây", "2 giờ 15 phút", "3 ngày 4 giờ".
func Duration(seconds float64) string {
	if seconds < 1 {
		return "dưới 1 giây"
	}
	s := int64(math.Round(seconds))
	two := func(a int64, ua string, b int64, ub string) string {
		out := strconv.FormatInt(a, 10) + " " + ua
		if b > 0 {
			out += " " + strconv.FormatInt(b, 10) + " " + ub
		}
		return out
	}
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + " giây"
	case s < 3600:
		return two(s/60, "phút", s%60, "giây")
	case s < 86400:
		h, m := s/3600, (s%3600+30)/60
		if m == 60 {
			h, m = h+1, 0
		}
		if h == 24 {
			return "1 ngày"
		}
		return two(h, "giờ", m, "phút")
	default:
		d, h := s/86400, (s%86400+1800)/3600
		if h == 24 {
			d, h = d+1, 0
		}
		return two(d, "ngày", h, "giờ")
	}
}
