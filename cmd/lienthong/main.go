// Command lienthong is the edge gateway of the Vietnamese government
// document axis (trục liên thông văn bản): it exchanges signed edXML packets
// between agencies and tracks every document's processing status.
//
// Run "lienthong help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
)

func main() {
	ctx, stop := notifyShutdown(context.Background(), os.Stderr, os.Exit)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(m.exitCode(err))
}

// notifyShutdown returns a context that ends at the first SIGINT or
// SIGTERM, with the signal in its cause, so that the command stops
// gracefully (serve drains its work, which takes up to
// gateway.shutdownTimeout). A second one says the operator will not wait:
// it writes a line to stderr and calls exit at once with 128 + the
// signal's number (130 for SIGINT, 143 for SIGTERM), the status a shell
// gives a process killed by it. stop ends the watch.
func notifyShutdown(parent context.Context, stderr io.Writer, exit func(int)) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	// Room for both signals, so that a second one sent at once is not
	// dropped while the first is handled.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("signal %s", s))
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			writeError(stderr, fmt.Sprintf("Nhận tín hiệu dừng thứ hai (%s) trong lúc đang dừng êm: thoát ngay, không chờ dừng xong.", s),
				fmt.Sprintf("second signal (%s) during the graceful shutdown: exiting at once, without finishing it", s), "")
			code := exitTrouble
			if n, ok := s.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			exit(code)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel(context.Canceled)
		})
	}
}

// Main is the program: its streams, and the dispatch to subcommands. Tests
// run it in-process with their own streams.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// cmd is the command running, as "edxml sign", for the sentence of
	// an error no command gave one (errors.go).
	cmd string
}

// NewMain returns a Main on the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, m *Main, args []string) error
}

func (m *Main) commands() []command {
	return []command{
		{"bench", "measure throughput and latency end to end on this machine", runBench},
		{"demo", "run a self-contained demonstration (needs nothing else)", runDemo},
		{"directory", "the administrator's signed directory: put, remove, import, sign, export, show", runDirectory},
		{"edxml", "inspect, validate and build edXML packets", runEdxml},
		{"hash-password", "make the bcrypt hash of a clerk's password (from stdin)", runHashPassword},
		{"init", "make a runnable single gateway in a new directory (CA, keys, API key, clerk)", runInit},
		{"nats", "prepare a NATS cluster: a gateway's NKey and permissions, the streams", runNATS},
		{"pki", "development PKI: a CA, agency certificates, revocation", runPKI},
		{"report", "the quarterly interconnection report (Section III); submit, summary", runReport},
		{"serve", "run a gateway (see -help for its configuration)", runServe},
		{"sim", "replay a compressed day of the national axis on this machine", runSim},
		{"store", "maintenance of a gateway's store: check it, back it up", runStore},
		{"version", "print the version", runVersion},
	}
}

// Run runs the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return usageError{msg: "no command given", vi: "Chưa nêu lệnh nào.", hint: "lienthong help"}
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		switch {
		case len(args) < 2:
		case args[1] == "help" || args[1] == "-h" || args[1] == "-help" || args[1] == "--help":
			// "help help" would otherwise recurse for ever.
		default:
			// "help edxml new" shows the usage of "edxml new".
			return m.Run(ctx, append(slices.Clone(args[1:]), "-help"))
		}
		m.usage(m.Stdout)
		return nil
	}
	for _, c := range m.commands() {
		if c.name == name {
			m.cmd = name
			return c.run(ctx, m, args[1:])
		}
	}
	var names []string
	for _, c := range m.commands() {
		names = append(names, c.name)
	}
	msg, vi := fmt.Sprintf("unknown command %q", name), fmt.Sprintf("Không có lệnh %q", name)
	if s := didYouMean(name, names); s != "" {
		msg += fmt.Sprintf(", did you mean %q?", "lienthong "+s)
		vi += fmt.Sprintf("; có phải ý bạn là %q?", "lienthong "+s)
	}
	return usageError{msg: msg, vi: vi, hint: "lienthong help"}
}

