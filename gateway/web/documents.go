package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/vntext"
)

// pageSize is how many documents a list shows at once.
const pageSize = 50

// listPage is the data of Văn bản đi and Văn bản đến.
type listPage struct {
	Direction gateway.Direction
	Filter    listFilter
	Rows      []docRow
	Total     int
	// Next is the URL of the next page, empty on the last.
	Next string
	// States and Agencies fill the filter's choices: Agencies are a few
	// hundred suggestions (see suggestions), not the directory.
	States   []stateChoice
	Agencies []gateway.Agency
	// Several: the clerk has several agencies, so each row names its own.
	Several bool
}

// listFilter is a list's filter as the form sends it.
type listFilter struct {
	State string // an envelope.State identifier
	// Party is the recipient (outgoing) or the sender (incoming).
	Party string
	From  string // dd/mm/yyyy (yyyy-mm-dd accepted)
	To    string
	Text  string
	// Agency limits a clerk of several agencies to one of them.
	Agency string
}

type stateChoice struct {
	ID    string
	Label string
}

// docRow is one document of a list.
type docRow struct {
	gateway.DocumentSummary
	// Overdue: the due date has passed and it is not finished.
	Overdue bool
}

// outgoing shows Văn bản đi.
func (h *Handler) outgoing(w http.ResponseWriter, r *http.Request) {
	h.list(w, r, gateway.Outgoing)
}

// incoming shows Văn bản đến.
func (h *Handler) incoming(w http.ResponseWriter, r *http.Request) {
	h.list(w, r, gateway.Incoming)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, dir gateway.Direction) {
	ss := sessionOf(r)
	title, nav := "Văn bản đi", "di"
	if dir == gateway.Incoming {
		title, nav = "Văn bản đến", "den"
	}
	qv := r.URL.Query()
	f := listFilter{
		State: qv.Get("trang-thai"), Party: strings.TrimSpace(qv.Get("don-vi-lien-quan")),
		From: strings.TrimSpace(qv.Get("tu-ngay")), To: strings.TrimSpace(qv.Get("den-ngay")),
		Text: strings.TrimSpace(qv.Get("q")), Agency: qv.Get("don-vi"),
	}
	page := &listPage{
		Direction: dir, Filter: f, Several: len(ss.clerk.agencies) > 1,
		Agencies: h.suggestions(ss.clerk),
	}
	for _, s := range states {
		page.States = append(page.States, stateChoice{ID: s.String(), Label: chipOf(gateway.Delivery{Lifecycle: envelope.Lifecycle{State: s}, Transport: gateway.Sent}).Label})
	}
	v := newView(r, title, nav, page)
	q, problems := h.documentQuery(ss.clerk, dir, f)
	if len(problems) > 0 {
		v.Message = strings.Join(problems, " ")
		h.render(w, r, http.StatusBadRequest, viewOf(dir), v)
		return
	}
	// Show the dates dd/mm/yyyy, however they were typed.
	if !q.Since.IsZero() {
		page.Filter.From = q.Since.Format("02/01/2006")
	}
	if !q.Until.IsZero() {
		page.Filter.To = q.Until.AddDate(0, 0, -1).Format("02/01/2006")
	}
	q.Cursor, q.Limit = qv.Get("trang"), pageSize
	res, err := h.gw.Documents(r.Context(), q)
	if errors.Is(err, gateway.ErrInvalidQuery) {
		v.Message = "Đường dẫn trang không hợp lệ; đang hiển thị từ đầu danh sách."
		q.Cursor = ""
		res, err = h.gw.Documents(r.Context(), q)
	}
	if err != nil {
		h.storeFailure(w, r, err)
		return
	}
	if page.Total, err = h.gw.CountDocuments(r.Context(), q); err != nil {
		h.storeFailure(w, r, err)
		return
	}
	today := startOfDay(h.opts.Now())
	for _, d := range res.Documents {
		page.Rows = append(page.Rows, docRow{DocumentSummary: d, Overdue: overdue(d.Document, d.Deliveries, today)})
	}
	if res.Next != "" {
		next := r.URL.Query()
		next.Set("trang", res.Next)
		page.Next = r.URL.Path + "?" + next.Encode()
	}
	h.render(w, r, http.StatusOK, viewOf(dir), v)
}

func viewOf(dir gateway.Direction) string {
	if dir == gateway.Incoming {
		return "incoming"
	}
	return "outgoing"
}

