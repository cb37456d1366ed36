package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/signing"
)

// runSim replays a compressed day of the national axis on this machine.
func runSim(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("sim", "sim [-agencies N] [-gateways G] [-directory D] [-documents N] [-concurrency C] [-seed S]", `
Replays a compressed day of the national axis in one process: an embedded
NATS server with JetStream, G gateways on stores of their own (the first
hosting a quarter of the agencies, as a province hosting its communes),
the agencies of 34 provinces and 30 ministries registered and signed by
the axis's administrator, D more entries in the directory (agencies of the
national axis hosted elsewhere, to hold a national directory: -directory
111000), and N documents sent by random agencies with the fan-out of real
traffic (most to one to three agencies, some to sixty and more). Every
delivery is answered by its 01; then most recipients accept (03) and finish
(06), some refuse (02), and a few documents are recalled (13, 15).

It checks that every delivery arrived exactly once and that every status
reached its sender (exits 1 otherwise), and prints the wall time, documents
and deliveries per second, p50/p99 time to stored and to 01, the hub's
consumers and subscriptions, the process's peak memory, and the signing
floor of the run: the signatures made, times one raw RSA-2048 signature,
divided by the cores. The same -seed gives the same day.`)
	agencies := fs.Int("agencies", 2000, "hosted `agencies` in all")
	gateways := fs.Int("gateways", 20, "`gateways`")
	extra := fs.Int("directory", 0, "more directory `entries`, hosted by no running gateway")
	documents := fs.Int("documents", 2000, "`documents` to send")
	conc := fs.Int("concurrency", 16, "documents sent at once")
	seed := fs.Uint64("seed", 1, "the day's `seed`")
	keep := fs.Bool("keep", false, "keep the working directory")
	restart := fs.Bool("restart", false, "also restart the first gateway and time it until it is ready again (its directory from its store)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed part (documents sent to every status reconciled) to this `file` (go tool pprof)")
	consumers := fs.String("consumers", consumersGateway, "the gateways' `consumers`: gateway (one per gateway and stream) or agency (one per hosted agency and stream, as gateways read before)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *consumers != "agency" && *consumers != "gateway" {
		return usageError{msg: "sim: -consumers is agency or gateway", vi: "-consumers là agency hoặc gateway.", hint: "lienthong sim -help"}
	}
	if *agencies < 2 || *gateways < 1 || *gateways > *agencies || *documents < 1 || *conc < 1 || *extra < 0 {
		return usageError{msg: "sim: want -agencies ≥ 2, 1 ≤ -gateways ≤ -agencies, -documents ≥ 1, -concurrency ≥ 1, -directory ≥ 0",
			vi: "Cần -agencies ≥ 2, 1 ≤ -gateways ≤ -agencies, -documents ≥ 1, -concurrency ≥ 1, -directory ≥ 0.", hint: "lienthong sim -help"}
	}
	dir, err := os.MkdirTemp("", "lienthong-sim-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	logFile, err := os.Create(filepath.Join(dir, "sim.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log, _, err := newLogger(LogConfig{Level: "warn", Format: "json"}, logFile)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(m.Stderr, "sim: "+format+"\n", a...) }
	rng := mrand.New(mrand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))

	progress("raw RSA-2048 signing for 2 s, for the floor")
	rawRate, err := rawSignRate(2 * time.Second)
	if err != nil {
		return err
	}
	progress("%d agencies on %d gateways, %d more in the directory, in %s", *agencies, *gateways, *extra, dir)
	s, err := simStart(ctx, dir, *agencies, *gateways, *extra, *consumers == "gateway", rng, log, progress)
	if s != nil {
		defer s.close()
	}
	if err != nil {
		return err
	}

	var restarted time.Duration
	if *restart {
		progress("restarting %s", s.gws[0].id)
		if restarted, err = s.restart(ctx, s.gws[0]); err != nil {
			return err
		}
		progress("%s ready again in %s", s.gws[0].id, restarted.Round(time.Millisecond))
	}
	progress("%d documents, %d at once", *documents, *conc)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	cpu0 := processCPU()
	start := time.Now()
	if err := s.send(ctx, *documents, *conc, rng, progress); err != nil {
		return err
	}
	if err := s.waitDelivered(ctx, progress); err != nil {
		return err
	}
	delivered := time.Since(start)
	progress("statuses: recalls, refusals, acceptances, completions")
	if err := s.answer(ctx, *conc, rng); err != nil {
		return err
	}
	if err := s.waitReconciled(ctx, progress); err != nil {
		return err
	}
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	stopProfile()
	toStored, to01, err := s.latencies(ctx)
	if err != nil {
		return err
	}

	// The largest gateway stops as serve stops it: the gateway drained,
	// then its connection.
	largest := s.gws[0]
	for _, g := range s.gws {
		if len(g.hosted) > len(largest.hosted) {
			largest = g
		}
	}
	jsz, _ := s.srv.Jsz(&server.JSzOptions{})
	stopStart := time.Now()
	cctx, ccancel := context.WithTimeout(ctx, time.Minute)
	if err := largest.gw.Close(cctx); err != nil {
		ccancel()
		return err
	}
	ccancel()
	largest.b.Close()
	stopped := time.Since(stopStart)
	largest.gw, largest.b = nil, nil
	hubConsumers := 0
	if jsz != nil {
		hubConsumers = jsz.Consumers
	}
	signatures := s.signatures()
	floor := time.Duration(float64(signatures) / (rawRate * float64(runtime.NumCPU())) * float64(time.Second))
	tw := tabwriter.NewWriter(m.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tvalue\t\n")
	fmt.Fprintf(tw, "consumers\t%s\t\n", *consumers)
	fmt.Fprintf(tw, "gateways / hosted agencies / directory\t%d / %d / %d\t\n", *gateways, *agencies, s.directorySize)
	if *restart {
		fmt.Fprintf(tw, "restart of %s to ready (%d hosted, directory %d)\t%s\t\n", s.gws[0].id, len(s.gws[0].hosted), s.directorySize, restarted.Round(time.Millisecond))
	}
	fmt.Fprintf(tw, "stop of %s (%d hosted)\t%s\t\n", largest.id, len(largest.hosted), stopped.Round(time.Millisecond))
	fmt.Fprintf(tw, "documents / deliveries\t%d / %d\t\n", len(s.docs), s.deliveries)
	fmt.Fprintf(tw, "wall time (to every delivery's 01)\t%s\t\n", delivered.Round(time.Millisecond))
	fmt.Fprintf(tw, "wall time (to every status reconciled)\t%s\t\n", wall.Round(time.Millisecond))
	fmt.Fprintf(tw, "documents/s, deliveries/s\t%.0f, %.0f\t\n", float64(len(s.docs))/delivered.Seconds(), float64(s.deliveries)/delivered.Seconds())
	fmt.Fprintf(tw, "time to stored p50 / p99\t%s / %s\t\n", ms(pct(toStored, 0.5)), ms(pct(toStored, 0.99)))
	fmt.Fprintf(tw, "time to 01 p50 / p99\t%s / %s\t\n", ms(pct(to01, 0.5)), ms(pct(to01, 0.99)))
	fmt.Fprintf(tw, "hub consumers / per gateway, subscriptions\t%d / %.1f, %d\t\n", hubConsumers, float64(hubConsumers)/float64(*gateways), s.srv.NumSubscriptions())
	fmt.Fprintf(tw, "peak RSS (one process: hub and gateways)\t%s\t\n", peakRSS())
	fmt.Fprintf(tw, "signatures made\t%d\t\n", signatures)
	fmt.Fprintf(tw, "signing floor (× %.0f µs ÷ %d cores)\t%s\t\n", 1e6/rawRate, runtime.NumCPU(), floor.Round(time.Millisecond))
	fmt.Fprintf(tw, "wall time / signing floor\t%.2f\t\n", wall.Seconds()/floor.Seconds())
	fmt.Fprintf(tw, "process CPU to every status reconciled (of wall × cores)\t%s (%.0f %%)\t\n", cpu.Round(time.Millisecond), 100*cpu.Seconds()/(wall.Seconds()*float64(runtime.NumCPU())))
	return tw.Flush()
}

