// Package readme tests the documentation: the commands README.md shows in
// "Working with packets", "Running a gateway" and "The quarterly report",
// and the blocks of deploy/README.md marked to run on one machine, are run
// as written, in order, from a fresh temporary directory, and each must
// exit as its comment says ("# exit 1: …") or 0.
//
// What the test changes in the text, and only that:
//
//   - the well-known ports the README uses (8080, 9464, 4222, 8222) become
//     free ports, so that the test runs beside other tests and services;
//   - in deploy/README.md, /etc/lienthong, /var/lib and /var/backups move
//     under a temporary root, and the date of a backup ("$(date +%F)", and
//     the example restored, 2026-11-20) is one fixed day; systemctl and
//     runuser are stand-ins that start, stop and run as the units would
//     (see shims below): there is no systemd, and no user lienthong.
package readme

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/nettest"
)

// readmeSections are the sections of README.md whose sh blocks are run,
// all of them, in this order.
var readmeSections = []string{"Working with packets", "Running a gateway", "The quarterly report"}

// deployMarker, on the line before a fence in deploy/README.md, marks a
// block this test runs.
const deployMarker = "<!-- README test: runs on one machine -->"

// tools are the programs the blocks call besides lienthong and go.
var tools = []string{"bash", "curl", "jq", "xmlsec1", "tar", "sqlite3", "awk"}

func TestREADME(t *testing.T) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("LIENTHONG_REQUIRE_README") != "" {
				t.Fatalf("%s is needed to run the README's commands: %v", tool, err)
			}
			t.Skipf("%s is not installed: the README's commands are not run (LIENTHONG_REQUIRE_README makes this fail)", tool)
		}
	}
	root := moduleRoot(t)
	work := t.TempDir()
	linkSources(t, root, work)

	ports := map[string]string{}
	for _, p := range []string{"8080", "9464", "4222", "8222"} {
		ports[p] = strconv.Itoa(nettest.Port(t))
	}
	portRE := regexp.MustCompile(`\b(8080|9464|4222|8222)\b`)
	freePorts := func(s string) string {
		return portRE.ReplaceAllStringFunc(s, func(p string) string { return ports[p] })
	}

	readme := readFile(t, filepath.Join(root, "README.md"))
	var cmds []command
	for _, section := range readmeSections {
		blocks := blocksOf("README.md", readme, func(b block) bool { return b.section == section })
		if len(blocks) == 0 {
			t.Fatalf("README.md: no sh block in the section %q", section)
		}
		for _, b := range blocks {
			cmds = append(cmds, b.commands()...)
		}
	}
	for i := range cmds {
		cmds[i].text = freePorts(cmds[i].text)
	}
	// The README's commands build ./lienthong; deploy/README.md calls it
	// lienthong, as installed.
	env := testEnv(work)
	t.Run("README", func(t *testing.T) {
		runScript(t, work, env, "", cmds)
	})
	if t.Failed() {
		return
	}

	t.Run("deploy", func(t *testing.T) {
		deploy := readFile(t, filepath.Join(root, "deploy", "README.md"))
		blocks := blocksOf("deploy/README.md", deploy, func(b block) bool { return b.marked })
		if len(blocks) < 4 {
			t.Fatalf("deploy/README.md: %d blocks marked %q, want the backups, the store check and a restore", len(blocks), deployMarker)
		}
		sys := filepath.Join(work, "sys")
		api, ops := "127.0.0.1:"+strconv.Itoa(nettest.Port(t)), "127.0.0.1:"+strconv.Itoa(nettest.Port(t))
		moved := strings.NewReplacer(
			"/etc/lienthong", sys+"/etc/lienthong",
			"/var/", sys+"/var/",
			"$(date +%F)", "2026-11-20",
		)
		var cmds []command
		for _, b := range blocks {
			for _, c := range b.commands() {
				c.text = moved.Replace(c.text)
				cmds = append(cmds, c)
			}
		}
		shims := writeShims(t, work)
		denv := append(slices.Clone(env), "LT_SYS="+sys, "LT_OPS="+ops, "PATH="+shims+":"+work+":"+os.Getenv("PATH"))
		// What the installation in deploy/README.md leaves: the
		// configuration in /etc/lienthong, the data in /var/lib/lienthong,
		// the gateway started; then a document, to find after the restore.
		prologue := fmt.Sprintf(`set -e
mkdir -p %[1]s/var/lib/lienthong %[1]s/var/backups %[1]s/run
lienthong init -listen %[2]s -ops-listen %[3]s -host "000.00.12.H41=Sở Y tế tỉnh Nghệ An" -key-out %[1]s/dms.key %[1]s/etc/lienthong >/dev/null
sed -i 's|^  dataDir: data .*|  dataDir: %[1]s/var/lib/lienthong|' %[1]s/etc/lienthong/lienthong.yaml
systemctl start lienthong
lienthong edxml new -o %[1]s/letter.edxml docs/examples/gui-so-y-te.yaml
curl -fsS -H "Authorization: Bearer $(cat %[1]s/dms.key)" -H 'Content-Type: application/xml' --data-binary @%[1]s/letter.edxml http://%[2]s/api/v1/documents >/dev/null
set +e
`, sys, api, ops)
		// After the restore the gateway runs again on the store backed up,
		// the document in it.
		epilogue := fmt.Sprintf(`
n=$(curl -fsS -H "Authorization: Bearer $(cat %[1]s/dms.key)" 'http://%[2]s/api/v1/documents?direction=out' | jq '.documents | length')
[ "$n" = 1 ] || { echo "README test: after the restore the gateway lists $n outgoing documents, want 1" >&2; exit 1; }
systemctl stop lienthong
lienthong store check -db %[1]s/var/lib/lienthong/lienthong.db || { echo "README test: the restored store is not sound" >&2; exit 1; }
`, sys, api)
		runScript(t, work, denv, prologue, append(cmds, command{text: epilogue, raw: true}))
	})
}

