package main

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/signing"
)

const testConfig = `
gateway:
  id: vpcp
  dataDir: data
http:
  listen: 127.0.0.1:0
trust:
  ca: [ca/ca.crt]
agencies:
  - code: 000.00.00.G22
    name: Văn phòng Chính phủ
    key: vpcp.key
    cert: vpcp.crt
apiKeys:
  - name: qlvb-vpcp
    key: bí-mật
    agencies: [000.00.00.G22]
web:
  clerks:
    - username: vanthu
      name: Nguyễn Thị Lan
      passwordHash: "$2a$10$D0r1xbS6EtkQREMSwMr.XOI9XkP53V/YTopiIXeYkA8bd/EOU7qE."
      agencies: [000.00.00.G22]
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Gateway.MaxPacketSize, int64(96<<20); got != want {
		t.Errorf("default maxPacketSize = %d, want %d", got, want)
	}
	c.resolvePaths("/etc/lienthong")
	if got, want := c.Agencies[0].Key, "/etc/lienthong/vpcp.key"; got != want {
		t.Errorf("key path = %q, want %q", got, want)
	}
	if got, want := c.Ops.Listen, "127.0.0.1:9464"; got != want {
		t.Errorf("default ops.listen = %q, want %q", got, want)
	}
	env := map[string]string{"LIENTHONG_NATS_URL": "nats://10.0.0.1:4222", "LIENTHONG_SHUTDOWN_TIMEOUT": "5s",
		"LIENTHONG_OPS_LISTEN": "0.0.0.0:9500"}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.NATS.URL != "nats://10.0.0.1:4222" || c.Gateway.ShutdownTimeout != 5*time.Second || c.Ops.Listen != "0.0.0.0:9500" {
		t.Errorf("environment not applied: %+v", c)
	}
	env["LIENTHONG_MAX_PACKET_SIZE"] = "lớn"
	var ce *ConfigError
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); !errors.As(err, &ce) || ce.Field != "LIENTHONG_MAX_PACKET_SIZE" {
		t.Errorf("a bad environment value: %v", err)
	}
	dump, err := c.Redacted()
	if err != nil || strings.Contains(string(dump), "bí-mật") || strings.Contains(string(dump), "$2a$") || !strings.Contains(string(dump), "(redacted)") {
		t.Errorf("dump shows the secret or fails: %v\n%s", err, dump)
	}
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, field string
	}{
		{"NoID", "id: vpcp", "id: ''", "gateway.id"},
		{"BadID", "id: vpcp", "id: 'vp cp'", "gateway.id"},
		{"BadCode", "code: 000.00.00.G22", "code: G22x", "agencies[0].code"},
		{"NoKey", "    key: vpcp.key\n", "", "agencies[0]"},
		{"KeyForOther", "agencies: [000.00.00.G22]", "agencies: [000.00.00.H41]", "apiKeys[0].agencies"},
		{"NoCA", "ca: [ca/ca.crt]", "ca: []", "trust.ca"},
		{"ClerkPlainPassword", `passwordHash: "$2a$10$D0r1xbS6EtkQREMSwMr.XOI9XkP53V/YTopiIXeYkA8bd/EOU7qE."`, "passwordHash: mật-khẩu", "web.clerks[0].passwordHash"},
		{"ClerkNoUser", "username: vanthu", "username: ''", "web.clerks[0].username"},
		{"ClerkOtherAgency", "      agencies: [000.00.00.G22]", "      agencies: [000.00.00.H29]", "web.clerks[0].agencies"},
		{"NegativeIdle", "web:\n", "web:\n  idleTimeout: -1m\n", "web.idleTimeout"},
		{"HubDomainEmbedded", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nnats:\n  hubDomain: hub\n", "nats.url"},
		{"HubDomainNoDomain", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nnats:\n  url: nats://127.0.0.1:4222\n  hubDomain: hub\n", "nats.hubDomain"},
		{"HubDomainBind", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nnats:\n  url: nats://127.0.0.1:4222\n  domain: h41\n  hubDomain: hub\n  bind: true\n", "nats.bind"},
		{"BadConsumers", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nnats:\n  consumers: subject\n", "nats.consumers"},
		{"GatewayConsumersLeaf", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nnats:\n  url: nats://127.0.0.1:4222\n  domain: h41\n  hubDomain: hub\n  consumers: gateway\n", "nats.consumers"},
		{"NegativeSubmissions", "id: vpcp\n", "id: vpcp\n  submissions: -1\n", "gateway.submissions"},
		{"LongSubmissionWait", "id: vpcp\n", "id: vpcp\n  submissionWait: 2m\n", "gateway.submissionWait"},
		{"BadSubtree", "id: vpcp\n", "id: vpcp\n  subtrees: [G22x]\n", "gateway.subtrees[0]"},
		{"SubtreeTwice", "id: vpcp\n", "id: vpcp\n  subtrees: [000.00.00.G22, G22]\n", "gateway.subtrees[1]"},
		{"SubtreePerAgency", "id: vpcp\n  dataDir: data\nhttp:\n  listen: 127.0.0.1:0\n", "id: vpcp\n  dataDir: data\n  subtrees: [G22]\nhttp:\n  listen: 127.0.0.1:0\nnats:\n  consumers: agency\n", "gateway.subtrees[0]"},
		{"BadOpsListen", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nops:\n  listen: nowhere\n", "ops.listen"},
		{"ShortOpsToken", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nops:\n  token: ngắn\n", "ops.token"},
		{"OpsTokenTwice", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nops:\n  token: ops-token-0123456789abcdef\n  tokenFile: ops.token\n", "ops.tokenFile"},
		{"NegativeCRLReload", "trust:\n", "trust:\n  crlReload: -1h\n", "trust.crlReload"},
		{"TinyCRLReload", "trust:\n", "trust:\n  crlReload: 1ms\n", "trust.crlReload"},
		{"BadTrustedProxy", "web:\n", "web:\n  trustedProxies: [127.0.0.1/32, 10.0.0.0/33]\n", `web.trustedProxies[1] = "10.0.0.0/33"`},
		{"VXPNoSecret", "web:\n", "vxp:\n  systems:\n    - {id: qlvb, agencies: [000.00.00.G22]}\nweb:\n", "vxp.systems[0]"},
		{"VXPTwoSecrets", "web:\n", "vxp:\n  systems:\n    - {id: qlvb, secret: s, secretFile: f, agencies: [000.00.00.G22]}\nweb:\n", "vxp.systems[0]"},
		{"VXPOtherAgency", "web:\n", "vxp:\n  systems:\n    - {id: qlvb, secret: s, agencies: [000.00.00.H41]}\nweb:\n", "vxp.systems[0].agencies"},
		{"VXPSameID", "web:\n", "vxp:\n  systems:\n    - {id: qlvb, secret: s, agencies: [G22]}\n    - {id: qlvb, secret: t, agencies: [G22]}\nweb:\n", "vxp.systems[1].id"},
		{"VXPBadSince", "web:\n", "vxp:\n  systems:\n    - {id: qlvb, secret: s, agencies: [G22], since: 01/12/2026}\nweb:\n", "vxp.systems[0].since"},
		{"VXPRootPrefix", "web:\n", "vxp:\n  prefix: /\n  systems:\n    - {id: qlvb, secret: s, agencies: [G22]}\nweb:\n", "vxp.prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(testConfig, tc.from, tc.to, 1)
			if text == testConfig {
				t.Fatalf("%q not in the test config", tc.from)
			}
			c, err := ParseConfig(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Validate() = %v, want an error about %s", err, tc.field)
			}
		})
	}
	if _, err := ParseConfig(strings.NewReader("gatway:\n  id: x\n")); err == nil {
		t.Error("a misspelt key is accepted")
	}
}

// TestConfig_PerGatewayConsumers: a gateway reads one consumer per
// stream unless its configuration says "agency" or it is on a leaf node,
// where the consumers are the leaf's own and made per agency.
func TestConfig_PerGatewayConsumers(t *testing.T) {
	for _, tc := range []struct {
		consumers, hubDomain string
		want                 bool
	}{
		{"", "", true},
		{"gateway", "", true},
		{"agency", "", false},
		{"", "hub", false},
		{"agency", "hub", false},
	} {
		var c Config
		c.NATS.Consumers, c.NATS.HubDomain = tc.consumers, tc.hubDomain
		if got := c.perGatewayConsumers(); got != tc.want {
			t.Errorf("consumers %q, hubDomain %q: per gateway %v, want %v", tc.consumers, tc.hubDomain, got, tc.want)
		}
	}
}

// TestConfig_TrustedProxies: web.trustedProxies takes addresses and CIDR
// prefixes, and refuses with an error naming the entry what is neither, a
// prefix with host bits (10.1.2.3/8 is not one host) and a prefix that
// trusts every address; webOptions passes them on to the page.
func TestConfig_TrustedProxies(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(strings.Replace(testConfig, "web:\n",
		"web:\n  trustedProxies: [127.0.0.1, 10.0.0.0/8, \"::1\", \"fd00:1::/64\"]\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	o := webOptions(c.Web)
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fd00:1::/64")}
	if len(o.TrustedProxies) != len(want) {
		t.Fatalf("webOptions: trusted proxies %v, want %v", o.TrustedProxies, want)
	}
	for i := range want {
		if o.TrustedProxies[i] != want[i] {
			t.Errorf("webOptions: trusted proxy %d = %v, want %v", i, o.TrustedProxies[i], want[i])
		}
	}

	c.Web.TrustedProxies = []string{"127.0.0.1/32", "proxy.local", "10.0.0.0/33", "10.1.2.3/8", "0.0.0.0/0", "fe80::1%eth0", ""}
	err = c.Validate()
	if err == nil {
		t.Fatal("bad trusted proxies accepted")
	}
	for _, w := range []string{`web.trustedProxies[1] = "proxy.local": not an IP address or CIDR prefix`,
		`web.trustedProxies[2] = "10.0.0.0/33": not an IP address or CIDR prefix`,
		`web.trustedProxies[3] = "10.1.2.3/8": host bits set past /8: 10.0.0.0/8 is the prefix`,
		`web.trustedProxies[4] = "0.0.0.0/0": trusts every address`,
		`web.trustedProxies[5] = "fe80::1%eth0": not an IP address`,
		`web.trustedProxies[6]: not an IP address`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %v\nwant it to say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "web.trustedProxies[0]") {
		t.Errorf("Validate() refuses a good entry: %v", err)
	}
}

// TestConfig_Example: the example in deploy/ parses and validates.
func TestConfig_Example(t *testing.T) {
	c, err := LoadConfig("../../deploy/lienthong.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Agencies) != 2 || c.Agencies[1].P12 == "" || len(c.APIKeys) != 2 || c.Ops.Listen != "127.0.0.1:9464" ||
		len(c.Web.Clerks) != 2 || c.Web.IdleTimeout != 30*time.Minute || c.Web.MaxSessionAge != 12*time.Hour {
		t.Errorf("example read as %+v", c)
	}
}

// TestConfig_ExampleRuns: the example, copied into a directory laid out
// as deploy/README.md installs /etc/lienthong (trust/, keys/ with a PEM
// key, a PKCS#12 file and its password, an API key file), opens every file
// it names and starts a gateway; only the data directory and the ports
// are moved.
func TestConfig_ExampleRuns(t *testing.T) {
	etc := t.TempDir()
	example, err := os.ReadFile("../../deploy/lienthong.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"trust", "keys"} {
		if err := os.MkdirAll(filepath.Join(etc, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := signing.InitCA(filepath.Join(t.TempDir(), "ca"), signing.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dirCA, err := signing.InitCA(filepath.Join(t.TempDir(), "dirca"), signing.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(ca.Dir(), signing.CACertFile), filepath.Join(etc, "trust", "ca.crt"))
	copyFile(t, filepath.Join(ca.Dir(), signing.CRLFile), filepath.Join(etc, "trust", "crl.pem"))
	copyFile(t, filepath.Join(dirCA.Dir(), signing.CACertFile), filepath.Join(etc, "trust", "directory-ca.crt"))
	h41, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.H41", Name: "UBND tỉnh Nghệ An"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h41.WriteFiles(filepath.Join(etc, "keys", "h41")); err != nil {
		t.Fatal(err)
	}
	soyte, err := ca.Issue(signing.IssueRequest{Agency: "000.00.12.H41", Name: "Sở Y tế tỉnh Nghệ An"})
	if err != nil {
		t.Fatal(err)
	}
	if err := soyte.WriteP12(filepath.Join(etc, "keys", "soyte.p12"), "mật khẩu của token", ca.Certificate()); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"soyte.password": "mật khẩu của token\n", "qlvb-ubnd.key": "khóa-của-qlvb-ubnd-dài-đủ-24\n", "qlvb-soyte.vxp": "bí-mật-của-hệ-thống-qlvb-sở-y-tế\n"} {
		if err := os.WriteFile(filepath.Join(etc, "keys", name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(etc, "lienthong.yaml")
	if err := os.WriteFile(path, example, 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gateway.DataDir = t.TempDir()
	cfg.HTTP.Listen, cfg.NATS.Listen = "127.0.0.1:0", "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := openNode(t.Context(), cfg, zaptest.NewLogger(t), nil, nil, nil)
	if err != nil {
		t.Fatalf("the example, with the files it names, does not start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// copyFile copies a file, mode 0644.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConfig_OpsListenNeedsToken: an operations listener on an address
// other than a loopback one, without ops.token or ops.tokenFile, is a
// validation error naming ops.listen and ops.token; a loopback one, or any
// with a token, is not.
func TestConfig_OpsListenNeedsToken(t *testing.T) {
	for _, tc := range []struct {
		listen     string
		needsToken bool
	}{
		{"127.0.0.1:9464", false},
		{"127.8.9.10:9464", false},
		{"[::1]:9464", false},
		{"localhost:9464", false},
		{"LocalHost:0", false},
		{":9464", true},
		{"0.0.0.0:9464", true},
		{"[::]:9464", true},
		{"10.0.0.5:9464", true},
		{"[2001:db8::1]:9464", true},
		{"[::ffff:10.0.0.5]:9464", true},
		{"ops.lienthong.invalid:9464", true}, // does not resolve: not known to be loopback
	} {
		t.Run(tc.listen, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(testConfig))
			if err != nil {
				t.Fatal(err)
			}
			c.Ops.Listen = tc.listen
			err = c.Validate()
			if !tc.needsToken {
				if err != nil {
					t.Errorf("Validate() = %v, want no error on a loopback address", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "ops.listen") || !strings.Contains(err.Error(), "ops.token") {
				t.Errorf("Validate() = %v, want an error naming ops.listen and ops.token", err)
			}
			c.Ops.Token = "ops-token-0123456789abcdef"
			if err := c.Validate(); err != nil {
				t.Errorf("with ops.token: %v", err)
			}
			c.Ops.Token, c.Ops.TokenFile = "", "/etc/lienthong/ops.token"
			if err := c.Validate(); err != nil {
				t.Errorf("with ops.tokenFile: %v", err)
			}
		})
	}
}

// TestOpsLoopback: a name is loopback only if every address it resolves
// to is.
func TestOpsLoopback(t *testing.T) {
	resolve := func(addrs ...string) func(context.Context, string, string) ([]netip.Addr, error) {
		return func(context.Context, string, string) ([]netip.Addr, error) {
			if len(addrs) == 0 {
				return nil, errors.New("no such host")
			}
			var out []netip.Addr
			for _, a := range addrs {
				out = append(out, netip.MustParseAddr(a))
			}
			return out, nil
		}
	}
	for _, tc := range []struct {
		name   string
		lookup func(context.Context, string, string) ([]netip.Addr, error)
		want   bool
	}{
		{"ops.local", resolve("127.0.0.1", "::1"), true},
		{"ops.local", resolve("::ffff:127.0.0.1"), true},
		{"ops.local", resolve("127.0.0.1", "10.0.0.5"), false},
		{"ops.local", resolve(), false},
		{"", resolve("127.0.0.1"), false},
		{"fe80::1%eth0", resolve(), false},
		{"::1", resolve(), true},
	} {
		if got := opsLoopback(tc.name, tc.lookup); got != tc.want {
			t.Errorf("opsLoopback(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestConfig_OpsTokenEnv: LIENTHONG_OPS_TOKEN and its file twin set the
// token over the file's token or tokenFile; -config-dump hides it, and
// opsToken reads ops.tokenFile.
func TestConfig_OpsTokenEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ops.token")
	if err := os.WriteFile(file, []byte("ops-token-from-a-file-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{
		{"LIENTHONG_OPS_TOKEN": "ops-token-from-the-environment"},
		{"LIENTHONG_OPS_TOKEN_FILE": file},
	} {
		c, err := ParseConfig(strings.NewReader(testConfig + "ops:\n  listen: 0.0.0.0:9464\n  tokenFile: /nowhere/ops.token\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
			t.Fatal(err)
		}
		want := env["LIENTHONG_OPS_TOKEN"]
		if want == "" {
			want = "ops-token-from-a-file-0123"
		}
		if c.Ops.Token != want || c.Ops.TokenFile != "" {
			t.Errorf("with %v: token %q, tokenFile %q", env, c.Ops.Token, c.Ops.TokenFile)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("with %v: %v", env, err)
		}
		dump, err := c.Redacted()
		if err != nil || strings.Contains(string(dump), want) {
			t.Errorf("-config-dump shows the ops token or fails: %v\n%s", err, dump)
		}
	}
	token, err := opsToken(OpsConfig{TokenFile: file})
	if err != nil || token != "ops-token-from-a-file-0123" {
		t.Errorf("opsToken(tokenFile) = %q, %v", token, err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("ngắn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{short, filepath.Join(dir, "missing")} {
		if _, err := opsToken(OpsConfig{TokenFile: f}); err == nil || !strings.Contains(err.Error(), "ops.tokenFile") {
			t.Errorf("opsToken(%s) = %v, want an error about ops.tokenFile", f, err)
		}
	}
}

// TestServe_OpsListenNeedsToken: serve refuses to start with its
// operations listener on every interface and no token, saying which keys
// (from the file, or from -ops).
func TestServe_OpsListenNeedsToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(file, []byte(testConfig+"ops:\n  listen: 0.0.0.0:9464\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "serve", "-config", file)
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "ops.listen", "0.0.0.0:9464", "ops.token")

	if err := os.WriteFile(file, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "serve", "-config", file, "-ops", ":9464")
	r.wantCode(t, exitTrouble)
	r.wantStderr(t, "ops.listen", "ops.token")
}

// TestAutoMemoryLimit: the automatic limit grows with the largest packet,
// the hosted agencies and the directory.
func TestAutoMemoryLimit(t *testing.T) {
	c := DefaultConfig()
	if got, want := c.memoryLimit(0), int64(96<<20*3/2+32<<20); got != want {
		t.Errorf("no agency, no directory: %d, want %d", got, want)
	}
	c.Agencies = make([]AgencyConfig, 5000)
	national := c.memoryLimit(111000)
	if want := int64(96<<20*3/2+32<<20) + 5000*64<<10 + 111000*1<<10; national != want {
		t.Errorf("5,000 hosted, 111,000 in the directory: %d, want %d", national, want)
	}
	c.Gateway.MemoryLimit = -1
	if got := c.memoryLimit(111000); got != -1 {
		t.Errorf("none: %d", got)
	}
	c.Gateway.MemoryLimit = 1 << 30
	if got := c.memoryLimit(111000); got != 1<<30 {
		t.Errorf("given: %d", got)
	}
}

// TestConfig_Quarantine: the quarantine's bounds are read, and a negative
// one is refused with its field named.
func TestConfig_Quarantine(t *testing.T) {
	c := DefaultConfig()
	c.Gateway.QuarantineBytes, c.Gateway.QuarantineEntries = -1, -1
	err := c.Validate()
	for _, field := range []string{"gateway.quarantineBytes", "gateway.quarantineEntries"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate with a negative %s: %v", field, err)
		}
	}
}
