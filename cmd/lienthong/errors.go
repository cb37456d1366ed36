package main

// Error messages: one form for every command.
//
// Clerks and operators read Vietnamese; the English of the Go error names
// it for a search, a log query or a support ticket. So every error a
// command returns is printed on stderr, and only there, as
//
//	lienthong: Không mở được tệp "/nonexist": tệp không tồn tại.
//	           (open /nonexist: no such file or directory)
//	Thử / try: lienthong report -help
//
// a Vietnamese sentence first; then the error exactly as Go wrote it
// (err.Error(), the whole wrapped chain), in parentheses, indented under
// the sentence; then, for a mistake in the command line, the command to
// run for help. The exit codes do not depend on the form.
//
// The Vietnamese sentence is, in this order:
//
//  1. the text the command gave the error where it knows best what failed:
//     a viError (withVI), or the vi field of a usageError or an exitError;
//     the outermost one wins. When a cause that classify recognizes lies
//     under it (a missing file, a refused connection, a port in use, a key
//     that cannot sign …), the cause is added: "Không đọc được tệp cấu
//     hình "x": tệp không tồn tại.";
//  2. else the configuration keys that are wrong (ConfigError), with the
//     cause as above when there is one key;
//  3. else a sentence classify makes from the error chain alone: a file
//     (fs.PathError), a network operation (net.OpError, net.DNSError), a
//     deadline, a signing or packet error of this module;
//  4. else "Lệnh lienthong X không thực hiện được." (or, for a usage
//     error, "Dòng lệnh của lệnh lienthong X không đúng.").
//
// Free English text that cannot be translated (a NATS server's answer, a
// YAML parser's complaint) is never put in the Vietnamese sentence and
// never printed alone: it stays in the English line, under a Vietnamese
// sentence that says what failed.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// viError gives a failure its Vietnamese sentence; Error and Unwrap are
// those of the error it carries, so the English line and errors.Is/As are
// unchanged.
type viError struct {
	vi  string
	err error
}

func (e *viError) Error() string { return e.err.Error() }
func (e *viError) Unwrap() error { return e.err }

// withVI returns err with a Vietnamese sentence saying what failed (the
// cause is added when printed, see the top of this file); nil stays nil.
func withVI(err error, format string, a ...any) error {
	if err == nil {
		return nil
	}
	return &viError{vi: fmt.Sprintf(format, a...), err: err}
}

// newVIError is an error of the command's own: its Vietnamese sentence and
// its English text.
func newVIError(vi, en string) error {
	return &viError{vi: vi, err: errors.New(en)}
}

// errIndent puts the English line under the Vietnamese sentence.
const errIndent = "           " // len("lienthong: ")

// writeError prints an error in the form above; en may hold several lines
// (errors.Join), each indented inside the parentheses.
func writeError(w io.Writer, vi, en, hint string) {
	fmt.Fprintf(w, "lienthong: %s\n", vi)
	if en = strings.TrimSpace(en); en != "" {
		fmt.Fprintf(w, "%s(%s)\n", errIndent, strings.ReplaceAll(en, "\n", "\n"+errIndent+" "))
	}
	if hint != "" {
		fmt.Fprintf(w, "Thử / try: %s\n", hint)
	}
}

// printError prints err, returned by the command m.cmd, in the form above.
func (m *Main) printError(err error, hint string) {
	writeError(m.Stderr, m.viSentence(err), err.Error(), hint)
}

// viSentence is the Vietnamese sentence of err (see the top of this file).
func (m *Main) viSentence(err error) string {
	cmd := strings.TrimSpace("lienthong " + m.cmd)
	var what string
	var under error
	walk(err, func(e error) bool {
		switch e := e.(type) {
		case *viError:
			what, under = e.vi, e.err
		case usageError:
			what = e.vi
		case exitError:
			what = e.vi
		case *ConfigError:
			var all []*ConfigError
			walk(err, func(e error) bool {
				if ce, ok := e.(*ConfigError); ok {
					all = append(all, ce)
				}
				return false
			})
			if len(all) > 1 {
				what = configVI(all)
				return true
			}
			what, under = configVI(all), e.Err
		}
		return what != ""
	})
	if what != "" {
		if under != nil {
			if reason := cause(under, what); reason != "" {
				return sentence(strings.TrimRight(what, ". ") + ": " + reason)
			}
		}
		return sentence(what)
	}
	if s := classify(err); s != "" {
		return s
	}
	var ue usageError
	if errors.As(err, &ue) {
		return "Dòng lệnh của lệnh " + cmd + " không đúng."
	}
	return "Lệnh " + cmd + " không thực hiện được."
}

