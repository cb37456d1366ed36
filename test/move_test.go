package test

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

// moveDocuments caps the documents of TestE2E_AgencyAddMove; movePace is
// the time between two of them.
const (
	moveDocuments = 1000
	movePace      = 60 * time.Millisecond
)

// TestE2E_AgencyAddMove: on the hub of three nats-servers, with every
// gateway bound to the one consumer per stream the administrator assigns
// it, VPCP keeps sending documents to Nghệ An (H41) and to its Sở Y tế
// (000.00.12.H41) while:
//
//  1. Sở Y tế, registered in the directory but hosted nowhere (its
//     documents wait in the stream), is added to Nghệ An's running
//     gateway: the administrator assigns it first ("lienthong nats setup
//     -gateway nghean"), then the gateway is restarted with it in its
//     configuration.
//  2. Sở Y tế moves to Bộ Y tế's gateway: its directory entry names the
//     new gateway, the administrator assigns it there (taking it from
//     nghean at an exact point), byt is restarted with it, then nghean
//     without it. Its DMS reads from nghean until then, from byt after.
//
// Every document reaches Nghệ An once, and Sở Y tế's DMS once — at one
// gateway or the other, never both — and every delivery's 01 reaches
// VPCP.
func TestE2E_AgencyAddMove(t *testing.T) {
	if testing.Short() {
		t.Skip("a hub of three nats-servers and three gateways; skipped with -short")
	}
	t.Parallel()
	ax := newClusterAxis(t)
	vpcp := ax.addGateway("vpcp", agVPCP)
	nghean := ax.addGateway("nghean", agNgheAn)
	byt := ax.addGateway("byt", agBYT)
	// Sở Y tế's key, which goes with it from gateway to gateway.
	is, err := ax.ca.Issue(signing.IssueRequest{Agency: agSYTNgheAn.Code, Name: agSYTNgheAn.Name})
	if err != nil {
		t.Fatal(err)
	}
	syt := filepath.Join(ax.dir, "000_00_12_H41")
	if err := is.WriteFiles(syt); err != nil {
		t.Fatal(err)
	}
	ax.entries = append(ax.entries, directoryEntry{Code: agSYTNgheAn.Code, Name: agSYTNgheAn.Name, Gateway: "nghean", Certificates: []string{syt + ".crt"}})
	ax.cluster.setup()
	ax.ready()
	admin := newAdmin(t, ax)
	g22, h41 := vpcp.client(agVPCP), nghean.client(agNgheAn)
	waitFor(t, directoryTimeout, "Sở Y tế in VPCP's directory", func() (bool, string) {
		dir, err := g22.directory(context.Background())
		if err != nil {
			return false, err.Error()
		}
		for _, e := range dir {
			if e.Code == agSYTNgheAn.Code {
				return true, ""
			}
		}
		return false, "not yet"
	})

	// The documents flow from here to the end.
	docs := makeLoad(t, moveDocuments, agVPCP, []agency{agNgheAn, agSYTNgheAn}, "VPCP-MOVE")
	res := &loadResult{ids: make([]string, len(docs))}
	// The flow stops between documents, never in the middle of one: a
	// submission cancelled after the gateway accepted it would reach the
	// recipient without being counted as sent.
	halt := make(chan struct{})
	var haltOnce sync.Once
	stop := func() { haltOnce.Do(func() { close(halt) }) }
	defer stop()
	var sent int // documents accepted, in order; guarded by mu
	var mu sync.Mutex
	flowDone := make(chan struct{})
	go func() {
		defer close(flowDone)
		deadline := time.Now().Add(10 * time.Minute)
		for i, d := range docs {
			select {
			case <-halt:
				return
			default:
			}
			if err := submitOne(context.Background(), g22, d, deadline, res, i, nil); err != nil {
				res.fail(err)
				return
			}
			mu.Lock()
			sent = i + 1
			mu.Unlock()
			select {
			case <-halt:
				return
			case <-time.After(movePace):
			}
		}
	}()
	accepted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return sent
	}
	waitSent := func(n int, what string) {
		t.Helper()
		waitFor(t, submitTimeout, fmt.Sprintf("%d documents accepted (%s)", n, what), func() (bool, string) {
			return accepted() >= n, fmt.Sprint(accepted())
		})
	}
	assign := func(gw string, agencies ...agency) {
		t.Helper()
		start := time.Now()
		// A catch-up still running (the agency's previous holder's) is
		// refused: the administrator runs it again a moment later.
		waitFor(t, 60*time.Second, "assign "+gw, func() (bool, string) {
			args := []string{"nats", "setup", "-url", ax.cluster.URLs(), "-nkey", ax.cluster.admin, "-ca", ax.cluster.ca, "-replicas", "3", "-gateway", gw}
			for _, a := range agencies {
				args = append(args, "-agency", a.Code)
			}
			out, err := runLienthong(args...)
			if err != nil && strings.Contains(out, "catch-up is still running") {
				time.Sleep(time.Second)
				return false, out
			}
			if err != nil {
				t.Fatalf("lienthong %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return true, ""
		})
		t.Logf("assigned %s %v in %s, %d documents accepted", gw, agencies, time.Since(start).Round(time.Millisecond), accepted())
	}

	// 1. Sở Y tế added to Nghệ An's running gateway.
	waitSent(30, "before Sở Y tế is hosted")
	assign("nghean", agNgheAn, agSYTNgheAn)
	waitSent(accepted()+20, "assigned to nghean, not yet configured there")
	nghean.host(agSYTNgheAn, syt)
	nghean.stop()
	nghean.restart()
	sytAtNghean := nghean.client(agSYTNgheAn)
	waitSent(accepted()+30, "Sở Y tế hosted by nghean")

	// 2. Sở Y tế moved to Bộ Y tế's gateway.
	admin.lienthong("directory", "put", "-code", agSYTNgheAn.Code, "-name", agSYTNgheAn.Name, "-parent", agNgheAn.Code,
		"-kind", "department", "-gateway", "byt", "-cert", syt+".crt")
	assign("byt", agBYT, agSYTNgheAn)
	waitSent(accepted()+20, "assigned to byt, not yet configured there")
	byt.host(agSYTNgheAn, syt)
	byt.stop()
	byt.restart()
	sytAtByt := byt.client(agSYTNgheAn)
	// Its DMS reads nghean one last time, then nghean lets it go.
	atNghean, err := sytAtNghean.listAll(context.Background(), url.Values{"direction": {"in"}, "q": {"VPCP-MOVE"}})
	if err != nil {
		t.Fatal(err)
	}
	nghean.drop(agSYTNgheAn)
	nghean.stop()
	nghean.restart()
	waitSent(accepted()+30, "Sở Y tế hosted by byt")
	stop()
	<-flowDone
	if len(res.errs) > 0 {
		t.Fatalf("submitting: %v", res.errs)
	}
	n := accepted()
	docs, res.ids = docs[:n], res.ids[:n]
	t.Logf("%d documents sent while Sở Y tế was added and moved", n)

	// Every document at each recipient once, and its 01s at VPCP.
	checkExactlyOnceAt(t, g22, docs, res, agNgheAn, h41)
	checkExactlyOnceAt(t, g22, docs, res, agSYTNgheAn, sytAtByt, atNghean...)
	for _, g := range []*gatewayProc{vpcp, nghean, byt} {
		if n := g.countLines("Permissions Violation"); n > 0 {
			t.Errorf("gateway %s hit %d permissions violations", g.id, n)
		}
		if n := g.countLines(`"not-hosted"`); n > 0 {
			t.Errorf("gateway %s quarantined %d packets as not hosted", g.id, n)
		}
	}
	if n := nghean.countLines("its packets wait until the gateway runs with the agency"); n == 0 {
		t.Error("nghean did not say that Sở Y tế's packets wait for its restart")
	}
}

// runLienthong runs the lienthong binary and returns what it printed.
func runLienthong(args ...string) (string, error) {
	out, err := exec.Command(lienthongBin, args...).CombinedOutput()
	return string(out), err
}

// checkExactlyOnceAt waits until every accepted document of the load is
// listed for agency ag — by its DMS's client now, plus earlier, what the
// DMS read from the agency's previous gateway — and arrived (01) at the
// sender, then checks that each came exactly once in all.
func checkExactlyOnceAt(t *testing.T, sender *apiClient, docs []loadDoc, res *loadResult, ag agency, c *apiClient, earlier ...gateway.DocumentSummary) {
	t.Helper()
	ctx := context.Background()
	query := func(v url.Values) url.Values {
		v.Set("q", docs[0].notation)
		return v
	}
	want := map[string]bool{}
	for _, d := range docs {
		want[d.documentID] = true
	}
	var in []gateway.DocumentSummary
	waitFor(t, deliveryTimeout, fmt.Sprintf("%d documents at %s", len(docs), ag.Code), func() (bool, string) {
		now, err := c.listAll(ctx, query(url.Values{"direction": {"in"}}))
		if err != nil {
			return false, err.Error()
		}
		in = append(slices.Clone(earlier), now...)
		n := 0
		for _, d := range in {
			if want[d.DocumentID] {
				n++
			}
		}
		return n >= len(docs), fmt.Sprintf("%d listed (%d earlier)", n, len(earlier))
	})
	ids := map[string]bool{}
	for _, id := range res.ids {
		ids[id] = true
	}
	waitFor(t, deliveryTimeout, "01 from "+ag.Code+" for every document at the sender", func() (bool, string) {
		out, err := sender.listAll(ctx, query(url.Values{"direction": {"out"}}))
		if err != nil {
			return false, err.Error()
		}
		arrived := 0
		for _, d := range out {
			for _, dl := range d.Deliveries {
				if ids[d.ID] && dl.Recipient == ag.Code && dl.State == envelope.StateArrived {
					arrived++
				}
			}
		}
		return arrived == len(docs), fmt.Sprintf("%d of %d arrived", arrived, len(docs))
	})
	// Read again once every 01 is back, so that a late duplicate shows.
	now, err := c.listAll(ctx, query(url.Values{"direction": {"in"}}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range append(slices.Clone(earlier), now...) {
		seen[d.DocumentID]++
		if d.Verdict.Outcome != "valid" || d.Agency != ag.Code {
			t.Errorf("%s: %s for %s with verdict %+v", ag.Code, d.DocumentID, d.Agency, d.Verdict)
		}
	}
	checkSet(t, "incoming documents at "+ag.Code, seen, want)
	t.Logf("exactly once at %s: %d documents (%d from its previous gateway)", ag.Code, len(seen), len(earlier))
}
