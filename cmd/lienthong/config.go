package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/vxp"
)

// Config is the configuration of "lienthong serve": a YAML file, every
// scalar key overridable by a LIENTHONG_* environment variable (see
// envKeys; a field's env tag names its variable when the rule does not),
// and some by flags. Precedence: flag > environment > file > default.
type Config struct {
	// Gateway's keys are named in the environment without the section's
	// name (LIENTHONG_DATA_DIR), as they were first.
	Gateway  GatewayConfig  `yaml:"gateway" env:"LIENTHONG"`
	HTTP     HTTPConfig     `yaml:"http"`
	NATS     NATSConfig     `yaml:"nats"`
	Trust    TrustConfig    `yaml:"trust"`
	Agencies []AgencyConfig `yaml:"agencies"`
	// APIKeys are the keys of the document-management systems.
	APIKeys []APIKeyConfig `yaml:"apiKeys"`
	// Web is the clerk's page, served on the API's listener.
	Web WebConfig `yaml:"web"`
	// VXP is the face that speaks the national axis SDK's protocol.
	VXP VXPConfig `yaml:"vxp"`
	Log LogConfig `yaml:"log"`
	Ops OpsConfig `yaml:"ops"`
}

// GatewayConfig names the gateway and where it keeps its data.
type GatewayConfig struct {
	// ID names the gateway on the bus; letters, digits, "-" and "_".
	ID string `yaml:"id" env:"LIENTHONG_GATEWAY_ID"`
	// DataDir holds the store (lienthong.db), the embedded NATS
	// server's JetStream files (nats/) and the large packets being
	// received (spool/).
	DataDir string `yaml:"dataDir"`
	// MaxPacketSize is the largest packet accepted or received, in bytes;
	// default gateway.DefaultMaxPacketSize (96 MiB), the limit of the
	// edxml commands too. Raised, give those commands the same -max-size.
	MaxPacketSize int64 `yaml:"maxPacketSize"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// Submissions is how many documents and statuses posted by DMSs the
	// gateway works on at once; as many more wait their turn for
	// SubmissionWait, the others are answered 503 busy with Retry-After
	// (gateway.AdmitWork). 0 means four per core.
	Submissions    int           `yaml:"submissions"`
	SubmissionWait time.Duration `yaml:"submissionWait"`
	// MemoryLimit is the Go runtime's soft memory limit in bytes (as
	// GOMEMLIMIT, which wins when set): the garbage collector works harder
	// as the heap nears it. 0 means automatic: 1.5 × MaxPacketSize plus 32
	// MiB, plus 64 KiB per hosted agency and 1 KiB per directory entry,
	// followed as the directory grows (autoMemoryLimit); -1 means no
	// limit.
	MemoryLimit int64 `yaml:"memoryLimit"`
	// QuarantineBytes and QuarantineEntries bound the quarantine, where
	// the packets received and not accepted are kept: past either, the
	// packets kept longest are dropped with their entries, each logged
	// and counted (lienthong_quarantine_dropped_total). A packet
	// refused under several message ids is kept once. 0 means the
	// defaults, 2 GiB and 10,000 entries (store.Options).
	QuarantineBytes   int64 `yaml:"quarantineBytes"`
	QuarantineEntries int   `yaml:"quarantineEntries"`
	// Subtrees are agency codes delegated to this gateway with everything
	// under them, present and future (a province's gateway: the
	// province's code). The gateway's consumers filter on each root and
	// its subtree rather than on each hosted agency, so that the hub
	// matches every message against two filters, not thousands. Only
	// with nats.consumers: gateway; with nats.bind the administrator
	// gives the same (lienthong nats setup -gateway ID -agency …
	// -subtree …). A packet for an agency under a root that is not in
	// agencies is kept in quarantine (dropped and counted as
	// unknown-recipient if the directory knows no such code at all), not
	// made to wait on the hub: any
	// sender may publish to a code under the root, made up or not, and
	// waiting packets would hold the gateway's consumer. Add an agency
	// under the root to agencies before its documents are sent.
	Subtrees []string `yaml:"subtrees"`
}

// HTTPConfig is the API listener.
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	// PublicURL is how others reach the API (published in heartbeats);
	// empty means http://<listen>.
	PublicURL string `yaml:"publicURL"`
}

// NATSConfig chooses the embedded server or an external one.
type NATSConfig struct {
	// URL of an external server or cluster; empty starts an embedded
	// server.
	URL       string `yaml:"url"`
	CredsFile string `yaml:"credsFile"`
	User      string `yaml:"user"`
	Password  string `yaml:"password" env:",secret"`
	Token     string `yaml:"token" env:",secret"`
	// NKeyFile is the gateway's NKey seed file (a cluster's per-gateway
	// credentials: see "lienthong nats user").
	NKeyFile string `yaml:"nkeyFile"`
	// CAFile holds the CAs of the servers' TLS certificates (PEM), for a
	// tls:// URL signed by a private CA.
	CAFile string `yaml:"caFile"`
	// Domain is the JetStream domain of the server at URL: on a
	// provincial leaf node, the leaf's own (deploy/nats/leaf.conf).
	Domain string `yaml:"domain"`
	// HubDomain, on a provincial leaf node, is the hub's JetStream
	// domain: packets wait in the leaf's streams while its link is down,
	// the directory and heartbeats are the hub's. It needs Domain.
	HubDomain string `yaml:"hubDomain"`
	// Replicas of the streams and buckets the gateway creates: 3 on a
	// three-node cluster; 0 means 1.
	Replicas int `yaml:"replicas"`
	// Bind: the streams and buckets exist ("lienthong nats setup" made
	// them with administrator credentials); the gateway only looks them
	// up, as per-gateway credentials allow.
	Bind bool `yaml:"bind"`
	// Consumers is how the gateway reads its packets: "gateway" (the
	// default), one durable consumer per gateway and stream whatever the
	// number of agencies, with a catch-up consumer from an exact handover
	// point when an agency is added or moves (docs/design/consumers.md);
	// or "agency", one per hosted agency and stream, as gateways read before,
	// which caps a hub at 10,000 agencies. With bind the administrator
	// assigns the gateway its agencies ("lienthong nats setup -gateway ID
	// -agency …"); without, the gateway does. On a leaf node
	// (hubDomain) the consumers are the leaf's own and the default is
	// "agency"; "gateway" is not yet made there.
	Consumers string `yaml:"consumers"`
	// Listen is the embedded server's client address; empty means
	// 127.0.0.1 on a free port.
	Listen string `yaml:"listen"`
}

// TrustConfig is what verification trusts.
type TrustConfig struct {
	// CA files (PEM) and CRL files (PEM or DER).
	CA  []string `yaml:"ca"`
	CRL []string `yaml:"crl"`
	// AllowSHA1 is the legacy policy for RSA-SHA1 signatures.
	AllowSHA1 bool `yaml:"allowSHA1"`
	// Directory files (PEM) are the trust anchors of the directory's
	// administrators: an entry of the directory is believed only if it is
	// signed by an administrator certificate ("lienthong pki issue
	// -directory-scope") that chains to one of them. Required with
	// nats.url; without it a gateway knows only the agencies it hosts.
	Directory []string `yaml:"directory"`
	// CRLReload is how often the CRL files are read again (SIGHUP reads
	// them at once): a CA publishes a new list before the NextUpdate of
	// the last, and a gateway that kept the list it started with would
	// miss every revocation since. 0 reads them only on SIGHUP.
	CRLReload time.Duration `yaml:"crlReload"`
}

// AgencyConfig is a hosted agency with its signing key.
type AgencyConfig struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
	// Key and Cert are PEM files; or P12 a PKCS#12 file whose password is
	// in P12PasswordFile.
	Key             string `yaml:"key"`
	Cert            string `yaml:"cert"`
	P12             string `yaml:"p12"`
	P12PasswordFile string `yaml:"p12PasswordFile"`
}

// APIKeyConfig is a DMS's key and the agencies it may act for.
type APIKeyConfig struct {
	Name string `yaml:"name"`
	// Key is the secret, or "sha256:<hex>" of it; KeyFile holds it instead.
	Key      string   `yaml:"key"`
	KeyFile  string   `yaml:"keyFile"`
	Agencies []string `yaml:"agencies"`
}

// VXPConfig is the VXP face (gateway/vxp): the national axis SDK's
// protocol, for the document-management systems written against it. It is
// served only when Systems are configured.
type VXPConfig struct {
	// Listen, if set, is an address of its own for the face; empty serves
	// it on http.listen, under Prefix.
	Listen string `yaml:"listen"`
	// Prefix is the path before the operations' names; default
	// /XrdAdapter/adapter, the real axis's, so that a DMS changes only
	// its endpoint's host.
	Prefix  string            `yaml:"prefix"`
	Systems []VXPSystemConfig `yaml:"systems"`
}

// VXPSystemConfig is a DMS allowed on the VXP face: the systemid and
// secret its SDK is configured with, and the hosted agencies it acts for.
type VXPSystemConfig struct {
	ID string `yaml:"id"`
	// Secret, or SecretFile (its first line): the SDK's secret, used as
	// text. Never on the command line.
	Secret     string   `yaml:"secret"`
	SecretFile string   `yaml:"secretFile"`
	Agencies   []string `yaml:"agencies"`
	// Since (yyyy-mm-dd), if set, leaves out of the system's lists what
	// was received before that day: a DMS moving from API v1 has taken it.
	Since string `yaml:"since"`
}

// WebConfig is the clerk's page (văn thư), served at the root of the API's
// listener. Without clerks there is no page.
type WebConfig struct {
	Clerks []ClerkConfig `yaml:"clerks"`
	// IdleTimeout ends a session unused that long (default 30m);
	// MaxSessionAge ends any session that long after sign-in (default
	// 12h).
	IdleTimeout   time.Duration `yaml:"idleTimeout"`
	MaxSessionAge time.Duration `yaml:"maxSessionAge"`
	// InsecureCookies drops the Secure attribute of the cookies, for a
	// page served over plain HTTP to other machines. Browsers keep Secure
	// cookies over plain HTTP only for localhost; elsewhere put HTTPS in
	// front (a reverse proxy) and leave this false.
	InsecureCookies bool `yaml:"insecureCookies"`
	// TrustedProxies are the reverse proxies in front of the page, each an
	// IP address or a CIDR prefix (127.0.0.1/32 for a proxy on the same
	// machine). A sign-in through one of them is throttled by the address
	// its X-Forwarded-For gives (the rightmost that is not a trusted
	// proxy) rather than by the proxy's, which every clerk shares.
	// X-Forwarded-For from anyone else is ignored. Lists have no
	// environment twin.
	TrustedProxies []string `yaml:"trustedProxies"`
}

// ClerkConfig is a clerk who may sign in to the page.
type ClerkConfig struct {
	Username string `yaml:"username"`
	// Name is shown on the page and as the staff of the statuses sent.
	Name string `yaml:"name"`
	// PasswordHash is a bcrypt hash: "lienthong hash-password" makes one.
	PasswordHash string `yaml:"passwordHash"`
	// Agencies are hosted agencies whose documents the clerk sees.
	Agencies []string `yaml:"agencies"`
}

// OpsConfig is the operations listener: /metrics (Prometheus), /healthz,
// /readyz and /loglevel.
type OpsConfig struct {
	// Listen is its address; empty means no operations listener. Keep it
	// off public networks: the metrics name the agencies hosted. On an
	// address other than a loopback one a token is required (see
	// opsLoopback), because anyone who reaches it could otherwise change
	// the log level.
	Listen string `yaml:"listen"`
	// Token, when set, is required as "Authorization: Bearer <token>" by
	// every request that changes something (PUT /loglevel); the GET
	// endpoints stay open for Prometheus and health checks. TokenFile
	// holds it instead (its first line), so that it stays out of the
	// configuration file. The environment's twin of both is
	// LIENTHONG_OPS_TOKEN, or LIENTHONG_OPS_TOKEN_FILE naming a file: one
	// variable cannot be the token's file twin and tokenFile's own, and
	// either replaces the file's token and tokenFile alike.
	Token     string `yaml:"token" env:",secret"`
	TokenFile string `yaml:"tokenFile" env:"-"`
}

// minOpsToken is the shortest ops.token accepted: a token is the only
// thing between a network and the log level, so it must not be guessable.
const minOpsToken = 16

// LogConfig sets the logger.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or console.
	Format string `yaml:"format"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Gateway: GatewayConfig{DataDir: "data", MaxPacketSize: gateway.DefaultMaxPacketSize, ShutdownTimeout: 30 * time.Second, SubmissionWait: gateway.DefaultSubmissionWait},
		HTTP:    HTTPConfig{Listen: "127.0.0.1:8080"},
		Trust:   TrustConfig{CRLReload: time.Hour},
		Log:     LogConfig{Level: "info", Format: "json"},
		Ops:     OpsConfig{Listen: "127.0.0.1:9464"},
		VXP:     VXPConfig{Prefix: vxp.DefaultPrefix},
	}
}

