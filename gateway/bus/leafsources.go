package bus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A source across a leaf node's link stalls silently when the hub's or
// the leaf's answers to its JetStream requests do not reach it: a node
// without the feature flag js_api_reply_v2 asks for answers on subjects
// the leaf node's permissions refuse (LeafPermissions), or the link is
// down. nats-server then retries for ever and reports, in the stream's
// info, the source never heard from (Active -1) or not heard from since
// (Active, the time since its last message or heartbeat, once a second),
// or an error (Error: its consumer's set-up failed, or its flow-control
// replies do not reach the consumer). Its packets wait at the source
// stream, which keeps them only for its MaxAge: checkLinkSources says so
// after SourceLeaf and AssignLeaf, and Status lists such sources.

// ErrLeafSourceInactive is returned by SourceLeaf and AssignLeaf, their
// work done, when a stream's source across the leaf node's link is not
// heard from within a few seconds, or reports an error: likely the
// feature flag js_api_reply_v2 missing on a hub or leaf node, or the link
// down. Its packets wait at the source stream only for its MaxAge.
var ErrLeafSourceInactive = fmt.Errorf("bus: a stream's source across a leaf node's link is not active")

// sourceStale is how long a source may go unheard before it counts as
// stalled: its consumer sends a heartbeat every second.
const sourceStale = 30 * time.Second

// sourceCheckWait bounds how long SourceLeaf and AssignLeaf wait for the
// sources they set up to be heard from.
const sourceCheckWait = 5 * time.Second

// sourceProblem says what is wrong with a source, or "".
func sourceProblem(s *jetstream.StreamSourceInfo) string {
	switch {
	case s.Error != nil:
		return "error: " + s.Error.Error()
	case s.Active < 0:
		return "never heard from"
	case s.Active > sourceStale:
		return fmt.Sprintf("not heard from for %s", s.Active.Round(time.Second))
	}
	return ""
}

// LinkSourceCause is what a source across a leaf node's link that is not
// heard from most likely says.
const LinkSourceCause = "the feature flag js_api_reply_v2 is likely missing on a hub or leaf node (deploy/nats/README.md: set it on every node), or the leaf node's link is down"

// checkLinkSources waits, up to sourceCheckWait, for the sources of stream
// in js whose stream is from, in domain from, to be heard from with no
// error; else it returns ErrLeafSourceInactive naming them.
func checkLinkSources(ctx context.Context, js jetstream.JetStream, where, stream, from, domain string) error {
	deadline := time.Now().Add(sourceCheckWait)
	for {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return fmt.Errorf("%s stream %s: %w", where, stream, err)
		}
		var bad []string
		for _, s := range st.CachedInfo().Sources {
			if s == nil || s.Name != from || s.External == nil || s.External.APIPrefix != apiPrefix(domain) {
				continue
			}
			if p := sourceProblem(s); p != "" {
				bad = append(bad, fmt.Sprintf("%s from %s (%s, lag %d)", s.Name, domain, p, s.Lag))
			}
		}
		if len(bad) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s stream %s: source %s after %s: %s; its packets wait at the source stream only for its MaxAge",
				ErrLeafSourceInactive, where, stream, strings.Join(bad, ", "), sourceCheckWait, LinkSourceCause)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
