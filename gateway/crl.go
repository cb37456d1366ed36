package gateway

import (
	"crypto/x509"
	"slices"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/signing"
)

// SetCRLs replaces the certificate revocation lists that signature
// verification consults (Options.CRLs at New). A CA publishes a new list
// before the NextUpdate of its last, and a revocation is worth little to a
// gateway that keeps the list it started with, so the caller reloads them
// (lienthong serve does on SIGHUP and on a timer) and hands them over here
// while the gateway runs.
//
// It is safe for concurrent use with verifications in progress: the
// verifier is never changed in place but replaced whole, so a verification
// that has started finishes with the lists it started with and the next
// one uses the new lists. crls is copied; the lists themselves must not be
// changed afterwards.
func (g *Gateway) SetCRLs(crls []*x509.RevocationList) {
	crls = slices.Clone(crls)
	for {
		old := g.verifier.Load()
		v := *old
		v.CRLs, v.Revocations = crls, signing.NewRevocations(crls)
		// Compare-and-swap rather than a plain store, so that a change of
		// another of the verifier's fields made meanwhile is not lost.
		if g.verifier.CompareAndSwap(old, &v) {
			break
		}
	}
	// The same lists revoke administrators' certificates: their entries
	// go at once.
	if n := g.dir.SetCRLs(crls, g.opts.Now()); n > 0 {
		g.log.Warn("directory entries of revoked administrators dropped", zap.Int("entries", n))
	}
}

// CRLs returns the revocation lists signature verification consults now,
// for metrics (their NextUpdate) and checks. The slice is the caller's;
// the lists must not be changed.
func (g *Gateway) CRLs() []*x509.RevocationList {
	return slices.Clone(g.verifier.Load().CRLs)
}