// ParseConfig reads a YAML configuration over the defaults. Unknown keys
// are errors, so that a misspelt key does not silently fall back to a
// default.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	raw, err := io.ReadAll(r)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// LoadConfig reads the file at path and makes its relative paths relative
// to the file's directory.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, withVI(fmt.Errorf("config: %w", err), "Không đọc được tệp cấu hình %q", path)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return c, withVI(fmt.Errorf("%s: %w", path, err), "Tệp cấu hình %q không đúng (YAML sai hoặc có khóa lạ)", path)
	}
	c.resolvePaths(filepath.Dir(path))
	return c, nil
}

func (c *Config) resolvePaths(base string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.Gateway.DataDir)
	abs(&c.NATS.CredsFile)
	abs(&c.NATS.NKeyFile)
	abs(&c.NATS.CAFile)
	for i := range c.Trust.CA {
		abs(&c.Trust.CA[i])
	}
	for i := range c.Trust.CRL {
		abs(&c.Trust.CRL[i])
	}
	for i := range c.Trust.Directory {
		abs(&c.Trust.Directory[i])
	}
	for i := range c.Agencies {
		a := &c.Agencies[i]
		abs(&a.Key)
		abs(&a.Cert)
		abs(&a.P12)
		abs(&a.P12PasswordFile)
	}
	for i := range c.APIKeys {
		abs(&c.APIKeys[i].KeyFile)
	}
	for i := range c.VXP.Systems {
		abs(&c.VXP.Systems[i].SecretFile)
	}
	abs(&c.Ops.TokenFile)
}

