package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/vxp"
	"github.com/lienthong/lienthong/gateway/vxp/client"
)

// TestServe_VXP: with vxp.systems, serve answers the national axis SDK's
// protocol on the API's listener under /XrdAdapter/adapter (an endpoint
// configured with a trailing slash too) or on vxp.listen; the secret comes
// from its file; the API and the page are still there; the requests are
// counted in /metrics.
func TestServe_VXP(t *testing.T) {
	for _, own := range []bool{false, true} {
		name := "OnTheAPIListener"
		if own {
			name = "OnItsOwnListener"
		}
		t.Run(name, func(t *testing.T) {
			srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
			dir := t.TempDir()
			secretFile := filepath.Join(dir, "vxp-secret")
			if err := os.WriteFile(secretFile, []byte("bí-mật-của-hệ-thống-QLVB\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			o := startOpsNodeWith(t, dir, srv.ClientURL(), func(c *Config) {
				c.VXP.Systems = []VXPSystemConfig{
					{ID: "qlvb.vpcp", SecretFile: secretFile, Agencies: []string{opsVPCP}},
					{ID: "qlvb.nghean", Secret: "another-secret-0123456789", Agencies: []string{opsBYT}},
				}
				if own {
					c.VXP.Listen = "127.0.0.1:0"
				}
			})
			endpoint := o.n.URL() + vxp.DefaultPrefix + "/"
			if own {
				if o.n.vxpLn == nil {
					t.Fatal("no listener of its own")
				}
				endpoint = "http://" + o.n.vxpLn.Addr().String() + "/XrdAdapter/adapter"
			}
			vpcp := client.New(endpoint, "qlvb.vpcp", "bí-mật-của-hệ-thống-QLVB", time.Now(), nil)
			nghean := client.New(endpoint, "qlvb.nghean", "another-secret-0123456789", time.Now(), nil)
			ctx := t.Context()
			letter := opsLetter(t)
			r, err := vpcp.SendEdoc(ctx, client.Header{{"from", opsVPCP}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}}, letter)
			if err != nil || r.Status != "OK" || r.DocID == "" {
				t.Fatalf("sendEdoc: %+v, %v", r, err)
			}
			waitUntil(t, 15*time.Second, "the document in the other system's list", func() bool {
				l, err := nghean.GetReceivedEdocList(ctx, client.Header{{"servicetype", "eDoc"}, {"messagetype", "edoc"}})
				return err == nil && l.Status == "OK" && len(l.Data) == 1 && l.Data[0].From == opsVPCP
			})
			if bad, err := client.New(endpoint, "qlvb.vpcp", "wrong", time.Now(), nil).GetAgenciesList(ctx); err != nil || bad.ErrorCode != vxp.CodeUnknownSystem {
				t.Errorf("a wrong secret: %+v, %v", bad, err)
			}
			if code, _ := httpDo(t, http.MethodGet, o.n.URL()+"/api/v1/openapi.json", "", nil); code != http.StatusOK {
				t.Errorf("the API beside the VXP face: %d", code)
			}
			_, metrics := o.get(t, "/metrics")
			for _, want := range []string{
				`lienthong_vxp_requests_total{code="0",operation="sendEdoc",system="qlvb.vpcp"} 1`,
				`lienthong_vxp_requests_total{code="1",operation="getAgenciesList",system="unknown"} 1`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics has no %s", want)
				}
			}
		})
	}
}