// block is one fenced sh block of a Markdown file.
type block struct {
	file    string
	line    int    // of its first command line
	section string // the "## " heading it is under
	marked  bool   // the line before its fence is deployMarker
	lines   []string
}

// blocksOf returns the sh blocks of a Markdown file that keep says to keep.
func blocksOf(file string, md []byte, keep func(block) bool) []block {
	var out []block
	var cur *block
	section, prev := "", ""
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			if keep(*cur) {
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		case strings.TrimSpace(line) == "```sh":
			cur = &block{file: file, line: n + 1, section: section, marked: strings.TrimSpace(prev) == deployMarker}
		case strings.HasPrefix(line, "## "):
			section = strings.TrimSpace(strings.TrimPrefix(line, "## "))
		}
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	return out
}

// command is one shell command of a block, with its continuation lines.
type command struct {
	where string // file:line
	text  string
	want  int  // the exit status the README's comment gives ("# exit 1"), else 0
	bg    bool // it runs in the background (ends with &)
	raw   bool // the test's own lines, run as they are
}

var exitComment = regexp.MustCompile(`^#\s*exit (\d+)\b`)

// commands splits a block into commands: a line whose code ends with \,
// | or && goes on to the next line.
func (b block) commands() []command {
	var out []command
	var cur *command
	for i, line := range b.lines {
		code, comment := splitComment(line)
		if cur == nil {
			if strings.TrimSpace(code) == "" {
				continue
			}
			cur = &command{where: fmt.Sprintf("%s:%d", b.file, b.line+i)}
		}
		cur.text += line + "\n"
		if m := exitComment.FindStringSubmatch(strings.TrimSpace(comment)); m != nil {
			cur.want, _ = strconv.Atoi(m[1])
		}
		c := strings.TrimSpace(code)
		if strings.HasSuffix(c, "\\") || strings.HasSuffix(c, "|") || strings.HasSuffix(c, "&&") {
			continue
		}
		cur.bg = strings.HasSuffix(c, "&")
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// splitComment splits a shell line at its comment: a # outside quotes at
// the start or after a blank.
func splitComment(line string) (code, comment string) {
	var quote rune
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i], line[i:]
		}
	}
	return line, ""
}

