package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/signing"
)

// runDirectory runs the administrator's commands on the directory.
func runDirectory(ctx context.Context, m *Main, args []string) error {
	return m.runGroup(ctx, "directory", `The axis administrator's directory (KV LT_DIRECTORY): every entry is a record
signed by a directory administrator's key, whose certificate ("lienthong pki
issue -directory-scope") chains to the trust anchor every gateway is
configured with (trust.directory). Gateways apply only entries whose
signature verifies, stored under their own code, within their signer's
scope and newer than what they hold; they never write the directory.`, []command{
		{"put", "sign and publish one agency's or gateway's entry", runDirectoryPut},
		{"remove", "sign and publish the removal of an agency or a gateway", runDirectoryRemove},
		{"import", "sign and publish the entries of a file, or publish records signed offline", runDirectoryImport},
		{"sign", "sign the entries of a file offline, into records to import", runDirectorySign},
		{"export", "write every record as stored (a backup, or to move a directory)", runDirectoryExport},
		{"show", "verify and print the entries", runDirectoryShow},
	}, args)
}

// adminFlags are the flags of the administrator's key.
type adminFlags struct {
	key, cert, p12, p12Password *string
}

// addAdminFlags adds the flags of the administrator's key, named admin-*
// so that -cert stays an entry's certificate.
func addAdminFlags(fs *flag.FlagSet) adminFlags {
	return adminFlags{
		key:         fs.String("admin-key", "", "the administrator's private key (PEM `file`)"),
		cert:        fs.String("admin-cert", "", "the administrator's certificate and chain (PEM `file`)"),
		p12:         fs.String("admin-p12", "", "the administrator's key and chain in PKCS#12 (`file`), password from LIENTHONG_P12_PASSWORD or -admin-p12-password-file"),
		p12Password: fs.String("admin-p12-password-file", "", "read the PKCS#12 password from this `file` (its first line)"),
	}
}

// signer loads the administrator's key; it must be a directory
// administrator's.
func (f adminFlags) signer(cmd string) (*signing.Signer, error) {
	key, chain, err := loadSigningKey(*f.key, *f.cert, *f.p12, *f.p12Password)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return nil, usageError{msg: cmd + ": the administrator's -admin-key and -admin-cert (or -admin-p12) are required",
				vi: "Cần khóa của người quản trị danh bạ: -admin-key và -admin-cert, hoặc -admin-p12.", hint: "lienthong " + cmd + " -help"}
		}
		return nil, withVI(fmt.Errorf("%s: %w", cmd, err), "Không đọc được khóa của người quản trị danh bạ")
	}
	s, err := signing.NewSigner(key, chain)
	if err != nil {
		return nil, withVI(fmt.Errorf("%s: %w", cmd, err), "Người quản trị danh bạ không ký được")
	}
	if len(signing.DirectoryScopes(s.Certificate())) == 0 {
		return nil, withVI(fmt.Errorf("%s: the certificate %q is not a directory administrator's (made by \"lienthong pki issue -directory-scope\")", cmd, s.Certificate().Subject.String()),
			"Chứng thư số %q không phải của một người quản trị danh bạ (chứng thư đó làm bằng \"lienthong pki issue -directory-scope\")", s.Certificate().Subject.String())
	}
	return s, nil
}

// natsFlags are the flags of the administrator's connection.
type natsFlags struct {
	url, nkey, creds, ca, domain, user *string
	timeout                            *time.Duration
}

func addNATSFlags(fs *flag.FlagSet) natsFlags {
	return natsFlags{
		url:     fs.String("url", "", "the NATS server or cluster (`URLs`, comma-separated)"),
		nkey:    fs.String("nkey", "", "an administrator's NKey seed `file`"),
		creds:   fs.String("creds", "", "an administrator's .creds `file`"),
		ca:      fs.String("ca", "", "the CAs of the servers' TLS certificates (PEM `file`)"),
		domain:  fs.String("domain", "", "the hub's JetStream `domain`"),
		timeout: fs.Duration("timeout", 10*time.Second, "how long to wait for each answer of NATS (a write the credentials may not make gets none)"),
		user:    fs.String("user", "", "the `id` of a directory administrator's NKey (\"lienthong nats admin -id\"), whose replies come under its own inbox"),
	}
}

