package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// The tests run the program in-process, as main does, and judge what a user
// sees: the exit code, the lines on stdout and stderr, the files written.

// samplesDir holds the official sample packets.
const samplesDir = "../../envelope/testdata/samples"

func sample(name string) string { return filepath.Join(samplesDir, name) }

// result is what one run of the program left behind.
type result struct {
	args           []string
	err            error
	code           int
	stdout, stderr string
}

// run runs lienthong with args and stdin.
func run(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: bytes.NewReader(stdin), Stdout: &stdout, Stderr: &stderr}
	err := m.Run(t.Context(), args)
	code := m.exitCode(err)
	return result{args: args, err: err, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// wantCode fails the test unless the run exited with code.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("lienthong %s: exit %d (err %v), want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(r.args, " "), r.code, r.err, code, r.stdout, r.stderr)
	}
}

// wantStderr fails the test unless stderr holds every one of subs.
func (r result) wantStderr(t *testing.T, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("lienthong %s: stderr does not mention %q:\n%s", strings.Join(r.args, " "), s, r.stderr)
		}
	}
}

// summaryField returns the values printed under label by writeSummary: the
// value on the label's line, then those on the continuation lines below it.
// It returns nil when the label is not printed.
func summaryField(out, label string) []string {
	var vals []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, label+":"):
			in = true
			vals = append(vals, strings.TrimSpace(strings.TrimPrefix(line, label+":")))
		case in && strings.HasPrefix(line, " ") && strings.TrimSpace(line) != "":
			vals = append(vals, strings.TrimSpace(line))
		default:
			in = false
		}
	}
	return vals
}

// wantField fails the test unless label's first value is want.
func wantField(t *testing.T, out, label, want string) {
	t.Helper()
	vals := summaryField(out, label)
	if len(vals) == 0 {
		t.Errorf("no %q line in:\n%s", label, out)
		return
	}
	if vals[0] != want {
		t.Errorf("%s: %q, want %q", label, vals[0], want)
	}
}

// wantFieldHas fails the test unless one of label's values holds sub.
func wantFieldHas(t *testing.T, out, label, sub string) {
	t.Helper()
	vals := summaryField(out, label)
	for _, v := range vals {
		if strings.Contains(v, sub) {
			return
		}
	}
	t.Errorf("%s: %q holds no %q; output:\n%s", label, vals, sub, out)
}

// --- The command line -------------------------------------------------------

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-help"}, {"-h"}, {"--help"}} {
		r := run(t, nil, args...)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, "Usage:\n\n\tlienthong <command> [arguments]") {
			t.Errorf("%v: no synopsis on stdout:\n%s", args, r.stdout)
		}
		for _, cmd := range []string{"demo", "edxml", "version"} {
			if !regexp.MustCompile(`(?m)^\t` + cmd + ` +\S`).MatchString(r.stdout) {
				t.Errorf("%v: command %s is not listed:\n%s", args, cmd, r.stdout)
			}
		}
		if r.stderr != "" {
			t.Errorf("%v: stderr: %s", args, r.stderr)
		}
	}
}

// TestHelpHelp: "help help" used to recurse until the stack overflowed.
func TestHelpHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "help"}, {"help", "-help"}, {"-h", "-h"}, {"--help", "help"}} {
		r := run(t, nil, args...)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, "lienthong <command> [arguments]") {
			t.Errorf("%v: no usage on stdout:\n%s", args, r.stdout)
		}
	}
}

func TestNoArguments(t *testing.T) {
	r := run(t, nil)
	r.wantCode(t, 2)
	r.wantStderr(t, "lienthong <command> [arguments]", "lienthong: Chưa nêu lệnh nào.\n", "(no command given)\n", "Thử / try: lienthong help\n")
	if r.stdout != "" {
		t.Errorf("stdout: %s", r.stdout)
	}
}

func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		args []string
		vi   string
		msg  string
		hint string
	}{
		{[]string{"frobnicate"}, `lienthong: Không có lệnh "frobnicate".`, `(unknown command "frobnicate")`, "Thử / try: lienthong help\n"},
		{[]string{"help", "frobnicate"}, `lienthong: Không có lệnh "frobnicate".`, `(unknown command "frobnicate")`, "Thử / try: lienthong help\n"},
		{[]string{"edxml", "frobnicate"}, `lienthong: Lệnh lienthong edxml không có lệnh con "frobnicate".`, `(edxml: unknown command "frobnicate")`, "Thử / try: lienthong edxml -help\n"},
		{[]string{"serv"}, `lienthong: Không có lệnh "serv"; có phải ý bạn là "lienthong serve"?`,
			`(unknown command "serv", did you mean "lienthong serve"?)`, "Thử / try: lienthong help\n"},
		{[]string{"edxml", "valdiate"}, `lienthong: Lệnh lienthong edxml không có lệnh con "valdiate"; có phải ý bạn là "lienthong edxml validate"?`,
			`(edxml: unknown command "valdiate", did you mean "lienthong edxml validate"?)`, "Thử / try: lienthong edxml -help\n"},
		{[]string{"directroy"}, `lienthong: Không có lệnh "directroy"; có phải ý bạn là "lienthong directory"?`,
			`(unknown command "directroy", did you mean "lienthong directory"?)`, "Thử / try: lienthong help\n"},
	}
	for _, tt := range tests {
		r := run(t, nil, tt.args...)
		r.wantCode(t, 2)
		r.wantStderr(t, tt.vi+"\n", tt.msg+"\n", tt.hint)
		if r.stdout != "" {
			t.Errorf("%v: stdout: %s", tt.args, r.stdout)
		}
	}
}

