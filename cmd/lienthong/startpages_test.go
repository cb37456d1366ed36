package main

import (
	"os"
	"testing"
)

// TestReleaseStartPages: the executable's read-only mappings hold far
// fewer resident pages after the release than before, and the writable
// ones (the program's variables) are left alone.
func TestReleaseStartPages(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	resident := func() (readOnly, writable int64) {
		t.Helper()
		maps, err := readOwnMappings(exe)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range maps {
			if m.writable {
				writable += m.rss
			} else {
				readOnly += m.rss
			}
		}
		return readOnly, writable
	}
	before, writableBefore := resident()
	if before == 0 {
		t.Fatalf("no resident read-only mapping of %s found in /proc/self/smaps", exe)
	}
	released, err := releaseStartPages()
	if err != nil {
		t.Fatal(err)
	}
	after, writableAfter := resident()
	t.Logf("read-only: %d KiB resident before, %d KiB released, %d KiB after; writable: %d KiB, then %d KiB",
		before>>10, released>>10, after>>10, writableBefore>>10, writableAfter>>10)
	if released < before/2 {
		t.Errorf("released %d bytes of %d resident", released, before)
	}
	// What the test touched since (this function, the smaps reader, the
	// runtime) is mapped again, a small part.
	if after > before/2 {
		t.Errorf("%d bytes resident after the release, %d before", after, before)
	}
	if writableAfter < writableBefore/2 {
		t.Errorf("the writable mappings went from %d to %d bytes resident: they were released too", writableBefore, writableAfter)
	}
}
