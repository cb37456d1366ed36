package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// Defaults of Options.
const (
	// DefaultMaxPacketSize is the largest packet accepted or received:
	// envelope.DefaultMaxSize, the one limit of the gateway, the
	// configuration and the edxml commands (large enough for a 50 MB
	// attachment, which base64 makes about 67 MB).
	DefaultMaxPacketSize = envelope.DefaultMaxSize
	// DefaultDispatchInterval is how often the outbox is polled when
	// nothing wakes it.
	DefaultDispatchInterval = time.Second
	// DefaultHeartbeatInterval is how often the gateway says it is alive.
	DefaultHeartbeatInterval = 15 * time.Second
	// DefaultMaxRetryDelay caps the backoff between publish attempts.
	DefaultMaxRetryDelay = 5 * time.Minute
	// DefaultConcurrency is how many received messages are handled at
	// once. Handling is mostly waiting (for the store's commit, for the
	// ack), so it is well above the number of cores.
	DefaultConcurrency = 16
	// DefaultUnknownDocumentRetries is how many times a status about a
	// document not (yet) here is retried before it is quarantined.
	DefaultUnknownDocumentRetries = 10
)

// HostedAgency is an agency this gateway acts for.
type HostedAgency struct {
	Code envelope.AgencyCode
	Name string
	// Signer signs what the agency sends: documents accepted unsigned,
	// and statuses.
	Signer *signing.Signer
}

// Options configure a Gateway. Store, Bus, Logger, ID and at least one
// agency are required.
type Options struct {
	// ID names the gateway on the bus (consumers, heartbeats).
	ID       string
	Agencies []HostedAgency
	// Subtrees are codes delegated to the gateway with every agency
	// under them (ConsumerSpec.Subtrees): what is addressed under them
	// comes to this gateway, which handles it for the agencies it hosts.
	Subtrees []envelope.AgencyCode
	Store    Store
	Bus      Bus
	Logger   *zap.Logger
	// Roots, CRLs and Policy configure signature verification.
	Roots  *x509.CertPool
	CRLs   []*x509.RevocationList
	Policy signing.Policy
	// DirectoryAnchors are the trust anchors of the directory's
	// administrators: an entry of LT_DIRECTORY is believed only if it is
	// signed by a certificate that chains to one of them (see Directory).
	// Nil believes no entry: the gateway then knows only the agencies it
	// hosts, and can exchange only among them.
	DirectoryAnchors *x509.CertPool
	// MaxPacketSize refuses larger packets; 0 means DefaultMaxPacketSize.
	MaxPacketSize int64
	// DispatchInterval, HeartbeatInterval, MaxRetryDelay: 0 means the
	// defaults.
	DispatchInterval  time.Duration
	HeartbeatInterval time.Duration
	MaxRetryDelay     time.Duration
	// Concurrency of the receivers; 0 means DefaultConcurrency.
	Concurrency int
	// Submissions bounds the requests of DMSs worked on at once
	// (documents submitted and statuses posted, see Admit); as many more
	// may wait their turn for SubmissionWait, the others are refused
	// with ErrBusy. 0 means DefaultSubmissions(), and a wait of 0
	// DefaultSubmissionWait.
	Submissions    int
	SubmissionWait time.Duration
	// Version and API are published in heartbeats.
	Version string
	API     string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Observer is told what the gateway does, for metrics; nil means
	// NopObserver.
	Observer Observer
}

