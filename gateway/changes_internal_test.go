package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// TestChangeHub_Lost: a subscriber that does not read never blocks the
// publisher; what does not fit its buffer is dropped, and the next change
// it is given says so, once.
func TestChangeHub_Lost(t *testing.T) {
	var h changeHub
	slow, stopSlow := h.subscribe(changeBuffer)
	defer stopSlow()
	fast, stopFast := h.subscribe(changeBuffer)
	defer stopFast()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 * changeBuffer {
			h.publish(Change{Document: fmt.Sprint(i), Agency: "000.00.00.G22"})
			<-fast
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a subscriber that does not read blocks the publisher")
	}
	for i := range changeBuffer {
		c := <-slow
		if c.Document != fmt.Sprint(i) || c.Lost {
			t.Fatalf("change %d: got %+v", i, c)
		}
	}
	select {
	case c := <-slow:
		t.Fatalf("more than the buffer kept: %+v", c)
	default:
	}
	h.publish(Change{Document: "next"})
	h.publish(Change{Document: "after"})
	if c := <-slow; c.Document != "next" || !c.Lost {
		t.Errorf("first change after the drops: got %+v, want Lost", c)
	}
	if c := <-slow; c.Document != "after" || c.Lost {
		t.Errorf("second change after the drops: got %+v, want not Lost", c)
	}
}

// TestChangeHub_Seq: changes are numbered from 1, whether anyone gets
// them or not, and last tells the latest number; activeOrCount numbers a
// change only when nobody subscribes (the caller then sends nothing), so
// that a later subscriber, comparing last with the number it had, knows
// something changed.
func TestChangeHub_Seq(t *testing.T) {
	var h changeHub
	if n := h.last(); n != 0 {
		t.Errorf("before any change last is %d", n)
	}
	h.publish(Change{Document: "a"}) // nobody subscribes
	if h.activeOrCount() {
		t.Error("activeOrCount without subscribers says someone listens")
	}
	seen := h.last()
	if seen != 2 {
		t.Errorf("after a change published and one counted last is %d, want 2", seen)
	}
	ch, stop := h.subscribe(changeBuffer)
	defer stop()
	if !h.activeOrCount() {
		t.Error("activeOrCount with a subscriber says nobody listens")
	}
	if n := h.last(); n != seen {
		t.Errorf("activeOrCount with a subscriber counted a change: last %d, want %d", n, seen)
	}
	h.publish(Change{Document: "b"})
	h.publish(Change{Document: "c"})
	if c := <-ch; c.Document != "b" || c.Seq != 3 {
		t.Errorf("got %+v, want b numbered 3", c)
	}
	if c := <-ch; c.Document != "c" || c.Seq != 4 {
		t.Errorf("got %+v, want c numbered 4", c)
	}
	if n := h.last(); n != 4 {
		t.Errorf("last is %d, want 4", n)
	}
}

// TestChangeHub_Close: ending a subscription closes its channel, twice is
// harmless; closing the hub closes the others and later subscriptions get
// a closed channel.
func TestChangeHub_Close(t *testing.T) {
	var h changeHub
	a, stopA := h.subscribe(changeBuffer)
	b, stopB := h.subscribe(changeBuffer)
	h.publish(Change{Document: "x"})
	stopA()
	stopA()
	if c, ok := <-a; !ok || c.Document != "x" {
		t.Errorf("a: got %+v, %v; want the change sent before it ended", c, ok)
	}
	if _, ok := <-a; ok {
		t.Error("a is not closed after its end")
	}
	h.publish(Change{Document: "y"}) // only to b
	h.close()
	h.close()
	if c := <-b; c.Document != "x" {
		t.Errorf("b: got %+v", c)
	}
	if c := <-b; c.Document != "y" {
		t.Errorf("b: got %+v", c)
	}
	if _, ok := <-b; ok {
		t.Error("b is not closed after the hub closed")
	}
	stopB() // after close: harmless
	late, stopLate := h.subscribe(changeBuffer)
	if _, ok := <-late; ok {
		t.Error("a subscription after close is not closed")
	}
	stopLate()
	if h.active() {
		t.Error("a closed hub is active")
	}
}

func TestKeptWarnings(t *testing.T) {
	var ws []envelope.Warning
	for range maxKeptWarnings + 7 {
		ws = append(ws, envelope.Warning{Code: "trace-organ-missing"})
	}
	got := keptWarnings(ws)
	if len(got) != maxKeptWarnings+1 || got[maxKeptWarnings].Code != "more-warnings" || got[maxKeptWarnings].MessageEN != "7 more warnings were not kept" {
		t.Errorf("kept %d warnings, last %+v", len(got), got[len(got)-1])
	}
	if got := keptWarnings(ws[:3]); len(got) != 3 {
		t.Errorf("kept %d of 3", len(got))
	}
}

// TestChangeHub_Buffer: a subscription keeps as many changes as its
// buffer, then loses the next.
func TestChangeHub_Buffer(t *testing.T) {
	var h changeHub
	const n = 3 * changeBuffer
	ch, stop := h.subscribe(n)
	defer stop()
	for i := range n + 1 {
		h.publish(Change{Document: fmt.Sprint(i)})
	}
	for i := range n {
		if c := <-ch; c.Document != fmt.Sprint(i) || c.Lost {
			t.Fatalf("change %d: got %+v", i, c)
		}
	}
	h.publish(Change{Document: "next"})
	if c := <-ch; c.Document != "next" || !c.Lost {
		t.Errorf("after a full buffer: got %+v, want Lost", c)
	}
}
