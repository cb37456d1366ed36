package benchfloor

import (
	"testing"
	"time"
)

// TestCPUTime: the process's CPU time grows with work done, and not with
// time slept.
func TestCPUTime(t *testing.T) {
	t0 := CPUTime(t)
	time.Sleep(50 * time.Millisecond)
	slept := CPUTime(t) - t0
	t1 := CPUTime(t)
	x := 0
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		x++
	}
	worked := CPUTime(t) - t1
	if slept >= 20*time.Millisecond {
		t.Errorf("sleeping 50 ms used %s of CPU", slept)
	}
	if worked < 10*time.Millisecond {
		t.Errorf("200 ms of work (%d turns) counted %s of CPU", x, worked)
	}
}
