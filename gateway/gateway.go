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
	// DefaultMaxPacketSize is large enough for a 50 MB attachment, which
	// base64 makes about 67 MB.
	DefaultMaxPacketSize = 96 << 20
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

// Bus returns the gateway's bus, for its state (Connected).
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

// Directory returns the gateway's view of the directory.
func (g *Gateway) Directory() *Directory { return g.dir }

// MaxPacketSize is the largest packet the gateway accepts or receives.
func (g *Gateway) MaxPacketSize() int64 { return g.opts.MaxPacketSize }

// Store returns the gateway's store, for reads.
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
// The records' signatures are checked on every core at once (a national
// directory is 111,000 of them), a page at a time, with the progress in
// the log every few seconds.
func (g *Gateway) loadDirectory(ctx context.Context) (applied, revised int64, err error) {
	const page = 1000
	start, lastLog := time.Now(), time.Now()
	var loaded, dropped, withRevision atomic.Int64
	workers := runtime.GOMAXPROCS(0)
	// The next page is read while this one is applied.
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
			rs, err := g.store.DirectoryRecords(rctx, after, page)
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
	for p := range pages {
		kept, err := p.records, p.err
		if err != nil {
			return 0, 0, fmt.Errorf("gateway: open: %w", err)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(kept); i += workers {
					r := kept[i]
					loaded.Add(1)
					if err := g.dir.apply(DirectoryUpdate{Key: r.Key, Value: r.Value, Revision: r.Revision}, true); err != nil {
						g.dir.holdKept(r)
						dropped.Add(1)
						g.log.Warn("kept directory record not applied", zap.String("key", r.Key), zap.Error(err))
					} else if r.Revision > 0 {
						withRevision.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if time.Since(lastLog) > 5*time.Second {
			g.log.Info("loading the directory from the store", zap.Int64("records", loaded.Load()), zap.Duration("took", time.Since(start)))
			lastLog = time.Now()
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, fmt.Errorf("gateway: open: loading the directory: %w", err)
		}
	}
	if n := loaded.Load(); n > 0 {
		g.log.Info("directory loaded from the store", zap.Int64("records", n-dropped.Load()), zap.Int64("notApplied", dropped.Load()),
			zap.Duration("took", time.Since(start)))
	}
	return loaded.Load() - dropped.Load(), withRevision.Load(), nil
}

// verifyKept checks, once the gateway is open, the signatures of the
// directory records kept in the store, which loadDirectory applied
// without (OpenKept): a record that does not verify — a store written by
// someone else than this gateway — is dropped, forgotten by the store and
// replaced by the bucket's, and counted and logged as an error. Records
// the directory holds verified (applied from the bus since, as on a first
// start) are skipped. It takes at most a fortieth of one core
// (keptCheckShare): at 111,000 records that is about four minutes in the
// background rather than six seconds of a busy gateway just started.
func (g *Gateway) verifyKept(ctx context.Context) {
	defer g.wg.Done()
	if g.dir.verifier == nil {
		return
	}
	const page = 1000
	bad, checked := 0, 0
	start := time.Now()
	for after := ""; ctx.Err() == nil; {
		work := time.Now()
		kept, err := g.store.DirectoryRecords(ctx, after, page)
		if err != nil {
			if ctx.Err() == nil {
				g.log.Error("check the kept directory records", zap.Error(err))
			}
			return
		}
		for _, r := range kept {
			sum := sha256.Sum256(r.Value)
			if !g.dir.unverified(r.Key, sum) {
				continue
			}
			checked++
			// Only a record whose signer still passes (OpenKept) and whose
			// signature does not (Open) was written by someone else: one
			// whose signer was revoked since stays held, so that no older
			// record takes its key.
			_, verr := g.dir.verifier.Open(r.Value)
			if verr == nil {
				g.dir.verified(r.Key, sum)
				continue
			}
			if _, kerr := g.dir.verifier.OpenKept(r.Value); kerr != nil || !g.dir.dropKept(r.Key, r.Value) {
				continue
			}
			bad++
			g.obs.DirectoryRejected(RejectUnsigned)
			g.log.Error("a directory record kept in the store does not verify: dropped, the bucket's taken instead",
				zap.String("key", r.Key), zap.Error(verr))
			if err := g.store.ForgetDirectoryRecord(ctx, r.Key, r.Value); err != nil {
				g.log.Error("forget the kept directory record", zap.String("key", r.Key), zap.Error(err))
			}
			if v, err := g.bus.DirectoryRecord(ctx, r.Key); err == nil {
				g.applyDirectory(DirectoryUpdate{Key: r.Key, Value: v})
			}
		}
		if len(kept) < page {
			break
		}
		after = kept[len(kept)-1].Key
		select {
		case <-ctx.Done():
		case <-time.After(time.Since(work) * (keptCheckShare - 1)):
		}
	}
	if bad > 0 {
		g.log.Error("kept directory records that did not verify", zap.Int("records", bad))
	}
	if checked > 0 && ctx.Err() == nil {
		g.log.Info("kept directory records checked", zap.Int("records", checked), zap.Int("dropped", bad), zap.Duration("took", time.Since(start)))
	}
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
