package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/nettest"
)

// prometheusBinary returns the path of the prometheus server. .ci/run
// installs it (Debian package prometheus) and sets
// LIENTHONG_REQUIRE_PROMTOOL, so that CI cannot skip this test.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("LIENTHONG_REQUIRE_PROMTOOL") != "" {
			t.Fatal("prometheus is required (LIENTHONG_REQUIRE_PROMTOOL is set) but not installed")
		}
		t.Skip("prometheus not installed (apt-get install prometheus)")
	}
	return path
}

// promQuery runs an instant query on the Prometheus HTTP API and returns
// the value of its single sample, or false if there is none.
func promQuery(ctx context.Context, base, query string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, false, err
	}
	if body.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %s", query, body.Error)
	}
	if len(body.Data.Result) != 1 {
		return 0, false, nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

// TestE2E_Prometheus starts a real Prometheus server scraping two gateway
// processes on loopback while documents are exchanged, and checks through
// Prometheus's HTTP API that the sent and received counters equal the
// documents exchanged.
func TestE2E_Prometheus(t *testing.T) {
	bin := prometheusBinary(t)
	ctx := context.Background()
	ax := newAxis(t)
	vpcp := ax.addGateway("vpcp", agVPCP)
	nghean := ax.addGateway("nghean", agNgheAn)
	ax.ready()

	dir := filepath.Join(ax.dir, "prometheus")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: lienthong
    static_configs:
      - targets: [%q]
        labels: {gateway: vpcp}
      - targets: [%q]
        labels: {gateway: nghean}
`, vpcp.opsAddress(), nghean.opsAddress())
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var base string
	prom := newProcess(t, "prometheus", dir, bin)
	prom.rebind = func() {
		addr := "127.0.0.1:" + strconv.Itoa(nettest.Port(t))
		base = "http://" + addr
		prom.args = []string{"--config.file=" + configFile, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr}
	}
	prom.rebind()
	prom.startReady(30*time.Second, func() (bool, string) {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	const n = 5
	g22, h41 := vpcp.client(agVPCP), nghean.client(agNgheAn)
	var ids []string
	for i := range n {
		l := &letter{From: agVPCP, To: []agency{agNgheAn}, Number: strconv.Itoa(900 + i), Notation: "VPCP-TK",
			Subject: "V/v thống kê liên thông", Attachments: []envelope.Attachment{{Name: "bao-cao.txt", ContentType: "text/plain", Data: []byte("số liệu")}}}
		ids = append(ids, g22.mustSubmit(t, l.packet(t)).ID)
	}
	for _, id := range ids {
		waitFor(t, 30*time.Second, "01 for "+id, func() (bool, string) {
			d, err := g22.get(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			return d.Deliveries[0].State == envelope.StateArrived, d.Deliveries[0].State.String()
		})
	}
	if docs, err := h41.listAll(ctx, url.Values{"direction": {"in"}}); err != nil || len(docs) != n {
		t.Fatalf("Nghệ An lists %d incoming documents (%v), want %d", len(docs), err, n)
	}

	for _, c := range []struct{ what, query string }{
		{"documents accepted at VPCP", `sum(lienthong_documents_submitted_total{gateway="vpcp",outcome="accepted"})`},
		{"documents sent by VPCP to H41", `sum(lienthong_packets_sent_total{gateway="vpcp",kind="edoc",peer="H41"})`},
		{"documents received at Nghệ An from G22", `sum(lienthong_packets_received_total{gateway="nghean",kind="edoc",outcome="ok",peer="G22"})`},
		{"01s sent back by Nghệ An", `sum(lienthong_packets_sent_total{gateway="nghean",kind="status",peer="G22"})`},
		{"01s received at VPCP", `sum(lienthong_packets_received_total{gateway="vpcp",kind="status",outcome="ok",peer="H41"})`},
		{"valid verdicts at Nghệ An", `sum(lienthong_signature_verdicts_total{gateway="nghean",kind="edoc",verdict="valid"})`},
		{"delivery latencies observed at VPCP", `sum(lienthong_delivery_latency_seconds_count{gateway="vpcp",peer="H41"})`},
	} {
		waitFor(t, 30*time.Second, c.what+" in Prometheus", func() (bool, string) {
			v, ok, err := promQuery(ctx, base, c.query)
			if err != nil {
				return false, err.Error()
			}
			return ok && v == n, fmt.Sprintf("%s = %v (present %v), want %d", c.query, v, ok, n)
		})
	}
	v, ok, err := promQuery(ctx, base, `sum(up{job="lienthong"})`)
	if err != nil || !ok || v != 2 {
		t.Errorf("up: %v %v %v, want both gateways up", v, ok, err)
	}
}
