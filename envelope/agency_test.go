package envelope_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

var agencyModes = []envelope.CodeMode{envelope.CodeStrict, envelope.CodeLenient, envelope.CodeAny}

func TestParseAgencyCode(t *testing.T) {
	// Each case says which modes accept the input; the others must refuse it.
	// A mode that accepts it must give the same code.
	type accept struct{ strict, lenient, any bool }
	var (
		all         = accept{true, true, true}
		lenientUp   = accept{false, true, true}
		anyOnly     = accept{false, false, true}
		none        = accept{}
		unknownForm = envelope.FormIrregular
	)
	for _, tt := range []struct {
		name   string
		in     string
		accept accept
		tokens string
		str    string
		form   envelope.CodeForm
		level  int
	}{
		{name: "QCVN102Form", in: "000.00.12.H41", accept: all, tokens: "H41.12", str: "000.00.12.H41", form: envelope.FormQCVN102, level: 2},
		{name: "QCVN102Form/Level1", in: "000.00.00.G22", accept: all, tokens: "G22", str: "000.00.00.G22", form: envelope.FormQCVN102, level: 1},
		{name: "QCVN102Form/Level4", in: "002.00.20.H13", accept: all, tokens: "H13.20.00.002", str: "002.00.20.H13", form: envelope.FormQCVN102, level: 4},
		{name: "QCVN102Form/Level3", in: "000.02.02.H37", accept: all, tokens: "H37.02.02", str: "000.02.02.H37", form: envelope.FormQCVN102, level: 3},
		{name: "QCVN102Form/LettersInLevel1", in: "001.00.20.JB2", accept: all, tokens: "JB2.20.00.001", str: "001.00.20.JB2", form: envelope.FormQCVN102, level: 4},
		{name: "QCVN102Form/NoDistrict", in: "000.01.00.H37", accept: all, tokens: "H37.00.01", str: "000.01.00.H37", form: envelope.FormQCVN102, level: 3},
		{name: "QCVN102Form/BothEndsLevel1", in: "A01.00.02.H37", accept: all, tokens: "H37.02.00.A01", str: "A01.00.02.H37", form: envelope.FormQCVN102, level: 4},

		{name: "QĐ20Form", in: "H37.02.02", accept: all, tokens: "H37.02.02", str: "000.02.02.H37", form: envelope.FormQD20, level: 3},
		{name: "QĐ20Form/Level1", in: "G22", accept: all, tokens: "G22", str: "000.00.00.G22", form: envelope.FormQD20, level: 1},
		{name: "QĐ20Form/Level2", in: "G09.01", accept: all, tokens: "G09.01", str: "000.00.01.G09", form: envelope.FormQD20, level: 2},
		{name: "QĐ20Form/Level4", in: "H13.20.00.002", accept: all, tokens: "H13.20.00.002", str: "002.00.20.H13", form: envelope.FormQD20, level: 4},
		{name: "QĐ20Form/TrailingZeros", in: "H37.02.00", accept: all, tokens: "H37.02", str: "000.00.02.H37", form: envelope.FormQD20, level: 2},
		{name: "QĐ20Form/NoDistrict", in: "H37.00.01", accept: all, tokens: "H37.00.01", str: "000.01.00.H37", form: envelope.FormQD20, level: 3},

		{name: "Lenient/LowerCase", in: "000.00.12.h41", accept: lenientUp, tokens: "H41.12", str: "000.00.12.H41", form: envelope.FormQCVN102, level: 2},
		{name: "Lenient/LowerCaseQĐ20", in: "h37.02.02", accept: lenientUp, tokens: "H37.02.02", str: "000.02.02.H37", form: envelope.FormQD20, level: 3},
		{name: "Lenient/Spaces", in: " \t000.00.00.G22\r\n ", accept: lenientUp, tokens: "G22", str: "000.00.00.G22", form: envelope.FormQCVN102, level: 1},
		{name: "Lenient/ShortOldForm", in: "28.22.H17", accept: lenientUp, tokens: "H17.22.28", str: "000.28.22.H17", form: envelope.FormIrregular, level: 3},
		{name: "Lenient/ShortOldFormG22", in: "01.02.G22", accept: lenientUp, tokens: "G22.02.01", str: "000.01.02.G22", form: envelope.FormIrregular, level: 3},
		{name: "Lenient/MixedOldForm", in: "00.12.H41", accept: lenientUp, tokens: "H41.12", str: "000.00.12.H41", form: envelope.FormIrregular, level: 2},
		{name: "Lenient/OverLongGroup", in: "0002.00.20.H13", accept: lenientUp, tokens: "H13.20.00.0002", str: "H13.20.00.0002", form: envelope.FormIrregular, level: 4},
		{name: "Lenient/OverLongGroupQĐ20", in: "H41.012", accept: lenientUp, tokens: "H41.012", str: "H41.012", form: envelope.FormIrregular, level: 2},
		{name: "Lenient/NarrowGroup", in: "H37.2", accept: lenientUp, tokens: "H37.2", str: "H37.2", form: envelope.FormIrregular, level: 2},
		{name: "Lenient/FiveLevels", in: "H37.02.02.001.05", accept: lenientUp, tokens: "H37.02.02.001.05", str: "H37.02.02.001.05", form: envelope.FormIrregular, level: 5},

		{name: "Any/VXP", in: "vxp.saas.03", accept: anyOnly, tokens: "VXP.SAAS.03", str: "VXP.SAAS.03", form: unknownForm},
		{name: "Any/Punctuation", in: "edoc_gw-01.x", accept: anyOnly, tokens: "EDOC_GW-01.X", str: "EDOC_GW-01.X", form: unknownForm},
		{name: "Any/NoLevel1Group", in: "12.34", accept: anyOnly, tokens: "12.34", str: "12.34", form: unknownForm},
		{name: "Any/TrailingZerosKept", in: "vxp.saas.00", accept: anyOnly, tokens: "VXP.SAAS.00", str: "VXP.SAAS.00", form: unknownForm},
		{name: "Any/OldFormTooLong", in: "1.2.3.4.H17", accept: anyOnly, tokens: "1.2.3.4.H17", str: "1.2.3.4.H17", form: unknownForm},
		{name: "Any/StrictTooManyGroups", in: "H37.02.02.001.AB", accept: anyOnly, tokens: "H37.02.02.001.AB", str: "H37.02.02.001.AB", form: unknownForm},

		{name: "Refused/Empty", in: "", accept: none},
		{name: "Refused/Blank", in: "   ", accept: none},
		{name: "Refused/AllZero", in: "000.00.00.000", accept: none},
		{name: "Refused/ZeroLevel1", in: "0", accept: none},
		{name: "Refused/ZeroFirstGroup", in: "00.vxp_1", accept: none},
		{name: "Refused/EmptyGroup", in: "H37..02", accept: none},
		{name: "Refused/LeadingDot", in: ".G22", accept: none},
		{name: "Refused/TrailingDot", in: "G22.", accept: none},
		{name: "Refused/InnerSpace", in: "000.00.00. G22", accept: none},
		{name: "Refused/Star", in: "H37.*", accept: none},
		{name: "Refused/GreaterThan", in: "H37.>", accept: none},
		{name: "Refused/Slash", in: "H37/02", accept: none},
		{name: "Refused/NonASCII", in: "H37.0Đ", accept: none},
		{name: "Refused/LongS", in: "H37.ſ", accept: none},
		{name: "Refused/TooLong", in: "H37." + strings.Repeat("1", 32), accept: none},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range agencyModes {
				want := map[envelope.CodeMode]bool{
					envelope.CodeStrict:  tt.accept.strict,
					envelope.CodeLenient: tt.accept.lenient,
					envelope.CodeAny:     tt.accept.any,
				}[mode]
				c, err := envelope.ParseAgencyCode(tt.in, mode)
				if !want {
					if err == nil {
						t.Errorf("ParseAgencyCode(%q, %v) = %q, want an error", tt.in, mode, c.Tokens())
					} else if !errors.Is(err, envelope.ErrBadAgencyCode) {
						t.Errorf("ParseAgencyCode(%q, %v) error %v does not wrap ErrBadAgencyCode", tt.in, mode, err)
					} else if !strings.Contains(err.Error(), strconv.Quote(tt.in)) {
						t.Errorf("ParseAgencyCode(%q, %v) error %q does not name the input", tt.in, mode, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("ParseAgencyCode(%q, %v): %v", tt.in, mode, err)
					continue
				}
				if got, want := c.Tokens(), tt.tokens; got != want {
					t.Errorf("ParseAgencyCode(%q, %v).Tokens() = %q, want %q", tt.in, mode, got, want)
				}
				if got, want := c.String(), tt.str; got != want {
					t.Errorf("ParseAgencyCode(%q, %v).String() = %q, want %q", tt.in, mode, got, want)
				}
				if got, want := c.Form(), tt.form; got != want {
					t.Errorf("ParseAgencyCode(%q, %v).Form() = %v, want %v", tt.in, mode, got, want)
				}
				if got, want := c.Level(), tt.level; got != want {
					t.Errorf("ParseAgencyCode(%q, %v).Level() = %d, want %d", tt.in, mode, got, want)
				}
				if got, want := c.IsZero(), false; got != want {
					t.Errorf("ParseAgencyCode(%q, %v).IsZero() = %v, want %v", tt.in, mode, got, want)
				}
			}
		})
	}
}