// Gateway is a running lienthong gateway. Create it with New, start it with
// Open, stop it with Close.
type Gateway struct {
	opts      Options
	log       *zap.Logger
	store     Store
	bus       Bus
	obs       Observer
	dir       *Directory
	verifier  atomic.Pointer[signing.Verifier] // replaced whole by SetCRLs
	parser    envelope.Parser
	hosted    map[string]*HostedAgency // by code tokens
	wake      chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	consumer  Consumer
	mu        sync.Mutex
	closed    bool
	closeOnce sync.Once
	changes   changeHub
	// lastBeat is when a heartbeat last reached the heartbeats' bucket
	// (Unix nanoseconds; 0 before the first).
	lastBeat atomic.Int64
	// turns and bodies admit the requests of DMSs (AdmitWork, AdmitBody).
	turns, bodies *semaphore
	// fresh hands the packets just stored to the dispatcher.
	fresh *freshPackets
	// unknownRecipients throttles the warnings of packets dropped as
	// addressed to codes that exist nowhere (dropUnknownRecipient).
	unknownRecipients unknownRecipientLog
	// publishFailures throttles the summary of the publish failures not
	// warned of one by one (dispatchOnce).
	publishFailures publishFailureLog
}

// New checks opts and returns a Gateway that is not running yet.
func New(opts Options) (*Gateway, error) {
	switch {
	case opts.ID == "":
		return nil, errors.New("gateway: an id is required")
	case len(opts.Agencies) == 0:
		return nil, errors.New("gateway: at least one hosted agency is required")
	case opts.Store == nil || opts.Bus == nil:
		return nil, errors.New("gateway: a store and a bus are required")
	case opts.Logger == nil:
		return nil, errors.New("gateway: a logger is required")
	}
	for i, r := range opts.Subtrees {
		if r.IsZero() {
			return nil, fmt.Errorf("gateway: subtree %d has no code", i+1)
		}
	}
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	if opts.DispatchInterval <= 0 {
		opts.DispatchInterval = DefaultDispatchInterval
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Observer == nil {
		opts.Observer = NopObserver{}
	}
	if opts.Submissions <= 0 {
		opts.Submissions = DefaultSubmissions()
	}
	if opts.SubmissionWait <= 0 {
		opts.SubmissionWait = DefaultSubmissionWait
	}
	g := &Gateway{
		opts:  opts,
		log:   opts.Logger.With(zap.String("gateway", opts.ID)),
		store: opts.Store,
		bus:   opts.Bus,
		obs:   opts.Observer,
		dir: NewDirectory(&signing.RecordVerifier{
			Anchors: opts.DirectoryAnchors, CRLs: opts.CRLs, Now: opts.Now,
		}),
		parser: envelope.Parser{MaxSize: opts.MaxPacketSize},
		hosted: make(map[string]*HostedAgency),
		wake:   make(chan struct{}, 1),
		turns:  newTurns(opts.Submissions, opts.SubmissionWait),
		bodies: newBodies(opts.MaxPacketSize, opts.Submissions, opts.SubmissionWait),
		// As much as a packet of the largest size and 16 MiB more (a
		// large one not taken when small ones fill it is read from the
		// store, as before).
		fresh: newFreshPackets(opts.MaxPacketSize + 16<<20),
	}
	for i := range opts.Agencies {
		a := &opts.Agencies[i]
		if a.Code.IsZero() || a.Signer == nil {
			return nil, fmt.Errorf("gateway: hosted agency %d: a code and a signer are required", i+1)
		}
		if _, dup := g.hosted[a.Code.Tokens()]; dup {
			return nil, fmt.Errorf("gateway: agency %s is hosted twice", a.Code)
		}
		g.hosted[a.Code.Tokens()] = a
		g.dir.host(g.hostedEntry(a))
	}
	g.verifier.Store(&signing.Verifier{
		Roots: opts.Roots, CRLs: opts.CRLs, Revocations: signing.NewRevocations(opts.CRLs), Policy: opts.Policy,
		Directory: g.dir, Parser: g.parser, Now: opts.Now,
		// The packets of a day come from a few hundred certificates:
		// each is parsed and its chain built once, not per packet.
		Chains: &signing.ChainCache{},
	})
	return g, nil
}

// ID returns the gateway's id.
func (g *Gateway) ID() string { return g.opts.ID }

// Version returns the version the gateway publishes in its heartbeats.
func (g *Gateway) Version() string { return g.opts.Version }

// HeartbeatInterval returns how often the gateway says it is alive.
func (g *Gateway) HeartbeatInterval() time.Duration { return g.opts.HeartbeatInterval }

// Bus returns the gateway's bus, for the wiring (cmd) and tests: the
// faces read its state through the roles of faces.go (Connected,
// Heartbeats).
func (g *Gateway) Bus() Bus { return g.bus }

// Pending returns how many messages for the hosted agencies are not yet
// acknowledged, by stream (see Consumer.Pending); ErrClosed if the
// gateway is not open.
func (g *Gateway) Pending(ctx context.Context) (map[string]uint64, error) {
	g.mu.Lock()
	c, closed := g.consumer, g.closed
	g.mu.Unlock()
	if c == nil || closed {
		return nil, ErrClosed
	}
	return c.Pending(ctx)
}

// Directory returns the gateway's view of the directory, for the wiring
// (cmd) and tests: the faces read it through AgencyDirectory.
func (g *Gateway) Directory() *Directory { return g.dir }

// MaxPacketSize is the largest packet the gateway accepts or receives.
func (g *Gateway) MaxPacketSize() int64 { return g.opts.MaxPacketSize }

// Store returns the gateway's store, for the wiring (cmd) and tests: the
// faces read through DocumentReader, ReportRowReader and GaugeReader,
// never the Store's writes.
func (g *Gateway) Store() Store { return g.store }

// Hosted returns the hosted agency with code (either form, or one of its
// former codes in the directory), or false.
func (g *Gateway) Hosted(code string) (*HostedAgency, bool) {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return nil, false
	}
	if a, ok := g.hosted[c.Tokens()]; ok {
		return a, true
	}
	// A former code of a hosted agency (the 2025 reform): its documents
	// and DMSs still use it.
	if cur, ok := g.dir.CurrentCode(code); ok {
		if cc, err := envelope.ParseAgencyCode(cur, envelope.CodeAny); err == nil {
			a, ok := g.hosted[cc.Tokens()]
			return a, ok
		}
	}
	return nil, false
}

