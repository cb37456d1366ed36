package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// PutAgency puts a directory entry in LT_DIRECTORY under the tokens of its
// code (read leniently; the entry's Code is rewritten to the canonical
// form), as JSON.
func (b *Bus) PutAgency(ctx context.Context, a gateway.Agency) error {
	code, err := envelope.ParseAgencyCode(a.Code, envelope.CodeLenient)
	if err != nil {
		return fmt.Errorf("bus: put agency: %w", err)
	}
	a.Code = code.String()
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("bus: put agency %s: %w", a.Code, err)
	}
	ctx, cancel := b.deadline(ctx)
	defer cancel()
	if _, err := b.directory.Put(ctx, code.Tokens(), data); err != nil {
		return fmt.Errorf("bus: put agency %s in %s: %w", a.Code, BucketDirectory, err)
	}
	return nil
}

// WatchDirectory calls fn with every entry now in LT_DIRECTORY and returns
// once they were passed (or with an error if they do not all come within
// ctx's deadline or Options.Timeout). Then, in a goroutine, it calls fn
// with every change until ctx is done or the Bus is closed: a deleted or
// purged entry comes with Deleted set and only its Code. fn is called from
// one goroutine at a time. Entries that cannot be read are logged and
// skipped.
func (b *Bus) WatchDirectory(ctx context.Context, fn func(gateway.Agency)) error {
	wctx, cancel := context.WithCancel(ctx)
	w, err := b.directory.WatchAll(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("bus: watch %s: %w", BucketDirectory, err)
	}
	stop := func() {
		stopWatcher(w)
		cancel()
	}
	initial, icancel := b.deadline(ctx)
	defer icancel()
	n := 0
	for done := false; !done; {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				stop()
				return fmt.Errorf("bus: watch %s: the watcher stopped after %d initial entries", BucketDirectory, n)
			case e == nil:
				done = true
			default:
				n++
				b.deliverAgency(e, fn)
			}
		case <-initial.Done():
			stop()
			return fmt.Errorf("bus: watch %s: initial entries (%d so far): %w", BucketDirectory, n, initial.Err())
		case <-b.connClosed:
			stop()
			return fmt.Errorf("bus: watch %s: the connection is closed", BucketDirectory)
		}
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
					b.deliverAgency(e, fn)
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

// deliverAgency passes one directory KV entry to fn.
func (b *Bus) deliverAgency(e jetstream.KeyValueEntry, fn func(gateway.Agency)) {
	if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
		code := e.Key()
		if c, err := envelope.ParseAgencyCode(e.Key(), envelope.CodeAny); err == nil {
			code = c.String()
		}
		fn(gateway.Agency{Code: code, Deleted: true})
		return
	}
	var a gateway.Agency
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		b.log.Warn("unreadable directory entry skipped", zap.String("key", e.Key()), zap.Uint64("revision", e.Revision()), zap.Error(err))
		return
	}
	fn(a)
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
			out = append(out, h)
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: list %s: %w", BucketGateways, ctx.Err())
		}
	}
}
