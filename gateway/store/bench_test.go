package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/storetest"
	"github.com/lienthong/lienthong/gateway/store"
)

// benchPacketSize is the size of a typical signed edXML letter with a
// small PDF attached.
const benchPacketSize = 20 << 10

// openBenchStore opens a store with the given synchronous setting; Check
// runs at the end, as for every test.
func openBenchStore(b *testing.B, sync store.Synchronous) *store.Store {
	b.Helper()
	s, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "lienthong.db"), store.Options{Synchronous: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Check(context.Background()); err != nil {
			b.Errorf("Check: %v", err)
		}
		s.Close()
	})
	return s
}

// benchAccept is the n-th outgoing document of a benchmark: a 20 KB
// packet to two recipients.
func benchAccept(data []byte, n int64) gateway.AcceptDocument {
	now := time.Now()
	a := newAccept(vpcp, fmt.Sprintf("bench-%d", n), now, hanoi, hue)
	a.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindEdoc, Data: data}
	a.IdempotencyKey, a.RequestHash = fmt.Sprintf("key-%d", n), "hash"
	return a
}

func BenchmarkStore_AcceptDocument(b *testing.B) {
	data := newPacket(gateway.KindEdoc, t0, benchPacketSize).Data
	for _, sync := range []store.Synchronous{store.SynchronousFull, store.SynchronousNormal} {
		b.Run("synchronous="+string(sync), func(b *testing.B) {
			s := openBenchStore(b, sync)
			b.SetBytes(int64(len(data)))
			var n int64
			for b.Loop() {
				n++
				if _, _, err := s.AcceptDocument(b.Context(), benchAccept(data, n)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
	// Many DMS requests at once, as the API serves them: they queue for
	// the one writer connection.
	b.Run("synchronous=FULL/parallel", func(b *testing.B) {
		s := openBenchStore(b, store.SynchronousFull)
		b.SetBytes(int64(len(data)))
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.AcceptDocument(b.Context(), benchAccept(data, n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	})
}

func BenchmarkStore_ReceiveDocument(b *testing.B) {
	data := newPacket(gateway.KindEdoc, t0, benchPacketSize).Data
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	for _, sync := range []store.Synchronous{store.SynchronousFull, store.SynchronousNormal} {
		b.Run("synchronous="+string(sync), func(b *testing.B) {
			s := openBenchStore(b, sync)
			b.SetBytes(int64(len(data)))
			var n int
			for b.Loop() {
				n++
				now := time.Now()
				r := newReceive(vpcp, hanoi, fmt.Sprintf("bench-%d", n), now)
				r.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindEdoc, Data: data}
				r.Reply.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: reply}
				r.Reply.Code = envelope.StatusArrived
				if _, _, err := s.ReceiveDocument(b.Context(), r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// benchReportDocs is the size of the report benchmark's fixture: a
// province's documents of a quarter.
const benchReportDocs = 1_000_000

// BenchmarkReportRows reads every row of a quarter of 1,000,000 documents
// of a province (1,500,000 deliveries) through ReportRows, as the
// quarterly report does. The fixture is made once and cached (see
// storetest.LoadReportFixture).
func BenchmarkReportRows(b *testing.B) {
	s := storetest.LoadReportFixture(b, benchReportDocs, fixtureUnder, fixtureSince, fixtureUntil)
	want, err := storetest.ReportFixtureTotals(benchReportDocs, fixtureUnder, fixtureSince, fixtureUntil)
	if err != nil {
		b.Fatal(err)
	}
	q := gateway.ReportQuery{Under: fixtureUnder, Since: fixtureSince, Until: fixtureUntil}
	var rows int
	for b.Loop() {
		rows = 0
		var toDone int64 // milliseconds
		err := s.ReportRows(b.Context(), q, func(r *gateway.ReportRow) error {
			rows++
			if !r.DoneAt.IsZero() {
				toDone += r.DoneAt.Sub(r.CreatedAt).Milliseconds()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if rows != want.Deliveries || toDone != want.ToDoneMS {
			b.Fatalf("%d rows, %d ms to done; want %d, %d", rows, toDone, want.Deliveries, want.ToDoneMS)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkStore_StmtCache runs a document's round on a gateway's store
// with and without the connections keeping their prepared statements
// (stmtcache.go): an outgoing document accepted for two recipients, its
// packets sent, a 01 back from each; an incoming document received with
// its 01 queued and sent; both read back as the API shows them. With
// synchronous NORMAL, so that syncing the log counts less than the CPU.
func BenchmarkStore_StmtCache(b *testing.B) {
	data := newPacket(gateway.KindEdoc, t0, benchPacketSize).Data
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	for _, c := range []struct {
		name string
		max  int
	}{{"cache=off", 0}, {"cache=on", 256}} {
		b.Run(c.name, func(b *testing.B) {
			defer store.SetStmtCacheMax(c.max)()
			s := openBenchStore(b, store.SynchronousNormal)
			ctx := b.Context()
			var n int64
			for b.Loop() {
				n++
				out, _, err := s.AcceptDocument(ctx, benchAccept(data, n))
				if err != nil {
					b.Fatal(err)
				}
				now := time.Now()
				r := newReceive(vpcp, hanoi, fmt.Sprintf("in-%d", n), now)
				r.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindEdoc, Data: data}
				r.Reply.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: reply}
				in, _, err := s.ReceiveDocument(ctx, r)
				if err != nil {
					b.Fatal(err)
				}
				due, err := s.DueOutbox(ctx, now.Add(time.Hour), 100)
				if err != nil {
					b.Fatal(err)
				}
				if len(due) != 3 {
					b.Fatalf("%d packets due, want 3", len(due))
				}
				if _, err := s.MarkSent(ctx, due, now); err != nil {
					b.Fatal(err)
				}
				for _, from := range []string{hanoi, hue} {
					res, err := s.ApplyStatus(ctx, newStatus(vpcp, from, out.DocumentID, envelope.StatusArrived, now))
					if err != nil || res.Refused != nil || res.Duplicate {
						b.Fatalf("01 from %s: %+v, %v", from, res, err)
					}
				}
				for _, id := range []string{out.ID, in.ID} {
					if _, err := s.Document(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