// LastHeartbeat returns when the gateway's heartbeat last reached the
// heartbeats' bucket, the zero time before the first. On a province's leaf
// node that bucket is the hub's: a heartbeat that stops arriving says the
// link to the hub is down, while the NATS connection, to the leaf, is up.
func (g *Gateway) LastHeartbeat() time.Time {
	if n := g.lastBeat.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// HostedAgencies returns the agencies the gateway hosts, in configuration
// order.
func (g *Gateway) HostedAgencies() []HostedAgency { return g.opts.Agencies }

// hostedEntry is what the gateway's configuration says of a hosted agency,
// which it believes for itself until the administrator's entry comes.
func (g *Gateway) hostedEntry(a *HostedAgency) Agency {
	parent := ""
	if p, ok := a.Code.Parent(); ok {
		parent = p.String()
	}
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Signer.Certificate().Raw}))
	return Agency{
		Code: a.Code.String(), Name: a.Name, Parent: parent, Gateway: g.opts.ID,
		Certificates: []string{cert}, UpdatedAt: g.opts.Now().UTC(),
	}
}

// Open starts watching the directory, and starts the consumers, the outbox
// dispatcher and the heartbeat. The gateway does not write the directory:
// its agencies are registered by the administrator (see Directory).
func (g *Gateway) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gateway: open: %w", err)
	}
	loaded, revised, err := g.loadDirectory(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.wg.Add(1)
	go g.keepLoop(runCtx)
	// Open's ctx bounds the initial read of the directory too (a
	// national directory takes seconds): a stop asked for meanwhile is
	// heard.
	stopOnCancel := context.AfterFunc(ctx, cancel)
	var held func(string, uint64) bool
	if loaded > 0 && revised*10 >= loaded*9 {
		// Loaded from the store, nearly all with their revisions: only
		// what it lacks is fetched, a key at a time. On a first start,
		// or from a store kept before revisions were (where the bus's
		// delivering the same bytes again records them), every value
		// comes in one read.
		held = g.dir.holdsRevision
	}
	err = g.bus.WatchDirectory(runCtx, held, g.applyDirectory)
	stopOnCancel()
	if err != nil {
		cancel()
		return fmt.Errorf("gateway: watch the directory: %w", err)
	}
	g.wg.Add(1)
	go g.verifyKept(runCtx)
	codes := make([]envelope.AgencyCode, 0, len(g.opts.Agencies))
	for _, a := range g.opts.Agencies {
		codes = append(codes, a.Code)
	}
	c, err := g.bus.Consume(runCtx, ConsumerSpec{Gateway: g.opts.ID, Agencies: codes, Subtrees: g.opts.Subtrees, Concurrency: g.opts.Concurrency}, g.handle)
	if err != nil {
		cancel()
		return fmt.Errorf("gateway: start consumers: %w", err)
	}
	g.mu.Lock()
	g.consumer = c
	g.mu.Unlock()
	g.wg.Add(2)
	go g.dispatchLoop(runCtx)
	go g.heartbeatLoop(runCtx)
	// A province's gateway hosts hundreds: the count and the first say it.
	g.log.Info("gateway open", zap.Int("agencies", len(codes)), zap.Stringers("first", codes[:min(len(codes), 10)]))
	return nil
}