// didYouMean suggests the command of names closest to a mistyped one, when
// one is within two edits (or starts with it); "" otherwise.
func didYouMean(typed string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := editDistance(strings.ToLower(typed), n)
		if len(typed) >= 2 && strings.HasPrefix(n, strings.ToLower(typed)) {
			d = 1
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// runGroup runs a subcommand of the command group name ("edxml", "pki"):
// about is the group's description for its usage text.
func (m *Main) runGroup(ctx context.Context, name, about string, subs []command, args []string) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: lienthong %s <command> [arguments]\n\n%s\n\nCommands:\n", name, about)
		for _, c := range subs {
			fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nRun \"lienthong %s <command> -help\" for a command's usage.\n", name)
	}
	if len(args) == 0 {
		usage(m.Stderr)
		return usageError{msg: name + ": no command given", vi: fmt.Sprintf("Lệnh lienthong %s cần một lệnh con.", name)}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(m.Stdout)
		return nil
	}
	for _, c := range subs {
		if c.name == args[0] {
			m.cmd = name + " " + c.name
			return c.run(ctx, m, args[1:])
		}
	}
	var names []string
	for _, c := range subs {
		names = append(names, c.name)
	}
	msg := fmt.Sprintf("%s: unknown command %q", name, args[0])
	vi := fmt.Sprintf("Lệnh lienthong %s không có lệnh con %q", name, args[0])
	if s := didYouMean(args[0], names); s != "" {
		msg += fmt.Sprintf(", did you mean %q?", "lienthong "+name+" "+s)
		vi += fmt.Sprintf("; có phải ý bạn là %q?", "lienthong "+name+" "+s)
	}
	return usageError{msg: msg, vi: vi, hint: "lienthong " + name + " -help"}
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, `lienthong: the edge gateway of the government document axis (trục liên thông văn bản).

Usage:

	lienthong <command> [arguments]

Commands:`)
	for _, c := range m.commands() {
		fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, `
Run "lienthong <command> -help" for a command's usage.`)
}

// usageError is a mistake in the command line: msg says it in English, vi
// in Vietnamese (errors.go); its hint says what to run for help (by
// default the command's -help).
type usageError struct {
	msg, vi, hint string
}

func (e usageError) Error() string { return e.msg }

// exitError ends the program with a code and, unless already said, a
// message, in English (msg) and Vietnamese (vi): a packet that fails
// validation exits 1.
type exitError struct {
	code    int
	msg, vi string
}

func (e exitError) Error() string { return e.msg }

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and the answer is "no" (an invalid packet)
	exitUsage   = 2 // the command line is wrong
	exitTrouble = 3 // something went wrong: a file could not be read …
)

func (m *Main) exitCode(err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		hint := ue.hint
		switch {
		case hint != "":
		case m.cmd == "":
			hint = "lienthong help"
		default:
			hint = "lienthong " + m.cmd + " -help"
		}
		m.printError(err, hint)
		return exitUsage
	case errors.As(err, &ee):
		if ee.msg != "" {
			m.printError(err, "")
		}
		return ee.code
	default:
		m.printError(err, "")
		return exitTrouble
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting, and
// prints usage text with a synopsis first. name is the command's, as
// "edxml sign": its errors name it.
func (m *Main) newFlagSet(name, synopsis, help string) *flag.FlagSet {
	m.cmd = name
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: lienthong %s\n\n%s\n", synopsis, strings.TrimSpace(help))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; -h or -help prints the usage to stdout and ends
// the command successfully.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(m.Stdout)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		return usageError{msg: fs.Name() + ": " + err.Error(), vi: flagVI(fs.Name(), err), hint: "lienthong " + fs.Name() + " -help"}
	}
	return nil
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func runVersion(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("version", "version", "Prints the version of lienthong.")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "version: takes no arguments", vi: "Lệnh lienthong version không nhận đối số.", hint: "lienthong version"}
	}
	fmt.Fprintln(m.Stdout, "lienthong", version)
	return nil
}
