package main

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// envPrefix starts the name of every environment variable of the
// configuration.
const envPrefix = "LIENTHONG"

// envKey is a configuration key that an environment variable overrides.
type envKey struct {
	name string // LIENTHONG_…
	key  string // the YAML key, nats.hubDomain
	// secret: the variable has a *_FILE twin naming a file that holds
	// the value, so that the value stays out of the environment.
	secret bool
	index  []int // of the field in Config (reflect.Value.FieldByIndex)
	// clears is the index of the key's *File sibling (ops.tokenFile for
	// ops.token), or nil: the environment's value replaces both.
	clears []int
}

// envKeys lists the environment overrides, derived from Config's fields
// so that a key cannot be added without its variable: every scalar key
// (a string, bool, integer or duration) not inside a list has one. The
// name is LIENTHONG_ and the key's path in capitals, words split by "_"
// (nats.hubDomain: LIENTHONG_NATS_HUB_DOMAIN). A field's env tag changes
// that: env:"NAME" names the variable (on a section, it is the prefix of
// its keys' names), env:"-" leaves the key out, and the option ",secret"
// gives the variable a *_FILE twin. It panics on a scalar field of a kind
// it cannot set: a fault of Config, which TestEnvKeys finds.
func envKeys() []envKey {
	var keys []envKey
	walkEnvKeys(reflect.TypeFor[Config](), envPrefix, "", nil, &keys)
	return keys
}

// walkEnvKeys adds to keys those of the fields of section t, whose
// variables' names start with prefix and keys with path; index is t's in
// Config.
func walkEnvKeys(t reflect.Type, prefix, path string, index []int, keys *[]envKey) {
	for i := range t.NumField() {
		f := t.Field(i)
		yamlName, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || yamlName == "-" || yamlName == "" {
			continue
		}
		tag, tagged := f.Tag.Lookup("env")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = prefix + "_" + envWords(yamlName)
		}
		key := yamlName
		if path != "" {
			key = path + "." + yamlName
		}
		at := append(append([]int(nil), index...), i)
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
		case f.Type.Kind() == reflect.Struct:
			walkEnvKeys(f.Type, name, key, at, keys)
			continue
		case f.Type.Kind() == reflect.Slice, f.Type.Kind() == reflect.Map:
			// Lists have no environment twin.
			if tagged {
				panic(fmt.Sprintf("config: %s: an env tag on a list", key))
			}
			continue
		}
		switch f.Type.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		default:
			panic(fmt.Sprintf("config: %s: no environment variable can set a %s", key, f.Type))
		}
		k := envKey{name: name, key: key, secret: opts == "secret", index: at}
		if sibling, ok := t.FieldByName(f.Name + "File"); ok && k.secret {
			k.clears = append(append([]int(nil), index...), sibling.Index...)
		}
		*keys = append(*keys, k)
	}
}

// envWords writes a YAML key's words in capitals split by "_":
// hubDomain HUB_DOMAIN, publicURL PUBLIC_URL, allowSHA1 ALLOW_SHA1,
// crlReload CRL_RELOAD.
func envWords(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		// A word starts at a capital after a small letter or a digit, or
		// at the last capital of a run followed by a small letter
		// (URLPath: URL_PATH).
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
			i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// envHelp lists the environment variables and the keys they set, for
// serve -help.
func envHelp() string {
	keys := envKeys()
	width := 0
	for _, k := range keys {
		n := len(k.name)
		if k.secret {
			n += len("_FILE")
		}
		width = max(width, n)
	}
	var b strings.Builder
	b.WriteString("\n\nEnvironment variables:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, k.name, k.key)
		if k.secret {
			fmt.Fprintf(&b, "  %-*s  %s, from a file\n", width, k.name+"_FILE", k.key)
		}
	}
	return b.String()
}

// set parses v into the key's field of c.
func (k envKey) set(c *Config, v string) error {
	f := reflect.ValueOf(c).Elem().FieldByIndex(k.index)
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(v)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		f.SetBool(b)
	default: // Int, Int64: walkEnvKeys allows no other
		n, err := strconv.ParseInt(v, 10, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetInt(n)
	}
	if k.clears != nil {
		reflect.ValueOf(c).Elem().FieldByIndex(k.clears).SetZero()
	}
	return nil
}

// ApplyEnv overrides the configuration from the environment, as lookup
// (os.LookupEnv) gives it (see envKeys). A secret's variable wins over
// its *_FILE twin.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	for _, k := range envKeys() {
		v, ok := lookup(k.name)
		if !ok && k.secret {
			var file string
			if file, ok = lookup(k.name + "_FILE"); ok {
				b, err := os.ReadFile(file)
				if err != nil {
					return withVI(fmt.Errorf("config: %s_FILE: %w", k.name, err), "Không đọc được tệp %q mà biến môi trường %s_FILE chỉ tới", file, k.name)
				}
				v = strings.TrimRight(string(b), "\r\n")
			}
		}
		if !ok {
			continue
		}
		if err := k.set(c, v); err != nil {
			return &ConfigError{Field: k.name, Value: v, Err: err}
		}
	}
	return nil
}
