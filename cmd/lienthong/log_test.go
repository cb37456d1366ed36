package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
)

// TestLogSampling: a flood of one warning is sampled, and what is left
// out is counted; a flood of one info entry and as many different
// messages are all written.
func TestLogSampling(t *testing.T) {
	var out bytes.Buffer
	var dropped atomic.Int64
	log, _, err := newSampledLogger(LogConfig{Level: "info", Format: "json"}, &out, &dropped)
	if err != nil {
		t.Fatal(err)
	}
	const flood = 1000
	for i := range flood {
		log.Warn("quarantine full: dropped its oldest entry", zap.Int("entry", i))
	}
	lines := strings.Count(out.String(), "\n")
	// Within one tick, logSampleFirst and every logSampleThereafter-th
	// after; a tick that ends during the flood starts another count.
	if most := 2 * (logSampleFirst + flood/logSampleThereafter); lines > most {
		t.Errorf("%d entries of one message wrote %d lines, want at most %d", flood, lines, most)
	}
	if got := dropped.Load(); got != int64(flood-lines) {
		t.Errorf("%d entries, %d lines, %d counted as dropped", flood, lines, got)
	}
	// Info is not sampled: one line per document.
	out.Reset()
	for i := range flood {
		log.Info("document received", zap.Int("document", i))
	}
	if lines := strings.Count(out.String(), "\n"); lines != flood {
		t.Errorf("%d info entries of one message wrote %d lines, want all", flood, lines)
	}
	out.Reset()
	for i := range 3 * logSampleFirst {
		log.Info(fmt.Sprintf("message %d", i))
	}
	if lines := strings.Count(out.String(), "\n"); lines != 3*logSampleFirst {
		t.Errorf("%d different messages wrote %d lines", 3*logSampleFirst, lines)
	}
}