// ConfigError is a configuration value that is not acceptable. Printed,
// its Vietnamese sentence names the key ("Cấu hình sai ở khóa …", see
// errors.go); Error is the English.
type ConfigError struct {
	Field string
	Value string
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config: %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("config: %s = %q: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks the configuration and returns every problem, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, value string, err error) { errs = append(errs, &ConfigError{field, value, err}) }
	if c.Gateway.ID == "" {
		bad("gateway.id", "", errors.New("required"))
	} else if strings.IndexFunc(c.Gateway.ID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		bad("gateway.id", c.Gateway.ID, errors.New("only letters, digits, - and _"))
	} else if err := bus.CheckID(c.Gateway.ID); err != nil {
		bad("gateway.id", c.Gateway.ID, err)
	}
	if c.Gateway.DataDir == "" {
		bad("gateway.dataDir", "", errors.New("required"))
	}
	if c.Gateway.Submissions < 0 {
		bad("gateway.submissions", strconv.Itoa(c.Gateway.Submissions), errors.New("0 for four per core, or more"))
	}
	if c.Gateway.SubmissionWait < 0 || c.Gateway.SubmissionWait > time.Minute {
		bad("gateway.submissionWait", c.Gateway.SubmissionWait.String(), errors.New("from 0 (the default, 100ms) to 1m"))
	}
	if c.Gateway.MaxPacketSize < 1<<20 {
		bad("gateway.maxPacketSize", strconv.FormatInt(c.Gateway.MaxPacketSize, 10), errors.New("at least 1048576 bytes"))
	}
	if c.Gateway.QuarantineBytes < 0 {
		bad("gateway.quarantineBytes", strconv.FormatInt(c.Gateway.QuarantineBytes, 10), errors.New("bytes, 0 for the default (2 GiB)"))
	}
	if c.Gateway.QuarantineEntries < 0 {
		bad("gateway.quarantineEntries", strconv.Itoa(c.Gateway.QuarantineEntries), errors.New("entries, 0 for the default (10000)"))
	}
	if c.Gateway.MemoryLimit < -1 {
		bad("gateway.memoryLimit", strconv.FormatInt(c.Gateway.MemoryLimit, 10), errors.New("bytes, 0 for automatic or -1 for none"))
	}
	if len(c.Agencies) == 0 {
		bad("agencies", "", errors.New("at least one hosted agency is required"))
	}
	hosted := map[string]bool{}
	for i, a := range c.Agencies {
		field := fmt.Sprintf("agencies[%d]", i)
		code, err := envelope.ParseAgencyCode(a.Code, envelope.CodeStrict)
		if err != nil {
			bad(field+".code", a.Code, err)
		} else if hosted[code.Tokens()] {
			bad(field+".code", a.Code, errors.New("hosted twice"))
		} else {
			hosted[code.Tokens()] = true
		}
		if strings.TrimSpace(a.Name) == "" {
			bad(field+".name", "", errors.New("required"))
		}
		switch {
		case a.P12 != "" && (a.Key != "" || a.Cert != ""):
			bad(field, "", errors.New("give either p12 or key and cert, not both"))
		case a.P12 == "" && (a.Key == "" || a.Cert == ""):
			bad(field, "", errors.New("key and cert (or p12) are required"))
		}
	}
	roots := map[string]bool{}
	for i, r := range c.Gateway.Subtrees {
		field := fmt.Sprintf("gateway.subtrees[%d]", i)
		code, err := envelope.ParseAgencyCode(r, envelope.CodeStrict)
		switch {
		case err != nil:
			bad(field, r, err)
		case roots[code.Tokens()]:
			bad(field, r, errors.New("given twice"))
		case !c.perGatewayConsumers():
			bad(field, r, errors.New("subtrees need nats.consumers: gateway (a per-agency consumer reads one agency)"))
		default:
			roots[code.Tokens()] = true
		}
	}
	if len(c.Trust.Directory) == 0 && c.NATS.URL != "" {
		bad("trust.directory", "", errors.New("the directory administrators' trust anchor (a PEM file) is required on a shared NATS server: without it no other agency's entry is believed"))
	}
	if len(c.Trust.CA) == 0 {
		bad("trust.ca", "", errors.New("at least one trusted CA file is required"))
	}
	for i, k := range c.APIKeys {
		field := fmt.Sprintf("apiKeys[%d]", i)
		if k.Name == "" {
			bad(field+".name", "", errors.New("required"))
		}
		if (k.Key == "") == (k.KeyFile == "") {
			bad(field, "", errors.New("exactly one of key and keyFile is required"))
		}
		if len(k.Agencies) == 0 {
			bad(field+".agencies", "", errors.New("at least one agency"))
		}
		for _, a := range k.Agencies {
			if code, err := envelope.ParseAgencyCode(a, envelope.CodeAny); err != nil || !hosted[code.Tokens()] {
				bad(field+".agencies", a, errors.New("not a hosted agency"))
			}
		}
	}
	systems := map[string]bool{}
	for i, v := range c.VXP.Systems {
		field := fmt.Sprintf("vxp.systems[%d]", i)
		switch {
		case strings.TrimSpace(v.ID) == "":
			bad(field+".id", "", errors.New("required"))
		case systems[v.ID]:
			bad(field+".id", v.ID, errors.New("used twice"))
		}
		systems[v.ID] = true
		if (v.Secret == "") == (v.SecretFile == "") {
			bad(field, "", errors.New("exactly one of secret and secretFile is required"))
		}
		if len(v.Agencies) == 0 {
			bad(field+".agencies", "", errors.New("at least one agency"))
		}
		for _, a := range v.Agencies {
			if code, err := envelope.ParseAgencyCode(a, envelope.CodeAny); err != nil || !hosted[code.Tokens()] {
				bad(field+".agencies", a, errors.New("not a hosted agency"))
			}
		}
		if v.Since != "" {
			if _, err := time.ParseInLocation("2006-01-02", v.Since, envelope.VietnamTime()); err != nil {
				bad(field+".since", v.Since, errors.New("a day, yyyy-mm-dd"))
			}
		}
	}
	if len(c.VXP.Systems) > 0 && c.VXP.Listen == "" && "/"+strings.Trim(c.VXP.Prefix, "/") == "/" {
		bad("vxp.prefix", c.VXP.Prefix, errors.New("on http.listen the face needs a prefix (the API and the page are at the root); or give vxp.listen"))
	}
	clerks := map[string]bool{}
	for i, k := range c.Web.Clerks {
		field := fmt.Sprintf("web.clerks[%d]", i)
		switch {
		case strings.TrimSpace(k.Username) == "":
			bad(field+".username", "", errors.New("required"))
		case clerks[k.Username]:
			bad(field+".username", k.Username, errors.New("used twice"))
		}
		clerks[k.Username] = true
		if _, err := bcrypt.Cost([]byte(k.PasswordHash)); err != nil {
			bad(field+".passwordHash", "", fmt.Errorf("not a bcrypt hash (make one with \"lienthong hash-password\"): %w", err))
		}
		if len(k.Agencies) == 0 {
			bad(field+".agencies", "", errors.New("at least one agency"))
		}
		for _, a := range k.Agencies {
			if code, err := envelope.ParseAgencyCode(a, envelope.CodeAny); err != nil || !hosted[code.Tokens()] {
				bad(field+".agencies", a, errors.New("not a hosted agency"))
			}
		}
	}
	if c.Web.IdleTimeout < 0 {
		bad("web.idleTimeout", c.Web.IdleTimeout.String(), errors.New("must not be negative"))
	}
	if c.Web.MaxSessionAge < 0 {
		bad("web.maxSessionAge", c.Web.MaxSessionAge.String(), errors.New("must not be negative"))
	}
	for i, p := range c.Web.TrustedProxies {
		if _, err := parseTrustedProxy(p); err != nil {
			bad(fmt.Sprintf("web.trustedProxies[%d]", i), p, err)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", c.Log.Level, errors.New("debug, info, warn or error"))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		bad("log.format", c.Log.Format, errors.New("json or console"))
	}
	if c.NATS.Replicas < 0 || c.NATS.Replicas > 5 {
		bad("nats.replicas", strconv.Itoa(c.NATS.Replicas), errors.New("1 to 5 (0 means 1)"))
	}
	if c.NATS.URL == "" && (c.NATS.Bind || c.NATS.NKeyFile != "" || c.NATS.Replicas > 1 || c.NATS.HubDomain != "") {
		bad("nats.url", "", errors.New("bind, nkeyFile, hubDomain and replicas above 1 are for an external server or cluster"))
	}
	if c.NATS.HubDomain != "" && (c.NATS.Domain == "" || c.NATS.Domain == c.NATS.HubDomain) {
		bad("nats.hubDomain", c.NATS.HubDomain, errors.New("a leaf node needs its own JetStream domain in nats.domain, different from the hub's"))
	}
	switch c.NATS.Consumers {
	case "", "agency":
	case consumersGateway:
		if c.NATS.HubDomain != "" {
			bad("nats.consumers", c.NATS.Consumers, errors.New("gateway consumers are not yet made on a leaf node (hubDomain)"))
		}
	default:
		bad("nats.consumers", c.NATS.Consumers, errors.New(`"agency" (one consumer per hosted agency) or "gateway" (one per gateway)`))
	}
	if c.NATS.HubDomain != "" && c.NATS.Bind {
		bad("nats.bind", "true", errors.New("on a leaf node (nats.hubDomain) the gateway makes its streams there itself; bind is for a gateway on the hub"))
	}
	if c.Trust.CRLReload < 0 || c.Trust.CRLReload > 0 && c.Trust.CRLReload < time.Second {
		bad("trust.crlReload", c.Trust.CRLReload.String(), errors.New("a duration of at least 1s, or 0 to reload only on SIGHUP"))
	}
	switch {
	case c.Ops.Token != "" && c.Ops.TokenFile != "":
		bad("ops.tokenFile", c.Ops.TokenFile, errors.New("give either ops.token or ops.tokenFile, not both"))
	case c.Ops.Token != "" && len(strings.TrimSpace(c.Ops.Token)) < minOpsToken:
		bad("ops.token", "", fmt.Errorf("at least %d characters", minOpsToken))
	}
	if c.Ops.Listen != "" {
		if host, _, err := net.SplitHostPort(c.Ops.Listen); err != nil {
			bad("ops.listen", c.Ops.Listen, err)
		} else if c.Ops.Token == "" && c.Ops.TokenFile == "" && !opsLoopback(host, net.DefaultResolver.LookupNetIP) {
			bad("ops.listen", c.Ops.Listen, errors.New("not a loopback address, and ops.token (or ops.tokenFile) is not set: "+
				"anyone who reaches it could change the log level; set ops.token, or listen on 127.0.0.1 or ::1"))
		}
	}
	return errors.Join(errs...)
}

// parseTrustedProxy reads an entry of web.trustedProxies: an IP address
// (that one host) or a CIDR prefix without host bits.
func parseTrustedProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			return netip.Prefix{}, errors.New("not an IP address or CIDR prefix (127.0.0.1, 10.0.0.0/8, fd00::/64)")
		case p.Masked() != p:
			return netip.Prefix{}, fmt.Errorf("host bits set past /%d: %s is the prefix, or give the address alone for one host", p.Bits(), p.Masked())
		case p.Bits() == 0:
			return netip.Prefix{}, errors.New("trusts every address: any client could then choose the address its sign-in failures count against")
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, errors.New("not an IP address or CIDR prefix (127.0.0.1, 10.0.0.0/8, fd00::/64)")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Redacted returns the configuration as YAML with secrets replaced, for
// -config-dump.
func (c Config) Redacted() ([]byte, error) {
	hide := func(s *string) {
		if *s != "" {
			*s = "(redacted)"
		}
	}
	// The scalar secrets are those marked so in Config's env tags; the
	// lists' below.
	for _, k := range envKeys() {
		if k.secret {
			if f := reflect.ValueOf(&c).Elem().FieldByIndex(k.index); f.String() != "" {
				f.SetString("(redacted)")
			}
		}
	}
	keys := make([]APIKeyConfig, len(c.APIKeys))
	copy(keys, c.APIKeys)
	for i := range keys {
		hide(&keys[i].Key)
	}
	c.APIKeys = keys
	clerks := make([]ClerkConfig, len(c.Web.Clerks))
	copy(clerks, c.Web.Clerks)
	for i := range clerks {
		hide(&clerks[i].PasswordHash)
	}
	c.Web.Clerks = clerks
	systems := make([]VXPSystemConfig, len(c.VXP.Systems))
	copy(systems, c.VXP.Systems)
	for i := range systems {
		hide(&systems[i].Secret)
	}
	c.VXP.Systems = systems
	return yaml.Marshal(c)
}

// opsLoopback says whether the operations listener's host is reachable
// from this machine only: "localhost", or an address of 127.0.0.0/8 or
// ::1, or a name all of whose addresses are. An empty host, 0.0.0.0 and
// :: listen on every interface; a name that does not resolve is not known
// to be loopback. lookup resolves names (net.Resolver.LookupNetIP).
func opsLoopback(host string, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone("").Unmap().IsLoopback()
	}
	if host == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := lookup(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return false
		}
	}
	return true
}

