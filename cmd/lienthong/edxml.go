package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/lienthong/lienthong/envelope"
)

func runEdxml(ctx context.Context, m *Main, args []string) error {
	subs := []command{
		{"inspect", "print a readable summary of a packet, in Vietnamese", runEdxmlInspect},
		{"validate", "check a packet against the regulation; exit 1 when invalid", runEdxmlValidate},
		{"new", "build a packet from a YAML or JSON description and attachment files", runEdxmlNew},
		{"sign", "sign a packet with an agency's key (XML-DSig, RSA-SHA256)", runEdxmlSign},
		{"verify", "verify a packet's signature and print the verdict", runEdxmlVerify},
	}
	return m.runGroup(ctx, "edxml", "Works with edXML packets (QCVN 102:2016/BTTTT).", subs, args)
}

// maxSizeFlag defines the edxml commands' -max-size: by default the
// gateway's own limit (envelope.DefaultMaxSize), so that what a gateway
// took can be read offline.
func maxSizeFlag(fs *flag.FlagSet) *int64 {
	return fs.Int64("max-size", envelope.DefaultMaxSize, "refuse packets larger than this many `bytes` (a gateway's gateway.maxPacketSize, if raised)")
}

// readPacket reads and parses a packet file ("-" for stdin).
func (m *Main) readPacket(name string, maxSize int64) ([]byte, *envelope.Packet, []envelope.Warning, error) {
	p := envelope.Parser{MaxSize: maxSize}
	var r io.Reader = m.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := p.ReadAll(r)
	if err != nil {
		return nil, nil, nil, withVI(fmt.Errorf("%s: %w", name, err), "Không đọc được gói tin từ %s", source(name))
	}
	pkt, warns, err := p.ParseBytes(b)
	if err != nil {
		return b, nil, warns, withVI(fmt.Errorf("%s: %w", name, err), "Không đọc được gói tin edXML từ %s", source(name))
	}
	return b, pkt, warns, nil
}

// oneFile returns the single file argument.
func oneFile(fs interface{ Args() []string }, cmd string) (string, error) {
	args := fs.Args()
	if len(args) != 1 {
		return "", usageError{msg: fmt.Sprintf("%s: want exactly one FILE, got %d arguments", cmd, len(args)),
			vi: fmt.Sprintf("Lệnh lienthong %s cần đúng một tệp, nhưng nhận %d đối số.", cmd, len(args)), hint: "lienthong " + cmd + " -help"}
	}
	return args[0], nil
}

func runEdxmlInspect(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("edxml inspect", "edxml inspect [-json] FILE", `
Prints what a packet says: sender, recipients, number and notation, dates,
type, subject, business type, attachments (and the file inside a zipped
attachment), the signature's algorithm, and what the lenient parser had to
tolerate. FILE may be "-" for standard input. The signature is described,
not verified.`)
	asJSON := fs.Bool("json", false, "print the parsed packet and warnings as JSON")
	maxSize := maxSizeFlag(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneFile(fs, "edxml inspect")
	if err != nil {
		return err
	}
	raw, pkt, warns, err := m.readPacket(name, *maxSize)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Size     int                `json:"size"`
			Packet   *envelope.Packet   `json:"packet"`
			Warnings []envelope.Warning `json:"warnings"`
		}{len(raw), pkt, warns})
	}
	return writeSummary(m.Stdout, len(raw), pkt, warns)
}

