package metrics_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// TestMetrics_CRLNextUpdate: lienthong_crl_next_update_timestamp_seconds
// has a series per issuer of the lists in use, the NextUpdate of its
// newest list, and follows SetCRLs; a list without NextUpdate has none.
func TestMetrics_CRLNextUpdate(t *testing.T) {
	ax := testkit.NewAxis(t)
	nd := gatewayWithMetrics(t, ax, "vpcp", vpcp, "Văn phòng Chính phủ")
	const name = "lienthong_crl_next_update_timestamp_seconds"
	if v, ok := sample(t, nd.reg, name); ok {
		t.Errorf("without lists: %s = %v", name, v)
	}

	// Two lists of the axis's CA, the older one made 40 days ago (stale),
	// and the list of another CA.
	ax.CA.Now = func() time.Time { return time.Now().Add(-40 * 24 * time.Hour) }
	if err := ax.CA.RefreshCRL(); err != nil {
		t.Fatal(err)
	}
	stale, err := ax.CA.CRL()
	if err != nil {
		t.Fatal(err)
	}
	ax.CA.Now = nil
	if err := ax.CA.RefreshCRL(); err != nil {
		t.Fatal(err)
	}
	current, err := ax.CA.CRL()
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.InitCA(filepath.Join(t.TempDir(), "other"), signing.CAOptions{Name: "CA khác", KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	otherCRL, err := other.CRL()
	if err != nil {
		t.Fatal(err)
	}
	noNext := &x509.RevocationList{Issuer: pkix.Name{CommonName: "CA không hẹn cập nhật"}, ThisUpdate: time.Now()}

	nd.gw.SetCRLs([]*x509.RevocationList{stale})
	axis := ax.CA.Certificate().Subject.String()
	wantSample(t, nd.reg, float64(stale.NextUpdate.Unix()), name, "issuer", axis)
	if v, _ := sample(t, nd.reg, name, "issuer", axis); v > float64(time.Now().Unix()) {
		t.Errorf("the stale list's NextUpdate %v is not past", v)
	}

	nd.gw.SetCRLs([]*x509.RevocationList{stale, otherCRL, current, noNext})
	wantSample(t, nd.reg, float64(current.NextUpdate.Unix()), name, "issuer", axis)
	wantSample(t, nd.reg, float64(otherCRL.NextUpdate.Unix()), name, "issuer", other.Certificate().Subject.String())
	if n := testutil.CollectAndCount(nd.reg, name); n != 2 {
		t.Errorf("%d series of %s, want 2 (one per issuer with a NextUpdate)", n, name)
	}
	problems, err := testutil.GatherAndLint(nd.reg, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
