package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/report"
)

// TestReportCommand: "lienthong report" against a running gateway, in
// every format, with declarations from a file and flags; "report submit"
// sends it; "report summary" reads what the hub received.
func TestReportCommand(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	o := startOpsNode(t, t.TempDir(), srv.ClientURL())
	if _, _, err := o.n.gw.Submit(t.Context(), gateway.Submission{Packet: opsLetter(t)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIENTHONG_API_KEY", opsKey)
	quarter := report.QuarterOf(time.Now()).String()
	dir := t.TempDir()
	declared := filepath.Join(dir, "khai.yaml")
	if err := os.WriteFile(declared, []byte("units: 12\npaperOutgoing: 40\nsharedDms: some\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "report", "-url", o.n.URL(), "-agency", opsVPCP, "-quarter", quarter, "-format", "json",
		"-declared", declared, "-paper-outgoing", "50")
	r.wantCode(t, 0)
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("the JSON report: %v\n%s", err, r.stdout)
	}
	if rep.Use.Outgoing != 1 || rep.Deployment.Units.Value != 12 || rep.Use.PaperOutgoing.Value != 50 {
		t.Errorf("the report: outgoing %d, units %+v, paper %+v", rep.Use.Outgoing, rep.Deployment.Units, rep.Use.PaperOutgoing)
	}
	for _, f := range []struct{ format, want string }{{"html", "<!doctype html"}, {"csv", "\ufeff"}, {"xlsx", "PK"}} {
		out := filepath.Join(dir, "bao-cao."+f.format)
		run(t, nil, "report", "-url", o.n.URL(), "-agency", opsVPCP, "-quarter", quarter, "-format", f.format, "-o", out).wantCode(t, 0)
		b, err := os.ReadFile(out)
		if err != nil || !strings.HasPrefix(strings.ToLower(string(b)), strings.ToLower(f.want)) {
			t.Errorf("%s: %v, starts %q", f.format, err, string(b[:min(len(b), 20)]))
		}
	}
	run(t, nil, "report", "-url", o.n.URL(), "-agency", opsVPCP, "-quarter", "2026-Q5").wantCode(t, exitUsage)
	run(t, nil, "report", "-url", o.n.URL(), "-agency", opsVPCP, "-format", "xlsx").wantCode(t, exitUsage)
	bad := run(t, nil, "report", "-url", o.n.URL(), "-agency", "000.00.00.H29", "-quarter", quarter)
	bad.wantCode(t, exitTrouble)
	bad.wantStderr(t, "403", "may not make the report")

	// Nghệ An (hosted by the same gateway here) is the hub.
	sub := run(t, nil, "report", "submit", "-url", o.n.URL(), "-agency", opsVPCP, "-quarter", quarter, "-to", opsBYT)
	sub.wantCode(t, 0)
	if !strings.Contains(sub.stdout, "Đã gửi báo cáo") {
		t.Errorf("submit says %q", sub.stdout)
	}
	var sum result
	deadline := time.Now().Add(15 * time.Second)
	for {
		sum = run(t, nil, "report", "summary", "-url", o.n.URL(), "-quarter", quarter, "-hub", opsBYT)
		if strings.Contains(sum.stdout, "báo cáo nhận lúc") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sum.wantCode(t, 0)
	if !strings.Contains(sum.stdout, "1/1 bộ, cơ quan ngang bộ") {
		t.Errorf("the summary:\n%s\n%s", sum.stdout, sum.stderr)
	}
}

// TestReportCommand_Unreachable: a gateway that does not answer is named,
// with the flag and variable that set its address, in both languages.
func TestReportCommand_Unreachable(t *testing.T) {
	t.Setenv("LIENTHONG_API_KEY", "k")
	r := run(t, nil, "report", "-url", "http://127.0.0.1:1", "-agency", "000.00.00.H41", "-quarter", "2026-Q4")
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "\nlienthong: Không kết nối được cổng liên thông tại http://127.0.0.1:1 (-url hoặc LIENTHONG_URL): ",
		"\n"+errIndent+"(report: cannot reach the gateway at http://127.0.0.1:1 (-url or LIENTHONG_URL): ")
}
