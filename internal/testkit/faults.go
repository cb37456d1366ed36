package testkit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Fault is what an injected call does instead of, or before, the call it
// stands for.
type Fault struct {
	// Err, if not nil, is returned instead of calling the wrapped method.
	Err error
	// Delay is waited before the call (or before Err is returned). A
	// context that ends meanwhile makes the call return its error without
	// calling through, as a call cut short by its deadline.
	Delay time.Duration
	// Hang waits until the call's context ends and returns its error: a
	// server that never answers, whose caller's deadline decides. A
	// method without a context hangs until the Faults is released
	// (Faults.Release).
	Hang bool
}

// rule applies a fault to the calls of one method numbered from first to
// last (last 0: every call from first on).
type rule struct {
	first, last int
	fault       Fault
}

// Faults decides which calls of the wrappers it is given to (Store, Bus,
// Message) fail, by method name and call number, and counts every call of
// each method, injected or not. Method names are the Go names of the
// wrapped interface's methods ("Publish", "ReceiveDocument", "Nak").
// Nothing is random: a test that sets the same rules sees the same calls
// fail. The zero value injects nothing; it is safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	calls    map[string]int
	rules    map[string][]rule
	released chan struct{}
}

// On makes the n-th call of method (counted from 1 since the Faults was
// made, injected calls included) do f.
func (fs *Faults) On(method string, n int, f Fault) { fs.add(method, rule{n, n, f}) }

// From makes every call of method from the n-th on do f.
func (fs *Faults) From(method string, n int, f Fault) { fs.add(method, rule{n, 0, f}) }

// Next makes the next call of method do f, and the calls after it call
// through.
func (fs *Faults) Next(method string, f Fault) {
	fs.mu.Lock()
	n := fs.calls[method] + 1
	fs.mu.Unlock()
	fs.On(method, n, f)
}

// Always makes every call of method from now on do f, until Clear.
func (fs *Faults) Always(method string, f Fault) {
	fs.mu.Lock()
	n := fs.calls[method] + 1
	fs.mu.Unlock()
	fs.From(method, n, f)
}

func (fs *Faults) add(method string, r rule) {
	if r.first < 1 {
		panic(fmt.Sprintf("testkit: fault on call %d of %s: calls count from 1", r.first, method))
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.rules == nil {
		fs.rules = make(map[string][]rule)
	}
	fs.rules[method] = append(fs.rules[method], r)
}

// Clear removes the rules of method: its later calls call through.
func (fs *Faults) Clear(method string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	delete(fs.rules, method)
}

// Calls returns how many times method was called.
func (fs *Faults) Calls(method string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.calls[method]
}

// Release ends the hangs of methods without a context (Fault.Hang), now
// and later. Tests that hang such a method call it before they end.
func (fs *Faults) Release() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	select {
	case <-fs.releasedLocked():
	default:
		close(fs.releasedLocked())
	}
}

func (fs *Faults) releasedLocked() chan struct{} {
	if fs.released == nil {
		fs.released = make(chan struct{})
	}
	return fs.released
}

// enter counts a call of method and applies the fault its rules give it,
// the first that matches. It returns the error the call returns instead
// of calling through; nil means call through. ctx may be nil for methods
// without one. A nil Faults injects nothing and counts nothing.
func (fs *Faults) enter(ctx context.Context, method string) error {
	if fs == nil {
		return nil
	}
	fs.mu.Lock()
	if fs.calls == nil {
		fs.calls = make(map[string]int)
	}
	fs.calls[method]++
	n := fs.calls[method]
	var f *Fault
	for _, r := range fs.rules[method] {
		if n >= r.first && (r.last == 0 || n <= r.last) {
			f = &r.fault
			break
		}
	}
	released := fs.releasedLocked()
	fs.mu.Unlock()
	if f == nil {
		return nil
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
			return fmt.Errorf("testkit: %s delayed %s: %w", method, f.Delay, ctx.Err())
		}
	}
	if f.Hang {
		select {
		case <-done:
			return fmt.Errorf("testkit: %s hung: %w", method, ctx.Err())
		case <-released:
			return fmt.Errorf("testkit: %s hung until released", method)
		}
	}
	return f.Err
}
