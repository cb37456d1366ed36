package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// Declarations are the inputs the gateway cannot know, declared by the
// agency (flags or a file); each one given is labelled as declared.
type Declarations struct {
	// Units is how many units the agency has in all (its organisation
	// chart), those without a DMS included.
	Units *int `json:"units,omitempty" yaml:"units"`
	// PaperOutgoing is the quarter's count in the paper outgoing register.
	PaperOutgoing *int `json:"paperOutgoing,omitempty" yaml:"paperOutgoing"`
	// SharedDMS is "all" when one shared DMS serves every unit, "some"
	// or "none"; empty when not declared.
	SharedDMS string `json:"sharedDms,omitempty" yaml:"sharedDms"`
	// SigningIntegrated: digital signing is integrated in the shared DMS.
	SigningIntegrated *bool `json:"signingIntegrated,omitempty" yaml:"signingIntegrated"`
}

// Validate names each declaration that cannot be used.
func (d Declarations) Validate() error {
	switch d.SharedDMS {
	case "", "all", "some", "none":
	default:
		return fmt.Errorf("report: declared sharedDms %q: all, some or none", d.SharedDMS)
	}
	if d.Units != nil && *d.Units < 0 {
		return fmt.Errorf("report: declared units %d: must not be negative", *d.Units)
	}
	if d.PaperOutgoing != nil && *d.PaperOutgoing < 0 {
		return fmt.Errorf("report: declared paperOutgoing %d: must not be negative", *d.PaperOutgoing)
	}
	return nil
}

// Input is what a report needs besides the store's rows.
type Input struct {
	// Agency is the reporting agency; its code in either form.
	Agency  Agency
	Quarter Quarter
	// Gateway names the gateway whose store is read.
	Gateway string
	// Hosted are the agencies this gateway hosts: a document between two
	// of them is in the store twice (sent and received) and is counted
	// once, as sent.
	Hosted []string
	// Directory is the axis's directory; Live the ids of the gateways
	// whose heartbeat is current.
	Directory []gateway.Agency
	Live      map[string]bool
	Declared  Declarations
	// Now is when the report is made.
	Now time.Time
}

// Builder computes a report from the store's rows (gateway.ReportRow),
// given in the order Store.ReportRows gives them: all the deliveries of a
// document together.
type Builder struct {
	in     Input
	agency envelope.AgencyCode
	hosted map[string]bool // by tokens
	// hostedCache and under remember what was read of a code.
	hostedCache map[string]bool
	under       map[string]bool // agency code → under the reporting agency
	cutoff      time.Time       // overdue: due dates before it
	// bounds are the starts of the quarter's months and its end: a
	// row's month is found by comparing its time with them, not by
	// computing its date in Vietnam's time.
	bounds [4]time.Time
	// dueEnds caches the end of each due date's day (overdue), ok false
	// for a date that cannot be read.
	dueEnds map[envelope.Date]dueEnd
	seen    seenCodes

	cur      doc
	rep      Report
	exchange map[string]bool // units under the agency that exchanged
	external bool
	parties  map[string]*Counterpart
	to01     []int64 // milliseconds
	to03     []int64
	to06     []int64
	month01  [3][]int64
	sig      [3]MonthSignatures
	pdf      Ratio
	refusals []Refusal
}

// dueEnd is the end of a due date's day, if the date can be read.
type dueEnd struct {
	end time.Time
	ok  bool
}

// seenCodes are the codes of a lifecycle the report looks for, each as a
// set: Seen.Has parses its code at each call.
type seenCodes struct {
	arrived, recallRequested, recallRefused envelope.StatusSet
}

func newSeenCodes() seenCodes {
	var s seenCodes
	s.arrived.Add(envelope.StatusArrived)
	s.recallRequested.Add(envelope.StatusRecallRequested)
	s.recallRefused.Add(envelope.StatusRecallRefused)
	return s
}

// doc is the document whose deliveries are being read.
type doc struct {
	id        string
	month     int // of the quarter, 0 to 2
	dir       gateway.Direction
	agency    string
	from      string
	created   time.Time
	bdt       int
	paper     bool
	signed    bool
	signedPDF bool
	internal  bool // every recipient (outgoing) or the sender (incoming) is under the agency
}

