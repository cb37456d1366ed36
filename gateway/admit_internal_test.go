package gateway

import (
	"context"
	"errors"
	"testing"
	"time"
)

// queued is how many requests wait for their turn.
func (a *admission) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}

// waitQueued waits until n requests wait.
func waitQueued(t *testing.T, a *admission, n int) {
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

	t.Run("slots, then the queue, then busy", func(t *testing.T) {
		a := newAdmission(2, 1000, 100, long, time.Second)
		r1, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		// Two slots taken: the next two wait, in their order; a fifth is
		// refused at once.
		got := make(chan int, 2)
		for i := range 2 {
			go func() {
				r, err := a.acquire(ctx, 10)
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
		_, err = a.acquire(ctx, 10)
		wantBusy(t, "a request beyond the slots and the queue", err)
		r1()
		r1() // a second release gives nothing back
		if i := recv(t, got); i != 0 {
			t.Fatalf("request %d admitted first, want 0", i)
		}
		if i := recv(t, got); i != 1 {
			t.Fatalf("request %d admitted second, want 1", i)
		}
		r2()
		if a.slots != 2 || a.bytes != 1000 || a.queued() != 0 {
			t.Fatalf("after every release: %d slots, %d bytes free, %d waiting; want 2, 1000, 0", a.slots, a.bytes, a.queued())
		}
	})

	t.Run("bytes", func(t *testing.T) {
		a := newAdmission(8, 200, 100, long, time.Second)
		if w := a.weightOf(-1); w != 100 {
			t.Fatalf("a request of unknown length weighs %d, want the largest, 100", w)
		}
		if w := a.weightOf(1 << 40); w != 100 {
			t.Fatalf("a request longer than the largest weighs %d, want 100", w)
		}
		big1, err := a.acquire(ctx, a.weightOf(-1))
		if err != nil {
			t.Fatal(err)
		}
		big2, err := a.acquire(ctx, a.weightOf(-1))
		if err != nil {
			t.Fatal(err)
		}
		// The bytes are taken although slots are free: a small one waits
		// its turn, and so does one behind it (first come, first served).
		done := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, 5)
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
		a := newAdmission(1, 1000, 100, 20*time.Millisecond, time.Second)
		r, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.acquire(ctx, 10)
		wantBusy(t, "a request whose turn did not come", err)
		if n := a.queued(); n != 0 {
			t.Fatalf("%d still waiting after their wait ended", n)
		}
		r()
		r2, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatalf("the slot given back: %v", err)
		}
		r2()
	})

	t.Run("the caller goes away", func(t *testing.T) {
		a := newAdmission(2, 300, 100, long, time.Second)
		hold, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		hold2, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer hold2()
		cctx, cancel := context.WithCancel(ctx)
		first := make(chan error, 1)
		go func() {
			_, err := a.acquire(cctx, 10)
			first <- err
		}()
		waitQueued(t, a, 1)
		second := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, 10)
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
		if a.slots != 1 || a.bytes != 290 {
			t.Fatalf("%d slots, %d bytes free, want 1, 290", a.slots, a.bytes)
		}
	})

	t.Run("a head waiting for bytes leaves", func(t *testing.T) {
		// The head of the queue waits for bytes the one behind it does not
		// need: when it leaves, the other is admitted at once.
		a := newAdmission(4, 100, 100, long, time.Second)
		hold, err := a.acquire(ctx, 95)
		if err != nil {
			t.Fatal(err)
		}
		defer hold()
		cctx, cancel := context.WithCancel(ctx)
		head := make(chan error, 1)
		go func() {
			_, err := a.acquire(cctx, 50)
			head <- err
		}()
		waitQueued(t, a, 1)
		small := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, 5)
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
}