func runEdxmlValidate(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("edxml validate", "edxml validate [-profile send|receive] [-codes strict|lenient|any] [-json] FILE", `
Checks a packet against QCVN 102:2016. The "send" profile (the default) is
what lienthong requires of what it sends: every element, length, format and
code list, and the DocumentId rule. The "receive" profile accepts what can be
routed, stored and answered. Prints the parser's warnings and every field
error with its path, in Vietnamese and English.

Exit status: 0 valid, 1 invalid, 2 usage, 3 the file could not be read or is
not an edXML packet at all.`)
	profileName := fs.String("profile", "send", "validation profile: send or receive")
	codes := fs.String("codes", "", "agency code strictness: strict, lenient or any (default: the profile's)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	maxSize := maxSizeFlag(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneFile(fs, "edxml validate")
	if err != nil {
		return err
	}
	var profile envelope.Profile
	switch *profileName {
	case "send":
		profile = envelope.ProfileSend()
	case "receive":
		profile = envelope.ProfileReceive()
	default:
		return usageError{msg: fmt.Sprintf("edxml validate: unknown profile %q (want send or receive)", *profileName),
			vi: fmt.Sprintf("Không có profile %q; chọn send hoặc receive.", *profileName)}
	}
	if *codes != "" {
		mode, err := envelope.ParseCodeMode(*codes)
		if err != nil {
			return usageError{msg: "edxml validate: " + err.Error(), vi: fmt.Sprintf("Không có mức -codes %q; chọn strict, lenient hoặc any.", *codes)}
		}
		profile.Codes = mode
	}
	_, pkt, warns, err := m.readPacket(name, *maxSize)
	if err != nil {
		return err
	}
	// The profile's tolerances (a hub's TraceHeader without OrganId, one
	// agency under both its codes) are warnings like the parser's.
	vwarns, verr := envelope.ValidateWithWarnings(pkt, profile)
	warns = append(warns, vwarns...)
	fieldErrs, _ := envelope.IsValidationError(verr)
	if fieldErrs == nil {
		fieldErrs = envelope.ValidationErrors{} // [] in JSON, not null
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Valid    bool                      `json:"valid"`
			Profile  string                    `json:"profile"`
			Errors   envelope.ValidationErrors `json:"errors"`
			Warnings []envelope.Warning        `json:"warnings"`
		}{verr == nil, profile.Name, fieldErrs, warns}); err != nil {
			return err
		}
	} else {
		for _, w := range warns {
			fmt.Fprintf(m.Stdout, "cảnh báo  %s: %s\n          (%s)\n", orDash(w.Path), w.MessageVI, w.MessageEN)
		}
		for _, e := range fieldErrs {
			fmt.Fprintf(m.Stdout, "lỗi       %s: %s\n          (%s)\n", e.Path, e.MessageVI, e.MessageEN)
		}
		if verr == nil {
			fmt.Fprintf(m.Stdout, "%s: hợp lệ (profile %s) / valid\n", name, profile.Name)
		} else {
			fmt.Fprintf(m.Stdout, "%s: không hợp lệ, %d lỗi (profile %s) / invalid, %d errors\n", name, len(fieldErrs), profile.Name, len(fieldErrs))
		}
	}
	if verr != nil {
		return exitError{code: exitFailed}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeSummary prints a packet for a clerk, in Vietnamese.
func writeSummary(w io.Writer, size int, p *envelope.Packet, warns []envelope.Warning) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label, format string, a ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", label, fmt.Sprintf(format, a...))
	}
	if s := p.Status; s != nil {
		line("Loại gói tin", "trạng thái xử lý (status), %s", humanSize(size))
		line("Nơi gửi", "%s", agencyLine(s.From))
		line("Trạng thái", "%s — %s", s.StatusCode, s.StatusCode.Name())
		line("Văn bản", "%s", orDash(s.ResponseFor.DocumentID))
		line("Số/ký hiệu", "%s", orDash(s.ResponseFor.Code))
		line("Cơ quan ban hành", "%s", orDash(s.ResponseFor.OrganID))
		if s.Description != "" {
			line("Mô tả", "%s", s.Description)
		}
		if st := s.StaffInfo; st.Staff != "" || st.Department != "" {
			line("Người xử lý", "%s", strings.Join(nonEmpty(st.Staff, st.Department, st.Mobile, st.Email), ", "))
		}
		line("Thời điểm", "%s", showTimestamp(s.Timestamp))
	} else {
		e := p.Edoc
		h := e.Header
		line("Loại gói tin", "văn bản điện tử (edoc), %s", humanSize(size))
		line("Nơi gửi", "%s", agencyLine(h.From))
		for i, to := range h.To {
			label := ""
			if i == 0 {
				label = "Nơi nhận:"
			}
			fmt.Fprintf(tw, "%s\t%d. %s\n", label, i+1, agencyLine(to))
		}
		line("Số/ký hiệu", "%s", h.Code.String())
		line("Ngày ban hành", "%s", strings.Join(nonEmpty(showDate(h.Promulgation.Date), h.Promulgation.Place), ", "))
		kind := "không xác định"
		if k, ok := h.DocumentType.Kind(); ok {
			kind = k.Name + " (" + k.Table.Label() + ")"
		}
		line("Loại văn bản", "%s", kind)
		line("Trích yếu", "%s", h.Subject)
		if h.SignerInfo.FullName != "" {
			line("Người ký", "%s", strings.Join(nonEmpty(h.SignerInfo.Competence, h.SignerInfo.Position, h.SignerInfo.FullName), " — "))
		}
		if h.OtherInfo.Priority != "" {
			line("Độ khẩn", "%s", h.OtherInfo.Priority.Label())
		}
		if h.DueDate != "" {
			line("Hạn xử lý", "%s", showDate(h.DueDate))
		}
		if h.SteeringType != "" {
			line("Chỉ đạo", "%s", h.SteeringType.Label())
		}
		for _, rf := range h.ResponseFor {
			line("Trả lời văn bản", "%s (%s)", rf.DocumentID, rf.OrganID)
		}
		line("Mã văn bản", "%s", orDash(h.DocumentID))
		if b := e.Bussiness; b != nil {
			line("Nghiệp vụ", "%s", strings.Join(nonEmpty(b.BussinessDocType.Label(), b.BussinessDocReason), " — "))
			if b.DocumentID != "" {
				line("Văn bản gốc", "%s", b.DocumentID)
			}
			paper := "không (chỉ bản điện tử)"
			if b.PaperCopy() {
				paper = "có"
			}
			line("Kèm bản giấy", "%s", paper)
			for _, r := range b.Replacements {
				line("Thay thế", "%s tại %s", r.DocumentID, strings.Join(r.OrganIDList, ", "))
			}
		}
		for i, t := range e.Trace {
			label := ""
			if i == 0 {
				label = "Hành trình:"
			}
			organ := t.OrganID
			if organ == "" {
				// A hub adds such headers in transit.
				organ = "(không có OrganId)"
			}
			fmt.Fprintf(tw, "%s\t%s lúc %s\n", label, organ, showTimestamp(t.Timestamp))
		}
		if len(e.Attachments) == 0 {
			line("Tệp đính kèm", "không có")
		}
		for i, a := range e.Attachments {
			label := ""
			if i == 0 {
				label = "Tệp đính kèm:"
			}
			desc := fmt.Sprintf("%d. %s (%s, %s)", i+1, a.Name, orDash(a.ContentType), humanSize(a.Size()))
			switch {
			case a.DecodeError != "":
				desc += " — không giải mã được"
			case a.ZipError() != nil:
				// Kept as received; the reader should know it will
				// not open.
				desc += " — tệp nén không mở được (ZIP hỏng hoặc bị cắt cụt)"
			case a.IsZip():
				if inner, err := a.Inner(0); err == nil {
					desc += fmt.Sprintf(" — nén ZIP, bên trong: %s (%s, %s)", inner.Name, inner.ContentType, humanSize(len(inner.Data)))
				}
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, desc)
		}
		sig := "không có"
		if s := p.Signature; s != nil {
			sig = "có (" + algorithmName(s.SignatureMethod) + "), chưa kiểm tra"
		}
		line("Chữ ký số", "%s", sig)
	}
	for i, x := range p.Extras {
		label := ""
		if i == 0 {
			label = "Phần tử ngoài quy chuẩn:"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, x.Path)
	}
	for i, wn := range warns {
		label := ""
		if i == 0 {
			label = "Cảnh báo:"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, strings.Join(nonEmpty(wn.Path, wn.MessageVI), ": "))
	}
	return tw.Flush()
}

func agencyLine(o envelope.Organization) string {
	s := orDash(o.OrganID)
	if o.OrganName != "" {
		s += " — " + o.OrganName
	}
	if c, err := envelope.ParseAgencyCode(o.OrganID, envelope.CodeLenient); err == nil {
		s += " [" + c.TierName() + "]"
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// showDate writes an edXML date as dd/mm/yyyy, the way clerks read dates.
func showDate(d envelope.Date) string {
	t, err := d.Time()
	if err != nil {
		return string(d)
	}
	return t.Format("02/01/2006")
}

func showTimestamp(ts envelope.Timestamp) string {
	t, err := ts.Time()
	if err != nil {
		return orDash(string(ts))
	}
	return t.Format("15:04:05 02/01/2006")
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d byte", n)
}

func algorithmName(uri string) string {
	if i := strings.LastIndexAny(uri, "#/"); i >= 0 && i < len(uri)-1 {
		return uri[i+1:]
	}
	return orDash(uri)
}
