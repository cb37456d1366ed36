package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// BenchmarkBus_PublishConsume publishes 20 KB packets, each waiting for
// its publish ack, while a consumer receives them, reads the packet
// (SHA-256 checked) and acks each with a confirmed ack. It ends when the
// last message is acked.
func BenchmarkBus_PublishConsume(b *testing.B) {
	bs, _ := withBus(b)
	packet := randomBytes(b, 20<<10)
	var acked atomic.Int64
	done := make(chan struct{})
	var n int64
	h := func(ctx context.Context, m gateway.Message) {
		if _, err := m.Packet(ctx); err != nil {
			b.Errorf("Packet: %v", err)
		}
		if err := m.Ack(ctx); err != nil {
			b.Errorf("Ack: %v", err)
			return
		}
		if acked.Add(1) == atomic.LoadInt64(&n) {
			close(done)
		}
	}
	ctx := context.Background()
	consume(b, bs, gateway.ConsumerSpec{Gateway: "bench", Agencies: []envelope.AgencyCode{agencyH41}}, h)
	subject := gateway.Subject(gateway.KindEdoc, agencyH41)
	atomic.StoreInt64(&n, int64(b.N))
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := bs.Publish(ctx, gateway.Publication{Subject: subject, MsgID: fmt.Sprintf("bench-%d", i), Packet: packet}); err != nil {
			b.Fatalf("Publish: %v", err)
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d messages acked after a minute", acked.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
