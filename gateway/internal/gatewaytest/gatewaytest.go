// Package gatewaytest starts real gateways for tests: an embedded NATS
// server with JetStream, a development CA, and gateways on SQLite files in
// the test's temporary directory, all cleaned up when the test ends.
package gatewaytest

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/signing"
)

// Axis is an embedded NATS server and a development CA, on which a test
// starts gateways.
type Axis struct {
	t     *testing.T
	Dir   string
	URL   string // the NATS server's client URL
	CA    *signing.CA
	Roots *x509.CertPool
}

// NewAxis starts the NATS server and makes the CA.
func NewAxis(t *testing.T) *Axis {
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
	return &Axis{t: t, Dir: dir, URL: srv.ClientURL(), CA: ca, Roots: roots}
}

// Gateway opens a gateway hosting agencies (code, name pairs), each with a
// certificate from the CA, on its own store and bus connection. configure,
// if not nil, may change the options before the gateway is made. When the
// test ends the gateway is closed and its store checked.
func (ax *Axis) Gateway(id string, configure func(*gateway.Options), agencies ...[2]string) *gateway.Gateway {
	t := ax.t
	t.Helper()
	var hosted []gateway.HostedAgency
	for _, a := range agencies {
		code, err := envelope.ParseAgencyCode(a[0], envelope.CodeStrict)
		if err != nil {
			t.Fatal(err)
		}
		is, err := ax.CA.Issue(signing.IssueRequest{Agency: a[0], Name: a[1]})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		hosted = append(hosted, gateway.HostedAgency{Code: code, Name: a[1], Signer: s})
	}
	log := zaptest.NewLogger(t).Named(id)
	st, err := store.Open(t.Context(), filepath.Join(ax.Dir, id+".db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: id}, log)
	if err != nil {
		t.Fatal(err)
	}
	opts := gateway.Options{
		ID: id, Agencies: hosted, Store: st, Bus: b, Logger: log, Roots: ax.Roots,
		DispatchInterval: 100 * time.Millisecond,
	}
	if configure != nil {
		configure(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Open(t.Context()); err != nil {
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
	return gw
}

// Eventually polls cond every 20 ms for up to 15 s, and fails the test if
// it never holds.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
