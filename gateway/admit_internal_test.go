package gateway

import (
	"context"
	"errors"
	"testing"
	"time"
)

// queued is how many requests wait for their turn.
func (a *semaphore) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}

// waitQueued waits until n requests wait.
func waitQueued(t *testing.T, a *semaphore, n int) {
	t.Helper()
	for range 5000 {
		if a.queued() == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d requests wait, want %d", a.queued(), n)
}

// recv is what ch gives, or a failure if it gives nothing for long: a
// request that is never admitted.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing after 10 s: a request never had its turn")
		panic("unreachable")
	}
}

func wantBusy(t *testing.T, what string, err error) {
	t.Helper()
	var be *BusyError
	if !errors.As(err, &be) || !errors.Is(err, ErrBusy) || be.RetryAfter != time.Second {
		t.Fatalf("%s: %v, want a BusyError with RetryAfter 1s", what, err)
	}
}

func TestAdmission(t *testing.T) {
	ctx := t.Context()
	const long = time.Minute // a wait that never ends within the test

	t.Run("capacity, then the queue, then busy", func(t *testing.T) {
		a := newSemaphore(2, 10, 2, long, time.Second)
		r1, err := a.acquire(ctx, "dms", 1)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := a.acquire(ctx, "dms", 1)
		if err != nil {
			t.Fatal(err)
		}
		// Both taken: the next two wait, in their order; a fifth is
		// refused at once.
		got := make(chan int, 2)
		for i := range 2 {
			go func() {
				r, err := a.acquire(ctx, "dms", 1)
				if err != nil {
					t.Error(err)
					got <- -1
					return
				}
				got <- i
				r()
			}()
			waitQueued(t, a, i+1)
		}
		_, err = a.acquire(ctx, "dms", 1)
		wantBusy(t, "a request beyond the capacity and the queue", err)
		r1()
		r1() // a second release gives nothing back
		if i := recv(t, got); i != 0 {
			t.Fatalf("request %d admitted first, want 0", i)
		}
		if i := recv(t, got); i != 1 {
			t.Fatalf("request %d admitted second, want 1", i)
		}
		r2()
		if a.free != 2 || a.queued() != 0 || len(a.held) != 0 {
			t.Fatalf("after every release: %d free, %d waiting, held %v; want 2, 0, none", a.free, a.queued(), a.held)
		}
	})

	t.Run("weights", func(t *testing.T) {
		a := newSemaphore(200, 200, 8, long, time.Second)
		big1, err := a.acquire(ctx, "dms", 100)
		if err != nil {
			t.Fatal(err)
		}
		big2, err := a.acquire(ctx, "dms", 100)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing free: a small one waits its turn.
		done := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, "other", 5)
			if err == nil {
				r()
			}
			done <- err
		}()
		waitQueued(t, a, 1)
		big1()
		if err := recv(t, done); err != nil {
			t.Fatal(err)
		}
		big2()
	})

	t.Run("the wait ends", func(t *testing.T) {
		a := newSemaphore(1, 1, 1, 20*time.Millisecond, time.Second)
		r, err := a.acquire(ctx, "dms", 1)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.acquire(ctx, "other", 1)
		wantBusy(t, "a request whose turn did not come", err)
		if n := a.queued(); n != 0 {
			t.Fatalf("%d still waiting after their wait ended", n)
		}
		r()
		r2, err := a.acquire(ctx, "other", 1)
		if err != nil {
			t.Fatalf("the turn given back: %v", err)
		}
		r2()
	})

	t.Run("the caller goes away", func(t *testing.T) {
		a := newSemaphore(2, 10, 2, long, time.Second)
		hold, err := a.acquire(ctx, "dms", 1)
		if err != nil {
			t.Fatal(err)
		}
		hold2, err := a.acquire(ctx, "dms", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer hold2()
		cctx, cancel := context.WithCancel(ctx)
		first := make(chan error, 1)
		go func() {
			_, err := a.acquire(cctx, "dms", 1)
			first <- err
		}()
		waitQueued(t, a, 1)
		second := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, "dms", 1)
			if err == nil {
				r()
			}
			second <- err
		}()
		waitQueued(t, a, 2)
		cancel()
		if err := recv(t, first); !errors.Is(err, context.Canceled) {
			t.Fatalf("a request whose caller went away: %v", err)
		}
		hold()
		// The one behind it has its turn.
		if err := recv(t, second); err != nil {
			t.Fatal(err)
		}
		if a.free != 1 || a.held["dms"] != 1 {
			t.Fatalf("%d free, the caller holds %d; want 1, 1", a.free, a.held["dms"])
		}
	})

	t.Run("a head waiting for more leaves", func(t *testing.T) {
		// The head of the queue waits for more than the one behind it
		// needs: when it leaves, the other is admitted at once.
		a := newSemaphore(100, 100, 4, long, time.Second)
		hold, err := a.acquire(ctx, "dms", 95)
		if err != nil {
			t.Fatal(err)
		}
		defer hold()
		cctx, cancel := context.WithCancel(ctx)
		head := make(chan error, 1)
		go func() {
			_, err := a.acquire(cctx, "head", 50)
			head <- err
		}()
		waitQueued(t, a, 1)
		small := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, "other", 5)
			if err == nil {
				r()
			}
			small <- err
		}()
		waitQueued(t, a, 2)
		cancel()
		recv(t, head)
		if err := recv(t, small); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("one caller's cap", func(t *testing.T) {
		// A caller holds at most its cap, what it waits for included: one
		// DMS, stuck or hostile, leaves room for the others.
		a := newSemaphore(100, 60, 4, long, time.Second)
		other, err := a.acquire(ctx, "other", 60)
		if err != nil {
			t.Fatal(err)
		}
		h1, err := a.acquire(ctx, "dms", 30)
		if err != nil {
			t.Fatal(err)
		}
		defer h1()
		waiting := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, "dms", 20) // 10 free: it waits
			if err == nil {
				r()
			}
			waiting <- err
		}()
		waitQueued(t, a, 1)
		_, err = a.acquire(ctx, "dms", 20) // 30 + 20 waiting + 20 > 60
		wantBusy(t, "a caller past its cap", err)
		other()
		if err := recv(t, waiting); err != nil {
			t.Fatal(err)
		}
		if a.held["dms"] != 30 || a.free != 70 {
			t.Fatalf("the caller holds %d, %d free; want 30, 70", a.held["dms"], a.free)
		}
	})
}

// TestAdmission_OneDMS: one DMS may take every turn and wait for one
// besides (a gateway often serves one), but not hold more than one
// packet of the largest size of the bodies' memory.
func TestAdmission_OneDMS(t *testing.T) {
	ctx := t.Context()
	turns := newTurns(4, time.Minute)
	var held []func()
	for range 4 {
		r, err := turns.acquire(ctx, "dms", 1)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	done := make(chan error, 1)
	go func() {
		r, err := turns.acquire(ctx, "dms", 1)
		if err == nil {
			r()
		}
		done <- err
	}()
	waitQueued(t, turns, 1)
	held[0]()
	if err := recv(t, done); err != nil {
		t.Fatalf("the DMS waiting for a fifth turn: %v", err)
	}
	for _, r := range held[1:] {
		r()
	}

	bodies := newBodies(100, 4, time.Minute)
	r, err := bodies.acquire(ctx, "dms", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer r()
	_, err = bodies.acquire(ctx, "dms", 1)
	wantBusy(t, "a second body from the DMS holding the largest", err)
	r2, err := bodies.acquire(ctx, "other", 100)
	if err != nil {
		t.Fatalf("another DMS: %v", err)
	}
	r2()
}
