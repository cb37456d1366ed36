package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// runInit makes a runnable single-gateway setup in a directory.
func runInit(_ context.Context, m *Main, args []string) error {
	flags := m.newFlagSet("init", "init [-agency CODE -name NAME] [-gateway ID] [-listen ADDR] [-ops-listen ADDR] [-clerk USER] DIR", `
Makes, in the new directory DIR, everything one gateway needs to run on this
machine as an ordinary user: a development CA (DIR/ca), the agency's key and
certificate (DIR/keys), a key for its document-management system (printed
once; the configuration keeps only its SHA-256), a clerk for the web page
(its password printed once; the configuration keeps its bcrypt hash), the
data directory (DIR/data) and DIR/lienthong.yaml, all paths relative to it.
Then:

  lienthong serve -config DIR/lienthong.yaml

The NATS server is embedded and the API and page listen on loopback. For
production see deploy/README.md: a CA the agencies use, the hub, the
directory's administrator.`)
	code := flags.String("agency", "000.00.00.H41", "the agency's `code` (mã định danh)")
	name := flags.String("name", "UBND tỉnh Nghệ An", "the agency's `name`")
	id := flags.String("gateway", "", "the gateway's `id` (default: from the agency code)")
	listen := flags.String("listen", "127.0.0.1:8080", "the API's and the page's `address`")
	opsListen := flags.String("ops-listen", "127.0.0.1:9464", "the operations listener's `address` (/metrics, /healthz, /readyz)")
	clerk := flags.String("clerk", "vanthu", "the clerk's user `name`")
	if err := m.parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return usageError{msg: "init: give one directory", hint: "lienthong init -help"}
	}
	dir := flags.Arg(0)
	c, err := envelope.ParseAgencyCode(*code, envelope.CodeStrict)
	if err != nil {
		return usageError{msg: "init: -agency: " + err.Error(), hint: "lienthong init -help"}
	}
	if *id == "" {
		*id = strings.ToLower(strings.ReplaceAll(c.Tokens(), ".", "-"))
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("init: %s is not empty; refusing to write over what is there", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("init: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	is, err := ca.Issue(signing.IssueRequest{Agency: c.String(), Name: *name})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	prefix := filepath.Join("keys", strings.ReplaceAll(c.String(), ".", "_"))
	if err := is.WriteFiles(filepath.Join(dir, prefix)); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	apiKey, err := randomText(24)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	password, err := randomText(9)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	sum := sha256.Sum256([]byte(apiKey))
	agencyPrefix := filepath.ToSlash(prefix)
	out := []byte(fmt.Sprintf(`gateway:
  id: %q
  dataDir: data              # the store and the embedded NATS server's files
http:
  listen: %q
ops:
  listen: %q                 # /metrics, /healthz, /readyz: keep it on loopback
trust:
  ca: [ca/ca.crt]            # the development CA made here; in production the agencies' CA
  crl: [ca/crl.pem]
agencies:
  - code: %q
    name: %q
    key: %s.key
    cert: %s.crt
apiKeys:
  - name: qlvb               # the document-management system: Authorization: Bearer <its key>
    key: "sha256:%s"
    agencies: [%q]
web:
  clerks:
    - username: %q
      name: %q
      passwordHash: %q
      agencies: [%q]
`, *id, *listen, *opsListen, c.String(), *name, agencyPrefix, agencyPrefix, hex.EncodeToString(sum[:]), c.String(),
		*clerk, "Văn thư "+*name, string(hash), c.String()))
	header := "# Made by \"lienthong init\": one gateway for " + c.String() + " on this machine.\n" +
		"# Every key is documented in deploy/lienthong.example.yaml.\n"
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, append([]byte(header), out...), 0o600); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	// What serve will read, checked as serve checks it.
	loaded, err := LoadConfig(path)
	if err == nil {
		err = loaded.Validate()
	}
	if err != nil {
		return fmt.Errorf("init: the configuration made is not valid: %w", err)
	}
	fmt.Fprintf(m.Stdout, `Đã tạo cổng liên thông cho %s (%s) trong %s / a gateway for it is ready in %s:
  lienthong serve -config %s

Khóa API cho hệ thống QLVB (chỉ hiện một lần) / the DMS's API key (shown once):
  %s
Trang văn thư http://%s/  tên đăng nhập %s, mật khẩu (chỉ hiện một lần) / password (shown once): %s
`, *name, c, dir, dir, path, apiKey, *listen, *clerk, password)
	return nil
}

// randomText returns n random bytes as hex.
func randomText(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
