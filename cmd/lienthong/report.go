package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/gateway/report"
)

// runReport fetches an agency's quarterly report from its gateway.
func runReport(ctx context.Context, m *Main, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "submit":
			return runReportSubmit(ctx, m, args[1:])
		case "summary":
			return runReportSummary(ctx, m, args[1:])
		}
	}
	fs := m.newFlagSet("report", "report -agency CODE [-quarter 2026-Q3] [-format html|json|csv|xlsx] [-o FILE] [-declared FILE] [declarations]", `
Makes the quarterly interconnection section (Section III of the Government
Office's e-government report) of an agency and every unit under it, with the
delivery and signature statistics behind it, from what its gateway saw. The
gateway computes it (GET /api/v1/reports/{agency}/{quarter}); the API key
must be scoped to the agency or to one above it.

What the gateway cannot know is declared: -units (how many units the agency
has in all), -paper-outgoing (the paper outgoing register's count),
-shared-dms (all, some or none), -signing-integrated, or a YAML/JSON file
with the same keys (units, paperOutgoing, sharedDms, signingIntegrated)
given with -declared; flags win. The report labels them as declared.

The gateway's address comes from -url or LIENTHONG_URL (default
http://127.0.0.1:8080), the key from LIENTHONG_API_KEY or -key-file (never
on the command line).

	lienthong report submit -agency CODE -quarter 2026-Q3 -to CODE

sends the report as a signed document to the parent agency or to the
Government Office, whose gateway builds the national summary.`)
	flags := addReportFlags(fs)
	format := fs.String("format", "html", "`format`: html, json, csv or xlsx")
	out := fs.String("o", "", "write to this `file` (default: standard output; required for xlsx)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *format == "xlsx" && *out == "" {
		return usageError{msg: "report: -format xlsx needs -o FILE", vi: "Định dạng xlsx cần tệp ghi ra (-o FILE).", hint: "lienthong report -help"}
	}
	q, err := flags.query()
	if err != nil {
		return err
	}
	q.Set("format", *format)
	fmt.Fprintf(m.Stderr, "lienthong: đang lập báo cáo %s %s tại %s …\n", flags.agency, flags.quarter, flags.url)
	start := time.Now()
	body, err := flags.call(ctx, http.MethodGet, "", q)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = m.Stdout.Write(body)
		return err
	}
	if err := os.WriteFile(*out, body, 0o644); err != nil {
		return withVI(fmt.Errorf("report: %w", err), "Không ghi được báo cáo vào tệp %q", *out)
	}
	fmt.Fprintf(m.Stderr, "lienthong: đã ghi %s (%d byte) trong %s\n", *out, len(body), time.Since(start).Round(time.Millisecond))
	return nil
}

// reportFlags are the flags report and report submit share.
type reportFlags struct {
	url, keyFile, agency, quarter, declared string
	units, paper                            int
	sharedDMS, integrated                   string
	key                                     string
}

