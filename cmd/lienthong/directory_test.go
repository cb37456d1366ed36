package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/lienthong/lienthong/gateway/bus"
)

// TestDirectoryCommands: the administrator registers agencies and a
// gateway with "directory put" and "import", a province's delegated
// administrator only its own subtree, records signed offline are imported
// as they are, and "show" verifies what is stored as gateways do, naming
// what they would ignore.
func TestDirectoryCommands(t *testing.T) {
	dir := t.TempDir()
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	// A gateway makes the streams and buckets (on a hub, "nats setup").
	b, err := bus.Open(t.Context(), bus.Options{URL: srv.ClientURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := srv.ClientURL()

	ca, issue := administrators(t, dir)
	issue("g22", "-agency", "000.00.00.G22", "-name", "Văn phòng Chính phủ")
	issue("h41", "-agency", "000.00.00.H41", "-name", "UBND tỉnh Nghệ An")
	issue("soyte", "-agency", "000.00.12.H41", "-name", "Sở Y tế")
	issue("nghean-gw", "-agency", "000.00.00.H41", "-name", "Cổng Nghệ An", "-gateway")
	admin := []string{"-admin-key", filepath.Join(dir, "admin.key"), "-admin-cert", filepath.Join(dir, "admin.crt"), "-url", url}
	province := []string{"-admin-key", filepath.Join(dir, "nghean-admin.key"), "-admin-cert", filepath.Join(dir, "nghean-admin.crt"), "-url", url}

	r := run(t, nil, append([]string{"directory", "put", "-code", "000.00.00.G22", "-name", "Văn phòng Chính phủ", "-gateway", "vpcp",
		"-cert", filepath.Join(dir, "g22.crt")}, admin...)...)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "G22\tagency 000.00.00.G22") {
		t.Errorf("directory put printed %q", r.stdout)
	}
	entries := filepath.Join(dir, "nghean.yaml")
	if err := os.WriteFile(entries, []byte(`agencies:
  - code: 000.00.00.H41
    name: UBND tỉnh Nghệ An
    gateway: nghean
    certificates: [h41.crt]
  - code: 000.00.12.H41
    name: Sở Y tế tỉnh Nghệ An
    parent: 000.00.00.H41
    gateway: nghean
    certificates: [soyte.crt]
gateways:
  - id: nghean
    certificates: [nghean-gw.crt]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, nil, append([]string{"directory", "import", "-f", entries}, province...)...).wantCode(t, 0)

	// Beyond its scope, the province's administrator is refused before
	// anything is published.
	r = run(t, nil, append([]string{"directory", "put", "-code", "000.00.00.G18", "-name", "Bộ Y tế", "-gateway", "nghean",
		"-cert", filepath.Join(dir, "h41.crt")}, province...)...)
	if r.code == 0 || !strings.Contains(r.err.Error(), "does not cover agency 000.00.00.G18") {
		t.Errorf("a delegated administrator put G18's entry: exit %d, %v", r.code, r.err)
	}
	// An agency's key is not an administrator's.
	r = run(t, nil, "directory", "put", "-code", "000.00.00.G18", "-name", "Bộ Y tế", "-gateway", "x",
		"-admin-key", filepath.Join(dir, "h41.key"), "-admin-cert", filepath.Join(dir, "h41.crt"), "-url", url)
	if r.code == 0 || !strings.Contains(r.err.Error(), "not a directory administrator") {
		t.Errorf("an agency's key signed an entry: exit %d, %v", r.code, r.err)
	}

	// Signed offline, imported as it is.
	offline := filepath.Join(dir, "byt.yaml")
	if err := os.WriteFile(offline, []byte("agencies:\n  - {code: 000.00.00.G18, name: Bộ Y tế, gateway: byt}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	records := filepath.Join(dir, "byt.jsonl")
	run(t, nil, "directory", "sign", "-f", offline, "-admin-key", filepath.Join(dir, "admin.key"), "-admin-cert", filepath.Join(dir, "admin.crt"), "-o", records).wantCode(t, 0)
	run(t, nil, "directory", "import", "-signed", records, "-url", url).wantCode(t, 0)

	anchor := filepath.Join(ca, "ca.crt")
	r = run(t, nil, "directory", "show", "-anchor", anchor, "-url", url)
	r.wantCode(t, 0)
	for _, want := range []string{"G22 ", "H41 ", "H41.12 ", "G18 ", "gw.nghean ", "Sở Y tế tỉnh Nghệ An", "Quản trị Nghệ An"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("directory show does not list %q:\n%s", want, r.stdout)
		}
	}
	// What a hostile writer puts is shown as ignored, and show fails.
	if err := b.PutRecord(t.Context(), "G18", []byte(`{"code":"000.00.00.G18","name":"Bộ Y tế","certificates":[]}`)); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "directory", "show", "-anchor", anchor, "-url", url, "G18", "000.00.00.G22")
	r.wantCode(t, 1)
	if !strings.Contains(r.stdout, "IGNORED") || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("directory show G18 G22 after a forgery:\n%s", r.stdout)
	}

	// Export, then remove: the removal is newer than the entry.
	export := filepath.Join(dir, "export.jsonl")
	run(t, nil, "directory", "export", "-url", url, "-o", export).wantCode(t, 0)
	if b, err := os.ReadFile(export); err != nil || strings.Count(string(b), "\n") != 5 {
		t.Errorf("export: %d lines, %v", strings.Count(string(b), "\n"), err)
	}
	run(t, nil, append([]string{"directory", "remove", "-code", "000.00.00.G18"}, admin...)...).wantCode(t, 0)
	r = run(t, nil, "directory", "show", "-anchor", anchor, "-url", url, "G18", "gw.nghean")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "removed") || !strings.Contains(r.stdout, "gateway nghean") {
		t.Errorf("after the removal:\n%s", r.stdout)
	}
	// The export, older than what is stored now, is not published over it
	// unless asked: a gateway restarting would take the older records.
	r = run(t, nil, "directory", "import", "-signed", export, "-url", url)
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr+r.err.Error(), "not newer than the stored") {
		t.Errorf("import of an old export: %v\n%s", r.err, r.stderr)
	}
	r = run(t, nil, "directory", "show", "-anchor", anchor, "-url", url, "G18")
	if !strings.Contains(r.stdout, "removed") {
		t.Errorf("an old export replaced the removal:\n%s", r.stdout)
	}
}

// TestDirectoryDelegatedNATS: a province's directory administrator, with
// the NKey "nats admin" makes, writes its own subtree's entries and not
// another's, even with a record an administrator of the whole directory
// signed.
func TestDirectoryDelegatedNATS(t *testing.T) {
	dir := t.TempDir()
	provinceSeed := filepath.Join(dir, "nghean-admin.nk")
	r := run(t, nil, "nats", "admin", "-id", "nghean-admin", "-directory-scope", "000.00.00.H41", "-directory-scope", "gw:nghean", "-seed", provinceSeed)
	r.wantCode(t, 0)
	for _, want := range []string{`"$KV.LT_DIRECTORY.H41"`, `"$KV.LT_DIRECTORY.H41.>"`, `"$KV.LT_DIRECTORY.gw.nghean"`, `"_INBOX_dir_nghean-admin.>"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nats admin printed no %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, `"$KV.LT_DIRECTORY.>"`) {
		t.Errorf("nats admin allows the whole directory:\n%s", r.stdout)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	adminPub, _ := kp.PublicKey()
	adminSeedBytes, _ := kp.Seed()
	adminSeed := filepath.Join(dir, "admin.nk")
	if err := os.WriteFile(adminSeed, adminSeedBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`listen: "127.0.0.1:-1"
jetstream { store_dir: %q }
accounts { LIENTHONG: { jetstream: enabled, users: [ { nkey: %q }
%s ] } }
`, filepath.Join(dir, "js"), adminPub, r.stdout)), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	url := srv.ClientURL()
	run(t, nil, "nats", "setup", "-url", url, "-nkey", adminSeed, "-replicas", "1").wantCode(t, 0)

	ca, issue := administrators(t, dir)
	issue("soyte", "-agency", "000.00.12.H41", "-name", "Sở Y tế")
	province := []string{"-url", url, "-nkey", provinceSeed, "-user", "nghean-admin", "-timeout", "2s"}

	run(t, nil, append([]string{"directory", "put", "-code", "000.00.12.H41", "-name", "Sở Y tế", "-gateway", "nghean", "-cert", filepath.Join(dir, "soyte.crt"),
		"-admin-key", filepath.Join(dir, "nghean-admin.key"), "-admin-cert", filepath.Join(dir, "nghean-admin.crt")}, province...)...).wantCode(t, 0)
	// The national administrator's record of G18, through the province's
	// connection: NATS refuses the write.
	r = run(t, nil, append([]string{"directory", "put", "-code", "000.00.00.G18", "-name", "Bộ Y tế", "-gateway", "byt",
		"-admin-key", filepath.Join(dir, "admin.key"), "-admin-cert", filepath.Join(dir, "admin.crt")}, province...)...)
	if r.code == 0 {
		t.Fatal("the province's NATS credentials wrote G18's entry")
	}
	r = run(t, nil, "directory", "show", "-anchor", filepath.Join(ca, "ca.crt"), "-url", url, "-nkey", adminSeed)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "H41.12 ") || strings.Contains(r.stdout, "G18") {
		t.Errorf("the directory after the province's writes:\n%s", r.stdout)
	}
}

// administrators makes a development CA in dir/ca with the command, and
// two directory administrators' keys from it: dir/admin (the whole
// directory) and dir/nghean-admin (H41 and gw:nghean). It returns the CA's
// directory and a function issuing more certificates into dir.
func administrators(t *testing.T, dir string) (string, func(out string, args ...string)) {
	t.Helper()
	ca := filepath.Join(dir, "ca")
	run(t, nil, "pki", "init", "-bits", "2048", ca).wantCode(t, 0)
	issue := func(out string, args ...string) {
		t.Helper()
		run(t, nil, append([]string{"pki", "issue", "-ca", ca, "-out", filepath.Join(dir, out)}, args...)...).wantCode(t, 0)
	}
	issue("admin", "-agency", "000.00.00.G22", "-name", "Quản trị trục", "-directory-scope", "*")
	issue("nghean-admin", "-agency", "000.00.00.H41", "-name", "Quản trị Nghệ An", "-directory-scope", "H41", "-directory-scope", "gw:nghean")
	return ca, issue
}

// TestDirectoryAxisFormats: the national axis's agency list (its
// getAgenciesList answer) and CSV are imported — parents from pid, old
// codes, the gateway given — a row with a bad code stops the import
// unless -skip-invalid; and the directory is exported in both forms, which
// import again to the same agencies.
func TestDirectoryAxisFormats(t *testing.T) {
	dir := t.TempDir()
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	b, err := bus.Open(t.Context(), bus.Options{URL: srv.ClientURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := srv.ClientURL()
	_, issue := administrators(t, dir)
	admin := []string{"-admin-key", filepath.Join(dir, "admin.key"), "-admin-cert", filepath.Join(dir, "admin.crt"), "-url", url}
	// UBND tỉnh Nghệ An is on lienthong already, with its certificate.
	issue("h41", "-agency", "000.00.00.H41", "-name", "UBND tỉnh Nghệ An")
	run(t, nil, append([]string{"directory", "put", "-code", "000.00.00.H41", "-name", "UBND tỉnh Nghệ An", "-gateway", "nghean",
		"-cert", filepath.Join(dir, "h41.crt")}, admin...)...).wantCode(t, 0)

	axis := filepath.Join(dir, "agencies.json")
	if err := os.WriteFile(axis, []byte(`{"status":"OK","ErrorCode":"0","ErrorDesc":"Thanh cong","data":[
 {"id":"101","pid":"0","code":"000.00.00.H41","name":"UBND tỉnh Nghệ An","mail":"","oldCode":""},
 {"id":102,"pid":101,"code":"000.00.31.H41","name":"UBND xã Nghi Phong","mail":"","oldCode":"000.27.31.H41"},
 {"id":"103","pid":"101","code":"bad code","name":"Không đọc được","mail":"","oldCode":""}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, append([]string{"directory", "import", "-f", axis, "-gateway", "vxp"}, admin...)...)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "item 3", "bad code", "-skip-invalid")
	r = run(t, nil, append([]string{"directory", "import", "-f", axis, "-gateway", "vxp", "-skip-invalid"}, admin...)...)
	r.wantCode(t, 0)
	r.wantStderr(t, "skipped", "item 3")
	if !strings.Contains(r.stdout, "H41\tkept as it is") {
		t.Errorf("the agency already registered is not kept:\n%s", r.stdout)
	}
	// A file giving one agency twice is refused.
	twice := filepath.Join(dir, "twice.csv")
	if err := os.WriteFile(twice, []byte("code,name,gateway\n000.00.20.H41,A,vxp\n000.00.20.H41,B,vxp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, append([]string{"directory", "import", "-f", twice}, admin...)...)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "are both 000.00.20.H41")

	csvFile := filepath.Join(dir, "agencies.csv")
	if err := os.WriteFile(csvFile, []byte("\ufeffcode,name,parent,kind,gateway,oldCodes\n000.00.12.H41,Sở Y tế tỉnh Nghệ An,000.00.00.H41,department,nghean,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, nil, append([]string{"directory", "import", "-f", csvFile}, admin...)...).wantCode(t, 0)

	for _, format := range []string{"axis", "csv"} {
		out := filepath.Join(dir, "export."+map[string]string{"axis": "json", "csv": "csv"}[format])
		run(t, nil, "directory", "export", "-url", url, "-format", format, "-o", out).wantCode(t, 0)
		text, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"000.00.31.H41", "UBND xã Nghi Phong", "000.27.31.H41", "000.00.12.H41"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("-format %s does not have %q:\n%s", format, want, text)
			}
		}
		f, err := readDirectoryFile(out, "vxp", false, io.Discard)
		if err != nil {
			t.Fatalf("the %s export does not import: %v", format, err)
		}
		if len(f.Agencies) != 3 {
			t.Errorf("the %s export imports %d agencies, want 3: %+v", format, len(f.Agencies), f.Agencies)
		}
		for _, a := range f.Agencies {
			if a.Code == "000.00.31.H41" && (a.Parent != "000.00.00.H41" || len(a.OldCodes) != 1 || a.OldCodes[0] != "000.27.31.H41") {
				t.Errorf("the %s export's commune: %+v", format, a)
			}
			if format == "csv" && a.Code == "000.00.00.H41" && a.Gateway != "nghean" {
				t.Errorf("the province kept is exported on gateway %q, want nghean", a.Gateway)
			}
		}
	}
	r = run(t, nil, "directory", "export", "-url", url, "-format", "xml")
	r.wantCode(t, exitUsage)
}
