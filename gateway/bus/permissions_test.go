package bus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// TestGatewayPermissions_GatewayConsumer: on a hub whose administrator
// made the per-gateway consumers, a gateway's credentials read and
// acknowledge its own gateway consumer and delete its own finished
// catch-up — and cannot widen its filters, pause it, delete it, read
// another gateway's consumer or make a consumer of its own.
func TestGatewayPermissions_GatewayConsumer(t *testing.T) {
	srv, adminFile, hueSeedFile := authorizingHub(t)
	ctx := t.Context()
	adminBus := openBus(t, srv.ClientURL(), bus.Options{NKeyFile: adminFile})
	adminOpt, err := nats.NkeyOptionFromSeed(adminFile)
	if err != nil {
		t.Fatal(err)
	}
	anc, err := nats.Connect(srv.ClientURL(), adminOpt)
	if err != nil {
		t.Fatal(err)
	}
	defer anc.Close()
	ajs, err := jetstream.New(anc)
	if err != nil {
		t.Fatal(err)
	}
	gwc := func(id, subject string) string {
		name := bus.GatewayConsumerName(id, gateway.KindEdoc)
		if _, err := ajs.CreateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
			Durable: name, AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{subject}}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	hueName, ngheanName := gwc("hue", "lt.edoc.G22"), gwc("nghean", "lt.edoc.H41.12")
	catchUp := bus.CatchUpConsumerName("hue", gateway.KindEdoc)
	if _, err := ajs.CreateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
		Durable: catchUp, AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{"lt.edoc.G22"}}); err != nil {
		t.Fatal(err)
	}
	publish(t, adminBus, gateway.KindEdoc, agencyG22, "for-g22", []byte("for-g22"))
	publish(t, adminBus, gateway.KindEdoc, agencyH41, "for-h41", []byte("for-h41"))

	hueOpt, err := nats.NkeyOptionFromSeed(hueSeedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), hueOpt, nats.CustomInboxPrefix(bus.InboxPrefix("hue")),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the refusals are expected
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	refused := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 700*time.Millisecond) }

	// Its own: read and acknowledge.
	c, err := js.Consumer(ctx, bus.StreamEdoc, hueName)
	if err != nil {
		t.Fatalf("hue's own consumer: %v", err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.DoubleAck(ctx); err != nil {
			t.Errorf("ack on hue's own consumer: %v", err)
		}
	}
	if !slices.Equal(got, []string{"for-g22"}) {
		t.Errorf("hue's consumer gave %q", got)
	}

	// Not another gateway's.
	rctx, cancel := refused()
	if _, err := js.Consumer(rctx, bus.StreamEdoc, ngheanName); err == nil {
		t.Error("hue looked up nghean's consumer")
	}
	cancel()
	if m, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT."+bus.StreamEdoc+"."+ngheanName, []byte(`{"batch":1,"no_wait":true}`), 700*time.Millisecond); err == nil {
		t.Errorf("hue fetched from nghean's consumer: %q", m.Data)
	}
	// Not widen its own filters, nor make a consumer, pause, reset or
	// delete its gateway consumer.
	for what, act := range map[string]func(context.Context) error{
		"widened its filters": func(ctx context.Context) error {
			_, err := js.UpdateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
				Durable: hueName, AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{"lt.edoc.>"}})
			return err
		},
		"made a consumer": func(ctx context.Context) error {
			_, err := js.CreateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
				Durable: "spy", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "lt.edoc.H41.12"})
			return err
		},
		"paused its consumer": func(ctx context.Context) error {
			_, err := js.PauseConsumer(ctx, bus.StreamEdoc, hueName, time.Now().Add(time.Hour))
			return err
		},
		"deleted its gateway consumer": func(ctx context.Context) error {
			return js.DeleteConsumer(ctx, bus.StreamEdoc, hueName)
		},
	} {
		rctx, cancel := refused()
		if err := act(rctx); err == nil {
			t.Errorf("hue %s", what)
		}
		cancel()
	}
	if _, err := nc.Request("$JS.API.CONSUMER.RESET."+bus.StreamEdoc+"."+hueName, nil, 700*time.Millisecond); err == nil {
		t.Error("hue reset its consumer")
	}
	// Every other form of a create: with the filter in the subject, the
	// durable form, and its catch-up's name (after it deleted it).
	wide := fmt.Appendf(nil, `{"stream_name":%q,"config":{"durable_name":%q,"name":%q,"filter_subject":"lt.edoc.>","deliver_policy":"all","ack_policy":"explicit"}}`, bus.StreamEdoc, hueName, hueName)
	for _, subject := range []string{
		"$JS.API.CONSUMER.CREATE." + bus.StreamEdoc + "." + hueName + ".lt.edoc.>",
		"$JS.API.CONSUMER.DURABLE.CREATE." + bus.StreamEdoc + "." + hueName,
		"$JS.API.CONSUMER.CREATE." + bus.StreamEdoc + "." + catchUp,
		"$JS.API.CONSUMER.CREATE." + bus.StreamEdoc,
	} {
		if m, err := nc.Request(subject, wide, 700*time.Millisecond); err == nil {
			t.Errorf("hue sent %s: %s", subject, m.Data)
		}
	}
	info, err := ajs.Consumer(ctx, bus.StreamEdoc, hueName)
	if err != nil {
		t.Fatalf("hue's consumer after the attempts: %v", err)
	}
	if f := info.CachedInfo().Config.FilterSubjects; !slices.Equal(f, []string{"lt.edoc.G22"}) || info.CachedInfo().PauseRemaining > 0 {
		t.Errorf("hue's consumer after the attempts: filters %q, paused %v", f, info.CachedInfo().PauseRemaining)
	}
	if _, err := ajs.Consumer(ctx, bus.StreamEdoc, "spy"); err == nil {
		t.Error("hue's consumer spy exists")
	}

	// Its finished catch-up: delete.
	if err := js.DeleteConsumer(ctx, bus.StreamEdoc, catchUp); err != nil {
		t.Errorf("hue deleting its catch-up: %v", err)
	}
}

