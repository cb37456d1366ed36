package envelope_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

func TestStatusCodes(t *testing.T) {
	want := []envelope.StatusCode{"01", "02", "03", "04", "05", "06", "13", "15", "16"}
	got := envelope.StatusCodes()
	if !slices.Equal(got, want) {
		t.Fatalf("StatusCodes() = %v, want %v", got, want)
	}
	got[0] = "99"
	if envelope.StatusCodes()[0] != "01" {
		t.Errorf("StatusCodes() shares its slice with the caller")
	}
}

func TestStatusCode_Names(t *testing.T) {
	wantVI := []string{
		"Đã đến", "Từ chối tiếp nhận", "Đã tiếp nhận", "Phân công xử lý", "Đang xử lý",
		"Hoàn thành", "Yêu cầu lấy lại", "Đồng ý lấy lại/cập nhật", "Từ chối lấy lại/cập nhật",
	}
	vi, en := map[string]bool{}, map[string]bool{}
	for i, c := range envelope.StatusCodes() {
		if !c.Valid() {
			t.Errorf("%s.Valid() = false", c)
		}
		if got := c.Name(); got != wantVI[i] {
			t.Errorf("%s.Name() = %q, want %q", c, got, wantVI[i])
		}
		n := c.NameEN()
		if n == "" || en[n] || vi[c.Name()] {
			t.Errorf("%s: names %q / %q empty or not distinct", c, c.Name(), n)
		}
		vi[c.Name()], en[n] = true, true
	}
	if got, want := envelope.StatusCode("07").Name(), "Mã trạng thái không xác định (07)"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got := envelope.StatusCode("07").NameEN(); !strings.Contains(got, "07") {
		t.Errorf("NameEN() = %q, want it to name the code", got)
	}
}

func TestStatusCode_Valid(t *testing.T) {
	for _, c := range []envelope.StatusCode{"", "0", "1", "00", "07", "12", "14", "17", "001", " 01", "01 ", "AB"} {
		if c.Valid() {
			t.Errorf("StatusCode(%q).Valid() = true", c)
		}
	}
}

func TestStatusCode_SentBy(t *testing.T) {
	for _, c := range envelope.StatusCodes() {
		want := envelope.PartyRecipient
		if c == envelope.StatusRecallRequested {
			want = envelope.PartySender
		}
		if got := c.SentBy(); got != want {
			t.Errorf("%s.SentBy() = %s, want %s", c, got, want)
		}
	}
}

func TestParseStatusCode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    envelope.StatusCode
		wantErr error
	}{
		{name: "AsOnTheWire", in: "03", want: envelope.StatusAccepted},
		{name: "OneDigit", in: "1", want: envelope.StatusArrived},
		{name: "Spaces", in: " 06\t", want: envelope.StatusDone},
		{name: "OneDigitSpaces", in: " 5 ", want: envelope.StatusProcessing},
		{name: "Recall", in: "13", want: envelope.StatusRecallRequested},
		{name: "Empty", in: "", wantErr: envelope.ErrBadCode},
		{name: "Blank", in: "  ", wantErr: envelope.ErrBadCode},
		{name: "Zero", in: "0", wantErr: envelope.ErrBadCode},
		{name: "NotInList", in: "07", wantErr: envelope.ErrBadCode},
		{name: "Fourteen", in: "14", wantErr: envelope.ErrBadCode},
		{name: "ThreeDigits", in: "001", wantErr: envelope.ErrBadCode},
		{name: "Letters", in: "O1", wantErr: envelope.ErrBadCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := envelope.ParseStatusCode(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseStatusCode(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), `"`+tt.in+`"`) {
					t.Errorf("error %q does not name the input %q", err, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseStatusCode(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseStatusCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
