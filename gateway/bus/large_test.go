package bus_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
)

// TestBus_LargePacketChunkRefused: the stream refuses some of a large
// packet's chunks (here: it is full) while others are in flight; the
// publish fails, and the packet's message is not published, since it would
// name chunks that are not there. Once the stream takes them again, the
// same publish stores the missing chunks, keeps those stored, and the
// recipient reads the packet intact.
func TestBus_LargePacketChunkRefused(t *testing.T) {
	b, srv := withBus(t)
	js := rawJetStream(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	large, err := js.Stream(ctx, bus.StreamLarge)
	if err != nil {
		t.Fatal(err)
	}
	cfg := large.CachedInfo().Config
	full := cfg
	full.MaxBytes = 1 << 20 // 3 chunks of the packet's 13, about
	if _, err := js.UpdateStream(ctx, full); err != nil {
		t.Fatalf("limit %s: %v", bus.StreamLarge, err)
	}

	packet := randomBytes(t, 3<<20+17)
	pub := gateway.Publication{Subject: gateway.Subject(gateway.KindEdoc, agencyH41), MsgID: "refused:000.00.12.H41", Packet: packet}
	if _, err := b.Publish(ctx, pub); err == nil {
		t.Fatal("Publish succeeded with chunks refused")
	}
	edoc, err := js.Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	info, err := edoc.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("%s holds %d messages after the failed publish, want none", bus.StreamEdoc, info.State.Msgs)
	}
	stored, err := large.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State.Msgs == 0 {
		t.Fatalf("%s holds no chunk: the limit did not let the publish start", bus.StreamLarge)
	}

	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("lift the limit of %s: %v", bus.StreamLarge, err)
	}
	if _, err := b.Publish(ctx, pub); err != nil {
		t.Fatalf("Publish again: %v", err)
	}
	chunks := (len(packet) + bus.LargeChunk - 1) / bus.LargeChunk
	after, err := large.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int(after.State.Msgs) != chunks {
		t.Errorf("%s holds %d messages, want %d chunks", bus.StreamLarge, after.State.Msgs, chunks)
	}
	col := newCollector(nil)
	consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
	if r := col.next(t); r.PacketErr != nil || !bytes.Equal(r.Packet, packet) {
		t.Fatalf("Packet: %d bytes, %v; want the packet", len(r.Packet), r.PacketErr)
	}
}

// BenchmarkBus_PublishLarge publishes a packet of the size of lienthong
// bench -large's (a 50 MiB attachment), a different one each time so that
// no chunk is reused: the SHA-256s, the encryption and the chunks' puts.
func BenchmarkBus_PublishLarge(b *testing.B) {
	bs, _ := withBus(b)
	packet := randomBytes(b, 69908266)
	subject := gateway.Subject(gateway.KindEdoc, agencyH41)
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		packet[0] = byte(i)
		if _, err := bs.Publish(b.Context(), gateway.Publication{Subject: subject, MsgID: fmt.Sprintf("large-%d", i), Packet: packet}); err != nil {
			b.Fatalf("Publish: %v", err)
		}
	}
}
