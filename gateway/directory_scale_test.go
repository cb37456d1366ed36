package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

// nationalFixture is a directory of n agencies as an administrator signs
// them, each with a certificate of its own, made once per test binary.
type nationalFixture struct {
	anchors *x509.CertPool
	updates []gateway.DirectoryUpdate
}

var (
	nationalOnce sync.Once
	national     *nationalFixture
	nationalErr  error
)

// nationalDirectory returns the fixture of 20,000 agencies (about 20 s of
// signing on two cores, once): provinces of 580 communes each, codes as
// the 2025 reform left them. LIENTHONG_BENCH_DIRECTORY_SIZE sets another
// size, up to 111,000 (the national directory: some two minutes of
// signing), to measure what the whole directory costs rather than
// extrapolate from a part of it.
func nationalDirectory(tb testing.TB) *nationalFixture {
	tb.Helper()
	nationalOnce.Do(func() {
		n := 20000
		if s := os.Getenv("LIENTHONG_BENCH_DIRECTORY_SIZE"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 || v > 111000 {
				nationalErr = fmt.Errorf("LIENTHONG_BENCH_DIRECTORY_SIZE=%q: want a number from 1 to 111000", s)
				return
			}
			n = v
		}
		national, nationalErr = makeNationalDirectory(tb.TempDir(), n)
	})
	if nationalErr != nil {
		tb.Fatal(nationalErr)
	}
	return national
}

func makeNationalDirectory(dir string, n int) (*nationalFixture, error) {
	ca, err := signing.InitCA(filepath.Join(dir, "ca"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		return nil, err
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(ca.Certificate())
	is, err := ca.Issue(signing.IssueRequest{Agency: "000.00.00.G22", Name: "Quản trị trục", DirectoryScopes: []string{"*"}})
	if err != nil {
		return nil, err
	}
	admin, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		return nil, err
	}
	// One key for every agency (generating 20,000 would take minutes),
	// but a certificate each, as agencies have.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	f := &nationalFixture{anchors: anchors, updates: make([]gateway.DirectoryUpdate, n)}
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += runtime.GOMAXPROCS(0) {
				// Past 99 provinces (57,420 agencies) the level-2 group
				// tells the codes apart: the level-1 group is two digits.
				province, unit, commune := 1+i/580%99, i/580/99, 1+i%580
				code := fmt.Sprintf("%03d.%02d.%02d.H%02d", commune/100, commune%100, unit, province)
				tmpl := &x509.Certificate{
					SerialNumber: big.NewInt(int64(i + 1)),
					Subject:      pkix.Name{CommonName: fmt.Sprintf("UBND xã số %d tỉnh %d", commune, province), SerialNumber: code},
					NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
					KeyUsage: x509.KeyUsageDigitalSignature,
				}
				der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
				if err != nil {
					errs <- err
					return
				}
				a := gateway.Agency{
					Code: code, Name: tmpl.Subject.CommonName, Parent: fmt.Sprintf("000.00.00.H%02d", province), Kind: "commune",
					Gateway: fmt.Sprintf("h%02d", province), Version: 1, UpdatedAt: time.Now().UTC(),
					Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))},
				}
				k, v, err := gateway.SignRecord(admin, gateway.DirectoryRecord{Agency: &a})
				if err != nil {
					errs <- err
					return
				}
				f.updates[i] = gateway.DirectoryUpdate{Key: k, Value: v}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return f, nil
}

// BenchmarkDirectory_National applies a directory of 20,000 signed
// entries (LIENTHONG_BENCH_DIRECTORY_SIZE, see nationalDirectory) as a
// gateway's first start does — every record verified, on every core —
// then each delivered again by the bus, then as a restart does — from
// the briefs kept with the records (directory_brief.go), on every core
// (loadDirectory) — and reports the time per entry of each, and the heap
// an entry costs.
//
//	go test ./gateway -run '^$' -bench Directory_National -benchtime 3x
//	LIENTHONG_BENCH_DIRECTORY_SIZE=111000 go test ./gateway -run '^$' -bench Directory_National -benchtime 3x -timeout 30m
func BenchmarkDirectory_National(b *testing.B) {
	f := nationalDirectory(b)
	n := len(f.updates)
	workers := runtime.GOMAXPROCS(0)
	b.ResetTimer()
	var perEntry float64
	var load, again, briefs time.Duration
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		dir := gateway.NewDirectory(&signing.RecordVerifier{Anchors: f.anchors})
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					if err := dir.Apply(f.updates[i]); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		load += time.Since(start)
		start = time.Now()
		for _, u := range f.updates {
			if err := dir.Apply(u); err != nil {
				b.Fatal(err)
			}
		}
		again += time.Since(start)
		b.StopTimer()
		kept := dir.TakeUnkeptForTest()
		values := make(map[string][]byte, len(kept))
		for _, r := range kept {
			values[r.Key] = r.Value
			r.Value = nil
		}
		restarted := gateway.NewDirectory(&signing.RecordVerifier{Anchors: f.anchors})
		signers := gateway.NewBriefSignersForTest(values)
		b.StartTimer()
		start = time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(kept); i += workers {
					r := kept[i]
					r.Value = nil
					if err := restarted.ApplyBriefForTest(r, signers); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		briefs += time.Since(start)
		b.StopTimer()
		if restarted.Len() != dir.Len() {
			b.Fatalf("from the briefs %d entries, from the records %d", restarted.Len(), dir.Len())
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(load.Microseconds())/float64(b.N*n), "load-µs/entry")
	b.ReportMetric(float64(again.Microseconds())/float64(b.N*n), "again-µs/entry")
	b.ReportMetric(float64(briefs.Microseconds())/float64(b.N*n), "brief-µs/entry")
	b.ReportMetric(perEntry, "heap-B/entry")
}
