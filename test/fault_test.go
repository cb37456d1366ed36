package test

import (
	"strings"
	"testing"
	"time"
)

// faultTest marks a fault test: skipped with -short, and parallel. Most of
// a fault test is waiting for JetStream's ack wait (15 s) to redeliver
// what a dead consumer held, so they overlap their waits (as many at once
// as -parallel, GOMAXPROCS by default, allows).
func faultTest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault tests send 1,000 documents each; skipped with -short")
	}
	t.Parallel()
}

// faultAxis starts the gateways of the fault tests, VPCP (G22) sending,
// UBND tỉnh Nghệ An (H41) and Bộ Y tế (G18) receiving, on one external
// nats-server.
func faultAxis(t *testing.T) (ax *axis, vpcp, nghean, byt *gatewayProc) {
	t.Helper()
	ax = newAxis(t)
	vpcp = ax.addGateway("vpcp", agVPCP)
	nghean = ax.addGateway("nghean", agNgheAn)
	byt = ax.addGateway("byt", agBYT)
	ax.ready()
	return ax, vpcp, nghean, byt
}

// TestE2E_KillSender kills the sending gateway with SIGKILL while 1,000
// documents are being accepted and dispatched, and restarts it. Its DMS
// retries what failed with the same Idempotency-Key. Every document that
// got a 202 reaches the recipient exactly once and 01 comes back for each.
func TestE2E_KillSender(t *testing.T) {
	faultTest(t)
	start := time.Now()
	_, vpcp, nghean, byt := faultAxis(t)
	docs := makeLoad(t, faultDocuments, agVPCP, []agency{agNgheAn, agBYT}, "KILL-GUI")
	g22 := vpcp.client(agVPCP)
	res := runLoad(t, g22, docs, func() {
		t.Logf("G22 had accepted %d documents, H41 received %d, when G22 was killed",
			vpcp.countLines(`"document accepted"`), nghean.countLines(`"document received"`))
		vpcp.kill()
		time.Sleep(500 * time.Millisecond) // the DMS sees the gateway gone
		vpcp.restart()
	})
	checkExactlyOnce(t, g22, docs, res, recipientAPI{agNgheAn, nghean.client(agNgheAn)}, recipientAPI{agBYT, byt.client(agBYT)})
	t.Logf("TestE2E_KillSender: %s in all", time.Since(start).Round(time.Millisecond))
}

// TestE2E_StopSender stops the sending gateway with SIGTERM (a graceful
// shutdown: the API stops taking requests, what is in flight finishes)
// while 1,000 documents are being accepted and dispatched, and starts it
// again: nothing accepted is lost or doubled.
func TestE2E_StopSender(t *testing.T) {
	faultTest(t)
	start := time.Now()
	_, vpcp, nghean, _ := faultAxis(t)
	docs := makeLoad(t, faultDocuments, agVPCP, []agency{agNgheAn}, "DUNG-GUI")
	g22 := vpcp.client(agVPCP)
	res := runLoad(t, g22, docs, func() {
		t.Logf("G22 had accepted %d documents when it was stopped", vpcp.countLines(`"document accepted"`))
		vpcp.stop()
		if state := vpcp.exitState(); !strings.Contains(state, "exit status 0") {
			t.Errorf("G22 stopped with %s, want exit status 0", state)
		}
		vpcp.restart()
	})
	checkExactlyOnce(t, g22, docs, res, recipientAPI{agNgheAn, nghean.client(agNgheAn)})
	t.Logf("TestE2E_StopSender: %s in all", time.Since(start).Round(time.Millisecond))
}

// TestE2E_KillReceiver kills the receiving gateway with SIGKILL while
// 1,000 documents stream to it, and restarts it: what it held unacked
// comes again after the ack wait and is deduplicated.
func TestE2E_KillReceiver(t *testing.T) {
	faultTest(t)
	start := time.Now()
	_, vpcp, nghean, _ := faultAxis(t)
	docs := makeLoad(t, faultDocuments, agVPCP, []agency{agNgheAn}, "KILL-NHAN")
	g22 := vpcp.client(agVPCP)
	res := runLoad(t, g22, docs, func() {
		// Wait until the receiver is mid-stream.
		waitFor(t, 30*time.Second, "H41 receiving", func() (bool, string) {
			return nghean.countLines(`"document received"`) >= 100, ""
		})
		t.Logf("H41 had received %d documents when killed", nghean.countLines(`"document received"`))
		nghean.kill()
		time.Sleep(500 * time.Millisecond)
		nghean.restart()
	})
	checkExactlyOnce(t, g22, docs, res, recipientAPI{agNgheAn, nghean.client(agNgheAn)})
	t.Logf("TestE2E_KillReceiver: %s in all", time.Since(start).Round(time.Millisecond))
}

// TestE2E_NATSRestart stops the external nats-server mid-stream and starts
// it again on the same port and store: the gateways reconnect, the outbox
// publishes again what failed, nothing is lost or doubled.
func TestE2E_NATSRestart(t *testing.T) {
	faultTest(t)
	start := time.Now()
	ax, vpcp, nghean, _ := faultAxis(t)
	docs := makeLoad(t, faultDocuments, agVPCP, []agency{agNgheAn}, "NATS")
	g22 := vpcp.client(agVPCP)
	res := runLoad(t, g22, docs, func() {
		t.Logf("H41 had received %d documents when nats-server was stopped", nghean.countLines(`"document received"`))
		ax.nats.stop()
		time.Sleep(2 * time.Second) // publishes fail, the gateways reconnect in vain
		ax.nats.restart()
	})
	checkExactlyOnce(t, g22, docs, res, recipientAPI{agNgheAn, nghean.client(agNgheAn)})
	t.Logf("TestE2E_NATSRestart: %s in all", time.Since(start).Round(time.Millisecond))
}