func TestParseAgencyCode_Errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		mode envelope.CodeMode
		want string // part of the message
	}{
		{name: "Empty", in: "", mode: envelope.CodeAny, want: `bad agency code: "": empty`},
		{name: "LowerCase", in: "000.00.12.h41", mode: envelope.CodeStrict, want: `group 4 "h41" has lower-case letters`},
		{name: "Space", in: " G22", mode: envelope.CodeStrict, want: `group 1 " G22" has ' '`},
		{name: "EmptyGroup", in: "H37..02", mode: envelope.CodeLenient, want: `group 2 of 3 is empty`},
		{name: "OldFormInStrict", in: "28.22.H17", mode: envelope.CodeStrict, want: `not the QCVN 102 form`},
		{name: "WrongWidthInStrict", in: "H41.012", mode: envelope.CodeStrict, want: `group 2 "012" is level 2: level 2 has 2 characters`},
		{name: "NotANumber", in: "vxp.saas.03", mode: envelope.CodeLenient, want: `group 2 "SAAS" is level 2`},
		{name: "RightToLeftPosition", in: "1.SAAS.H17", mode: envelope.CodeLenient, want: `read right to left, group 2 "SAAS" is level 2`},
		{name: "NoLevel1Group", in: "12.34", mode: envelope.CodeLenient, want: `neither the first group "12" nor the last "34" is a level-1 group`},
		{name: "TooLong", in: "H37." + strings.Repeat("1", 32), mode: envelope.CodeAny, want: `36 characters, more than the 35 allowed`},
		{name: "Star", in: "H37.*", mode: envelope.CodeAny, want: `group 2 "*" has '*'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := envelope.ParseAgencyCode(tt.in, tt.mode)
			if err == nil {
				t.Fatalf("ParseAgencyCode(%q, %v): no error", tt.in, tt.mode)
			}
			if !errors.Is(err, envelope.ErrBadAgencyCode) {
				t.Errorf("error %v does not wrap ErrBadAgencyCode", err)
			}
			if got := err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestParseAgencyCode_UnknownModeIsStrict(t *testing.T) {
	if _, err := envelope.ParseAgencyCode("28.22.H17", envelope.CodeMode(42)); !errors.Is(err, envelope.ErrBadAgencyCode) {
		t.Errorf("ParseAgencyCode in mode 42 accepted a lenient-only code (err %v)", err)
	}
	if _, err := envelope.ParseAgencyCode("H37.02.02", envelope.CodeMode(-1)); err != nil {
		t.Errorf("ParseAgencyCode in mode -1: %v", err)
	}
}

func TestAgencyCode_Equal(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b string
		want bool
	}{
		{name: "BothForms", a: "000.02.02.H37", b: "H37.02.02", want: true},
		{name: "TrailingZeros", a: "H37.02.00", b: "H37.02", want: true},
		{name: "TrailingZerosQCVN102", a: "000.00.02.H37", b: "H37.02.00", want: true},
		{name: "Level1", a: "000.00.00.G22", b: "G22", want: true},
		{name: "Level4", a: "002.00.20.H13", b: "H13.20.00.002", want: true},
		{name: "NoDistrict", a: "000.01.00.H37", b: "H37.00.01", want: true},
		{name: "LowerCase", a: "h37.02.02", b: "000.02.02.H37", want: true},
		{name: "OldShortForm", a: "28.22.H17", b: "H17.22.28", want: true},
		{name: "MiddleZeroKept", a: "H37.00.01", b: "H37.01", want: false},
		{name: "Different", a: "H37.02.02", b: "H37.02.03", want: false},
		{name: "Parent", a: "H37.02", b: "H37.02.02", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := mustLenientCode(t, tt.a)
			b := mustLenientCode(t, tt.b)
			if got := a.Equal(b); got != tt.want {
				t.Errorf("%q.Equal(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := b.Equal(a); got != tt.want {
				t.Errorf("%q.Equal(%q) = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
	t.Run("Zero", func(t *testing.T) {
		var zero envelope.AgencyCode
		if got, want := zero.Equal(envelope.AgencyCode{}), true; got != want {
			t.Errorf("zero.Equal(zero) = %v, want %v", got, want)
		}
		if got, want := zero.Equal(envelope.MustAgencyCode("G22")), false; got != want {
			t.Errorf("zero.Equal(G22) = %v, want %v", got, want)
		}
	})
}

func TestAgencyCode_Tokens(t *testing.T) {
	// The examples of DESIGN.md, "NATS contract".
	for in, want := range map[string]string{
		"000.00.00.G22": "G22",
		"000.00.12.H41": "H41.12",
		"002.00.20.H13": "H13.20.00.002",
		"H37.02.02":     "H37.02.02",
		"000.01.00.H37": "H37.00.01",
	} {
		t.Run(in, func(t *testing.T) {
			if got := envelope.MustAgencyCode(in).Tokens(); got != want {
				t.Errorf("Tokens() = %q, want %q", got, want)
			}
		})
	}
}

func TestAgencyCode_QCVN102(t *testing.T) {
	for _, tt := range []struct {
		in   string
		mode envelope.CodeMode
		want string
		ok   bool
	}{
		{in: "H41.12", mode: envelope.CodeStrict, want: "000.00.12.H41", ok: true},
		{in: "G22", mode: envelope.CodeStrict, want: "000.00.00.G22", ok: true},
		{in: "H13.20.00.002", mode: envelope.CodeStrict, want: "002.00.20.H13", ok: true},
		{in: "28.22.H17", mode: envelope.CodeLenient, want: "000.28.22.H17", ok: true},
		{in: "H41.012", mode: envelope.CodeLenient, ok: false},
		{in: "H37.02.02.001.05", mode: envelope.CodeLenient, ok: false},
		{in: "vxp.saas.03", mode: envelope.CodeAny, ok: false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			c, err := envelope.ParseAgencyCode(tt.in, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.QCVN102()
			if got != tt.want || ok != tt.ok {
				t.Errorf("QCVN102() = %q, %v, want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	t.Run("Zero", func(t *testing.T) {
		if got, ok := (envelope.AgencyCode{}).QCVN102(); got != "" || ok {
			t.Errorf("QCVN102() = %q, %v, want \"\", false", got, ok)
		}
	})
}

func TestAgencyCode_QD20(t *testing.T) {
	for in, want := range map[string]string{
		"000.00.12.H41": "H41.12",
		"000.02.02.H37": "H37.02.02",
		"000.00.00.G22": "G22",
		"002.00.20.H13": "H13.20.00.002",
	} {
		t.Run(in, func(t *testing.T) {
			if got := envelope.MustAgencyCode(in).QD20(); got != want {
				t.Errorf("QD20() = %q, want %q", got, want)
			}
		})
	}
}

func TestAgencyCode_Level(t *testing.T) {
	for _, tt := range []struct {
		in   string
		mode envelope.CodeMode
		want int
	}{
		{in: "000.00.00.G22", want: 1},
		{in: "000.00.12.H41", want: 2},
		{in: "000.02.02.H37", want: 3},
		{in: "000.01.00.H37", want: 3},
		{in: "002.00.20.H13", want: 4},
		{in: "H37.02.00", want: 2},
		{in: "28.22.H17", mode: envelope.CodeLenient, want: 3},
		{in: "vxp.saas.03", mode: envelope.CodeAny, want: 0},
	} {
		t.Run(tt.in, func(t *testing.T) {
			c, err := envelope.ParseAgencyCode(tt.in, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.Level(), tt.want; got != want {
				t.Errorf("Level() = %d, want %d", got, want)
			}
		})
	}
	t.Run("Zero", func(t *testing.T) {
		if got, want := (envelope.AgencyCode{}).Level(), 0; got != want {
			t.Errorf("Level() = %d, want %d", got, want)
		}
	})
}

func TestAgencyCode_Parent(t *testing.T) {
	for _, tt := range []struct {
		in   string
		mode envelope.CodeMode
		want string // tokens of the parent; "" for none
	}{
		{in: "H13.20.00.002", want: "H13.20"},
		{in: "002.00.20.H13", want: "H13.20"},
		{in: "000.01.00.H37", want: "H37"},
		{in: "000.02.02.H37", want: "H37.02"},
		{in: "H41.12", want: "H41"},
		{in: "000.00.00.G22", want: ""},
		{in: "28.22.H17", mode: envelope.CodeLenient, want: "H17.22"},
		{in: "vxp.saas.03", mode: envelope.CodeAny, want: ""},
	} {
		t.Run(tt.in, func(t *testing.T) {
			c, err := envelope.ParseAgencyCode(tt.in, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			p, ok := c.Parent()
			if got, want := ok, tt.want != ""; got != want {
				t.Fatalf("Parent() ok = %v, want %v", got, want)
			}
			if got, want := p.Tokens(), tt.want; got != want {
				t.Errorf("Parent().Tokens() = %q, want %q", got, want)
			}
			if !ok {
				if got, want := p.IsZero(), true; got != want {
					t.Errorf("Parent().IsZero() = %v, want %v", got, want)
				}
				return
			}
			if got, want := p.Form(), c.Form(); got != want {
				t.Errorf("Parent().Form() = %v, want %v", got, want)
			}
			if got, want := p.Level(), len(p.Groups()); got != want {
				t.Errorf("Parent().Level() = %d, want %d", got, want)
			}
			if got, want := p.Contains(c), true; got != want {
				t.Errorf("Parent().Contains(c) = %v, want %v", got, want)
			}
		})
	}
	t.Run("Zero", func(t *testing.T) {
		if _, ok := (envelope.AgencyCode{}).Parent(); ok {
			t.Error("zero code has a parent")
		}
	})
}

func TestAgencyCode_Contains(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b string
		want bool
	}{
		{name: "Itself", a: "H41", b: "000.00.00.H41", want: true},
		{name: "Child", a: "000.00.00.H41", b: "000.00.12.H41", want: true},
		{name: "Grandchild", a: "H13", b: "002.00.20.H13", want: true},
		{name: "NoDistrict", a: "H37", b: "000.01.00.H37", want: true},
		{name: "OldShortForm", a: "000.00.00.H17", b: "28.22.H17", want: true},
		{name: "Parent", a: "000.00.12.H41", b: "000.00.00.H41", want: false},
		{name: "Sibling", a: "H41.12", b: "H41.13", want: false},
		{name: "OtherAgency", a: "H41", b: "H42.12", want: false},
		{name: "GroupNotPrefix", a: "H41.1", b: "H41.12", want: false},
		{name: "MiddleZero", a: "H37.01", b: "H37.00.01", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := mustLenientCode(t, tt.a)
			b := mustLenientCode(t, tt.b)
			if got := a.Contains(b); got != tt.want {
				t.Errorf("%q.Contains(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
	t.Run("Zero", func(t *testing.T) {
		var zero envelope.AgencyCode
		g22 := envelope.MustAgencyCode("G22")
		if got, want := zero.Contains(g22), false; got != want {
			t.Errorf("zero.Contains(G22) = %v, want %v", got, want)
		}
		if got, want := g22.Contains(zero), false; got != want {
			t.Errorf("G22.Contains(zero) = %v, want %v", got, want)
		}
	})
}

func TestAgencyCode_TierName(t *testing.T) {
	for _, tt := range []struct {
		in   string
		mode envelope.CodeMode
		want string
	}{
		{in: "000.00.00.G22", want: "Bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ"},
		{in: "000.00.00.H41", want: "Ủy ban nhân dân tỉnh, thành phố trực thuộc trung ương"},
		{in: "K41", want: "Hội đồng nhân dân tỉnh, thành phố"},
		{in: "000.00.00.A01", want: "Cơ quan cấp trung ương khác"},
		{in: "JB2", want: "Cơ quan cấp trung ương khác"},
		{in: "000.00.12.H41", want: "Cấp 2: đơn vị trực thuộc bộ, ngành, tỉnh"},
		{in: "000.01.00.H37", want: "Cấp 3: đơn vị thuộc cấp 2"},
		{in: "002.00.20.H13", want: "Cấp 4"},
		{in: "vxp.saas.03", mode: envelope.CodeAny, want: "Không xác định"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			c, err := envelope.ParseAgencyCode(tt.in, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.TierName(), tt.want; got != want {
				t.Errorf("TierName() = %q, want %q", got, want)
			}
		})
	}
	t.Run("Zero", func(t *testing.T) {
		if got, want := (envelope.AgencyCode{}).TierName(), "Không xác định"; got != want {
			t.Errorf("TierName() = %q, want %q", got, want)
		}
	})
}

func TestAgencyCode_Groups(t *testing.T) {
	c := envelope.MustAgencyCode("002.00.20.H13")
	if got, want := c.Groups(), []string{"H13", "20", "00", "002"}; !slices.Equal(got, want) {
		t.Fatalf("Groups() = %q, want %q", got, want)
	}
	c.Groups()[0] = "X99"
	if got, want := c.Tokens(), "H13.20.00.002"; got != want {
		t.Errorf("after changing the copy, Tokens() = %q, want %q", got, want)
	}
	if got := (envelope.AgencyCode{}).Groups(); len(got) != 0 {
		t.Errorf("zero Groups() = %q, want none", got)
	}
}

func TestAgencyCode_MarshalText(t *testing.T) {
	type doc struct {
		From envelope.AgencyCode   `json:"from"`
		To   []envelope.AgencyCode `json:"to"`
		Note envelope.AgencyCode   `json:"note"`
	}
	in := doc{
		From: envelope.MustAgencyCode("H37.02.02"),
		To:   []envelope.AgencyCode{envelope.MustAgencyCode("000.00.00.G22"), mustLenientCode(t, "28.22.H17"), mustLenientCode(t, "H41.012")},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"from":"000.02.02.H37","to":["000.00.00.G22","000.28.22.H17","H41.012"],"note":""}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.From.Equal(in.From), true; got != want {
		t.Errorf("From after round trip = %q, want %q", out.From, in.From)
	}
	if got, want := len(out.To), len(in.To); got != want {
		t.Fatalf("len(To) after round trip = %d, want %d", got, want)
	}
	for i := range in.To {
		if !out.To[i].Equal(in.To[i]) {
			t.Errorf("To[%d] after round trip = %q, want %q", i, out.To[i], in.To[i])
		}
	}
	if got, want := out.Note.IsZero(), true; got != want {
		t.Errorf("Note.IsZero() after round trip = %v, want %v", got, want)
	}

	t.Run("Lenient", func(t *testing.T) {
		var c envelope.AgencyCode
		if err := c.UnmarshalText([]byte(" 28.22.h17 ")); err != nil {
			t.Fatal(err)
		}
		if got, want := c.Tokens(), "H17.22.28"; got != want {
			t.Errorf("Tokens() = %q, want %q", got, want)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		var c envelope.AgencyCode
		if err := json.Unmarshal([]byte(`"vxp.saas.03"`), &c); !errors.Is(err, envelope.ErrBadAgencyCode) {
			t.Errorf("json.Unmarshal of an any-only code: err = %v, want ErrBadAgencyCode", err)
		}
	})
}

func TestMustAgencyCode(t *testing.T) {
	if got, want := envelope.MustAgencyCode("000.00.00.G22").Tokens(), "G22"; got != want {
		t.Errorf("Tokens() = %q, want %q", got, want)
	}
	for _, in := range []string{"28.22.H17", "vxp.saas.03", ""} {
		t.Run(in, func(t *testing.T) {
			defer func() {
				r := recover()
				err, ok := r.(error)
				if !ok || !errors.Is(err, envelope.ErrBadAgencyCode) {
					t.Errorf("MustAgencyCode(%q) panicked with %v, want an ErrBadAgencyCode", in, r)
				}
			}()
			envelope.MustAgencyCode(in)
		})
	}
}

func TestCodeMode_String(t *testing.T) {
	for mode, want := range map[envelope.CodeMode]string{
		envelope.CodeStrict:  "strict",
		envelope.CodeLenient: "lenient",
		envelope.CodeAny:     "any",
		envelope.CodeMode(7): "CodeMode(7)",
	} {
		if got := mode.String(); got != want {
			t.Errorf("CodeMode(%d).String() = %q, want %q", int(mode), got, want)
		}
	}
}

func TestParseCodeMode(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    envelope.CodeMode
		wantErr bool
	}{
		{in: "strict", want: envelope.CodeStrict},
		{in: "lenient", want: envelope.CodeLenient},
		{in: "any", want: envelope.CodeAny},
		{in: " Lenient\n", want: envelope.CodeLenient},
		{in: "ANY", want: envelope.CodeAny},
		{in: "", wantErr: true},
		{in: "loose", wantErr: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := envelope.ParseCodeMode(tt.in)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("ParseCodeMode(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParseCodeMode(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	t.Run("RoundTrip", func(t *testing.T) {
		for _, mode := range agencyModes {
			b, err := mode.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			var got envelope.CodeMode
			if err := got.UnmarshalText(b); err != nil {
				t.Fatal(err)
			}
			if got != mode {
				t.Errorf("round trip of %v gave %v", mode, got)
			}
		}
		if _, err := envelope.CodeMode(9).MarshalText(); err == nil {
			t.Error("CodeMode(9).MarshalText: no error")
		}
	})
}

func TestCodeForm_String(t *testing.T) {
	for form, want := range map[envelope.CodeForm]string{
		envelope.FormQCVN102:   "QCVN102",
		envelope.FormQD20:      "QD20",
		envelope.FormIrregular: "irregular",
		envelope.CodeForm(0):   "CodeForm(0)",
	} {
		if got := form.String(); got != want {
			t.Errorf("CodeForm(%d).String() = %q, want %q", int(form), got, want)
		}
	}
}

func FuzzParseAgencyCode(f *testing.F) {
	for _, s := range []string{
		"000.00.00.G22", "000.00.12.H41", "002.00.20.H13", "000.02.02.H37", "000.01.00.H37",
		"001.00.20.JB2", "A01.00.02.H37", "H37.02.02", "H37.02.00", "G09.01", "H13.20.00.002",
		"28.22.H17", "01.02.G22", "vxp.saas.03", " h41.12 ", "H41.012", "H37.2",
		"H37.02.02.001.05", "1.2.3.4.H17", "edoc_gw-01.x", "000.00.00.000", "H37..02", "H37.>",
		"A01.01.5.H37", "H17.5.A01.00", "000.00.12.H41.0", "",
	} {
		for _, mode := range agencyModes {
			f.Add(s, int(mode))
		}
	}
	f.Fuzz(func(t *testing.T, s string, m int) {
		mode := envelope.CodeMode(m)
		if m < int(envelope.CodeStrict) || m > int(envelope.CodeAny) {
			mode = envelope.CodeStrict // as ParseAgencyCode takes it
		}
		c, err := envelope.ParseAgencyCode(s, mode)
		if err != nil {
			if !errors.Is(err, envelope.ErrBadAgencyCode) {
				t.Fatalf("ParseAgencyCode(%q, %v) error %v does not wrap ErrBadAgencyCode", s, mode, err)
			}
			if !c.IsZero() {
				t.Fatalf("ParseAgencyCode(%q, %v) returned a code with its error", s, mode)
			}
			return
		}
		if c.IsZero() {
			t.Fatalf("ParseAgencyCode(%q, %v) accepted a zero code", s, mode)
		}
		tokens := c.Tokens()
		for tok := range strings.SplitSeq(tokens, ".") {
			if !natsSafeToken(tok) {
				t.Fatalf("ParseAgencyCode(%q, %v).Tokens() = %q: token %q is not NATS-safe", s, mode, tokens, tok)
			}
		}
		if got, want := strings.Join(c.Groups(), "."), tokens; got != want {
			t.Fatalf("ParseAgencyCode(%q, %v): groups %q, tokens %q", s, mode, got, want)
		}

		str := c.String()
		again, err := envelope.ParseAgencyCode(str, mode)
		if err != nil {
			t.Fatalf("ParseAgencyCode(%q, %v) = %q, which does not parse again: %v", s, mode, str, err)
		}
		if !again.Equal(c) {
			t.Fatalf("ParseAgencyCode(%q, %v) = %q (tokens %q), which parses again as tokens %q", s, mode, str, tokens, again.Tokens())
		}
		if got, want := again.Level(), c.Level(); got != want {
			t.Fatalf("ParseAgencyCode(%q, %v): level %d, %d after parsing %q again", s, mode, want, got, str)
		}
		if !c.Contains(c) {
			t.Fatalf("ParseAgencyCode(%q, %v) does not contain itself", s, mode)
		}
		if p, ok := c.Parent(); ok && (!p.Contains(c) || p.Level() >= c.Level() || p.Level() < 1) {
			t.Fatalf("ParseAgencyCode(%q, %v): parent %q of %q (levels %d, %d)", s, mode, p.Tokens(), tokens, p.Level(), c.Level())
		}
		if c.Level() > 0 {
			if q, ok := c.QCVN102(); ok && len(q) != 13 {
				t.Fatalf("ParseAgencyCode(%q, %v).QCVN102() = %q", s, mode, q)
			}
			var u envelope.AgencyCode
			b, _ := c.MarshalText()
			if err := u.UnmarshalText(b); err != nil || !u.Equal(c) {
				t.Fatalf("ParseAgencyCode(%q, %v): text %q does not round trip (%v)", s, mode, b, err)
			}
		}
	})
}

// natsSafeToken reports whether tok is a non-empty run of A–Z, 0–9, '_' and
// '-'.
func natsSafeToken(tok string) bool {
	if tok == "" {
		return false
	}
	for _, r := range tok {
		if !('A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func mustLenientCode(t testing.TB, s string) envelope.AgencyCode {
	t.Helper()
	c, err := envelope.ParseAgencyCode(s, envelope.CodeLenient)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
