package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/lienthong/lienthong/gateway/bus"
)

// TestNATSLink: "nats link" writes a seed only its owner reads and prints
// the user block of its public key with the leaf node's permissions; bad
// command lines are refused with what is missing.
func TestNATSLink(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "h41-link.nk")
	r := run(t, nil, "nats", "link", "-domain", "h41", "-gateway", "nghean", "-seed", seed)
	r.wantCode(t, 0)
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(seed); fi.Mode().Perm() != 0o600 {
		t.Errorf("seed mode %v, want 0600", fi.Mode().Perm())
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	pub, _ := kp.PublicKey()
	for _, want := range []string{
		`nkey: "` + pub + `"`, "# leaf node h41 (gateways nghean)",
		`"$JS.hub.API.CONSUMER.RESET.LT_EDOC.leaf_edoc_h41"`, `"$JS.hub.API.CONSUMER.RESET.LT_STATUS.leafu_status_h41"`,
		`"$JS.hub.API.CONSUMER.INFO.LT_EDOC.leaf_edoc_h41"`,
		`"$JS.hub.API.$KV.LT_GATEWAYS.nghean"`,
		`"$LT.h41.>"`, `"$JS.h41.API.>"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nats link printed no %s:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{`"$JS.S.>"`, `"$JS.hub.API.>"`, `"lt.edoc.>"`, `CREATE.LT_EDOC`, `CREATE.LT_STATUS`, `JS_SRC`, `$KV.LT_DIRECTORY`,
		`PAUSE`, `DELETE.LT_`, `CONSUMER.RESET.LT_EDOC.*`, `CONSUMER.RESET.LT_EDOC.>`} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("nats link allows %s:\n%s", bad, r.stdout)
		}
	}
	// Never over an existing seed.
	run(t, nil, "nats", "link", "-domain", "h41", "-gateway", "nghean", "-seed", seed).wantCode(t, 3)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-domain", "h41", "-seed", seed + "2"}, "at least one -gateway"},
		{[]string{"-domain", "hub", "-gateway", "nghean", "-seed", seed + "2"}, `domain "hub" is the hub's`},
		{[]string{"-domain", "h4.1", "-gateway", "nghean", "-seed", seed + "2"}, `-domain: id "h4.1"`},
		// The agencies are the administrator's, at the hub.
		{[]string{"-domain", "h41", "-gateway", "nghean", "-agency", "000.00.00.H41", "-seed", seed + "2"}, "-agency"},
	} {
		r := run(t, nil, append([]string{"nats", "link"}, tt.args...)...)
		r.wantCode(t, 2)
		r.wantStderr(t, tt.want)
	}
}

// TestNATSUserLeaf: a gateway's user on its leaf node has no permission
// list.
func TestNATSUserLeaf(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "nghean.nk")
	r := run(t, nil, "nats", "user", "-leaf", "-gateway", "nghean", "-seed", seed)
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "# gateway nghean on its province's leaf node\n{ nkey: \"U") || strings.Contains(r.stdout, "permissions") {
		t.Errorf("nats user -leaf printed:\n%s", r.stdout)
	}
	r = run(t, nil, "nats", "user", "-leaf", "-gateway", "nghean", "-agency", "000.00.00.H41", "-seed", seed+"2")
	r.wantCode(t, 2)
	r.wantStderr(t, "-leaf takes no -agency")
}

