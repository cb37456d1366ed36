package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
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
	"github.com/lienthong/lienthong/internal/letter"
	"github.com/lienthong/lienthong/signing"
)

// runSim replays a compressed day of the national axis on this machine.
func runSim(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("sim", "sim [-agencies N] [-gateways G] [-directory D] [-documents N] [-concurrency C] [-seed S]", `
Replays a compressed day of the national axis in one process: an embedded
NATS server with JetStream, G gateways on stores of their own (the first
hosting a quarter of the agencies, all in one province, the others the
rest in contiguous parts of the tree, each delegated the subtrees it hosts
whole, as a province's gateway its province: gateway.subtrees),
the agencies of 34 provinces and 30 ministries registered and signed by
the axis's administrator, D more entries in the directory (agencies of the
national axis hosted elsewhere, to hold a national directory: -directory
111000), and N documents sent by random agencies with the fan-out of real
traffic (most to one to three agencies, some to sixty and more). The day
runs as a real one does: the documents go out, -concurrency at once, while
the recipients answer what has arrived, -concurrency statuses at once, as
their gateways' change feeds tell them (by default 4 per gateway, at
least 16: the senders and clerks of a nation do not wait for each other). Every delivery is answered by its
01 on arrival; then most recipients accept (03) and finish (06), some
refuse (02), and a few documents are recalled (13) once their 01s are
back, the recipients answering 15.

The day ends when every delivery is, at both ends, in the state its clerk
chose, as the feeds tell it; then, outside the timed part, it reads every
store afresh and checks that every delivery arrived exactly once and that
both ends agree on every state (exits 1 otherwise). It prints the wall
time, documents and deliveries per second, p50/p99 time to stored and to
01, the hub's consumers and subscriptions, the process's peak memory and
CPU, and the signing floor of the run: the signatures made, times one raw
RSA-2048 signature (the faster of two readings, before and after the day),
divided by the cores. The same -seed gives the same documents and answers.`)
	agencies := fs.Int("agencies", 2000, "hosted `agencies` in all")
	gateways := fs.Int("gateways", 20, "`gateways`")
	extra := fs.Int("directory", 0, "more directory `entries`, hosted by no running gateway")
	documents := fs.Int("documents", 2000, "`documents` to send")
	conc := fs.Int("concurrency", 0, "documents sent at once, and statuses posted at once (0: 4 per gateway, at least 16)")
	seed := fs.Uint64("seed", 1, "the day's `seed`")
	keep := fs.Bool("keep", false, "keep the working directory")
	restart := fs.Bool("restart", false, "also restart the first gateway and time it until it is ready again (its directory from its store)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed part (documents sent to every status reconciled) to this `file` (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write the heap's allocations at the start of the timed part to `file`.start and at its end to file: go tool pprof -sample_index=alloc_space -base file.start file shows the day's")
	consumers := fs.String("consumers", consumersGateway, "the gateways' `consumers`: gateway (one per gateway and stream) or agency (one per hosted agency and stream, as gateways read before)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *consumers != "agency" && *consumers != "gateway" {
		return usageError{msg: "sim: -consumers is agency or gateway", vi: "-consumers là agency hoặc gateway.", hint: "lienthong sim -help"}
	}
	if *conc == 0 {
		*conc = simConcurrency(*gateways)
	}
	if *agencies < 2 || *gateways < 1 || *gateways > *agencies || *documents < 1 || *conc < 1 || *extra < 0 {
		return usageError{msg: "sim: want -agencies ≥ 2, 1 ≤ -gateways ≤ -agencies, -documents ≥ 1, -concurrency ≥ 0 (0: the default), -directory ≥ 0",
			vi: "Cần -agencies ≥ 2, 1 ≤ -gateways ≤ -agencies, -documents ≥ 1, -concurrency ≥ 0 (0: mặc định), -directory ≥ 0.", hint: "lienthong sim -help"}
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
	s.plan(*documents, rng)
	progress("%d documents, %d deliveries; %d submissions and %d statuses in flight at most", len(s.docs), s.deliveries, *conc, *conc)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if err := writeHeapProfile(*memProfile, ".start"); err != nil {
		return err
	}
	cpu0 := processCPU()
	start := time.Now()
	if err := s.day(ctx, *conc, progress); err != nil {
		return err
	}
	wall := s.reconciledAt.Sub(start)
	cpu := processCPU() - cpu0
	stopProfile()
	if err := writeHeapProfile(*memProfile, ""); err != nil {
		return err
	}
	progress("every status reconciled in %s, as the change feeds tell it; checking both ends of every delivery", wall.Round(time.Millisecond))

	// The check reads every store afresh, outside the timed part: what
	// the feeds told is not taken on trust.
	checkStart := time.Now()
	incoming, outgoing, err := s.holdings(ctx)
	if err != nil {
		return err
	}
	if err := simCheck(s.docs, incoming, outgoing); err != nil {
		return err
	}
	toStored, to01, last01, err := s.latencies(ctx, incoming)
	if err != nil {
		return err
	}
	checked := time.Since(checkStart)
	progress("every delivery stored once and answered by its 01, every status reconciled at both ends (checked in %s)", checked.Round(time.Millisecond))
	delivered := last01.Sub(start)

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
	// The raw rate again, once the day and its gateway are done: on a
	// machine others share, the faster of the two readings is the
	// machine's own, and the floor is not to be flattered by a slow one.
	progress("raw RSA-2048 signing for 2 s again, for the floor")
	again, err := rawSignRate(2 * time.Second)
	if err != nil {
		return err
	}
	rawRate = max(rawRate, again)
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
	fmt.Fprintf(tw, "wall time (to every delivery's 01: the last one's stored time)\t%s\t\n", delivered.Round(time.Millisecond))
	fmt.Fprintf(tw, "wall time (to every status reconciled)\t%s\t\n", wall.Round(time.Millisecond))
	fmt.Fprintf(tw, "documents/s, deliveries/s\t%.0f, %.0f\t\n", float64(len(s.docs))/delivered.Seconds(), float64(s.deliveries)/delivered.Seconds())
	fmt.Fprintf(tw, "time to stored p50 / p99\t%s / %s\t\n", ms(pct(toStored, 0.5)), ms(pct(toStored, 0.99)))
	fmt.Fprintf(tw, "time to 01 p50 / p99\t%s / %s\t\n", ms(pct(to01, 0.5)), ms(pct(to01, 0.99)))
	fmt.Fprintf(tw, "hub consumers / per gateway, subscriptions\t%d / %.1f, %d\t\n", hubConsumers, float64(hubConsumers)/float64(*gateways), s.srv.NumSubscriptions())
	if *consumers == consumersGateway {
		fmt.Fprintf(tw, "filters of the largest gateway consumer (subtrees delegated in all)\t%d (%d)\t\n", s.largestFilters(), s.subtrees())
	}
	fmt.Fprintf(tw, "peak RSS (one process: hub and gateways)\t%s\t\n", peakRSS())
	fmt.Fprintf(tw, "signatures made\t%d\t\n", signatures)
	fmt.Fprintf(tw, "signing floor (× %.0f µs ÷ %d cores)\t%s\t\n", 1e6/rawRate, runtime.NumCPU(), floor.Round(time.Millisecond))
	fmt.Fprintf(tw, "wall time / signing floor\t%.2f\t\n", wall.Seconds()/floor.Seconds())
	fmt.Fprintf(tw, "process CPU to every status reconciled (of wall × cores)\t%s (%.0f %%)\t\n", cpu.Round(time.Millisecond), 100*cpu.Seconds()/(wall.Seconds()*float64(runtime.NumCPU())))
	fmt.Fprintf(tw, "changes from the feeds / documents read for them\t%d / %d\t\n", s.changes, s.reads)
	fmt.Fprintf(tw, "feeds read again whole (changes lost) / documents read undue (the day stalled)\t%d / %d\t\n", s.rescans, s.forced)
	fmt.Fprintf(tw, "check of both ends of every delivery (not timed)\t%s\t\n", checked.Round(time.Millisecond))
	return tw.Flush()
}

// simGateway is a gateway of the simulation.
type simGateway struct {
	id       string
	dir      string
	hosted   []simAgency
	subtrees []envelope.AgencyCode // delegated whole (gateway consumers only)
	gw       *gateway.Gateway
	st       *store.Store
	b        *bus.Bus
	opts     gateway.Options

	// During the day: its change feed, and its outgoing documents by
	// local id (under sim.mu).
	feed *simFeed
	out  map[string]*simDoc
}

// simAgency is an agency of the simulation and its gateway.
type simAgency struct {
	code, name string
	g          *simGateway
}

// simDoc is a document of the day: who sends it to whom, what its
// recipients are to do, and what the change feeds showed of it so far.
type simDoc struct {
	from simAgency
	// date is the promulgation date, the one in documentID: a day that
	// runs over midnight in Vietnam does not change it between the plan
	// and the packet.
	date       envelope.Date
	documentID string
	to         []simAgency
	toIndex    map[string]int // a recipient's code → its index in to
	recall     bool
	// want is each recipient's state at the end of the day, as its clerk
	// decides it.
	want []envelope.State

	// Under sim.mu, from the feeds (and Submit for id).
	id           string // at the sender
	n01          int    // the 01s back at the sender
	recallQueued bool
	answered     int           // deliveries whose answer is posted
	poked        bool          // its sender's feed was told to look at it once ripe (sim.ripen)
	expected     int           // statuses its sender receives: the 01s and the answers
	read         bool          // its sender's feed read it (the two below are set)
	readAt       int           // the changes the sender's feed had brought of it when it read it
	left         int           // statuses its sender was still to receive then
	forced       bool          // read on every change, due or not (the day stalled)
	settled      int           // deliveries reconciled
	at           []simDelivery // per recipient, as to
}

// simDelivery is what the change feeds showed of one delivery.
type simDelivery struct {
	in         string         // the recipient's local id, once it is stored
	inState    envelope.State // as the recipient holds it
	outState   envelope.State // as the sender holds it
	got01      bool           // its 01 is back at the sender
	queued     bool           // its answer is queued or posted
	reconciled bool           // both ends hold the state its clerk chose
}

type sim struct {
	srv           *server.Server
	perGateway    bool // the gateways read one consumer per stream (bus.Options.GatewayConsumers)
	gws           []*simGateway
	all           []simAgency
	docs          []*simDoc
	byDocumentID  map[string]*simDoc // written by plan only
	deliveries    int
	directorySize int
	statuses      atomic.Int64 // signed by the recipients' and senders' gateways beyond the 01s
	log           *zap.Logger
	// mem is the process's one limiter of the releases of free pages,
	// shared by every gateway's store and bus (gateway.MemoryLimiter).
	mem *gateway.MemoryLimiter

	// The day in progress (day).
	fail  context.CancelCauseFunc // ends the day with its cause
	tasks chan simTask            // statuses to post
	done  chan struct{}           // closed with the last delivery reconciled
	mu    sync.Mutex              // guards what follows and the simDocs' feed state
	count simCounts
	// rescans counts the feeds that lost changes and were read again
	// whole.
	rescans int
	// forced counts the documents read without their due changes
	// (sim.force).
	forced       int
	reconciledAt time.Time
	// changes and reads count what the feeds brought and the documents
	// read for them, once the day is over.
	changes, reads int64
}

// largestFilters is the number of filters of the largest gateway
// consumer, as bus.Filters makes them.
func (s *sim) largestFilters() int {
	n := 0
	for _, g := range s.gws {
		codes := make([]envelope.AgencyCode, 0, len(g.opts.Agencies))
		for _, a := range g.opts.Agencies {
			codes = append(codes, a.Code)
		}
		if f, err := bus.Filters(gateway.KindEdoc, codes, g.subtrees); err == nil {
			n = max(n, len(f))
		}
	}
	return n
}

// subtrees is the number of subtrees delegated to the gateways.
func (s *sim) subtrees() int {
	n := 0
	for _, g := range s.gws {
		n += len(g.subtrees)
	}
	return n
}

// writeHeapProfile writes the heap profile, allocations since the start
// included, to path+suffix; nothing if path is empty.
func writeHeapProfile(path, suffix string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("sim: heap profile: %w", err)
	}
	return f.Close()
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
	s := &sim{log: log, perGateway: perGateway, mem: new(gateway.MemoryLimiter)}
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

	// The agencies: 30 ministries and 34 provinces with agencies under
	// them; the first gateway hosts a quarter of them, all in one
	// province, the others share the rest in tree order, and each is
	// delegated the subtrees it hosts whole (simLayout).
	layout, err := newSimLayout(n, g, extra)
	if err != nil {
		return s, err
	}
	for i := range g {
		gw := &simGateway{id: fmt.Sprintf("gw%03d", i), hosted: layout.hosted[i]}
		for j := range gw.hosted {
			gw.hosted[j].g = gw
		}
		if perGateway {
			gw.subtrees = layout.subtrees[i]
		}
		s.gws = append(s.gws, gw)
		s.all = append(s.all, gw.hosted...)
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
		if gw.st, err = store.Open(ctx, filepath.Join(gdir, "lienthong.db"), store.Options{MemoryRelease: s.mem}); err != nil {
			return s, err
		}
		if gw.b, err = bus.Open(ctx, bus.Options{URL: s.srv.ClientURL(), Name: gw.id, Gateway: gw.id, GatewayConsumers: s.perGateway, MemoryRelease: s.mem}, log.Named(gw.id)); err != nil {
			return s, err
		}
		// The outbox is polled at the product's default: every accept
		// and status wakes the dispatcher, and a poll every 50 ms, as
		// the sim had, was a hundred gateways' DueOutbox twenty times a
		// second (3 % of the day's CPU at the issue's size).
		gw.dir, gw.opts = gdir, gateway.Options{
			ID: gw.id, Agencies: hosted, Subtrees: gw.subtrees, Store: gw.st, Bus: gw.b, Logger: log.Named(gw.id),
			Roots: roots, DirectoryAnchors: roots,
		}
		if gw.gw, err = gateway.New(gw.opts); err != nil {
			return s, err
		}
	}
	for _, a := range layout.extra {
		records = append(records, gateway.DirectoryRecord{Agency: &gateway.Agency{
			Code: a.code, Name: a.name, Gateway: "axis", Kind: simKind(a.code),
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
	if err := simWait(ctx, 2*time.Minute, "every gateway to know every agency", func() bool {
		for _, gw := range s.gws {
			if _, ok := gw.gw.Directory().Lookup(last); !ok || gw.gw.Directory().Len() < s.directorySize {
				return false
			}
		}
		return true
	}); err != nil {
		return s, err
	}
	// A gateway on a real day has kept the directory in its store long
	// before: the day does not begin while the gateways still write it
	// (at the national size, 111,000 rows each).
	started = time.Now()
	if err := simWait(ctx, 10*time.Minute, "every gateway to keep the directory in its store", func() bool {
		for _, gw := range s.gws {
			if n, err := gw.st.DirectoryCount(ctx); err != nil || n < s.directorySize {
				return false
			}
		}
		return true
	}); err != nil {
		return s, err
	}
	if d := time.Since(started); d > time.Second {
		progress("directory kept in every gateway's store in %s", d.Round(time.Millisecond))
	}
	return s, nil
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
	if g.st, err = store.Open(ctx, filepath.Join(g.dir, "lienthong.db"), store.Options{MemoryRelease: s.mem}); err != nil {
		return 0, err
	}
	if g.b, err = bus.Open(ctx, bus.Options{URL: s.srv.ClientURL(), Name: g.id, Gateway: g.id, GatewayConsumers: s.perGateway, MemoryRelease: s.mem}, s.log.Named(g.id)); err != nil {
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

// plan draws the day: n documents from random agencies with real
// traffic's fan-out, a few to be recalled, then each recipient's answer.
// The draws come in the order the phased replay made them, so that a seed
// still gives the same day.
func (s *sim) plan(n int, rng *mrand.Rand) {
	date := envelope.DateOf(time.Now())
	s.byDocumentID = make(map[string]*simDoc, n)
	for i := range n {
		from := s.all[rng.IntN(len(s.all))]
		d := &simDoc{from: from, date: date, recall: rng.Float64() < 0.01}
		k := fanOut(rng, len(s.all)-1)
		d.toIndex = make(map[string]int, k)
		for len(d.to) < k {
			a := s.all[rng.IntN(len(s.all))]
			if _, dup := d.toIndex[a.code]; a.code != from.code && !dup {
				d.toIndex[a.code] = len(d.to)
				d.to = append(d.to, a)
			}
		}
		d.documentID = envelope.MakeDocumentID(from.code, date, envelope.Code{Number: strconv.Itoa(i + 1), Notation: "SIM"})
		d.at = make([]simDelivery, len(d.to))
		d.expected = len(d.to) // the 01s
		s.docs = append(s.docs, d)
		s.byDocumentID[d.documentID] = d
		s.deliveries += len(d.to)
	}
	for _, d := range s.docs {
		d.want = make([]envelope.State, len(d.to))
		for i := range d.to {
			switch r := rng.Float64(); {
			case d.recall:
				d.want[i] = envelope.StateRecalled
			case r < 0.05:
				d.want[i] = envelope.StateRejected
			case r < 0.90:
				d.want[i] = envelope.StateDone
			default:
				d.want[i] = envelope.StateAccepted
			}
			d.expected += len(simAnswer(d.want[i]))
		}
	}
}

// simAnswer is what a recipient's clerk posts to leave a delivery in
// state want: 15 to a recall, 02 to refuse, 03 to accept, then 06 once
// done.
func simAnswer(want envelope.State) []envelope.StatusCode {
	switch want {
	case envelope.StateRecalled:
		return []envelope.StatusCode{envelope.StatusRecallAccepted}
	case envelope.StateRejected:
		return []envelope.StatusCode{envelope.StatusRejected}
	case envelope.StateDone:
		return []envelope.StatusCode{envelope.StatusAccepted, envelope.StatusDone}
	}
	return []envelope.StatusCode{envelope.StatusAccepted}
}

// simTask is a status to post: a recipient's answer to the delivery to
// d.to[to], or the sender's recall of d when to is -1. document is the
// local id at the gateway that posts it.
type simTask struct {
	d        *simDoc
	to       int
	document string
}

// simCounts is how far the day is, for the progress lines.
type simCounts struct {
	sent, stored, answered, reconciled int
}

// day replays the day as it runs: the senders submit the documents, c at
// once, while the recipients' clerks answer what has arrived, c statuses
// at once, and the senders recall a document once all its 01s are back.
// What each side holds is learned from the gateways' change feeds, never
// by polling: a document is read when the feed says it changed, once for
// the changes of the same moments, and only if they can matter (see
// sim.read and simDoc.ripe). It returns when every delivery is, at both ends, in
// the state its clerk chose, or at the first error.
func (s *sim) day(ctx context.Context, c int, progress func(string, ...any)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.fail = cancel
	s.done = make(chan struct{})
	// Room for every status the day posts: the readers that queue them
	// never wait on the clerks.
	s.tasks = make(chan simTask, s.deliveries+len(s.docs))

	var wg sync.WaitGroup
	var unsubscribe []func()
	var feeds []*simFeed
	for _, g := range s.gws {
		// Subscribed before the first document: the feed has every
		// change of the day. Its buffer holds a few seconds of a busy
		// gateway's changes (about 200 KB): with the pages' 64, a feed
		// whose goroutine waited for a core lost changes and read every
		// document of its gateway again, 21 times in a day of the
		// issue's size, work of the harness counted as the day's.
		ch, unsub := g.gw.SubscribeBuffered(simFeedBuffer)
		unsubscribe = append(unsubscribe, unsub)
		f := &simFeed{g: g, wake: make(chan struct{}, 1), dirty: make(map[string]int), seen: make(map[string]int), quiet: make(map[string]struct{})}
		feeds = append(feeds, f)
		g.feed, g.out = f, make(map[string]*simDoc)
		wg.Add(2)
		go func() { defer wg.Done(); f.drain(ch) }()
		go func() { defer wg.Done(); s.read(ctx, f) }()
	}
	var next atomic.Int64
	for range c {
		wg.Add(2)
		go func() { defer wg.Done(); s.submit(ctx, &next) }()
		go func() { defer wg.Done(); s.answer(ctx) }()
	}

	start := time.Now()
	ticker := time.NewTicker(5 * time.Second)
	defer ticker.Stop()
	var last simCounts
	lastMoved := start
	ticks := 0
	var err error
wait:
	for {
		select {
		case <-s.done:
			break wait
		case <-ctx.Done():
			err = context.Cause(ctx)
			break wait
		case now := <-ticker.C:
			n := s.counts()
			ticks++
			// Every 5 s for the first minute, then every 30 s: a
			// 20,000-document day runs for many minutes.
			if elapsed := now.Sub(start); elapsed < time.Minute || ticks%6 == 0 {
				progress("  %s: %d of %d documents sent; of %d deliveries %d stored, %d answered, %d reconciled (%.0f %%)",
					elapsed.Round(time.Second), n.sent, len(s.docs), s.deliveries, n.stored, n.answered, n.reconciled, 100*float64(n.reconciled)/float64(s.deliveries))
			}
			if n.reconciled == last.reconciled && n.reconciled > 0 {
				s.force()
			}
			if n != last {
				last, lastMoved = n, now
			} else if now.Sub(lastMoved) > 2*time.Minute {
				err = newVIError(fmt.Sprintf("Hai phút không có gì thay đổi: %d văn bản đã gửi trên %d; %d lượt gửi đã lưu, %d đã trả lời, %d đã khớp trên %d.", n.sent, len(s.docs), n.stored, n.answered, n.reconciled, s.deliveries),
					fmt.Sprintf("sim: nothing moved for two minutes (%d of %d documents sent; of %d deliveries %d stored, %d answered, %d reconciled)", n.sent, len(s.docs), s.deliveries, n.stored, n.answered, n.reconciled))
				break wait
			}
		}
	}
	cancel(nil)
	for _, u := range unsubscribe {
		u()
	}
	wg.Wait()
	for _, f := range feeds {
		s.changes += f.changes.Load()
		s.reads += f.reads.Load()
	}
	return err
}

// force has every sender's document that is ripe and not yet reconciled
// read at its next change and now, due or not: should the gateway bring
// fewer changes than simDoc.ripe counts on, the day goes on five seconds
// later rather than stalls, and the figures show it (forced).
func (s *sim) force() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.docs {
		if d.id != "" && !d.forced && d.ripe() && d.settled < len(d.to) {
			d.forced = true
			s.forced++
			d.from.g.feed.note(d.id, 0, false)
		}
	}
}

// counts returns how far the day is.
func (s *sim) counts() simCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// submit sends documents, taking the next from next, until none is left.
func (s *sim) submit(ctx context.Context, next *atomic.Int64) {
	for {
		i := int(next.Add(1)) - 1
		if i >= len(s.docs) || ctx.Err() != nil {
			return
		}
		d := s.docs[i]
		packet, err := simPacket(d, i)
		if err != nil {
			s.fail(err)
			return
		}
		doc, _, err := d.from.g.gw.Submit(ctx, gateway.Submission{Packet: packet, GiveUp: true})
		if err != nil {
			s.fail(fmt.Errorf("sim: document %d from %s: %w", i+1, d.from.code, err))
			return
		}
		s.mu.Lock()
		s.sent(d, doc.ID)
		s.count.sent++
		s.mu.Unlock()
	}
}

// answer posts the statuses the readers queue, one at a time.
func (s *sim) answer(ctx context.Context) {
	for {
		var t simTask
		select {
		case <-ctx.Done():
			return
		case t = <-s.tasks:
		}
		if err := s.post(ctx, t); err != nil {
			s.fail(err)
			return
		}
	}
}

// post posts the status or statuses of t.
func (s *sim) post(ctx context.Context, t simTask) error {
	d := t.d
	if t.to < 0 {
		if err := d.from.g.gw.PostStatus(ctx, gateway.StatusRequest{Document: t.document, Code: envelope.StatusRecallRequested, Description: "Ban hành nhầm"}); err != nil {
			return fmt.Errorf("sim: recall %s: %w", d.documentID, err)
		}
		s.statuses.Add(1)
		return nil
	}
	to := d.to[t.to]
	for _, code := range simAnswer(d.want[t.to]) {
		desc := ""
		if code == envelope.StatusRejected {
			desc = "Không thuộc thẩm quyền"
		}
		posted, err := to.g.gw.PostStatusResult(ctx, gateway.StatusRequest{Document: t.document, Code: code, Description: desc})
		if err != nil {
			return fmt.Errorf("sim: %s %s at %s: %w", code, d.documentID, to.code, err)
		}
		s.statuses.Add(1)
		if len(posted.Late) > 0 {
			return fmt.Errorf("sim: %s %s at %s: the delivery is already past it", code, d.documentID, to.code)
		}
	}
	// The recipient holds what its clerk posted, and the feed reads the
	// document no more (apply said it was quiet).
	s.mu.Lock()
	d.at[t.to].inState = d.want[t.to]
	s.settle(d, t.to)
	s.count.answered++
	d.answered++
	s.ripen(d)
	s.mu.Unlock()
	return nil
}

// sent notes the local id of d at its sender, from Submit or from the
// feed, whichever tells first.
func (s *sim) sent(d *simDoc, id string) {
	if d.id != "" {
		return
	}
	d.id = id
	d.from.g.out[id] = d
	s.ripen(d)
}

// ripe reports whether the sender's document is worth reading when it
// changes: a document to be recalled, for its 01s, then its 15s; any
// other once every recipient posted its answer, since no delivery of it
// can be reconciled before. Even then, it is read only once the feed
// brought as many changes of it as the statuses it still lacks (see
// worth): the gateway tells each status it receives by a change.
func (d *simDoc) ripe() bool {
	return d.recall || d.answered == len(d.to)
}

// worth reports whether the sender's document is worth reading, its
// sender's feed having brought changes of it in all. Never read, it needs
// its acceptance, at least one publish and one change per status; read
// before, one per status it still lacked then. Fewer cannot hold its last
// status; more may not (a document published in several batches, a change
// counted that the read already showed), and then each further change is
// read. So a document is read about once, not at each of the five to
// three hundred changes of its day.
func (d *simDoc) worth(changes int) bool {
	switch {
	case d.recall || d.forced:
		return true
	case !d.ripe():
		return false
	case d.read:
		return changes-d.readAt >= d.left
	}
	return changes >= 2+d.expected
}

// ripen has the sender's feed read d once it is ripe and its id known:
// the changes before were not read, and the answers may all be in.
func (s *sim) ripen(d *simDoc) {
	if d.poked || d.id == "" || !d.ripe() {
		return
	}
	d.poked = true
	d.from.g.feed.note(d.id, 0, false)
}

// simPacket is an unsigned công văn of about 8 KB, whose DocumentId is
// d.documentID (same sender, number and date).
func simPacket(d *simDoc, i int) ([]byte, error) {
	data := make([]byte, 6<<10)
	rand.Read(data)
	l := letter.Letter{
		From: letter.Agency{Code: d.from.code, Name: d.from.name}, Number: strconv.Itoa(i + 1), Notation: "SIM",
		Subject: "V/v mô phỏng một ngày của trục liên thông", Promulgated: d.date,
		Attachments: []envelope.Attachment{{Name: "congvan.pdf", ContentType: "application/pdf", Data: data}},
	}
	for _, a := range d.to {
		l.To = append(l.To, letter.Agency{Code: a.code, Name: a.name})
	}
	return l.Encode()
}

// simFeed is one gateway's change feed as the harness reads it. drain
// takes the changes off the channel as they come, so that the gateway
// drops none for a reader busy reading; read then reads each changed
// document once for all the changes that came while it read the last
// ones, as a DMS refreshing its lists would.
type simFeed struct {
	g    *simGateway
	wake chan struct{} // one pending wake-up at most
	// quiet holds the documents that change no more but by the harness's
	// own posts, which it knows of: an incoming one whose answer is
	// queued, an outgoing one whose every delivery is reconciled. Read's
	// own.
	quiet map[string]struct{}

	mu    sync.Mutex
	dirty map[string]int // documents to read, and how many changes the feed brought of each
	seen  map[string]int // how many changes the feed brought of each document
	lost  bool           // changes were dropped: read everything

	changes atomic.Int64 // the changes the feed brought
	reads   atomic.Int64 // the documents read for them
}

// simConcurrency is the default of -concurrency for a day of gateways:
// four documents and four statuses in flight per gateway, at least 16.
// The day's senders and clerks are those of every agency of the nation,
// each waiting only for its own gateway's answer: with 16 in all, a
// closed loop of 16 posters, the harness itself bounded the day. With
// -agencies 200 -gateways 5 -documents 1000 on the 2-core machine, 16 at
// once kept 66 % of the cores busy and took 3.35 times the signing floor,
// 64 at once 89 % and 2.52, for the same CPU (17.6 s): the statuses,
// two of every delivery's three signatures or so, were posted by 16
// clerks each waiting for its commit behind its gateway's queue.
func simConcurrency(gateways int) int {
	return max(16, 4*gateways)
}

// simFeedBuffer is the buffer of a feed's channel of changes.
const simFeedBuffer = 4096

// drain notes each change until the channel closes.
func (f *simFeed) drain(ch <-chan gateway.Change) {
	for c := range ch {
		f.changes.Add(1)
		f.note(c.Document, 1, c.Lost)
	}
}

// note has read look at document again, after n more changes of it (0
// when the harness asks), or at every document if lost.
func (f *simFeed) note(document string, n int, lost bool) {
	f.mu.Lock()
	f.seen[document] += n
	f.dirty[document] = f.seen[document]
	f.lost = f.lost || lost
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// read reads the documents f's changes name, until ctx ends.
func (s *sim) read(ctx context.Context, f *simFeed) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		dirty, lost := f.dirty, f.lost
		f.dirty, f.lost = make(map[string]int, len(dirty)), false
		if lost {
			// Every document, with the changes counted so far: the
			// reads that follow count from there.
			dirty = maps.Clone(f.seen)
		}
		f.mu.Unlock()
		if lost {
			// Read after every change noted: it covers them too.
			if err := s.rescan(ctx, f.g, dirty); err != nil {
				s.fail(err)
				return
			}
			continue
		}
		for id, changes := range dirty {
			if _, ok := f.quiet[id]; ok || !s.worthReading(f, id, changes) {
				continue
			}
			f.reads.Add(1)
			dd, err := f.g.st.Document(ctx, id)
			var quiet bool
			if err == nil {
				quiet, err = s.apply(&dd.Document, dd.Deliveries, changes)
			}
			if err != nil {
				s.fail(fmt.Errorf("sim: document %s at %s: %w", id, f.g.id, err))
				return
			}
			if quiet {
				f.quiet[id] = struct{}{}
			}
		}
	}
}

// worthReading reports whether the changes f brought of document id may
// matter: always for an incoming document or one not known yet (the
// acceptance of a document whose Submit has not returned), for a sender's
// document as simDoc.worth says.
func (s *sim) worthReading(f *simFeed, id string, changes int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := f.g.out[id]
	return d == nil || d.worth(changes)
}

// rescan reads every document of g, for a feed that lost changes; seen is
// how many changes of each the feed had brought before.
func (s *sim) rescan(ctx context.Context, g *simGateway, seen map[string]int) error {
	s.mu.Lock()
	s.rescans++
	s.mu.Unlock()
	return simEach(ctx, g, func(d *gateway.DocumentSummary) error {
		_, err := s.apply(&d.Document, d.Deliveries, seen[d.ID])
		return err
	})
}

// simEach calls fn with every document g's store holds, a page at a time.
func simEach(ctx context.Context, g *simGateway, fn func(*gateway.DocumentSummary) error) error {
	q := gateway.DocumentQuery{Limit: 500}
	for {
		page, err := g.st.Documents(ctx, q)
		if err != nil {
			return fmt.Errorf("sim: documents at %s: %w", g.id, err)
		}
		for i := range page.Documents {
			if err := fn(&page.Documents[i]); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// apply notes what a gateway holds of a document: its deliveries' states,
// and what the day does next about it — the recipient's answer once it
// holds the document (to a recalled one, once it holds the 13), the
// sender's recall once all the 01s are back. It reports whether the
// document needs no more reading: nothing but the harness's own posts,
// whose outcome it knows, will change it. changes is how many changes of
// it the feed had brought before it was read.
func (s *sim) apply(doc *gateway.Document, dls []gateway.Delivery, changes int) (quiet bool, err error) {
	d := s.byDocumentID[doc.DocumentID]
	if d == nil {
		return false, fmt.Errorf("sim: %s holds %s, which no one sent today", doc.Agency, doc.DocumentID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if doc.Direction == gateway.Outgoing {
		return s.applyOutgoing(d, doc, dls, changes)
	}
	return s.applyIncoming(d, doc, dls)
}

func (s *sim) applyOutgoing(d *simDoc, doc *gateway.Document, dls []gateway.Delivery, changes int) (bool, error) {
	if doc.Agency != d.from.code {
		return false, fmt.Errorf("sim: %s holds %s as its own, sent by %s", doc.Agency, d.documentID, d.from.code)
	}
	s.sent(d, doc.ID)
	d.read, d.readAt, d.left = true, changes, d.expected
	for _, dl := range dls {
		d.left -= len(dl.Lifecycle.Seen.Codes())
		i, ok := d.toIndex[dl.Recipient]
		if !ok {
			return false, fmt.Errorf("sim: %s sends %s to %s, not one of its recipients", d.from.code, d.documentID, dl.Recipient)
		}
		at := &d.at[i]
		at.outState = dl.Lifecycle.State
		if !at.got01 && dl.Lifecycle.Seen.Has(envelope.StatusArrived) {
			at.got01 = true
			d.n01++
		}
		s.settle(d, i)
	}
	if d.recall && !d.recallQueued && d.n01 == len(d.to) {
		d.recallQueued = true
		s.tasks <- simTask{d: d, to: -1, document: d.id}
	}
	return d.settled == len(d.to), nil
}

func (s *sim) applyIncoming(d *simDoc, doc *gateway.Document, dls []gateway.Delivery) (bool, error) {
	i, ok := d.toIndex[doc.Agency]
	if !ok || doc.From != d.from.code || len(dls) != 1 {
		return false, fmt.Errorf("sim: %s holds %s from %s with %d deliveries: not one of its deliveries", doc.Agency, d.documentID, doc.From, len(dls))
	}
	at := &d.at[i]
	switch at.in {
	case "":
		at.in = doc.ID
		s.count.stored++
	case doc.ID:
	default:
		return false, newVIError(fmt.Sprintf("%s lưu %s hai lần (%s và %s).", doc.Agency, d.documentID, at.in, doc.ID),
			fmt.Sprintf("sim: %s stored %s twice (%s and %s)", doc.Agency, d.documentID, at.in, doc.ID))
	}
	if at.queued {
		// Its clerk's posts, which set inState, are the only changes
		// left; a rescan's page may have been read before them.
		return true, nil
	}
	at.inState = dls[0].Lifecycle.State
	// The clerk does not accept or refuse a document to be recalled: its
	// recall comes first.
	if !d.recall || at.inState == envelope.StateRecallRequested {
		at.queued = true
		s.tasks <- simTask{d: d, to: i, document: at.in}
	}
	s.settle(d, i)
	return at.queued, nil
}

// settle counts the delivery to d.to[i] reconciled once both ends hold
// the state its clerk chose, and ends the day with the last one.
func (s *sim) settle(d *simDoc, i int) {
	at := &d.at[i]
	if at.reconciled || at.in == "" || at.inState != d.want[i] || at.outState != d.want[i] {
		return
	}
	at.reconciled = true
	d.settled++
	s.count.reconciled++
	if s.count.reconciled == s.deliveries {
		s.reconciledAt = time.Now()
		close(s.done)
	}
}

// holdings reads every document every gateway holds, incoming and
// outgoing.
func (s *sim) holdings(ctx context.Context) (incoming, outgoing []gateway.DocumentSummary, err error) {
	for _, g := range s.gws {
		err := simEach(ctx, g, func(d *gateway.DocumentSummary) error {
			if d.Direction == gateway.Outgoing {
				outgoing = append(outgoing, *d)
			} else {
				incoming = append(incoming, *d)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return incoming, outgoing, nil
}

// simKey names a document at one agency: the agency holding it, its
// sender and its DocumentId.
type simKey struct{ agency, from, documentID string }

// simCheck checks the day against what the stores hold at its end, read
// afresh rather than from the feeds: every delivery stored exactly once
// at its recipient and nothing else stored, every document once at its
// sender with a delivery to each of its recipients and no other, and
// every delivery in the state its clerk chose at both ends.
func simCheck(docs []*simDoc, incoming, outgoing []gateway.DocumentSummary) error {
	in := make(map[simKey][]*gateway.DocumentSummary, len(incoming))
	for i := range incoming {
		d := &incoming[i]
		k := simKey{d.Agency, d.From, d.DocumentID}
		in[k] = append(in[k], d)
	}
	out := make(map[simKey][]*gateway.DocumentSummary, len(outgoing))
	for i := range outgoing {
		d := &outgoing[i]
		k := simKey{d.Agency, d.Agency, d.DocumentID}
		out[k] = append(out[k], d)
	}
	var lost, twice, unreconciled int
	var examples []string
	note := func(format string, a ...any) {
		if len(examples) < 5 {
			examples = append(examples, fmt.Sprintf(format, a...))
		}
	}
	for _, d := range docs {
		k := simKey{d.from.code, d.from.code, d.documentID}
		sent := out[k]
		delete(out, k)
		atSender := make(map[string]envelope.State, len(d.to))
		switch {
		case len(sent) == 0:
			note("%s does not hold %s", d.from.code, d.documentID)
		case len(sent) > 1:
			twice++
			note("%s holds %s %d times", d.from.code, d.documentID, len(sent))
		case len(sent[0].Deliveries) != len(d.to):
			unreconciled++
			note("%s holds %s with %d deliveries, not %d", d.from.code, d.documentID, len(sent[0].Deliveries), len(d.to))
		}
		if len(sent) > 0 {
			for _, dl := range sent[0].Deliveries {
				atSender[dl.Recipient] = dl.Lifecycle.State
			}
		}
		for i, to := range d.to {
			k := simKey{to.code, d.from.code, d.documentID}
			copies := in[k]
			delete(in, k)
			switch len(copies) {
			case 0:
				lost++
				note("%s → %s: not stored", d.documentID, to.code)
				continue
			case 1:
			default:
				twice++
				note("%s → %s: stored %d times", d.documentID, to.code, len(copies))
			}
			got, ok := atSender[to.code]
			if len(copies[0].Deliveries) != 1 || !ok || copies[0].Deliveries[0].Lifecycle.State != d.want[i] || got != d.want[i] {
				unreconciled++
				state := "?"
				if len(copies[0].Deliveries) == 1 {
					state = copies[0].Deliveries[0].Lifecycle.State.String()
				}
				note("%s → %s: %s at the sender, %s at the recipient, want %s", d.documentID, to.code, got, state, d.want[i])
			}
		}
	}
	stray := 0
	for _, copies := range in {
		stray += len(copies)
		note("%s holds %s from %s, not sent to it", copies[0].Agency, copies[0].DocumentID, copies[0].From)
	}
	for _, copies := range out {
		stray += len(copies)
		note("%s holds %s, which it did not send today", copies[0].Agency, copies[0].DocumentID)
	}
	if lost+twice+unreconciled+stray == 0 {
		return nil
	}
	return newVIError(
		fmt.Sprintf("Kiểm tra cuối ngày: %d lượt gửi bị mất, %d lưu hai lần, %d chưa khớp trạng thái, %d văn bản lạ (%s).", lost, twice, unreconciled, stray, strings.Join(examples, "; ")),
		fmt.Sprintf("sim: the day's check: %d deliveries lost, %d stored twice, %d unreconciled, %d stray documents (%s)", lost, twice, unreconciled, stray, strings.Join(examples, "; ")))
}

// latencies returns each delivery's time from the sender's acceptance to
// its storing at the recipient, and to its 01 at the sender, sorted, and
// when the last 01 was stored: from the stores' times, read after the
// day.
func (s *sim) latencies(ctx context.Context, incoming []gateway.DocumentSummary) (toStored, to01 []time.Duration, last01 time.Time, err error) {
	stored := make(map[simKey]time.Time, len(incoming))
	for _, d := range incoming {
		stored[simKey{d.Agency, d.From, d.DocumentID}] = d.CreatedAt
	}
	for _, d := range s.docs {
		out, err := d.from.g.st.Document(ctx, d.id)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		for _, ev := range out.Events {
			if ev.Kind == gateway.EventStatus && ev.StatusCode == envelope.StatusArrived {
				to01 = append(to01, ev.RecordedAt.Sub(out.CreatedAt))
				if ev.RecordedAt.After(last01) {
					last01 = ev.RecordedAt
				}
			}
		}
		for _, to := range d.to {
			if at, ok := stored[simKey{to.code, d.from.code, d.documentID}]; ok {
				toStored = append(toStored, at.Sub(out.CreatedAt))
			}
		}
	}
	if len(to01) != s.deliveries || len(toStored) != s.deliveries {
		return nil, nil, time.Time{}, newVIError(fmt.Sprintf("Có %d trạng thái 01 và %d văn bản đã lưu cho %d lượt gửi.", len(to01), len(toStored), s.deliveries),
			fmt.Sprintf("sim: %d 01s and %d documents stored for %d deliveries", len(to01), len(toStored), s.deliveries))
	}
	slices.Sort(toStored)
	slices.Sort(to01)
	return toStored, to01, last01, nil
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
