package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envNotOverridable are the scalar keys without an environment variable of
// their own, and why.
var envNotOverridable = map[string]string{
	"ops.tokenFile": "LIENTHONG_OPS_TOKEN_FILE is ops.token's file twin, and replaces both",
}

// scalarKeys walks t as the YAML decoder sees it and returns the path of
// every scalar key that is not inside a list, with its field's type.
func scalarKeys(t reflect.Type, path string, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if path != "" {
			name = path + "." + name
		}
		switch f.Type.Kind() {
		case reflect.Struct:
			if f.Type != reflect.TypeFor[time.Duration]() {
				scalarKeys(f.Type, name, out)
			}
		case reflect.Slice, reflect.Map:
		default:
			out[name] = f.Type
		}
	}
}

// fieldOf returns the field of c at a YAML key's path.
func fieldOf(c *Config, key string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for name := range strings.SplitSeq(key, ".") {
		t := v.Type()
		found := false
		for i := range t.NumField() {
			if n, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); n == name {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}
		}
	}
	return v
}

// TestEnvKeys: every scalar key of the configuration has its LIENTHONG_*
// variable (README, serve -help), but those envNotOverridable names;
// the names are unique, *_FILE twins included; the names documented or
// used before keep their keys.
func TestEnvKeys(t *testing.T) {
	keys := envKeys()
	byKey := map[string]envKey{}
	names := map[string]string{}
	for _, k := range keys {
		byKey[k.key] = k
		twins := []string{k.name}
		if k.secret {
			twins = append(twins, k.name+"_FILE")
		}
		for _, n := range twins {
			if other, dup := names[n]; dup {
				t.Errorf("%s names both %s and %s", n, other, k.key)
			}
			names[n] = k.key
		}
		if !strings.HasPrefix(k.name, "LIENTHONG_") {
			t.Errorf("%s: variable %s", k.key, k.name)
		}
	}
	scalars := map[string]reflect.Type{}
	scalarKeys(reflect.TypeFor[Config](), "", scalars)
	for key := range scalars {
		_, has := byKey[key]
		if why, excepted := envNotOverridable[key]; excepted {
			if has {
				t.Errorf("%s has a variable (%s), yet is listed as having none: %s", key, byKey[key].name, why)
			}
		} else if !has {
			t.Errorf("%s has no LIENTHONG_* variable", key)
		}
	}
	for name, key := range map[string]string{
		"LIENTHONG_GATEWAY_ID":           "gateway.id",
		"LIENTHONG_DATA_DIR":             "gateway.dataDir",
		"LIENTHONG_MAX_PACKET_SIZE":      "gateway.maxPacketSize",
		"LIENTHONG_MEMORY_LIMIT":         "gateway.memoryLimit",
		"LIENTHONG_SHUTDOWN_TIMEOUT":     "gateway.shutdownTimeout",
		"LIENTHONG_SUBMISSIONS":          "gateway.submissions",
		"LIENTHONG_SUBMISSION_WAIT":      "gateway.submissionWait",
		"LIENTHONG_HTTP_LISTEN":          "http.listen",
		"LIENTHONG_HTTP_PUBLIC_URL":      "http.publicURL",
		"LIENTHONG_NATS_URL":             "nats.url",
		"LIENTHONG_NATS_CREDS_FILE":      "nats.credsFile",
		"LIENTHONG_NATS_USER":            "nats.user",
		"LIENTHONG_NATS_PASSWORD":        "nats.password",
		"LIENTHONG_NATS_PASSWORD_FILE":   "nats.password",
		"LIENTHONG_NATS_TOKEN":           "nats.token",
		"LIENTHONG_NATS_DOMAIN":          "nats.domain",
		"LIENTHONG_NATS_HUB_DOMAIN":      "nats.hubDomain",
		"LIENTHONG_NATS_NKEY_FILE":       "nats.nkeyFile",
		"LIENTHONG_NATS_CA_FILE":         "nats.caFile",
		"LIENTHONG_NATS_REPLICAS":        "nats.replicas",
		"LIENTHONG_NATS_BIND":            "nats.bind",
		"LIENTHONG_NATS_CONSUMERS":       "nats.consumers",
		"LIENTHONG_NATS_LISTEN":          "nats.listen",
		"LIENTHONG_LOG_LEVEL":            "log.level",
		"LIENTHONG_LOG_FORMAT":           "log.format",
		"LIENTHONG_OPS_LISTEN":           "ops.listen",
		"LIENTHONG_OPS_TOKEN":            "ops.token",
		"LIENTHONG_OPS_TOKEN_FILE":       "ops.token",
		"LIENTHONG_TRUST_CRL_RELOAD":     "trust.crlReload",
		"LIENTHONG_TRUST_ALLOW_SHA1":     "trust.allowSHA1",
		"LIENTHONG_WEB_IDLE_TIMEOUT":     "web.idleTimeout",
		"LIENTHONG_WEB_MAX_SESSION_AGE":  "web.maxSessionAge",
		"LIENTHONG_WEB_INSECURE_COOKIES": "web.insecureCookies",
	} {
		if got := names[name]; got != key {
			t.Errorf("%s sets %q, want %s", name, got, key)
		}
	}
}

