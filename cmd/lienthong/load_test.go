package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxPackageLoad is the most clock time one of the module's packages may
// take to initialise. Building a few tables is well under a millisecond;
// the bcrypt hash gateway/web made when it loaded took 65-125 ms, added to
// every run of the binary, "edxml validate" as much as "serve".
const maxPackageLoad = 20 * time.Millisecond

// initTrace is a line of GODEBUG=inittrace=1: a package's initialisation
// and the clock time it took.
var initTrace = regexp.MustCompile(`^init (\S+) @\S+ ms, ([0-9.]+) ms clock`)

// TestPackageLoad: no package of the module does work when it loads
// (DESIGN.md, "no init() side effects"). It runs this test binary again,
// with no test, as the runtime traces each package's initialisation, and
// fails on any of the module's packages that took longer than
// maxPackageLoad. The time is the clock's, which a busy machine
// stretches: a package fails only if it is slow in each of three runs.
func TestPackageLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	var slow map[string]time.Duration
	for run := 0; run < 3 && (run == 0 || len(slow) > 0); run++ {
		took := traceLoad(t)
		next := map[string]time.Duration{}
		for pkg, d := range took {
			if _, before := slow[pkg]; d > maxPackageLoad && (run == 0 || before) {
				next[pkg] = d
			}
		}
		slow = next
	}
	for pkg, d := range slow {
		t.Errorf("package %s took %v to load (at most %v): work done when it loads is paid by every run of lienthong; do it in a constructor, or lazily",
			pkg, d, maxPackageLoad)
	}
}

// traceLoad runs the test binary with no test and returns how long each
// of the module's packages took to initialise.
func traceLoad(t *testing.T) map[string]time.Duration {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s -test.run=^$: %v\n%s", os.Args[0], err, stderr.Bytes())
	}
	took := map[string]time.Duration{}
	for sc := bufio.NewScanner(&stderr); sc.Scan(); {
		m := initTrace.FindStringSubmatch(sc.Text())
		if m == nil || !modulePackage(m[1]) {
			continue
		}
		ms, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		took[m[1]] = time.Duration(ms * float64(time.Millisecond))
	}
	if len(took) == 0 {
		t.Fatalf("no initialisation of the module's packages traced:\n%s", stderr.Bytes())
	}
	return took
}

// modulePackage says whether path is a package of this module.
func modulePackage(path string) bool {
	const module = "github.com/lienthong/lienthong"
	return path == module || strings.HasPrefix(path, module+"/")
}
