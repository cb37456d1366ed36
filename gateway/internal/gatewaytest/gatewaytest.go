// Package gatewaytest forwards to internal/testkit, where the test kit
// moved so that cmd/ and test/ can import it too.
//
// Deprecated: use github.com/lienthong/lienthong/internal/testkit. This
// package is kept only while gateway/gateway_test.go, which another change
// is editing, still imports it; delete it once that file imports testkit
// (issue 18).
package gatewaytest

import (
	"testing"

	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// Axis is testkit.Axis.
type Axis = testkit.Axis

// Letter is testkit.Letter.
type Letter = testkit.Letter

// File is testkit.File.
type File = testkit.File

// NewAxis is testkit.NewAxis.
func NewAxis(t *testing.T) *Axis { return testkit.NewAxis(t) }

// NewAdmin is testkit.NewAdmin.
func NewAdmin(t testing.TB, ca *signing.CA, scopes ...string) *signing.Signer {
	return testkit.NewAdmin(t, ca, scopes...)
}

// Eventually is testkit.Eventually.
func Eventually(t testing.TB, what string, cond func() bool) { testkit.Eventually(t, what, cond) }
