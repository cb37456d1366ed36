package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nkeys"
	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/signing"
)

// runNATS runs the commands that prepare a NATS cluster for gateways.
func runNATS(ctx context.Context, m *Main, args []string) error {
	return m.runGroup(ctx, "nats", `Prepares an external NATS cluster for gateways (see deploy/nats/): a gateway's
NKey and permissions, and the streams and buckets made once with
administrator credentials.`, []command{
		{"user", "make a gateway's NKey and its nats-server user block", runNATSUser},
		{"link", "make a province's leaf node's NKey and its nats-server user block", runNATSLink},
		{"admin", "make a directory administrator's NKey, limited to its scopes", runNATSAdmin},
		{"setup", "create or update the streams and buckets (administrator)", runNATSSetup},
		{"status", "the gateways' consumers on the hub: what waits, what is in hand, catch-ups and hand-overs (administrator)", runNATSStatus},
	}, args)
}

// runNATSStatus prints what the hub holds for the gateways' consumers.
func runNATSStatus(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("nats status", "nats status -url URL [-nkey FILE | -creds FILE] [-ca FILE] [-domain D]", `
Prints, with administrator credentials and without changing anything, what
the hub holds for each gateway that reads one consumer per stream: on each
stream its consumer (gwc_edoc_<id>, gwc_status_<id>) — the subjects it reads, how many
carry a start point from a recent assignment, the messages waiting, in
hand (delivered, not acknowledged) and redelivered, whether the gateway is
reading it now, whether a hand-over holds it paused — and its catch-up
(gwu_…) while one runs, with the stream sequences it reads from and up to.
Then the per-agency consumers (ag_…) still on the hub, how many of them an
assignment retired (paused), and the administrator's hand-over bucket:
points kept for agencies' next holders, catch-ups recorded and not yet
made, assignment locks held. A few requests per stream, whatever the
number of agencies.`)
	url := fs.String("url", "", "the cluster's `URLs`, comma-separated")
	nkey := fs.String("nkey", "", "an administrator's NKey seed `file`")
	creds := fs.String("creds", "", "an administrator's .creds `file`")
	ca := fs.String("ca", "", "the CAs of the servers' TLS certificates (PEM `file`)")
	domain := fs.String("domain", "", "the hub's JetStream `domain`")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" {
		return usageError{msg: "nats status: -url is required", vi: "Cần địa chỉ cụm NATS (-url).", hint: "lienthong nats status -help"}
	}
	b, err := bus.Open(ctx, bus.Options{URL: *url, Name: "lienthong-status", NKeyFile: *nkey, CredsFile: *creds, CAFile: *ca, Domain: *domain, Bind: true}, zap.NewNop())
	if err != nil {
		return withVI(err, "Không kết nối được tới cụm NATS (-url) hoặc chưa có các luồng (lienthong nats setup)")
	}
	defer b.Close()
	st, err := b.Status(ctx)
	if err != nil {
		return withVI(err, "Không đọc được trạng thái các consumer trên trục")
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GATEWAY\tSTREAM\tCONSUMER\tSUBJECTS\tSTARTS\tWAITING\tIN HAND\tREDELIVERED\tREADING\tPAUSED\tCATCH-UP")
	for _, c := range st.Consumers {
		catchUp := "-"
		if c.CatchUp {
			catchUp = fmt.Sprintf("%d…%d", c.From, c.Until)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", c.Gateway(), c.Stream, c.Name, c.Filters, c.Starts,
			c.Pending, c.InHand, c.Redelivered, yesNo(c.Reading), yesNo(c.Paused), catchUp)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A consumer whose points cannot be read is one its gateway does not
	// read and Assign will not change: the administrator must know why.
	for _, c := range st.Consumers {
		if c.Unreadable != "" {
			fmt.Fprintf(m.Stdout, "\n%s on %s: start points unreadable: %s\n  its gateway reads none of its packets and nats setup -gateway %s refuses it: delete it (nats consumer rm %s %s) and assign the gateway again\n", c.Name, c.Stream, c.Unreadable, c.Gateway(), c.Stream, c.Name)
		}
	}
	// A source across a leaf node's link stalls silently, and what waits
	// for it is kept only for the stream's MaxAge.
	for _, src := range st.InactiveSources {
		fmt.Fprintf(m.Stdout, "\n%s's source %s of leaf node %s is not active (%s, lag %d): %s\n", src.Stream, src.Source, src.Domain, src.Problem, src.Lag, bus.LinkSourceCause)
	}
	for _, c := range st.Consumers {
		if strings.HasPrefix(c.Name, "leaf_") && !c.Reading {
			fmt.Fprintf(m.Stdout, "\n%s on %s: leaf node %s's source of it is not subscribed: %s\n", c.Name, c.Stream, c.Gateway(), bus.LinkSourceCause)
		}
	}
	fmt.Fprintf(m.Stdout, "\nper-agency consumers (ag_…): %d, %d of them retired (paused)\n", st.AgencyConsumers, st.AgencyConsumersPaused)
	fmt.Fprintf(m.Stdout, "hand-over points kept: %d\n", st.HandoverPoints)
	fmt.Fprintf(m.Stdout, "catch-ups recorded, not yet made: %s\n", orNone(st.PendingCatchUps))
	fmt.Fprintf(m.Stdout, "leaf consumers' remakes left half-done: %s\n", orNone(st.PendingRemakes))
	for _, r := range st.PendingRemakes {
		if _, name, ok := strings.Cut(r, "."); ok {
			if parts := strings.SplitN(name, "_", 3); len(parts) == 3 {
				fmt.Fprintf(m.Stdout, "  %s: assignments adding its subjects are refused until nats setup -leaf %s -agency … (its agencies and subtrees) finishes it, at the hub even with the leaf node out of reach or retired; do not delete the record: it holds the leaf's position in its own agencies\n", r, parts[2])
			}
		}
	}
	fmt.Fprintf(m.Stdout, "assignment locks held: %s\n", orNone(st.Locks))
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orNone lists ss, or says none.
func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// codesFlag collects repeated -agency flags.
type codesFlag []envelope.AgencyCode

func (f *codesFlag) String() string {
	var s []string
	for _, c := range *f {
		s = append(s, c.String())
	}
	return strings.Join(s, ",")
}

func (f *codesFlag) Set(v string) error {
	c, err := envelope.ParseAgencyCode(v, envelope.CodeStrict)
	if err != nil {
		return err
	}
	*f = append(*f, c)
	return nil
}

// runNATSUser makes a gateway's NKey (seed written to a file, mode 0600,
// never over an existing one) and prints the user block to paste in the
// servers' authorization: it may publish packets to any agency and
// consume only its own agencies' consumers.
func runNATSUser(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("nats user", "nats user -gateway ID (-agency CODE [-agency CODE …] | -gateway-consumers | -leaf) -seed FILE", `
Makes a gateway's NKey: the seed goes to -seed (mode 0600; give it to the
gateway as nats.nkeyFile), and the nats-server user block with the public
key and the gateway's permissions goes to standard output, for the
authorization section of every server of the cluster (deploy/nats/).

The permissions let the gateway publish packets to any agency, read and
acknowledge only its own agencies' durable consumers (ag_<agency>_edoc|status)
but never create or change one, write only its heartbeat (the directory is
the administrator's: "lienthong directory"), and subscribe only under its
inbox prefix. The streams and the agencies' consumers must exist: "lienthong
nats setup -agency CODE …" makes them, and the gateway runs with nats.bind:
true.

The permissions always name the gateway's own gateway and catch-up
consumers (gwc_<kind>_<id>, gwu_<kind>_<id>), for a gateway with
nats.consumers: gateway ("lienthong nats setup -gateway ID -agency …"
assigns it its agencies). Such a gateway needs no -agency: give
-gateway-consumers, and its user does not change when agencies are added or
moved. -agency adds the per-agency consumers, while a gateway still uses
them.

With -leaf, the user is for the gateway's own province's leaf node
(deploy/nats/leaf.conf): the block has no permissions, since the leaf's
streams and sources are the gateway's to make; the leaf node's own user at
the hub ("lienthong nats link") keeps other agencies' packets out.`)
	id := fs.String("gateway", "", "the gateway's `id` (gateway.id of its configuration)")
	seed := fs.String("seed", "", "write the NKey seed to this `file`")
	var agencies codesFlag
	fs.Var(&agencies, "agency", "a hosted agency's `code` (repeat for each)")
	leaf := fs.Bool("leaf", false, "a user of the province's leaf node, without permissions")
	perGateway := fs.Bool("gateway-consumers", false, "the gateway reads one consumer per stream (nats.consumers: gateway): no -agency needed")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *id == "" || *seed == "" || (len(agencies) == 0 && !*leaf && !*perGateway):
		return usageError{msg: "nats user: -gateway, -seed and at least one -agency (or -gateway-consumers, or -leaf) are required",
			vi: "Cần -gateway, -seed và ít nhất một -agency (hoặc -gateway-consumers, hoặc -leaf).", hint: "lienthong nats user -help"}
	case *leaf && len(agencies) > 0:
		return usageError{msg: "nats user: -leaf takes no -agency: a gateway's user on its leaf node has no permission list (the agencies go to \"lienthong nats setup -leaf\")",
			vi: "Với -leaf thì không cho -agency: người dùng của cổng trên nút lá không có danh sách quyền (các cơ quan đưa vào \"lienthong nats setup -leaf\").", hint: "lienthong nats user -help"}
	}
	if err := bus.CheckID(*id); err != nil {
		return usageError{msg: "nats user: -gateway: " + err.Error(), vi: fmt.Sprintf("Tên cổng -gateway %q không dùng được.", *id), hint: "lienthong nats user -help"}
	}
	pub, err := writeNKey(*seed)
	if err != nil {
		return withVI(fmt.Errorf("nats user: %w", err), "Không ghi được khóa NKey vào tệp %q", *seed)
	}
	if *leaf {
		_, err = fmt.Fprintf(m.Stdout, "# gateway %s on its province's leaf node\n{ nkey: %q }\n", *id, pub)
		return err
	}
	perms := bus.GatewayPermissions(*id, agencies)
	comment := "gateway " + *id + ": " + agencies.String()
	if len(agencies) == 0 {
		comment = "gateway " + *id + " (its agencies: lienthong nats setup -gateway " + *id + ")"
	}
	_, err = fmt.Fprint(m.Stdout, perms.Conf(pub, comment))
	return err
}

// writeNKey makes a user NKey, writes its seed to path (mode 0600, never
// over an existing file) and returns its public key.
func writeNKey(path string) (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", err
	}
	s, err := kp.Seed()
	if err != nil {
		return "", err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(append(s, '\n'))
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", err
	}
	return pub, nil
}

