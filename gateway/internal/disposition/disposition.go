// Package disposition writes the Content-Disposition of a download, the
// one writer the API and the clerks' pages share: a file name in
// Vietnamese must reach both old clients and new ones intact.
package disposition

import (
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/internal/vntext"
)

// Attachment is "attachment" with the file name twice (RFC 6266): plain
// ASCII in filename for old clients (Vietnamese letters without their
// marks, combining marks dropped, quotes, backslashes and other
// characters outside ASCII as "_"), and UTF-8 percent-encoded in
// filename*, as RFC 8187 (which replaced RFC 5987) says, which clients
// that know it prefer. Control characters are dropped: they could split
// the header.
func Attachment(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	return `attachment; filename="` + ascii(name) + `"; filename*=UTF-8''` + rfc8187(name)
}

// ascii writes a file name in ASCII: Vietnamese letters lose their marks
// (vntext.Unmark, which drops combining marks), quotes, backslashes and
// other characters outside ASCII become "_".
func ascii(name string) string {
	var b strings.Builder
	for _, r := range vntext.Unmark(name) {
		switch {
		case r == '"' || r == '\\' || r >= 0x7f:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// rfc8187 percent-encodes s's UTF-8 bytes but for attr-char (RFC 8187,
// section 3.2.1).
func rfc8187(s string) string {
	const attrChar = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attrChar, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