func TestEdxmlWithoutCommand(t *testing.T) {
	r := run(t, nil, "edxml")
	r.wantCode(t, 2)
	r.wantStderr(t, "Usage: lienthong edxml <command>", "lienthong: Lệnh lienthong edxml cần một lệnh con.\n", "(edxml: no command given)")
}

// TestCommandHelp: every command and subcommand prints its synopsis on
// stdout for -help and exits 0, without doing its work.
func TestCommandHelp(t *testing.T) {
	tests := []struct {
		cmd      []string
		synopsis string
		mentions []string
	}{
		{[]string{"demo"}, "Usage: lienthong demo [-dir DIR] [-for DURATION]\n", []string{"Văn phòng Chính phủ", "-for"}},
		{[]string{"edxml"}, "Usage: lienthong edxml <command> [arguments]\n", []string{"\tinspect ", "\tvalidate ", "\tnew ", "\tsign ", "\tverify "}},
		{[]string{"edxml", "inspect"}, "Usage: lienthong edxml inspect [-json] FILE\n", []string{"-json", "-max-size"}},
		{[]string{"edxml", "validate"}, "Usage: lienthong edxml validate [-profile send|receive] [-codes strict|lenient|any] [-json] FILE\n", []string{"-profile", "-codes", "Exit status"}},
		{[]string{"edxml", "new"}, "Usage: lienthong edxml new [-o FILE] [-time TIMESTAMP] DESCRIPTION\n", []string{"-o file", "-time", "files:"}},
		{[]string{"edxml", "sign"}, "Usage: lienthong edxml sign (-key KEY -cert CERT | -p12 FILE) [-max-size BYTES] [-o FILE] FILE\n", []string{"-p12", "-key", "-cert", "lienthong pki", "-max-size"}},
		{[]string{"edxml", "verify"}, "Usage: lienthong edxml verify -ca FILE [-crl FILE]… [-registered FILE]… [-allow-sha1] [-max-size BYTES] [-json] FILE\n", []string{"-ca", "-crl", "-registered", "-allow-sha1", "not-bound", "-max-size"}},
		{[]string{"version"}, "Usage: lienthong version\n", nil},
	}
	for _, tt := range tests {
		for _, flag := range []string{"-help", "-h", "--help"} {
			args := append(slices.Clone(tt.cmd), flag)
			r := run(t, nil, args...)
			r.wantCode(t, 0)
			if !strings.HasPrefix(r.stdout, tt.synopsis) {
				t.Errorf("%v: stdout does not start with %q:\n%s", args, tt.synopsis, r.stdout)
			}
			for _, s := range tt.mentions {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("%v: usage does not mention %q:\n%s", args, s, r.stdout)
				}
			}
			if r.stderr != "" {
				t.Errorf("%v: stderr: %s", args, r.stderr)
			}
		}
		// "help CMD" prints what "CMD -help" prints.
		if len(tt.cmd) == 1 {
			want := run(t, nil, tt.cmd[0], "-help").stdout
			r := run(t, nil, "help", tt.cmd[0])
			r.wantCode(t, 0)
			if r.stdout != want {
				t.Errorf("help %s printed\n%s\nwant\n%s", tt.cmd[0], r.stdout, want)
			}
		}
	}
	// -help wins over the rest of the line: no file is read, nothing runs.
	r := run(t, nil, "edxml", "new", "-help", "does-not-exist.yaml")
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "Usage: lienthong edxml new") {
		t.Errorf("edxml new -help FILE: %s", r.stdout)
	}
}

func TestBadCommandLine(t *testing.T) {
	tests := []struct {
		args   []string
		stderr []string
	}{
		{[]string{"edxml", "inspect", "-nope", sample("status.edxml")}, []string{"lệnh lienthong edxml inspect không có cờ -nope", "flag provided but not defined: -nope", "Thử / try: lienthong edxml inspect -help"}},
		{[]string{"edxml", "inspect"}, []string{"cần đúng một tệp, nhưng nhận 0 đối số", "edxml inspect: want exactly one FILE, got 0 arguments"}},
		{[]string{"edxml", "validate", sample("status.edxml"), sample("edoc.edxml")}, []string{"edxml validate: want exactly one FILE, got 2 arguments", "Thử / try: lienthong edxml validate -help"}},
		{[]string{"edxml", "new"}, []string{"edxml new: want exactly one FILE"}},
		{[]string{"demo", "-x"}, []string{"-x", "Thử / try: lienthong demo -help"}},
		{[]string{"edxml", "validate", "-profile"}, []string{"cờ -profile cần một giá trị", "flag needs an argument: -profile"}},
		{[]string{"bench", "-n", "nhiều"}, []string{`giá trị "nhiều" của cờ -n không dùng được`, `invalid value "nhiều" for flag -n`}},
	}
	for _, tt := range tests {
		r := run(t, nil, tt.args...)
		r.wantCode(t, 2)
		r.wantStderr(t, tt.stderr...)
	}
}

func TestVersion(t *testing.T) {
	r := run(t, nil, "version")
	r.wantCode(t, 0)
	if r.stdout != "lienthong dev\n" {
		t.Errorf("version printed %q, want %q", r.stdout, "lienthong dev\n")
	}
}

// --- demo -------------------------------------------------------------------

