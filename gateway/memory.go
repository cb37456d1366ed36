package gateway

import "github.com/lienthong/lienthong/gateway/internal/osmem"

// MemoryLimiter bounds how often a large packet's buffer is made only
// after the heap's free pages are given back (a forced collection): at
// most one at a time, and one per osmem.Every unless the heap has grown by
// a buffer's worth since (osmem.Limiter), per MemoryLimiter. A
// process makes one and gives it to each of its stores and buses
// (store.Options.MemoryRelease, bus.Options.MemoryRelease), so that the
// bound holds for the process. The zero MemoryLimiter is ready to use.
type MemoryLimiter = osmem.Limiter