// TestNATSSetupGateway: "nats setup -gateway" assigns a gateway its
// agencies in one consumer per stream, and again with another list moves
// them; without -agency it is refused.
func TestNATSSetupGateway(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	url := srv.ClientURL()
	r := run(t, nil, "nats", "setup", "-url", url, "-replicas", "1", "-gateway", "nghean", "-agency", "000.00.00.H41", "-agency", "000.00.12.H41")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "gateway nghean assigned 2 agencies: consumers gwc_edoc_nghean and gwc_status_nghean ready") {
		t.Errorf("nats setup -gateway printed:\n%s", r.stdout)
	}
	run(t, nil, "nats", "setup", "-url", url, "-replicas", "1", "-gateway", "vpcp", "-agency", "000.00.12.H41", "-agency", "000.00.00.G22").wantCode(t, 0)

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"gwc_edoc_nghean": {"lt.edoc.H41"},
		"gwc_edoc_vpcp":   {"lt.edoc.G22", "lt.edoc.H41.12"},
	} {
		c, err := js.Consumer(t.Context(), bus.StreamEdoc, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg := c.CachedInfo().Config
		got := cfg.FilterSubjects
		if cfg.FilterSubject != "" {
			got = []string{cfg.FilterSubject}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s filters %v, want %v (H41.12 moved to vpcp)", name, got, want)
		}
	}
	// What the hub holds, as the administrator sees it.
	r = run(t, nil, "nats", "status", "-url", url)
	r.wantCode(t, 0)
	collapse := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, want := range []string{
		"nghean LT_EDOC gwc_edoc_nghean 1 0 0 0 0 no no -",
		"vpcp LT_EDOC gwc_edoc_vpcp 2 0 0 0 0 no no -",
		"vpcp LT_STATUS gwc_status_vpcp 2 ",
		"per-agency consumers (ag_…): 0, 0 of them retired (paused)",
		"hand-over points kept: 2",
		"catch-ups recorded, not yet made: none",
		"assignment locks held: none",
	} {
		if !strings.Contains(collapse(r.stdout), want) {
			t.Errorf("nats status has no %q:\n%s", want, r.stdout)
		}
	}
	// A leaf node's consumer left half made again (its record, as an
	// assignment that died leaves it, recording G23): status lists it
	// with the way out for a leaf out of reach, a gateway's assignment
	// adding G23 is refused, naming the command that finishes it and the
	// record's key; one adding nothing of it (a gateway starting with its
	// assignment unchanged) is not.
	hkv, err := js.KeyValue(t.Context(), bus.BucketHandover)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hkv.Put(t.Context(), "remake.LT_EDOC.leaf_edoc_h41", []byte(`{"config":{"name":"leaf_edoc_h41","filter_subjects":["lt.edoc.G23"]},"starts":{"lt.edoc.G23":5},"from":5}`)); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "nats", "status", "-url", url)
	r.wantCode(t, 0)
	for _, want := range []string{"leaf consumers' remakes left half-done: LT_EDOC.leaf_edoc_h41", "do not delete the record"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nats status has no %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, nil, "nats", "setup", "-url", url, "-replicas", "1", "-gateway", "vpcp", "-agency", "000.00.12.H41", "-agency", "000.00.00.G22", "-agency", "000.00.00.G23")
	if r.code == 0 {
		t.Errorf("nats setup -gateway adding a subject of a leaf consumer's remake pending: not refused:\n%s", r.stdout)
	}
	r.wantStderr(t, "nats setup -leaf h41")
	r.wantStderr(t, "remake.LT_EDOC.leaf_edoc_h41")
	r.wantStderr(t, "do not delete the record")
	run(t, nil, "nats", "setup", "-url", url, "-replicas", "1", "-gateway", "vpcp", "-agency", "000.00.12.H41", "-agency", "000.00.00.G22").wantCode(t, 0)
	if err := hkv.Delete(t.Context(), "remake.LT_EDOC.leaf_edoc_h41"); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "nats", "setup", "-url", url, "-gateway", "nghean")
	r.wantCode(t, 2)
	r.wantStderr(t, "-gateway needs every agency")

	// Its user needs no agency list.
	r = run(t, nil, "nats", "user", "-gateway", "nghean", "-gateway-consumers", "-seed", filepath.Join(t.TempDir(), "nghean.nk"))
	r.wantCode(t, 0)
	for _, want := range []string{`"$JS.API.CONSUMER.MSG.NEXT.LT_EDOC.gwc_edoc_nghean"`, `"$JS.API.CONSUMER.DELETE.LT_STATUS.gwu_status_nghean"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nats user -gateway-consumers printed no %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "ag_") || strings.Contains(r.stdout, "CONSUMER.CREATE.LT_") {
		t.Errorf("nats user -gateway-consumers grants per-agency consumers or creates:\n%s", r.stdout)
	}

	// Start points edited by hand: the administrator is told which
	// consumer its gateway no longer reads, and what to do.
	c, err := js.Consumer(t.Context(), bus.StreamEdoc, "gwc_edoc_vpcp")
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	cfg.Metadata = map[string]string{"lt.starts.0": "1 0 1 1 1 0Alt.edoc.G22"}
	if _, err := js.UpdateConsumer(t.Context(), bus.StreamEdoc, cfg); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "nats", "status", "-url", url)
	r.wantCode(t, 0)
	for _, want := range []string{
		"gwc_edoc_vpcp on LT_EDOC: start points unreadable: ",
		"lt.starts.0",
		"delete it (nats consumer rm LT_EDOC gwc_edoc_vpcp) and assign the gateway again",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nats status has no %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "gwc_edoc_nghean on LT_EDOC: start points unreadable") {
		t.Errorf("nats status calls a readable consumer unreadable:\n%s", r.stdout)
	}
}

// TestNATSSetupSubtreeDirectory: a subtree is not delegated to a gateway
// while the directory says an agency under it is hosted by another
// (docs/design/consumers.md §2.1): the command names the agency and its
// gateway and makes no consumer. Once the record names the gateway, it
// goes through.
func TestNATSSetupSubtreeDirectory(t *testing.T) {
	dir := t.TempDir()
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	url := srv.ClientURL()
	run(t, nil, "nats", "setup", "-url", url, "-replicas", "1").wantCode(t, 0)
	_, issue := administrators(t, dir)
	issue("h41", "-agency", "000.00.00.H41", "-name", "UBND tỉnh Nghệ An")
	issue("soyte", "-agency", "000.00.12.H41", "-name", "Sở Y tế")
	admin := []string{"-admin-key", filepath.Join(dir, "admin.key"), "-admin-cert", filepath.Join(dir, "admin.crt"), "-url", url}
	put := func(code, name, gw, cert string) {
		t.Helper()
		run(t, nil, append([]string{"directory", "put", "-code", code, "-name", name, "-gateway", gw, "-cert", filepath.Join(dir, cert)}, admin...)...).wantCode(t, 0)
	}
	put("000.00.00.H41", "UBND tỉnh Nghệ An", "nghean", "h41.crt")
	put("000.00.12.H41", "Sở Y tế", "soyte-gw", "soyte.crt")
	// G22, outside the subtree, hosted elsewhere: not in the way.
	issue("g22", "-agency", "000.00.00.G22", "-name", "Văn phòng Chính phủ")
	put("000.00.00.G22", "Văn phòng Chính phủ", "vpcp", "g22.crt")

	setup := []string{"nats", "setup", "-url", url, "-replicas", "1", "-gateway", "nghean", "-agency", "000.00.00.H41", "-subtree", "000.00.00.H41"}
	r := run(t, nil, setup...)
	if r.code == 0 {
		t.Fatalf("a subtree over Sở Y tế, which the directory says soyte-gw hosts, was delegated to nghean:\n%s", r.stdout)
	}
	r.wantStderr(t, "000.00.12.H41 (soyte-gw)")
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Consumer(t.Context(), bus.StreamEdoc, "gwc_edoc_nghean"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the refused assignment made gwc_edoc_nghean: %v", err)
	}

	put("000.00.12.H41", "Sở Y tế", "nghean", "soyte.crt")
	run(t, nil, setup...).wantCode(t, 0)
	if _, err := js.Consumer(t.Context(), bus.StreamEdoc, "gwc_edoc_nghean"); err != nil {
		t.Errorf("gwc_edoc_nghean once the directory agrees: %v", err)
	}
}
