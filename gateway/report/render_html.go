package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

//go:embed templates/report.html
var templateFS embed.FS

// reportTemplate is the printable page of WriteHTML.
var reportTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"num":   viInt,
	"dec":   func(x float64) string { return viNumber(x, 2) },
	"pct":   viPercent,
	"ratio": viRatio,
	"dur":   viDuration,
	"date":  viDate,
	"inc":   func(i int) int { return i + 1 },
	"share": func(num, den int) float64 { return percent(num, den) },
	"list2": func(label string, d Durations) timesRow { return timesRow{label, d} },
}).ParseFS(templateFS, "templates/report.html"))

// WriteHTML writes the report as a standalone, printable HTML page in
// Vietnamese, numbered and worded as Section III of the Government
// Office's quarterly form, followed by an annex of what the gateway knows
// beyond the form, with charts drawn on the server (no JavaScript). The
// page carries its own CSS and prints on A4. Nothing is written when the
// page cannot be rendered.
func (r *Report) WriteHTML(w io.Writer) error {
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, newHTMLView(r)); err != nil {
		return fmt.Errorf("report: render the HTML page of %s %s: %w", r.Agency.Code, r.Quarter, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("report: write the HTML page: %w", err)
	}
	return nil
}

// htmlView is what the page's template reads.
type htmlView struct {
	R *Report
	// Period is the quarter's first and last days, "01/07/2026–30/09/2026";
	// Generated when the report was made, "05/10/2026 08:30".
	Period    string
	Generated string
	// Months pairs the exchange of each month with its signatures.
	Months []monthView
	// The charts.
	VolumeChart, SignedChart, TimeChart template.HTML

	defs  map[string]string
	names map[string]string
}

// monthView is one month of the annex.
type monthView struct {
	Month
	Sig MonthSignatures
}

func newHTMLView(r *Report) *htmlView {
	v := &htmlView{
		R:           r,
		Period:      period(r),
		Generated:   viDateTime(r.GeneratedAt),
		VolumeChart: MonthlyVolumeChart(r),
		SignedChart: SignedShareChart(r),
		TimeChart:   DeliveryTimeChart(r),
		defs:        make(map[string]string, len(r.Definitions)),
		names:       r.names(),
	}
	for _, d := range r.Definitions {
		v.defs[d.Item] = d.Text
	}
	for _, m := range r.Beyond.ByMonth {
		v.Months = append(v.Months, monthView{Month: m, Sig: r.monthSignatures(m.Month)})
	}
	return v
}

// Def is the definition of item key ("1.b", "P.2"), or "".
func (v *htmlView) Def(key string) string { return v.defs[key] }

// Name is the name of the agency of code as the report knows it, or "".
func (v *htmlView) Name(code string) string { return v.names[code] }

// timesRow is a row of the annex's table of times.
type timesRow struct {
	Label string
	D     Durations
}

// percent is 100 × num / den to one decimal, 0 when den is 0, as Ratio.
func percent(num, den int) float64 {
	r := Ratio{Num: num, Den: den}
	r.finish()
	return r.Percent
}

// names are the names the report knows, by agency code.
func (r *Report) names() map[string]string {
	out := map[string]string{}
	add := func(code, name string) {
		if name != "" && out[code] == "" {
			out[code] = name
		}
	}
	add(r.Agency.Code, r.Agency.Name)
	for _, u := range r.Deployment.ConnectedUnits {
		add(u.Code, u.Name)
	}
	for _, u := range r.Deployment.NotConnected {
		add(u.Code, u.Name)
	}
	for _, c := range r.Beyond.ByCounterpart {
		add(c.Code, c.Name)
	}
	return out
}

// monthSignatures is item 3's month "07/2026", or zero.
func (r *Report) monthSignatures(month string) MonthSignatures {
	for _, m := range r.Signatures.Months {
		if m.Month == month {
			return m
		}
	}
	return MonthSignatures{Month: month}
}

// period writes the quarter's first and last days in Vietnam.
func period(r *Report) string {
	if r.Since.IsZero() || r.Until.IsZero() {
		return ""
	}
	return viDate(r.Since) + "–" + viDate(r.Until.Add(-time.Nanosecond))
}

// viDate writes t's day in Vietnam, "30/09/2026"; "" for the zero time.
func viDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(envelope.VietnamTime).Format("02/01/2006")
}

// viDateTime writes t in Vietnam to the minute, "05/10/2026 08:30".
func viDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(envelope.VietnamTime).Format("02/01/2006 15:04")
}

// viInt writes n the Vietnamese way: "1.234.567".
func viInt(n int) string { return viNumber(float64(n), 0) }

// viNumber writes x the Vietnamese way, with at most decimals decimals
// and no trailing zeros: "1.234,5", "56,75", "3".
func viNumber(x float64, decimals int) string { return viFormat(x, decimals, true) }

// viFixed writes x the Vietnamese way with decimals decimals: "86,0".
func viFixed(x float64, decimals int) string { return viFormat(x, decimals, false) }

func viFormat(x float64, decimals int, trim bool) string {
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

// viPercent writes a percentage with one decimal: "56,7%", "86,0%".
func viPercent(p float64) string { return viFixed(p, 1) + "%" }

// viRatio writes a ratio as "1.234/2.000 (61,7%)"; with no total,
// "0/0".
func viRatio(r Ratio) string {
	s := viInt(r.Num) + "/" + viInt(r.Den)
	if r.Den == 0 {
		return s
	}
	return s + " (" + viPercent(r.Percent) + ")"
}

// viDuration writes seconds for people, to two units at most: "dưới 1
// giây", "45 giây", "12 phút 30 giây", "2 giờ 15 phút", "3 ngày 4 giờ".
func viDuration(seconds float64) string {
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
