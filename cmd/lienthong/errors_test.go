package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/signing"
)

// vietnamese matches a letter only Vietnamese writes (among those a
// command's sentences use): a vowel with a tone mark or ă, â, ê, ô, ơ, ư, đ.
var vietnamese = regexp.MustCompile(`[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđĐ]`)

// errorBlock finds the last error printed on stderr in the form of
// errors.go and returns its Vietnamese sentence, its English text (lines
// joined by "\n", without the parentheses) and its hint.
func errorBlock(t *testing.T, r result) (vi, en, hint string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	start := -1
	for i := len(lines) - 2; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "lienthong: ") && strings.HasPrefix(lines[i+1], errIndent+"(") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("lienthong %s: no error in the form\n\tlienthong: <Vietnamese>\n\t%s(<English>)\non stderr:\n%s", strings.Join(r.args, " "), errIndent, r.stderr)
	}
	vi = strings.TrimPrefix(lines[start], "lienthong: ")
	var ens []string
	i := start + 1
	for ; i < len(lines); i++ {
		l := strings.TrimPrefix(lines[i], errIndent)
		if i == start+1 {
			l = strings.TrimPrefix(l, "(")
		} else {
			l = strings.TrimPrefix(l, " ")
		}
		if strings.HasSuffix(l, ")") && (i+1 == len(lines) || !strings.HasPrefix(lines[i+1], errIndent+" ")) {
			ens = append(ens, strings.TrimSuffix(l, ")"))
			i++
			break
		}
		ens = append(ens, l)
	}
	if i < len(lines) {
		h, ok := strings.CutPrefix(lines[i], "Thử / try: ")
		if !ok {
			t.Errorf("lienthong %s: after the error, %q", strings.Join(r.args, " "), lines[i])
		}
		hint = h
	}
	return vi, strings.Join(ens, "\n"), hint
}