// Close stops accepting documents, lets messages in flight finish, stops
// the dispatcher and the heartbeat, and waits for them or for ctx; then it
// closes the channels of Subscribe. It does not close the store or the
// bus, which belong to the caller.
func (g *Gateway) Close(ctx context.Context) error {
	var err error
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		if g.consumer != nil {
			if derr := g.consumer.Drain(ctx); derr != nil {
				err = fmt.Errorf("gateway: drain consumers: %w", derr)
			}
		}
		if g.cancel != nil {
			g.cancel()
		}
		done := make(chan struct{})
		go func() { g.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("gateway: close: %w", ctx.Err()))
		}
		g.changes.close()
		g.fresh.clear() // the dispatcher is stopped: nobody takes them
		g.log.Info("gateway closed")
	})
	return err
}

func (g *Gateway) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

func (g *Gateway) agencyCodes() []string {
	out := make([]string, 0, len(g.opts.Agencies))
	for _, a := range g.opts.Agencies {
		out = append(out, a.Code.String())
	}
	return out
}

// wakeDispatcher tells the dispatcher there is work, without blocking.
func (g *Gateway) wakeDispatcher() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// loadDirectory applies the directory records kept in the store, checked
// again (an administrator revoked since is not believed), before the bus's
// directory is read: the gateway starts with the directory it last
// believed, and whatever is found in the bucket under a key — deleted,
// unsigned, or an older record — does not take the place of what it holds.
// It returns how many it applied, and how many of those carry their
// revision in LT_DIRECTORY.
//
// It reads the agencies' briefs (directory_brief.go), then the records
// kept without one, a page at a time on every core (a national directory
// is 111,000 records), with the progress in the log every few seconds.
func (g *Gateway) loadDirectory(ctx context.Context) (applied, revised int64, err error) {
	l := directoryLoad{g: g, start: time.Now(), lastLog: time.Now()}
	l.signers.record = func(ctx context.Context, key string) ([]byte, error) {
		rs, err := g.store.DirectoryRecordsOf(ctx, []string{key})
		if err != nil {
			return nil, err
		}
		if len(rs) != 1 {
			return nil, fmt.Errorf("no record is kept under %s", key)
		}
		return rs[0].Value, nil
	}
	if err := l.pages(ctx, g.store.DirectoryBriefs, l.brief); err != nil {
		return 0, 0, err
	}
	if err := l.pages(ctx, g.store.DirectoryRecordsWithoutBrief, l.record); err != nil {
		return 0, 0, err
	}
	if n := l.loaded.Load(); n > 0 {
		g.log.Info("directory loaded from the store", zap.Int64("records", n-l.dropped.Load()), zap.Int64("notApplied", l.dropped.Load()),
			zap.Int64("fromBriefs", l.briefs.Load()), zap.Duration("took", time.Since(l.start)))
	}
	return l.loaded.Load() - l.dropped.Load(), l.withRevision.Load(), nil
}