// simGateway is a gateway of the simulation.
type simGateway struct {
	id     string
	dir    string
	hosted []simAgency
	gw     *gateway.Gateway
	st     *store.Store
	b      *bus.Bus
	opts   gateway.Options
}

// simAgency is an agency of the simulation and its gateway.
type simAgency struct {
	code, name string
	g          *simGateway
}

// simDoc is a document sent, and what its recipients are to do.
type simDoc struct {
	from       simAgency
	id         string // at the sender
	documentID string
	to         []simAgency
	sent       time.Time
	recall     bool
	// want is each recipient's state at the end of the day, as its clerk
	// decides it.
	want []envelope.State
}

type sim struct {
	srv           *server.Server
	perGateway    bool // the gateways read one consumer per stream (bus.Options.GatewayConsumers)
	gws           []*simGateway
	all           []simAgency
	docs          []*simDoc
	deliveries    int
	directorySize int
	statuses      atomic.Int64 // signed by the recipients' and senders' gateways beyond the 01s
	log           *zap.Logger
}

func (s *sim) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, g := range s.gws {
		if g.gw != nil {
			g.gw.Close(ctx)
		}
		if g.b != nil {
			g.b.Close()
		}
		if g.st != nil {
			g.st.Close()
		}
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}

// simStart makes the CA, the NATS server, the agencies, their directory
// and the gateways.
func simStart(ctx context.Context, dir string, n, g, extra int, perGateway bool, rng *mrand.Rand, log *zap.Logger, progress func(string, ...any)) (*sim, error) {
	s := &sim{log: log, perGateway: perGateway}
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		return nil, err
	}
	if s.srv, err = bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1, Name: "sim", Log: log.Named("nats")}); err != nil {
		return nil, err
	}
	adminIssued, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Quản trị trục liên thông", DirectoryScopes: []string{"*"}})
	if err != nil {
		return s, err
	}
	admin, err := signing.NewSigner(adminIssued.Key, []*x509.Certificate{adminIssued.Certificate})
	if err != nil {
		return s, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())

	// The agencies: 30 ministries and 34 provinces, then communes of the
	// provinces in turn; the first gateway hosts a quarter of them (a
	// province and its communes), the others share the rest.
	codes := simCodes(n + extra)
	for i := range g {
		s.gws = append(s.gws, &simGateway{id: fmt.Sprintf("gw%03d", i)})
	}
	first := max(1, n/4)
	if g == 1 {
		first = n
	}
	for i := range n {
		gw := s.gws[0]
		if i >= first {
			gw = s.gws[1+(i-first)%(g-1)]
		}
		a := simAgency{code: codes[i][0], name: codes[i][1], g: gw}
		gw.hosted = append(gw.hosted, a)
		s.all = append(s.all, a)
	}
	var records []gateway.DirectoryRecord
	for _, gw := range s.gws {
		// One key per gateway, a certificate per agency: making 2,000
		// RSA keys would take minutes.
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return s, err
		}
		var hosted []gateway.HostedAgency
		for _, a := range gw.hosted {
			is, err := ca.Issue(signing.IssueRequest{Agency: a.code, Name: a.name, Key: key})
			if err != nil {
				return s, err
			}
			signer, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
			if err != nil {
				return s, err
			}
			code, _ := envelope.ParseAgencyCode(a.code, envelope.CodeStrict)
			hosted = append(hosted, gateway.HostedAgency{Code: code, Name: a.name, Signer: signer})
			records = append(records, gateway.DirectoryRecord{Agency: &gateway.Agency{
				Code: a.code, Name: a.name, Gateway: gw.id, Kind: simKind(a.code),
				Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.Certificate.Raw}))},
			}})
		}
		gdir := filepath.Join(dir, gw.id)
		if err := os.MkdirAll(gdir, 0o750); err != nil {
			return s, err
		}
		if gw.st, err = store.Open(ctx, filepath.Join(gdir, "lienthong.db"), store.Options{}); err != nil {
			return s, err
		}
		if gw.b, err = bus.Open(ctx, bus.Options{URL: s.srv.ClientURL(), Name: gw.id, Gateway: gw.id, GatewayConsumers: s.perGateway}, log.Named(gw.id)); err != nil {
			return s, err
		}
		gw.dir, gw.opts = gdir, gateway.Options{
			ID: gw.id, Agencies: hosted, Store: gw.st, Bus: gw.b, Logger: log.Named(gw.id),
			Roots: roots, DirectoryAnchors: roots, DispatchInterval: 50 * time.Millisecond,
		}
		if gw.gw, err = gateway.New(gw.opts); err != nil {
			return s, err
		}
	}
	for i := n; i < n+extra; i++ {
		records = append(records, gateway.DirectoryRecord{Agency: &gateway.Agency{
			Code: codes[i][0], Name: codes[i][1], Gateway: "axis", Kind: simKind(codes[i][0]),
		}})
	}
	s.directorySize = len(records)
	progress("signing and publishing %d directory records", len(records))
	if err := simPublish(ctx, s.srv.ClientURL(), admin, records, progress); err != nil {
		return s, err
	}
	progress("opening the gateways")
	started := time.Now()
	for _, gw := range s.gws {
		if err := gw.gw.Open(ctx); err != nil {
			return s, fmt.Errorf("sim: open %s: %w", gw.id, err)
		}
	}
	progress("gateways open in %s", time.Since(started).Round(time.Millisecond))
	last := s.all[len(s.all)-1].code
	return s, simWait(ctx, 2*time.Minute, "every gateway to know every agency", func() bool {
		for _, gw := range s.gws {
			if _, ok := gw.gw.Directory().Lookup(last); !ok || gw.gw.Directory().Len() < s.directorySize {
				return false
			}
		}
		return true
	})
}

