// Package benchfloor measures a benchmark's operation against a floor
// taken in turn with it, in process CPU time. The floor is the cost the
// operation cannot go below (a raw RSA-2048 signature, a committed
// insert): a ratio to it means something on any machine, where a time
// does not. The two are taken in turn because the load of a shared
// machine changes while a benchmark runs: with the floor measured once
// before the loop, three runs of the same operation gave 2.7, 3.3 and 6.3
// times it. It is for benchmarks only.
package benchfloor

import (
	"testing"
	"time"
)

// InTurn runs setup (not measured; it may be nil), op and floor b.N times
// in turn, and reports the process CPU time of op per operation
// (cpu-µs/op), that of the floor (<name>-cpu-µs/op) and their ratio
// (x-<name>). The ns/op, B/op and allocs/op that testing reports are those
// of the three together, and garbage collection running in the background
// counts towards whichever of op and the floor it overlaps. It returns
// op's CPU time per operation.
func InTurn(b *testing.B, name string, setup, op, floor func() error) time.Duration {
	b.Helper()
	var opCPU, floorCPU time.Duration
	for b.Loop() {
		if setup != nil {
			if err := setup(); err != nil {
				b.Fatal(err)
			}
		}
		t0 := CPUTime(b)
		if err := op(); err != nil {
			b.Fatal(err)
		}
		t1 := CPUTime(b)
		if err := floor(); err != nil {
			b.Fatal(err)
		}
		opCPU += t1 - t0
		floorCPU += CPUTime(b) - t1
	}
	µs := func(d time.Duration) float64 { return float64(d) / float64(b.N) / float64(time.Microsecond) }
	b.ReportMetric(µs(opCPU), "cpu-µs/op")
	b.ReportMetric(µs(floorCPU), name+"-cpu-µs/op")
	b.ReportMetric(float64(opCPU)/float64(floorCPU), "x-"+name)
	return opCPU / time.Duration(b.N)
}