// configVI says which configuration keys (or environment variables) are
// wrong.
func configVI(errs []*ConfigError) string {
	place := func(e *ConfigError) string {
		if strings.HasPrefix(e.Field, "LIENTHONG_") {
			return "biến môi trường " + e.Field
		}
		return "khóa " + e.Field
	}
	if len(errs) == 1 {
		s := "Cấu hình sai ở " + place(errs[0])
		if errs[0].Value != "" {
			s += fmt.Sprintf(" (giá trị %q)", errs[0].Value)
		}
		return s
	}
	var fields []string
	seen := map[string]bool{}
	for _, e := range errs {
		if !seen[e.Field] {
			seen[e.Field] = true
			fields = append(fields, e.Field)
		}
	}
	if len(fields) == 1 {
		return fmt.Sprintf("Cấu hình sai ở %s (%d lỗi).", place(errs[0]), len(errs))
	}
	return fmt.Sprintf("Cấu hình sai ở %d khóa: %s.", len(fields), strings.Join(fields, ", "))
}

// walk calls f on err and on every error it wraps, depth first in the
// order errors.As tries them, until f returns true; it says whether f did.
func walk(err error, f func(error) bool) bool {
	if err == nil {
		return false
	}
	if f(err) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if walk(e, f) {
				return true
			}
		}
	}
	return false
}

// classify makes the whole sentence of an error no command gave a text,
// from the first error of its chain it recognizes; "" when it recognizes
// none.
func classify(err error) string {
	var s string
	walk(err, func(e error) bool {
		switch e := e.(type) {
		case *fs.PathError:
			s = pathSentence(e)
		case *net.OpError:
			s = netSentence(e)
		}
		return s != ""
	})
	if s != "" {
		return s
	}
	if reason := cause(err, ""); reason != "" {
		return sentence(capitalize(reason))
	}
	return ""
}

// pathSentence: "Không mở được tệp "x": tệp không tồn tại."
func pathSentence(e *fs.PathError) string {
	verb := map[string]string{
		"open": "mở", "read": "đọc", "write": "ghi", "stat": "xem", "lstat": "xem",
		"remove": "xóa", "unlinkat": "xóa", "rename": "đổi tên", "chmod": "đổi quyền", "close": "đóng",
		"readdirent": "đọc", "fdopendir": "đọc", "openat": "mở", "sync": "ghi",
	}[e.Op]
	noun := "tệp"
	switch {
	case e.Op == "mkdir" || e.Op == "mkdirat":
		verb, noun = "tạo", "thư mục"
	case e.Op == "readdirent" || e.Op == "fdopendir":
		noun = "thư mục"
	case verb == "":
		verb = "dùng"
	}
	s := fmt.Sprintf("Không %s được %s %q", verb, noun, e.Path)
	if r := pathReason(e.Err); r != "" {
		s += ": " + r
	}
	return sentence(s)
}

// pathReason is why a file operation failed, when it is a common reason.
func pathReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "tệp không tồn tại"
	case errors.Is(err, fs.ErrPermission):
		return "không có quyền"
	case errors.Is(err, fs.ErrExist):
		return "tệp đã có, không ghi đè"
	case errors.Is(err, syscall.EISDIR):
		return "đó là một thư mục"
	case errors.Is(err, syscall.ENOTDIR):
		return "một phần của đường dẫn không phải là thư mục"
	case errors.Is(err, syscall.ENOSPC):
		return "hết chỗ trên đĩa"
	}
	return ""
}

// netSentence: "Không kết nối được tới 127.0.0.1:1: …", "Không mở được
// cổng 127.0.0.1:8080: cổng đang được dùng."
func netSentence(e *net.OpError) string {
	addr := ""
	if e.Addr != nil {
		addr = " " + e.Addr.String()
	}
	var s string
	switch e.Op {
	case "dial":
		s = "Không kết nối được tới" + addr
	case "listen":
		s = "Không mở được cổng" + addr
	default:
		return ""
	}
	if r := netReason(e, ""); r != "" {
		s += ": " + r
	}
	return sentence(s)
}

// netReason is why a network operation failed, when it is a common
// reason; the address is named unless context already does.
func netReason(e *net.OpError, context string) string {
	at := ""
	if e.Addr != nil && context != "" && !strings.Contains(context, e.Addr.String()) {
		at = e.Addr.String()
	}
	switch {
	case errors.Is(e, syscall.ECONNREFUSED):
		if at != "" {
			return "không có dịch vụ nào nghe ở " + at
		}
		return "không có dịch vụ nào nghe ở đó"
	case errors.Is(e, syscall.EADDRINUSE):
		if at != "" {
			return "cổng " + at + " đang được dùng"
		}
		return "cổng đang được dùng"
	case errors.Is(e, syscall.EACCES):
		return "không có quyền mở cổng này"
	case errors.Is(e, syscall.EADDRNOTAVAIL):
		return "máy này không có địa chỉ đó"
	case e.Timeout():
		return "hết thời gian chờ"
	}
	return ""
}