// documentQuery turns a filter into a store query limited to the clerk's
// agencies; problems name each field that cannot be read.
func (h *Handler) documentQuery(c *clerk, dir gateway.Direction, f listFilter) (gateway.DocumentQuery, []string) {
	q := gateway.DocumentQuery{Direction: dir, Agencies: c.codes(), Text: f.Text}
	var problems []string
	if f.Agency != "" {
		ok := false
		for _, a := range c.agencies {
			if sameAgency(a.Code, f.Agency) {
				q.Agencies, ok = []string{a.Code}, true
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("Đơn vị “%s” không thuộc quyền của bạn.", f.Agency))
		}
	}
	if f.State != "" {
		s, err := envelope.ParseState(f.State)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Trạng thái “%s” không có trong danh mục.", f.State))
		} else {
			q.State = &s
		}
	}
	if f.Party != "" {
		codes, problem := h.partyCodes(f.Party)
		switch {
		case problem != "":
			problems = append(problems, problem)
		case dir == gateway.Outgoing:
			q.Recipients = codes
		default:
			q.Senders = codes
		}
	}
	if f.From != "" {
		t, err := parseDay(f.From)
		if err != nil {
			problems = append(problems, fmt.Sprintf("“Từ ngày” “%s” không phải một ngày (dd/mm/yyyy).", f.From))
		}
		q.Since = t
	}
	if f.To != "" {
		t, err := parseDay(f.To)
		if err != nil {
			problems = append(problems, fmt.Sprintf("“Đến ngày” “%s” không phải một ngày (dd/mm/yyyy).", f.To))
		}
		q.Until = t.AddDate(0, 0, 1)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		problems = append(problems, "“Từ ngày” phải trước hoặc bằng “Đến ngày”.")
	}
	return q, problems
}

// maxPartyAgencies is the most agencies the party filter stands for: a
// name that more agencies bear asks the clerk for more of it.
const maxPartyAgencies = 100

