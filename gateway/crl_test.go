package gateway_test

import (
	"crypto/x509"
	"sync"
	"testing"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/testkit"
)

// TestGateway_SetCRLs: once the CA has revoked VPCP's certificate and
// Nghệ An's gateway is given the new list, VPCP's next document is
// quarantined as revoked; the list is swapped while documents are being
// verified and other goroutines swap and read it (run with -race), and
// the slice CRLs returns is the caller's own.
func TestGateway_SetCRLs(t *testing.T) {
	ax, g22, h41, _ := delivered(t)
	if got := h41.CRLs(); len(got) != 0 {
		t.Fatalf("CRLs() = %d lists, want none", len(got))
	}
	if err := ax.CA.RevokeCertificate(g22.HostedAgencies()[0].Signer.Certificate()); err != nil {
		t.Fatal(err)
	}
	crl, err := ax.CA.CRL()
	if err != nil {
		t.Fatal(err)
	}
	h41.SetCRLs([]*x509.RevocationList{crl})

	// Swapped and read all along while the next document is verified.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				h41.SetCRLs([]*x509.RevocationList{crl})
				if got := h41.CRLs(); len(got) != 1 {
					t.Errorf("CRLs() = %d lists during the swaps, want 1", len(got))
					return
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	packet := testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghean}, Number: "2"}.Packet(t)
	if _, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: packet}); err != nil {
		t.Fatal(err)
	}
	var entry gateway.QuarantineEntry
	testkit.Eventually(t, "the revoked document in quarantine", func() bool {
		q, err := h41.Store().QuarantineEntries(t.Context(), 10)
		if err != nil || len(q) == 0 {
			return false
		}
		entry = q[0]
		return true
	})
	if entry.Reason != "signature:revoked" || entry.Recipient != nghean {
		t.Errorf("quarantined as %+v, want signature:revoked for %s", entry, nghean)
	}

	got := h41.CRLs()
	got[0] = nil
	if again := h41.CRLs(); len(again) != 1 || again[0] != crl {
		t.Errorf("changing the slice CRLs returned changed the gateway's lists: %v", again)
	}
}