func (f natsFlags) open(ctx context.Context, cmd string) (*bus.Bus, error) {
	if *f.url == "" {
		return nil, usageError{msg: cmd + ": -url is required", vi: "Cần địa chỉ máy chủ NATS (-url).", hint: "lienthong " + cmd + " -help"}
	}
	opts := bus.Options{
		URL: *f.url, Name: "lienthong-directory", NKeyFile: *f.nkey, CredsFile: *f.creds, CAFile: *f.ca,
		Domain: *f.domain, Bind: true, Timeout: *f.timeout,
	}
	if *f.user != "" {
		opts.InboxPrefix = bus.DirectoryAdminInboxPrefix(*f.user)
	}
	b, err := bus.Open(ctx, opts, zap.NewNop())
	return b, withVI(err, "Không kết nối được tới NATS (-url) để đọc hoặc ghi danh bạ")
}

// DirectoryFile is the administrator's description of directory entries,
// in YAML (or JSON): the input of "directory import" and "directory sign".
// Certificate files are read relative to the file.
type DirectoryFile struct {
	Agencies []DirectoryAgency  `yaml:"agencies"`
	Gateways []DirectoryGateway `yaml:"gateways"`
	// OnlyNew: the entries come from a list that carries neither
	// certificates nor, for most, a gateway (the national axis's, a CSV
	// file): an agency already in the directory is kept as it is, unless
	// the import is asked to replace it.
	OnlyNew bool `yaml:"-"`
}

// DirectoryAgency is an agency's entry in a DirectoryFile.
type DirectoryAgency struct {
	Code     string   `yaml:"code"`
	Name     string   `yaml:"name"`
	Parent   string   `yaml:"parent"`
	Kind     string   `yaml:"kind"`
	Gateway  string   `yaml:"gateway"`
	OldCodes []string `yaml:"oldCodes"`
	// Certificates are PEM files of the certificates that sign for it.
	Certificates []string `yaml:"certificates"`
	Removed      bool     `yaml:"removed"`
}

// DirectoryGateway is a gateway's entry in a DirectoryFile.
type DirectoryGateway struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Certificates []string `yaml:"certificates"`
	Removed      bool     `yaml:"removed"`
}

// readCertificates reads PEM certificate files (relative to base) and
// returns them as PEM blocks, one per certificate.
func readCertificates(base string, files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(base, f)
		}
		certs, err := signing.LoadCertificates(f)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
		}
	}
	return out, nil
}

