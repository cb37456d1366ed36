package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// The charts are SVG drawn on the server, for the printable page and the
// web UI alike: no JavaScript, a viewBox so that they take the width they
// are given, a <title> and a <desc> that says every number (role="img"),
// and no meaning carried by colour alone: the second series is hatched
// and every bar is labelled. Every text is escaped.
//
// The page shows a chart's title above or below it (a figure's caption);
// the chart draws its legend, one entry per series even when there is one.
// Texts are sized for the width pages give a chart, about chartW pixels
// (165 mm printed, half the clerk's page): every one is chartFontSize, so
// that none is drawn smaller than about 12 px. A value that is not known
// is said once where it is missing: for the whole chart, for a month, or
// for one bar of a month.

// Chart geometry, in viewBox units.
const (
	chartW        = 600.0
	chartH        = 300.0
	chartLeft     = 74.0
	chartRight    = 12.0
	chartTop      = 56.0  // below the legend
	chartBottom   = 250.0 // the baseline
	chartFont     = `DejaVu Sans, Arial, Helvetica, sans-serif`
	chartFontSize = 13.0
)

// The series' colours: a dark blue, solid, and a dark orange, hatched.
var chartColours = [...]string{"#1f4e79", "#a0430a"}

// MonthlyVolumeChart draws the documents sent (văn bản đi) and received
// (văn bản đến) in each month of the quarter, as pairs of bars.
func MonthlyVolumeChart(r *Report) template.HTML {
	var groups []barGroup
	var desc []string
	maxV := 0.0
	for _, m := range r.Beyond.ByMonth {
		groups = append(groups, barGroup{
			label:  "Tháng " + m.Month,
			values: []float64{float64(m.Outgoing), float64(m.Incoming)},
			texts:  []string{viInt(m.Outgoing), viInt(m.Incoming)},
			have:   []bool{true, true},
		})
		desc = append(desc, fmt.Sprintf("tháng %s: %s văn bản đi, %s văn bản đến", m.Month, viInt(m.Outgoing), viInt(m.Incoming)))
		maxV = max(maxV, float64(m.Outgoing), float64(m.Incoming))
	}
	top, step := niceScale(maxV, 4, 1)
	return barChart(chart{
		id:     "chart-volume",
		title:  "Số văn bản đi và văn bản đến theo tháng",
		desc:   chartDesc(r, "Số văn bản đi và văn bản đến theo tháng", desc),
		series: []series{{"Văn bản đi", "Đi"}, {"Văn bản đến", "Đến"}},
		groups: groups,
		top:    top,
		ticks:  ticks(top, step, func(v float64) string { return viNumber(v, 1) }),
	})
}

// SignedShareChart draws the share of digitally signed documents in each
// month of the quarter, within the agency and with other agencies (item
// 3.b), on a scale of 0 to 100%.
func SignedShareChart(r *Report) template.HTML {
	var groups []barGroup
	var desc []string
	for _, m := range r.Signatures.Months {
		g := barGroup{label: "Tháng " + m.Month}
		var parts []string
		for _, s := range []struct {
			name string
			r    Ratio
		}{{"trong nội bộ", m.Internal}, {"với cơ quan khác", m.External}} {
			g.values = append(g.values, s.r.Percent)
			g.have = append(g.have, s.r.Den > 0)
			g.texts = append(g.texts, viPercent(s.r.Percent))
			if s.r.Den > 0 {
				parts = append(parts, fmt.Sprintf("%s %s (%s/%s văn bản)", s.name, viPercent(s.r.Percent), viInt(s.r.Num), viInt(s.r.Den)))
			} else {
				parts = append(parts, s.name+" không có văn bản")
			}
		}
		groups = append(groups, g)
		desc = append(desc, "tháng "+m.Month+": "+strings.Join(parts, ", "))
	}
	return barChart(chart{
		id:     "chart-signed",
		title:  "Tỷ lệ văn bản điện tử có ký số theo tháng",
		desc:   chartDesc(r, "Tỷ lệ văn bản điện tử có ký số theo tháng", desc),
		series: []series{{"Trong nội bộ", "Nội bộ"}, {"Với cơ quan khác", "CQ khác"}},
		groups: groups,
		top:    100,
		ticks:  ticks(100, 25, func(v float64) string { return viNumber(v, 1) + "%" }),
	})
}

