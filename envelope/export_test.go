package envelope

import "testing"

// SameTreeAsEtree is sameAsEtree with a zero Parser, for the tests of
// package envelope_test, whose generator makes packets.
func SameTreeAsEtree(t testing.TB, b []byte) {
	t.Helper()
	var p Parser
	sameAsEtree(t, &p, b)
}

// HostileNamespaces is hostileNamespaces, for the benchmarks.
func HostileNamespaces(bound bool) []byte { return hostileNamespaces(bound, 2900) }
