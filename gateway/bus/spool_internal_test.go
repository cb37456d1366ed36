package bus

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/lienthong/lienthong/gateway/internal/osmem"
)

// spoolBus opens a Bus on a server of its own, with its spools in a
// directory of the test's, and stores a packet of size random bytes in
// StreamLarge. It returns the packet, its headers and hex SHA-256.
func spoolBus(t *testing.T, size int) (b *Bus, dir string, packet []byte, h nats.Header, digest string) {
	t.Helper()
	srv, err := StartServer(ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	dir = filepath.Join(t.TempDir(), "spool")
	b, err = Open(t.Context(), Options{URL: srv.ClientURL(), SpoolDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	packet = make([]byte, size)
	rand.Read(packet)
	sum := sha256.Sum256(packet)
	digest = hex.EncodeToString(sum[:])
	h = nats.Header{}
	if err := b.putLarge(t.Context(), digest, packet, h); err != nil {
		t.Fatal(err)
	}
	return b, dir, packet, h, digest
}

// TestLargeSpool_Removed: getLarge writes the chunks to a spool file in
// Options.SpoolDir, private to the process (0600), and removes it
// whatever the fetch's outcome — the packet read, a chunk missing, a
// chunk of the wrong size, the context ended mid-fetch.
func TestLargeSpool_Removed(t *testing.T) {
	// More chunks than the window, so that some are not started when the
	// context ends.
	const size = (largeWindow + 4) * LargeChunk
	b, dir, packet, h, digest := spoolBus(t, size)
	for _, tc := range []struct {
		name    string
		size    int  // the size the headers claim
		cancel  bool // the context ends once chunk 1 is spooled
		want    error
		spooled bool // a chunk surely reaches the spool
	}{
		{name: "read", size: size, spooled: true},
		{name: "chunk missing", size: size + 100, want: ErrPacketMissing},
		{name: "chunk of the wrong size", size: size - 100, want: ErrPacketMismatch},
		{name: "cancelled", size: size, cancel: true, want: context.Canceled, spooled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var (
				mu   sync.Mutex
				seen = make(map[string]os.FileMode)
			)
			b.spooled = func(_ context.Context, path string, i int) {
				fi, err := os.Stat(path)
				if err != nil {
					t.Errorf("chunk %d spooled to %s: %v", i, path, err)
					return
				}
				mu.Lock()
				seen[path] = fi.Mode()
				mu.Unlock()
				if tc.cancel {
					// Each chunk holds its slot until the context ends, so
					// that the chunks past the window are not started.
					if i == 1 {
						cancel()
					}
					<-ctx.Done()
				}
			}
			defer func() { b.spooled = nil }()
			claim := maps.Clone(h) // Set replaces a value's slice: h keeps its own
			claim.Set(HeaderSize, strconv.Itoa(tc.size))
			got, err := b.getLarge(ctx, claim, digest)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("getLarge: %v", err)
			case tc.want == nil && string(got) != string(packet):
				t.Fatalf("getLarge: %d bytes, not the packet's %d", len(got), len(packet))
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("getLarge = %d bytes, %v; want %v", len(got), err, tc.want)
			}
			if tc.spooled && len(seen) == 0 {
				t.Fatal("no chunk was spooled")
			}
			for path, mode := range seen {
				if filepath.Dir(path) != dir {
					t.Errorf("spool %s is not in the spool directory %s", path, dir)
				}
				if mode.Perm() != 0o600 {
					t.Errorf("spool %s has mode %v, want 0600", path, mode.Perm())
				}
			}
			if len(seen) > 1 {
				t.Errorf("%d spools for one fetch", len(seen))
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("%s left in the spool directory", e.Name())
			}
		})
	}
}

// TestLargeSpool_ClaimsBeforeSpool: a message's claims are checked before
// a spool is created, a size above MaxPacketSize included: here the spool
// directory is a file, so that a spool created would fail otherwise.
func TestLargeSpool_ClaimsBeforeSpool(t *testing.T) {
	b, dir, _, h, digest := spoolBus(t, LargeChunk+1)
	notDir := filepath.Join(dir, "a-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b.opts.SpoolDir = notDir
	b.opts.MaxPacketSize = LargeChunk + 1
	for _, tc := range []struct {
		name, header, value string
	}{
		{"size above the largest packet", HeaderSize, strconv.Itoa(LargeChunk + 2)},
		{"name of another packet", HeaderLarge, "gateway." + digest[1:] + "0.1"},
		{"key", HeaderKey, "AAAA"},
	} {
		claim := maps.Clone(h) // Set replaces a value's slice: h keeps its own
		claim.Set(tc.header, tc.value)
		if _, err := b.getLarge(t.Context(), claim, digest); !errors.Is(err, ErrPacketMismatch) {
			t.Errorf("%s: getLarge = %v, want ErrPacketMismatch before a spool is created", tc.name, err)
		}
	}
	// The packet itself gets as far as the spool.
	if _, err := b.getLarge(t.Context(), h, digest); err == nil || errors.Is(err, ErrPacketMismatch) {
		t.Errorf("getLarge with the spool directory a file = %v, want the spool's error", err)
	}
}

// TestLargeSpool_StaleRemovedAtOpen: Open makes Options.SpoolDir (0700)
// and removes the spools a stopped process left in it, and nothing else.
func TestLargeSpool_StaleRemovedAtOpen(t *testing.T) {
	srv, err := StartServer(ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })

	fresh := filepath.Join(t.TempDir(), "data", "spool")
	b, err := Open(t.Context(), Options{URL: srv.ClientURL(), SpoolDir: fresh}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if fi, err := os.Stat(fresh); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the spool directory after Open: %v, %v; want a directory, 0700", fi, err)
	}

	dir := t.TempDir()
	stale := []string{"lt-large-123456.spool", "lt-large-1.spool"}
	kept := []string{"lt-large-1.spool.keep", "notes.txt", "lt-large-.spoo"}
	for _, name := range append(append([]string(nil), stale...), kept...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "lt-large-2.spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, "lt-large-2.spool") // a directory, not a spool
	b, err = Open(t.Context(), Options{URL: srv.ClientURL(), SpoolDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale spool %s after Open: %v, want it removed", name, err)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s after Open: %v, want it kept", name, err)
		}
	}
}

// TestLargeSpool_Release: a packet of osmem.Min bytes or more is
// read from its spool once the heap's free pages are given back (a
// forced collection), a smaller one without.
func TestLargeSpool_Release(t *testing.T) {
	b, _, packet, h, digest := spoolBus(t, osmem.Min)
	small := packet[:osmem.Min-1]
	sum := sha256.Sum256(small)
	smallDigest := hex.EncodeToString(sum[:])
	smallH := nats.Header{}
	if err := b.putLarge(t.Context(), smallDigest, small, smallH); err != nil {
		t.Fatal(err)
	}
	forced := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	for _, tc := range []struct {
		name    string
		h       nats.Header
		digest  string
		release bool
	}{
		{"below", smallH, smallDigest, false},
		{"at", h, digest, true},
		// Within osmem.Every of the last, but the fetch before allocated
		// more than twice osmem.Min (its chunks' copies and its buffer):
		// the limiter lets it through (osmem's TestLimiter holds the
		// bound itself).
		{"again", h, digest, true},
	} {
		before := forced()
		if _, err := b.getLarge(t.Context(), tc.h, tc.digest); err != nil {
			t.Fatalf("%s: getLarge: %v", tc.name, err)
		}
		if got := forced() > before; got != tc.release {
			t.Errorf("%s osmem.Min: free pages given back %v, want %v", tc.name, got, tc.release)
		}
	}
}
