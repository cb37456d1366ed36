package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway/report"
)

// runReportSubmit sends an agency's report to its parent or to the
// Government Office, as a signed document.
func runReportSubmit(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("report submit", "report submit -agency CODE -quarter 2026-Q3 -to CODE [declarations]", `
Computes the agency's quarterly report at its gateway and sends it as a
signed edXML document ("Báo cáo", with the report attached as JSON and HTML)
to -to: the parent agency, or the Government Office (000.00.00.G22), whose
gateway builds the national summary ("lienthong report summary"). The
declarations are those of "lienthong report".`)
	flags := addReportFlags(fs)
	to := fs.String("to", "", "the recipient's agency `code`")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{msg: "report submit: -to is required", vi: "Cần mã cơ quan nhận báo cáo (-to).", hint: "lienthong report submit -help"}
	}
	q, err := flags.query()
	if err != nil {
		return err
	}
	q.Set("to", *to)
	fmt.Fprintf(m.Stderr, "lienthong: đang lập và gửi báo cáo %s %s tới %s …\n", flags.agency, flags.quarter, *to)
	body, err := flags.call(ctx, http.MethodPost, "/submit", q)
	if err != nil {
		return err
	}
	var ans struct {
		Document struct {
			ID         string `json:"id"`
			DocumentID string `json:"documentId"`
		} `json:"document"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return withVI(fmt.Errorf("report submit: the gateway's answer: %w", err), "Không đọc được câu trả lời của cổng liên thông; báo cáo có thể đã được gửi")
	}
	fmt.Fprintf(m.Stdout, "Đã gửi báo cáo: văn bản %s (mã %s)\n", ans.Document.ID, ans.Document.DocumentID)
	return nil
}

// runReportSummary prints the national summary a hub built from the
// reports it received.
func runReportSummary(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("report summary", "report summary -quarter 2026-Q3 [-hub CODE] [-json]", `
Prints the national summary of a quarter that the hub's gateway builds from
the reports it received ("lienthong report submit"): how many ministries and
provinces are connected, and which are not, by name.`)
	def := os.Getenv("LIENTHONG_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	f := &reportFlags{}
	fs.StringVar(&f.url, "url", def, "the hub gateway's `URL`")
	fs.StringVar(&f.keyFile, "key-file", "", "read the API key from this `file` (default: LIENTHONG_API_KEY)")
	fs.StringVar(&f.quarter, "quarter", report.QuarterOf(time.Now().AddDate(0, -3, 0)).String(), "the `quarter`")
	hub := fs.String("hub", "", "the hub `agency` (default: the gateway's first)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	f.agency = "summary"
	if _, err := f.query(); err != nil {
		return err
	}
	q := url.Values{}
	if *hub != "" {
		q.Set("hub", *hub)
	}
	body, err := f.call(ctx, http.MethodGet, "", q)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err = m.Stdout.Write(body)
		return err
	}
	var s report.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		return withVI(fmt.Errorf("report summary: the gateway's answer: %w", err), "Không đọc được bản tổng hợp cổng liên thông trả về")
	}
	fmt.Fprintln(m.Stdout, s.Text)
	for _, r := range s.Reports {
		fmt.Fprintf(m.Stdout, "  %s %s: báo cáo nhận lúc %s\n", r.Agency.Code, r.Agency.Name, r.ReceivedAt.In(envelope.VietnamTime()).Format("02/01/2006 15:04"))
	}
	fmt.Fprintln(m.Stdout, strings.TrimSpace("\n"+s.Definition))
	return nil
}
