package bus

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// PutRecord puts a signed directory record (the wire form
// signing.Signer.SignRecord makes) in LT_DIRECTORY under key (see
// gateway.DirectoryRecord.DirectoryKey). It is the administrator's act: a
// gateway's credentials may not write the directory, and gateways apply
// only records an administrator signed.
func (b *Bus) PutRecord(ctx context.Context, key string, record []byte) error {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	if _, err := b.directory.Put(ctx, key, record); err != nil {
		return fmt.Errorf("bus: put directory record %s in %s: %w", key, BucketDirectory, err)
	}
	return nil
}

// DirectoryRecord returns the record stored under key in LT_DIRECTORY, as
// stored (not verified), or an error wrapping jetstream.ErrKeyNotFound.
func (b *Bus) DirectoryRecord(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	e, err := b.directory.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("bus: get directory record %s from %s: %w", key, BucketDirectory, err)
	}
	return e.Value(), nil
}

// WatchDirectory calls fn with every key now in LT_DIRECTORY and returns
// once they were passed (or with an error if ctx ends first, or none comes
// for Options.Timeout). Then, in a goroutine, it calls fn
// with every change until ctx is done or the Bus is closed: a deleted or
// purged key comes with Deleted set. fn is called for the initial entries
// from several goroutines at once (one per core: a national directory is
// 111,000 signatures to check), then from one goroutine at a time. The values are passed as stored; the gateway's Directory judges
// them.
//
// With held, the watcher reads the bucket's revisions only (MetaOnly): a
// key whose revision held says the gateway has is skipped, the others'
// values are fetched — at the national size, a restart reads a few MB of
// revisions instead of the 240 MB of records it kept.
func (b *Bus) WatchDirectory(ctx context.Context, held func(key string, revision uint64) bool, fn func(gateway.DirectoryUpdate)) error {
	// The revisions handed out carry the bucket's epoch (see
	// revisionTag): without it nothing is skipped, and none is handed
	// out.
	var total uint64
	var tag uint64
	if st, err := b.directory.Status(ctx); err == nil {
		total = st.Values()
		if kst, ok := st.(*jetstream.KeyValueBucketStatus); ok && kst.StreamInfo() != nil {
			tag = revisionTag(kst.StreamInfo().Created)
		}
	}
	if tag == 0 {
		b.log.Warn("the directory bucket's creation is unknown: its records are read whole, their revisions not kept")
		held = nil
	}
	wctx, cancel := context.WithCancel(ctx)
	var opts []jetstream.WatchOpt
	if held != nil {
		opts = append(opts, jetstream.MetaOnly())
	}
	w, err := b.directory.WatchAll(wctx, opts...)
	if err != nil {
		cancel()
		return fmt.Errorf("bus: watch %s: %w", BucketDirectory, err)
	}
	stop := func() {
		stopWatcher(w)
		cancel()
	}
	// The initial entries may be the national directory's 111,000: what
	// bounds their wait is a pause of Options.Timeout with none coming (or
	// ctx), not a time for all of them; the progress is logged.
	idle := time.NewTimer(b.opts.Timeout)
	defer idle.Stop()
	// The initial entries are judged on every core at once (each a
	// signature to check, unless the gateway holds the very bytes): keys
	// are distinct among them, and the directory is safe for concurrent
	// use.
	initial := make(chan jetstream.KeyValueEntry, 256)
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for e := range initial {
				b.deliverDirectory(wctx, e, tag, held, fn)
			}
		}()
	}
	finish := func() {
		close(initial)
		workers.Wait()
	}
	start, lastLog := time.Now(), time.Now()
	n := 0
	var lastRev uint64
	for done := false; !done; {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				finish()
				stop()
				return fmt.Errorf("bus: watch %s: the watcher stopped after %d initial entries", BucketDirectory, n)
			case e == nil:
				done = true
			default:
				n++
				lastRev = max(lastRev, e.Revision())
				initial <- e
				idle.Reset(b.opts.Timeout)
				if time.Since(lastLog) > 5*time.Second {
					b.log.Info("reading the directory", zap.Int("entries", n), zap.Uint64("of", total), zap.Duration("took", time.Since(start)))
					lastLog = time.Now()
				}
			}
		case <-idle.C:
			finish()
			stop()
			return fmt.Errorf("bus: watch %s: no initial entry for %s after %d of %d", BucketDirectory, b.opts.Timeout, n, total)
		case <-ctx.Done():
			finish()
			stop()
			return fmt.Errorf("bus: watch %s: initial entries (%d of %d): %w", BucketDirectory, n, total, ctx.Err())
		case <-b.connClosed:
			finish()
			stop()
			return fmt.Errorf("bus: watch %s: the connection is closed", BucketDirectory)
		}
	}
	finish()
	if total > 1000 {
		b.log.Info("directory read", zap.Int("entries", n), zap.Duration("took", time.Since(start)))
	}
	if held != nil {
		// The changes from here on come with their values: a watcher of
		// revisions would need a fetch for each, and one failing would
		// miss the change until the next start.
		stopWatcher(w)
		var opts []jetstream.WatchOpt
		if lastRev > 0 {
			opts = append(opts, jetstream.ResumeFromRevision(lastRev+1))
		}
		if w, err = b.directory.WatchAll(wctx, opts...); err != nil {
			cancel()
			return fmt.Errorf("bus: watch %s from revision %d: %w", BucketDirectory, lastRev+1, err)
		}
		held = nil
	}
	go func() {
		defer stop()
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					b.deliverDirectory(wctx, e, tag, held, fn)
				}
			case <-wctx.Done():
				return
			case <-b.connClosed:
				return
			}
		}
	}()
	return nil
}

