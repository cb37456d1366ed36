package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
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
	flags := m.newFlagSet("init", "init [-agency CODE -name NAME] [-host CODE=NAME]… [-gateway ID] [-listen ADDR] [-ops-listen ADDR] [-clerk USER] [-key-out FILE] DIR", `
Makes, in the new directory DIR, everything one gateway needs to run on this
machine as an ordinary user: a development CA (DIR/ca), each hosted agency's
key and certificate (DIR/keys), a key for their document-management system
(printed once; the configuration keeps only its SHA-256), a clerk for the
web page (its password printed once; the configuration keeps its bcrypt
hash), the data directory (DIR/data) and DIR/lienthong.yaml, all paths
relative to it. Then:

  lienthong serve -config DIR/lienthong.yaml

The gateway hosts the agency of -agency and -name, and every -host
CODE=NAME (a province's gateway hosts its departments and communes: -host
"000.00.12.H41=Sở Y tế tỉnh Nghệ An"). With no directory administrator
these agencies exchange among themselves; to reach others, see
deploy/README.md: a CA the agencies use, the hub, the directory's
administrator. The NATS server is embedded and the API and page listen on
loopback.

-key-out FILE also writes the API key to FILE (mode 0600, refused if it
exists), for a script that goes on with it; keep it no longer than needed.`)
	code := flags.String("agency", "000.00.00.H41", "the agency's `code` (mã định danh)")
	name := flags.String("name", "UBND tỉnh Nghệ An", "the agency's `name`")
	var hosts listFlag
	flags.Var(&hosts, "host", "also host the agency `CODE=NAME` (repeat for each)")
	id := flags.String("gateway", "", "the gateway's `id` (default: from the agency code)")
	listen := flags.String("listen", "127.0.0.1:8080", "the API's and the page's `address`")
	opsListen := flags.String("ops-listen", "127.0.0.1:9464", "the operations listener's `address` (/metrics, /healthz, /readyz)")
	clerk := flags.String("clerk", "vanthu", "the clerk's user `name`")
	keyOut := flags.String("key-out", "", "also write the API key to this `file` (mode 0600)")
	communes := flags.Int("communes", 0, "also host this `many` made-up communes under the agency's province, all certified with one key: a province's gateway at size, to measure")
	if err := m.parseFlags(flags, args); err != nil {
		return err
	}
	const hint = "lienthong init -help"
	if flags.NArg() != 1 {
		return usageError{msg: "init: give one directory", vi: "Cần đúng một thư mục.", hint: hint}
	}
	dir := flags.Arg(0)
	type hosted struct {
		code envelope.AgencyCode
		name string
	}
	var agencies []hosted
	seen := map[string]bool{}
	add := func(flag, code, name string) error {
		c, err := envelope.ParseAgencyCode(code, envelope.CodeStrict)
		if err != nil {
			return usageError{msg: "init: " + flag + ": " + err.Error(), vi: fmt.Sprintf("Mã cơ quan %s %q không đúng.", flag, code), hint: hint}
		}
		if strings.TrimSpace(name) == "" {
			return usageError{msg: fmt.Sprintf("init: %s: the agency %s has no name", flag, c), vi: fmt.Sprintf("Cơ quan %s chưa có tên.", c), hint: hint}
		}
		if seen[c.Tokens()] {
			return usageError{msg: fmt.Sprintf("init: %s: the agency %s is given twice", flag, c), vi: fmt.Sprintf("Cơ quan %s được cho hai lần.", c), hint: hint}
		}
		seen[c.Tokens()] = true
		agencies = append(agencies, hosted{c, strings.TrimSpace(name)})
		return nil
	}
	if err := add("-agency", *code, *name); err != nil {
		return err
	}
	for _, h := range hosts {
		code, name, ok := strings.Cut(h, "=")
		if !ok {
			return usageError{msg: fmt.Sprintf("init: -host %q: want CODE=NAME", h), vi: fmt.Sprintf("-host %q phải viết MÃ=TÊN.", h), hint: hint}
		}
		if err := add("-host", code, name); err != nil {
			return err
		}
	}
	if *communes < 0 || *communes > 20000 {
		return usageError{msg: fmt.Sprintf("init: -communes %d: want 0 to 20000", *communes), vi: fmt.Sprintf("-communes %d không dùng được: từ 0 đến 20000.", *communes), hint: hint}
	}
	province := agencies[0].code.Groups()[0]
	for i := 1; i <= *communes; i++ {
		// VVV.ZZ.YY.<province>, every group from 01 (00 is the level
		// above): made-up codes, each once.
		code := fmt.Sprintf("%03d.%02d.%02d.%s", 1+i/9801, 1+i%99, 1+(i/99)%99, province)
		if err := add("-communes", code, fmt.Sprintf("UBND xã số %d", i)); err != nil {
			return err
		}
	}
	first := agencies[0]
	if *id == "" {
		*id = strings.ToLower(strings.ReplaceAll(first.code.Tokens(), ".", "-"))
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return withVI(fmt.Errorf("init: %s is not empty; refusing to write over what is there", dir), "Thư mục %q không trống; không ghi đè lên những gì đã có.", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	if *keyOut != "" {
		if _, err := os.Lstat(*keyOut); err == nil {
			return withVI(fmt.Errorf("init: -key-out %s already exists; refusing to write over it", *keyOut), "Tệp -key-out %q đã có; không ghi đè.", *keyOut)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{})
	if err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	var agencyLines, codes strings.Builder
	// The made-up communes share a key: making thousands of RSA keys would
	// take minutes.
	var shared *rsa.PrivateKey
	if *communes > 0 {
		if shared, err = rsa.GenerateKey(rand.Reader, signing.DefaultKeyBits); err != nil {
			return withVI(fmt.Errorf("init: %w", err), "Không tạo được khóa cho các xã")
		}
	}
	for i, a := range agencies {
		req := signing.IssueRequest{Agency: a.code.String(), Name: a.name}
		if i > len(agencies)-1-*communes {
			req.Key = shared
		}
		is, err := ca.Issue(req)
		if err != nil {
			return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
		}
		prefix := filepath.Join("keys", strings.ReplaceAll(a.code.String(), ".", "_"))
		if err := is.WriteFiles(filepath.Join(dir, prefix)); err != nil {
			return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
		}
		p := filepath.ToSlash(prefix)
		fmt.Fprintf(&agencyLines, "  - code: %q\n    name: %q\n    key: %s.key\n    cert: %s.crt\n", a.code.String(), a.name, p, p)
		if i > 0 {
			codes.WriteString(", ")
		}
		fmt.Fprintf(&codes, "%q", a.code.String())
	}
	apiKey, err := randomText(24)
	if err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	password, err := randomText(9)
	if err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	sum := sha256.Sum256([]byte(apiKey))
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
%sapiKeys:
  - name: qlvb               # the document-management system: Authorization: Bearer <its key>
    key: "sha256:%s"
    agencies: [%s]
web:
  clerks:
    - username: %q
      name: %q
      passwordHash: %q
      agencies: [%s]
`, *id, *listen, *opsListen, agencyLines.String(), hex.EncodeToString(sum[:]), codes.String(),
		*clerk, "Văn thư "+first.name, string(hash), codes.String()))
	header := "# Made by \"lienthong init\": one gateway for " + first.code.String() + " on this machine.\n" +
		"# Every key is documented in deploy/lienthong.example.yaml.\n"
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, append([]byte(header), out...), 0o600); err != nil {
		return withVI(fmt.Errorf("init: %w", err), "Không tạo được cổng liên thông trong %q", dir)
	}
	// What serve will read, checked as serve checks it.
	loaded, err := LoadConfig(path)
	if err == nil {
		err = loaded.Validate()
	}
	if err != nil {
		return withVI(fmt.Errorf("init: the configuration made is not valid: %w", err), "Cấu hình vừa tạo không hợp lệ")
	}
	if *keyOut != "" {
		f, err := os.OpenFile(*keyOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fmt.Fprintln(f, apiKey)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return withVI(fmt.Errorf("init: -key-out: %w", err), "Không ghi được khóa API vào tệp -key-out %q", *keyOut)
		}
	}
	fmt.Fprintf(m.Stdout, `Đã tạo cổng liên thông cho %s (%s) trong %s / a gateway for it is ready in %s:
  lienthong serve -config %s

Khóa API cho hệ thống QLVB (chỉ hiện một lần) / the DMS's API key (shown once):
  %s
Trang văn thư http://%s/  tên đăng nhập %s, mật khẩu (chỉ hiện một lần) / password (shown once): %s
`, first.name, first.code, dir, dir, path, apiKey, *listen, *clerk, password)
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
