package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/storetest"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/internal/benchfloor"
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
		batches, updates := store.Batches(s)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.AcceptDocument(b.Context(), benchAccept(data, n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		// The writer's batches: how many accepts share a sync.
		bs, us := store.Batches(s)
		b.ReportMetric(float64(us-updates)/float64(bs-batches), "updates/batch")
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

// benchFloorOps is how many transactions measure the floor of
// commitFloor.
const benchFloorOps = 300

// floorDB is the floor the benchmarks measure the store against: the
// least a store's update of a packet costs, on this machine, one
// transaction inserting the packet's bytes into a bare table of a
// database of its own, with the store's journal and synchronous settings,
// through the same driver. The benchmarks report their CPU per operation
// against it, so that the ratio says what the store spends beyond that
// transaction, whatever the load of the machine.
type floorDB struct {
	db   *sql.DB
	data []byte
}

// openFloor opens a floor database in b's temporary directory, for
// transactions of data, and makes its first one: the connection and the
// statement are not counted.
func openFloor(b *testing.B, sync store.Synchronous, data []byte) *floorDB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "floor.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_journal_mode=WAL&_synchronous="+string(sync))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(b.Context(), `CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	f := &floorDB{db: db, data: data}
	f.insert(b)
	return f
}

// insert makes one floor transaction.
func (f *floorDB) insert(b *testing.B) {
	ctx := b.Context()
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (data) VALUES (?)`, f.data); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// commitFloor returns the CPU time of the floor of a packet's update
// (see floorDB), measured now over benchFloorOps transactions in a row,
// for the benchmarks that cannot take their floor in turn with their
// operation (againstFloor): the parallel ones.
func commitFloor(b *testing.B, sync store.Synchronous, data []byte) time.Duration {
	b.Helper()
	f := openFloor(b, sync, data)
	start := benchfloor.CPUTime(b)
	for range benchFloorOps {
		f.insert(b)
	}
	return (benchfloor.CPUTime(b) - start) / benchFloorOps
}

// reportCPU reports the CPU per operation since start, in µs, with the
// floor measured in the same run and the ratio of the two.
func reportCPU(b *testing.B, start, floor time.Duration) {
	b.Helper()
	perOp := float64(benchfloor.CPUTime(b)-start) / float64(b.N) / float64(time.Microsecond)
	b.ReportMetric(perOp, "cpu-µs/op")
	b.ReportMetric(float64(floor)/float64(time.Microsecond), "floor-cpu-µs/op")
	b.ReportMetric(perOp/(float64(floor)/float64(time.Microsecond)), "x-floor")
}

// againstFloor runs op b.N times, each after setup (nil: none), which is
// not measured, and followed by one transaction of the floor f. It
// reports the process CPU time of op (cpu-µs/op), that of the floor
// (floor-cpu-µs/op) and their ratio (x-floor). The two are taken in
// turn, as signing's againstRSA does, because the machine's load changes
// while a benchmark runs: with the floor measured once before the loop
// (commitFloor), three runs of the same ApplyStatus gave 2.7, 3.3 and 6.3
// times the floor, which was 101, 76 and 44 µs. The ns/op that testing
// reports is that of setup, op and the floor together.
// It returns op's CPU per operation, for the benchmarks that report it
// per item too.
func againstFloor(b *testing.B, f *floorDB, setup, op func() error) time.Duration {
	b.Helper()
	return benchfloor.InTurn(b, "floor", setup, op, func() error { f.insert(b); return nil })
}

// circularRecipients is the number of recipients of the circular of
// BenchmarkStore_ApplyStatus.
const circularRecipients = 60

// benchDocs is how many documents the status benchmarks spread their
// statuses over, so that a delivery keeps the few events of a real one.
const benchDocs = 500

// receivedDocs stores benchDocs incoming documents, each with its 01
// (reply) queued to the sender, and returns their ids.
func receivedDocs(b *testing.B, s *store.Store, reply []byte) []string {
	b.Helper()
	docs := make([]string, benchDocs)
	for i := range docs {
		now := time.Now()
		r := newReceive(vpcp, hanoi, fmt.Sprintf("in-%d", i), now)
		r.Reply.Packet = gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: reply}
		d, _, err := s.ReceiveDocument(b.Context(), r)
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = d.ID
	}
	return docs
}

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
			docs := receivedDocs(b, s, reply)
			floor := openFloor(b, sync, reply)
			b.SetBytes(int64(len(reply)))
			var n int
			againstFloor(b, floor, nil, func() error {
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
				n++
				return err
			})
		})
	}
}

