package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// TestNATSLink: "nats link" writes a seed only its owner reads and prints
// the user block of its public key with the leaf node's permissions; bad
// command lines are refused with what is missing.
func TestNATSLink(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "h41-link.nk")
	r := run(t, nil, "nats", "link", "-domain", "h41", "-gateway", "nghean",
		"-agency", "000.00.00.H41", "-agency", "000.00.12.H41", "-seed", seed)
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
		`nkey: "` + pub + `"`, "# leaf node h41 (gateways nghean): 000.00.00.H41,000.00.12.H41",
		`.lt.edoc.H41"`, `.lt.status.H41.12"`, `"$JS.hub.API.CONSUMER.CREATE.LT_EDOC.JS_SRC_`,
		`"$JS.hub.API.$KV.LT_GATEWAYS.nghean"`,
		`"$LT.h41.>"`, `"$JS.h41.API.>"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nats link printed no %s:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{`"$JS.S.>"`, `"$JS.hub.API.>"`, `"lt.edoc.>"`, `CREATE.LT_EDOC.>"`, `$KV.LT_DIRECTORY`, `CREATE.LT_EDOC.*.`} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("nats link allows %s:\n%s", bad, r.stdout)
		}
	}
	// Never over an existing seed.
	run(t, nil, "nats", "link", "-domain", "h41", "-gateway", "nghean", "-agency", "000.00.00.H41", "-seed", seed).wantCode(t, 3)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-domain", "h41", "-gateway", "nghean", "-seed", seed + "2"}, "at least one -gateway and one -agency"},
		{[]string{"-domain", "hub", "-gateway", "nghean", "-agency", "000.00.00.H41", "-seed", seed + "2"}, `domain "hub" is the hub's`},
		{[]string{"-domain", "h41", "-gateway", "nghean", "-agency", "H41x", "-seed", seed + "2"}, "H41x"},
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