// directoryLoad is one loadDirectory.
type directoryLoad struct {
	g                                     *Gateway
	signers                               briefSigners
	start, lastLog                        time.Time
	loaded, dropped, withRevision, briefs atomic.Int64
}

// pages applies every record read reads, by pages of keys in order, each
// with apply, on every core; the next page is read while one is applied.
func (l *directoryLoad) pages(ctx context.Context, read func(context.Context, string, int) ([]KeptRecord, error), apply func(context.Context, KeptRecord)) error {
	const page = 1000
	type kept struct {
		records []KeptRecord
		err     error
	}
	pages := make(chan kept, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(pages)
		for after := ""; ; {
			rs, err := read(rctx, after, page)
			select {
			case pages <- kept{rs, err}:
			case <-rctx.Done():
				return
			}
			if err != nil || len(rs) < page {
				return
			}
			after = rs[len(rs)-1].Key
		}
	}()
	workers := runtime.GOMAXPROCS(0)
	for p := range pages {
		if p.err != nil {
			return fmt.Errorf("gateway: open: %w", p.err)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(p.records); i += workers {
					apply(ctx, p.records[i])
				}
			})
		}
		wg.Wait()
		if time.Since(l.lastLog) > 5*time.Second {
			l.g.log.Info("loading the directory from the store", zap.Int64("records", l.loaded.Load()), zap.Duration("took", time.Since(l.start)))
			l.lastLog = time.Now()
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("gateway: open: loading the directory: %w", err)
		}
	}
	return nil
}

// record applies a record kept without a brief; its signer is judged,
// its signature checked later (verifyKept). One that is not applied
// holds its version if an administrator signed it (its signer revoked or
// expired since); one that nobody did is forgotten, and the bucket's
// record of its key is read as any other the gateway does not hold.
func (l *directoryLoad) record(ctx context.Context, r KeptRecord) {
	l.loaded.Add(1)
	err := l.g.dir.apply(DirectoryUpdate{Key: r.Key, Value: r.Value, Revision: r.Revision}, fromKept)
	switch {
	case err == nil:
		if r.Revision > 0 {
			l.withRevision.Add(1)
		}
		return
	case l.g.dir.holdSigned(r.Key, r.Value):
		l.g.log.Warn("kept directory record not applied", zap.String("key", r.Key), zap.Error(err))
	default:
		l.g.obs.DirectoryRejected(RejectUnsigned)
		l.g.log.Error("a directory record kept in the store is no administrator's: forgotten", zap.String("key", r.Key), zap.Error(err))
		if ferr := l.g.store.ForgetDirectoryRecord(ctx, r.Key, r.Value); ferr != nil {
			l.g.log.Error("forget the kept directory record", zap.String("key", r.Key), zap.Error(ferr))
		}
	}
	l.dropped.Add(1)
}

// brief applies a brief kept with its record, or, if it cannot (it does
// not match the record, or the signer is not believed now), the record
// itself, as record does.
func (l *directoryLoad) brief(ctx context.Context, r KeptRecord) {
	err := l.g.dir.applyBrief(ctx, r, &l.signers)
	if err == nil {
		l.loaded.Add(1)
		l.briefs.Add(1)
		if r.Revision > 0 {
			l.withRevision.Add(1)
		}
		return
	}
	if errors.Is(err, errBriefMismatch) {
		l.g.log.Warn("kept directory brief not applied: its record is", zap.String("key", r.Key), zap.Error(err))
	}
	value, rerr := l.signers.record(ctx, r.Key)
	if rerr != nil {
		l.loaded.Add(1)
		l.dropped.Add(1)
		l.g.log.Warn("kept directory record not applied", zap.String("key", r.Key), zap.Error(rerr))
		return
	}
	l.record(ctx, KeptRecord{Key: r.Key, Version: r.Version, Value: value, Revision: r.Revision})
}

