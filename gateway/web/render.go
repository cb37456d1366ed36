package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/vnfmt"
)

//go:embed templates
var templateFS embed.FS

// viewNames are the pages; each is templates/views/<name>.html, parsed
// with the layout. A page not listed here cannot be rendered, and a listed
// one that does not parse stops New.
var viewNames = []string{"login", "outgoing", "incoming", "document", "directory", "report", "error"}

// views are the parsed pages.
type views struct {
	byName map[string]*template.Template
}

func loadViews(funcs template.FuncMap) (*views, error) {
	v := &views{byName: map[string]*template.Template{}}
	for _, name := range viewNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", "templates/views/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		v.byName[name] = t
	}
	return v, nil
}

// view is what every page gets: the clerk, the CSRF token for its forms,
// a message, and the page's own data.
type view struct {
	Title string
	// Nav is the menu entry to mark current.
	Nav   string
	Clerk *clerk
	CSRF  string
	// Message is an error to show; Notice a confirmation.
	Message string
	Notice  string
	Data    any
	// Version is where the gateway's changes stood when the request
	// came, before the page read anything: the live stream starts from it.
	Version string
}

// newView pre-fills a view for the signed-in clerk.
func newView(r *http.Request, title, nav string, data any) *view {
	v := &view{Title: title, Nav: nav, Data: data, Version: versionOf(r)}
	if ss := sessionOf(r); ss != nil {
		v.Clerk, v.CSRF = ss.clerk, ss.csrf
	}
	return v
}

// render executes a page into a buffer first, so that a failing template
// gives a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := h.views.byName[name]
	if !ok {
		h.serverError(w, r, fmt.Errorf("web: no view %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		h.serverError(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows an error page with a message in Vietnamese.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, ss *session, status int, message string) {
	v := &view{Title: "Không thực hiện được", Message: message, Version: versionOf(r)}
	if ss != nil {
		v.Clerk, v.CSRF = ss.clerk, ss.csrf
	}
	h.render(w, r, status, "error", v)
}

// serverError logs a fault and answers a plain 500: the fault may be the
// templates themselves.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("web request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintln(w, msgServerError)
}

// funcs are the template functions: dates in Vietnam as dd/mm/yyyy, the
// catalog's labels, asset URLs.
func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":       func(name string) (string, error) { return h.assets.url(name) },
		"date":        formatDate,
		"datetime":    formatDateTime,
		"isoDate":     func(t time.Time) string { return t.In(envelope.VietnamTime()).Format(time.DateOnly) },
		"priority":    priorityLabel,
		"urgent":      func(p int) bool { return p > 0 },
		"chip":        chipOf,
		"outcome":     outcomeWords,
		"verdictOK":   func(outcome string) bool { return outcome == "valid" },
		"event":       h.eventWords,
		"agencyName":  h.agencyName,
		"agencyLabel": h.agencyLabel,
		"size":        formatSize,
		"tier":        h.tierOfCode,
		"signer":      signerName,
		"num":         vnfmt.Int,
		"pct":         vnfmt.Percent,
		"ratio":       func(r fmt.Stringer) string { return r.String() }, // a gateway.ReportRatio writes itself
		"duration":    vnfmt.Duration,
	}
}

// formatDate writes an edXML date (yyyy/MM/dd) as dd/mm/yyyy; an empty
// one as "—", one that is not a date as it is.
func formatDate(d envelope.Date) string {
	if d == "" {
		return "—"
	}
	t, err := d.Time()
	if err != nil {
		return string(d)
	}
	return t.Format("02/01/2006")
}

// formatDateTime writes a time in Vietnam as dd/mm/yyyy HH:MM:SS.
func formatDateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(envelope.VietnamTime()).Format("02/01/2006 15:04:05")
}

// formatSize writes a byte count for people: "12,5 KB".
func formatSize(n int) string {
	const unit = 1024
	switch {
	case n < unit:
		return fmt.Sprintf("%d B", n)
	case n < unit*unit:
		return commaDecimal(float64(n)/unit) + " KB"
	default:
		return commaDecimal(float64(n)/(unit*unit)) + " MB"
	}
}

// commaDecimal writes x with one decimal and a comma, as Vietnamese does.
func commaDecimal(x float64) string {
	s := fmt.Sprintf("%.1f", x)
	b := []byte(s)
	for i := range b {
		if b[i] == '.' {
			b[i] = ','
		}
	}
	return string(b)
}
