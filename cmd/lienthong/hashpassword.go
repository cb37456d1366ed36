package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// runHashPassword prints the bcrypt hash of a clerk's password read from
// standard input, for web.clerks[].passwordHash. The password is never
// taken from the command line, where other users could read it.
func runHashPassword(_ context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("hash-password", "hash-password [-cost N] < password", `
Reads a clerk's password from the first line of standard input and prints
its bcrypt hash, to put in web.clerks[].passwordHash of the configuration:

	read -rs PW && printf '%s\n' "$PW" | lienthong hash-password

Passwords must have at least 10 characters; bcrypt reads at most 72 bytes.`)
	cost := fs.Int("cost", bcrypt.DefaultCost, "bcrypt `cost` (10 to 14: each step doubles the time)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *cost < bcrypt.DefaultCost || *cost > 14 {
		return usageError{msg: fmt.Sprintf("hash-password: -cost %d: must be 10 to 14", *cost), vi: fmt.Sprintf("Độ khó -cost %d không dùng được; chọn từ 10 đến 14.", *cost)}
	}
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return newVIError("Không có mật khẩu ở đầu vào chuẩn (stdin).", "hash-password: no password on standard input")
	}
	password := strings.TrimRight(line, "\r\n")
	switch {
	case len([]rune(password)) < 10:
		return newVIError("Mật khẩu phải có ít nhất 10 ký tự.", "hash-password: the password must have at least 10 characters")
	case len(password) > 72:
		return newVIError("Mật khẩu dài quá 72 byte, phần bcrypt đọc được.", "hash-password: the password is longer than the 72 bytes bcrypt reads")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), *cost)
	if err != nil {
		return withVI(fmt.Errorf("hash-password: %w", err), "Không tạo được mã băm bcrypt của mật khẩu")
	}
	_, err = fmt.Fprintln(m.Stdout, string(hash))
	return err
}