// DeliveryTimeChart draws, for each month of the quarter, the median time
// from sending a document to its recipient's 01 (Đã đến).
func DeliveryTimeChart(r *Report) template.HTML {
	var groups []barGroup
	var desc []string
	maxV := 0.0
	for _, m := range r.Beyond.ByMonth {
		have := m.Arrived > 0
		groups = append(groups, barGroup{
			label:  "Tháng " + m.Month,
			values: []float64{m.MedianTo01},
			texts:  []string{viDuration(m.MedianTo01)},
			have:   []bool{have},
		})
		if have {
			desc = append(desc, "tháng "+m.Month+": "+viDuration(m.MedianTo01))
		} else {
			desc = append(desc, "tháng "+m.Month+": không có số liệu")
		}
		maxV = max(maxV, m.MedianTo01)
	}
	unit, name := durationUnit(maxV)
	top, step := niceScale(maxV/unit, 4, 1)
	return barChart(chart{
		id:     "chart-time",
		title:  "Thời gian trung vị đến khi nơi nhận báo đã đến (01), theo tháng",
		desc:   chartDesc(r, "Thời gian trung vị từ khi gửi đến khi nơi nhận báo trạng thái 01 (đã đến), theo tháng", desc),
		series: []series{{"Thời gian trung vị đến trạng thái 01 (đã đến)", ""}},
		groups: groups,
		top:    top * unit,
		ticks: ticks(top, step, func(v float64) string {
			return viNumber(v, 1) + " " + name
		}, unit),
	})
}

// chartDesc is a chart's text equivalent: what it shows, for whom, and
// every number.
func chartDesc(r *Report, what string, parts []string) string {
	s := what
	if r.Agency.Name != "" {
		s += " — " + r.Agency.Name
	}
	if r.QuarterLabel != "" {
		s += ", " + r.QuarterLabel
	}
	if len(parts) == 0 {
		return s + ": chưa có số liệu."
	}
	return s + ": " + strings.Join(parts, "; ") + "."
}

// series is one series of a bar chart: its name in the legend and the
// short name under each bar (none when the chart has one series).
type series struct{ name, short string }

// barGroup is the bars of one month: a value, its text and whether it is
// known, per series.
type barGroup struct {
	label  string
	values []float64
	texts  []string
	have   []bool
}

// tick is a line of the value scale.
type tick struct {
	v     float64 // in the chart's values
	label string
}

// chart is a bar chart to draw.
type chart struct {
	id, title, desc string
	series          []series
	groups          []barGroup
	top             float64 // the value at the top of the plot
	ticks           []tick
}

// ticks are the lines 0, step, … top, labelled; their values are scaled
// by unit (for durations: the scale is in minutes, the values seconds).
func ticks(top, step float64, label func(float64) string, unit ...float64) []tick {
	u := 1.0
	if len(unit) > 0 {
		u = unit[0]
	}
	var out []tick
	for v := 0.0; v <= top+step/1e6; v += step {
		out = append(out, tick{v * u, label(v)})
	}
	return out
}

// niceScale returns the top of a scale that holds maxV in about n steps
// of 1, 2, 2.5 or 5 times a power of ten, and the step; minStep bounds
// the step from below (1 for counts).
func niceScale(maxV float64, n int, minStep float64) (top, step float64) {
	if maxV <= 0 {
		maxV = 1
	}
	raw := maxV / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	step = max(step, minStep)
	return math.Ceil(maxV/step-1e-9) * step, step
}

// durationUnit picks the unit of a scale of durations up to maxV seconds.
func durationUnit(maxV float64) (seconds float64, name string) {
	switch {
	case maxV < 120:
		return 1, "giây"
	case maxV < 2*3600:
		return 60, "phút"
	case maxV < 2*86400:
		return 3600, "giờ"
	default:
		return 86400, "ngày"
	}
}

// svgWriter writes SVG. Its methods escape every text they are given;
// the attributes they take as strings are the package's constants.
type svgWriter struct{ b strings.Builder }

func (s *svgWriter) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes a text element; attrs are constant attributes.
func (s *svgWriter) text(x, y float64, attrs, text string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f"%s>%s</text>`, x, y, attrs, html.EscapeString(text))
}

// fill is the fill and stroke of series i's bars.
func (c *chart) fill(i int) string {
	col := chartColours[i%len(chartColours)]
	if i%2 == 1 {
		return fmt.Sprintf(`fill="url(#%s-hatch)" stroke="%s" stroke-width="1.5"`, c.id, col)
	}
	return fmt.Sprintf(`fill="%s"`, col)
}

