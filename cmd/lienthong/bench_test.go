package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchJSON parses the one line of "bench -json" into a map, so that the
// test judges the keys a script reads, not the Go fields behind them.
func benchJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	line, rest, _ := strings.Cut(stdout, "\n")
	if strings.TrimSpace(rest) != "" {
		t.Fatalf("-json printed more than one line:\n%s", stdout)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("-json printed %q: %v", line, err)
	}
	return v
}

// wantPositive fails the test unless every path of v is a number > 0.
func wantPositive(t *testing.T, v any, paths ...[]any) {
	t.Helper()
	for _, p := range paths {
		if n, ok := dig(v, p...).(float64); !ok || n <= 0 {
			t.Errorf("%v: %v, want a number > 0", p, dig(v, p...))
		}
	}
}

// wantBool fails the test unless every path of v is a boolean.
func wantBool(t *testing.T, v any, paths ...[]any) {
	t.Helper()
	for _, p := range paths {
		if _, ok := dig(v, p...).(bool); !ok {
			t.Errorf("%v: %v, want true or false", p, dig(v, p...))
		}
	}
}

// TestBench_JSON: -json prints one line of JSON with every figure of the
// table, per face, and the run's parameters and machine.
func TestBench_JSON(t *testing.T) {
	r := run(t, nil, "bench", "-json", "-face", "api,vxp", "-n", "30", "-concurrency", "4", "-rate", "20", "-duration", "1s", "-size", "4096")
	r.wantCode(t, 0)
	v := benchJSON(t, r.stdout)
	if dig(v, "mode") != "throughput" || dig(v, "goVersion") == "" || dig(v, "version") == nil {
		t.Errorf("mode %v, goVersion %v, version %v", dig(v, "mode"), dig(v, "goVersion"), dig(v, "version"))
	}
	wantPositive(t, v, []any{"cpus"}, []any{"gomaxprocs"}, []any{"rawRsaSignPerSec"}, []any{"packetBytes"},
		[]any{"params", "n"}, []any{"params", "concurrency"}, []any{"params", "rate"}, []any{"params", "durationSeconds"}, []any{"params", "size"})
	if f := dig(v, "params", "faces"); !jsonEqual(t, f, []any{"api", "vxp"}) {
		t.Errorf("params.faces %v, want [api vxp]", f)
	}
	for i, face := range []string{"api", "vxp"} {
		if got := dig(v, "throughput", i, "face"); got != face {
			t.Errorf("throughput[%d].face %v, want %s", i, got, face)
		}
		if got := dig(v, "throughput", i, "docs"); got != 30.0 {
			t.Errorf("throughput[%d].docs %v, want 30", i, got)
		}
		wantPositive(t, v, []any{"throughput", i, "docsPerSec"}, []any{"throughput", i, "ratioToRawRsa"},
			[]any{"throughput", i, "p50Ms"}, []any{"throughput", i, "p99Ms"}, []any{"throughput", i, "maxMs"}, []any{"throughput", i, "targetDocsPerSec"},
			[]any{"throughput", i, "takenP50Ms"}, []any{"throughput", i, "takenP99Ms"}, []any{"throughput", i, "targetRatio"}, []any{"throughput", i, "targetTakenP99Ms"})
		wantBool(t, v, []any{"throughput", i, "met"}, []any{"throughput", i, "ratioMet"}, []any{"throughput", i, "takenMet"})
		if b, ok := dig(v, "throughput", i, "busy").(float64); !ok || b < 0 {
			t.Errorf("throughput[%d].busy %v, want a count", i, dig(v, "throughput", i, "busy"))
		}
	}
	wantPositive(t, v, []any{"vxpToApi", "value"}, []any{"vxpToApi", "target"},
		[]any{"latency", "rate"}, []any{"latency", "docs"}, []any{"latency", "p50Ms"}, []any{"latency", "p99Ms"}, []any{"latency", "maxMs"}, []any{"latency", "targetP99Ms"})
	wantBool(t, v, []any{"vxpToApi", "met"}, []any{"latency", "met"})
	if dig(v, "latency", "face") != "api" {
		t.Errorf("latency.face %v, want api", dig(v, "latency", "face"))
	}
	if dig(v, "large") != nil {
		t.Errorf("large %v in a throughput run", dig(v, "large"))
	}
}

// TestBench_LargeFlags: -large takes none of the throughput runs' flags,
// and -large-size goes only with it.
func TestBench_LargeFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-large", "-n", "10"},
		{"bench", "-large", "-face", "vxp"},
		{"bench", "-large", "-large-size", "10"},
		{"bench", "-large-size", "2097152"},
	} {
		r := run(t, nil, args...)
		r.wantCode(t, exitUsage)
		r.wantStderr(t, "-large")
	}
}

// TestBench_Large runs the built command's -large mode with a 2 MB
// attachment: each gateway runs in a process of its own, so the bench
// must be the real binary, not this test. It reports both gateways' peak
// RSS and removes its temporary directory.
func TestBench_Large(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs two gateway processes")
	}
	bin := buildLienthong(t, t.TempDir())
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "-large", "-large-size", "2097152", "-json")
	// At the timeout, SIGTERM, so that the bench stops its gateways;
	// killed after a grace.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	// Its temporary directory, and its children's, in one the test
	// looks into afterwards.
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lienthong bench -large: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	v := benchJSON(t, stdout.String())
	if dig(v, "mode") != "large" || dig(v, "large", "attachmentBytes") != 2097152.0 || dig(v, "params", "largeSize") != 2097152.0 {
		t.Errorf("mode %v, large.attachmentBytes %v, params.largeSize %v", dig(v, "mode"), dig(v, "large", "attachmentBytes"), dig(v, "params", "largeSize"))
	}
	if n, _ := dig(v, "large", "packetBytes").(float64); n < 2097152*4/3 {
		t.Errorf("large.packetBytes %v, want the attachment in base64 at least", dig(v, "large", "packetBytes"))
	}
	wantPositive(t, v, []any{"cpus"}, []any{"large", "acceptedMs"}, []any{"large", "storedMs"}, []any{"large", "statusBackMs"}, []any{"large", "targetStoredMs"})
	wantBool(t, v, []any{"large", "storedMet"})
	for i, role := range []string{"sender", "recipient"} {
		if got := dig(v, "large", "gateways", i, "role"); got != role {
			t.Errorf("large.gateways[%d].role %v, want %s", i, got, role)
		}
		wantPositive(t, v, []any{"large", "gateways", i, "peakRssBytes"}, []any{"large", "gateways", i, "ratioToPacket"}, []any{"large", "gateways", i, "targetRatio"})
		wantBool(t, v, []any{"large", "gateways", i, "met"})
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in the temporary directory: %s", e.Name())
	}
}
