//go:build unix

package nettest

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// reserve takes port for this process among all the test processes of
// the machine (go test runs one per package, at the same time), and
// reports whether it could; release gives it back. The reservation is an
// exclusive lock of the file named after the port in a directory they
// share: the kernel drops it when the process dies, so a killed test
// leaves no stale reservation. The files stay (removing one would let a
// process lock the removed file while another locks its successor).
func reserve(port int) (release func(), ok bool) {
	dir := filepath.Join(os.TempDir(), "lienthong-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return func() {}, true // no shared directory: the in-process set and the bind check remain
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return func() {}, true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}
