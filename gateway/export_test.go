package gateway

import (
	"context"
	"errors"
)

// TakeUnkeptForTest empties the records applied and not yet kept, as the
// gateway's keeper does once it has stored them.
func (d *Directory) TakeUnkeptForTest() []KeptRecord { return d.takeUnkept() }

// HostForTest adds a hosted agency's own entry, as gateway.New does for
// each agency of its configuration.
func (d *Directory) HostForTest(a Agency) { d.host(a) }

// ApplyBriefForTest applies the brief r as a restart does (applyBrief),
// judging each administrator once from its record among values, by key.
// signers is shared by the calls of one load.
func (d *Directory) ApplyBriefForTest(r KeptRecord, signers *BriefSignersForTest) error {
	return d.applyBrief(context.Background(), r, &signers.s)
}

// BriefSignersForTest is the briefSigners of one load.
type BriefSignersForTest struct{ s briefSigners }

// NewBriefSignersForTest returns the briefSigners of a load that reads
// the records from values, by key.
func NewBriefSignersForTest(values map[string][]byte) *BriefSignersForTest {
	return &BriefSignersForTest{s: briefSigners{record: func(_ context.Context, key string) ([]byte, error) {
		v, ok := values[key]
		if !ok {
			return nil, errors.New("no record")
		}
		return v, nil
	}}}
}
