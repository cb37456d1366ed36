package envelope

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxAgencyCodeLen is the length limit of an agency code in every mode, in
// bytes once surrounding white space is removed: the 35 characters of
// QĐ 20/2020/QĐ-TTg.
const MaxAgencyCodeLen = 35

// CodeMode sets how strictly agency codes are judged by [ParseAgencyCode].
// Send with [CodeStrict]; accept with the mode the configuration names.
type CodeMode int

const (
	// CodeStrict accepts only the two official forms, in upper case with
	// nothing around them: the QCVN 102 form "000.00.12.H41" and the
	// QĐ 20/2020 form "H41.12" (at most four groups, each level at its
	// width: level 1 a letter and two letters or digits, levels 2 and 3
	// two characters, level 4 three).
	CodeStrict CodeMode = iota
	// CodeLenient also accepts lower case, surrounding white space, short
	// or mixed old forms such as "28.22.H17" (read right to left, because
	// the last group is a level-1 group), groups of digits narrower or
	// wider than their level's width ("H41.0012"), and, level 1 first, more
	// than four levels when those beyond the fourth are digits. The level-1
	// group itself is never relaxed: it tells which way a code reads.
	CodeLenient
	// CodeAny also accepts any code made of NATS-safe groups
	// ([A-Za-z0-9_-]+, separated by '.'), such as "vxp.saas.03". When no
	// form applies, the groups are kept as read (upper-cased) and the level
	// is unknown.
	CodeAny
)

// String returns "strict", "lenient" or "any"; a value outside the three
// modes gives "CodeMode(n)".
func (m CodeMode) String() string {
	switch m {
	case CodeStrict:
		return "strict"
	case CodeLenient:
		return "lenient"
	case CodeAny:
		return "any"
	}
	return "CodeMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseCodeMode returns the mode whose name ([CodeMode.String]) is s, in any
// case and with surrounding white space ignored, as a configuration file
// names it.
func ParseCodeMode(s string) (CodeMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "strict":
		return CodeStrict, nil
	case "lenient":
		return CodeLenient, nil
	case "any":
		return CodeAny, nil
	}
	return CodeStrict, fmt.Errorf("envelope: agency code mode %q: want strict, lenient or any", s)
}

