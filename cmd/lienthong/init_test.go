package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/internal/nettest"
)

// TestInit: "lienthong init" makes a directory from which "lienthong
// serve" runs as it is — as an ordinary user (nobody, when the test runs
// as root) — and whose printed API key and clerk password work; a
// directory that is not empty is refused.
func TestInit(t *testing.T) {
	root := t.TempDir()
	bin := buildLienthong(t, t.TempDir())
	dir := filepath.Join(root, "gw")
	api := "127.0.0.1:" + strconv.Itoa(nettest.Port(t))
	ops := "127.0.0.1:" + strconv.Itoa(nettest.Port(t))
	keyFile := filepath.Join(root, "dms.key")
	r := run(t, nil, "init", "-listen", api, "-ops-listen", ops, "-host", "000.00.12.H41=Sở Y tế tỉnh Nghệ An", "-key-out", keyFile, dir)
	r.wantCode(t, 0)
	key := regexp.MustCompile(`\(shown once\):\n\s+(\S+)\n`).FindStringSubmatch(r.stdout)
	password := regexp.MustCompile(`password \(shown once\): (\S+)`).FindStringSubmatch(r.stdout)
	if key == nil || password == nil {
		t.Fatalf("init printed no key or password:\n%s", r.stdout)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "lienthong.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cfg.APIKeys[0].Key, key[1]) {
		t.Error("the configuration holds the API key itself, not its digest")
	}
	if len(cfg.Agencies) != 2 || cfg.Agencies[1].Code != "000.00.12.H41" || cfg.Agencies[1].Name != "Sở Y tế tỉnh Nghệ An" ||
		!slices.Equal(cfg.APIKeys[0].Agencies, []string{"000.00.00.H41", "000.00.12.H41"}) ||
		!slices.Equal(cfg.Web.Clerks[0].Agencies, cfg.APIKeys[0].Agencies) {
		t.Errorf("hosted %+v, the key for %v, the clerk for %v: want H41 and its Sở Y tế for both", cfg.Agencies, cfg.APIKeys[0].Agencies, cfg.Web.Clerks[0].Agencies)
	}
	if b, err := os.ReadFile(keyFile); err != nil || strings.TrimSpace(string(b)) != key[1] {
		t.Errorf("-key-out holds %q (%v), want the printed key", b, err)
	}
	wantPerm(t, keyFile, 0o600)
	for _, bad := range [][]string{
		{"-host", "000.00.12.H41"},                   // no name
		{"-host", "000.00.00.H41=UBND tỉnh Nghệ An"}, // the agency twice
		{"-host", "Sở Y tế=000.00.12.H41"},           // the wrong way round
	} {
		if r := run(t, nil, append(append([]string{"init"}, bad...), filepath.Join(root, "other"))...); r.code != exitUsage {
			t.Errorf("init %v: exit %d, want %d", bad, r.code, exitUsage)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "other")); err == nil {
		t.Error("a refused init made its directory")
	}
	if err := bcrypt.CompareHashAndPassword([]byte(cfg.Web.Clerks[0].PasswordHash), []byte(password[1])); err != nil {
		t.Errorf("the printed password is not the clerk's: %v", err)
	}
	if r := run(t, nil, "init", dir); r.code == 0 || !strings.Contains(r.err.Error(), "not empty") {
		t.Errorf("init over a directory in use: exit %d, %v", r.code, r.err)
	}

	cmd := exec.Command(bin, "serve", "-config", filepath.Join(dir, "lienthong.yaml"))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIENTHONG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if os.Geteuid() == 0 {
		// As nobody: everything serve needs is in the directory.
		const nobody = 65534
		for _, d := range []string{root, filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), filepath.Dir(root)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, nobody, nobody)
		}); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		cmd.Env = append(cmd.Env, "HOME="+dir)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve after SIGTERM: %v\n%s", err, out.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop:\n%s", out.String())
		}
	}()
	waitUntil(t, 60*time.Second, "the API with the printed key", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, out.String())
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+api+"/api/v1/documents", nil)
		req.Header.Set("Authorization", "Bearer "+key[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/documents with the printed key: %s", res.Status)
		}
		return true
	})
}

// TestInit_Communes: -communes hosts that many more agencies, each with
// its own code and certificate, for measuring a province's gateway at
// size; the configuration validates.
func TestInit_Communes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	run(t, nil, "init", "-communes", "120", dir).wantCode(t, 0)
	cfg, err := LoadConfig(filepath.Join(dir, "lienthong.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Agencies) != 121 {
		t.Fatalf("%d agencies, want the province and 120 communes", len(cfg.Agencies))
	}
	seen := map[string]bool{}
	for _, a := range cfg.Agencies {
		if seen[a.Code] {
			t.Errorf("%s twice", a.Code)
		}
		seen[a.Code] = true
		if _, err := os.Stat(a.Cert); err != nil {
			t.Errorf("%s: %v", a.Code, err)
		}
	}
	run(t, nil, "init", "-communes", "-1", filepath.Join(t.TempDir(), "x")).wantCode(t, exitUsage)
}