// TestErrorForm: every command prints its errors in one form — a
// Vietnamese sentence, the Go error in English in parentheses, the hint —
// with the exit codes of before.
func TestErrorForm(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "khong-co.edxml")
	badConfig := filepath.Join(dir, "sai.yaml")
	if err := os.WriteFile(badConfig, []byte(strings.Replace(testConfig, "id: vpcp", "id: vp cp", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	manyBad := filepath.Join(dir, "sai-nhieu.yaml")
	if err := os.WriteFile(manyBad, []byte("gateway:\n  id: vpcp\nlog:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notYAML := filepath.Join(dir, "hong.yaml")
	if err := os.WriteFile(notYAML, []byte("gateway: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(dir, "seed.nk")
	if err := os.WriteFile(seed, []byte("có rồi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port in use, for serve's API listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	inUse := filepath.Join(dir, "cong-ban.yaml")
	cfg, _ := opsConfig(t, filepath.Join(dir, "ops"))
	cfg.HTTP.Listen, cfg.Ops.Listen = ln.Addr().String(), ""
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inUse, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIENTHONG_API_KEY", "")

	tests := []struct {
		name string
		args []string
		code int
		vi   string // in the Vietnamese sentence
		en   string // in the English text
		hint string
	}{
		{"MissingFile", []string{"edxml", "inspect", missing}, exitTrouble,
			`Không mở được tệp "` + missing + `": tệp không tồn tại.`, "no such file or directory", ""},
		{"MissingConfig", []string{"serve", "-config", missing}, exitTrouble,
			`Không đọc được tệp cấu hình "` + missing + `": tệp không tồn tại.`, "config: open " + missing, ""},
		{"UnknownCommand", []string{"edxm"}, exitUsage,
			`Không có lệnh "edxm"; có phải ý bạn là "lienthong edxml"?`, `unknown command "edxm", did you mean "lienthong edxml"?`, "lienthong help"},
		{"UnknownSubcommand", []string{"store", "chek"}, exitUsage,
			`Lệnh lienthong store không có lệnh con "chek"; có phải ý bạn là "lienthong store check"?`, `store: unknown command "chek"`, "lienthong store -help"},
		{"BadFlag", []string{"serve", "-cofig", "x"}, exitUsage,
			"Dòng lệnh không đúng: lệnh lienthong serve không có cờ -cofig.", "serve: flag provided but not defined: -cofig", "lienthong serve -help"},
		{"BadFlagValue", []string{"hash-password", "-cost", "mười"}, exitUsage,
			`Dòng lệnh không đúng: giá trị "mười" của cờ -cost không dùng được.`, `invalid value "mười" for flag -cost`, "lienthong hash-password -help"},
		{"UsageNoHintGiven", []string{"edxml", "validate", "-profile", "lenient", missing}, exitUsage,
			`Không có profile "lenient"`, `unknown profile "lenient"`, "lienthong edxml validate -help"},
		{"ServeBadConfig", []string{"serve", "-config", badConfig}, exitTrouble,
			`Cấu hình sai ở khóa gateway.id (giá trị "vp cp").`, `config: gateway.id = "vp cp": only letters, digits, - and _`, ""},
		{"ServeManyBadKeys", []string{"serve", "-config", manyBad}, exitTrouble,
			"Cấu hình sai ở 3 khóa: agencies, trust.ca, log.level.", "config: trust.ca: at least one trusted CA file is required\nconfig: log.level = \"loud\"", ""},
		{"ServeNotYAML", []string{"serve", "-config", notYAML}, exitTrouble,
			`Tệp cấu hình "` + notYAML + `" không đúng (YAML sai hoặc có khóa lạ).`, "yaml: line 1", ""},
		{"ServePortInUse", []string{"serve", "-config", inUse}, exitTrouble,
			"Không mở được cổng API " + ln.Addr().String() + " (http.listen): cổng đang được dùng.", "address already in use", ""},
		{"ReportNoKey", []string{"report", "-agency", "000.00.00.H41", "-quarter", "2026-Q3"}, exitUsage,
			"Chưa có khóa API: đặt biến môi trường LIENTHONG_API_KEY hoặc dùng -key-file.", "report: no API key: set LIENTHONG_API_KEY or give -key-file", "lienthong report -help"},
		{"PKIMissingCA", []string{"pki", "issue", "-ca", filepath.Join(dir, "no-ca"), "-agency", "G01", "-name", "X", "-out", filepath.Join(dir, "g01")}, exitTrouble,
			`Không mở được CA trong thư mục "` + filepath.Join(dir, "no-ca") + `": tệp không tồn tại ("` + filepath.Join(dir, "no-ca", "ca.crt") + `").`, "signing: open CA: ", ""},
		{"SignMissingKey", []string{"edxml", "sign", "-key", missing, "-cert", missing, sample("edoc.edxml")}, exitTrouble,
			`Không đọc được khóa bí mật trong tệp "` + missing + `": tệp không tồn tại.`, "signing: open " + missing, ""},
		{"NKeyExists", []string{"nats", "user", "-gateway", "vpcp", "-agency", "000.00.00.G22", "-seed", seed}, exitTrouble,
			`Không ghi được khóa NKey vào tệp "` + seed + `": tệp đã có, không ghi đè.`, "file exists", ""},
		{"StoreMissing", []string{"store", "check", "-db", missing}, exitTrouble,
			`Không mở được kho dữ liệu "` + missing + `": tệp không tồn tại.`, "store check: stat ", ""},
		{"NoPassword", []string{"hash-password"}, exitTrouble,
			"Không có mật khẩu ở đầu vào chuẩn (stdin).", "hash-password: no password on standard input", ""},
		{"NotAPacket", []string{"edxml", "validate", badConfig}, exitTrouble,
			`Không đọc được gói tin edXML từ tệp "` + badConfig + `": đây không phải là một gói tin edXML đúng dạng.`, "envelope: malformed packet", ""},
		{"VerifyNoCA", []string{"edxml", "verify", sample("edoc.edxml")}, exitUsage,
			"Cần ít nhất một chứng thư CA tin cậy (-ca).", "edxml verify: at least one -ca is required", "lienthong edxml verify -help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			r.wantCode(t, tt.code)
			vi, en, hint := errorBlock(t, r)
			if !vietnamese.MatchString(vi) {
				t.Errorf("the first line is not Vietnamese: %q", vi)
			}
			if !strings.Contains(vi, tt.vi) {
				t.Errorf("the Vietnamese sentence is %q, want it to hold %q", vi, tt.vi)
			}
			// The English is the Go error exactly: what operators search for.
			if en != r.err.Error() {
				t.Errorf("the English text is\n%s\nwant the error\n%s", en, r.err.Error())
			}
			if !strings.Contains(en, tt.en) {
				t.Errorf("the English text is %q, want it to hold %q", en, tt.en)
			}
			if hint != tt.hint {
				t.Errorf("the hint is %q, want %q", hint, tt.hint)
			}
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
		})
	}
}

// TestErrorForm_Verdicts: the verdicts and results that are already
// bilingual keep their own output and exit codes, with no error printed.
func TestErrorForm_Verdicts(t *testing.T) {
	dir := t.TempDir()
	ca, err := signing.InitCA(dir, signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "edxml", "verify", "-ca", filepath.Join(ca.Dir(), signing.CACertFile), sample("status.edxml"))
	if r.code != verdictExit[signing.Missing] && r.code != verdictExit[signing.Untrusted] {
		t.Errorf("verify an unsigned packet: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("verify printed an error for its verdict:\n%s", r.stderr)
	}
	if !vietnamese.MatchString(r.stdout) {
		t.Errorf("the verdict is not in Vietnamese:\n%s", r.stdout)
	}
}

// TestViSentence: the sentence of errors without a text of their own.
func TestViSentence(t *testing.T) {
	m := &Main{cmd: "edxml sign"}
	tests := []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "open", Path: "/a/b", Err: fs.ErrPermission}, `Không mở được tệp "/a/b": không có quyền.`},
		{fmt.Errorf("x: %w", &fs.PathError{Op: "mkdir", Path: "/a", Err: fs.ErrExist}), `Không tạo được thư mục "/a": tệp đã có, không ghi đè.`},
		{withVI(&fs.PathError{Op: "open", Path: "/k.pem", Err: fs.ErrNotExist}, "Không đọc được khóa"), `Không đọc được khóa: tệp không tồn tại ("/k.pem").`},
		{withVI(&fs.PathError{Op: "open", Path: "/k.pem", Err: fs.ErrNotExist}, "Không đọc được khóa %q.", "/k.pem"), `Không đọc được khóa "/k.pem": tệp không tồn tại.`},
		{fmt.Errorf("sign: %w", signing.ErrAlreadySigned), "Gói tin đã có chữ ký số; mỗi gói tin chỉ có một chữ ký."},
		{errors.Join(&ConfigError{Field: "trust.ca", Err: errors.New("required")}), "Cấu hình sai ở khóa trust.ca."},
		{errors.New("something odd"), "Lệnh lienthong edxml sign không thực hiện được."},
		{usageError{msg: "edxml sign: odd"}, "Dòng lệnh của lệnh lienthong edxml sign không đúng."},
	}
	for _, tt := range tests {
		if got := m.viSentence(tt.err); got != tt.want {
			t.Errorf("viSentence(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
