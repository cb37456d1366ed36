package main

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestHashPassword: the hash verifies the password read from stdin; short
// or missing passwords are refused.
func TestHashPassword(t *testing.T) {
	const pw = "Mật khẩu văn thư 2026"
	r := run(t, []byte(pw+"\n"), "hash-password")
	r.wantCode(t, 0)
	hash := strings.TrimSpace(r.stdout)
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)); err != nil {
		t.Errorf("the hash %q does not verify the password: %v", hash, err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcrypt.DefaultCost {
		t.Errorf("cost %d, %v", cost, err)
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Error("the password is printed")
	}
	for _, tc := range []struct {
		stdin, want string
	}{
		{"", "no password"},
		{"ngắn\n", "at least 10 characters"},
		{strings.Repeat("x", 80) + "\n", "72 bytes"},
	} {
		r := run(t, []byte(tc.stdin), "hash-password")
		r.wantCode(t, exitTrouble)
		r.wantStderr(t, tc.want)
	}
	run(t, []byte(pw+"\n"), "hash-password", "-cost", "4").wantCode(t, exitUsage)
}