// runNATSAdmin makes a directory administrator's NKey and prints its user
// block, with the permissions of bus.DirectoryAdminPermissions.
func runNATSAdmin(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("nats admin", "nats admin -id ID -directory-scope SCOPE [-directory-scope SCOPE …] -seed FILE", `
Makes the NKey of a directory administrator — a province's, say, whose
certificate ("lienthong pki issue -directory-scope") covers only its own
agencies and gateway: the seed goes to -seed (mode 0600), and the user block
goes to standard output, for users.conf on every hub node. Its permissions
let it write the directory's keys of its scopes only ("*" all, an agency
code for that agency and those under it, gw:ID a gateway's record), read
the directory, and receive replies under its own inbox: give the same id to
the directory commands (-user ID).

Gateways believe only records whose signature and scope verify, whoever
wrote them; these permissions also keep the administrator's NATS
credentials from writing other keys at all.`)
	id := fs.String("id", "", "the administrator's `id` (letters, digits, '-' and '_')")
	seed := fs.String("seed", "", "write the NKey seed to this `file`")
	var scopes listFlag
	fs.Var(&scopes, "directory-scope", "a `scope` of the directory it may write (repeat for each)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" || *seed == "" || len(scopes) == 0 {
		return usageError{msg: "nats admin: -id, -seed and at least one -directory-scope are required",
			vi: "Cần -id, -seed và ít nhất một -directory-scope.", hint: "lienthong nats admin -help"}
	}
	if err := bus.CheckID(*id); err != nil {
		return usageError{msg: "nats admin: -id: " + err.Error(), vi: fmt.Sprintf("Mã người quản trị -id %q không dùng được.", *id), hint: "lienthong nats admin -help"}
	}
	var normalized []string
	for _, sc := range scopes {
		n, err := signing.NormalizeDirectoryScope(sc)
		if err != nil {
			return usageError{msg: "nats admin: " + err.Error(), vi: fmt.Sprintf("Phạm vi -directory-scope %q không dùng được.", sc), hint: "lienthong nats admin -help"}
		}
		normalized = append(normalized, n)
	}
	pub, err := writeNKey(*seed)
	if err != nil {
		return withVI(fmt.Errorf("nats admin: %w", err), "Không ghi được khóa NKey vào tệp %q", *seed)
	}
	perms := bus.DirectoryAdminPermissions(*id, normalized)
	_, err = fmt.Fprint(m.Stdout, perms.Conf(pub, "directory administrator "+*id+": "+strings.Join(normalized, ", ")))
	return err
}

// runNATSLink makes the NKey of a province's leaf node's link to the hub
// and prints its user block, with the permissions of bus.LeafPermissions.
func runNATSLink(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("nats link", "nats link -domain D [-hub-domain hub] -gateway ID [-gateway ID …] -seed FILE", `
Makes the NKey with which a province's leaf node (deploy/nats/leaf.conf,
JetStream domain -domain) logs in at the hub: the seed goes to -seed (mode
0600; give it to the leaf node as LEAF_SEED in /etc/nats/nats-server.env),
and the user block with its permissions goes to standard output, for
users.conf on every hub node.

The permissions let the leaf node's streams source from the hub's only
through the leaf's own durable consumers (leaf_edoc_D, leaf_status_D and
their catch-ups leafu_*_D), which it may reset but not create or change:
their filters, the leaf's agencies, are the administrator's ("lienthong
nats setup -leaf D -agency …"), so the block does not change when agencies
are added or moved. Its gateways write only their own heartbeats (the
directory is the administrator's), and the hub sources the leaf's
out-streams. List every gateway the leaf node serves.`)
	domain := fs.String("domain", "", "the leaf node's JetStream `domain` (its gateways' nats.domain)")
	hubDomain := fs.String("hub-domain", "hub", "the hub's JetStream `domain` (the gateways' nats.hubDomain)")
	seed := fs.String("seed", "", "write the NKey seed to this `file`")
	var gateways listFlag
	fs.Var(&gateways, "gateway", "the `id` of a gateway on the leaf node (repeat for each)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *domain == "" || *seed == "" || len(gateways) == 0:
		return usageError{msg: "nats link: -domain, -seed and at least one -gateway are required",
			vi: "Cần -domain, -seed và ít nhất một -gateway.", hint: "lienthong nats link -help"}
	case *domain == *hubDomain:
		return usageError{msg: fmt.Sprintf("nats link: the leaf node's domain %q is the hub's", *domain),
			vi: fmt.Sprintf("Miền %q của nút lá trùng với miền của trục.", *domain), hint: "lienthong nats link -help"}
	}
	if err := bus.CheckID(*domain); err != nil {
		return usageError{msg: "nats link: -domain: " + err.Error(), vi: fmt.Sprintf("Miền -domain %q không dùng được.", *domain), hint: "lienthong nats link -help"}
	}
	for _, g := range gateways {
		if err := bus.CheckID(g); err != nil {
			return usageError{msg: "nats link: -gateway: " + err.Error(), vi: fmt.Sprintf("Tên cổng -gateway %q không dùng được.", g), hint: "lienthong nats link -help"}
		}
	}
	pub, err := writeNKey(*seed)
	if err != nil {
		return withVI(fmt.Errorf("nats link: %w", err), "Không ghi được khóa NKey vào tệp %q", *seed)
	}
	perms := bus.LeafPermissions(*domain, *hubDomain, gateways)
	// The leaf's permissions allow JetStream's answers in their scoped
	// form only, which each server must be told to use.
	_, err = fmt.Fprint(m.Stdout, perms.Conf(pub, fmt.Sprintf("leaf node %s (gateways %s); every hub node and the leaf node need feature_flags { js_api_reply_v2: true }", *domain, gateways.String())))
	return err
}

// leafCatchUpWait is how long "nats setup -leaf D -agency …" waits for the
// catch-up of the agencies added to the leaf node to be read.
const leafCatchUpWait = 2 * time.Minute

// runNATSSetup creates or updates the streams and buckets of the NATS
// contract, with credentials allowed to.
func runNATSSetup(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("nats setup", "nats setup -url URL [-nkey FILE | -creds FILE] [-ca FILE] [-replicas 3] [-domain D] [-agency CODE …] [-gateway ID [-subtree CODE …]] [-leaf D,… | -leaf D -agency CODE … [-subtree CODE …]]", `
Creates or updates the streams (LT_EDOC, LT_STATUS, and LT_LARGE for large
packets) and the key-value buckets (LT_DIRECTORY, LT_GATEWAYS)
on a NATS cluster, with administrator credentials; gateways with their own
restricted credentials then only bind to them (nats.bind: true). Run it
again after an upgrade or to change the replicas: it brings every stream
and bucket to the configuration of this version, keeping their messages
and the leaf nodes' sources.

With -agency (repeat for each), it also makes the durable consumers of
those agencies (ag_<agency>_edoc|status, each filtered to exactly its
agency's subject), which gateways may read but not create: run it for every
agency hosted at the hub (not on a leaf node) when it is registered.

With -gateway ID, -agency names every agency that gateway hosts instead
(gateways with nats.consumers: gateway): one durable consumer per stream
(gwc_<kind>_<ID>) is given their subjects, taken over from other gateways
from exact handover points, and a catch-up consumer reads what waited for
those added. -subtree CODE (repeat for each, as the gateway's
gateway.subtrees) delegates the agency and everything under it, present
and future: the consumer filters on the root and its subtree, not on each
agency, which keeps the hub's work per message small for a province's
thousands of communes. A subtree is refused while the directory says an
agency under it is hosted by another gateway: put its record first.

With -leaf, for each provincial leaf node's JetStream domain (its link to
the hub must be up): makes the leaf's out-streams (LT_OUT_EDOC,
LT_OUT_STATUS) if they do not exist and adds them as sources of the hub's
streams, so that what the province's gateway publishes reaches the hub,
also after its link was down. Run it once per new leaf node; sources
already there are kept.

With one -leaf D and -agency (repeat for each; every agency the leaf's
gateways host) and -subtree as for -gateway: the hub's two durable
consumers of the leaf (leaf_edoc_D, leaf_status_D), which the leaf's
streams source, are given those agencies' subjects, two consumers however
many agencies. An agency added is read up from where it waited: from the
point its previous holder kept, or for a leaf of the version before from
what its per-agency sources had delivered (those sources are then
removed), by a catch-up consumer (leafu_*_D) that the command waits for
and removes; if it has not ended within two minutes, the next run removes
it. An agency another gateway or leaf node has is taken from it at an exact
point (its consumer is paused a moment); one it has under a subtree is
refused. The leaf's link must be up.`)
	url := fs.String("url", "", "the cluster's `URLs`, comma-separated")
	nkey := fs.String("nkey", "", "an administrator's NKey seed `file`")
	creds := fs.String("creds", "", "an administrator's .creds `file`")
	ca := fs.String("ca", "", "the CAs of the servers' TLS certificates (PEM `file`)")
	replicas := fs.Int("replicas", 3, "the `number` of replicas of each stream and bucket")
	domain := fs.String("domain", "", "the hub's JetStream `domain`")
	leaves := fs.String("leaf", "", "the JetStream `domains` of leaf nodes to source, comma-separated")
	var agencies codesFlag
	fs.Var(&agencies, "agency", "make the consumers of the agency with this `code` (repeat for each)")
	gw := fs.String("gateway", "", "assign this `gateway` the agencies of -agency (all it hosts) and the subtrees of -subtree, in one consumer per stream, for gateways with nats.consumers: gateway")
	var subtrees codesFlag
	fs.Var(&subtrees, "subtree", "with -gateway: delegate to it the agency with this `code` and everything under it, as its gateway.subtrees (repeat for each)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" {
		return usageError{msg: "nats setup: -url is required", vi: "Cần địa chỉ cụm NATS (-url).", hint: "lienthong nats setup -help"}
	}
	var leafDomains []string
	for d := range strings.SplitSeq(*leaves, ",") {
		if d = strings.TrimSpace(d); d != "" {
			if d == *domain {
				return usageError{msg: fmt.Sprintf("nats setup: -leaf %s is the hub's own domain", d),
					vi: fmt.Sprintf("Miền nút lá -leaf %s trùng với miền của trục.", d), hint: "lienthong nats setup -help"}
			}
			if err := bus.CheckID(d); err != nil {
				return usageError{msg: "nats setup: -leaf: " + err.Error(), vi: fmt.Sprintf("Miền nút lá -leaf %q không dùng được.", d), hint: "lienthong nats setup -help"}
			}
			leafDomains = append(leafDomains, d)
		}
	}
	// -agency with -leaf and no -gateway: the leaf's agencies.
	leafAssign := *gw == "" && len(leafDomains) > 0 && len(agencies)+len(subtrees) > 0
	switch {
	case leafAssign && len(leafDomains) != 1:
		return usageError{msg: "nats setup: -agency and -subtree are assigned to one leaf node: give one -leaf domain",
			vi: "-agency và -subtree giao cho một nút lá: chỉ cho một miền -leaf.", hint: "lienthong nats setup -leaf h41 -agency 000.00.00.H41 -subtree 000.00.00.H41"}
	}
	if *gw == "" && len(subtrees) > 0 && !leafAssign {
		return usageError{msg: "nats setup: -subtree is delegated to a gateway or a leaf node: give -gateway or -leaf",
			vi: "-subtree giao cho một cổng (hoặc một nút lá): cần -gateway (hoặc -leaf).", hint: "lienthong nats setup -gateway nghean -agency 000.00.00.H41 -subtree 000.00.00.H41"}
	}
	if *gw != "" && len(agencies) == 0 {
		return usageError{msg: "nats setup: -gateway needs every agency it hosts (-agency, repeated)",
			vi: "-gateway cần danh sách mọi cơ quan cổng đó phục vụ (-agency, lặp lại).", hint: "lienthong nats setup -gateway nghean -agency 000.00.00.H41 -agency …"}
	}
	opts := bus.Options{
		URL: *url, Name: "lienthong-setup", NKeyFile: *nkey, CredsFile: *creds, CAFile: *ca,
		Replicas: *replicas, Domain: *domain,
	}
	b, err := bus.Open(ctx, opts, zap.NewNop())
	if err != nil {
		return withVI(err, "Không kết nối được tới cụm NATS (-url) hoặc không tạo được các luồng và kho khóa-giá trị")
	}
	switch {
	case *gw != "":
		if err := checkSubtreeHosts(ctx, b, *gw, subtrees); err != nil {
			b.Close()
			return withVI(err, "Danh bạ ghi một số cơ quan thuộc nhánh giao cho cổng %s là do cổng khác phục vụ: sửa bản ghi danh bạ của chúng trước (lienthong directory), rồi chạy lại lệnh", *gw)
		}
		if err := b.Assign(ctx, bus.Assignment{Gateway: *gw, Agencies: agencies, Subtrees: subtrees}); err != nil {
			b.Close()
			if errors.Is(err, bus.ErrCatchUpRunning) {
				return withVI(err, "Cổng %s còn đang đọc bù văn bản chờ từ lần giao trước; chạy lại lệnh khi cổng đã đọc xong", *gw)
			}
			if errors.Is(err, bus.ErrLeafRemakePending) {
				return withVI(err, "Một nút lá còn dở việc tạo lại consumer của nó: giao lại các cơ quan cho nút lá đó trước (lienthong nats setup -leaf …), rồi chạy lại lệnh")
			}
			return withVI(err, "Không giao được các cơ quan cho cổng %s", *gw)
		}
	case len(agencies) > 0 && !leafAssign:
		if err := b.EnsureConsumers(ctx, agencies, 0); err != nil {
			b.Close()
			return withVI(err, "Không tạo được consumer của các cơ quan %s", agencies.String())
		}
	}
	if err := b.Close(); err != nil {
		return withVI(err, "Không đóng được kết nối NATS")
	}
	fmt.Fprintf(m.Stdout, "streams %s, %s, %s and buckets %s, %s ready with %d replicas\n",
		bus.StreamEdoc, bus.StreamStatus, bus.StreamLarge, bus.BucketDirectory, bus.BucketGateways, *replicas)
	switch {
	case *gw != "":
		fmt.Fprintf(m.Stdout, "gateway %s assigned %d agencies: consumers %s and %s ready\n", *gw, len(agencies),
			bus.GatewayConsumerName(*gw, gateway.KindEdoc), bus.GatewayConsumerName(*gw, gateway.KindStatus))
	case len(agencies) > 0 && !leafAssign:
		fmt.Fprintf(m.Stdout, "consumers of %s ready\n", agencies.String())
	}
	for _, d := range leafDomains {
		// One connection per leaf node, with the inbox its permissions
		// let it answer.
		opts.InboxPrefix, opts.Bind = bus.LeafAdminInboxPrefix(d), true
		b, err := bus.Open(ctx, opts, zap.NewNop())
		if err != nil {
			return withVI(err, "Không kết nối được tới cụm NATS để nối nút lá %s", d)
		}
		if err := b.SourceLeaf(ctx, d); err != nil {
			b.Close()
			return withVI(err, "Không nối được các luồng của nút lá %s vào trục", d)
		}
		unfinished := ""
		if leafAssign {
			err := b.AssignLeaf(ctx, bus.LeafAssignment{Domain: d, Agencies: agencies, Subtrees: subtrees, Wait: leafCatchUpWait})
			if errors.Is(err, bus.ErrLeafCatchUpUnfinished) {
				// Assigned; the catch-up goes on, and the same
				// command ends it once read.
				unfinished, err = err.Error(), nil
			}
			if err != nil {
				b.Close()
				if errors.Is(err, bus.ErrCatchUpRunning) {
					return withVI(err, "Nút lá %s còn đang đọc bù văn bản chờ từ lần giao trước; chạy lại lệnh khi đã đọc xong", d)
				}
				if errors.Is(err, bus.ErrLeafRemakePending) {
					return withVI(err, "Một nút lá khác còn dở việc tạo lại consumer của nó: giao lại các cơ quan cho nút lá đó trước, rồi chạy lại lệnh")
				}
				return withVI(err, "Không giao được các cơ quan cho nút lá %s", d)
			}
		}
		if err := b.Close(); err != nil {
			return withVI(err, "Không đóng được kết nối NATS")
		}
		fmt.Fprintf(m.Stdout, "leaf node %s: %s and %s sourced by %s and %s\n", d,
			bus.StreamOutEdoc, bus.StreamOutStatus, bus.StreamEdoc, bus.StreamStatus)
		if leafAssign {
			fmt.Fprintf(m.Stdout, "leaf node %s assigned %d agencies and %d subtrees: consumers %s and %s ready\n", d, len(agencies), len(subtrees),
				bus.LeafConsumerName(d, gateway.KindEdoc), bus.LeafConsumerName(d, gateway.KindStatus))
			if unfinished != "" {
				fmt.Fprintf(m.Stdout, "leaf node %s is still reading what waited for its new agencies (%s, after %s): run this command again once it has, to end the catch-up; until then no agency can be added to it\n",
					d, strings.TrimPrefix(unfinished, "bus: "), leafCatchUpWait)
			}
		}
	}
	return nil
}

// errSubtreeHostedElsewhere is checkSubtreeHosts' refusal.
var errSubtreeHostedElsewhere = errors.New("nats setup: the directory says agencies under the subtree are hosted by another gateway")

// checkSubtreeHosts refuses to delegate a subtree to gateway gw while the
// directory says an agency under it is hosted by another gateway
// (docs/design/consumers.md §2.1): that gateway's consumer would later
// overlap this one's, and peers would refuse the agency's packets signed
// by this gateway. The records are read as stored, not verified: only an
// administrator writes the hub's directory, and the check can only refuse.
// It names at most ten of them.
func checkSubtreeHosts(ctx context.Context, b *bus.Bus, gw string, subtrees []envelope.AgencyCode) error {
	const named = 10
	var elsewhere []string
	n := 0
	for _, root := range subtrees {
		err := b.DirectoryUnder(ctx, root, func(key string, value []byte) error {
			data, err := signing.UnverifiedRecord(value)
			if err != nil {
				return fmt.Errorf("directory record %s: %w", key, err)
			}
			var r gateway.DirectoryRecord
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("directory record %s: %w", key, err)
			}
			if a := r.Agency; a != nil && !a.Removed && a.Gateway != "" && a.Gateway != gw {
				if n++; n <= named {
					elsewhere = append(elsewhere, fmt.Sprintf("%s (%s)", a.Code, a.Gateway))
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("nats setup: check the directory under %s: %w", root, err)
		}
	}
	if n == 0 {
		return nil
	}
	more := ""
	if n > named {
		more = fmt.Sprintf(" and %d more", n-named)
	}
	return fmt.Errorf("%w (not %s): %s%s; put their directory records with gateway %q first", errSubtreeHostedElsewhere, gw, strings.Join(elsewhere, ", "), more, gw)
}
