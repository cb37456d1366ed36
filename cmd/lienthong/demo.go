package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/report"
	"github.com/lienthong/lienthong/gateway/vxp"
	"github.com/lienthong/lienthong/internal/letter"
	"github.com/lienthong/lienthong/signing"
)

// demoGateway is one gateway of the demonstration.
type demoGateway struct {
	id       string
	agencies [][2]string // code, name
	key      string      // the DMS API key, made at start
	password string      // the clerk's password, made at start
	// vxpSecret is the secret of the gateway's VXP system, qlvb.<id>,
	// made at start.
	vxpSecret string
	node      *node
	// url is the base URL of the API when the gateway runs in a process
	// of its own (bench -large) rather than as node.
	url string
}

// apiURL is the base URL of the gateway's API.
func (g *demoGateway) apiURL() string {
	if g.node != nil {
		return g.node.URL()
	}
	return g.url
}

// vxpSystem is the system id of the gateway's VXP system.
func (g *demoGateway) vxpSystem() string { return "qlvb." + g.id }

func demoGateways() []*demoGateway {
	return []*demoGateway{
		{id: "vpcp", agencies: [][2]string{{"000.00.00.G22", "Văn phòng Chính phủ"}}},
		{id: "byt", agencies: [][2]string{{"000.00.00.G18", "Bộ Y tế"}}},
		{id: "nghean", agencies: [][2]string{
			{"000.00.00.H41", "UBND tỉnh Nghệ An"},
			{"000.00.12.H41", "Sở Y tế tỉnh Nghệ An"},
			{"000.00.31.H41", "UBND xã Nghi Phong"},
		}},
		{id: "hcm", agencies: [][2]string{{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"}}},
	}
}

// runDemo runs four gateways on one embedded NATS server, sends a few
// documents between them through the HTTP API and shows where each one is.
func runDemo(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("demo", "demo [-dir DIR] [-for DURATION]", `
Runs the axis in one process: an embedded NATS server with JetStream and
four gateways — Văn phòng Chính phủ, Bộ Y tế, UBND tỉnh Nghệ An (hosting
also Sở Y tế tỉnh Nghệ An and UBND xã Nghi Phong) and UBND Thành phố Hồ Chí
Minh — with a development PKI made for the occasion. It prints each
gateway's API address and key, sends a few documents through the API,
lets the recipients act on them, and shows every recipient's state.

Then it keeps running so that the APIs can be tried, until interrupted
or, with -for (or LIENTHONG_DEMO_FOR), for that long. Needs no network, no
broker and no database: everything lives in DIR (default: a temporary
directory removed at the end).`)
	dir := fs.String("dir", "", "keep the demo's files (PKI, stores, NATS, log) in this `directory`")
	runFor := fs.Duration("for", 0, "stop after this `duration` (0: until interrupted)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *runFor == 0 {
		if v := os.Getenv("LIENTHONG_DEMO_FOR"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return &ConfigError{Field: "LIENTHONG_DEMO_FOR", Value: v, Err: err}
			}
			*runFor = d
		}
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "lienthong-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	logFile, err := os.OpenFile(filepath.Join(*dir, "demo.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log, _, err := newLogger(LogConfig{Level: "info", Format: "json"}, logFile)
	if err != nil {
		return err
	}
	defer log.Sync()

	gws := demoGateways()
	srv, err := demoStart(ctx, *dir, gws, log)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, g := range gws {
			if g.node != nil {
				if err := g.node.Close(cctx); err != nil {
					log.Warn("close", zap.String("node", g.id), zap.Error(err))
				}
			}
		}
		if srv != nil {
			srv.Shutdown()
			srv.WaitForShutdown()
		}
	}()
	if err != nil {
		return err
	}
	out := m.Stdout
	fmt.Fprintf(out, "== Trục liên thông thử nghiệm: 1 máy chủ NATS nhúng, %d cổng liên thông (thư mục %s)\n\n", len(gws), *dir)
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "Cổng\tĐịa chỉ API\tKhóa API (Bearer)\tCơ quan")
	for _, g := range gws {
		var names []string
		for _, a := range g.agencies {
			names = append(names, a[0]+" "+a[1])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.id, g.node.URL(), g.key, strings.Join(names, "; "))
	}
	tw.Flush()
	if err := demoExchange(ctx, out, gws); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nTrang văn thư (mở bằng trình duyệt; tên đăng nhập: vanthu):")
	tw = tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	for _, g := range gws {
		fmt.Fprintf(tw, "  %s\t%s/\tmật khẩu %s\n", g.id, g.node.URL(), g.password)
	}
	tw.Flush()
	vpcp := gws[0]
	nghean := gws[2]
	fmt.Fprintf(out, "\nThử API, ví dụ:\n  curl -H 'Authorization: Bearer %s' '%s/api/v1/documents?direction=out'\n  curl '%s/api/v1/openapi.json'\n",
		vpcp.key, vpcp.node.URL(), vpcp.node.URL())
	fmt.Fprintf(out, "Phần mềm QLVB viết theo SDK của Trục quốc gia (VXP) kết nối không cần sửa: endpoint %s%s, systemid %s, secret %s\n",
		vpcp.node.URL(), vxp.DefaultPrefix, vpcp.vxpSystem(), vpcp.vxpSecret)
	fmt.Fprintf(out, "Báo cáo liên thông quý này của UBND tỉnh Nghệ An (in được):\n  curl -H 'Authorization: Bearer %s' -o bao-cao.html '%s/api/v1/reports/000.00.00.H41/%s?format=html'\nNhật ký: %s\n",
		nghean.key, nghean.node.URL(), report.QuarterOf(time.Now()), logFile.Name())
	if *runFor > 0 {
		fmt.Fprintf(out, "\nDừng sau %s.\n", *runFor)
		select {
		case <-ctx.Done():
		case <-time.After(*runFor):
		}
	} else {
		fmt.Fprintln(out, "\nNhấn Ctrl-C để dừng.")
		<-ctx.Done()
	}
	return nil
}

// demoStart makes the PKI, starts the NATS server and the gateways.
func demoStart(ctx context.Context, dir string, gws []*demoGateway, log *zap.Logger) (*server.Server, error) {
	ca, admin, err := demoPKI(dir)
	if err != nil {
		return nil, err
	}
	srv, err := bus.StartServer(bus.ServerOptions{Dir: filepath.Join(dir, "nats"), Port: -1, Name: "demo", Log: log.Named("nats")})
	if err != nil {
		return nil, err
	}
	var entries []gateway.DirectoryRecord
	// The gateways of the process share one limiter of the releases of
	// free pages (gateway.MemoryLimiter).
	mem := new(gateway.MemoryLimiter)
	for _, g := range gws {
		cfg, es, err := demoConfig(ca, dir, g, srv.ClientURL())
		if err != nil {
			return srv, err
		}
		entries = append(entries, es...)
		if g.node, err = openNode(ctx, cfg, log.With(zap.String("node", g.id)), nil, nil, mem); err != nil {
			return srv, fmt.Errorf("demo: gateway %s: %w", g.id, err)
		}
	}
	if err := demoRegister(ctx, srv.ClientURL(), admin, entries); err != nil {
		return srv, withVI(fmt.Errorf("demo: the directory: %w", err), "Không ghi được danh bạ của bản trình diễn")
	}
	// Every gateway must know every agency before documents go out.
	return srv, demoWait(ctx, "danh bạ", "the directory", func() bool {
		for _, g := range gws {
			for _, h := range gws {
				for _, a := range h.agencies {
					if _, ok := g.node.gw.Directory().Lookup(a[0]); !ok {
						return false
					}
				}
			}
		}
		return true
	})
}

// demoPKI makes the development CA in dir/ca and the axis administrator,
// who registers every agency in the directory: the gateways believe only
// entries it signed. The CA is also the directory's trust anchor.
func demoPKI(dir string) (*signing.CA, *signing.Signer, error) {
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		return nil, nil, err
	}
	adminIssued, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Quản trị trục liên thông", DirectoryScopes: []string{"*"}})
	if err != nil {
		return nil, nil, err
	}
	admin, err := signing.NewSigner(adminIssued.Key, []*x509.Certificate{adminIssued.Certificate})
	if err != nil {
		return nil, nil, err
	}
	return ca, admin, nil
}

