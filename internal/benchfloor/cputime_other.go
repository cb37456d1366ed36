//go:build !unix

package benchfloor

import (
	"testing"
	"time"
)

// CPUTime skips the benchmark: the process's CPU time is read with
// getrusage, which this system does not have.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	tb.Skip("benchfloor: the process's CPU time needs getrusage")
	return 0
}
