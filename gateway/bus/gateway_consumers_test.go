package bus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// TestBus_GatewayConsumers: with Options.GatewayConsumers, two gateways on
// one server read through one consumer each per stream. While packets
// keep coming, the second gateway starts hosting an agency the first one
// hosts and a new agency whose packets waited: every packet reaches one
// gateway, none is lost, the catch-up ends by itself, and the streams are
// left with one consumer per gateway.
func TestBus_GatewayConsumers(t *testing.T) {
	srv := startServer(t, t.TempDir())
	busA := openBus(t, srv.ClientURL(), bus.Options{GatewayConsumers: true, Gateway: "gwA"})
	busB := openBus(t, srv.ClientURL(), bus.Options{GatewayConsumers: true, Gateway: "gwB"})
	w, x, y := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02"), envelope.MustAgencyCode("000.00.00.G03")
	var sent []string
	for i := range 10 {
		id := fmt.Sprintf("y-early-%d", i)
		publish(t, busA, gateway.KindEdoc, y, id, []byte(id))
		sent = append(sent, id)
	}
	colA, colB := newCollector(nil), newCollector(nil)
	consA := consume(t, busA, gateway.ConsumerSpec{Gateway: "gwA", Agencies: []envelope.AgencyCode{w, x}}, colA.handle)

	var pub sync.WaitGroup
	var mu sync.Mutex
	pub.Add(1)
	go func() {
		defer pub.Done()
		for i := range 300 {
			a := []envelope.AgencyCode{w, x, y}[i%3]
			id := fmt.Sprintf("%s-%d", []string{"w", "x", "y"}[i%3], i)
			publish(t, busA, gateway.KindEdoc, a, id, []byte(id))
			mu.Lock()
			sent = append(sent, id)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(150 * time.Millisecond)
	consB := consume(t, busB, gateway.ConsumerSpec{Gateway: "gwB", Agencies: []envelope.AgencyCode{x, y}}, colB.handle)
	pub.Wait()

	by := func() map[string][]string {
		out := map[string][]string{}
		for gw, c := range map[string]*collector{"gwA": colA, "gwB": colB} {
			c.mu.Lock()
			for _, r := range c.all {
				if !slices.Contains(out[r.MsgID], gw) {
					out[r.MsgID] = append(out[r.MsgID], gw)
				}
			}
			c.mu.Unlock()
		}
		return out
	}
	// Drain the collectors' channels so that handlers never block.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, c := range []*collector{colA, colB} {
		go func() {
			for {
				select {
				case <-c.ch:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(by()) < len(sent) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// A packet that reaches both would come to the second while one of
	// them still holds it: once both hold nothing, it would show.
	colA.quiet(t, consA)
	colB.quiet(t, consB)
	got := by()
	for _, id := range sent {
		gws := got[id]
		switch {
		case len(gws) == 0:
			t.Errorf("%s lost", id)
		case len(gws) > 1:
			t.Errorf("%s reached both gateways", id)
		case id[0] == 'w' && gws[0] != "gwA", id[0] == 'y' && gws[0] != "gwB":
			t.Errorf("%s reached %s", id, gws[0])
		}
	}

	// The catch-up ends by itself; one consumer per gateway is left.
	js := rawJetStream(t, srv)
	var names []string
	for time.Now().Before(deadline) {
		names = names[:0]
		st, err := js.Stream(ctx, bus.StreamEdoc)
		if err != nil {
			t.Fatal(err)
		}
		l := st.ListConsumers(ctx)
		for info := range l.Info() {
			names = append(names, info.Name)
		}
		slices.Sort(names)
		if len(names) == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if want := []string{"gwc_edoc_gwA", "gwc_edoc_gwB"}; !slices.Equal(names, want) {
		t.Errorf("consumers on %s: %v, want %v", bus.StreamEdoc, names, want)
	}
}
