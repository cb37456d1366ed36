package main

import (
	"errors"
	"strings"
	"testing"
	"time"
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
		{"BadOpsListen", "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nops:\n  listen: nowhere\n", "ops.listen"},
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