// NewBuilder starts a report.
func NewBuilder(in Input) (*Builder, error) {
	code, err := envelope.ParseAgencyCode(in.Agency.Code, envelope.CodeAny)
	if err != nil {
		return nil, fmt.Errorf("report: agency %q: %w", in.Agency.Code, err)
	}
	if err := in.Declared.Validate(); err != nil {
		return nil, err
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	in.Agency.Code = code.String()
	b := &Builder{
		in: in, agency: code, hosted: map[string]bool{}, hostedCache: map[string]bool{}, under: map[string]bool{},
		exchange: map[string]bool{}, parties: map[string]*Counterpart{},
		cutoff: in.Quarter.End(), dueEnds: map[envelope.Date]dueEnd{}, seen: newSeenCodes(),
	}
	for i := range b.bounds {
		b.bounds[i] = in.Quarter.Month(i)
	}
	if in.Now.Before(b.cutoff) {
		b.cutoff = in.Now
	}
	b.rep.Beyond.ByMonth = make([]Month, 3)
	for _, h := range in.Hosted {
		if c, err := envelope.ParseAgencyCode(h, envelope.CodeAny); err == nil {
			b.hosted[c.Tokens()] = true
		}
	}
	for i := range b.sig {
		b.sig[i].Month = in.Quarter.Month(i).Format("01/2006")
	}
	return b, nil
}

// isUnder reports whether code is the reporting agency or under it; codes
// that cannot be read are not.
func (b *Builder) isUnder(code string) bool {
	u, ok := b.under[code]
	if !ok {
		c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
		u = err == nil && b.agency.Contains(c)
		b.under[code] = u
	}
	return u
}

// isHosted reports whether code is an agency this gateway hosts.
func (b *Builder) isHosted(code string) bool {
	h, ok := b.hostedCache[code]
	if !ok {
		c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
		h = err == nil && b.hosted[c.Tokens()]
		b.hostedCache[code] = h
	}
	return h
}

func (b *Builder) party(code string) *Counterpart {
	p := b.parties[code]
	if p == nil {
		p = &Counterpart{Code: code, Internal: b.isUnder(code)}
		b.parties[code] = p
	}
	return p
}

// monthIndex is the month of t within the quarter (0 to 2), or -1.
func (b *Builder) monthIndex(t time.Time) int {
	if t.Before(b.bounds[0]) || !t.Before(b.bounds[3]) {
		return -1
	}
	m := 0
	for m < 2 && !t.Before(b.bounds[m+1]) {
		m++
	}
	return m
}

// Add reads one row. Rows of a document outside the quarter are
// ignored.
func (b *Builder) Add(r *gateway.ReportRow) {
	if r.Document != b.cur.id {
		m := b.monthIndex(r.CreatedAt)
		if m < 0 {
			return
		}
		b.flush()
		b.cur = doc{
			id: r.Document, month: m, dir: r.Direction, agency: r.Agency, from: r.From, created: r.CreatedAt,
			bdt: r.BussinessDocType, paper: r.Paper, signed: r.Verdict == "valid" && !r.GatewaySigned, signedPDF: r.SignedPDFs > 0,
			internal: true,
		}
		b.exchange[r.Agency] = true
		if r.Direction == gateway.Incoming {
			b.cur.internal = b.isUnder(r.From)
		}
	}
	b.delivery(r)
}

// delivery counts one delivery (defDelivered, defTimes, defOverdue,
// defRefusals).
func (b *Builder) delivery(r *gateway.ReportRow) {
	m := b.cur.month
	var party string
	if r.Direction == gateway.Outgoing {
		party = r.Recipient
		b.rep.Beyond.Deliveries++
		b.party(r.Recipient).Sent++
		if b.isUnder(r.Recipient) {
			b.exchange[r.Recipient] = true
		} else {
			b.cur.internal = false
			b.external = true
		}
		if !r.ArrivedAt.IsZero() || r.Seen&b.seen.arrived != 0 {
			b.rep.Beyond.Delivered.Num++
		}
		if !r.ArrivedAt.IsZero() {
			// A 01's Timestamp is to the second, the document's creation
			// to the millisecond: a 01 within the second may read as
			// before it.
			d := max(r.ArrivedAt.Sub(r.CreatedAt).Milliseconds(), 0)
			b.to01 = append(b.to01, d)
			b.month01[m] = append(b.month01[m], d)
		}
		if !r.AcceptedAt.IsZero() {
			b.to03 = append(b.to03, r.AcceptedAt.Sub(r.CreatedAt).Milliseconds())
		}
		if !r.DoneAt.IsZero() {
			b.to06 = append(b.to06, r.DoneAt.Sub(r.CreatedAt).Milliseconds())
		}
	} else {
		party = r.From
		if b.isUnder(r.From) {
			b.exchange[r.From] = true
		} else {
			b.external = true
		}
		if b.isHosted(r.From) {
			// The same delivery is in the store as its sender's: it is
			// counted there once.
			return
		}
	}
	switch r.State {
	case envelope.StateRejected:
		if r.Direction == gateway.Outgoing {
			b.party(r.Recipient).Refused++
		}
		b.refusals = append(b.refusals, Refusal{
			Document: r.Document, Direction: string(r.Direction), Agency: r.Agency, Party: party,
			Reason: r.Note, CreatedAt: r.CreatedAt,
		})
	case envelope.StateRecalled:
		b.rep.Beyond.Recalls.Recalled++
	}
	if r.Seen&b.seen.recallRequested != 0 {
		b.rep.Beyond.Recalls.Requested++
	}
	if r.Seen&b.seen.recallRefused != 0 {
		b.rep.Beyond.Recalls.Refused++
	}
	if b.overdue(r) {
		if r.Direction == gateway.Outgoing {
			b.rep.Beyond.OverdueOutgoing++
		} else {
			b.rep.Beyond.OverdueIncoming++
		}
	}
}

// overdue: due before the cutoff's day and not done by the end of the due
// day, unless refused or recalled (defOverdue).
func (b *Builder) overdue(r *gateway.ReportRow) bool {
	if r.DueDate == "" || r.State == envelope.StateRejected || r.State == envelope.StateRecalled {
		return false
	}
	d, ok := b.dueEnds[r.DueDate]
	if !ok {
		due, err := r.DueDate.Time()
		d = dueEnd{end: due.AddDate(0, 0, 1), ok: err == nil}
		b.dueEnds[r.DueDate] = d
	}
	if !d.ok || d.end.After(b.cutoff) {
		return false
	}
	return r.DoneAt.IsZero() || !r.DoneAt.Before(d.end)
}

// flush counts the document read so far (defOutgoing, defInternal,
// defSigned, defSignedPDF).
func (b *Builder) flush() {
	d := b.cur
	if d.id == "" {
		return
	}
	m := d.month
	month := &b.rep.Beyond.ByMonth[m]
	counted := true
	if d.dir == gateway.Outgoing {
		month.Outgoing++
		if d.bdt == 0 {
			b.rep.Use.Outgoing++
			if d.internal {
				b.rep.Use.Internal++
				if d.paper {
					b.rep.Use.WithPaper.Num++
				} else {
					b.rep.Use.ElectronicOnly.Num++
				}
			}
		}
	} else {
		month.Incoming++
		b.rep.Beyond.Incoming++
		b.party(d.from).Received++
		// A document from a unit hosted here is counted where it was sent.
		counted = !b.isHosted(d.from)
	}
	if counted {
		month.Documents++
		r := &b.sig[m].External
		if d.internal {
			r = &b.sig[m].Internal
		}
		r.Den++
		b.pdf.Den++
		if d.signed {
			r.Num++
			month.Signed++
		}
		if d.signedPDF {
			b.pdf.Num++
		}
	}
	b.cur = doc{}
}

// merge adds to b what o counted: o is a Builder of the same Input that
// was given the rows of a later part of the quarter (Generate reads the
// parts at once). Both are flushed. Every figure of the report is a sum,
// a set or a list of what each row gives, so that the report of the
// merged Builder is the one that the rows of both in order would make:
// the lists (the times, sorted when the report is finished, and the
// refusals, in the order of the rows) are o's after b's.
func (b *Builder) merge(o *Builder) {
	b.flush()
	o.flush()
	u, ou := &b.rep.Use, &o.rep.Use
	u.Outgoing += ou.Outgoing
	u.Internal += ou.Internal
	u.WithPaper.Num += ou.WithPaper.Num
	u.ElectronicOnly.Num += ou.ElectronicOnly.Num
	be, obe := &b.rep.Beyond, &o.rep.Beyond
	be.Deliveries += obe.Deliveries
	be.Delivered.Num += obe.Delivered.Num
	be.Incoming += obe.Incoming
	be.OverdueOutgoing += obe.OverdueOutgoing
	be.OverdueIncoming += obe.OverdueIncoming
	be.Recalls.Requested += obe.Recalls.Requested
	be.Recalls.Recalled += obe.Recalls.Recalled
	be.Recalls.Refused += obe.Recalls.Refused
	for i := range be.ByMonth {
		m, om := &be.ByMonth[i], &obe.ByMonth[i]
		m.Outgoing += om.Outgoing
		m.Incoming += om.Incoming
		m.Documents += om.Documents
		m.Signed += om.Signed
	}
	for code := range o.exchange {
		b.exchange[code] = true
	}
	b.external = b.external || o.external
	for code, op := range o.parties {
		p := b.party(code)
		p.Sent += op.Sent
		p.Received += op.Received
		p.Refused += op.Refused
	}
	b.to01 = append(b.to01, o.to01...)
	b.to03 = append(b.to03, o.to03...)
	b.to06 = append(b.to06, o.to06...)
	for i := range b.month01 {
		b.month01[i] = append(b.month01[i], o.month01[i]...)
	}
	for i := range b.sig {
		s, os := &b.sig[i], &o.sig[i]
		s.Internal.Num += os.Internal.Num
		s.Internal.Den += os.Internal.Den
		s.External.Num += os.External.Num
		s.External.Den += os.External.Den
	}
	b.pdf.Num += o.pdf.Num
	b.pdf.Den += o.pdf.Den
	b.refusals = append(b.refusals, o.refusals...)
}

// Report finishes the report. The Builder must not be used after.
func (b *Builder) Report() *Report {
	b.flush()
	rep := &b.rep
	q := b.in.Quarter
	rep.Version = Version
	rep.Agency = b.in.Agency
	rep.Quarter, rep.QuarterLabel = q.String(), q.Label()
	rep.Since, rep.Until = q.Start(), q.End()
	rep.Gateway, rep.GeneratedAt = b.in.Gateway, b.in.Now
	rep.Definitions = definitions()
	b.deployment()

	u := &rep.Use
	u.ElectronicOnly.Den, u.WithPaper.Den = u.Internal, u.Internal
	u.ElectronicOnly.finish()
	u.WithPaper.finish()
	if p := b.in.Declared.PaperOutgoing; p != nil {
		u.PaperOutgoing = Declared[int]{Value: *p, Declared: true}
		if *p > 0 {
			u.ElectronicPerPaper = round2(float64(u.Outgoing) / float64(*p))
		}
	}

	s := &rep.Signatures
	if v := b.in.Declared.SigningIntegrated; v != nil {
		s.Integrated = Declared[bool]{Value: *v, Declared: true}
	}
	var in, ex Ratio
	for i := range b.sig {
		b.sig[i].Internal.finish()
		b.sig[i].External.finish()
		in.Num, in.Den = in.Num+b.sig[i].Internal.Num, in.Den+b.sig[i].Internal.Den
		ex.Num, ex.Den = ex.Num+b.sig[i].External.Num, ex.Den+b.sig[i].External.Den
	}
	s.Months = b.sig[:]
	s.Internal, s.External = average(in), average(ex)
	b.pdf.finish()
	s.SignedPDF = b.pdf

	be := &rep.Beyond
	be.Delivered.Den = be.Deliveries
	be.Delivered.finish()
	be.TimeTo01, be.TimeTo03, be.TimeTo06 = durations(b.to01), durations(b.to03), durations(b.to06)
	for i := range be.ByMonth {
		be.ByMonth[i].Month = q.Month(i).Format("01/2006")
		d := durations(b.month01[i])
		be.ByMonth[i].MedianTo01, be.ByMonth[i].Arrived = d.Median, d.Count
	}
	names := b.names()
	for _, p := range b.parties {
		p.Name = names[p.Code]
		be.ByCounterpart = append(be.ByCounterpart, *p)
	}
	sort.Slice(be.ByCounterpart, func(i, j int) bool {
		a, c := be.ByCounterpart[i], be.ByCounterpart[j]
		if a.Sent+a.Received != c.Sent+c.Received {
			return a.Sent+a.Received > c.Sent+c.Received
		}
		return a.Code < c.Code
	})
	be.Refusals = b.refusals
	if be.Refusals == nil {
		be.Refusals = []Refusal{}
	}
	return rep
}

// deployment fills item 1 from the directory (defCase, defUnits,
// defConnected, defNational).
func (b *Builder) deployment() {
	dep := &b.rep.Deployment
	dep.ConnectedUnits, dep.NotConnected = []Unit{}, []Unit{}
	live := false
	for _, a := range b.in.Directory {
		if !b.isUnder(a.Code) {
			continue
		}
		u := Unit{Code: a.Code, Name: a.Name, Gateway: a.Gateway, Live: b.in.Live[a.Gateway], Exchanged: b.exchangedUnit(a.Code)}
		if c, err := envelope.ParseAgencyCode(a.Code, envelope.CodeAny); err == nil && c.Equal(b.agency) {
			live = u.Live
			if b.rep.Agency.Name == "" {
				b.rep.Agency.Name = a.Name
			}
		}
		if u.Exchanged || u.Live {
			dep.ConnectedUnits = append(dep.ConnectedUnits, u)
		} else {
			dep.NotConnected = append(dep.NotConnected, u)
		}
	}
	inDirectory := len(dep.ConnectedUnits) + len(dep.NotConnected)
	dep.Units = Declared[int]{Value: inDirectory}
	if n := b.in.Declared.Units; n != nil {
		dep.Units = Declared[int]{Value: *n, Declared: true}
	}
	dep.WithDMS = Ratio{Num: inDirectory, Den: dep.Units.Value}
	dep.WithDMS.finish()
	dep.Connected = Ratio{Num: len(dep.ConnectedUnits), Den: dep.Units.Value}
	dep.Connected.finish()
	switch {
	case b.in.Declared.SharedDMS == "all":
		dep.Case, dep.CaseText = 1, "Trường hợp 1: một hệ thống QLVB dùng chung cho mọi đơn vị (kê khai)"
	case dep.Connected.Num >= dep.Units.Value && len(dep.NotConnected) == 0:
		dep.Case, dep.CaseText = 2, "Trường hợp 2: mọi đơn vị đã kết nối liên thông"
	default:
		dep.Case, dep.CaseText = 3, "Trường hợp 3: còn đơn vị chưa kết nối liên thông"
	}
	dep.NationalAxis = b.external || live
	if dep.NationalAxis {
		dep.NationalAxisText = "Đã kết nối với Trục liên thông văn bản quốc gia"
	} else {
		dep.NationalAxisText = "Chưa có trao đổi văn bản với Trục liên thông văn bản quốc gia trong quý"
	}
}

// exchangedUnit reports whether a directory code exchanged a document,
// whatever form the rows wrote it in.
func (b *Builder) exchangedUnit(code string) bool {
	if b.exchange[code] {
		return true
	}
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return false
	}
	for e := range b.exchange {
		if o, err := envelope.ParseAgencyCode(e, envelope.CodeAny); err == nil && o.Equal(c) {
			return true
		}
	}
	return false
}

// names are the directory's names by code.
func (b *Builder) names() map[string]string {
	out := make(map[string]string, len(b.in.Directory))
	for _, a := range b.in.Directory {
		out[a.Code] = a.Name
	}
	return out
}

func (r *Ratio) finish() {
	if r.Den > 0 {
		r.Percent = round1(100 * float64(r.Num) / float64(r.Den))
	}
}

// average is a quarter's sums as a monthly average.
func average(r Ratio) MonthlyAverage {
	a := MonthlyAverage{Signed: round2(float64(r.Num) / 3), All: round2(float64(r.Den) / 3)}
	if r.Den > 0 {
		a.Percent = round1(100 * float64(r.Num) / float64(r.Den))
	}
	return a
}

// durations summarises milliseconds: the median and the 95th percentile
// by nearest rank (the value at rank ⌈p·n⌉), in seconds.
func durations(ms []int64) Durations {
	d := Durations{Count: len(ms)}
	if len(ms) == 0 {
		return d
	}
	slices.Sort(ms)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ms)))) - 1
		return float64(ms[max(i, 0)]) / 1000
	}
	d.Median, d.P95 = rank(0.5), rank(0.95)
	return d
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
