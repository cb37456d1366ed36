package vntext

import "testing"

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"UBND tỉnh Nghệ An", "ubnd tinh nghe an"},
		{"ĐÀ NẴNG", "da nang"},
		{"Sở Y tế", "so y te"},
		{"Thừa Thiên Huế", "thua thien hue"},
		{"Nghe\u0302\u0323 An", "nghe an"}, // marks typed as combining characters
		{"000.00.12.H41", "000.00.12.h41"},
		{"Ứng Hòa, Mỹ Đức", "ung hoa, my duc"},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnmark(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Quyết định ĐIỀU \"động\".docx", "Quyet dinh DIEU \"dong\".docx"},
		{"Công văn số 12.pdf", "Cong van so 12.pdf"},
		{"ỨNG HÒA, Mỹ Đức", "UNG HOA, My Duc"},
		{"日本.txt", "日本.txt"},
		// Marks typed as combining characters are dropped, as Fold drops
		// them.
		{"Nghe\u0302\u0323 An.pdf", "Nghe An.pdf"},
		{"NGHE\u0302\u0323 AN", "NGHE AN"},
	} {
		if got := Unmark(tc.in); got != tc.want {
			t.Errorf("Unmark(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