func TestDemo(t *testing.T) {
	r := run(t, nil, "demo", "-for", "1ms")
	r.wantCode(t, 0)
	out := r.stdout
	for _, want := range []string{
		"4 cổng liên thông",
		"Trang văn thư (mở bằng trình duyệt; tên đăng nhập: vanthu)",
		"1021/VPCP-KSTT từ 000.00.00.G22 → 3 nơi nhận",
		"000.00.00.H29: 02 Từ chối tiếp nhận cho 356/BYT-KCB",
		"/XrdAdapter/adapter, systemid qlvb.vpcp, secret ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo does not say %q:\n%s", want, out)
		}
	}
	// What the senders see at the end, recipient by recipient.
	_, final, ok := strings.Cut(out, "== Văn bản đi và trạng thái")
	if !ok {
		t.Fatalf("no final section:\n%s", out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`000\.00\.00\.H41 +UBND tỉnh Nghệ An +Hoàn thành`),
		regexp.MustCompile(`000\.00\.00\.G18 +Bộ Y tế +Đã phân công xử lý`),
		regexp.MustCompile(`000\.00\.00\.H29 +UBND Thành phố Hồ Chí Minh +Đã đến`),
		regexp.MustCompile(`000\.00\.00\.H29 +UBND Thành phố Hồ Chí Minh +Bị từ chối tiếp nhận`),
		regexp.MustCompile(`000\.00\.12\.H41 +Sở Y tế tỉnh Nghệ An +Đang xử lý`),
		regexp.MustCompile(`000\.00\.31\.H41 +UBND xã Nghi Phong +Đã tiếp nhận`),
		regexp.MustCompile(`lý do từ chối của 000\.00\.00\.H29: Văn bản không thuộc thẩm quyền`),
	} {
		if !want.MatchString(final) {
			t.Errorf("the final section does not match %s:\n%s", want, final)
		}
	}
	if n := strings.Count(final, "(Chữ ký số hợp lệ)"); n != 3 {
		t.Errorf("%d documents with a valid signature, want 3:\n%s", n, final)
	}
}