// records turns the file's entries into directory records, at version
// (each record's may be raised later by nextVersion).
func (f DirectoryFile) records(base string, version uint64, now time.Time) ([]gateway.DirectoryRecord, error) {
	var out []gateway.DirectoryRecord
	seen := map[string]int{}
	for i, a := range f.Agencies {
		code, err := envelope.ParseAgencyCode(a.Code, envelope.CodeStrict)
		if err != nil {
			return nil, fmt.Errorf("agencies[%d].code: %w", i, err)
		}
		// Twice in one file, two records of one key at one version:
		// gateways would keep whichever came first.
		if j, ok := seen[code.Tokens()]; ok {
			return nil, fmt.Errorf("agencies[%d] and agencies[%d] are both %s", j, i, code)
		}
		seen[code.Tokens()] = i
		if !a.Removed && (a.Name == "" || a.Gateway == "") {
			return nil, fmt.Errorf("agencies[%d] (%s): a name and a gateway are required", i, code)
		}
		for _, c := range append(slices.Clone(a.OldCodes), a.Parent) {
			if c == "" {
				continue
			}
			if _, err := envelope.ParseAgencyCode(c, envelope.CodeStrict); err != nil {
				return nil, fmt.Errorf("agencies[%d] (%s): %w", i, code, err)
			}
		}
		certs, err := readCertificates(base, a.Certificates)
		if err != nil {
			return nil, fmt.Errorf("agencies[%d] (%s): %w", i, code, err)
		}
		out = append(out, gateway.DirectoryRecord{Agency: &gateway.Agency{
			Code: code.String(), Name: a.Name, Parent: a.Parent, Kind: a.Kind, Gateway: a.Gateway,
			Certificates: certs, OldCodes: a.OldCodes, Version: version, UpdatedAt: now, Removed: a.Removed,
		}})
	}
	seenGW := map[string]int{}
	for i, g := range f.Gateways {
		if j, ok := seenGW[g.ID]; ok {
			return nil, fmt.Errorf("gateways[%d] and gateways[%d] are both %s", j, i, g.ID)
		}
		seenGW[g.ID] = i
		certs, err := readCertificates(base, g.Certificates)
		if err != nil {
			return nil, fmt.Errorf("gateways[%d] (%s): %w", i, g.ID, err)
		}
		r := gateway.DirectoryRecord{Gateway: &gateway.GatewayEntry{
			ID: g.ID, Name: g.Name, Certificates: certs, Version: version, UpdatedAt: now, Removed: g.Removed,
		}}
		if _, err := r.DirectoryKey(); err != nil {
			return nil, fmt.Errorf("gateways[%d]: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// readDirectoryFile reads entries: YAML (DirectoryFile), the national
// axis's agency list in JSON (getAgenciesList's data, or its whole
// answer: id, pid, code, name, mail, oldCode) or CSV (a header row naming
// the columns code, name, parent, kind, gateway, oldCodes). The axis's
// list and CSV name no gateway: gw is given to every agency that has
// none. Rows whose code cannot be read are refused, with their line,
// unless skip, which leaves them out and says so on w.
func readDirectoryFile(path, gw string, skip bool, w io.Writer) (DirectoryFile, error) {
	var f DirectoryFile
	data, err := os.ReadFile(path)
	if err != nil {
		return f, withVI(err, "Không đọc được tệp danh bạ %q", path)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".csv":
		return readAgencyCSV(path, data, gw, skip, w)
	case ext == ".json" && looksLikeAxisList(data):
		return readAxisList(path, data, gw, skip, w)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, withVI(fmt.Errorf("%s: %w", path, err), "Tệp danh bạ %q không đúng (YAML sai hoặc có khóa lạ)", path)
	}
	return f, nil
}

// recordVersion reads the version of a record in wire form, without
// believing it; 0 when it cannot be read.
func recordVersion(value []byte) uint64 {
	var sr signing.SignedRecord
	var r gateway.DirectoryRecord
	if json.Unmarshal(value, &sr) != nil || json.Unmarshal(sr.Record, &r) != nil {
		return 0
	}
	switch {
	case r.Agency != nil:
		return r.Agency.Version
	case r.Gateway != nil:
		return r.Gateway.Version
	}
	return 0
}

// storedVersion reads the version of the record stored under key, without
// believing it (a version written by someone else only makes the next one
// higher); 0 when there is none.
func storedVersion(ctx context.Context, b *bus.Bus, key string) (uint64, error) {
	v, err := b.DirectoryRecord(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return recordVersion(v), nil
}

// publish signs each record with a version above the one stored and puts
// it, writing a line for each to w.
//
// Records are signed and published by several workers at once: the
// national axis's 111,000 agencies are an RSA signature and two round
// trips each. The first failure stops the others; what was published
// stays, and publishing again gives those a newer version.
func publish(ctx context.Context, w io.Writer, b *bus.Bus, admin *signing.Signer, records []gateway.DirectoryRecord, keepExisting bool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	one := func(r gateway.DirectoryRecord) error {
		key, err := r.DirectoryKey()
		if err != nil {
			return err
		}
		held, err := storedVersion(ctx, b, key)
		if err != nil {
			return err
		}
		if keepExisting && held > 0 {
			mu.Lock()
			fmt.Fprintf(w, "%s\tkept as it is (already in the directory; -replace replaces it)\n", key)
			mu.Unlock()
			return nil
		}
		setVersion(&r, held)
		key, value, err := gateway.SignRecord(admin, r)
		if err != nil {
			return err
		}
		if err := b.PutRecord(ctx, key, value); err != nil {
			return err
		}
		mu.Lock()
		fmt.Fprintf(w, "%s\t%s\n", key, describeRecord(r))
		mu.Unlock()
		return nil
	}
	for range min(len(records), 2*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(records) {
					return
				}
				if err := one(records[i]); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// setVersion makes r's version higher than held.
func setVersion(r *gateway.DirectoryRecord, held uint64) {
	if r.Agency != nil {
		r.Agency.Version = max(r.Agency.Version, held+1)
	} else {
		r.Gateway.Version = max(r.Gateway.Version, held+1)
	}
}

func describeRecord(r gateway.DirectoryRecord) string {
	switch {
	case r.Agency != nil && r.Agency.Removed:
		return fmt.Sprintf("agency %s removed (version %d)", r.Agency.Code, r.Agency.Version)
	case r.Agency != nil:
		return fmt.Sprintf("agency %s %q on gateway %s, %d certificates (version %d)", r.Agency.Code, r.Agency.Name, r.Agency.Gateway, len(r.Agency.Certificates), r.Agency.Version)
	case r.Gateway.Removed:
		return fmt.Sprintf("gateway %s removed (version %d)", r.Gateway.ID, r.Gateway.Version)
	}
	return fmt.Sprintf("gateway %s, %d certificates (version %d)", r.Gateway.ID, len(r.Gateway.Certificates), r.Gateway.Version)
}

// newVersion is the version of records made now: the time in nanoseconds,
// so that records made later by any administrator are newer.
func newVersion(now time.Time) uint64 { return uint64(now.UnixNano()) }

func runDirectoryPut(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("directory put", "directory put (-code CODE -name NAME -gateway ID [-parent CODE] [-kind K] [-old-code CODE]… | -gateway-record ID [-name NAME]) [-cert FILE]… (-admin-key FILE -admin-cert FILE | -admin-p12 FILE) -url URL …", `
Signs one entry with the administrator's key and publishes it in the
directory, with a version above the one stored. An agency's entry names
its hosting gateway and the certificates that sign for it (-cert, repeat
for each: to rotate a certificate, put the entry with the new one, and the
old one until its last packets are received); a gateway's record
(-gateway-record) lists the gateway certificates that sign for the agencies
hosted there. The administrator's certificate must cover the entry: "*"
for all, an agency code for that agency and those under it, "gw:<id>" for
a gateway.

The administrator's key comes from -admin-key and -admin-cert, or
-admin-p12 (password from LIENTHONG_P12_PASSWORD or -admin-p12-password-file),
never from the command line.`)
	code := fs.String("code", "", "the agency's `code`")
	name := fs.String("name", "", "the agency's or gateway's `name`")
	parent := fs.String("parent", "", "the `code` of the agency above it")
	kind := fs.String("kind", "", "what the agency is (`ministry`, province, department, commune …)")
	gw := fs.String("gateway", "", "the `id` of the gateway hosting the agency")
	gwRecord := fs.String("gateway-record", "", "put the record of the gateway with this `id` instead of an agency's")
	var certs, oldCodes listFlag
	fs.Var(&certs, "cert", "a PEM `file` of a certificate that signs for it (repeat for each)")
	fs.Var(&oldCodes, "old-code", "a `code` the agency had before (repeat for each)")
	admin, nf := addAdminFlags(fs), addNATSFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	f := DirectoryFile{}
	switch {
	case *gwRecord != "" && *code == "":
		f.Gateways = []DirectoryGateway{{ID: *gwRecord, Name: *name, Certificates: certs}}
	case *code != "" && *gwRecord == "":
		f.Agencies = []DirectoryAgency{{Code: *code, Name: *name, Parent: *parent, Kind: *kind, Gateway: *gw, OldCodes: oldCodes, Certificates: certs}}
	default:
		return usageError{msg: "directory put: give -code (an agency) or -gateway-record (a gateway)",
			vi: "Cho một trong hai: -code (một cơ quan) hoặc -gateway-record (một cổng).", hint: "lienthong directory put -help"}
	}
	return signAndPublish(ctx, m, "directory put", f, ".", admin, nf)
}

func signAndPublish(ctx context.Context, m *Main, cmd string, f DirectoryFile, base string, af adminFlags, nf natsFlags) error {
	records, err := f.records(base, newVersion(time.Now()), time.Now().UTC())
	if err != nil {
		return withVI(fmt.Errorf("%s: %w", cmd, err), "Mục danh bạ không đúng")
	}
	admin, err := af.signer(cmd)
	if err != nil {
		return err
	}
	for _, r := range records {
		if err := coveredBy(admin.Certificate(), r); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
	}
	b, err := nf.open(ctx, cmd)
	if err != nil {
		return err
	}
	return withVI(errors.Join(publish(ctx, m.Stdout, b, admin, records, f.OnlyNew), b.Close()), "Không công bố được danh bạ")
}

// coveredBy says, before anything is published, that the administrator's
// certificate does not cover a record (every gateway would ignore it).
func coveredBy(cert *x509.Certificate, r gateway.DirectoryRecord) error {
	scopes := signing.DirectoryScopes(cert)
	if r.Gateway != nil {
		if !signing.ScopeCoversGateway(scopes, r.Gateway.ID) {
			return withVI(fmt.Errorf("the administrator's certificate (scopes %s) does not cover gateway %s", strings.Join(scopes, ", "), r.Gateway.ID),
				"Chứng thư của người quản trị (phạm vi %s) không bao gồm cổng %s", strings.Join(scopes, ", "), r.Gateway.ID)
		}
		return nil
	}
	for _, c := range append([]string{r.Agency.Code, r.Agency.Parent}, r.Agency.OldCodes...) {
		if c == "" {
			continue
		}
		code, err := envelope.ParseAgencyCode(c, envelope.CodeAny)
		if err != nil {
			return err
		}
		if !signing.ScopeCoversAgency(scopes, code) {
			return withVI(fmt.Errorf("the administrator's certificate (scopes %s) does not cover agency %s", strings.Join(scopes, ", "), c),
				"Chứng thư của người quản trị (phạm vi %s) không bao gồm cơ quan %s", strings.Join(scopes, ", "), c)
		}
	}
	return nil
}

func runDirectoryRemove(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("directory remove", "directory remove (-code CODE | -gateway-record ID) -admin-key FILE -admin-cert FILE -url URL …", `
Signs and publishes the removal of an agency or a gateway: gateways drop
the entry, and an older record of it can no longer be replayed.`)
	code := fs.String("code", "", "the agency's `code`")
	gwRecord := fs.String("gateway-record", "", "remove the gateway with this `id`")
	admin, nf := addAdminFlags(fs), addNATSFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	f := DirectoryFile{}
	switch {
	case *gwRecord != "" && *code == "":
		f.Gateways = []DirectoryGateway{{ID: *gwRecord, Removed: true}}
	case *code != "" && *gwRecord == "":
		f.Agencies = []DirectoryAgency{{Code: *code, Removed: true}}
	default:
		return usageError{msg: "directory remove: give -code or -gateway-record", vi: "Cho một trong hai: -code hoặc -gateway-record.", hint: "lienthong directory remove -help"}
	}
	return signAndPublish(ctx, m, "directory remove", f, ".", admin, nf)
}

// signedLine is a line of the files "directory sign" and "directory
// export" write and "directory import -signed" reads.
type signedLine struct {
	Key    string          `json:"key"`
	Record json.RawMessage `json:"record"`
}

func runDirectoryImport(ctx context.Context, m *Main, args []string) (err error) {
	fs := m.newFlagSet("directory import", "directory import (-f ENTRIES.yaml (-admin-key FILE -admin-cert FILE | -admin-p12 FILE) | -signed RECORDS.jsonl) -url URL …", `
With -f, signs every entry of a YAML file (agencies: and gateways:, the
fields of "directory put"; certificate files relative to the file) with the
administrator's key and publishes them, each with a version above the one
stored. With -signed, publishes records signed offline ("directory sign")
or exported ("directory export") as they are: gateways judge them.

-f also reads the national axis's agency list (FILE.json: getAgenciesList's
answer or its data, id, pid, code, name, mail, oldCode) and CSV (FILE.csv:
a header naming code, name, parent, kind, gateway, oldCodes separated by
";"). They name no gateway: -gateway gives one to every agency that has
none. A row whose code cannot be read stops the import, unless
-skip-invalid leaves it out. These lists carry no certificates: an agency
already in the directory is kept as it is (its certificates, its gateway),
unless -replace.

  agencies:
    - code: 000.00.00.H41
      name: UBND tỉnh Nghệ An
      gateway: nghean
      certificates: [h41.crt]
  gateways:
    - id: nghean
      certificates: [nghean-gateway.crt]`)
	file := fs.String("f", "", "the entries (YAML, the axis's JSON list or CSV `file`)")
	gw := fs.String("gateway", "", "with -f, the `id` of the gateway of the agencies the file gives none")
	skip := fs.Bool("skip-invalid", false, "with -f, leave out the entries whose codes cannot be read")
	replace := fs.Bool("replace", false, "with -f of the axis's list or CSV, replace the agencies already in the directory (their certificates and gateway with what the file says)")
	signed := fs.String("signed", "", "records signed offline (JSON lines `file`)")
	force := fs.Bool("force", false, "with -signed, publish records even where the stored one is as new or newer")
	admin, nf := addAdminFlags(fs), addNATSFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case (*file == "") == (*signed == ""):
		return usageError{msg: "directory import: give -f or -signed", vi: "Cho một trong hai: -f hoặc -signed.", hint: "lienthong directory import -help"}
	case *file != "":
		f, err := readDirectoryFile(*file, *gw, *skip, m.Stderr)
		if err != nil {
			return fmt.Errorf("directory import: %w", err)
		}
		f.OnlyNew = f.OnlyNew && !*replace
		return signAndPublish(ctx, m, "directory import", f, filepath.Dir(*file), admin, nf)
	}
	lines, err := readSignedLines(*signed)
	if err != nil {
		return withVI(fmt.Errorf("directory import: %w", err), "Không đọc được tệp bản ghi đã ký %q", *signed)
	}
	b, err := nf.open(ctx, "directory import")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	// A record not newer than the one stored would replace it in the
	// bucket: running gateways ignore it as stale, but one that restarts
	// would take it. Restoring an old export over a newer directory must
	// be asked for.
	published, stale := 0, 0
	for _, l := range lines {
		held, err := storedVersion(ctx, b, l.Key)
		if err != nil {
			return err
		}
		if v := recordVersion(l.Record); held > 0 && v <= held && !*force {
			stale++
			writeError(m.Stderr, fmt.Sprintf("%s: phiên bản %d không mới hơn bản đang lưu (%d); không công bố (-force để vẫn công bố).", l.Key, v, held),
				fmt.Sprintf("%s: version %d is not newer than the stored %d; not published (-force publishes it)", l.Key, v, held), "")
			continue
		}
		if err := b.PutRecord(ctx, l.Key, l.Record); err != nil {
			return err
		}
		published++
	}
	fmt.Fprintf(m.Stdout, "%d records published\n", published)
	if stale > 0 {
		return exitError{code: exitFailed, msg: fmt.Sprintf("directory import: %d records older than those stored were not published", stale),
			vi: fmt.Sprintf("%d bản ghi cũ hơn bản đang lưu nên không được công bố.", stale)}
	}
	return nil
}

func readSignedLines(path string) ([]signedLine, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []signedLine
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l signedLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Key == "" || len(l.Record) == 0 {
			return nil, fmt.Errorf("%s:%d: not a {\"key\", \"record\"} line", path, n)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func runDirectorySign(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("directory sign", "directory sign -f ENTRIES.yaml (-admin-key FILE -admin-cert FILE | -admin-p12 FILE) [-o RECORDS.jsonl]", `
Signs every entry of a YAML file (as "directory import -f") offline, on a
machine that holds the administrator's key and no NATS connection, and
writes the records as JSON lines for "directory import -signed". Their
version is the signing time, in nanoseconds.`)
	file := fs.String("f", "", "the entries (YAML, the axis's JSON list or CSV `file`, as directory import -f)")
	gw := fs.String("gateway", "", "the `id` of the gateway of the agencies the file gives none")
	skip := fs.Bool("skip-invalid", false, "leave out the entries whose codes cannot be read")
	out := fs.String("o", "", "write the records to this `file` (default standard output)")
	admin := addAdminFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{msg: "directory sign: -f is required", vi: "Cần tệp các mục danh bạ (-f).", hint: "lienthong directory sign -help"}
	}
	f, err := readDirectoryFile(*file, *gw, *skip, m.Stderr)
	if err != nil {
		return fmt.Errorf("directory sign: %w", err)
	}
	now := time.Now()
	records, err := f.records(filepath.Dir(*file), newVersion(now), now.UTC())
	if err != nil {
		return withVI(fmt.Errorf("directory sign: %w", err), "Mục danh bạ trong tệp %q không đúng", *file)
	}
	s, err := admin.signer("directory sign")
	if err != nil {
		return err
	}
	var lines []signedLine
	for _, r := range records {
		if err := coveredBy(s.Certificate(), r); err != nil {
			return fmt.Errorf("directory sign: %w", err)
		}
		key, value, err := gateway.SignRecord(s, r)
		if err != nil {
			return withVI(fmt.Errorf("directory sign: %w", err), "Không ký được mục danh bạ")
		}
		lines = append(lines, signedLine{Key: key, Record: value})
	}
	if err := writeLines(*out, m.Stdout, lines); err != nil {
		return withVI(fmt.Errorf("directory sign: %w", err), "Không ghi được các bản ghi đã ký")
	}
	return nil
}

// writeLines writes records as JSON lines to the new file out (never over
// an existing one), or to stdout when out is empty.
func writeLines(out string, stdout io.Writer, lines []signedLine) (err error) {
	w := stdout
	if out != "" {
		fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
		}()
		w = fh
	}
	enc := json.NewEncoder(w)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

// allRecords reads every key of the directory as stored.
func allRecords(ctx context.Context, b *bus.Bus) ([]signedLine, error) {
	var (
		mu   sync.Mutex
		out  []signedLine
		done bool // changes after the initial keys are not wanted
	)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := b.WatchDirectory(wctx, nil, func(u gateway.DirectoryUpdate) {
		mu.Lock()
		defer mu.Unlock()
		if !done && !u.Deleted {
			out = append(out, signedLine{Key: u.Key, Record: u.Value})
		}
	})
	mu.Lock()
	done = true
	lines := out
	mu.Unlock()
	slices.SortFunc(lines, func(a, b signedLine) int { return strings.Compare(a.Key, b.Key) })
	return lines, err
}

func runDirectoryExport(ctx context.Context, m *Main, args []string) (err error) {
	fs := m.newFlagSet("directory export", "directory export -url URL … [-format jsonl|axis|csv] [-o FILE]", `
Writes every record of the directory as stored, signed, one JSON line each
({"key": …, "record": …}): a backup, or a directory to move to another hub
with "directory import -signed". -format axis writes the agencies as the
national axis's getAgenciesList data (JSON), -format csv as CSV (code,
name, parent, kind, gateway, oldCodes): the records' contents, not their
signatures, for the tools that read those.`)
	out := fs.String("o", "", "write to this `file` (default standard output)")
	format := fs.String("format", "jsonl", "`jsonl` (signed records), axis or csv")
	anchor := fs.String("anchor", "", "with -format axis or csv, export only the records that verify against this trust anchor (PEM `file`)")
	nf := addNATSFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	b, err := nf.open(ctx, "directory export")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	switch *format {
	case "jsonl", "axis", "csv":
	default:
		return usageError{msg: fmt.Sprintf("directory export: -format %q: want jsonl, axis or csv", *format),
			vi: fmt.Sprintf("Định dạng -format %q không có: chọn jsonl, axis hoặc csv.", *format), hint: "lienthong directory export -help"}
	}
	lines, err := allRecords(ctx, b)
	if err != nil {
		return withVI(err, "Không đọc được danh bạ")
	}
	if *format == "jsonl" {
		if err := writeLines(*out, m.Stdout, lines); err != nil {
			return withVI(fmt.Errorf("directory export: %w", err), "Không ghi được các bản ghi của danh bạ")
		}
		return nil
	}
	// The records' contents, read as gateways read them: a value that is
	// not a signed record, or is stored under another key, is left out
	// (gateways ignore it too), and so, with -anchor, is one whose
	// signature does not verify — an export imported again is signed anew.
	var verifier *signing.RecordVerifier
	if *anchor != "" {
		pool, err := loadAnchors([]string{*anchor})
		if err != nil {
			return withVI(fmt.Errorf("directory export: -anchor: %w", err), "Không đọc được tệp -anchor %q", *anchor)
		}
		verifier = &signing.RecordVerifier{Anchors: pool}
	}
	var records []gateway.DirectoryRecord
	left := 0
	for _, l := range lines {
		var sr signing.SignedRecord
		var r gateway.DirectoryRecord
		if json.Unmarshal(l.Record, &sr) != nil || json.Unmarshal(sr.Record, &r) != nil {
			left++
			continue
		}
		if key, err := r.DirectoryKey(); err != nil || key != l.Key {
			left++
			continue
		}
		if verifier != nil {
			if _, err := verifier.Open(l.Record); err != nil {
				left++
				continue
			}
		}
		records = append(records, r)
	}
	if left > 0 {
		writeError(m.Stderr, fmt.Sprintf("%d giá trị không phải bản ghi hợp lệ của khóa của nó (hoặc không kiểm tra được chữ ký); không xuất.", left),
			fmt.Sprintf("%d values are not valid records of their keys (or do not verify); not exported", left), "")
	}
	w := m.Stdout
	if *out != "" {
		f, cerr := os.Create(*out)
		if cerr != nil {
			return withVI(fmt.Errorf("directory export: %w", cerr), "Không ghi được tệp %q", *out)
		}
		defer func() { err = errors.Join(err, f.Close()) }()
		w = f
	}
	if err := exportAgencies(w, *format, records); err != nil {
		return withVI(fmt.Errorf("directory export: %w", err), "Không ghi được danh bạ")
	}
	return nil
}

func runDirectoryShow(ctx context.Context, m *Main, args []string) (err error) {
	fs := m.newFlagSet("directory show", "directory show -anchor FILE (-url URL … | -signed RECORDS.jsonl) [CODE|gw.ID …]", `
Verifies the directory's records as a gateway does, against the trust
anchor -anchor (the gateways' trust.directory), and prints each: its key,
what it says, its version and signer, or why a gateway would ignore it.
Exits 1 when a record shown would be ignored.`)
	anchor := fs.String("anchor", "", "the directory's trust anchor (PEM `file`)")
	signed := fs.String("signed", "", "read records from this JSON lines `file` instead of NATS")
	nf := addNATSFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *anchor == "" {
		return usageError{msg: "directory show: -anchor is required", vi: "Cần mỏ neo tin cậy của danh bạ (-anchor).", hint: "lienthong directory show -help"}
	}
	anchors, err := loadAnchors([]string{*anchor})
	if err != nil {
		return withVI(fmt.Errorf("directory show: %w", err), "Không đọc được mỏ neo tin cậy -anchor %q", *anchor)
	}
	var lines []signedLine
	if *signed != "" {
		lines, err = readSignedLines(*signed)
	} else {
		var b *bus.Bus
		if b, err = nf.open(ctx, "directory show"); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, b.Close()) }()
		lines, err = allRecords(ctx, b)
	}
	if err != nil {
		return withVI(fmt.Errorf("directory show: %w", err), "Không đọc được các bản ghi của danh bạ")
	}
	if want := fs.Args(); len(want) > 0 {
		keys := map[string]bool{}
		for _, w := range want {
			if !strings.HasPrefix(w, gateway.GatewayKeyPrefix) {
				if c, err := envelope.ParseAgencyCode(w, envelope.CodeAny); err == nil {
					w = c.Tokens()
				}
			}
			keys[w] = true
		}
		lines = slices.DeleteFunc(lines, func(l signedLine) bool { return !keys[l.Key] })
	}
	dir := gateway.NewDirectory(&signing.RecordVerifier{Anchors: anchors})
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tENTRY\tSIGNED BY\tJUDGED")
	bad := 0
	for _, l := range lines {
		err := dir.Apply(gateway.DirectoryUpdate{Key: l.Key, Value: l.Record})
		what, signer := "?", ""
		if o, oerr := (&signing.RecordVerifier{Anchors: anchors}).Open(l.Record); oerr == nil {
			var r gateway.DirectoryRecord
			if json.Unmarshal(o.Record, &r) == nil && (r.Agency != nil) != (r.Gateway != nil) {
				what = describeRecord(r)
			}
			signer = o.Signer.Subject.CommonName
		}
		judged := "applied"
		if err != nil {
			bad++
			judged = "IGNORED: " + err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Key, what, signer, judged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if bad > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("directory show: %d of %d records would be ignored by gateways", bad, len(lines)),
			vi: fmt.Sprintf("%d trong %d bản ghi sẽ bị các cổng bỏ qua.", bad, len(lines))}
	}
	return nil
}
