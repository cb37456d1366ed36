package bus

// SetLeafRemaking sets the hook the external tests use to stand for the
// administrator's process dying in the middle of remakeLeafConsumer (see
// Bus.leafRemaking); nil removes it.
func (b *Bus) SetLeafRemaking(f func(step string) error) { b.leafRemaking = f }