// authorizingHub starts a server whose account has an administrator and
// two gateways, hue and nghean, with GatewayPermissions; it returns the
// administrator's and hue's NKey seed files.
func authorizingHub(t *testing.T) (srv *server.Server, adminFile, hueSeedFile string) {
	t.Helper()
	dir := t.TempDir()
	admin, adminSeed := newNKey(t)
	hue, hueSeed := newNKey(t)
	nghean, _ := newNKey(t)
	adminFile = filepath.Join(dir, "admin.nk")
	if err := os.WriteFile(adminFile, []byte(adminSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "hub.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `server_name: hub
listen: "127.0.0.1:-1"
jetstream { store_dir: %q }
accounts {
  LIENTHONG: {
    jetstream: enabled
    users: [
      { nkey: %q }
      %s
      %s
    ]
  }
}
`, filepath.Join(dir, "js"), admin,
		bus.GatewayPermissions("hue", nil).Conf(hue, "gateway hue"),
		bus.GatewayPermissions("nghean", nil).Conf(nghean, "gateway nghean")), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	srv = startRaw(t, opts)
	hueSeedFile = filepath.Join(dir, "hue.nk")
	if err := os.WriteFile(hueSeedFile, []byte(hueSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, adminFile, hueSeedFile
}

// TestBus_GatewayConsumersBound: on a hub whose administrator assigns, a
// gateway with GatewayConsumers and Bind refuses to start before it is
// assigned or when its agencies differ from its assignment, and once
// assigned reads what waited for it (through the catch-up, which it
// deletes when done) and what comes next.
func TestBus_GatewayConsumersBound(t *testing.T) {
	srv, adminFile, hueSeedFile := authorizingHub(t)
	ctx := t.Context()
	adminBus := openBus(t, srv.ClientURL(), bus.Options{NKeyFile: adminFile})
	for i := range 3 {
		publish(t, adminBus, gateway.KindEdoc, agencyG22, fmt.Sprintf("waiting-%d", i), []byte("w"))
	}
	hue := openBus(t, srv.ClientURL(), bus.Options{Bind: true, GatewayConsumers: true, Gateway: "hue", NKeyFile: hueSeedFile, InboxPrefix: bus.InboxPrefix("hue")})
	col := newCollector(nil)
	spec := gateway.ConsumerSpec{Gateway: "hue", Agencies: []envelope.AgencyCode{agencyG22}}
	if _, err := hue.Consume(ctx, spec, col.handle); !errors.Is(err, bus.ErrNoConsumer) || !strings.Contains(err.Error(), "nats setup -gateway hue") {
		t.Fatalf("consume before the assignment: %v, want ErrNoConsumer naming the command", err)
	}
	if err := adminBus.Assign(ctx, bus.Assignment{Gateway: "hue", Agencies: []envelope.AgencyCode{agencyG22}}); err != nil {
		t.Fatal(err)
	}
	// The handover points and the assignment lock are the
	// administrator's: hue can neither read nor write them.
	hueJS := rawJetStreamAs(t, srv, hueSeedFile)
	short, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	if _, err := hueJS.KeyValue(short, bus.BucketHandover); err == nil {
		t.Error("hue opened the handover bucket")
	}
	cancel()
	if err := hueJS.Conn().Publish("$KV."+bus.BucketHandover+".lock.LT_EDOC", []byte("2000-01-01T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := hueJS.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	adminJS := rawJetStreamAs(t, srv, adminFile)
	if kv, err := adminJS.KeyValue(ctx, bus.BucketHandover); err != nil {
		t.Fatal(err)
	} else if _, err := kv.Get(ctx, "lock.LT_EDOC"); err == nil {
		t.Error("hue wrote the assignment lock")
	}
	wider := gateway.ConsumerSpec{Gateway: "hue", Agencies: []envelope.AgencyCode{agencyG22, agencyH41}}
	if _, err := hue.Consume(ctx, wider, col.handle); err == nil || !strings.Contains(err.Error(), "not assigned") {
		t.Fatalf("consume of agencies not assigned: %v", err)
	}
	consume(t, hue, spec, col.handle)
	publish(t, adminBus, gateway.KindEdoc, agencyG22, "after", []byte("a"))
	got, _ := msgIDs(t, col, 4)
	if want := []string{"after", "waiting-0", "waiting-1", "waiting-2"}; !slices.Equal(got, want) {
		t.Errorf("hue got %q, want %q", got, want)
	}
	js := rawJetStreamAs(t, srv, adminFile)
	deadline := time.Now().Add(wait)
	for {
		_, err := js.Consumer(ctx, bus.StreamEdoc, bus.CatchUpConsumerName("hue", gateway.KindEdoc))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hue's catch-up still there after %s: %v", wait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawJetStreamAs connects to srv with an NKey seed file.
func rawJetStreamAs(t *testing.T, srv *server.Server, seedFile string) jetstream.JetStream {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
