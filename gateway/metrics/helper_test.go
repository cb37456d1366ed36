package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/metrics"
	"github.com/lienthong/lienthong/internal/testkit"
)

// node is a gateway with its registry.
type node struct {
	gw  *gateway.Gateway
	reg *prometheus.Registry
}

// gatewayWithMetrics starts a gateway on ax hosting one agency, with its metrics on
// a fresh registry that also has the Go and process collectors.
func gatewayWithMetrics(t *testing.T, ax *testkit.Axis, id, code, name string) node {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	gw := ax.Gateway(id, func(o *gateway.Options) { o.Observer, o.Version = m, "test" }, [2]string{code, name})
	if err := m.Watch(gw); err != nil {
		t.Fatal(err)
	}
	return node{gw: gw, reg: reg}
}

// letter is an unsigned công văn numbered n from one agency to others.
func letter(t *testing.T, n int, from string, to ...string) []byte {
	t.Helper()
	return testkit.Letter{From: from, FromName: "Cơ quan " + from, To: to, Number: fmt.Sprint(n)}.Packet(t)
}

// sample returns the value of the series name{labels} gathered from g —
// a counter's or a gauge's value, a histogram's count — and whether there
// is one. labels are name, value pairs; the series may have more.
func sample(t testing.TB, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// series names a series for messages: name{l1="v1",…}.
func series(name string, labels ...string) string {
	var parts []string
	for i := 0; i+1 < len(labels); i += 2 {
		parts = append(parts, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// wantSample waits (counters are bumped just after the work they count)
// until the series name{labels} in g equals want, and fails if it does
// not within 5 s.
func wantSample(t *testing.T, g prometheus.Gatherer, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, ok := sample(t, g, name, labels...)
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			if !ok {
				t.Errorf("%s: no such series, want %v", series(name, labels...), want)
			} else {
				t.Errorf("%s = %v, want %v", series(name, labels...), got, want)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