// barChart draws c.
func barChart(c chart) template.HTML {
	var s svgWriter
	s.raw(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="%s-title %s-desc" font-family="%s" font-size="%.0f">`,
		c.id, chartW, chartH, c.id, c.id, chartFont, chartFontSize)
	s.raw(`<title id="%s-title">%s</title>`, c.id, html.EscapeString(c.title))
	s.raw(`<desc id="%s-desc">%s</desc>`, c.id, html.EscapeString(c.desc))
	s.raw(`<defs><pattern id="%s-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
		`<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="%s" stroke-width="2.5"/></pattern></defs>`,
		c.id, chartColours[1])
	s.raw(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`, chartW, chartH)

	// The legend: a swatch and the name of each series, on one line.
	s.raw(`<g class="legend">`)
	x := chartLeft
	for i, se := range c.series {
		s.raw(`<g class="legend-item"><rect x="%.1f" y="12" width="18" height="14" %s/>`, x, c.fill(i))
		s.text(x+24, 24, ` fill="#222222"`, se.name)
		s.raw(`</g>`)
		x += 24 + textWidth(se.name) + 24
	}
	s.raw(`</g>`)

	plotH := chartBottom - chartTop
	plotW := chartW - chartLeft - chartRight
	y := func(v float64) float64 {
		if c.top <= 0 {
			return chartBottom
		}
		return chartBottom - plotH*min(max(v/c.top, 0), 1)
	}

	// The scale.
	for _, t := range c.ticks {
		ty := y(t.v)
		s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d0d7de" stroke-width="1"/>`, chartLeft, ty, chartW-chartRight, ty)
		s.text(chartLeft-6, ty+4, ` text-anchor="end" fill="#333333"`, t.label)
	}
	s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333" stroke-width="1.2"/>`, chartLeft, chartBottom, chartW-chartRight, chartBottom)

	// What is not known is said once: for the chart, for a month, or
	// for a bar.
	known := 0
	for _, g := range c.groups {
		for _, h := range g.have {
			if h {
				known++
			}
		}
	}
	const noData = ` text-anchor="middle" fill="#444444" class="no-data"`
	switch {
	case len(c.groups) == 0:
		s.text(chartLeft+plotW/2, chartTop+plotH/2, noData, "Chưa có số liệu")
	case known == 0:
		s.text(chartLeft+plotW/2, chartTop+plotH/2, noData, "Không có số liệu trong quý")
	}
	gw := plotW / float64(max(len(c.groups), 1))
	n := float64(len(c.series))
	bw := min(60, (gw-28)/n-6)
	for gi, g := range c.groups {
		gx := chartLeft + gw*float64(gi)
		x0 := gx + (gw-(bw*n+6*(n-1)))/2
		some := slices.Contains(g.have, true)
		if known > 0 && !some {
			s.text(gx+gw/2, chartBottom-8, noData, "Không có số liệu")
		}
		for i := range g.values {
			bx := x0 + float64(i)*(bw+6)
			mid := bx + bw/2
			se := c.series[min(i, len(c.series)-1)]
			switch {
			case g.have[i]:
				by := y(g.values[i])
				s.raw(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s>`, bx, by, bw, chartBottom-by, c.fill(i))
				s.raw(`<title>%s</title></rect>`, html.EscapeString(g.label+", "+se.name+": "+g.texts[i]))
				s.text(mid, by-5, ` text-anchor="middle" font-weight="bold" fill="#222222"`, g.texts[i])
			case some:
				// One bar of the month is not known: said above its
				// place, on two lines as narrow as the bar.
				s.raw(`<text x="%.1f" y="%.1f"%s><tspan x="%.1f">không có</tspan><tspan x="%.1f" dy="15">số liệu</tspan></text>`,
					mid, chartBottom-22, noData, mid, mid)
			}
			if se.short != "" {
				s.text(mid, chartBottom+17, ` text-anchor="middle" fill="#333333"`, se.short)
			}
		}
		ly := chartBottom + 38
		if len(c.series) == 1 {
			ly = chartBottom + 20
		}
		s.text(gx+gw/2, ly, ` text-anchor="middle" font-weight="bold" fill="#222222"`, g.label)
	}
	s.raw(`</svg>`)
	return template.HTML(s.b.String()) // every text in it is escaped
}

// textWidth is about how wide text is drawn at chartFontSize, in the
// chart's font: enough to place the legend's entries one after another.
func textWidth(text string) float64 {
	return 0.62 * chartFontSize * float64(utf8.RuneCountInString(text))
}
