package testkit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

var errBoom = errors.New("boom")

// TestFaults_Calls: rules pick calls by number; every call is counted.
func TestFaults_Calls(t *testing.T) {
	var fs Faults
	fs.On("A", 2, Fault{Err: errBoom})
	fs.From("B", 3, Fault{Err: errBoom})
	var gotA, gotB []bool
	for range 4 {
		gotA = append(gotA, fs.enter(context.Background(), "A") != nil)
		gotB = append(gotB, fs.enter(context.Background(), "B") != nil)
	}
	if want := []bool{false, true, false, false}; !slices.Equal(gotA, want) {
		t.Errorf("A failed %v, want %v", gotA, want)
	}
	if want := []bool{false, false, true, true}; !slices.Equal(gotB, want) {
		t.Errorf("B failed %v, want %v", gotB, want)
	}
	if got, want := fs.Calls("A"), 4; got != want {
		t.Errorf("Calls(A) = %d, want %d", got, want)
	}
	fs.Clear("B")
	if err := fs.enter(context.Background(), "B"); err != nil {
		t.Errorf("B after Clear: %v", err)
	}
	fs.Next("A", Fault{Err: errBoom})
	if err := fs.enter(context.Background(), "A"); !errors.Is(err, errBoom) {
		t.Errorf("A after Next: %v, want boom", err)
	}
	if err := fs.enter(context.Background(), "A"); err != nil {
		t.Errorf("A after the Next one: %v", err)
	}
	fs.Always("C", Fault{Err: errBoom})
	for range 3 {
		if err := fs.enter(context.Background(), "C"); !errors.Is(err, errBoom) {
			t.Fatalf("C with Always: %v", err)
		}
	}
	var none *Faults
	if err := none.enter(context.Background(), "A"); err != nil {
		t.Errorf("nil Faults: %v", err)
	}
}

// TestFaults_Time: a delay passes or is cut by the context; a hang ends
// with the context, or with Release for a method without one.
func TestFaults_Time(t *testing.T) {
	var fs Faults
	fs.On("Delay", 1, Fault{Delay: time.Millisecond, Err: errBoom})
	if err := fs.enter(context.Background(), "Delay"); !errors.Is(err, errBoom) {
		t.Errorf("delayed: %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs.On("Delay", 2, Fault{Delay: time.Hour})
	if err := fs.enter(ctx, "Delay"); !errors.Is(err, context.Canceled) {
		t.Errorf("delay cut short: %v, want context.Canceled", err)
	}
	fs.Always("Hang", Fault{Hang: true})
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	if err := fs.enter(dctx, "Hang"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v, want context.DeadlineExceeded", err)
	}
	fs.Release()
	fs.Release() // twice is fine
	if err := fs.enter(nil, "Hang"); err == nil {
		t.Error("a released hang returned no error")
	}
}

// TestFaults_BadCall: calls count from 1.
func TestFaults_BadCall(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("On with call 0 did not panic")
		}
	}()
	var fs Faults
	fs.On("A", 0, Fault{})
}

// TestMessage_Acts: a message records how it was settled, passes a
// nak on at once with NakNow, and reports the delivery it is told.
func TestMessage_Acts(t *testing.T) {
	fs := &Faults{}
	fs.On("Ack", 1, Fault{Err: errBoom})
	m := NewMessage("lt.edoc.G22", "id", "edoc", []byte("x"))
	m.Faults, m.NakNow, m.Delivered = fs, true, 3
	if _, ok := m.Settled(); ok {
		t.Error("settled before any call")
	}
	if err := m.Ack(context.Background()); !errors.Is(err, errBoom) {
		t.Errorf("Ack: %v, want boom", err)
	}
	_ = m.InProgress()
	_ = m.Nak(5 * time.Second)
	if a, ok := m.Settled(); !ok || a.Op != "Nak" || a.Delay != 5*time.Second {
		t.Errorf("Settled = %+v, %v; want the Nak of 5s", a, ok)
	}
	_ = m.Term("why")
	acts := m.Acts()
	if len(acts) != 4 || acts[0].Op != "Ack" || acts[1].Op != "InProgress" || acts[3].Reason != "why" {
		t.Errorf("Acts = %+v", acts)
	}
	if got := m.NumDelivered(); got != 3 {
		t.Errorf("NumDelivered = %d, want 3", got)
	}
	if d, _ := m.Packet(context.Background()); string(d) != "x" || m.Subject() != "lt.edoc.G22" || m.MsgID() != "id" || m.Kind() != "edoc" {
		t.Errorf("the made message is not what was given")
	}
}
