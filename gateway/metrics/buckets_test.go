package metrics_test

import (
	"slices"
	"testing"

	"github.com/lienthong/lienthong/gateway/metrics"
)

// TestBuckets: each bucket list is ascending, and a caller that changes
// the slice it was given changes no one else's (the collectors keep the
// slice they are built with).
func TestBuckets(t *testing.T) {
	for name, buckets := range map[string]func() []float64{
		"SignatureBuckets": metrics.SignatureBuckets,
		"DeliveryBuckets":  metrics.DeliveryBuckets,
		"StatusBuckets":    metrics.StatusBuckets,
		"HTTPBuckets":      metrics.HTTPBuckets,
	} {
		b := buckets()
		if len(b) == 0 || !slices.IsSorted(b) {
			t.Errorf("%s() = %v, want ascending buckets", name, b)
			continue
		}
		want := slices.Clone(b)
		b[0] = -1
		if got := buckets(); !slices.Equal(got, want) {
			t.Errorf("%s() after a caller changed its slice = %v, want %v", name, got, want)
		}
	}
}