// restart closes a gateway and opens it again on its store, as a restarted
// process would, and returns how long it took from the new store's opening
// to the gateway's open (its directory loaded from its store, its
// consumers bound).
func (s *sim) restart(ctx context.Context, g *simGateway) (time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := g.gw.Close(cctx); err != nil {
		return 0, err
	}
	g.b.Close()
	if err := g.st.Close(); err != nil {
		return 0, err
	}
	start := time.Now()
	var err error
	if g.st, err = store.Open(ctx, filepath.Join(g.dir, "lienthong.db"), store.Options{}); err != nil {
		return 0, err
	}
	if g.b, err = bus.Open(ctx, bus.Options{URL: s.srv.ClientURL(), Name: g.id, Gateway: g.id, GatewayConsumers: s.perGateway}, s.log.Named(g.id)); err != nil {
		return 0, err
	}
	g.opts.Store, g.opts.Bus = g.st, g.b
	if g.gw, err = gateway.New(g.opts); err != nil {
		return 0, err
	}
	if err := g.gw.Open(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// simCodes returns n agency codes and names: ministries, provinces, then
// communes directly under the provinces (the 2025 reform's two tiers).
func simCodes(n int) [][2]string {
	var out [][2]string
	for i := 1; i <= 30 && len(out) < n; i++ {
		out = append(out, [2]string{fmt.Sprintf("000.00.00.G%02d", i), fmt.Sprintf("Bộ số %d", i)})
	}
	for p := 1; p <= 34 && len(out) < n; p++ {
		out = append(out, [2]string{fmt.Sprintf("000.00.00.H%02d", p), fmt.Sprintf("UBND tỉnh số %d", p)})
	}
	for c := 1; len(out) < n; c++ {
		for p := 1; p <= 34 && len(out) < n; p++ {
			out = append(out, [2]string{fmt.Sprintf("%03d.%02d.%02d.H%02d", c/10000, (c/100)%100, c%100, p), fmt.Sprintf("UBND xã số %d tỉnh %d", c, p)})
		}
	}
	return out
}

func simKind(code string) string {
	switch {
	case strings.HasPrefix(code, "000.00.00.G"):
		return "ministry"
	case strings.HasPrefix(code, "000.00.00.H"):
		return "province"
	}
	return "commune"
}

// simPublish signs the records on every core and puts them in the
// directory.
func simPublish(ctx context.Context, url string, admin *signing.Signer, records []gateway.DirectoryRecord, progress func(string, ...any)) error {
	b, err := bus.Open(ctx, bus.Options{URL: url, Name: "sim-admin"}, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	now := time.Now().UTC()
	var next atomic.Int64
	var done atomic.Int64
	workers := runtime.NumCPU() * 2
	errs := make(chan error, workers) // one each at most: none blocks
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(records) || ctx.Err() != nil {
					return
				}
				r := records[i]
				r.Agency.Version, r.Agency.UpdatedAt = uint64(now.UnixNano()), now
				key, value, err := gateway.SignRecord(admin, r)
				if err == nil {
					err = b.PutRecord(ctx, key, value)
				}
				if err != nil {
					errs <- err
					return
				}
				if n := done.Add(1); n%10000 == 0 {
					progress("  %d of %d", n, len(records))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// simWait polls cond every 50 ms until it holds or d passes: each wait
// ends a timed phase, and a coarser poll is idle wall time.
func simWait(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return newVIError("Quá thời gian chờ: "+what+".", "sim: timed out waiting for "+what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// fanOut is the number of recipients of a document: most one to three,
// some up to ten, a few a circular to sixty and more.
func fanOut(rng *mrand.Rand, max int) int {
	var n int
	switch r := rng.Float64(); {
	case r < 0.70:
		n = 1
	case r < 0.90:
		n = 2 + rng.IntN(2)
	case r < 0.98:
		n = 4 + rng.IntN(7)
	default:
		n = 11 + rng.IntN(60)
	}
	return min(n, max)
}

// send submits n documents, c at once, to their senders' gateways.
func (s *sim) send(ctx context.Context, n, c int, rng *mrand.Rand, progress func(string, ...any)) error {
	date := envelope.DateOf(time.Now())
	for i := range n {
		from := s.all[rng.IntN(len(s.all))]
		d := &simDoc{from: from, recall: rng.Float64() < 0.01}
		k := fanOut(rng, len(s.all)-1)
		for len(d.to) < k {
			a := s.all[rng.IntN(len(s.all))]
			if a.code != from.code && !slices.ContainsFunc(d.to, func(x simAgency) bool { return x.code == a.code }) {
				d.to = append(d.to, a)
			}
		}
		d.documentID = envelope.MakeDocumentID(from.code, date, envelope.Code{Number: strconv.Itoa(i + 1), Notation: "SIM"})
		s.docs = append(s.docs, d)
		s.deliveries += len(d.to)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c)
	lastReport := time.Now()
	var mu sync.Mutex
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(s.docs) || ctx.Err() != nil {
					return
				}
				d := s.docs[i]
				packet, err := simPacket(d, i)
				if err != nil {
					errs <- err
					return
				}
				d.sent = time.Now()
				doc, _, err := d.from.g.gw.Submit(ctx, gateway.Submission{Packet: packet, GiveUp: true})
				if err != nil {
					errs <- fmt.Errorf("sim: document %d from %s: %w", i+1, d.from.code, err)
					return
				}
				d.id = doc.ID
				mu.Lock()
				if time.Since(lastReport) > 5*time.Second {
					progress("  %d of %d sent", i+1, len(s.docs))
					lastReport = time.Now()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// simPacket is an unsigned công văn of about 8 KB.
func simPacket(d *simDoc, i int) ([]byte, error) {
	now := time.Now()
	code := envelope.Code{Number: strconv.Itoa(i + 1), Notation: "SIM"}
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From:         envelope.Organization{OrganID: d.from.code, OrganName: d.from.name},
			Code:         code,
			Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: envelope.DateOf(now)},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      "V/v mô phỏng một ngày của trục liên thông",
			DocumentID:   d.documentID,
		},
		Trace:     []envelope.TraceHeader{{OrganID: d.from.code, Timestamp: envelope.TimestampOf(now)}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	for _, a := range d.to {
		e.Header.To = append(e.Header.To, envelope.Organization{OrganID: a.code, OrganName: a.name})
	}
	data := make([]byte, 6<<10)
	rand.Read(data)
	e.AddAttachment(envelope.Attachment{Name: "congvan.pdf", ContentType: "application/pdf", Data: data})
	return envelope.Encode(&envelope.Packet{Edoc: e})
}

// waitDelivered waits until every delivery is stored at its recipient and
// its 01 is back at the sender.
func (s *sim) waitDelivered(ctx context.Context, progress func(string, ...any)) error {
	sent := envelope.StateSent
	var stored, pending int
	err := simWait(ctx, 10*time.Minute, "every delivery stored and its 01 back", func() bool {
		stored, pending = 0, 0
		for _, g := range s.gws {
			n, err := g.st.CountDocuments(ctx, gateway.DocumentQuery{Direction: gateway.Incoming})
			if err != nil {
				return false
			}
			stored += n
			p, err := g.st.CountDocuments(ctx, gateway.DocumentQuery{Direction: gateway.Outgoing, State: &sent})
			if err != nil {
				return false
			}
			pending += p
		}
		return stored >= s.deliveries && pending == 0
	})
	if err != nil {
		return fmt.Errorf("%w (%d of %d deliveries stored, %d documents without every 01)", err, stored, s.deliveries, pending)
	}
	if stored != s.deliveries {
		return newVIError(fmt.Sprintf("Nơi nhận lưu %d văn bản, cần đúng %d.", stored, s.deliveries),
			fmt.Sprintf("sim: the recipients stored %d documents, want exactly %d", stored, s.deliveries))
	}
	progress("every delivery stored once and answered by its 01")
	return nil
}

// answer makes the day's statuses: the senders recall a few documents
// (13), then every recipient answers each document it holds — a recall
// by 15, else 5 % refused (02), the rest accepted (03) and most of those
// finished (06).
func (s *sim) answer(ctx context.Context, c int, rng *mrand.Rand) error {
	for _, d := range s.docs {
		if !d.recall {
			continue
		}
		if err := d.from.g.gw.PostStatus(ctx, gateway.StatusRequest{Document: d.id, Code: envelope.StatusRecallRequested, Description: "Ban hành nhầm"}); err != nil {
			return fmt.Errorf("sim: recall %s: %w", d.documentID, err)
		}
		s.statuses.Add(1)
	}
	// The recipients see the 13 before they act on a recalled document.
	if err := simWait(ctx, 5*time.Minute, "every recall to arrive", func() bool {
		for _, d := range s.docs {
			if !d.recall {
				continue
			}
			for _, to := range d.to {
				in, err := simIncoming(ctx, to, d)
				if err != nil || in.Deliveries[0].Lifecycle.State != envelope.StateRecallRequested {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return err
	}
	// The recipients' clerks work at once, as on a real day.
	type task struct {
		d     *simDoc
		to    simAgency
		codes []envelope.StatusCode
	}
	var tasks []task
	for _, d := range s.docs {
		d.want = make([]envelope.State, len(d.to))
		for i, to := range d.to {
			t := task{d: d, to: to}
			switch r := rng.Float64(); {
			case d.recall:
				t.codes, d.want[i] = []envelope.StatusCode{envelope.StatusRecallAccepted}, envelope.StateRecalled
			case r < 0.05:
				t.codes, d.want[i] = []envelope.StatusCode{envelope.StatusRejected}, envelope.StateRejected
			case r < 0.90:
				t.codes, d.want[i] = []envelope.StatusCode{envelope.StatusAccepted, envelope.StatusDone}, envelope.StateDone
			default:
				t.codes, d.want[i] = []envelope.StatusCode{envelope.StatusAccepted}, envelope.StateAccepted
			}
			tasks = append(tasks, t)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tasks) || ctx.Err() != nil {
					return
				}
				t := tasks[i]
				inID, err := simIncomingID(ctx, t.to, t.d)
				if err != nil {
					errs <- err
					return
				}
				for _, code := range t.codes {
					desc := ""
					if code == envelope.StatusRejected {
						desc = "Không thuộc thẩm quyền"
					}
					if err := t.to.g.gw.PostStatus(ctx, gateway.StatusRequest{Document: inID, Code: code, Description: desc}); err != nil {
						errs <- fmt.Errorf("sim: %s %s at %s: %w", code, t.d.documentID, t.to.code, err)
						return
					}
					s.statuses.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// simIncomingID returns the id of a document at its recipient to.
func simIncomingID(ctx context.Context, to simAgency, d *simDoc) (string, error) {
	page, err := to.g.st.Documents(ctx, gateway.DocumentQuery{Agencies: []string{to.code}, Direction: gateway.Incoming, DocumentID: d.documentID, From: d.from.code, Limit: 2})
	if err != nil {
		return "", err
	}
	if len(page.Documents) != 1 {
		return "", fmt.Errorf("sim: %s holds %d copies of %s", to.code, len(page.Documents), d.documentID)
	}
	return page.Documents[0].ID, nil
}

// simIncoming returns a document as its recipient to holds it.
func simIncoming(ctx context.Context, to simAgency, d *simDoc) (*gateway.DocumentDetail, error) {
	id, err := simIncomingID(ctx, to, d)
	if err != nil {
		return nil, err
	}
	return to.g.st.Document(ctx, id)
}

// waitReconciled waits until every sender sees its recipients' last
// status.
func (s *sim) waitReconciled(ctx context.Context, progress func(string, ...any)) error {
	var behind int
	// A document whose deliveries are all where the day leaves them, on
	// both sides, is not read again: nothing more is posted about it.
	reconciled := make([]bool, len(s.docs))
	err := simWait(ctx, 10*time.Minute, "every status at its sender", func() bool {
		behind = 0
		for di, d := range s.docs {
			if reconciled[di] {
				continue
			}
			before := behind
			out, err := d.from.g.st.Document(ctx, d.id)
			if err != nil {
				return false
			}
			if len(out.Deliveries) != len(d.to) {
				behind++
				continue
			}
			for _, dl := range out.Deliveries {
				to := slices.IndexFunc(d.to, func(a simAgency) bool { return a.code == dl.Recipient })
				if to < 0 {
					behind++
					continue
				}
				in, err := simIncoming(ctx, d.to[to], d)
				if err != nil || in.Deliveries[0].Lifecycle.State != dl.Lifecycle.State || dl.Lifecycle.State != d.want[to] {
					behind++
				}
			}
			reconciled[di] = behind == before
		}
		return behind == 0
	})
	if err != nil {
		return fmt.Errorf("%w (%d deliveries whose sender does not see the recipient's state)", err, behind)
	}
	progress("every status reconciled")
	return nil
}

// latencies returns each delivery's time from the sender's acceptance to
// its storing at the recipient, and to its 01 at the sender.
func (s *sim) latencies(ctx context.Context) (toStored, to01 []time.Duration, err error) {
	for _, d := range s.docs {
		out, err := d.from.g.st.Document(ctx, d.id)
		if err != nil {
			return nil, nil, err
		}
		for _, ev := range out.Events {
			if ev.Kind == gateway.EventStatus && ev.StatusCode == envelope.StatusArrived {
				to01 = append(to01, ev.RecordedAt.Sub(out.CreatedAt))
			}
		}
		for _, to := range d.to {
			in, err := simIncoming(ctx, to, d)
			if err != nil {
				return nil, nil, err
			}
			toStored = append(toStored, in.CreatedAt.Sub(out.CreatedAt))
		}
	}
	if len(to01) != s.deliveries || len(toStored) != s.deliveries {
		return nil, nil, newVIError(fmt.Sprintf("Có %d trạng thái 01 và %d văn bản đã lưu cho %d lượt gửi.", len(to01), len(toStored), s.deliveries),
			fmt.Sprintf("sim: %d 01s and %d documents stored for %d deliveries", len(to01), len(toStored), s.deliveries))
	}
	slices.Sort(toStored)
	slices.Sort(to01)
	return toStored, to01, nil
}

// signatures counts the signatures of the run: each document, each 01,
// and each status sent.
func (s *sim) signatures() int {
	return len(s.docs) + s.deliveries + int(s.statuses.Load())
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Floor(p*float64(len(sorted)))))]
}

// peakRSS is the process's peak resident memory, from /proc.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