// demoConfig issues the certificates of g's agencies from ca, writes them
// in dir/<g.id>, the gateway's data directory, and returns its
// configuration on the NATS server at natsURL, with the directory entries
// of its agencies for the administrator to register. It makes g's API key,
// clerk's password and VXP secret.
func demoConfig(ca *signing.CA, dir string, g *demoGateway, natsURL string) (Config, []gateway.DirectoryRecord, error) {
	gdir := filepath.Join(dir, g.id)
	if err := os.MkdirAll(gdir, 0o750); err != nil {
		return Config{}, nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	g.key = "demo-" + g.id + "-" + hex.EncodeToString(secret)
	cfg := DefaultConfig()
	cfg.Gateway.ID, cfg.Gateway.DataDir = g.id, gdir
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.NATS.URL = natsURL
	cfg.Trust.CA = []string{filepath.Join(ca.Dir(), signing.CACertFile)}
	cfg.Trust.CRL = []string{filepath.Join(ca.Dir(), signing.CRLFile)}
	cfg.Trust.Directory = []string{filepath.Join(ca.Dir(), signing.CACertFile)}
	key := APIKeyConfig{Name: "qlvb-" + g.id, Key: g.key}
	var entries []gateway.DirectoryRecord
	for _, a := range g.agencies {
		is, err := ca.Issue(signing.IssueRequest{Agency: a[0], Name: a[1]})
		if err != nil {
			return Config{}, nil, err
		}
		prefix := filepath.Join(gdir, strings.ReplaceAll(a[0], ".", "_"))
		if err := is.WriteFiles(prefix); err != nil {
			return Config{}, nil, err
		}
		cfg.Agencies = append(cfg.Agencies, AgencyConfig{Code: a[0], Name: a[1], Key: prefix + ".key", Cert: prefix + ".crt"})
		entries = append(entries, demoEntry(g.id, a, is.Certificate))
		key.Agencies = append(key.Agencies, a[0])
	}
	cfg.APIKeys = []APIKeyConfig{key}
	rand.Read(secret)
	g.password = hex.EncodeToString(secret[:6])
	hash, err := bcrypt.GenerateFromPassword([]byte(g.password), bcrypt.MinCost)
	if err != nil {
		return Config{}, nil, err
	}
	cfg.Web.Clerks = []ClerkConfig{{Username: "vanthu", Name: "Văn thư " + g.agencies[0][1], PasswordHash: string(hash), Agencies: key.Agencies}}
	rand.Read(secret)
	g.vxpSecret = hex.EncodeToString(secret)
	cfg.VXP.Systems = []VXPSystemConfig{{ID: g.vxpSystem(), Secret: g.vxpSecret, Agencies: key.Agencies}}
	return cfg, entries, cfg.Validate()
}

// demoEntry is the directory entry of a demo agency (code, name) hosted by
// gateway id and signing with cert.
func demoEntry(id string, a [2]string, cert *x509.Certificate) gateway.DirectoryRecord {
	parent := ""
	if c, err := envelope.ParseAgencyCode(a[0], envelope.CodeStrict); err == nil {
		if p, ok := c.Parent(); ok {
			parent = p.String()
		}
	}
	return gateway.DirectoryRecord{Agency: &gateway.Agency{
		Code: a[0], Name: a[1], Parent: parent, Gateway: id,
		Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))},
	}}
}

