package gateway

// TakeUnkeptForTest empties the records applied and not yet kept, as the
// gateway's keeper does once it has stored them.
func (d *Directory) TakeUnkeptForTest() []KeptRecord { return d.takeUnkept() }