// cause is the reason, as a clause, of the first error in err's chain it
// recognizes; "" when none. A file or an address that context (the
// sentence the reason is added to) already names is not named again.
func cause(err error, context string) string {
	var r string
	walk(err, func(e error) bool {
		switch e := e.(type) {
		case *fs.PathError:
			r = pathReason(e.Err)
			if r != "" && !strings.Contains(context, e.Path) {
				r = fmt.Sprintf("%s (%q)", r, e.Path)
			}
		case *net.OpError:
			r = netReason(e, context)
		case *net.DNSError:
			if e.IsNotFound {
				r = fmt.Sprintf("không tìm thấy máy %q", e.Name)
			}
		case x509.CertificateInvalidError:
			r = "chứng thư số không hợp lệ"
			if e.Reason == x509.Expired {
				r = "chứng thư số đã hết hạn hoặc chưa có hiệu lực"
			}
		case x509.UnknownAuthorityError:
			r = "chứng thư số không do CA tin cậy cấp"
		case x509.HostnameError:
			r = "chứng thư số không mang tên máy này"
		}
		if r == "" {
			r = sentinelReason(e)
		}
		return r != ""
	})
	return r
}

// sentinelReason is the reason of an error value of the standard library
// or of this module, compared as is (walk goes down the chain).
func sentinelReason(e error) string {
	switch e {
	case context.DeadlineExceeded, os.ErrDeadlineExceeded:
		return "hết thời gian chờ"
	case context.Canceled:
		return "lệnh đã bị dừng"
	case fs.ErrNotExist:
		return "không tồn tại"
	case fs.ErrExist:
		return "đã có, không ghi đè"
	case fs.ErrPermission:
		return "không có quyền"
	case signing.ErrKey:
		return "khóa không dùng được để ký (sai mật khẩu PKCS#12, không phải khóa RSA 2048 hoặc 3072 bit, hoặc không khớp với chứng thư số)"
	case signing.ErrAlreadySigned:
		return "gói tin đã có chữ ký số; mỗi gói tin chỉ có một chữ ký"
	case signing.ErrNotSignable:
		return "không đặt được chữ ký số vào gói tin này"
	case signing.ErrCAExists:
		return "ở đó đã có một CA, không ghi đè"
	case signing.ErrNotIssued:
		return "chứng thư số không do CA này cấp"
	case signing.ErrAlreadyRevoked:
		return "chứng thư số đã bị thu hồi từ trước"
	case signing.ErrRecord:
		return "bản ghi danh bạ bị từ chối"
	case envelope.ErrTooLarge:
		return "gói tin lớn hơn giới hạn kích thước"
	case envelope.ErrMalformed:
		return "đây không phải là một gói tin edXML đúng dạng"
	case envelope.ErrForbiddenXML:
		return "gói tin có cấu trúc XML bị cấm (DOCTYPE, khai báo thực thể, lồng quá sâu …)"
	case envelope.ErrAttachment:
		return "có tệp đính kèm không giải mã được"
	}
	return ""
}

// sentence ends s with a full stop unless it ends a sentence already.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// Errors of the flag package, as FlagSet.Parse writes them.
var (
	flagUndefined = regexp.MustCompile(`^flag provided but not defined: (-\S+)`)
	flagNoValue   = regexp.MustCompile(`^flag needs an argument: (-\S+)`)
	flagBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?(-\S+?):`)
	flagSyntax    = regexp.MustCompile(`^bad flag syntax: (.*)`)
)

// flagVI is the Vietnamese sentence of a flag parse error of command cmd.
func flagVI(cmd string, err error) string {
	msg := err.Error()
	if m := flagUndefined.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("Dòng lệnh không đúng: lệnh lienthong %s không có cờ %s.", cmd, m[1])
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("Dòng lệnh không đúng: cờ %s cần một giá trị.", m[1])
	}
	if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("Dòng lệnh không đúng: giá trị %s của cờ %s không dùng được.", m[1], m[2])
	}
	if m := flagSyntax.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("Dòng lệnh không đúng: %q không phải là một cờ viết đúng.", m[1])
	}
	return "Dòng lệnh không đúng."
}

// source names where a command reads a file from, for a sentence: "tệp
// "x"", or the standard input for "-".
func source(name string) string {
	if name == "-" {
		return "đầu vào chuẩn (stdin)"
	}
	return fmt.Sprintf("tệp %q", name)
}
