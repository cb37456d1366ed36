package gateway

import (
	"testing"
	"time"
)

// TestUnknownRecipientLog: the first drop is warned of at once; those of
// the following window only counted; the first after it warns with their
// number, itself included.
func TestUnknownRecipientLog(t *testing.T) {
	var l unknownRecipientLog
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	if n, warn := l.note(start); !warn || n != 1 {
		t.Fatalf("first drop: warn %v of %d, want a warning of 1", warn, n)
	}
	for i := range 999 {
		if _, warn := l.note(start.Add(time.Duration(i) * time.Millisecond)); warn {
			t.Fatalf("drop %d within the window warned", i+2)
		}
	}
	if n, warn := l.note(start.Add(unknownRecipientWarnEvery)); !warn || n != 1000 {
		t.Fatalf("after the window: warn %v of %d, want a warning of 1000", warn, n)
	}
	if _, warn := l.note(start.Add(unknownRecipientWarnEvery + time.Second)); warn {
		t.Fatal("a drop right after a warning warned")
	}
}