// stopWatcher stops w and reads what is left of its updates, so that the
// watcher's delivery, which blocks on a full channel, can end and close
// the channel.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}

// deliverDirectory passes one directory KV entry to fn. From a watcher of
// revisions only (held not nil), an entry held has is skipped, and the
// key's latest value is fetched for another.
func (b *Bus) deliverDirectory(ctx context.Context, e jetstream.KeyValueEntry, tag uint64, held func(string, uint64) bool, fn func(gateway.DirectoryUpdate)) {
	op := e.Operation()
	deleted := op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge
	if held != nil && !deleted {
		if held(e.Key(), tagged(tag, e.Revision())) {
			return
		}
		// The key's latest value (a gateway may read a key, not a
		// stream sequence): the revision, or a newer one whose own
		// update then comes held.
		gctx, cancel := b.deadline(ctx)
		v, err := b.directory.Get(gctx, e.Key())
		cancel()
		if err != nil {
			b.log.Warn("directory record not read; it is read again at the next start", zap.String("key", e.Key()), zap.Error(err))
			return
		}
		e = v
	}
	fn(gateway.DirectoryUpdate{Key: e.Key(), Value: e.Value(), Deleted: deleted, Revision: tagged(tag, e.Revision())})
}

// A directory record's revision, as the bus hands it out, is the bucket's
// revision of it (the low 48 bits) tagged with the bucket's epoch (the 15
// above, so that it stays a positive int64 as SQLite keeps it): a hash of
// when LT_DIRECTORY was created. A bucket made again
// — a hub rebuilt, the directory published anew — numbers its revisions
// from 1 again, and a gateway comparing bare revisions with those it kept
// would skip a key whose new value happens to have its old number. Tagged,
// the revisions of another bucket differ (but for one chance in 32,767),
// and the gateway reads their values again once. 0 is "not known".
const revisionBits = 48

// revisionTag is the epoch tag of a bucket created at created, never 0.
func revisionTag(created time.Time) uint64 {
	if created.IsZero() {
		return 0
	}
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(created.UnixNano()))
	h.Write(b[:])
	return (h.Sum64()%0x7FFF + 1) << revisionBits
}

// tagged is revision rev of the bucket tagged tag; 0 when it is not
// known or does not fit.
func tagged(tag, rev uint64) uint64 {
	if tag == 0 || rev == 0 || rev >= 1<<revisionBits {
		return 0
	}
	return tag | rev
}

// Heartbeat puts the gateway's heartbeat in LT_GATEWAYS under its id
// (with the characters outside [A-Za-z0-9_-] replaced by '_'), as JSON.
// A heartbeat not renewed within Options.BeatTTL expires.
func (b *Bus) Heartbeat(ctx context.Context, h gateway.GatewayBeat) error {
	key := sanitize(h.Gateway)
	if key == "" {
		return fmt.Errorf("bus: heartbeat: a gateway id is required")
	}
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("bus: heartbeat of %s: %w", h.Gateway, err)
	}
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	if _, err := b.gateways.Put(ctx, key, data); err != nil {
		return fmt.Errorf("bus: heartbeat of %s in %s: %w", h.Gateway, BucketGateways, err)
	}
	return nil
}

// Gateways returns the latest heartbeat of every gateway in LT_GATEWAYS,
// sorted by gateway id. Heartbeats that cannot be read are logged and
// skipped.
func (b *Bus) Gateways(ctx context.Context) ([]gateway.GatewayBeat, error) {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	w, err := b.gateways.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("bus: list %s: %w", BucketGateways, err)
	}
	defer stopWatcher(w)
	var out []gateway.GatewayBeat
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("bus: list %s: the watcher stopped", BucketGateways)
			}
			if e == nil {
				slices.SortFunc(out, func(x, y gateway.GatewayBeat) int { return strings.Compare(x.Gateway, y.Gateway) })
				return out, nil
			}
			var h gateway.GatewayBeat
			if err := json.Unmarshal(e.Value(), &h); err != nil {
				b.log.Warn("unreadable heartbeat skipped", zap.String("key", e.Key()), zap.Error(err))
				continue
			}
			if sanitize(h.Gateway) != e.Key() {
				// A gateway writes only its own key: what it says there
				// of another gateway is not that gateway's heartbeat.
				b.log.Warn("heartbeat of another gateway than its key skipped", zap.String("key", e.Key()), zap.String("gateway", h.Gateway))
				continue
			}
			out = append(out, h)
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: list %s: %w", BucketGateways, ctx.Err())
		}
	}
}

// DirectoryUnder calls fn with the key and the value, as stored (not
// verified), of every agency record in LT_DIRECTORY at or under root: a
// province's few thousand of the national 111,000, read by one filtered
// watch rather than key by key. It stops at fn's first error.
func (b *Bus) DirectoryUnder(ctx context.Context, root envelope.AgencyCode, fn func(key string, value []byte) error) error {
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	w, err := b.directory.WatchFiltered(ctx, []string{root.Tokens(), root.Tokens() + ".>"}, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("bus: read %s under %s: %w", BucketDirectory, root, err)
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return fmt.Errorf("bus: read %s under %s: the watcher stopped", BucketDirectory, root)
			case e == nil:
				return nil
			}
			if err := fn(e.Key(), e.Value()); err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("bus: read %s under %s: %w", BucketDirectory, root, ctx.Err())
		}
	}
}
