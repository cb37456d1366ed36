// Package test holds the end-to-end tests of lienthong: gateways run as
// separate processes (the built binary, each with its own configuration and
// data directory) on one external nats-server with JetStream, all on
// loopback, and are driven only through their HTTP API, as a
// document-management system would drive them.
//
// TestMain builds the two binaries once per run: lienthong from this module
// and nats-server from the module version go.mod requires.
package test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The binaries TestMain built.
var (
	lienthongBin  string
	natsServerBin string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "lienthong-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	lienthongBin = filepath.Join(dir, "lienthong")
	natsServerBin = filepath.Join(dir, "nats-server")
	start := time.Now()
	for _, b := range []struct{ out, pkg string }{
		{lienthongBin, "./cmd/lienthong"},
		{natsServerBin, "github.com/nats-io/nats-server/v2"},
	} {
		if err := goBuild(root, b.out, b.pkg); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built lienthong and nats-server in %s\n", time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// moduleRoot finds the directory of this module's go.mod, from the
// working directory (the package directory under go test) upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/lienthong/lienthong\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the go.mod of github.com/lienthong/lienthong is not above the working directory")
		}
		dir = parent
	}
}

// goBuild builds pkg into out, from the module root.
func goBuild(root, out, pkg string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if goroot := os.Getenv("GOROOT"); goroot != "" {
			goCmd = filepath.Join(goroot, "bin", "go")
		} else {
			return fmt.Errorf("the go command is not on PATH: %w", err)
		}
	}
	cmd := exec.Command(goCmd, "build", "-o", out, pkg)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -o %s %s: %w\n%s", out, pkg, err, strings.TrimSpace(output.String()))
	}
	return nil
}
