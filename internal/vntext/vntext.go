// Package vntext folds Vietnamese text for searching: what a clerk or a
// document-management system types ("nghe an") finds what the directory
// writes ("UBND tỉnh Nghệ An"). It is the one place that knows the
// letters' marks: the directory's search, the clerks' pages and the
// ASCII file names of downloads (gateway/internal/disposition) all use it.
package vntext

import (
	"unicode"
	"unicode/utf8"
)

// Fold lower-cases s, takes the marks off Vietnamese letters (đ is d) and
// drops combining marks (some keyboards send "e" then its marks), so that
// Contains(Fold(text), Fold(typed)) ignores letter case and marks.
func Fold(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		}
		b = utf8.AppendRune(b, base(unicode.ToLower(r)))
	}
	return string(b)
}

// Unmark takes the marks off Vietnamese letters (Đ is D) and drops
// combining marks, as Fold does, keeping letter case and every other
// character: "Quyết định ĐIỀU" is "Quyet dinh DIEU", the plain ASCII of
// a file name.
func Unmark(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= utf8.RuneSelf {
			if unicode.Is(unicode.Mn, r) {
				continue
			}
			if lower := unicode.ToLower(r); lower != r {
				r = unicode.ToUpper(base(lower))
			} else {
				r = base(r)
			}
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// base is a lower-case Vietnamese letter without its marks; other runes
// are themselves.
func base(r rune) rune {
	switch r {
	case 'à', 'á', 'ả', 'ã', 'ạ', 'ă', 'ằ', 'ắ', 'ẳ', 'ẵ', 'ặ', 'â', 'ầ', 'ấ', 'ẩ', 'ẫ', 'ậ':
		return 'a'
	case 'è', 'é', 'ẻ', 'ẽ', 'ẹ', 'ê', 'ề', 'ế', 'ể', 'ễ', 'ệ':
		return 'e'
	case 'ì', 'í', 'ỉ', 'ĩ', 'ị':
		return 'i'
	case 'ò', 'ó', 'ỏ', 'õ', 'ọ', 'ô', 'ồ', 'ố', 'ổ', 'ỗ', 'ộ', 'ơ', 'ờ', 'ớ', 'ở', 'ỡ', 'ợ':
		return 'o'
	case 'ù', 'ú', 'ủ', 'ũ', 'ụ', 'ư', 'ừ', 'ứ', 'ử', 'ữ', 'ự':
		return 'u'
	case 'ỳ', 'ý', 'ỷ', 'ỹ', 'ỵ':
		return 'y'
	case 'đ':
		return 'd'
	}
	return r
}