// consumersGateway is nats.consumers for one consumer per gateway and
// stream.
const consumersGateway = "gateway"

// subtrees returns the delegated subtrees' roots (Validate checked them).
func (c *Config) subtrees() ([]envelope.AgencyCode, error) {
	var out []envelope.AgencyCode
	for _, r := range c.Gateway.Subtrees {
		code, err := envelope.ParseAgencyCode(r, envelope.CodeStrict)
		if err != nil {
			return nil, fmt.Errorf("config: gateway.subtrees: %w", err)
		}
		out = append(out, code)
	}
	return out, nil
}

// perGatewayConsumers tells whether the gateway reads one consumer per
// stream (bus.Options.GatewayConsumers): asked for, or by default unless
// it is on a leaf node.
func (c *Config) perGatewayConsumers() bool {
	return c.NATS.Consumers == consumersGateway || c.NATS.Consumers == "" && c.NATS.HubDomain == ""
}

// memoryLimit is the soft memory limit serve sets, or -1 for none, for a
// directory of agencies entries (see autoMemoryLimit).
func (c *Config) memoryLimit(agencies int) int64 {
	switch {
	case c.Gateway.MemoryLimit == 0:
		return autoMemoryLimit(c.Gateway.MaxPacketSize, len(c.Agencies), agencies)
	case c.Gateway.MemoryLimit < 0:
		return -1
	}
	return c.Gateway.MemoryLimit
}

// The automatic memory limit's parts: what the largest packet takes in
// flight (1.5 times it, as the large-packet tests measure), a base, what a
// hosted agency takes (its signer, its consumers' state, its share of the
// caches) and what a directory entry takes on the heap (about 600 B with
// its certificates' fingerprints, measured by BenchmarkDirectory_National,
// and headroom for the collector: at rest the packets' share is free too),
// so that a gateway hosting thousands of agencies, or holding the national
// directory, does not spend its idle time collecting garbage, and a
// gateway with the national directory stays within 400 MiB. With 2 KiB an
// entry (sized when entries kept their certificates) a restart with the
// national directory peaked at 418 MiB; with 1 KiB at 300 MiB, as fast
// and as idle (docs/design/measure-directory.sh).
const (
	memoryBase        = 32 << 20
	memoryPerHosted   = 64 << 10
	memoryPerDirEntry = 1 << 10
)

func autoMemoryLimit(maxPacket int64, hosted, agencies int) int64 {
	return maxPacket*3/2 + memoryBase + int64(hosted)*memoryPerHosted + int64(agencies)*memoryPerDirEntry
}
