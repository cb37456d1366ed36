package gateway

import "github.com/lienthong/lienthong/envelope"

// Known reports whether the directory knows code (either form) at all: as
// the code of an agency's signed entry or of a hosted agency, as a former
// code of an entry (Agency.OldCodes) — even one that two entries claim,
// which Lookup resolves to neither — or as the code of an entry it holds
// the record of but no longer gives: taken out (Removed), or signed by an
// administrator revoked since. Lookup answers which agency a code is now;
// Known answers whether the code was ever an agency's, so that a packet
// for it is kept for a person to look at rather than dropped as made up
// (Gateway.addressedNowhere). A code that cannot be read is not known:
// no entry can have it.
func (d *Directory) Known(code string) bool {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeAny)
	if err != nil {
		return false
	}
	tokens := c.Tokens()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if _, ok := d.entries[tokens]; ok {
		return true
	}
	if _, ok := d.local[tokens]; ok {
		return true
	}
	if len(d.old[tokens]) > 0 {
		return true
	}
	// Agencies' records are held under their code tokens, gateways'
	// under GatewayKeyPrefix, which no code's tokens start with.
	_, ok := d.held[tokens]
	return ok
}