// demoRegister publishes the entries, signed by the administrator, as
// "lienthong directory import" does.
func demoRegister(ctx context.Context, url string, admin *signing.Signer, entries []gateway.DirectoryRecord) error {
	b, err := bus.Open(ctx, bus.Options{URL: url, Name: "demo-admin", Bind: true}, nil)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, r := range entries {
		r.Agency.Version, r.Agency.UpdatedAt = newVersion(now), now.UTC()
	}
	return errors.Join(publish(ctx, io.Discard, b, admin, entries, false), b.Close())
}

// demoLetter is a document of the demonstration.
type demoLetter struct {
	from     *demoGateway
	fromCode string
	number   string
	notation string
	subject  string
	to       [][2]string
	id       string // the local id at the sender, once accepted
}

// demoExchange sends the documents, lets the recipients act and prints
// where each document is.
func demoExchange(ctx context.Context, out io.Writer, gws []*demoGateway) error {
	vpcp, byt, nghean, hcm := gws[0], gws[1], gws[2], gws[3]
	letters := []*demoLetter{
		{from: vpcp, fromCode: "000.00.00.G22", number: "1021", notation: "VPCP-KSTT", subject: "V/v báo cáo tình hình liên thông văn bản điện tử quý IV",
			to: [][2]string{{"000.00.00.G18", "Bộ Y tế"}, {"000.00.00.H41", "UBND tỉnh Nghệ An"}, {"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"}}},
		{from: byt, fromCode: "000.00.00.G18", number: "356", notation: "BYT-KCB", subject: "V/v tăng cường phòng chống dịch sốt xuất huyết",
			to: [][2]string{{"000.00.12.H41", "Sở Y tế tỉnh Nghệ An"}, {"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"}}},
		{from: nghean, fromCode: "000.00.00.H41", number: "88", notation: "UBND-VX", subject: "V/v triển khai công văn số 356/BYT-KCB của Bộ Y tế",
			to: [][2]string{{"000.00.31.H41", "UBND xã Nghi Phong"}}},
	}
	fmt.Fprintln(out, "\n== Gửi văn bản qua API (POST /api/v1/documents)")
	for _, l := range letters {
		packet, err := demoPacket(l)
		if err != nil {
			return err
		}
		var resp struct {
			ID string `json:"id"`
		}
		if err := demoCall(ctx, l.from, http.MethodPost, "/api/v1/documents", "application/xml", packet, &resp); err != nil {
			return withVI(fmt.Errorf("demo: send %s/%s: %w", l.number, l.notation, err), "Không gửi được văn bản %s/%s", l.number, l.notation)
		}
		l.id = resp.ID
		fmt.Fprintf(out, "  %s/%s từ %s → %d nơi nhận: mã %s\n", l.number, l.notation, l.fromCode, len(l.to), l.id)
	}
	// 01 comes back by itself.
	if err := demoWait(ctx, "trạng thái 01", "status 01", func() bool {
		for _, l := range letters {
			d, err := demoDocument(ctx, l.from, l.id)
			if err != nil {
				return false
			}
			for _, dl := range d.Deliveries {
				if dl.State == envelope.StateSent {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return err
	}
	// The recipients act.
	actions := []struct {
		gw     *demoGateway
		agency string
		letter *demoLetter
		codes  []envelope.StatusCode
		reason string
	}{
		{nghean, "000.00.00.H41", letters[0], []envelope.StatusCode{"03", "04", "05", "06"}, ""},
		{byt, "000.00.00.G18", letters[0], []envelope.StatusCode{"03", "04"}, ""},
		{hcm, "000.00.00.H29", letters[1], []envelope.StatusCode{"02"}, "Văn bản không thuộc thẩm quyền giải quyết của UBND Thành phố"},
		{nghean, "000.00.12.H41", letters[1], []envelope.StatusCode{"03", "05"}, ""},
		{nghean, "000.00.31.H41", letters[2], []envelope.StatusCode{"03"}, ""},
	}
	fmt.Fprintln(out, "\n== Bên nhận xử lý (POST /api/v1/documents/{id}/status)")
	for _, a := range actions {
		id, err := demoIncoming(ctx, a.gw, a.agency, a.letter)
		if err != nil {
			return err
		}
		for _, c := range a.codes {
			body, _ := json.Marshal(map[string]any{"code": c, "description": a.reason})
			if err := demoCall(ctx, a.gw, http.MethodPost, "/api/v1/documents/"+id+"/status", "application/json", body, nil); err != nil {
				return fmt.Errorf("demo: status %s at %s: %w", c, a.agency, err)
			}
			fmt.Fprintf(out, "  %s: %s %s cho %s/%s\n", a.agency, c, c.Name(), a.letter.number, a.letter.notation)
		}
	}
	// The sender sees them.
	want := map[string]envelope.State{
		letters[0].id + " 000.00.00.H41": envelope.StateDone,
		letters[0].id + " 000.00.00.G18": envelope.StateAssigned,
		letters[1].id + " 000.00.00.H29": envelope.StateRejected,
		letters[1].id + " 000.00.12.H41": envelope.StateProcessing,
		letters[2].id + " 000.00.31.H41": envelope.StateAccepted,
	}
	if err := demoWait(ctx, "trạng thái xử lý về bên gửi", "the statuses at the senders", func() bool {
		for _, l := range letters {
			d, err := demoDocument(ctx, l.from, l.id)
			if err != nil {
				return false
			}
			for _, dl := range d.Deliveries {
				if w, ok := want[l.id+" "+dl.Recipient]; ok && dl.State != w {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== Văn bản đi và trạng thái tại từng nơi nhận (bên gửi nhìn thấy)")
	for _, l := range letters {
		d, err := demoDocument(ctx, l.from, l.id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s/%s — %s (%s)\n", d.Number, d.Notation, d.Subject, signing.Outcome(d.Verdict.Outcome).Label())
		for _, dl := range d.Deliveries {
			fmt.Fprintf(out, "    %-15s %-32s %s\n", dl.Recipient, dl.RecipientName, dl.State.Name())
		}
		for _, ev := range d.Events {
			if ev.StatusCode == envelope.StatusRejected {
				fmt.Fprintf(out, "    lý do từ chối của %s: %s\n", ev.By, ev.Description)
			}
		}
	}
	return nil
}

// demoPacket builds the edXML of a letter.
func demoPacket(l *demoLetter) ([]byte, error) {
	now := time.Now()
	lt := letter.Letter{
		From: letter.Agency{Code: l.fromCode}, Number: l.number, Notation: l.notation, Subject: l.subject, At: now,
		DueDate: envelope.DateOf(now.AddDate(0, 0, 10)), Priority: envelope.PriorityUrgent,
		Attachments: []envelope.Attachment{{Name: "cong-van-" + l.number + ".txt", ContentType: "text/plain; charset=utf-8",
			Data: []byte("Kính gửi: các cơ quan, đơn vị.\n" + l.subject + "\n")}},
	}
	for _, a := range l.from.agencies {
		if a[0] == l.fromCode {
			lt.From.Name = a[1]
		}
	}
	for _, t := range l.to {
		lt.To = append(lt.To, letter.Agency{Code: t[0], Name: t[1]})
	}
	return lt.Encode()
}

// demoIncoming finds, at the recipient's gateway, the local id of an
// incoming letter.
func demoIncoming(ctx context.Context, g *demoGateway, agency string, l *demoLetter) (string, error) {
	var id string
	err := demoWait(ctx, "văn bản đến tại "+agency, "the incoming document at "+agency, func() bool {
		var page gateway.DocumentPage
		if err := demoCall(ctx, g, http.MethodGet, "/api/v1/documents?direction=in", "", nil, &page); err != nil {
			return false
		}
		for _, d := range page.Documents {
			if d.Agency == agency && d.Number == l.number && d.Notation == l.notation {
				id = d.ID
				return true
			}
		}
		return false
	})
	return id, err
}

func demoDocument(ctx context.Context, g *demoGateway, id string) (*gateway.DocumentDetail, error) {
	var d gateway.DocumentDetail
	err := demoCall(ctx, g, http.MethodGet, "/api/v1/documents/"+id, "", nil, &d)
	return &d, err
}

// demoCall calls a gateway's API with its key and decodes the JSON answer
// into out (if not nil).
func demoCall(ctx context.Context, g *demoGateway, method, path, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, g.apiURL()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// demoWait polls cond for up to 30 s; what says what it waits for, in
// Vietnamese and in English.
func demoWait(ctx context.Context, what, whatEN string, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return newVIError("Quá 30 giây mà chưa thấy "+what+".", "demo: timed out after 30s waiting for "+whatEN)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
