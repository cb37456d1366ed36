// Package testkit starts real gateways for tests: an embedded NATS
// server with JetStream, a development CA, and gateways on SQLite files in
// the test's temporary directory, all cleaned up when the test ends. It is
// at the module's root so that cmd/, test/ and every package's tests can
// use it.
//
// Faults are injected as litestream's tests do, by wrapping the real
// thing: Store, Bus and Message wrap gateway.Store, gateway.Bus and
// gateway.Message and fail, delay or hang the calls a Faults picks by
// method name and call number, passing every other call through. The
// store and the bus stay real (SQLite, NATS); only the chosen calls
// fail, the same ones on every run.
package testkit

import (
	"context"
	"crypto/x509"
	"encoding/pem"
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
// starts gateways. The CA is also the directory's trust anchor, and Admin
// the administrator who registers the gateways' agencies.
type Axis struct {
	t     *testing.T
	Dir   string
	URL   string // the NATS server's client URL
	CA    *signing.CA
	Roots *x509.CertPool
	// Admin signs directory records for the whole directory.
	Admin *signing.Signer
	// admin is the administrator's connection, made when first used.
	admin *bus.Bus
}

// NewAxis starts the NATS server and makes the CA and the directory's
// administrator.
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
	return &Axis{t: t, Dir: dir, URL: srv.ClientURL(), CA: ca, Roots: roots, Admin: NewAdmin(t, ca, "*")}
}

// NewAdmin issues a directory administrator's certificate from ca for
// scopes and returns its signer.
func NewAdmin(t testing.TB, ca *signing.CA, scopes ...string) *signing.Signer {
	t.Helper()
	is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Quản trị trục liên thông", DirectoryScopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Register signs the entry of a with the axis's administrator and puts it
// in the directory. A zero Version becomes the current time in
// nanoseconds, so that later registrations are newer.
func (ax *Axis) Register(a gateway.Agency) {
	ax.t.Helper()
	ax.PutRecord(gateway.DirectoryRecord{Agency: &a})
}

// PutRecord signs r with the axis's administrator and puts it in the
// directory, giving a zero Version the current time in nanoseconds.
func (ax *Axis) PutRecord(r gateway.DirectoryRecord) {
	t := ax.t
	t.Helper()
	now := time.Now()
	switch {
	case r.Agency != nil && r.Agency.Version == 0:
		a := *r.Agency
		a.Version, a.UpdatedAt = uint64(now.UnixNano()), now.UTC()
		r.Agency = &a
	case r.Gateway != nil && r.Gateway.Version == 0:
		g := *r.Gateway
		g.Version, g.UpdatedAt = uint64(now.UnixNano()), now.UTC()
		r.Gateway = &g
	}
	key, value, err := gateway.SignRecord(ax.Admin, r)
	if err != nil {
		t.Fatal(err)
	}
	if ax.admin == nil {
		b, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "admin"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		ax.admin = b
	}
	if err := ax.admin.PutRecord(t.Context(), key, value); err != nil {
		t.Fatal(err)
	}
}

// HostedEntry is the directory entry of a hosted agency on gateway id, as
// an administrator registers it.
func HostedEntry(id string, a gateway.HostedAgency) gateway.Agency {
	parent := ""
	if p, ok := a.Code.Parent(); ok {
		parent = p.String()
	}
	return gateway.Agency{
		Code: a.Code.String(), Name: a.Name, Parent: parent, Gateway: id,
		Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Signer.Certificate().Raw}))},
	}
}

// Gateway opens a gateway hosting agencies (code, name pairs), each with a
// certificate from the CA, on its own store and bus connection. configure,
// if not nil, may change the options before the gateway is made (wrap
// the store or the bus in Store or Bus to inject faults). When the test
// ends the gateway is closed and its store checked.
func (ax *Axis) Gateway(id string, configure func(*gateway.Options), agencies ...[2]string) *gateway.Gateway {
	t := ax.t
	t.Helper()
	gw := ax.NewGateway(id, configure, agencies...)
	if err := gw.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	return gw
}

// NewGateway is Gateway without Open: no consumer, dispatcher or
// heartbeat runs, and the directory is only what the configuration says
// (the hosted agencies). A test then drives the flows itself, one step at
// a time, through the package's test hooks. It may still Open it. When
// the test ends the gateway is closed and its store checked.
func (ax *Axis) NewGateway(id string, configure func(*gateway.Options), agencies ...[2]string) *gateway.Gateway {
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
	for _, a := range hosted {
		ax.Register(HostedEntry(id, a))
	}
	opts := gateway.Options{
		ID: id, Agencies: hosted, Store: st, Bus: b, Logger: log, Roots: ax.Roots, DirectoryAnchors: ax.Roots,
		DispatchInterval: 100 * time.Millisecond,
	}
	if configure != nil {
		configure(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
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
