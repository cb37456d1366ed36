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
// maxPackageLoad.
func TestPackageLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s -test.run=^$: %v\n%s", os.Args[0], err, stderr.Bytes())
	}
	seen := 0
	for sc := bufio.NewScanner(&stderr); sc.Scan(); {
		m := initTrace.FindStringSubmatch(sc.Text())
		if m == nil || !modulePackage(m[1]) {
			continue
		}
		seen++
		ms, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if took := time.Duration(ms * float64(time.Millisecond)); took > maxPackageLoad {
			t.Errorf("package %s took %v to load (at most %v): work done when it loads is paid by every run of lienthong; do it in a constructor, or lazily",
				m[1], took, maxPackageLoad)
		}
	}
	if seen == 0 {
		t.Fatalf("no initialisation of the module's packages traced:\n%s", stderr.Bytes())
	}
}

// modulePackage says whether path is a package of this module.
func modulePackage(path string) bool {
	const module = "github.com/lienthong/lienthong"
	return path == module || strings.HasPrefix(path, module+"/")
}