// BenchmarkStore_ApplyStatus records a 05 (processing) received from the
// recipient of an outgoing document, as a gateway does for each status
// its agencies' correspondents send: the duplicate checks (its MsgID, its
// packet's SHA-256), the status packet (1 KB), the delivery's new
// lifecycle, an event and an audit row. The answers variants apply 01,
// 03 and 06 to each delivery of new documents, as the national day does;
// the parallel one is several consumers' statuses at once, which queue
// for the one writer.
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
	setup := func(b *testing.B, sync store.Synchronous) (*store.Store, []string) {
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
		return s, docs
	}
	for _, sync := range []store.Synchronous{store.SynchronousFull, store.SynchronousNormal} {
		b.Run("synchronous="+string(sync), func(b *testing.B) {
			s, docs := setup(b, sync)
			var n int64
			againstFloor(b, openFloor(b, sync, reply), nil, func() error {
				res, err := s.ApplyStatus(b.Context(), status(docs[n%int64(len(docs))], n))
				if err == nil && (res.Duplicate || res.Refused != nil) {
					err = fmt.Errorf("%+v", res)
				}
				n++
				return err
			})
		})
	}
	// As on the national day: each delivery of a document, published,
	// answered 01, 03 and 06 in turn; answers a document to two agencies,
	// circular one to circularRecipients, as 2 % of the day's documents
	// are (cmd/lienthong/sim.go, fanOut: 11 to 70 recipients), whose
	// document gathers the events of all its deliveries.
	answers := func(b *testing.B, sync store.Synchronous, recipients []string) {
		s := openBenchStore(b, sync)
		ctx := b.Context()
		var (
			n, docs int64
			doc     string
			perDoc  = 3 * int64(len(recipients))
			codes   = []envelope.StatusCode{envelope.StatusArrived, envelope.StatusAccepted, envelope.StatusDone}
		)
		b.SetBytes(int64(len(reply)))
		againstFloor(b, openFloor(b, sync, reply), func() error {
			if n%perDoc != 0 {
				return nil
			}
			// The next document, sent.
			docs++
			doc = fmt.Sprintf("out-%d", docs)
			a := newAccept(vpcp, doc, time.Now(), recipients...)
			a.Packet.Data = reply
			if _, _, err := s.AcceptDocument(ctx, a); err != nil {
				return err
			}
			items, err := s.DueOutbox(ctx, time.Now(), 128)
			if err == nil {
				_, err = s.MarkSent(ctx, items, time.Now())
			}
			return err
		}, func() error {
			i := n % perDoc
			from, code := recipients[i%int64(len(recipients))], codes[i/int64(len(recipients))]
			a := status(doc, n)
			a.From, a.Code, a.Description = from, code, code.Name()
			n++
			res, err := s.ApplyStatus(ctx, a)
			if err == nil && (res.Duplicate || res.Refused != nil) {
				err = fmt.Errorf("%s from %s: %+v", code, from, res)
			}
			return err
		})
	}
	for _, sync := range []store.Synchronous{store.SynchronousFull, store.SynchronousNormal} {
		b.Run("synchronous="+string(sync)+"/answers", func(b *testing.B) {
			answers(b, sync, []string{hanoi, hue})
		})
	}
	// With NORMAL only: what it measures is CPU, which FULL's syncs hide.
	b.Run("synchronous=NORMAL/circular", func(b *testing.B) {
		recipients := make([]string, circularRecipients)
		for i := range recipients {
			recipients[i] = fmt.Sprintf("000.00.%02d.H%02d", i/10+1, i%10+10)
		}
		answers(b, store.SynchronousNormal, recipients)
	})
	b.Run("synchronous=FULL/parallel", func(b *testing.B) {
		s, docs := setup(b, store.SynchronousFull)
		floor := commitFloor(b, store.SynchronousFull, reply)
		var n atomic.Int64
		b.SetParallelism(2)
		start := benchfloor.CPUTime(b)
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

// unreachable is the agency the dispatch benchmarks cannot reach.
const unreachable = "000.00.00.H99"

// holdOutbox queues n documents to an agency that cannot be reached and
// postpones them for a day, as a gateway's outbox holds them while that
// agency is away: the outbox a dispatcher reads is seldom empty.
func holdOutbox(b *testing.B, s *store.Store, n int) {
	b.Helper()
	ctx := b.Context()
	for i := range n {
		mustAccept(b, s, newAccept(vpcp, fmt.Sprintf("held-%d", i), time.Now(), unreachable))
	}
	items, err := s.DueOutbox(ctx, time.Now(), n)
	if err != nil || len(items) != n {
		b.Fatalf("%d items due, want %d: %v", len(items), n, err)
	}
	for _, it := range items {
		if err := s.Postpone(ctx, it.ID, time.Now().Add(24*time.Hour), "nats: no responders available for request"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStore_DueOutbox reads the due items of an outbox holding 100
// items postponed for a day (holdOutbox) and none, one or eight due, as
// the dispatcher does when woken after an accept or a status, and every
// second. Each read follows a commit (Ping), as a busy gateway writes
// between two rounds of its dispatcher: a reader then finds the pages it
// kept stale.
//
//	go test ./gateway/store -run '^$' -bench 'DueOutbox|MarkSent|DispatchRound' -count 3
func BenchmarkStore_DueOutbox(b *testing.B) {
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	for _, due := range []int{0, 1, 8} {
		b.Run(fmt.Sprintf("due=%d", due), func(b *testing.B) {
			s := openBenchStore(b, store.SynchronousFull)
			ctx := b.Context()
			holdOutbox(b, s, 100)
			for i := range due {
				mustAccept(b, s, newAccept(vpcp, fmt.Sprintf("due-%d", i), time.Now(), hanoi))
			}
			againstFloor(b, openFloor(b, store.SynchronousFull, reply), func() error { return s.Ping(ctx) }, func() error {
				items, err := s.DueOutbox(ctx, time.Now(), 128)
				if err == nil && len(items) != due {
					err = fmt.Errorf("%d items due, want %d", len(items), due)
				}
				return err
			})
		})
	}
}

// BenchmarkStore_MarkSent marks a batch of edoc items sent, as the
// dispatcher does once JetStream acknowledged the publishes of a round:
// one item, or eight (a document to eight agencies, or eight documents
// published together). cpu-µs/item is the CPU of the batch per item.
func BenchmarkStore_MarkSent(b *testing.B) {
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			s := openBenchStore(b, store.SynchronousFull)
			ctx := b.Context()
			holdOutbox(b, s, 100)
			recipients := make([]string, n)
			for i := range recipients {
				recipients[i] = fmt.Sprintf("000.00.%02d.H26", i+1)
			}
			var (
				items []gateway.OutboxItem
				docs  int
			)
			perOp := againstFloor(b, openFloor(b, store.SynchronousFull, reply), func() error {
				docs++
				if _, _, err := s.AcceptDocument(ctx, newAccept(vpcp, fmt.Sprintf("doc-%d", docs), time.Now(), recipients...)); err != nil {
					return err
				}
				var err error
				items, err = s.DueOutbox(ctx, time.Now(), 128)
				if err == nil && len(items) != n {
					err = fmt.Errorf("%d items due, want %d", len(items), n)
				}
				return err
			}, func() error {
				marked, err := s.MarkSent(ctx, items, time.Now())
				if err == nil && marked != n {
					err = fmt.Errorf("%d items marked, want %d", marked, n)
				}
				return err
			})
			b.ReportMetric(float64(perOp)/float64(n)/float64(time.Microsecond), "cpu-µs/item")
		})
	}
}

// BenchmarkStore_DispatchRound is the store's part of a round of the
// dispatcher after the agency of an incoming document posted a status
// (05, 1 KB): the due items read, the status packet read, the item marked
// sent; the outbox holds 100 items postponed (holdOutbox) besides.
// Posting the status (EmitStatus) is not measured.
func BenchmarkStore_DispatchRound(b *testing.B) {
	reply := newPacket(gateway.KindStatus, t0, 1024).Data
	s := openBenchStore(b, store.SynchronousFull)
	ctx := b.Context()
	holdOutbox(b, s, 100)
	docs := receivedDocs(b, s, reply)
	if items, err := s.DueOutbox(ctx, time.Now(), 1000); err != nil {
		b.Fatal(err)
	} else if _, err := s.MarkSent(ctx, items, time.Now()); err != nil {
		b.Fatal(err)
	}
	var n int
	againstFloor(b, openFloor(b, store.SynchronousFull, reply), func() error {
		now := time.Now()
		n++
		return s.EmitStatus(ctx, gateway.EmitStatus{
			Document:   docs[n%len(docs)],
			Recipients: []string{vpcp},
			Party:      envelope.PartyRecipient,
			Reply: gateway.Reply{
				Packet: gateway.NewPacket{ID: gateway.NewID(now), Kind: gateway.KindStatus, Data: reply},
				To:     hanoi, Code: envelope.StatusProcessing, By: vpcp, Description: "Đang xử lý", At: now,
			},
			SendTo: []string{hanoi},
			At:     now,
		})
	}, func() error {
		items, err := s.DueOutbox(ctx, time.Now(), 128)
		if err != nil {
			return err
		}
		if len(items) != 1 {
			return fmt.Errorf("%d items due, want 1", len(items))
		}
		if _, err := s.Packet(ctx, items[0].PacketID); err != nil {
			return err
		}
		_, err = s.MarkSent(ctx, items, time.Now())
		return err
	})
}

// BenchmarkStore_DocumentsByState lists the documents with a delivery in
// a state none of them has, on a store of 2,000 outgoing documents to two
// recipients each: the list reads every document's deliveries, the cost
// of the State filter at its worst.
func BenchmarkStore_DocumentsByState(b *testing.B) {
	s := openBenchStore(b, store.SynchronousNormal)
	data := newPacket(gateway.KindEdoc, t0, 1024).Data
	for i := range 2000 {
		a := newAccept(vpcp, fmt.Sprintf("out-%d", i), t0.Add(time.Duration(i)*time.Second), hanoi, hue)
		a.Packet.Data = data
		if _, _, err := s.AcceptDocument(b.Context(), a); err != nil {
			b.Fatal(err)
		}
	}
	rejected := envelope.StateRejected
	// The process's CPU time as well: less noisy than the wall's on a
	// shared machine.
	cpu := benchfloor.CPUTime(b)
	for b.Loop() {
		page, err := s.Documents(b.Context(), gateway.DocumentQuery{State: &rejected})
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Documents) != 0 {
			b.Fatalf("%d documents rejected, want none", len(page.Documents))
		}
	}
	b.ReportMetric(float64((benchfloor.CPUTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkStore_Delivery is what one delivery costs the stores of its
// sender and its recipient, the steps of TestStore_DeliveryCost one after
// the other (accepted, dispatched, received with its 01, which is
// dispatched and applied, then 03 and 06 posted, dispatched and applied),
// against the floor of a committed insert of its packet, synchronous
// FULL: the CPU that the test's frames and statements stand for.
func BenchmarkStore_Delivery(b *testing.B) {
	sender, recipient := openBenchStore(b, store.SynchronousFull), openBenchStore(b, store.SynchronousFull)
	ctx := b.Context()
	data := newPacket(gateway.KindEdoc, t0, 2048).Data
	dispatch := func(s *store.Store, at time.Time) error {
		items, err := s.DueOutbox(ctx, at.Add(time.Hour), 128)
		if err != nil {
			return err
		}
		if len(items) != 1 {
			return fmt.Errorf("%d items due, want 1", len(items))
		}
		if _, err := s.Packet(ctx, items[0].PacketID); err != nil {
			return err
		}
		_, err = s.MarkSent(ctx, items, at)
		return err
	}
	var n int
	delivery := func() error {
		n++
		at, docID := time.Now(), fmt.Sprintf("doc-%d", n)
		if _, _, err := sender.AcceptDocument(ctx, newAccept(vpcp, docID, at, hanoi)); err != nil {
			return err
		}
		if err := dispatch(sender, at); err != nil {
			return err
		}
		in, _, err := recipient.ReceiveDocument(ctx, newReceive(hanoi, vpcp, docID, at))
		if err != nil {
			return err
		}
		if err := dispatch(recipient, at); err != nil {
			return err
		}
		for _, code := range []envelope.StatusCode{envelope.StatusArrived, envelope.StatusAccepted, envelope.StatusDone} {
			if code != envelope.StatusArrived {
				if _, err := recipient.DocumentSummary(ctx, in.ID); err != nil {
					return err
				}
				e := emitStatus(in.ID, envelope.PartyRecipient, code, hanoi, "", []string{hanoi}, at)
				e.SendTo = []string{vpcp}
				if err := recipient.EmitStatus(ctx, e); err != nil {
					return err
				}
				if err := dispatch(recipient, at); err != nil {
					return err
				}
			}
			res, err := sender.ApplyStatus(ctx, newStatus(vpcp, hanoi, docID, code, at))
			if err == nil && (res.Duplicate || res.Refused != nil) {
				err = fmt.Errorf("%s: %+v", code, res)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	againstFloor(b, openFloor(b, store.SynchronousFull, data), nil, delivery)
}

// BenchmarkStore_AcceptRecipients accepts documents for 1, 3 and 60
// recipients (a circular), synchronous FULL, and reports the process's
// CPU per document: each recipient's delivery, queued event and outbox
// item are written by one statement each for all of them.
func BenchmarkStore_AcceptRecipients(b *testing.B) {
	for _, n := range []int{1, 3, 60} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			s := openBenchStore(b, store.SynchronousFull)
			data := newPacket(gateway.KindEdoc, t0, 2048).Data
			recipients := make([]string, n)
			for i := range recipients {
				recipients[i] = fmt.Sprintf("000.00.%02d.G%02d", i/100, i%100)
			}
			// The process's CPU time: less noisy than the wall's on a
			// shared machine.
			cpu := benchfloor.CPUTime(b)
			i := 0
			for b.Loop() {
				i++
				a := newAccept(vpcp, fmt.Sprintf("out-%d", i), t0.Add(time.Duration(i)*time.Second), recipients...)
				a.Packet.Data = data
				if _, _, err := s.AcceptDocument(b.Context(), a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((benchfloor.CPUTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