// verifyKept checks, once the gateway is open, the signatures of the
// directory records kept in the store, which loadDirectory applied
// without (OpenKept), or from their briefs, and makes the directory hold
// what they say and nothing else:
//   - a record that verifies makes its entry anew, in place of the one its
//     brief made, and its brief is kept again if it was not the record's;
//   - a record that does not (a store written by someone else than this
//     gateway) is dropped, forgotten by the store and replaced by the
//     bucket's, and counted and logged as an error, as is a brief that is
//     not its record's;
//   - an entry whose signer is not believed any more is taken out, its
//     version held;
//   - an entry still unchecked once every record was read, made from a
//     brief that no record kept confirms, is taken out with its version,
//     its brief forgotten and the bucket's record taken.
//
// Records the directory holds verified (applied from the bus since, as
// on a first start) are skipped. A store that cannot be read is tried
// again. It takes at most a fortieth of one core (keptCheckShare): at
// 111,000 records that is a few minutes in the background rather than
// seconds of a busy gateway just started.
func (g *Gateway) verifyKept(ctx context.Context) {
	defer g.wg.Done()
	if g.dir.verifier == nil {
		return
	}
	const page = 1000
	bad, checked := 0, 0
	start := time.Now()
	retry := time.Second
	for after := ""; ; {
		work := time.Now()
		kept, err := g.store.DirectoryRecords(ctx, after, page)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			g.log.Error("check the kept directory records; trying again", zap.Error(err), zap.Duration("in", retry))
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(2*retry, time.Minute)
			continue
		}
		retry = time.Second
		for _, r := range kept {
			switch g.dir.keptState(r.Key, sha256.Sum256(r.Value)) {
			case keptChecked:
				continue
			case keptOther:
				// The entry was made from a brief that is not this
				// record's: the record takes its place if it verifies,
				// holds its version if an administrator signed it,
				// and is replaced by the bucket's otherwise. The
				// bucket's record is read again in any case: the
				// brief's version may have made the gateway refuse it.
				if !g.dir.forgetUnchecked(r.Key) {
					continue
				}
				bad++
				g.obs.DirectoryRejected(RejectMalformed)
				g.log.Error("a directory brief kept in the store is not its record's: the record is applied instead", zap.String("key", r.Key))
				err := g.dir.Apply(DirectoryUpdate{Key: r.Key, Value: r.Value, Revision: r.Revision})
				if err != nil && !g.dir.holdSigned(r.Key, r.Value) {
					g.replaceKept(ctx, r, err)
					continue
				}
				g.readAgain(ctx, r.Key)
				continue
			}
			checked++
			rewritten, verr := g.dir.confirm(r)
			switch {
			case verr == nil:
				if rewritten && r.Brief != nil {
					// Another entry than the record's, or another
					// version, which may have refused the bucket's
					// record: read again.
					bad++
					g.obs.DirectoryRejected(RejectMalformed)
					g.log.Error("a directory brief kept in the store is not what its record makes: the record's entry and brief taken instead", zap.String("key", r.Key))
					g.readAgain(ctx, r.Key)
				}
			case g.dir.disbelieve(r.Key, r.Value):
				// An administrator's record whose signer is not believed
				// any more: taken out, its version held so that no older
				// record takes its key.
			default:
				// Written by someone else.
				if g.dir.dropKept(r.Key, r.Value) {
					bad++
					g.replaceKept(ctx, r, verr)
				}
			}
		}
		if len(kept) < page {
			break
		}
		after = kept[len(kept)-1].Key
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Since(work) * (keptCheckShare - 1)):
		}
	}
	if keys := g.dir.dropUnchecked(); len(keys) > 0 {
		bad += len(keys)
		g.log.Error("directory entries made from briefs that no record kept confirms: taken out, the bucket's records taken instead",
			zap.Int("entries", len(keys)), zap.Strings("keys", keys[:min(len(keys), 20)]))
		for _, key := range keys {
			g.obs.DirectoryRejected(RejectMalformed)
			if err := g.store.ForgetDirectoryBrief(ctx, key); err != nil {
				g.log.Error("forget the kept directory brief", zap.String("key", key), zap.Error(err))
			}
			g.readAgain(ctx, key)
		}
	}
	if bad > 0 {
		g.log.Error("kept directory records and briefs that did not verify", zap.Int("records", bad))
	}
	if checked > 0 {
		g.log.Info("kept directory records checked", zap.Int("records", checked), zap.Int("dropped", bad), zap.Duration("took", time.Since(start)))
	}
}