// runScript runs the commands in one bash, in work, each checked for its
// exit status; then stops whatever they left running in the background.
func runScript(t *testing.T, work string, env []string, prologue string, cmds []command) {
	t.Helper()
	var script strings.Builder
	script.WriteString("set -o pipefail\n")
	script.WriteString(`__check() { if [ "$1" -ne "$2" ]; then echo "README test: $3: exit $1, want $2" >&2; exit 1; fi; }` + "\n")
	script.WriteString(prologue)
	for _, c := range cmds {
		if c.raw {
			script.WriteString(c.text)
			continue
		}
		fmt.Fprintf(&script, "echo %s\n", shellQuote("+ "+c.where+": "+strings.TrimSpace(strings.SplitN(c.text, "\n", 2)[0])))
		script.WriteString(c.text)
		if !c.bg {
			fmt.Fprintf(&script, "__check $? %d %s\n", c.want, shellQuote(c.where))
		}
	}
	path := filepath.Join(work, fmt.Sprintf("readme-%s.sh", strings.ReplaceAll(t.Name(), "/", "-")))
	if err := os.WriteFile(path, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := strings.TrimSuffix(path, ".sh") + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", path)
	cmd.Dir, cmd.Env = work, env
	// Its own process group: what it leaves in the background is stopped
	// with it. Output to a file, not a pipe, which background processes
	// would hold open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	if cmd.Process != nil {
		stopGroup(t, cmd.Process.Pid)
	}
	if err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("%v\n%s", err, tail(out, 8000))
	}
}

// shellQuote quotes s for bash as one word, expanding nothing.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stopGroup ends the process group pgid: SIGTERM, then SIGKILL after 30 s.
func stopGroup(t *testing.T, pgid int) {
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil {
		return // nothing left
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && groupAlive(pgid) {
		if time.Now().After(deadline) {
			t.Errorf("processes of the README's commands did not stop within 30 s of SIGTERM; killed")
			syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupAlive reports whether a process of group pgid is alive and not a
// zombie waiting for a parent that never reaps it (as in a container
// whose first process does not).
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …: comm may hold spaces.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		f := strings.Fields(string(rest))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return true
		}
	}
	return false
}

// writeShims writes the stand-ins for systemctl and runuser that
// deploy/README.md's blocks call, and returns their directory.
func writeShims(t *testing.T, work string) string {
	dir := filepath.Join(work, "shims")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shims := map[string]string{
		// The unit lienthong.service: serve with /etc/lienthong/lienthong.yaml;
		// start returns once /readyz says ready, stop once the process has
		// exited (SIGTERM, as systemd sends).
		"systemctl": `#!/bin/bash
set -e
pidfile="$LT_SYS/run/lienthong.pid"
case "$1 $2" in
"start lienthong")
  lienthong serve -config "$LT_SYS/etc/lienthong/lienthong.yaml" >>"$LT_SYS/run/lienthong.log" 2>&1 &
  echo $! >"$pidfile"
  curl -fsS --retry 60 --retry-connrefused --retry-delay 1 "http://$LT_OPS/readyz" >/dev/null ;;
"stop lienthong")
  [ -f "$pidfile" ] || exit 0
  pid=$(cat "$pidfile"); rm -f "$pidfile"
  kill -TERM "$pid" 2>/dev/null || exit 0
  for _ in $(seq 600); do
    state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null || true)
    [ -z "$state" ] || [ "$state" = Z ] && exit 0
    sleep 0.1
  done
  echo "systemctl (README test): lienthong did not stop within 60 s" >&2; exit 1 ;;
*) echo "systemctl (README test): $*: not a command this stand-in knows" >&2; exit 1 ;;
esac
`,
		// runuser -u USER -- COMMAND…: the test runs as one user.
		"runuser": `#!/bin/bash
[ "$1" = -u ] && [ "$3" = -- ] || { echo "runuser (README test): want -u USER -- COMMAND" >&2; exit 1; }
shift 3
exec "$@"
`,
	}
	for name, text := range shims {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testEnv is the environment the commands run in: this process's, without
// lienthong's own variables (a developer's LIENTHONG_API_KEY would change
// what the README's commands do), with the work directory on PATH.
func testEnv(work string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LIENTHONG_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+work+":"+os.Getenv("PATH"))
}

// linkSources makes the repository's sources visible in work, as symbolic
// links: go.mod, go.sum and every top-level directory except hidden ones
// and those the README's commands make (a developer's ./ca or ./gw from
// trying them by hand would make "pki init ca" refuse).
func linkSources(t *testing.T, root, work string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{"ca": true, "gw": true, "nats-data": true, "sys": true, "shims": true}
	for _, e := range entries {
		name := e.Name()
		if !(name == "go.mod" || name == "go.sum" || e.IsDir() && !strings.HasPrefix(name, ".") && !made[name]) {
			continue
		}
		if err := os.Symlink(filepath.Join(root, name), filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// moduleRoot is the directory of go.mod above this package.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func readFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tail is the end of a log, at most n bytes.
func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append([]byte("…\n"), b[len(b)-n:]...)
}
