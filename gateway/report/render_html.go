package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"sync"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/vnfmt"
)

//go:embed templates/report.html
var templateFS embed.FS

// reportTemplate is the printable page of WriteHTML, parsed at its first
// render rather than when the package loads (every lienthong command
// loads it). The template is embedded: a parse error is a build's fault,
// which the package's tests meet.
var reportTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report.html").Funcs(template.FuncMap{
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
})

// WriteHTML writes the report as a standalone, printable HTML page in
// Vietnamese, numbered and worded as Section III of the Government
// Office's quarterly form, followed by an annex of what the gateway knows
// beyond the form, with charts drawn on the server (no JavaScript). The
// page carries its own CSS and prints on A4. Nothing is written when the
// page cannot be rendered.
func (r *Report) WriteHTML(w io.Writer) error {
	var buf bytes.Buffer
	if err := reportTemplate().Execute(&buf, newHTMLView(r)); err != nil {
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
	return t.In(envelope.VietnamTime()).Format("02/01/2006")
}

// viDateTime writes t in Vietnam to the minute, "05/10/2026 08:30".
func viDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(envelope.VietnamTime()).Format("02/01/2006 15:04")
}

// The Vietnamese number formats are vnfmt's, shared with the clerks'
// pages.
func viInt(n int) string                      { return vnfmt.Int(n) }
func viNumber(x float64, decimals int) string { return vnfmt.Number(x, decimals) }
func viFixed(x float64, decimals int) string  { return vnfmt.Fixed(x, decimals) }
func viPercent(p float64) string              { return vnfmt.Percent(p) }
func viRatio(r Ratio) string                  { return r.String() }
func viDuration(seconds float64) string       { return vnfmt.Duration(seconds) }
