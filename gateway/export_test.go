package gateway

// TakeUnkeptForTest empties the records applied and not yet kept, as the
// gateway's keeper does once it has stored them.
func (d *Directory) TakeUnkeptForTest() []KeptRecord { return d.takeUnkept() }

// HostForTest adds a hosted agency's own entry, as gateway.New does for
// each agency of its configuration.
func (d *Directory) HostForTest(a Agency) { d.host(a) }