// TestBench_Face: -face takes api, vxp or both.
func TestBench_Face(t *testing.T) {
	r := run(t, nil, "bench", "-face", "soap")
	r.wantCode(t, exitUsage)
	r.wantStderr(t, "-face", "api,vxp")
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	var n int
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// --- edxml inspect ----------------------------------------------------------

func TestInspectEdocNew(t *testing.T) {
	r := run(t, nil, "edxml", "inspect", sample("edoc_new.edxml"))
	r.wantCode(t, 0)
	out := r.stdout
	wantFieldHas(t, out, "Cảnh báo", `Bỏ qua 4 byte lạ trước phần XML: "1212"`)
	wantFieldHas(t, out, "Nơi nhận", "1. 28.22.H17 — UBND xã Hòa Sơn")
	wantField(t, out, "Nơi gửi", "002.00.20.H13 — UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng [Cấp 4]")
	wantField(t, out, "Loại văn bản", "Công văn (Văn bản hành chính)")
	wantField(t, out, "Mã văn bản", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT")
	wantField(t, out, "Ngày ban hành", "16/01/2019, Hà Nội")
	wantFieldHas(t, out, "Tệp đính kèm", "1. 1896_QD-TTg_m_294779.doc (application/zip, ")
	wantFieldHas(t, out, "Tệp đính kèm", "nén ZIP, bên trong: 32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml (application/xml, ")
	wantField(t, out, "Chữ ký số", "có (rsa-sha1), chưa kiểm tra")
	// OtherInfo/Direction is modelled, not an unknown element
	// (TestFirstContact_Direction).
	fi, err := os.Stat(sample("edoc_new.edxml"))
	if err != nil {
		t.Fatal(err)
	}
	wantField(t, out, "Loại gói tin", "văn bản điện tử (edoc), "+humanSize(int(fi.Size())))
	if r.stderr != "" {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestInspectStatusSamples(t *testing.T) {
	files, err := filepath.Glob(sample("status_*_[0-9][0-9].edxml"))
	if err != nil || len(files) < 9 {
		t.Fatalf("want the 9 numbered status samples, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		// status_inbox_01.edxml → 01
		code := envelope.StatusCode(strings.TrimSuffix(f[strings.LastIndexByte(f, '_')+1:], ".edxml"))
		r := run(t, nil, "edxml", "inspect", f)
		r.wantCode(t, 0)
		wantField(t, r.stdout, "Trạng thái", string(code)+" — "+code.Name())
		if vals := summaryField(r.stdout, "Loại gói tin"); len(vals) == 0 || !strings.HasPrefix(vals[0], "trạng thái xử lý (status), ") {
			t.Errorf("%s: Loại gói tin %q", f, vals)
		}
	}
	r := run(t, nil, "edxml", "inspect", sample("status_inbox_01.edxml"))
	wantField(t, r.stdout, "Trạng thái", "01 — Đã đến")
}

// inspectJSON is the shape "edxml inspect -json" prints.
type inspectJSON struct {
	Size     int                `json:"size"`
	Packet   *envelope.Packet   `json:"packet"`
	Warnings []envelope.Warning `json:"warnings"`
}

func TestInspectJSON(t *testing.T) {
	path := sample("edoc_new.edxml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "edxml", "inspect", "-json", path)
	r.wantCode(t, 0)

	// The names on the wire, read without the envelope types.
	var generic map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &generic); err != nil {
		t.Fatalf("stdout is not one JSON value: %v\n%s", err, r.stdout)
	}
	if got := dig(generic, "packet", "edoc", "header", "from", "organId"); got != "002.00.20.H13" {
		t.Errorf("packet.edoc.header.from.organId = %v, want 002.00.20.H13", got)
	}
	if got := dig(generic, "packet", "edoc", "header", "to", 0, "organId"); got != "28.22.H17" {
		t.Errorf("packet.edoc.header.to[0].organId = %v, want 28.22.H17", got)
	}
	if got := dig(generic, "warnings", 0, "code"); got != "leading-bytes" {
		t.Errorf("warnings[0].code = %v, want leading-bytes", got)
	}

	// The packet is the packet the parser reads, losslessly.
	var got inspectJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Size != len(raw) {
		t.Errorf("size %d, want %d", got.Size, len(raw))
	}
	want, warns, err := envelope.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Packet == nil || got.Packet.From().OrganID != "002.00.20.H13" {
		t.Fatalf("packet From: %+v", got.Packet)
	}
	if len(got.Packet.Edoc.Attachments) != 1 || !bytes.Equal(got.Packet.Edoc.Attachments[0].Data, want.Edoc.Attachments[0].Data) {
		t.Errorf("the attachment's bytes do not survive the JSON")
	}
	a := got.Packet.Edoc.Attachments[0]
	if inner, err := a.Inner(0); err != nil || inner.Name != "32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml" {
		t.Errorf("inner file of the JSON attachment: %v, %v", inner, err)
	}
	if !jsonEqual(t, got.Packet, want) {
		t.Errorf("the JSON packet differs from the parsed packet")
	}
	if !jsonEqual(t, got.Warnings, warns) {
		t.Errorf("warnings %+v, want %+v", got.Warnings, warns)
	}

	// A status packet.
	r = run(t, nil, "edxml", "inspect", "-json", sample("status_finish_06.edxml"))
	r.wantCode(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &generic); err != nil {
		t.Fatal(err)
	}
	if got := dig(generic, "packet", "status", "statusCode"); got != "06" {
		t.Errorf("packet.status.statusCode = %v, want 06", got)
	}
	if got := dig(generic, "packet", "edoc"); got != nil {
		t.Errorf("a status packet has an edoc: %v", got)
	}
}

// dig walks JSON decoded into any by object keys and array indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// jsonEqual compares two values by their JSON, which is what the command
// promises.
func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

func TestInspectStdin(t *testing.T) {
	for _, name := range []string{"edoc_new.edxml", "status_rejection_02.edxml"} {
		raw, err := os.ReadFile(sample(name))
		if err != nil {
			t.Fatal(err)
		}
		want := run(t, nil, "edxml", "inspect", sample(name))
		want.wantCode(t, 0)
		r := run(t, raw, "edxml", "inspect", "-")
		r.wantCode(t, 0)
		if r.stdout != want.stdout {
			t.Errorf("%s from stdin:\n%s\nwant, as from the file:\n%s", name, r.stdout, want.stdout)
		}
	}
}

func TestInspectUnreadable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing.edxml")
	notXML := write("notes.txt", "Kính gửi UBND tỉnh Nghệ An, đây không phải XML.\n")
	notEdXML := write("other.xml", `<?xml version="1.0"?><html><body/></html>`)
	doctype := write("doctype.edxml", `<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "b">]><edXML/>`)
	empty := write("empty.edxml", "")
	tests := []struct {
		args   []string
		stdin  string
		stderr []string
	}{
		{[]string{missing}, "", []string{"missing.edxml", "no such file"}},
		{[]string{notXML}, "", []string{"notes.txt", "malformed packet"}},
		{[]string{notEdXML}, "", []string{"other.xml", "not <edXML>"}},
		{[]string{doctype}, "", []string{"forbidden XML construct"}},
		{[]string{empty}, "", []string{"empty.edxml", "holds no XML"}},
		{[]string{"-"}, "not xml", []string{"-: envelope: malformed packet"}},
		{[]string{"-max-size", "1000", sample("edoc_new.edxml")}, "", []string{"larger than the size limit"}},
	}
	for _, cmd := range []string{"inspect", "validate"} {
		for _, tt := range tests {
			for _, asJSON := range []bool{false, true} {
				args := []string{"edxml", cmd}
				if asJSON {
					args = append(args, "-json")
				}
				r := run(t, []byte(tt.stdin), append(args, tt.args...)...)
				r.wantCode(t, 3)
				r.wantStderr(t, tt.stderr...)
				r.wantStderr(t, "lienthong: ")
				if r.stdout != "" {
					t.Errorf("%v: stdout: %s", r.args, r.stdout)
				}
			}
		}
	}
}

// --- edxml validate ---------------------------------------------------------

// validateText is the outcome of "edxml validate" without -json.
type validateText struct {
	errors, warnings []string // paths
	verdict          string   // the last line
}

func parseValidate(t *testing.T, out string) validateText {
	t.Helper()
	var v validateText
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, line := range lines {
		if m := regexp.MustCompile(`^lỗi +(\S+): `).FindStringSubmatch(line); m != nil {
			v.errors = append(v.errors, m[1])
		}
		if m := regexp.MustCompile(`^cảnh báo +(\S+): `).FindStringSubmatch(line); m != nil {
			v.warnings = append(v.warnings, m[1])
		}
	}
	v.verdict = lines[len(lines)-1]
	return v
}

func TestValidateSendProfileFails(t *testing.T) {
	for _, name := range []string{"edoc_new.edxml", "edoc_update.edxml", "edoc_replacement.edxml"} {
		path := sample(name)
		r := run(t, nil, "edxml", "validate", path)
		r.wantCode(t, 1)
		v := parseValidate(t, r.stdout)
		if !slices.Contains(v.errors, "MessageHeader/DocumentId") {
			t.Errorf("%s: errors %v do not name MessageHeader/DocumentId", name, v.errors)
		}
		want := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `: không hợp lệ, (\d+) lỗi \(profile send\) / invalid, (\d+) errors$`)
		m := want.FindStringSubmatch(v.verdict)
		if m == nil {
			t.Errorf("%s: verdict %q", name, v.verdict)
		} else if m[1] != m[2] || atoiT(t, m[1]) != len(v.errors) {
			t.Errorf("%s: verdict %q counts %s errors, %d listed", name, v.verdict, m[1], len(v.errors))
		}
		if r.stderr != "" {
			t.Errorf("%s: stderr: %s", name, r.stderr)
		}
	}
	// The DocumentId error says what it should be.
	r := run(t, nil, "edxml", "validate", sample("edoc_new.edxml"))
	if !strings.Contains(r.stdout, `DocumentId must be "002.00.20.H13,2019/01/16,74fass22/VPCP-TTĐT"`) {
		t.Errorf("the DocumentId error does not give the expected value:\n%s", r.stdout)
	}
	v := parseValidate(t, r.stdout)
	if len(v.warnings) == 0 || v.warnings[0] != "-" {
		t.Errorf("the stray bytes warning (no path, printed -) is missing: %v", v.warnings)
	}
}

func TestValidateStatusSamplesReceive(t *testing.T) {
	files, err := filepath.Glob(sample("status*.edxml"))
	if err != nil || len(files) < 10 {
		t.Fatalf("want the 10 status samples, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		r := run(t, nil, "edxml", "validate", "-profile", "receive", f)
		r.wantCode(t, 0)
		v := parseValidate(t, r.stdout)
		if want := f + ": hợp lệ (profile receive) / valid"; v.verdict != want {
			t.Errorf("verdict %q, want %q", v.verdict, want)
		}
		if len(v.errors) != 0 {
			t.Errorf("%s: a valid packet with errors %v", f, v.errors)
		}
	}
}

func TestValidateStdin(t *testing.T) {
	raw, err := os.ReadFile(sample("status_processing_05.edxml"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, raw, "edxml", "validate", "-profile", "receive", "-")
	r.wantCode(t, 0)
	if v := parseValidate(t, r.stdout); v.verdict != "-: hợp lệ (profile receive) / valid" {
		t.Errorf("verdict %q", v.verdict)
	}
}

// validateJSON is the shape "edxml validate -json" prints.
type validateJSON struct {
	Valid   bool   `json:"valid"`
	Profile string `json:"profile"`
	Errors  []struct {
		Path      string `json:"path"`
		Code      string `json:"code"`
		MessageVI string `json:"messageVi"`
		MessageEN string `json:"messageEn"`
	} `json:"errors"`
	Warnings []envelope.Warning `json:"warnings"`
}

func validateJSONRun(t *testing.T, wantCode int, args ...string) validateJSON {
	t.Helper()
	r := run(t, nil, append([]string{"edxml", "validate", "-json"}, args...)...)
	r.wantCode(t, wantCode)
	if r.stderr != "" {
		t.Errorf("%v: stderr: %s", r.args, r.stderr)
	}
	var v validateJSON
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v: stdout is not one JSON value: %v\n%s", r.args, err, r.stdout)
	}
	return v
}

func (v validateJSON) paths() []string {
	var ps []string
	for _, e := range v.Errors {
		ps = append(ps, e.Path)
	}
	return ps
}

func (v validateJSON) codeAt(path string) string {
	for _, e := range v.Errors {
		if e.Path == path {
			return e.Code
		}
	}
	return ""
}

func TestValidateJSON(t *testing.T) {
	v := validateJSONRun(t, 1, sample("edoc_new.edxml"))
	if v.Valid || v.Profile != "send" {
		t.Errorf("valid %v, profile %q; want false, send", v.Valid, v.Profile)
	}
	if c := v.codeAt("MessageHeader/DocumentId"); c != "document_id" {
		t.Errorf("MessageHeader/DocumentId: code %q, want document_id; errors %v", c, v.paths())
	}
	if c := v.codeAt("MessageHeader/To[1]/OrganId"); c != "bad_agency_code" {
		t.Errorf("MessageHeader/To[1]/OrganId: code %q, want bad_agency_code; errors %v", c, v.paths())
	}
	for _, e := range v.Errors {
		if e.Code == "" || e.MessageVI == "" || e.MessageEN == "" {
			t.Errorf("error %+v lacks a code or a message", e)
		}
	}
	if len(v.Warnings) == 0 || v.Warnings[0].Code != "leading-bytes" {
		t.Errorf("warnings %+v, want the leading-bytes one first", v.Warnings)
	}

	// The text output lists the same errors.
	text := parseValidate(t, run(t, nil, "edxml", "validate", sample("edoc_new.edxml")).stdout)
	if !slices.Equal(text.errors, v.paths()) {
		t.Errorf("text errors %v, JSON errors %v", text.errors, v.paths())
	}

	v = validateJSONRun(t, 0, "-profile", "receive", sample("status_acceptance_03.edxml"))
	if !v.Valid || v.Profile != "receive" || len(v.Errors) != 0 {
		t.Errorf("status_acceptance_03 under receive: %+v", v)
	}
}

// TestValidateCodes: edoc_new.edxml's recipient 28.22.H17 is not in the
// official form. Under the receive profile it is the only problem of the
// packet, so -codes decides the verdict; under the send profile the packet
// is invalid anyway and -codes decides only whether To is among the errors.
func TestValidateCodes(t *testing.T) {
	const to = "MessageHeader/To[1]/OrganId"
	path := sample("edoc_new.edxml")

	v := validateJSONRun(t, 0, "-profile", "receive", path) // the receive profile's codes are "any"
	if !v.Valid {
		t.Errorf("receive: %v", v.paths())
	}
	v = validateJSONRun(t, 0, "-profile", "receive", "-codes", "any", path)
	if !v.Valid {
		t.Errorf("receive -codes any: %v", v.paths())
	}
	v = validateJSONRun(t, 1, "-profile", "receive", "-codes", "strict", path)
	if v.Valid || !slices.Equal(v.paths(), []string{to}) || v.codeAt(to) != "bad_agency_code" {
		t.Errorf("receive -codes strict: valid %v, errors %v; want only %s (bad_agency_code)", v.Valid, v.paths(), to)
	}

	r := run(t, nil, "edxml", "validate", "-profile", "receive", "-codes", "strict", path)
	r.wantCode(t, 1)
	if got := parseValidate(t, r.stdout); !slices.Equal(got.errors, []string{to}) || !strings.Contains(r.stdout, `"28.22.H17"`) {
		t.Errorf("receive -codes strict, text: errors %v\n%s", got.errors, r.stdout)
	}

	strict := validateJSONRun(t, 1, path)
	anyCodes := validateJSONRun(t, 1, "-codes", "any", path)
	if strict.codeAt(to) == "" || anyCodes.codeAt(to) != "" {
		t.Errorf("send: strict errors %v, any errors %v; want %s only in the first", strict.paths(), anyCodes.paths(), to)
	}
	if want := slices.DeleteFunc(strict.paths(), func(p string) bool { return p == to }); !slices.Equal(anyCodes.paths(), want) {
		t.Errorf("send -codes any: errors %v, want %v", anyCodes.paths(), want)
	}
}

func TestValidateBadFlags(t *testing.T) {
	r := run(t, nil, "edxml", "validate", "-profile", "lenient", sample("status.edxml"))
	r.wantCode(t, 2)
	r.wantStderr(t, `unknown profile "lenient" (want send or receive)`)
	if r.stdout != "" {
		t.Errorf("stdout: %s", r.stdout)
	}

	r = run(t, nil, "edxml", "validate", "-codes", "loose", sample("status.edxml"))
	r.wantCode(t, 2)
	r.wantStderr(t, "loose")
}

// --- edxml new --------------------------------------------------------------

const (
	newTime   = "2025/11/20 09:00:00"
	newTimeSt = "2025/11/20 10:30:00"
)

// fixtures is testdata/new, made absolute before any test changes the
// working directory.
var fixtures = func() string {
	p, err := filepath.Abs(filepath.Join("testdata", "new"))
	if err != nil {
		panic(err)
	}
	return p
}()

// testdata returns the absolute path of a file under testdata/new.
func testdata(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(fixtures, name)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newPacket runs "edxml new" in a fresh working directory with -o out.edxml
// and returns the bytes written.
func newPacket(t *testing.T, desc string, at string) []byte {
	t.Helper()
	t.Chdir(t.TempDir())
	r := run(t, nil, "edxml", "new", "-time", at, "-o", "out.edxml", desc)
	r.wantCode(t, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("edxml new -o wrote stdout %q, stderr %q", r.stdout, r.stderr)
	}
	return readFile(t, "out.edxml")
}

func TestEdxmlNewEdoc(t *testing.T) {
	desc := testdata(t, "edoc.yaml")
	b := newPacket(t, desc, newTime)

	pkt, warns, err := envelope.Parse(b)
	if err != nil {
		t.Fatalf("the packet written does not parse: %v", err)
	}
	for _, w := range warns {
		if w.Code != "no-signature" {
			t.Errorf("reading the packet back warns: %v", w)
		}
	}
	if err := envelope.Validate(pkt, envelope.ProfileSend()); err != nil {
		t.Errorf("the packet written is not valid: %v", err)
	}
	e := pkt.Edoc
	if e == nil {
		t.Fatalf("not an edoc: %+v", pkt)
	}
	h := e.Header
	if want := "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"; h.DocumentID != want {
		t.Errorf("DocumentId %q, want %q", h.DocumentID, want)
	}
	if h.Code.Number != "7816" || h.DocumentType.Type != "2" || h.DocumentType.TypeDetail != "18" || h.OtherInfo.Priority != "0" {
		t.Errorf("numbers in the description: code %q, type %q/%q, priority %q", h.Code.Number, h.DocumentType.Type, h.DocumentType.TypeDetail, h.OtherInfo.Priority)
	}
	var to []string
	for _, o := range h.To {
		to = append(to, o.OrganID)
	}
	if want := []string{"000.00.00.H41", "000.00.00.H29"}; !slices.Equal(to, want) {
		t.Errorf("To %v, want %v", to, want)
	}
	if h.Subject != "V/v kết nối, liên thông phần mềm quản lý văn bản" || h.SignerInfo.FullName != "Nguyễn Văn A" {
		t.Errorf("subject %q, signer %q", h.Subject, h.SignerInfo.FullName)
	}
	if want := []envelope.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: newTime}}; !slices.Equal(e.Trace, want) {
		t.Errorf("Trace %+v, want %+v", e.Trace, want)
	}
	if bu := e.Bussiness; bu == nil || bu.BussinessDocType != envelope.BussinessNew || bu.Paper != "0" {
		t.Errorf("Bussiness %+v, want type 0 (new) without paper", bu)
	}

	// The attachments.
	if len(e.Attachments) != 2 {
		t.Fatalf("%d attachments, want 2", len(e.Attachments))
	}
	pdf, zipped := e.Attachments[0], e.Attachments[1]
	if pdf.ContentID != "cid:1" || pdf.Name != "congvan.pdf" || pdf.ContentType != "application/pdf" {
		t.Errorf("attachment 1: %s %q %q", pdf.ContentID, pdf.Name, pdf.ContentType)
	}
	if !bytes.Equal(pdf.Data, readFile(t, testdata(t, "congvan.pdf"))) {
		t.Errorf("attachment 1 does not hold congvan.pdf's bytes")
	}
	orig := readFile(t, testdata(t, "phuluc.txt"))
	if zipped.ContentID != "cid:2" || zipped.Name != "phuluc.txt" || zipped.ContentType != "application/zip" || zipped.Description != "Phụ lục kèm theo" {
		t.Errorf("attachment 2: %s %q %q %q", zipped.ContentID, zipped.Name, zipped.ContentType, zipped.Description)
	}
	inner, err := zipped.Inner(0)
	if err != nil {
		t.Fatalf("attachment 2: %v", err)
	}
	if inner.Name != "phuluc.txt" || !bytes.Equal(inner.Data, orig) {
		t.Errorf("attachment 2 holds %q (%q), want phuluc.txt (%q)", inner.Name, inner.Data, orig)
	}
	// The ZIP entry is stamped with -time, not with the clock.
	zr, err := zip.NewReader(bytes.NewReader(zipped.Data), int64(len(zipped.Data)))
	if err != nil {
		t.Fatal(err)
	}
	at, _ := envelope.Timestamp(newTime).Time()
	if len(zr.File) != 1 || !zr.File[0].Modified.Equal(at) {
		t.Errorf("zip entries %d, modified %v; want one, modified %v", len(zr.File), zr.File[0].Modified, at)
	}

	// The manifest names both.
	var refs []string
	for _, r := range e.Manifest {
		refs = append(refs, r.ContentID+" "+r.AttachmentName+" "+r.ContentType+" "+r.Description)
	}
	if want := []string{"cid:1 congvan.pdf application/pdf ", "cid:2 phuluc.txt application/zip Phụ lục kèm theo"}; !slices.Equal(refs, want) {
		t.Errorf("manifest %q, want %q", refs, want)
	}

	// The same description and -time give the same bytes, to a file or
	// to stdout.
	if again := newPacket(t, desc, newTime); !bytes.Equal(b, again) {
		t.Errorf("two runs wrote different packets")
	}
	r := run(t, nil, "edxml", "new", "-time", newTime, desc)
	r.wantCode(t, 0)
	if r.stdout != string(b) {
		t.Errorf("edxml new to stdout differs from edxml new -o")
	}
	// A different -time gives a different packet.
	if other := newPacket(t, desc, "2025/11/20 09:00:01"); bytes.Equal(b, other) {
		t.Errorf("-time does not change the packet")
	}

	// lienthong reads what it writes.
	r = run(t, nil, "edxml", "validate", "out.edxml")
	r.wantCode(t, 0)
	r = run(t, nil, "edxml", "inspect", "out.edxml")
	r.wantCode(t, 0)
	wantField(t, r.stdout, "Mã văn bản", "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT")
	wantField(t, r.stdout, "Hành trình", "000.00.00.G22 lúc 09:00:01 20/11/2025")
}

// TestEdxmlNewFromInspectJSON: the packet that "edxml inspect -json" prints
// is a description that rebuilds the same packet.
func TestEdxmlNewFromInspectJSON(t *testing.T) {
	b := newPacket(t, testdata(t, "edoc.yaml"), newTime)
	r := run(t, nil, "edxml", "inspect", "-json", "out.edxml")
	r.wantCode(t, 0)
	var got struct {
		Packet json.RawMessage `json:"packet"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("packet.json", got.Packet, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "edxml", "new", "-time", "2030/01/01 00:00:00", "packet.json")
	r.wantCode(t, 0)
	if r.stdout != string(b) {
		t.Errorf("rebuilt from inspect -json:\n%s\nwant:\n%s", r.stdout, b)
	}
}

func TestEdxmlNewStatus(t *testing.T) {
	desc := testdata(t, "status.json")
	b := newPacket(t, desc, newTimeSt)
	pkt, warns, err := envelope.Parse(b)
	if err != nil {
		t.Fatalf("the packet written does not parse: %v", err)
	}
	if len(warns) != 0 {
		t.Errorf("reading the packet back warns: %v", warns)
	}
	if err := envelope.Validate(pkt, envelope.ProfileSend()); err != nil {
		t.Errorf("the packet written is not valid: %v", err)
	}
	s := pkt.Status
	if s == nil || pkt.Edoc != nil {
		t.Fatalf("not a status packet: %+v", pkt)
	}
	if s.StatusCode != envelope.StatusAccepted {
		t.Errorf("StatusCode %q, want 03", s.StatusCode)
	}
	if s.Timestamp != newTimeSt {
		t.Errorf("Timestamp %q, want %q", s.Timestamp, newTimeSt)
	}
	if s.From.OrganID != "000.00.00.H41" || s.ResponseFor.DocumentID != "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT" || s.StaffInfo.Staff != "Trần Thị B" {
		t.Errorf("From %q, ResponseFor %q, Staff %q", s.From.OrganID, s.ResponseFor.DocumentID, s.StaffInfo.Staff)
	}
	if !bytes.Contains(b, []byte("<edXML:StatusCode>03</edXML:StatusCode>")) {
		t.Errorf("the wire does not carry 03:\n%s", b)
	}
	if again := newPacket(t, desc, newTimeSt); !bytes.Equal(b, again) {
		t.Errorf("two runs wrote different packets")
	}
	r := run(t, nil, "edxml", "inspect", "out.edxml")
	r.wantCode(t, 0)
	wantField(t, r.stdout, "Trạng thái", "03 — Đã tiếp nhận")
	wantField(t, r.stdout, "Thời điểm", "10:30:00 20/11/2025")
}

// copyNewFixture copies testdata/new to a fresh directory, makes it the
// working directory and returns it.
func copyNewFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"edoc.yaml", "status.json", "congvan.pdf", "phuluc.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), readFile(t, testdata(t, name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	return dir
}

// edit writes a copy of a fixture file changed by replacing old with new.
func edit(t *testing.T, from, to, old, new string) {
	t.Helper()
	b := readFile(t, from)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s holds no %q", from, old)
	}
	if err := os.WriteFile(to, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEdxmlNewRejects(t *testing.T) {
	copyNewFixture(t)
	write := func(name, content string) {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(t, "status.json", "unknown.json", `"statusCode": 3`, `"statusCode": 3, "colour": "red"`)
	edit(t, "edoc.yaml", "unknown.yaml", "\nfiles:\n", "\nattachmentz: []\nfiles:\n")
	edit(t, "status.json", "both.json", `"status": {`, `"edoc": {"header": {"subject": "x"}}, "status": {`)
	write("neither.yaml", "# nothing\n")
	edit(t, "status.json", "status-files.json", `"status": {`, `"files": [{"file": "congvan.pdf"}], "status": {`)
	edit(t, "status.json", "bad-code.json", `"statusCode": 3`, `"statusCode": 7`)
	edit(t, "edoc.yaml", "missing-file.yaml", "file: congvan.pdf", "file: congvan-missing.pdf")
	edit(t, "edoc.yaml", "no-file.yaml", "- file: congvan.pdf", "- description: no file")
	write("broken.yaml", "edoc: [\n")

	tests := []struct {
		desc   string
		code   int
		stderr []string
	}{
		{"unknown.json", 3, []string{"unknown.json", `unknown field "colour"`}},
		{"unknown.yaml", 3, []string{"unknown.yaml", `unknown field "attachmentz"`}},
		{"both.json", 3, []string{"both.json", "give exactly one of edoc and status"}},
		{"neither.yaml", 3, []string{"neither.yaml", "give exactly one of edoc and status"}},
		{"status-files.json", 3, []string{"a status packet has no attachments"}},
		{"bad-code.json", 3, []string{"bad-code.json", `status code "7"`}},
		{"missing-file.yaml", 3, []string{"congvan-missing.pdf"}},
		{"no-file.yaml", 3, []string{"an entry has no file"}},
		{"broken.yaml", 3, []string{"broken.yaml", "not YAML or JSON"}},
		{"does-not-exist.yaml", 3, []string{"does-not-exist.yaml"}},
	}
	for _, tt := range tests {
		r := run(t, nil, "edxml", "new", "-time", newTime, "-o", "out.edxml", tt.desc)
		r.wantCode(t, tt.code)
		r.wantStderr(t, tt.stderr...)
		if _, err := os.Stat("out.edxml"); err == nil {
			t.Fatalf("%s: a packet was written", tt.desc)
		}
	}
}

func TestEdxmlNewInvalid(t *testing.T) {
	copyNewFixture(t)
	edit(t, "edoc.yaml", "no-subject.yaml", "    subject: V/v kết nối, liên thông phần mềm quản lý văn bản\n", "")
	edit(t, "status.json", "no-code.json", `,
    "statusCode": 3`, "")
	edit(t, "edoc.yaml", "dup.yaml", "000.00.00.H29", "000.00.00.H41")
	tests := []struct {
		desc  string
		paths []string
	}{
		{"no-subject.yaml", []string{"MessageHeader/Subject"}},
		{"no-code.json", []string{"MessageHeader/StatusCode"}},
		{"dup.yaml", []string{"MessageHeader/To[2]/OrganId"}},
	}
	for _, tt := range tests {
		r := run(t, nil, "edxml", "new", "-time", newTime, "-o", "out.edxml", tt.desc)
		r.wantCode(t, 1)
		for _, p := range tt.paths {
			if !regexp.MustCompile(`(?m)^lỗi +` + regexp.QuoteMeta(p) + `: `).MatchString(r.stderr) {
				t.Errorf("%s: stderr does not name %s:\n%s", tt.desc, p, r.stderr)
			}
		}
		r.wantStderr(t, "lienthong: Gói tin dựng từ \""+tt.desc+"\" không hợp lệ: ", "("+tt.desc+": the packet is not valid: ")
		if r.stdout != "" {
			t.Errorf("%s: stdout: %s", tt.desc, r.stdout)
		}
		if _, err := os.Stat("out.edxml"); err == nil {
			t.Fatalf("%s: an invalid packet was written", tt.desc)
		}
	}
}

func TestEdxmlNewBadTime(t *testing.T) {
	for _, at := range []string{"2025-11-20 09:00:00", "2025/11/20", "2025/02/30 09:00:00"} {
		r := run(t, nil, "edxml", "new", "-time", at, testdata(t, "edoc.yaml"))
		r.wantCode(t, 2)
		r.wantStderr(t, "edxml new: -time: ")
		if r.stdout != "" {
			t.Errorf("-time %q: stdout: %s", at, r.stdout)
		}
	}
}

// TestSim: a small day replays with every delivery once, every status
// reconciled, and the figures printed.
func TestSim(t *testing.T) {
	r := run(t, nil, "sim", "-agencies", "60", "-gateways", "3", "-directory", "100", "-documents", "60", "-seed", "7")
	r.wantCode(t, 0)
	r.wantStderr(t, "every delivery stored once and answered by its 01", "every status reconciled")
	// Compared with spaces collapsed: the table's columns are as wide as
	// its longest row.
	collapse := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, row := range []string{"gateways / hosted agencies / directory 3 / 60 / 160", "documents / deliveries", "time to 01 p50 / p99",
		"hub consumers / per gateway", "signing floor", "wall time / signing floor", "process CPU to every status reconciled"} {
		if !strings.Contains(collapse(r.stdout), row) {
			t.Errorf("the figures do not have %q:\n%s", row, r.stdout)
		}
	}
	if r := run(t, nil, "sim", "-gateways", "0"); r.code != exitUsage {
		t.Errorf("sim -gateways 0: exit %d", r.code)
	}
}
