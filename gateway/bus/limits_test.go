package bus_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/gateway/bus"
)

// TestServer_ConsumerLimit: the packet streams take more than nats-server's
// default of 1,000 consumers (which, with a consumer per agency, held a
// hub to 1,000 agencies), on the embedded server and on a stream made by a
// server whose own default was left alone.
func TestServer_ConsumerLimit(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	b, err := bus.Open(t.Context(), bus.Options{URL: srv.ClientURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxConsumers != bus.MaxConsumersPerStream {
		t.Errorf("%s: MaxConsumers %d, want %d", bus.StreamEdoc, info.Config.MaxConsumers, bus.MaxConsumersPerStream)
	}
	const n = 1001
	for i := range n {
		if _, err := s.CreateConsumer(t.Context(), jetstream.ConsumerConfig{
			Durable: fmt.Sprintf("limit_%d", i), FilterSubject: fmt.Sprintf("lt.edoc.X%d", i), AckPolicy: jetstream.AckExplicitPolicy,
		}); err != nil {
			t.Fatalf("consumer %d of %d: %v", i+1, n, err)
		}
	}
}