// MarshalText implements [encoding.TextMarshaler] with [CodeMode.String].
func (m CodeMode) MarshalText() ([]byte, error) {
	if m < CodeStrict || m > CodeAny {
		return nil, fmt.Errorf("envelope: agency code mode %d: want strict, lenient or any", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseCodeMode].
func (m *CodeMode) UnmarshalText(text []byte) error {
	v, err := ParseCodeMode(string(text))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// CodeForm is the written form an agency code was read from.
type CodeForm int

const (
	// FormQCVN102 is the 13-character form of QCVN 102:2016/BTTTT and
	// QĐ 28/2018, VVV.ZZ.YY.Mxx, read right to left: "000.00.12.H41".
	FormQCVN102 CodeForm = iota + 1
	// FormQD20 is the form of QĐ 20/2020/QĐ-TTg, level 1 first: "H41.12".
	FormQD20
	// FormIrregular is any other form that [CodeLenient] or [CodeAny]
	// accepted, such as "28.22.H17" or "vxp.saas.03". Case and surrounding
	// white space do not count: " h41.12 " is FormQD20.
	FormIrregular
)

// String returns "QCVN102", "QD20" or "irregular"; the zero value and
// other values give "CodeForm(n)".
func (f CodeForm) String() string {
	switch f {
	case FormQCVN102:
		return "QCVN102"
	case FormQD20:
		return "QD20"
	case FormIrregular:
		return "irregular"
	}
	return "CodeForm(" + strconv.Itoa(int(f)) + ")"
}

// AgencyCode is an agency code (mã định danh) in normal form: its groups,
// level 1 first, upper-cased, trailing all-zero groups dropped, so
// "000.02.02.H37", "H37.02.02" and "h37.02.02.000" are the same code. A zero
// group in the middle is kept: since mid-2025 the district level may be
// absent ("000.01.00.H37" is H37.00.01, level 3). A code accepted only by
// [CodeAny] keeps its groups as read, and its level is unknown.
//
// The zero value is no code ([AgencyCode.IsZero]). Values hold a slice and
// cannot be compared with ==: use [AgencyCode.Equal], or
// [AgencyCode.Tokens] as a map key.
type AgencyCode struct {
	groups  []string // level 1 first; never empty unless zero
	form    CodeForm // the form the code was read from
	unknown bool     // accepted only by CodeAny: groups as read, level unknown
}

// ParseAgencyCode reads an agency code in either official form and, as mode
// allows, in the forms real software sends (see [CodeMode]). A mode other
// than the three is taken as [CodeStrict].
//
// The QCVN 102 form is exactly 13 characters, VVV.ZZ.YY.Mxx: groups of
// three, two and two letters or digits, then the level-1 group (a letter and
// two letters or digits), read right to left. The QĐ 20/2020 form has the
// level-1 group first and is at most [MaxAgencyCodeLen] characters. A code of
// four groups that both forms could read, such as "A01.00.02.H37", is read as
// the QCVN 102 form; outside that form, a code whose first group is a
// level-1 group is read left to right before it is tried right to left.
//
// An empty code, a code longer than [MaxAgencyCodeLen], an empty group and
// an all-zero level-1 group (in [CodeAny], an all-zero first group) are
// refused in every mode, and no mode accepts a character that would make an
// unsafe NATS token. Every error wraps [ErrBadAgencyCode] and names the input
// and what is wrong with it.
func ParseAgencyCode(s string, mode CodeMode) (AgencyCode, error) {
	if mode != CodeLenient && mode != CodeAny {
		mode = CodeStrict
	}
	text := s
	if mode != CodeStrict {
		text = strings.TrimSpace(s)
	}
	switch {
	case text == "":
		return AgencyCode{}, agencyErr(s, "empty")
	case len(text) > MaxAgencyCodeLen:
		return AgencyCode{}, agencyErr(s, "%d characters, more than the %d allowed", len(text), MaxAgencyCodeLen)
	}

	groups := strings.Split(text, ".")
	alnum := true // every group is made of letters and digits only
	for i, g := range groups {
		if g == "" {
			return AgencyCode{}, agencyErr(s, "group %d of %d is empty", i+1, len(groups))
		}
		for j := 0; j < len(g); j++ {
			b := g[j]
			switch {
			case 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
				continue
			case 'a' <= b && b <= 'z':
				if mode == CodeStrict {
					return AgencyCode{}, agencyErr(s, "group %d %q has lower-case letters, which strict mode refuses", i+1, g)
				}
				continue
			case (b == '_' || b == '-') && mode == CodeAny:
				alnum = false
				continue
			}
			r, _ := utf8.DecodeRuneInString(g[j:])
			return AgencyCode{}, agencyErr(s, "group %d %q has %q, which is not %s", i+1, g, r, allowedChars(mode))
		}
		groups[i] = upperASCII(g)
	}

	var reason string
	if alnum {
		var c AgencyCode
		c, reason = readAgencyCode(groups, mode)
		if reason == "" {
			return c, nil
		}
	}
	if mode != CodeAny {
		return AgencyCode{}, agencyErr(s, "%s", reason)
	}
	if zeroGroup(groups[0]) {
		return AgencyCode{}, agencyErr(s, "group 1 %q is all zeros and no level-1 group ends the code", groups[0])
	}
	return AgencyCode{groups: groups, form: FormIrregular, unknown: true}, nil
}

// MustAgencyCode is [ParseAgencyCode] in [CodeStrict] mode for tests and
// constants. It panics if s is not a valid code.
func MustAgencyCode(s string) AgencyCode {
	c, err := ParseAgencyCode(s, CodeStrict)
	if err != nil {
		panic(err)
	}
	return c
}

// readAgencyCode reads upper-case, letter-and-digit groups as one of the
// forms mode allows. It returns what is wrong when no form applies.
func readAgencyCode(groups []string, mode CodeMode) (AgencyCode, string) {
	n := len(groups)
	if n == 4 && len(groups[0]) == 3 && len(groups[1]) == 2 && len(groups[2]) == 2 && levelOneGroup(groups[3]) {
		return newAgencyCode(reversed(groups), FormQCVN102), ""
	}
	var reasons []string
	if levelOneGroup(groups[0]) {
		i, why := checkLevels(groups, CodeStrict)
		if why == "" {
			return newAgencyCode(groups, FormQD20), ""
		}
		if mode != CodeStrict {
			i, why = checkLevels(groups, mode)
			if why == "" {
				return newAgencyCode(groups, FormIrregular), ""
			}
		}
		reasons = append(reasons, "read left to right, "+describeGroup(groups, i, i+1, why))
	}
	if n > 1 && levelOneGroup(groups[n-1]) {
		switch {
		case mode == CodeStrict:
			reasons = append(reasons, "read right to left, it is not the QCVN 102 form VVV.ZZ.YY.Mxx of 13 characters")
		case n > 4:
			reasons = append(reasons, fmt.Sprintf("read right to left, it has %d groups, more than the 4 of VVV.ZZ.YY.Mxx", n))
		default:
			rev := reversed(groups)
			i, why := checkLevels(rev, mode)
			if why == "" {
				return newAgencyCode(rev, FormIrregular), ""
			}
			reasons = append(reasons, "read right to left, "+describeGroup(rev, i, n-i, why))
		}
	}
	if len(reasons) == 0 {
		if n == 1 {
			return AgencyCode{}, fmt.Sprintf("%q is not a level-1 group (a letter and two letters or digits)", groups[0])
		}
		return AgencyCode{}, fmt.Sprintf("neither the first group %q nor the last %q is a level-1 group (a letter and two letters or digits)", groups[0], groups[n-1])
	}
	return AgencyCode{}, strings.Join(reasons, "; ")
}

// checkLevels judges groups, level 1 first, by the rules of mode. It returns
// the index of the first bad group and what is wrong with it, or "" when
// all are good.
func checkLevels(groups []string, mode CodeMode) (int, string) {
	if mode == CodeStrict && len(groups) > 4 {
		return 4, "strict mode allows at most 4 groups"
	}
	for i, g := range groups[1:] {
		level := i + 2
		w := levelWidth(level)
		switch {
		case len(g) == w:
		case mode == CodeStrict:
			return i + 1, fmt.Sprintf("level %d has %d characters", level, w)
		case !numericGroup(g):
			if w == 0 {
				return i + 1, fmt.Sprintf("level %d must be a number", level)
			}
			return i + 1, fmt.Sprintf("level %d has %d characters or is a number", level, w)
		}
	}
	return -1, ""
}

// describeGroup says what is wrong with groups[i], which the input has at
// position pos (1-based).
func describeGroup(groups []string, i, pos int, why string) string {
	return fmt.Sprintf("group %d %q is level %d: %s", pos, groups[i], i+1, why)
}

// newAgencyCode returns the code of groups, level 1 first, with trailing
// zero groups dropped.
func newAgencyCode(groups []string, form CodeForm) AgencyCode {
	return AgencyCode{groups: dropZeroGroups(groups), form: form}
}

// levelWidth returns the width of a group at level in the official forms,
// or 0 beyond level 4.
func levelWidth(level int) int {
	switch level {
	case 1, 4:
		return 3
	case 2, 3:
		return 2
	}
	return 0
}

// levelOneGroup reports whether g, upper case, is a level-1 group: a letter
// and two letters or digits.
func levelOneGroup(g string) bool {
	return len(g) == 3 && 'A' <= g[0] && g[0] <= 'Z' && alnumByte(g[1]) && alnumByte(g[2])
}

func alnumByte(b byte) bool {
	return 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// numericGroup reports whether g is made of digits only.
func numericGroup(g string) bool {
	return strings.Trim(g, "0123456789") == ""
}

// zeroGroup reports whether g is made of zeros only.
func zeroGroup(g string) bool {
	return strings.Trim(g, "0") == ""
}

// dropZeroGroups returns groups without its trailing all-zero groups.
func dropZeroGroups(groups []string) []string {
	n := len(groups)
	for n > 0 && zeroGroup(groups[n-1]) {
		n--
	}
	return groups[:n:n]
}

func reversed(groups []string) []string {
	r := slices.Clone(groups)
	slices.Reverse(r)
	return r
}

// upperASCII upper-cases the ASCII letters of s and nothing else.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func allowedChars(mode CodeMode) string {
	switch mode {
	case CodeLenient:
		return "a letter or a digit"
	case CodeAny:
		return "a letter, a digit, '_' or '-'"
	}
	return "an upper-case letter or a digit"
}

func agencyErr(s, format string, args ...any) error {
	return fmt.Errorf("%w: %q: %s", ErrBadAgencyCode, s, fmt.Sprintf(format, args...))
}

// IsZero reports whether c is the zero value, no code.
func (c AgencyCode) IsZero() bool { return len(c.groups) == 0 }

// Form returns the form c was read from; 0 for the zero value.
func (c AgencyCode) Form() CodeForm { return c.form }

// String returns the canonical text of c: the QCVN 102 form when c fits it
// ([AgencyCode.QCVN102]), else the QĐ 20/2020 form. A code whose level is
// unknown gives its groups as read, upper-cased. The zero value gives "".
// Parsing the text in the mode that accepted c gives a code equal to c.
func (c AgencyCode) String() string {
	if s, ok := c.QCVN102(); ok {
		return s
	}
	return c.QD20()
}

// QCVN102 returns c in the 13-character QCVN 102 form, VVV.ZZ.YY.Mxx, with
// the levels c lacks written as zeros ("000.00.12.H41"). It reports false
// when c does not fit the form: more than four groups, a group of another
// width than its level's, an unknown level, or the zero value.
func (c AgencyCode) QCVN102() (string, bool) {
	if c.IsZero() || c.unknown || len(c.groups) > 4 {
		return "", false
	}
	slots := [4]string{"000", "00", "00", ""} // VVV, ZZ, YY, Mxx
	for i, g := range c.groups {
		if len(g) != levelWidth(i+1) {
			return "", false
		}
		slots[3-i] = g
	}
	return strings.Join(slots[:], "."), true
}

// QD20 returns c in the QĐ 20/2020 form, level 1 first ("H41.12"). A code
// whose level is unknown gives its groups as read.
func (c AgencyCode) QD20() string { return strings.Join(c.groups, ".") }

// Level returns the level of c: the number of its groups, 1 to 4 in the
// official forms (more only for a deeper code [CodeLenient] accepted). It
// returns 0 for a code whose level is unknown and for the zero value.
func (c AgencyCode) Level() int {
	if c.unknown {
		return 0
	}
	return len(c.groups)
}

// Parent returns the code of the agency above c: c without its last group
// and then without trailing zero groups, so the parent of H13.20.00.002 is
// H13.20, and the parent of H37.00.01 is H37. The parent keeps the form of
// c. It reports false for a level-1 code, a code whose level is unknown and
// the zero value.
func (c AgencyCode) Parent() (AgencyCode, bool) {
	if c.unknown || len(c.groups) < 2 {
		return AgencyCode{}, false
	}
	return newAgencyCode(c.groups[:len(c.groups)-1], c.form), true
}

// Groups returns a copy of the groups of c, level 1 first.
func (c AgencyCode) Groups() []string { return slices.Clone(c.groups) }

// Tokens returns the NATS subject tokens of c as the NATS contract sets
// them: its groups, level 1 first, trailing zero groups dropped, joined by
// '.': 000.00.00.G22 → "G22", 000.00.12.H41 → "H41.12", 002.00.20.H13 →
// "H13.20.00.002", H37.02.02 → "H37.02.02". A code whose level is unknown
// gives its groups as read. Every token is non-empty and made of A–Z, 0–9,
// '_' and '-'. The zero value gives "".
func (c AgencyCode) Tokens() string { return strings.Join(c.groups, ".") }

// Contains reports whether o is c itself or an agency below it: whether the
// groups of c begin the groups of o, as the subjects lt.edoc.<c> and
// lt.edoc.<c>.> take o's. The zero value contains nothing.
func (c AgencyCode) Contains(o AgencyCode) bool {
	n := len(c.groups)
	return n > 0 && len(o.groups) >= n && slices.Equal(c.groups, o.groups[:n])
}

// Equal reports whether c and o are the same code, whatever forms they were
// read from: "000.02.02.H37" equals "H37.02.02".
func (c AgencyCode) Equal(o AgencyCode) bool { return slices.Equal(c.groups, o.groups) }

// TierName returns the Vietnamese name of the tier of c: for level 1, by the
// letter of the code (G ministries and government agencies, H provincial
// People's Committees, K provincial People's Councils, any other letter
// other central agencies); "Cấp 2: …", "Cấp 3: …" and "Cấp 4" below; and
// "Không xác định" when the level is unknown.
func (c AgencyCode) TierName() string {
	switch level := c.Level(); level {
	case 0:
		return "Không xác định"
	case 1:
		switch c.groups[0][0] {
		case 'G':
			return "Bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ"
		case 'H':
			return "Ủy ban nhân dân tỉnh, thành phố trực thuộc trung ương"
		case 'K':
			return "Hội đồng nhân dân tỉnh, thành phố"
		}
		return "Cơ quan cấp trung ương khác"
	case 2:
		// Since 1 July 2025 there are no districts: a code's level no
		// longer says whether it is a commune (directly under its
		// province) or a department; the directory's kind does.
		return "Cấp 2: đơn vị trực thuộc bộ, ngành, tỉnh"
	case 3:
		return "Cấp 3: đơn vị thuộc cấp 2"
	default:
		return "Cấp " + strconv.Itoa(level)
	}
}

// MarshalText implements [encoding.TextMarshaler] with [AgencyCode.String].
// The zero value gives empty text.
func (c AgencyCode) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [ParseAgencyCode] in [CodeLenient] mode, so JSON and YAML may hold either
// form. Empty text gives the zero value, as [AgencyCode.MarshalText] writes
// it; a code only [CodeAny] accepts is refused.
func (c *AgencyCode) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = AgencyCode{}
		return nil
	}
	v, err := ParseAgencyCode(string(text), CodeLenient)
	if err != nil {
		return err
	}
	*c = v
	return nil
}
