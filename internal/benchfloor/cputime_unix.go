//go:build unix

package benchfloor

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the CPU time the process has used so far, user and
// system: the garbage collector's work on the other cores counts too.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