func addReportFlags(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
}) *reportFlags {
	f := &reportFlags{}
	def := os.Getenv("LIENTHONG_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	fs.StringVar(&f.url, "url", def, "the gateway's `URL`")
	fs.StringVar(&f.keyFile, "key-file", "", "read the API key from this `file` (default: LIENTHONG_API_KEY)")
	fs.StringVar(&f.agency, "agency", "", "the reporting agency's `code`")
	fs.StringVar(&f.quarter, "quarter", report.QuarterOf(time.Now().AddDate(0, -3, 0)).String(), "the `quarter`, as 2026-Q3 (default: the last one)")
	fs.StringVar(&f.declared, "declared", "", "a YAML or JSON `file` of declarations")
	fs.IntVar(&f.units, "units", -1, "declared: how many `units` the agency has in all")
	fs.IntVar(&f.paper, "paper-outgoing", -1, "declared: the paper outgoing register's `count` for the quarter")
	fs.StringVar(&f.sharedDMS, "shared-dms", "", "declared: one shared DMS for `all`, some or none of the units")
	fs.StringVar(&f.integrated, "signing-integrated", "", "declared: digital signing is integrated in the shared DMS (`true` or false)")
	return f
}

// query checks the flags and returns the declarations as parameters.
func (f *reportFlags) query() (url.Values, error) {
	if f.agency == "" {
		return nil, usageError{msg: "report: -agency is required", vi: "Cần mã cơ quan báo cáo (-agency).", hint: "lienthong report -help"}
	}
	if _, err := report.ParseQuarter(f.quarter); err != nil {
		return nil, usageError{msg: err.Error(), vi: fmt.Sprintf("Quý -quarter %q không đúng; viết như 2026-Q3.", f.quarter), hint: "lienthong report -help"}
	}
	f.key = os.Getenv("LIENTHONG_API_KEY")
	if f.keyFile != "" {
		k, err := firstLine(f.keyFile)
		if err != nil {
			return nil, withVI(err, "Không đọc được khóa API trong tệp %q (-key-file)", f.keyFile)
		}
		f.key = k
	}
	if f.key == "" {
		return nil, usageError{msg: "report: no API key: set LIENTHONG_API_KEY or give -key-file",
			vi: "Chưa có khóa API: đặt biến môi trường LIENTHONG_API_KEY hoặc dùng -key-file.", hint: "lienthong report -help"}
	}
	var d report.Declarations
	if f.declared != "" {
		b, err := os.ReadFile(f.declared)
		if err != nil {
			return nil, withVI(fmt.Errorf("report: %w", err), "Không đọc được tệp khai báo %q (-declared)", f.declared)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&d); err != nil && !errors.Is(err, io.EOF) {
			return nil, withVI(fmt.Errorf("report: %s: %w", filepath.Base(f.declared), err), "Tệp khai báo %q không đúng (YAML sai hoặc có khóa lạ)", f.declared)
		}
	}
	q := url.Values{}
	if d.Units != nil {
		q.Set("units", strconv.Itoa(*d.Units))
	}
	if d.PaperOutgoing != nil {
		q.Set("paperOutgoing", strconv.Itoa(*d.PaperOutgoing))
	}
	if d.SharedDMS != "" {
		q.Set("sharedDms", d.SharedDMS)
	}
	if d.SigningIntegrated != nil {
		q.Set("signingIntegrated", strconv.FormatBool(*d.SigningIntegrated))
	}
	if f.units >= 0 {
		q.Set("units", strconv.Itoa(f.units))
	}
	if f.paper >= 0 {
		q.Set("paperOutgoing", strconv.Itoa(f.paper))
	}
	if f.sharedDMS != "" {
		q.Set("sharedDms", f.sharedDMS)
	}
	if f.integrated != "" {
		q.Set("signingIntegrated", f.integrated)
	}
	if _, err := report.ParseDeclarations(q.Get); err != nil {
		return nil, usageError{msg: err.Error(), vi: "Số liệu khai báo không đúng: số đơn vị và số văn bản giấy là số nguyên từ 0, sharedDms là all, some hoặc none, signingIntegrated là true hoặc false.", hint: "lienthong report -help"}
	}
	return q, nil
}

// call asks the gateway for the report (suffix "" or "/submit") and
// returns the body; an error answer becomes an error with its message.
func (f *reportFlags) call(ctx context.Context, method, suffix string, q url.Values) ([]byte, error) {
	u := strings.TrimRight(f.url, "/") + "/api/v1/reports/" + url.PathEscape(f.agency) + "/" + url.PathEscape(f.quarter) + suffix
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, withVI(fmt.Errorf("report: %w", err), "Địa chỉ cổng liên thông %q không dùng được (-url hoặc LIENTHONG_URL)", f.url)
	}
	req.Header.Set("Authorization", "Bearer "+f.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, withVI(fmt.Errorf("report: cannot reach the gateway at %s (-url or LIENTHONG_URL): %w", f.url, err),
				"Không kết nối được cổng liên thông tại %s (-url hoặc LIENTHONG_URL)", f.url)
		}
		return nil, withVI(fmt.Errorf("report: %w", err), "Không hỏi được cổng liên thông tại %s", f.url)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, withVI(fmt.Errorf("report: read the answer: %w", err), "Không đọc hết được câu trả lời của cổng liên thông")
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error struct {
				MessageVI string `json:"messageVi"`
				MessageEN string `json:"messageEn"`
				Fields    []struct {
					MessageEN string `json:"messageEn"`
				} `json:"fields"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.MessageEN != "" {
			msg := e.Error.MessageEN
			for _, fe := range e.Error.Fields {
				msg += "; " + fe.MessageEN
			}
			vi := fmt.Sprintf("Cổng liên thông trả lời lỗi %d", res.StatusCode)
			if e.Error.MessageVI != "" {
				vi += ": " + e.Error.MessageVI
			}
			return nil, newVIError(sentence(vi), fmt.Sprintf("report: the gateway answered %d: %s", res.StatusCode, msg))
		}
		return nil, newVIError(fmt.Sprintf("Cổng liên thông trả lời lỗi %d.", res.StatusCode), "report: the gateway answered "+res.Status)
	}
	return body, nil
}
