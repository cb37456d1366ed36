package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/signing"
)

// runBenchLarge is "lienthong bench -large": one packet with an
// attachment of attachment bytes, from a sender gateway to a recipient
// gateway, each "lienthong serve" in a process of its own, timed and with
// the peak RSS of each.
func runBenchLarge(ctx context.Context, m *Main, attachment int, jsonOut bool) (err error) {
	progress := func(format string, a ...any) { fmt.Fprintf(m.Stderr, format+"\n", a...) }
	start := time.Now()
	exe, err := os.Executable()
	if err != nil {
		return withVI(fmt.Errorf("bench: this program's path, to start the gateways: %w", err), "Không tìm được đường dẫn của chương trình để chạy hai cổng")
	}
	dir, err := os.MkdirTemp("", "lienthong-bench-large-")
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("bench: remove the working directory: %w", rerr)
		}
	}()
	log, closeLog, err := benchLog(dir)
	if err != nil {
		return err
	}
	defer closeLog()

	// The packet first: its size decides the gateways' packet limit.
	date := envelope.DateOf(time.Now())
	packet, err := benchPacketWith(0, attachment, date)
	if err != nil {
		return err
	}
	size := len(packet)

	progress("bench: starting NATS and two gateway processes in %s", dir)
	ca, admin, err := demoPKI(dir)
	if err != nil {
		return err
	}
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1, Name: "bench", Log: log.Named("nats")})
	if err != nil {
		return err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	sender := &demoGateway{id: "vpcp", agencies: [][2]string{{"000.00.00.G22", "Văn phòng Chính phủ"}}}
	recipient := &demoGateway{id: "nghean", agencies: [][2]string{{"000.00.00.H41", "UBND tỉnh Nghệ An"}}}
	var entries []gateway.DirectoryRecord
	var procs []*benchProcess
	// Stopped before the temporary directory is removed (deferred
	// earlier, run later), whatever ends the run.
	defer func() {
		for _, p := range procs {
			if serr := p.stop(); serr != nil {
				progress("bench: %v", serr)
			}
		}
	}()
	for _, g := range []*demoGateway{sender, recipient} {
		cfg, es, err := demoConfig(ca, dir, g, srv.ClientURL())
		if err != nil {
			return err
		}
		entries = append(entries, es...)
		// The bench reads nothing from the operations listener, and two
		// on the default port would collide.
		cfg.Ops.Listen = ""
		cfg.Log = LogConfig{Level: "warn", Format: "json"}
		cfg.Gateway.ShutdownTimeout = 10 * time.Second
		if limit := int64(size) + 1<<20; cfg.Gateway.MaxPacketSize < limit {
			// Only for an attachment larger than the issue's: the
			// automatic memory limit follows this one.
			cfg.Gateway.MaxPacketSize = limit
		}
		p, err := startBenchProcess(ctx, exe, cfg, filepath.Join(dir, g.id))
		if err != nil {
			return fmt.Errorf("bench: gateway %s: %w", g.id, err)
		}
		procs = append(procs, p)
		g.url = p.url
	}
	if err := demoRegister(ctx, srv.ClientURL(), admin, entries); err != nil {
		return withVI(fmt.Errorf("bench: the directory: %w", err), "Không ghi được danh bạ của phép đo")
	}
	if err := benchKnowsAll(ctx, []*demoGateway{sender, recipient}); err != nil {
		return err
	}

	progress("bench: one packet of %d bytes (a %d-byte attachment) from %s to %s", size, attachment, sender.id, recipient.id)
	var acc api.Accepted
	posted := time.Now()
	if err := demoCall(ctx, sender, http.MethodPost, "/api/v1/documents", "application/xml", packet, &acc); err != nil {
		return withVI(fmt.Errorf("bench: POST the packet: %w", err), "Cổng gửi không nhận gói tin lớn")
	}
	accepted := time.Since(posted)
	progress("bench:   accepted by the sender in %s", accepted.Round(time.Millisecond))

	// Timed to when the recipient's API lists the document, to the
	// polls' 20 ms: its createdAt is when the recipient began to receive
	// the packet, before verifying it.
	var stored gateway.DocumentSummary
	var storedAt time.Time
	found, err := benchPoll(ctx, benchLargeWaitStored, func() (bool, error) {
		var page api.DocumentList
		if err := demoCall(ctx, recipient, http.MethodGet, "/api/v1/documents?direction=in", "", nil, &page); err != nil {
			return false, err
		}
		for _, d := range page.Documents {
			if d.DocumentID == acc.DocumentID {
				stored, storedAt = d, time.Now()
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if !found {
		return exitError{code: exitFailed, msg: fmt.Sprintf("bench: the packet did not reach the recipient within %s", benchLargeWaitStored),
			vi: fmt.Sprintf("Gói tin không đến được nơi nhận sau %s.", benchLargeWaitStored)}
	}
	if o := signing.Outcome(stored.Verdict.Outcome); o != signing.Valid {
		return exitError{code: exitFailed, msg: fmt.Sprintf("bench: the packet reached the recipient with the verdict %s, not valid", o),
			vi: fmt.Sprintf("Gói tin đến nơi nhận nhưng chữ ký không hợp lệ (%s).", o.Label())}
	}
	storedAfter := storedAt.Sub(posted)
	progress("bench:   verified and stored at the recipient %s after the POST", storedAfter.Round(time.Millisecond))

	// 01 back at the sender ends the exchange: the peaks are read after
	// the work of both gateways on the packet.
	var backAt time.Time
	found, err = benchPoll(ctx, time.Minute, func() (bool, error) {
		var d gateway.DocumentDetail
		if err := demoCall(ctx, sender, http.MethodGet, "/api/v1/documents/"+url.PathEscape(acc.ID), "", nil, &d); err != nil {
			return false, err
		}
		if len(d.Deliveries) == 1 && d.Deliveries[0].State == envelope.StateArrived {
			backAt = time.Now()
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if !found {
		return exitError{code: exitFailed, msg: "bench: status 01 did not come back to the sender within 1m0s",
			vi: "Trạng thái 01 không về đến bên gửi sau 1 phút."}
	}

	progress("bench:   status 01 back at the sender %s after the POST", backAt.Sub(posted).Round(time.Millisecond))

	rep := newBenchReport("large", start)
	rep.Params = benchParams{LargeSize: attachment}
	rep.PacketBytes = size
	rep.Large = &benchLarge{
		AttachmentBytes: attachment, PacketBytes: size,
		AcceptedMs: msOf(accepted), StoredMs: msOf(storedAfter),
		TargetStoredMs: msOf(benchTargetLarge), StoredMet: storedAfter <= benchTargetLarge,
		StatusBackMs: msOf(backAt.Sub(posted)),
	}
	for i, role := range []string{"sender", "recipient"} {
		peak, err := procs[i].peakRSS()
		if err != nil {
			return err
		}
		ratio := float64(peak) / float64(size)
		rep.Large.Gateways = append(rep.Large.Gateways, benchLargeGateway{
			Role: role, ID: procs[i].id, PeakRSSBytes: peak, RatioToPacket: roundTo(ratio, 3),
			TargetRatio: benchTargetLargeRSS, Met: ratio <= benchTargetLargeRSS,
		})
	}
	if jsonOut {
		return rep.writeJSON(m.Stdout)
	}
	return rep.writeLargeTable(m.Stdout)
}

// writeLargeTable writes the table of -large.
func (r *benchReport) writeLargeTable(w io.Writer) error {
	l := r.Large
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tvalue\ttarget\t\n")
	fmt.Fprintf(tw, "attachment\t%d bytes (%.1f MiB)\t50 MiB\t\n", l.AttachmentBytes, float64(l.AttachmentBytes)/(1<<20))
	fmt.Fprintf(tw, "packet size\t%d bytes (%.1f MiB)\t\t\n", l.PacketBytes, float64(l.PacketBytes)/(1<<20))
	fmt.Fprintf(tw, "accepted by the sender (202)\t%.2f s\t\t\n", l.AcceptedMs/1000)
	fmt.Fprintf(tw, "stored at the recipient after the POST\t%.2f s\t≤ %.0f s\t%s\n", l.StoredMs/1000, l.TargetStoredMs/1000, verdict(l.StoredMet))
	fmt.Fprintf(tw, "status 01 back at the sender\t%.2f s\t\t\n", l.StatusBackMs/1000)
	for _, g := range l.Gateways {
		fmt.Fprintf(tw, "peak RSS, %s (%s)\t%.0f MiB, %.2f× the packet\t≤ %.1f× the packet\t%s\n",
			g.Role, g.ID, float64(g.PeakRSSBytes)/(1<<20), g.RatioToPacket, g.TargetRatio, verdict(g.Met))
	}
	return tw.Flush()
}

// benchKnowsAll waits until every gateway's directory, as its API shows
// it, holds every agency of gws: before that a document to one would be
// refused.
func benchKnowsAll(ctx context.Context, gws []*demoGateway) error {
	return demoWait(ctx, "danh bạ", "the directory", func() bool {
		for _, g := range gws {
			var d api.Directory
			if err := demoCall(ctx, g, http.MethodGet, "/api/v1/directory", "", nil, &d); err != nil {
				return false
			}
			known := map[string]bool{}
			for _, e := range d.Agencies {
				known[e.Code] = true
			}
			for _, h := range gws {
				for _, a := range h.agencies {
					if !known[a[0]] {
						return false
					}
				}
			}
		}
		return true
	})
}

// benchPoll calls cond every 20 ms until it is true (true), timeout passes
// (false) or it fails.
func benchPoll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// benchProcess is "lienthong serve" started by the bench.
type benchProcess struct {
	id      string
	cmd     *exec.Cmd
	logPath string
	url     string // the API's base URL
	exited  chan struct{}
	waitErr error // once exited is closed
}

// startBenchProcess writes cfg in dir and runs "exe serve" on it, its
// output in dir/serve.log, and returns once its API listens.
func startBenchProcess(ctx context.Context, exe string, cfg Config, dir string) (*benchProcess, error) {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("the configuration: %w", err)
	}
	file := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	p := &benchProcess{id: cfg.Gateway.ID, cmd: exec.Command(exe, "serve", "-config", file),
		logPath: filepath.Join(dir, "serve.log"), exited: make(chan struct{})}
	out, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	// The child writes to its own descriptor of the file.
	defer out.Close()
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// A gateway dies with the bench, even killed (Linux, as /proc for
	// the RSS): none is left running against a NATS server gone.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// The environment overrides the configuration file: an operator's
	// LIENTHONG_HTTP_LISTEN or LIENTHONG_DATA_DIR would put both gateways
	// on one port or in one directory. (Not nil: a nil Env is the whole
	// of the bench's.)
	p.cmd.Env = []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIENTHONG_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	// The line serve prints once its API listens.
	serving := regexp.MustCompile(`gateway \S+ serving .* on (http://\S+)\n`)
	ok, err := benchPoll(ctx, time.Minute, func() (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("serve exited at start (%v): %s", p.waitErr, p.logTail())
		default:
		}
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			return false, err
		}
		if m := serving.FindSubmatch(b); m != nil {
			p.url = string(m[1])
			return true, nil
		}
		return false, nil
	})
	if err == nil && !ok {
		err = fmt.Errorf("serve did not listen within 1m0s: %s", p.logTail())
	}
	if err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// logTail is the end of the process's output, for an error.
func (p *benchProcess) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// peakRSS is the process's peak resident set size so far (VmHWM), in
// bytes.
func (p *benchProcess) peakRSS() (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	f, err := os.Open(path)
	if err != nil {
		return 0, withVI(fmt.Errorf("bench: the peak RSS of gateway %s: %w", p.id, err), "Không đọc được bộ nhớ tối đa của cổng %s (cần /proc của Linux)", p.id)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bench: %s: VmHWM %q: %w", path, rest, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("bench: %s: %w", path, err)
	}
	return 0, fmt.Errorf("bench: no VmHWM in %s", path)
}

// stop ends the process as an operator does, SIGTERM and a graceful
// shutdown, killing it if that takes longer than its shutdown timeout
// allows; idempotent.
func (p *benchProcess) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("gateway %s did not stop within 20 s of SIGTERM and was killed", p.id)
	}
}
