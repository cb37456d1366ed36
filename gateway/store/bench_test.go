package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
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

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchFloorOps is how many transactions measure the floor.
const benchFloorOps = 300

// commitFloor returns the CPU time of the least a store's update of a
// packet costs, measured now, on this machine: one transaction inserting
// the packet's bytes into a bare table of a database of its own, with the
// store's journal and synchronous settings, through the same driver.
// The benchmarks report their CPU per operation against it, so that the
// ratio says what the store spends beyond that transaction, whatever the
// load of the machine.
func commitFloor(b *testing.B, sync store.Synchronous, data []byte) time.Duration {
	b.Helper()
	path := filepath.Join(b.TempDir(), "floor.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_journal_mode=WAL&_synchronous="+string(sync))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := b.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	insert := func() {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (data) VALUES (?)`, data); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	insert() // the first connection and the statement: not counted
	start := cpuTime(b)
	for range benchFloorOps {
		insert()
	}
	return (cpuTime(b) - start) / benchFloorOps
}

// reportCPU reports the CPU per operation since start, in µs, with the
// floor measured in the same run and the ratio of the two.
func reportCPU(b *testing.B, start, floor time.Duration) {
	b.Helper()
	perOp := float64(cpuTime(b)-start) / float64(b.N) / float64(time.Microsecond)
	b.ReportMetric(perOp, "cpu-µs/op")
	b.ReportMetric(float64(floor)/float64(time.Microsecond), "floor-cpu-µs/op")
	b.ReportMetric(perOp/(float64(floor)/float64(time.Microsecond)), "x-floor")
}

// benchDocs is how many documents the status benchmarks spread their
// statuses over, so that a delivery keeps the few events of a real one.
const benchDocs = 500

// BenchmarkStore_EmitStatus records a 05 (processing) emitted by the
// recipient of an incoming document, queued to its sender, as a gateway
// does for each status its agencies post: the status packet (1 KB), the
// delivery's new lifecycle, an event, an outbox item and an audit row.
func BenchmarkStore_EmitStatus(b *testing.B) {
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	for _, sync := range []store.Synchronous{store.SynchronousFull, store.SynchronousNormal} {
		b.Run("synchronous="+string(sync), func(b *testing.B) {
			s := openBenchStore(b, sync)
			ctx := b.Context()
			docs := make([]string, benchDocs)
			for i := range docs {
				now := time.Now()
				r := newReceive(vpcp, hanoi, fmt.Sprintf("in-%d", i), now)
				r.Reply.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: reply}
				d, _, err := s.ReceiveDocument(ctx, r)
				if err != nil {
					b.Fatal(err)
				}
				docs[i] = d.ID
			}
			floor := commitFloor(b, sync, reply)
			b.SetBytes(int64(len(reply)))
			start := cpuTime(b)
			var n int
			for b.Loop() {
				now := time.Now()
				err := s.EmitStatus(ctx, gateway.EmitStatus{
					Document:   docs[n%len(docs)],
					Recipients: []string{vpcp},
					Party:      envelope.PartyRecipient,
					Reply: gateway.Reply{
						Packet:      gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: reply},
						To:          hanoi,
						Code:        envelope.StatusProcessing,
						By:          vpcp,
						Description: "Đang xử lý",
						At:          now,
					},
					SendTo: []string{hanoi},
					At:     now,
				})
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportCPU(b, start, floor)
		})
	}
}

// BenchmarkStore_ApplyStatus records a 05 (processing) received from the
// recipient of an outgoing document, as a gateway does for each status
// its agencies' correspondents send: the duplicate checks (its MsgID, its
// packet's SHA-256), the status packet (1 KB), the delivery's new
// lifecycle, an event and an audit row. The parallel variant is several
// consumers' statuses at once, which queue for the one writer.
func BenchmarkStore_ApplyStatus(b *testing.B) {
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	// Each status packet differs (as signed ones do), or the store would
	// take it for the same packet again.
	status := func(doc string, n int64) gateway.ApplyStatus {
		now := time.Now()
		a := newStatus(vpcp, hanoi, doc, envelope.StatusProcessing, now)
		data := append([]byte(fmt.Sprintf("<!-- %d -->", n)), reply...)
		a.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: data}
		a.MsgID = fmt.Sprintf("status-%d", n)
		return a
	}
	setup := func(b *testing.B, sync store.Synchronous) (*store.Store, []string, time.Duration) {
		s := openBenchStore(b, sync)
		docs := make([]string, benchDocs)
		for i := range docs {
			docs[i] = fmt.Sprintf("out-%d", i)
			a := newAccept(vpcp, docs[i], time.Now(), hanoi, hue)
			a.Packet.Data = reply
			if _, _, err := s.AcceptDocument(b.Context(), a); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(reply)))
		return s, docs, commitFloor(b, sync, reply)
	}
	for _, sync := range []store.Synchronous{store.SynchronousFull, store.SynchronousNormal} {
		b.Run("synchronous="+string(sync), func(b *testing.B) {
			s, docs, floor := setup(b, sync)
			start := cpuTime(b)
			var n int64
			for b.Loop() {
				res, err := s.ApplyStatus(b.Context(), status(docs[n%int64(len(docs))], n))
				if err != nil || res.Duplicate || res.Refused != nil {
					b.Fatalf("%+v, %v", res, err)
				}
				n++
			}
			reportCPU(b, start, floor)
		})
	}
	b.Run("synchronous=FULL/parallel", func(b *testing.B) {
		s, docs, floor := setup(b, store.SynchronousFull)
		var n atomic.Int64
		b.SetParallelism(2)
		start := cpuTime(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				res, err := s.ApplyStatus(b.Context(), status(docs[i%int64(len(docs))], i))
				if err != nil || res.Duplicate || res.Refused != nil {
					b.Errorf("%+v, %v", res, err)
					return
				}
			}
		})
		reportCPU(b, start, floor)
	})
}