// TestApplyEnv_EveryKey: each variable sets its key, and a value its key
// cannot take is an error naming the variable.
func TestApplyEnv_EveryKey(t *testing.T) {
	for _, k := range envKeys() {
		c := DefaultConfig()
		f := fieldOf(&c, k.key)
		if !f.IsValid() {
			t.Errorf("%s: no key %s", k.name, k.key)
			continue
		}
		var value string
		var want any
		switch {
		case f.Type() == reflect.TypeFor[time.Duration]():
			value, want = "7m", 7*time.Minute
		case f.Kind() == reflect.String:
			value, want = "giá trị của "+k.name, "giá trị của "+k.name
		case f.Kind() == reflect.Bool:
			value, want = "true", true
			if f.Bool() {
				value, want = "false", false
			}
		case f.Kind() == reflect.Int:
			value, want = "7", 7
		case f.Kind() == reflect.Int64:
			value, want = "7", int64(7)
		default:
			t.Errorf("%s: %s is a %s", k.name, k.key, f.Type())
			continue
		}
		env := map[string]string{k.name: value}
		lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
		if err := c.ApplyEnv(lookup); err != nil {
			t.Errorf("%s=%s: %v", k.name, value, err)
			continue
		}
		if got := fieldOf(&c, k.key).Interface(); got != want {
			t.Errorf("%s=%s: %s = %v, want %v", k.name, value, k.key, got, want)
		}
		if f.Kind() == reflect.String {
			continue
		}
		env[k.name] = "lớn"
		var ce *ConfigError
		if err := c.ApplyEnv(lookup); !errors.As(err, &ce) || ce.Field != k.name {
			t.Errorf("%s=lớn: %v, want a ConfigError of %s", k.name, err, k.name)
		}
	}
}

func TestEnvWords(t *testing.T) {
	for key, want := range map[string]string{
		"id":            "ID",
		"dataDir":       "DATA_DIR",
		"publicURL":     "PUBLIC_URL",
		"allowSHA1":     "ALLOW_SHA1",
		"crlReload":     "CRL_RELOAD",
		"nkeyFile":      "NKEY_FILE",
		"maxSessionAge": "MAX_SESSION_AGE",
		"URLPath":       "URL_PATH",
		"sha1Digest":    "SHA1_DIGEST",
	} {
		if got := envWords(key); got != want {
			t.Errorf("envWords(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestRedacted_EverySecret: -config-dump hides the value of every key
// marked secret.
func TestRedacted_EverySecret(t *testing.T) {
	c := DefaultConfig()
	secrets := 0
	for _, k := range envKeys() {
		if k.secret {
			secrets++
			if err := k.set(&c, "bí-mật-của-"+k.name); err != nil {
				t.Fatal(err)
			}
		}
	}
	if secrets < 3 {
		t.Fatalf("%d secret keys: nats.password, nats.token and ops.token at least", secrets)
	}
	dump, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(dump), "bí-mật") {
		t.Errorf("-config-dump shows a secret:\n%s", dump)
	}
}