// partyCodes returns the codes of the agencies a clerk means by what they
// typed in the party filter (Nơi nhận, Nơi gửi), or a problem to show.
// An agency code the gateway knows is that agency. Otherwise it is a part
// of a name or a code, letter case and Vietnamese marks ignored ("nghe an"
// finds "UBND tỉnh Nghệ An"), looked for in the directory once, not per
// document; a code the directory does not know is kept as typed. Old codes
// come with their agency, as documents sent to them are its.
func (h *Handler) partyCodes(typed string) ([]string, string) {
	s := partyCode(typed)
	var codes []string
	code, err := envelope.ParseAgencyCode(s, envelope.CodeAny)
	if err == nil {
		if a, ok := h.gw.Agency(code.String()); ok {
			return agencyCodes(a), ""
		}
		codes = append(codes, code.String())
	}
	named, more := agenciesNamed(s, h.gw, h.hostedNames(), maxPartyAgencies)
	if more {
		return nil, fmt.Sprintf("Có hơn %d cơ quan có mã hoặc tên chứa “%s”; hãy gõ đầy đủ hơn hoặc chọn trong danh sách.", maxPartyAgencies, typed)
	}
	for _, a := range named {
		for _, c := range agencyCodes(a) {
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
	}
	if len(codes) == 0 {
		return nil, fmt.Sprintf("Không có cơ quan nào có mã hoặc tên “%s” trong danh bạ.", typed)
	}
	return codes, ""
}

// directory is what the filters ask of the gateway's directory (of its
// gateway.AgencyDirectory role): a page of a search, never the whole of
// it.
type directory interface {
	SearchAgencies(gateway.DirectoryQuery) gateway.DirectoryPage
	Agency(code string) (gateway.Agency, bool)
}

// hostedNames returns the names the gateway's configuration gives its
// own agencies, by canonical code: the page shows them rather than the
// directory's.
func (h *Handler) hostedNames() map[string]string {
	names := map[string]string{}
	for _, a := range h.gw.HostedAgencies() {
		if a.Name != "" {
			names[a.Code.String()] = a.Name
		}
	}
	return names
}

// maxSuggestions bounds the agencies the party filter suggests
// (<datalist>), and maxTopSuggestions the ministries and provinces among
// them: the national directory, 111,000 agencies, would be megabytes on
// every list page.
const (
	maxSuggestions    = 300
	maxTopSuggestions = 200
)

// suggestions returns the agencies the party filter offers a clerk.
func (h *Handler) suggestions(c *clerk) []gateway.Agency {
	return suggestAgencies(h.gw, c.codes(), h.hostedNames(), maxSuggestions)
}

// suggestAgencies returns at most max agencies to suggest to a clerk of
// the agencies codes: the level-1 agencies (ministries, provinces: at
// most maxTopSuggestions), then those under the clerk's own level-1
// agencies (their province's departments and communes, their ministry's
// units), sharing what is left. Hosted agencies bear their configured
// names. Any other agency is found by typing a part of its name.
func suggestAgencies(dir directory, codes []string, hosted map[string]string, max int) []gateway.Agency {
	var out []gateway.Agency
	seen := map[string]bool{}
	add := func(as []gateway.Agency) {
		for _, a := range as {
			if len(out) == max {
				return
			}
			if seen[a.Code] {
				continue
			}
			seen[a.Code] = true
			if name, ok := hosted[a.Code]; ok {
				a.Name = name
			}
			out = append(out, a)
		}
	}
	add(dir.SearchAgencies(gateway.DirectoryQuery{Level: 1, Limit: min(max, maxTopSuggestions)}).Agencies)
	var groups []string
	for _, code := range codes {
		if g, ok := topOf(code); ok && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	for i, g := range groups {
		room := (max - len(out)) / (len(groups) - i)
		if room <= 0 {
			continue
		}
		// Under includes g itself, which the first search gave.
		add(dir.SearchAgencies(gateway.DirectoryQuery{Under: g, Limit: room + 1}).Agencies)
	}
	return out
}

// topOf returns the level-1 code above an agency (itself at level 1).
func topOf(code string) (string, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil || c.Level() == 0 {
		return "", false
	}
	for {
		p, ok := c.Parent()
		if !ok {
			return c.String(), true
		}
		c = p
	}
}

// agencyCodes returns an agency's code and its old codes, canonical as
// deliveries and documents store them.
func agencyCodes(a gateway.Agency) []string {
	codes := []string{a.Code}
	for _, old := range a.OldCodes {
		if c, err := envelope.ParseAgencyCode(old, envelope.CodeAny); err == nil && !slices.Contains(codes, c.String()) {
			codes = append(codes, c.String())
		}
	}
	return codes
}

// agenciesNamed returns the agencies whose code, name or old code
// contains s, letter case, Vietnamese marks and runs of spaces ignored,
// as Directory.Search finds them, and the hosted agencies whose
// configured name (hosted, by code) contains it; hosted agencies bear
// their configured names. more says that over limit do, and then none is
// returned.
func agenciesNamed(s string, dir directory, hosted map[string]string, limit int) (named []gateway.Agency, more bool) {
	text := strings.Join(strings.Fields(s), " ")
	needle := vntext.Fold(text)
	if needle == "" {
		return nil, false
	}
	found := dir.SearchAgencies(gateway.DirectoryQuery{Text: text, Limit: limit + 1}).Agencies
	if len(found) > limit {
		return nil, true
	}
	seen := map[string]bool{}
	for _, a := range found {
		if name, ok := hosted[a.Code]; ok {
			a.Name = name
		}
		seen[a.Code] = true
		named = append(named, a)
	}
	// A hosted agency by the name the page shows, though its entry
	// bears another.
	var extra []string
	for code, name := range hosted {
		if !seen[code] && strings.Contains(vntext.Fold(name), needle) {
			extra = append(extra, code)
		}
	}
	slices.Sort(extra)
	for _, code := range extra {
		a, ok := dir.Agency(code)
		if !ok {
			a = gateway.Agency{Code: code}
		}
		a.Name = hosted[code]
		named = append(named, a)
	}
	if len(named) > limit {
		return nil, true
	}
	return named, false
}

// partyCode takes the code out of "Name (code)" as the datalist offers it,
// or returns s.
func partyCode(s string) string {
	if i := strings.LastIndexByte(s, '('); i >= 0 && strings.HasSuffix(s, ")") {
		return strings.TrimSpace(s[i+1 : len(s)-1])
	}
	return s
}

// parseDay reads a day as clerks type it (dd/mm/yyyy, d/m/yyyy) or as
// links and date pickers write it (yyyy-mm-dd), as midnight in Vietnam.
func parseDay(s string) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "02/01/2006", "2/1/2006"} {
		if t, err := time.ParseInLocation(layout, s, envelope.VietnamTime()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a day", s)
}

// startOfDay is midnight in Vietnam of the day of t.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.In(envelope.VietnamTime()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, envelope.VietnamTime())
}

// overdue reports whether a document is past its due date (before today
// in Vietnam) with a delivery not finished.
func overdue(d gateway.Document, deliveries []gateway.Delivery, today time.Time) bool {
	if d.DueDate == "" || d.RevokedAt != nil {
		return false
	}
	due, err := d.DueDate.Time()
	if err != nil || !due.Before(today) {
		return false
	}
	for _, dl := range deliveries {
		if !dl.Lifecycle.State.Final() {
			return true
		}
	}
	return false
}

// storeFailure answers a store that could not be read.
func (h *Handler) storeFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, gateway.ErrClosed) {
		h.renderError(w, r, sessionOf(r), http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	h.serverError(w, r, err)
}
