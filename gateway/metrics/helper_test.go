package metrics_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/metrics"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/signing"
)

// axis is an embedded NATS server, a development CA and the gateways
// started on them, each with its own registry, as gateway_test.go builds
// them.
type axis struct {
	t     *testing.T
	dir   string
	url   string
	ca    *signing.CA
	roots *x509.CertPool
}

func newAxis(t *testing.T) *axis {
	t.Helper()
	dir := t.TempDir()
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	return &axis{t: t, dir: dir, url: srv.ClientURL(), ca: ca, roots: roots}
}

// node is a gateway with its registry.
type node struct {
	gw  *gateway.Gateway
	reg *prometheus.Registry
}

// gateway starts a gateway hosting one agency, with its metrics on a
// fresh registry that also has the Go and process collectors.
func (ax *axis) gateway(id, code, name string) node {
	t := ax.t
	t.Helper()
	c, err := envelope.ParseAgencyCode(code, envelope.CodeStrict)
	if err != nil {
		t.Fatal(err)
	}
	is, err := ax.ca.Issue(signing.IssueRequest{Agency: code, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t).Named(id)
	st, err := store.Open(t.Context(), filepath.Join(ax.dir, id+".db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(t.Context(), bus.Options{URL: ax.url, Name: id}, log)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{
		ID: id, Agencies: []gateway.HostedAgency{{Code: c, Name: name, Signer: s}}, Store: st, Bus: b, Logger: log,
		Roots: ax.roots, DispatchInterval: 100 * time.Millisecond, Version: "test", Observer: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(gw); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Close(ctx); err != nil {
			t.Error(err)
		}
		b.Close()
		if err := st.Check(ctx); err != nil {
			t.Errorf("store %s: %v", id, err)
		}
		st.Close()
	})
	return node{gw: gw, reg: reg}
}

// eventually polls cond every 20 ms for up to 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// letter is an unsigned công văn numbered n from one agency to others.
func letter(t *testing.T, n int, from string, to ...string) []byte {
	t.Helper()
	date := envelope.DateOf(time.Now())
	code := envelope.Code{Number: fmt.Sprint(n), Notation: "VPCP-TH"}
	e := &envelope.Edoc{
		Header: envelope.MessageHeader{
			From:         envelope.Organization{OrganID: from, OrganName: "Cơ quan " + from},
			Code:         code,
			Promulgation: envelope.PromulgationInfo{Place: "Hà Nội", Date: date},
			DocumentType: envelope.DocumentType{Type: "2", TypeDetail: "18", TypeName: "Công văn"},
			Subject:      "V/v báo cáo tình hình kết nối liên thông",
			DocumentID:   envelope.MakeDocumentID(from, date, code),
		},
		Trace:     []envelope.TraceHeader{{OrganID: from, Timestamp: envelope.TimestampOf(time.Now())}},
		Bussiness: &envelope.Bussiness{BussinessDocType: envelope.BussinessNew, Paper: "0"},
	}
	for _, c := range to {
		e.Header.To = append(e.Header.To, envelope.Organization{OrganID: c, OrganName: "Cơ quan " + c})
	}
	e.AddAttachment(envelope.Attachment{Name: "công văn.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte("%PDF "), 200)})
	b, err := envelope.Encode(&envelope.Packet{Edoc: e})
	if err != nil {
		t.Fatal(err)
	}
	return b
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