// readAgain applies the bucket's record of key, if it can be read.
func (g *Gateway) readAgain(ctx context.Context, key string) {
	if v, err := g.bus.DirectoryRecord(ctx, key); err == nil {
		g.applyDirectory(DirectoryUpdate{Key: key, Value: v})
	}
}

// replaceKept forgets r, a record kept in the store that does not verify
// (why: verr), and applies the bucket's record of its key instead.
func (g *Gateway) replaceKept(ctx context.Context, r KeptRecord, verr error) {
	g.obs.DirectoryRejected(RejectUnsigned)
	g.log.Error("a directory record kept in the store does not verify: dropped, the bucket's taken instead",
		zap.String("key", r.Key), zap.Error(verr))
	if err := g.store.ForgetDirectoryRecord(ctx, r.Key, r.Value); err != nil {
		g.log.Error("forget the kept directory record", zap.String("key", r.Key), zap.Error(err))
	}
	g.readAgain(ctx, r.Key)
}

// keptCheckShare: verifyKept works one part of keptCheckShare and waits
// the rest.
const keptCheckShare = 40

// keepLoop keeps in the store the directory records applied from the bus:
// every second, or at once when many wait, and a last time when the
// gateway closes.
func (g *Gateway) keepLoop(ctx context.Context) {
	defer g.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			g.keepDirectory(cctx)
			cancel()
			return
		case <-t.C:
		case <-g.dir.toKeep:
		}
		g.keepDirectory(ctx)
	}
}

// keepDirectory stores the records applied since the last time; those the
// store refuses wait for the next time.
func (g *Gateway) keepDirectory(ctx context.Context) {
	rs := g.dir.takeUnkept()
	if len(rs) == 0 {
		return
	}
	if err := g.store.KeepDirectoryRecords(ctx, rs); err != nil {
		g.dir.giveBack(rs)
		if ctx.Err() == nil {
			g.log.Warn("directory records not kept; trying again", zap.Int("records", len(rs)), zap.Error(err))
		}
	}
}

// applyDirectory applies one update of the directory, or logs and counts
// why it does not.
func (g *Gateway) applyDirectory(u DirectoryUpdate) {
	err := g.dir.Apply(u)
	if err == nil {
		return
	}
	reason := RejectMalformed
	var rej *DirectoryRejection
	if errors.As(err, &rej) {
		reason = rej.Reason
	}
	g.obs.DirectoryRejected(reason)
	g.log.Warn("directory entry not applied", zap.String("key", u.Key), zap.String("reason", reason), zap.Error(err))
}

// heartbeatLoop renews the gateway's heartbeat.
func (g *Gateway) heartbeatLoop(ctx context.Context) {
	defer g.wg.Done()
	t := time.NewTicker(g.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		beat := GatewayBeat{Gateway: g.opts.ID, Agencies: g.agencyCodes(), Version: g.opts.Version, API: g.opts.API, At: g.opts.Now().UTC()}
		if err := g.bus.Heartbeat(ctx, beat); err != nil {
			if ctx.Err() == nil {
				g.log.Warn("heartbeat failed", zap.Error(err))
			}
		} else {
			g.lastBeat.Store(beat.At.UnixNano())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
