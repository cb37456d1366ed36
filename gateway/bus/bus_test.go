package bus_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/internal/nettest"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBus_PublishConsume(t *testing.T) {
	tests := []struct {
		name string
		kind gateway.PacketKind
	}{
		{name: "Edoc", kind: gateway.KindEdoc},
		{name: "Status", kind: gateway.KindStatus},
	}
	b, _ := withBus(t)
	col := newCollector(nil)
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			packet := []byte("<edXML>" + tt.name + "</edXML>")
			ack := publish(t, b, tt.kind, agencyH41, "p-"+tt.name+":000.00.12.H41", packet)
			wantStream := bus.StreamEdoc
			if tt.kind == gateway.KindStatus {
				wantStream = bus.StreamStatus
			}
			if ack.Stream != wantStream || ack.Sequence == 0 || ack.Duplicate {
				t.Errorf("ack = %+v, want stream %s, a sequence, not a duplicate", ack, wantStream)
			}
			r := col.next(t)
			if r.PacketErr != nil {
				t.Fatalf("Packet: %v", r.PacketErr)
			}
			if got, want := r.Subject, gateway.Subject(tt.kind, agencyH41); got != want {
				t.Errorf("Subject = %q, want %q", got, want)
			}
			if got, want := r.MsgID, "p-"+tt.name+":000.00.12.H41"; got != want {
				t.Errorf("MsgID = %q, want %q", got, want)
			}
			if r.Kind != tt.kind {
				t.Errorf("Kind = %q, want %q", r.Kind, tt.kind)
			}
			if !bytes.Equal(r.Packet, packet) {
				t.Errorf("Packet = %q, want %q", r.Packet, packet)
			}
			if r.NumDelivered != 1 {
				t.Errorf("NumDelivered = %d, want 1", r.NumDelivered)
			}
		})
	}
	col.settled(t, c)
}

func TestBus_PublishHeaders(t *testing.T) {
	b, srv := withBus(t)
	packet := []byte("<edXML>headers</edXML>")
	ack := publish(t, b, gateway.KindEdoc, agencyG22, "doc1:000.00.00.G22", packet)
	js := rawJetStream(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := js.Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Header.Get("Nats-Msg-Id"), "doc1:000.00.00.G22"; got != want {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, want)
	}
	if got, want := m.Header.Get(bus.HeaderSHA256), sha(packet); got != want {
		t.Errorf("%s = %q, want %q", bus.HeaderSHA256, got, want)
	}
	if got := m.Header.Get(bus.HeaderLarge); got != "" {
		t.Errorf("%s = %q on an inline packet", bus.HeaderLarge, got)
	}
	if !bytes.Equal(m.Data, packet) {
		t.Errorf("body = %q, want the packet", m.Data)
	}
}

func TestBus_PublishRefused(t *testing.T) {
	b, _ := withBus(t)
	tests := []struct {
		name string
		pub  gateway.Publication
	}{
		{name: "OutsideTheStreams", pub: gateway.Publication{Subject: "other.G22", MsgID: "x", Packet: []byte("x")}},
		{name: "NoMsgID", pub: gateway.Publication{Subject: "lt.edoc.G22", Packet: []byte("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if _, err := b.Publish(ctx, tt.pub); err == nil {
				t.Fatal("Publish succeeded, want an error")
			}
		})
	}
}

func TestBus_Duplicate(t *testing.T) {
	b, _ := withBus(t)
	col := newCollector(nil)
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
	first := publish(t, b, gateway.KindEdoc, agencyH41, "dup:000.00.12.H41", []byte("one"))
	second := publish(t, b, gateway.KindEdoc, agencyH41, "dup:000.00.12.H41", []byte("one"))
	if first.Duplicate {
		t.Errorf("first publish is a duplicate: %+v", first)
	}
	if !second.Duplicate || second.Sequence != first.Sequence {
		t.Errorf("second publish = %+v, want a duplicate of sequence %d", second, first.Sequence)
	}
	if r := col.next(t); r.MsgID != "dup:000.00.12.H41" {
		t.Errorf("MsgID = %q", r.MsgID)
	}
	col.settled(t, c)
}

func TestBus_LargePacket(t *testing.T) {
	b, srv := withBus(t)
	col := newCollector(nil)
	consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
	packet := randomBytes(t, 3<<20+17)
	ack := publish(t, b, gateway.KindEdoc, agencyH41, "big:000.00.12.H41", packet)

	js := rawJetStream(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := js.Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Data) != 0 {
		t.Errorf("the message body has %d bytes, want none", len(raw.Data))
	}
	name := raw.Header.Get(bus.HeaderLarge)
	if want := "gateway." + sha(packet) + "."; !strings.HasPrefix(name, want) || strings.Count(name, ".") != 2 {
		t.Errorf("%s = %q, want %s<hour> (the sending gateway's token, the SHA-256, the hour)", bus.HeaderLarge, name, want)
	}
	// The chunks are under the sender's token, encrypted.
	large, err := js.Stream(ctx, bus.StreamLarge)
	if err != nil {
		t.Fatal(err)
	}
	chunks := (len(packet) + bus.LargeChunk - 1) / bus.LargeChunk
	first, err := large.GetLastMsgForSubject(ctx, bus.LargeSubjectPrefix+name+".0")
	if err != nil {
		t.Fatalf("chunk 0: %v", err)
	}
	if len(first.Data) != bus.LargeChunk || bytes.Equal(first.Data, packet[:bus.LargeChunk]) {
		t.Errorf("chunk 0: %d bytes, in the clear: %v", len(first.Data), bytes.Equal(first.Data, packet[:bus.LargeChunk]))
	}
	info, err := large.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int(info.State.Msgs) != chunks {
		t.Errorf("%s holds %d messages, want %d chunks", bus.StreamLarge, info.State.Msgs, chunks)
	}

	r := col.next(t)
	if r.PacketErr != nil {
		t.Fatalf("Packet: %v", r.PacketErr)
	}
	if !bytes.Equal(r.Packet, packet) {
		t.Fatalf("Packet: %d bytes, SHA-256 %s; want %d bytes, %s", len(r.Packet), sha(r.Packet), len(packet), sha(packet))
	}

	// The same packet to another recipient reuses the chunks.
	publish(t, b, gateway.KindEdoc, agencyH41, "big:000.00.12.H41:again", packet)
	if r := col.next(t); r.PacketErr != nil || !bytes.Equal(r.Packet, packet) {
		t.Fatalf("second Packet: %d bytes, %v", len(r.Packet), r.PacketErr)
	}
	again, err := large.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.State.LastSeq != info.State.LastSeq {
		t.Errorf("the chunks were put again (last sequence %d, was %d)", again.State.LastSeq, info.State.LastSeq)
	}
	// Nobody, not even with every right, deletes, purges or replaces a
	// chunk — a replacement could come as JetStream's answer to a request
	// whose reply subject is the chunk's, which no permission stops.
	if err := large.Purge(ctx); err == nil {
		t.Error("StreamLarge was purged")
	}
	if err := large.DeleteMsg(ctx, first.Sequence); err == nil {
		t.Error("a chunk was deleted")
	}
	if _, err := js.Publish(ctx, bus.LargeSubjectPrefix+name+".0", []byte("replaced")); err == nil {
		t.Error("a chunk was replaced")
	}
	if m, err := large.GetLastMsgForSubject(ctx, bus.LargeSubjectPrefix+name+".0"); err != nil || m.Sequence != first.Sequence {
		t.Errorf("chunk 0 after the attempts: %v", err)
	}
}

// TestBus_PacketDamaged: what a sender may lie about in a large packet's
// message, and a chunk that went, give errors, never a packet.
func TestBus_PacketDamaged(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(h nats.Header, packet []byte)
		wantErr error
	}{
		{"ChunkMissing", func(h nats.Header, p []byte) { h.Set(bus.HeaderSize, strconv.Itoa(len(p)+bus.LargeChunk)) }, bus.ErrPacketMissing},
		{"WrongSize", func(h nats.Header, p []byte) { h.Set(bus.HeaderSize, strconv.Itoa(len(p)-1)) }, bus.ErrPacketMismatch},
		{"Huge", func(h nats.Header, _ []byte) { h.Set(bus.HeaderSize, "1000000000000") }, bus.ErrPacketMismatch},
		{"WrongKey", func(h nats.Header, _ []byte) {
			h.Set(bus.HeaderKey, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
		}, bus.ErrPacketMismatch},
		{"BadKey", func(h nats.Header, _ []byte) { h.Set(bus.HeaderKey, "short") }, bus.ErrPacketMismatch},
		{"AnotherPacket", func(h nats.Header, _ []byte) { h.Set(bus.HeaderLarge, "test."+sha([]byte("other"))) }, bus.ErrPacketMismatch},
		{"NotAName", func(h nats.Header, p []byte) { h.Set(bus.HeaderLarge, "a.b."+sha(p)) }, bus.ErrPacketMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, srv := withBus(t)
			packet := randomBytes(t, 1<<20)
			ack := publish(t, b, gateway.KindEdoc, agencyG22, "damaged:000.00.00.G22", packet)
			js := rawJetStream(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			s, err := js.Stream(ctx, bus.StreamEdoc)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := s.GetMsg(ctx, ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			h := raw.Header
			tt.damage(h, packet)
			msg := &nats.Msg{Subject: gateway.Subject(gateway.KindEdoc, agencyH41), Header: h}
			if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID("forged")); err != nil {
				t.Fatal(err)
			}
			col := newCollector(nil)
			consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
			r := col.next(t)
			if !errors.Is(r.PacketErr, tt.wantErr) {
				t.Fatalf("Packet error = %v, want %v", r.PacketErr, tt.wantErr)
			}
			if r.Packet != nil {
				t.Errorf("Packet returned %d bytes with the error", len(r.Packet))
			}
		})
	}
}

func TestBus_InlinePacketMismatch(t *testing.T) {
	b, srv := withBus(t)
	js := rawJetStream(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	msg := &nats.Msg{Subject: gateway.Subject(gateway.KindEdoc, agencyH41), Data: []byte("tampered"), Header: nats.Header{}}
	msg.Header.Set(bus.HeaderSHA256, sha([]byte("original")))
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID("forged")); err != nil {
		t.Fatal(err)
	}
	col := newCollector(nil)
	consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
	if r := col.next(t); !errors.Is(r.PacketErr, bus.ErrPacketMismatch) {
		t.Fatalf("Packet error = %v, want ErrPacketMismatch", r.PacketErr)
	}
}

func TestBus_ConsumerFilter(t *testing.T) {
	b, _ := withBus(t)
	colA, colB := newCollector(nil), newCollector(nil)
	consA := consume(t, b, gateway.ConsumerSpec{Gateway: "gw.a", Agencies: []envelope.AgencyCode{agencyH41, agencyH37}}, colA.handle)
	consB := consume(t, b, gateway.ConsumerSpec{Gateway: "gw.b", Agencies: []envelope.AgencyCode{agencyG22}}, colB.handle)
	h41Child := envelope.MustAgencyCode("002.00.12.H41") // H41.12.00.002: not hosted, under H41.12
	for _, code := range []envelope.AgencyCode{agencyH41, agencyH37, agencyG22, h41Child} {
		for _, kind := range []gateway.PacketKind{gateway.KindEdoc, gateway.KindStatus} {
			publish(t, b, kind, code, fmt.Sprintf("%s:%s", kind, code), []byte(code.String()))
		}
	}
	got := func(c *collector, cons gateway.Consumer, n int) []string {
		var subjects []string
		for range n {
			r := c.next(t)
			if r.PacketErr != nil {
				t.Errorf("Packet: %v", r.PacketErr)
			}
			subjects = append(subjects, r.Subject)
		}
		c.settled(t, cons)
		slices.Sort(subjects)
		return subjects
	}
	wantA := []string{"lt.edoc.H37.02.02", "lt.edoc.H41.12", "lt.status.H37.02.02", "lt.status.H41.12"}
	if a := got(colA, consA, 4); !slices.Equal(a, wantA) {
		t.Errorf("gateway A received %q, want %q", a, wantA)
	}
	wantB := []string{"lt.edoc.G22", "lt.status.G22"}
	if b := got(colB, consB, 2); !slices.Equal(b, wantB) {
		t.Errorf("gateway B received %q, want %q", b, wantB)
	}
}

func TestBus_Nak(t *testing.T) {
	b, _ := withBus(t)
	col := newCollector(func(m gateway.Message) {
		if m.NumDelivered() == 1 {
			if err := m.Nak(0); err != nil {
				t.Errorf("Nak: %v", err)
			}
			return
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Errorf("Ack: %v", err)
		}
	})
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
	publish(t, b, gateway.KindStatus, agencyH41, "nak:000.00.12.H41", []byte("status"))
	if r := col.next(t); r.NumDelivered != 1 {
		t.Fatalf("first delivery: NumDelivered = %d, want 1", r.NumDelivered)
	}
	r := col.next(t)
	if r.NumDelivered != 2 || r.MsgID != "nak:000.00.12.H41" {
		t.Fatalf("second delivery: %s NumDelivered = %d, want 2", r.MsgID, r.NumDelivered)
	}
	col.settled(t, c)
}

func TestBus_Term(t *testing.T) {
	b, _ := withBus(t)
	col := newCollector(func(m gateway.Message) {
		if err := m.Term("quarantined"); err != nil {
			t.Errorf("Term: %v", err)
		}
	})
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}, AckWait: 500 * time.Millisecond}, col.handle)
	publish(t, b, gateway.KindEdoc, agencyH41, "term:000.00.12.H41", []byte("bad"))
	col.next(t)
	// Terminated, it is no longer pending: it cannot come again.
	col.settled(t, c)
}

func TestBus_Unsettled(t *testing.T) {
	b, _ := withBus(t)
	col := newCollector(func(m gateway.Message) {
		if m.NumDelivered() > 1 {
			_ = m.Ack(context.Background())
		}
	})
	consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}, AckWait: 500 * time.Millisecond}, col.handle)
	publish(t, b, gateway.KindEdoc, agencyH41, "slow:000.00.12.H41", []byte("x"))
	col.next(t)
	if r := col.next(t); r.NumDelivered != 2 {
		t.Fatalf("NumDelivered = %d after the ack wait, want 2", r.NumDelivered)
	}
}

func TestBus_Concurrency(t *testing.T) {
	b, _ := withBus(t)
	const n = 3
	started := make(chan struct{}, 10)
	ch := make(chan struct{})
	release := sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release) // handlers never outlive a failed test
	h := func(ctx context.Context, m gateway.Message) {
		started <- struct{}{}
		<-ch
		_ = m.Ack(ctx)
	}
	// Six consumers (three agencies, two streams), one bound for them all.
	agencies := []envelope.AgencyCode{agencyH41, agencyG22, agencyH37}
	consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: agencies, Concurrency: n}, h)
	for i := range 6 {
		kind := gateway.KindEdoc
		if i%2 == 1 {
			kind = gateway.KindStatus
		}
		publish(t, b, kind, agencies[i/2], fmt.Sprintf("c%d", i), []byte("x"))
	}
	for range n {
		select {
		case <-started:
		case <-time.After(wait):
			t.Fatal("handlers did not start")
		}
	}
	select {
	case <-started:
		t.Fatalf("more than %d handlers ran at once", n)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	for range 6 - n {
		select {
		case <-started:
		case <-time.After(wait):
			t.Fatal("the remaining handlers did not run")
		}
	}
}

// Drain waits for the handlers in flight on every consumer of the
// gateway, then none of them delivers any more.
func TestBus_Drain(t *testing.T) {
	b, srv := withBus(t)
	inHandler := make(chan string, 8)
	ch := make(chan struct{})
	release := sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release)
	acked := make(chan error, 8)
	h := func(ctx context.Context, m gateway.Message) {
		inHandler <- m.MsgID()
		<-ch
		acked <- m.Ack(ctx)
	}
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41, agencyG22}}, h)
	publish(t, b, gateway.KindEdoc, agencyH41, "drain:000.00.12.H41", []byte("x"))
	publish(t, b, gateway.KindStatus, agencyG22, "drain:000.00.00.G22", []byte("x"))
	for range 2 {
		select {
		case <-inHandler:
		case <-time.After(wait):
			t.Fatal("the handlers did not start")
		}
	}
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		drained <- c.Drain(ctx)
	}()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while handlers were running", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Drain did not return after the handlers finished")
	}
	for range 2 {
		if err := <-acked; err != nil {
			t.Errorf("Ack in a draining handler: %v", err)
		}
	}
	// Drain has returned: the consumption makes no new pull request.
	newPerAgencyConsumers(t, srv).lateStayPending(b, "after Drain")
	select {
	case id := <-inHandler:
		t.Fatalf("%s was handled after Drain", id)
	default:
	}
}

func TestBus_DrainTimeout(t *testing.T) {
	b, _ := withBus(t)
	inHandler := make(chan struct{})
	h := func(ctx context.Context, m gateway.Message) {
		close(inHandler)
		<-ctx.Done() // until Stop cancels it
	}
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, h)
	publish(t, b, gateway.KindEdoc, agencyH41, "stuck", []byte("x"))
	select {
	case <-inHandler:
	case <-time.After(wait):
		t.Fatal("the handler did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %v, want DeadlineExceeded", err)
	}
}

func TestBus_ServerRestart(t *testing.T) {
	dir := t.TempDir()
	// Started again on its port: one the kernel chose could be taken,
	// while the server is down, by an outgoing connection.
	port := nettest.Port(t)
	srv, err := bus.StartServer(bus.ServerOptions{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	b := openBus(t, srv.ClientURL(), bus.Options{})
	spec := gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}, AckWait: time.Second}

	// Before: one message acked, two left unsettled.
	col := newCollector(func(m gateway.Message) {
		if m.MsgID() == "acked" {
			if err := m.Ack(context.Background()); err != nil {
				t.Errorf("Ack: %v", err)
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	c, err := b.Consume(ctx, spec, col.handle)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for _, id := range []string{"acked", "kept1", "kept2"} {
		publish(t, b, gateway.KindEdoc, agencyH41, id, []byte(id))
	}
	seen := map[string]bool{}
	for len(seen) < 3 {
		seen[col.next(t).MsgID] = true
	}
	c.Stop()
	cancel()

	srv.Shutdown()
	srv.WaitForShutdown()
	deadline := time.Now().Add(wait)
	for b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the bus still says it is connected after the server shut down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	startServerPort(t, dir, port)
	for !b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the bus did not reconnect to the restarted server")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// After: the unsettled ones come again, the acked one does not.
	col2 := newCollector(nil)
	c2 := consume(t, b, spec, col2.handle)
	got := map[string]uint64{}
	for len(got) < 2 {
		r := col2.next(t)
		if r.PacketErr != nil {
			t.Errorf("Packet: %v", r.PacketErr)
		}
		got[r.MsgID] = r.NumDelivered
	}
	col2.settled(t, c2)
	for _, id := range []string{"kept1", "kept2"} {
		if n, ok := got[id]; !ok || n < 2 {
			t.Errorf("%s: delivered %v (NumDelivered %d), want a redelivery", id, ok, n)
		}
	}
	if _, ok := got["acked"]; ok {
		t.Error("the acked message was delivered again")
	}

	// Publishing works on the restarted server.
	publish(t, b, gateway.KindEdoc, agencyH41, "after", []byte("after"))
	if r := col2.next(t); r.MsgID != "after" {
		t.Errorf("after the restart got %s, want after", r.MsgID)
	}
}

func TestBus_AgencyListChange(t *testing.T) {
	b, _ := withBus(t)
	spec := gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}
	col := newCollector(nil)
	c := consume(t, b, spec, col.handle)
	publish(t, b, gateway.KindEdoc, agencyH41, "1", []byte("1"))
	col.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	// H41 leaves, G22 comes.
	spec.Agencies = []envelope.AgencyCode{agencyG22}
	col2 := newCollector(nil)
	c2 := consume(t, b, spec, col2.handle)
	publish(t, b, gateway.KindEdoc, agencyH41, "2", []byte("2"))
	publish(t, b, gateway.KindStatus, agencyG22, "3", []byte("3"))
	if r := col2.next(t); r.Subject != "lt.status.G22" {
		t.Errorf("got %s on %s, want lt.status.G22", r.MsgID, r.Subject)
	}
	col2.settled(t, c2)
}

// msgIDs returns the MsgIDs of the next n messages of c, sorted, with how
// many times each was delivered.
func msgIDs(t *testing.T, c *collector, n int) ([]string, map[string]uint64) {
	t.Helper()
	delivered := map[string]uint64{}
	var ids []string
	for range n {
		r := c.next(t)
		if r.PacketErr != nil {
			t.Errorf("%s: Packet or Ack: %v", r.MsgID, r.PacketErr)
		}
		ids = append(ids, r.MsgID)
		delivered[r.MsgID] = r.NumDelivered
	}
	slices.Sort(ids)
	return ids, delivered
}

// An agency added to a running gateway gets the messages published for it
// before, although the gateway's consumers of the other agency have
// already gone past them in the stream.
func TestBus_AgencyAdded(t *testing.T) {
	b, _ := withBus(t)
	spec := gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}
	col := newCollector(nil)
	c := consume(t, b, spec, col.handle)
	publish(t, b, gateway.KindEdoc, agencyH41, "h41-1", []byte("1"))
	publish(t, b, gateway.KindEdoc, agencyG22, "g22-edoc", []byte("early"))
	publish(t, b, gateway.KindStatus, agencyG22, "g22-status", []byte("early"))
	publish(t, b, gateway.KindEdoc, agencyH41, "h41-2", []byte("2"))
	publish(t, b, gateway.KindStatus, agencyH41, "h41-3", []byte("3"))
	if got, _ := msgIDs(t, col, 3); !slices.Equal(got, []string{"h41-1", "h41-2", "h41-3"}) {
		t.Fatalf("before: got %q", got)
	}
	col.settled(t, c)
	c.Stop()

	// G22 is added to the gateway's list.
	spec.Agencies = []envelope.AgencyCode{agencyH41, agencyG22}
	col2 := newCollector(nil)
	c2 := consume(t, b, spec, col2.handle)
	got, delivered := msgIDs(t, col2, 2)
	if want := []string{"g22-edoc", "g22-status"}; !slices.Equal(got, want) {
		t.Errorf("after G22 was added: got %q, want %q", got, want)
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("%s: NumDelivered = %d, want 1", id, n)
		}
	}
	col2.settled(t, c2) // H41's acked messages stay acked
	publish(t, b, gateway.KindEdoc, agencyG22, "g22-after", []byte("after"))
	if r := col2.next(t); r.MsgID != "g22-after" {
		t.Errorf("then got %s, want g22-after", r.MsgID)
	}
}

// An agency that moves from gateway A to gateway B goes on where A left
// off: B gets what A left unacked and what came while no one hosted it,
// and nothing A acked. A keeps its other agency's position.
func TestBus_AgencyMoves(t *testing.T) {
	b, _ := withBus(t)
	const ackWait = 500 * time.Millisecond
	colA := newCollector(func(m gateway.Message) {
		if m.MsgID() == "h41-unsettled" {
			return // left for the ack wait
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Errorf("Ack %s: %v", m.MsgID(), err)
		}
	})
	a := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41, agencyH37}, AckWait: ackWait}, colA.handle)
	publish(t, b, gateway.KindEdoc, agencyH41, "h41-1", []byte("1"))
	publish(t, b, gateway.KindStatus, agencyH41, "h41-2", []byte("2"))
	publish(t, b, gateway.KindEdoc, agencyH41, "h41-unsettled", []byte("u"))
	publish(t, b, gateway.KindEdoc, agencyH37, "h37-1", []byte("1"))
	seen := map[string]bool{}
	for len(seen) < 4 {
		seen[colA.next(t).MsgID] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	// While no gateway hosts H41.
	publish(t, b, gateway.KindEdoc, agencyH41, "h41-3", []byte("3"))
	publish(t, b, gateway.KindStatus, agencyH41, "h41-4", []byte("4"))
	publish(t, b, gateway.KindEdoc, agencyH37, "h37-2", []byte("2"))

	// H41 moves to B; A goes on with H37 alone.
	colB := newCollector(nil)
	consB := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-b", Agencies: []envelope.AgencyCode{agencyG22, agencyH41}, AckWait: ackWait}, colB.handle)
	colA2 := newCollector(nil)
	consA2 := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH37}, AckWait: ackWait}, colA2.handle)

	got, delivered := msgIDs(t, colB, 3)
	if want := []string{"h41-3", "h41-4", "h41-unsettled"}; !slices.Equal(got, want) {
		t.Errorf("B got %q, want %q", got, want)
	}
	if n := delivered["h41-unsettled"]; n < 2 {
		t.Errorf("h41-unsettled: NumDelivered = %d on B, want 2 or more (the consumer A used)", n)
	}
	colB.settled(t, consB)
	if got, _ := msgIDs(t, colA2, 1); !slices.Equal(got, []string{"h37-2"}) {
		t.Errorf("A got %q for H37, want h37-2", got)
	}
	colA2.settled(t, consA2)
}

func TestBus_WatchDirectory(t *testing.T) {
	b, srv := withBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// The bus carries records as they are: judging them is the
	// gateway's Directory's work.
	if err := b.PutRecord(ctx, "H41.12", []byte(`{"record":"h41"}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "H37.02.02", []byte("not even JSON")); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "not a key", []byte("x")); err == nil {
		t.Error("PutRecord under a key NATS does not allow succeeded")
	}
	if v, err := b.DirectoryRecord(ctx, "H41.12"); err != nil || string(v) != `{"record":"h41"}` {
		t.Errorf("DirectoryRecord = %q, %v", v, err)
	}
	if _, err := b.DirectoryRecord(ctx, "G22"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("DirectoryRecord of a missing key = %v, want ErrKeyNotFound", err)
	}

	// watchers is how many consumers read the directory's stream: a
	// watch has one until it ends, after its last call of fn.
	js := rawJetStream(t, srv)
	watchers := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		s, err := js.Stream(ctx, "KV_"+bus.BucketDirectory)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	before := watchers()
	got := make(chan gateway.DirectoryUpdate, 100)
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	if err := b.WatchDirectory(wctx, nil, func(u gateway.DirectoryUpdate) { got <- u }); err != nil {
		t.Fatal(err)
	}
	// The initial entries are in before WatchDirectory returns.
	var initial []gateway.DirectoryUpdate
	for len(got) > 0 {
		initial = append(initial, <-got)
	}
	slices.SortFunc(initial, func(x, y gateway.DirectoryUpdate) int { return strings.Compare(x.Key, y.Key) })
	if len(initial) != 2 || initial[0].Key != "H37.02.02" || string(initial[0].Value) != "not even JSON" ||
		initial[1].Key != "H41.12" || string(initial[1].Value) != `{"record":"h41"}` || initial[0].Deleted || initial[1].Deleted {
		t.Fatalf("initial entries %+v, want H37.02.02 and H41.12 as stored", initial)
	}

	next := func() gateway.DirectoryUpdate {
		t.Helper()
		select {
		case u := <-got:
			return u
		case <-time.After(wait):
			t.Fatal("no directory update")
			return gateway.DirectoryUpdate{}
		}
	}
	// An update.
	if err := b.PutRecord(ctx, "H41.12", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if u := next(); u.Key != "H41.12" || string(u.Value) != "v2" || u.Deleted {
		t.Errorf("update = %+v", u)
	}
	// A delete, straight in the KV.
	kv, err := js.KeyValue(ctx, bus.BucketDirectory)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "H37.02.02"); err != nil {
		t.Fatal(err)
	}
	if u := next(); u.Key != "H37.02.02" || !u.Deleted {
		t.Errorf("delete = %+v, want H37.02.02 deleted", u)
	}
	// After ctx is done, nothing more comes: the watch ends, and then
	// deletes its consumer, so that once it is gone nothing was in
	// flight and nothing can come.
	wcancel()
	deadline := time.Now().Add(wait)
	for n := watchers(); n != before; n = watchers() {
		if time.Now().After(deadline) {
			t.Fatalf("the watch still has its consumer %s after its context ended (%d consumers, %d before it)", wait, n, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.PutRecord(ctx, "G22", []byte("late")); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-got:
		t.Errorf("an update after the watch ended: %+v", u)
	default:
	}
}

// TestBus_WatchDirectoryHeld: a gateway that kept the directory passes
// what it holds, and is given only the keys whose revision it does not
// have — with their values, fetched — then every later update.
func TestBus_WatchDirectoryHeld(t *testing.T) {
	b, srv := withBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, k := range []string{"G22", "H41", "H41.12"} {
		if err := b.PutRecord(ctx, k, []byte("v1 "+k)); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := rawJetStream(t, srv).KeyValue(ctx, bus.BucketDirectory)
	if err != nil {
		t.Fatal(err)
	}
	// The revisions the bus hands out, as a gateway keeps them: the
	// bucket's, tagged with its epoch.
	kept := watchedRevisions(t, b)
	revision := func(k string) uint64 {
		t.Helper()
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return e.Revision()
	}
	tag := kept["G22"] - revision("G22")
	if kept["G22"] == 0 || tag == 0 || kept["H41"]-revision("H41") != tag {
		t.Fatalf("revisions handed out %v: want the bucket's, each with one tag", kept)
	}
	// Held: G22 at its revision, H41 at an older one, H41.12 not at all.
	held := map[string]uint64{"G22": kept["G22"], "H41": kept["H41"]}
	if err := b.PutRecord(ctx, "H41", []byte("v2 H41")); err != nil {
		t.Fatal(err)
	}
	got := make(chan gateway.DirectoryUpdate, 100)
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	err = b.WatchDirectory(wctx, func(k string, r uint64) bool { return held[k] == r }, func(u gateway.DirectoryUpdate) { got <- u })
	if err != nil {
		t.Fatal(err)
	}
	var initial []string
	for len(got) > 0 {
		u := <-got
		if want := tag | revision(u.Key); u.Revision != want {
			t.Errorf("%s at revision %d, want %d", u.Key, u.Revision, want)
		}
		initial = append(initial, u.Key+"="+string(u.Value))
	}
	slices.Sort(initial)
	if want := []string{"H41.12=v1 H41.12", "H41=v2 H41"}; !slices.Equal(initial, want) {
		t.Errorf("initial entries %v, want %v (G22 held)", initial, want)
	}
	if err := b.PutRecord(ctx, "G22", []byte("v2 G22")); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-got:
		if u.Key != "G22" || string(u.Value) != "v2 G22" || u.Revision != tag|revision("G22") {
			t.Errorf("update %+v, want G22's v2 with its revision", u)
		}
	case <-time.After(wait):
		t.Fatal("no update of a held key")
	}
}

// watchedRevisions returns the revision WatchDirectory hands out with
// each key's value now.
func watchedRevisions(t *testing.T, b *bus.Bus) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	out := make(map[string]uint64)
	if err := b.WatchDirectory(ctx, nil, func(u gateway.DirectoryUpdate) {
		mu.Lock()
		defer mu.Unlock()
		out[u.Key] = u.Revision
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(out)
}

// TestBus_WatchDirectoryBucketAnew: the directory bucket made again (a
// hub rebuilt, the directory published anew) numbers its revisions from 1
// again; what a gateway kept of the old one, at the same numbers, must not
// keep it from the new values.
func TestBus_WatchDirectoryBucketAnew(t *testing.T) {
	b, srv := withBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	keys := []string{"G22", "H41", "H41.12"}
	for _, k := range keys {
		if err := b.PutRecord(ctx, k, []byte("v1 "+k)); err != nil {
			t.Fatal(err)
		}
	}
	held := watchedRevisions(t, b)

	js := rawJetStream(t, srv)
	kv, err := js.KeyValue(ctx, bus.BucketDirectory)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.(*jetstream.KeyValueBucketStatus).Config()
	if err := js.DeleteKeyValue(ctx, bus.BucketDirectory); err != nil {
		t.Fatal(err)
	}
	// A stream's creation time is kept to the nanosecond: the new one's
	// differs.
	if _, err := js.CreateKeyValue(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	b2 := openBus(t, srv.ClientURL(), bus.Options{}) // the restarted gateway binds the new bucket
	for _, k := range keys {
		if err := b2.PutRecord(ctx, k, []byte("v2 "+k)); err != nil {
			t.Fatal(err)
		}
	}
	got := make(map[string]string)
	var mu sync.Mutex
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	err = b2.WatchDirectory(wctx, func(k string, r uint64) bool { return held[k] == r }, func(u gateway.DirectoryUpdate) {
		mu.Lock()
		defer mu.Unlock()
		got[u.Key] = string(u.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range keys {
		if got[k] != "v2 "+k {
			t.Errorf("%s: %q after the bucket was made anew, want its new value", k, got[k])
		}
	}
}

func TestBus_WatchDirectoryEmpty(t *testing.T) {
	b, _ := withBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got := make(chan gateway.DirectoryUpdate, 10)
	if err := b.WatchDirectory(ctx, nil, func(u gateway.DirectoryUpdate) { got <- u }); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "G22", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-got:
		if u.Key != "G22" {
			t.Errorf("got %+v", u)
		}
	case <-time.After(wait):
		t.Fatal("no update")
	}
}

func TestBus_Heartbeats(t *testing.T) {
	b, srv := withBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if beats, err := b.Gateways(ctx); err != nil || len(beats) != 0 {
		t.Fatalf("Gateways on an empty bucket = %v, %v", beats, err)
	}
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	beats := []gateway.GatewayBeat{
		{Gateway: "tinh.h41", Agencies: []string{"000.00.12.H41"}, Version: "1.0", API: "http://h41", At: at},
		{Gateway: "bo-g22", Agencies: []string{"000.00.00.G22"}, At: at},
		{Gateway: "tinh.h41", Agencies: []string{"000.00.12.H41", "000.02.02.H37"}, Version: "1.1", API: "http://h41", At: at.Add(15 * time.Second)},
	}
	for _, h := range beats {
		if err := b.Heartbeat(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Gateways(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Gateways = %+v, want 2", got)
	}
	if g := got[0]; g.Gateway != "bo-g22" || !g.At.Equal(at) {
		t.Errorf("first = %+v, want bo-g22", g)
	}
	if g := got[1]; g.Gateway != "tinh.h41" || g.Version != "1.1" || len(g.Agencies) != 2 || !g.At.Equal(at.Add(15*time.Second)) {
		t.Errorf("second = %+v, want the latest beat of tinh.h41", g)
	}
	if err := b.Heartbeat(ctx, gateway.GatewayBeat{}); err == nil {
		t.Error("a heartbeat without a gateway id was accepted")
	}
	// A gateway writing, under its own key, a heartbeat that names
	// another is not that other's heartbeat.
	kv, err := rawJetStream(t, srv).KeyValue(ctx, bus.BucketGateways)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "hcm", []byte(`{"gateway":"vpcp","at":"2030-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	got, err = b.Gateways(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.Gateway == "vpcp" {
			t.Errorf("a heartbeat under hcm's key counted as vpcp's: %+v", g)
		}
	}
}

func TestBus_ConsumerName(t *testing.T) {
	tests := []struct {
		code envelope.AgencyCode
		kind gateway.PacketKind
		want string
	}{
		{code: agencyH41, kind: gateway.KindEdoc, want: "ag_H41_12_edoc"},
		{code: agencyH41, kind: gateway.KindStatus, want: "ag_H41_12_status"},
		{code: envelope.MustAgencyCode("H41.12"), kind: gateway.KindEdoc, want: "ag_H41_12_edoc"}, // the same code in the other form
		{code: agencyG22, kind: gateway.KindStatus, want: "ag_G22_status"},
		{code: agencyH37, kind: gateway.KindEdoc, want: "ag_H37_02_02_edoc"},
		{code: envelope.MustAgencyCode("002.00.20.H13"), kind: gateway.KindEdoc, want: "ag_H13_20_00_002_edoc"},
		{code: anyCode(t, "so-tp.ha_noi"), kind: gateway.KindStatus, want: "ag_SO-TP_HA_NOI_status"},
	}
	for _, tt := range tests {
		if got := bus.ConsumerName(tt.code, tt.kind); got != tt.want {
			t.Errorf("ConsumerName(%s, %s) = %q, want %q", tt.code, tt.kind, got, tt.want)
		}
	}
}

// anyCode reads s as an agency code in envelope.CodeAny.
func anyCode(t testing.TB, s string) envelope.AgencyCode {
	t.Helper()
	c, err := envelope.ParseAgencyCode(s, envelope.CodeAny)
	if err != nil {
		t.Fatalf("ParseAgencyCode(%q, CodeAny): %v", s, err)
	}
	return c
}

func TestBus_ConsumeRefused(t *testing.T) {
	b, _ := withBus(t)
	h := func(context.Context, gateway.Message) {}
	tests := []struct {
		name string
		spec gateway.ConsumerSpec
	}{
		{name: "NoGateway", spec: gateway.ConsumerSpec{Agencies: []envelope.AgencyCode{agencyH41}}},
		{name: "NoAgencies", spec: gateway.ConsumerSpec{Gateway: "gw"}},
		{name: "ZeroAgency", spec: gateway.ConsumerSpec{Gateway: "gw", Agencies: []envelope.AgencyCode{{}}}},
		{name: "NoHandler", spec: gateway.ConsumerSpec{Gateway: "gw", Agencies: []envelope.AgencyCode{agencyH41}}},
		// H41.12 and H41_12 would both be ag_H41_12_*.
		{name: "SameConsumerName", spec: gateway.ConsumerSpec{Gateway: "gw", Agencies: []envelope.AgencyCode{agencyH41, anyCode(t, "H41_12")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h
			if tt.name == "NoHandler" {
				h = nil
			}
			if c, err := b.Consume(context.Background(), tt.spec, h); err == nil {
				c.Stop()
				t.Fatal("Consume succeeded, want an error")
			}
		})
	}
}

func TestBus_ConsumeContextDone(t *testing.T) {
	b, srv := withBus(t)
	col := newCollector(nil)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := b.Consume(ctx, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41, agencyG22}}, col.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	// Pulling first: no request waiting before the consumption has made
	// one says nothing of its end.
	consumers := newPerAgencyConsumers(t, srv)
	consumers.waitWaiting(true, "before the context ended")
	cancel()
	consumers.lateStayPending(b, "after the context ended")
	select {
	case r := <-col.ch:
		t.Errorf("handled %s after the context ended", r.MsgID)
	default:
	}
}

// perAgencyConsumers are H41's and G22's per-agency consumers, read
// straight from the server.
type perAgencyConsumers struct {
	t     *testing.T
	js    jetstream.JetStream
	names [][2]string // stream, consumer
}

func newPerAgencyConsumers(t *testing.T, srv *server.Server) *perAgencyConsumers {
	c := &perAgencyConsumers{t: t, js: rawJetStream(t, srv)}
	for _, code := range []envelope.AgencyCode{agencyH41, agencyG22} {
		c.names = append(c.names, [2]string{bus.StreamEdoc, bus.ConsumerName(code, gateway.KindEdoc)},
			[2]string{bus.StreamStatus, bus.ConsumerName(code, gateway.KindStatus)})
	}
	return c
}

func (c *perAgencyConsumers) info(n [2]string) *jetstream.ConsumerInfo {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	jc, err := c.js.Consumer(ctx, n[0], n[1])
	if err != nil {
		c.t.Fatal(err)
	}
	i, err := jc.Info(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return i
}

// waitWaiting waits until each consumer has pull requests waiting that
// the server would deliver to (it counts only those whose reply subject
// someone still subscribes to), or none, and returns how many each had
// delivered then. A running consumption always keeps one waiting.
func (c *perAgencyConsumers) waitWaiting(some bool, what string) map[string]uint64 {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	delivered := map[string]uint64{}
	for _, n := range c.names {
		i := c.info(n)
		for ; (i.NumWaiting > 0) != some; i = c.info(n) {
			if time.Now().After(deadline) {
				c.t.Fatalf("consumer %s has %d pull requests %s", n[1], i.NumWaiting, what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		delivered[n[1]] = i.Delivered.Consumer
	}
	return delivered
}

// lateStayPending is the barrier after which a consumption of the
// consumers that was stopped (or drained) would show that it still runs:
// it waits until they have no pull request left, publishes one packet to
// each, and checks that each stays on the stream, undelivered.
func (c *perAgencyConsumers) lateStayPending(b *bus.Bus, what string) {
	c.t.Helper()
	delivered := c.waitWaiting(false, what)
	for _, code := range []envelope.AgencyCode{agencyH41, agencyG22} {
		for _, kind := range []gateway.PacketKind{gateway.KindEdoc, gateway.KindStatus} {
			publish(c.t, b, kind, code, fmt.Sprintf("late:%s:%s", kind, code), []byte("x"))
		}
	}
	for _, n := range c.names {
		if i := c.info(n); i.NumPending != 1 || i.NumAckPending != 0 || i.Delivered.Consumer != delivered[n[1]] {
			c.t.Errorf("consumer %s %s: %d pending, %d delivered (%d before), %d unacknowledged; want the late one pending only",
				n[1], what, i.NumPending, i.Delivered.Consumer, delivered[n[1]], i.NumAckPending)
		}
	}
}

func TestBus_CloseOwnsServer(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{Server: srv}, nil)
	if err != nil {
		srv.Shutdown()
		t.Fatal(err)
	}
	if !b.Connected() {
		t.Error("not connected after Open")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if srv.Running() {
		t.Error("the owned server still runs after Close")
	}
	if b.Connected() {
		t.Error("still connected after Close")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartServer_Refused(t *testing.T) {
	if _, err := bus.StartServer(bus.ServerOptions{}); !errors.Is(err, bus.ErrInvalidOption) {
		t.Errorf("StartServer without a directory = %v, want ErrInvalidOption", err)
	}
	// A port in use is said at once, with the server's reason, not after
	// the whole ready timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = bus.StartServer(bus.ServerOptions{Dir: t.TempDir(), Host: "127.0.0.1", Port: port, ReadyTimeout: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("StartServer on a port in use = %v, want the server's reason", err)
	}
}

func TestOpen_Refused(t *testing.T) {
	srv := startServer(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	tests := []struct {
		name string
		opts bus.Options
	}{
		{name: "NoURL", opts: bus.Options{}},
		{name: "InlineLimitAboveMaxPayload", opts: bus.Options{URL: srv.ClientURL(), InlineLimit: 2 << 20}},
		{name: "NegativeMaxAge", opts: bus.Options{URL: srv.ClientURL(), MaxAge: -time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bus.Open(ctx, tt.opts, nil)
			if err == nil {
				b.Close()
			}
			if !errors.Is(err, bus.ErrInvalidOption) {
				t.Fatalf("Open = %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestBus_Contract(t *testing.T) {
	srv := startServer(t, t.TempDir())
	b := openBus(t, srv.ClientURL(), bus.Options{})
	// H41 twice, in both forms: one consumer per stream for it all the same.
	agencies := []envelope.AgencyCode{agencyH41, agencyH37, envelope.MustAgencyCode("H41.12")}
	consume(t, b, gateway.ConsumerSpec{Gateway: "tinh.h41", Agencies: agencies, AckWait: 90 * time.Second}, func(context.Context, gateway.Message) {})
	js := rawJetStream(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, tt := range []struct {
		stream, subjects string
		consumers        map[string]string // name → filter subject
	}{
		{bus.StreamEdoc, "lt.edoc.>", map[string]string{"ag_H41_12_edoc": "lt.edoc.H41.12", "ag_H37_02_02_edoc": "lt.edoc.H37.02.02"}},
		{bus.StreamStatus, "lt.status.>", map[string]string{"ag_H41_12_status": "lt.status.H41.12", "ag_H37_02_02_status": "lt.status.H37.02.02"}},
	} {
		s, err := js.Stream(ctx, tt.stream)
		if err != nil {
			t.Fatalf("stream %s: %v", tt.stream, err)
		}
		cfg := s.CachedInfo().Config
		if !slices.Equal(cfg.Subjects, []string{tt.subjects}) || cfg.Retention != jetstream.LimitsPolicy || cfg.Storage != jetstream.FileStorage ||
			cfg.MaxAge != bus.DefaultMaxAge || cfg.Duplicates != bus.DuplicateWindow || cfg.Replicas != 1 {
			t.Errorf("stream %s: subjects %q, retention %v, storage %v, max age %s, duplicates %s, replicas %d",
				tt.stream, cfg.Subjects, cfg.Retention, cfg.Storage, cfg.MaxAge, cfg.Duplicates, cfg.Replicas)
		}
		// Exactly the hosted agencies' consumers: none named after the gateway.
		var names []string
		for name := range s.ConsumerNames(ctx).Name() {
			names = append(names, name)
		}
		slices.Sort(names)
		wantNames := slices.Sorted(maps.Keys(tt.consumers))
		if !slices.Equal(names, wantNames) {
			t.Errorf("stream %s: consumers %q, want %q", tt.stream, names, wantNames)
		}
		for name, filter := range tt.consumers {
			c, err := s.Consumer(ctx, name)
			if err != nil {
				t.Fatalf("consumer %s: %v", name, err)
			}
			cc := c.CachedInfo().Config
			if cc.Durable != name || cc.AckPolicy != jetstream.AckExplicitPolicy || cc.AckWait != 90*time.Second ||
				cc.MaxDeliver != -1 || cc.DeliverPolicy != jetstream.DeliverAllPolicy ||
				cc.FilterSubject != filter || len(cc.FilterSubjects) != 0 || !strings.HasPrefix(filter, strings.TrimSuffix(tt.subjects, ">")) {
				t.Errorf("consumer %s: durable %q, ack %v, ack wait %s, max deliver %d, deliver %v, filter %q %q; want filter %q",
					name, cc.Durable, cc.AckPolicy, cc.AckWait, cc.MaxDeliver, cc.DeliverPolicy, cc.FilterSubject, cc.FilterSubjects, filter)
			}
		}
	}
	large, err := js.Stream(ctx, bus.StreamLarge)
	if err != nil {
		t.Fatal(err)
	}
	lc := large.CachedInfo().Config
	if lc.MaxAge < bus.DefaultMaxAge || lc.Storage != jetstream.FileStorage || !lc.DenyDelete || !lc.DenyPurge || !lc.AllowDirect ||
		lc.MaxMsgsPerSubject != 1 || lc.Discard != jetstream.DiscardNew || !lc.DiscardNewPerSubject ||
		!slices.Equal(lc.Subjects, []string{bus.LargeSubjectPrefix + ">"}) {
		t.Errorf("stream %s: %+v", bus.StreamLarge, lc)
	}
	for _, bucket := range []string{bus.BucketDirectory, bus.BucketGateways} {
		kv, err := js.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatalf("KV %s: %v", bucket, err)
		}
		if _, err := kv.Put(ctx, "G22", []byte("kept")); err != nil {
			t.Fatal(err)
		}
		// A roll-up, which would delete every other key, is refused: a
		// writer of one key (or JetStream answering to a reply subject it
		// chose) cannot empty the bucket.
		rollup := &nats.Msg{Subject: "$KV." + bucket + ".X99", Header: nats.Header{"Nats-Rollup": []string{"all"}}, Data: []byte("x")}
		if _, err := js.PublishMsg(ctx, rollup); err == nil {
			t.Errorf("KV %s took a roll-up", bucket)
		}
		if e, err := kv.Get(ctx, "G22"); err != nil || string(e.Value()) != "kept" {
			t.Errorf("KV %s after the roll-up: %v", bucket, err)
		}
		st, err := js.Stream(ctx, "KV_"+bucket)
		if err != nil {
			t.Fatal(err)
		}
		if c := st.CachedInfo().Config; c.AllowRollup || !c.DenyPurge {
			t.Errorf("KV %s: allow roll-up %v, deny purge %v", bucket, c.AllowRollup, c.DenyPurge)
		}
	}
}

func TestBus_ShortMaxAge(t *testing.T) {
	srv := startServer(t, t.TempDir())
	openBus(t, srv.ClientURL(), bus.Options{MaxAge: 6 * time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := rawJetStream(t, srv).Stream(ctx, bus.StreamEdoc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := s.CachedInfo().Config; cfg.MaxAge != 6*time.Hour || cfg.Duplicates != 6*time.Hour {
		t.Errorf("max age %s, duplicates %s; want 6h both", cfg.MaxAge, cfg.Duplicates)
	}
}

// A message for an agency whose gateway has no consumer yet waits for it.
func TestBus_MessagesWaitForConsumer(t *testing.T) {
	b, _ := withBus(t)
	publish(t, b, gateway.KindEdoc, agencyG22, "early:000.00.00.G22", []byte("early"))
	publish(t, b, gateway.KindStatus, agencyG22, "early-status:000.00.00.G22", []byte("early"))
	// Another gateway consuming (and acking) first changes nothing.
	other := newCollector(nil)
	otherC := consume(t, b, gateway.ConsumerSpec{Gateway: "other", Agencies: []envelope.AgencyCode{agencyH41}}, other.handle)
	other.settled(t, otherC)
	col := newCollector(nil)
	consume(t, b, gateway.ConsumerSpec{Gateway: "late", Agencies: []envelope.AgencyCode{agencyG22}}, col.handle)
	got := []string{col.next(t).MsgID, col.next(t).MsgID}
	slices.Sort(got)
	if want := []string{"early-status:000.00.00.G22", "early:000.00.00.G22"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Pending counts, by stream, what the gateway's consumers have not
// acknowledged yet: messages waiting and messages in a handler's hands.
func TestBus_Pending(t *testing.T) {
	b, _ := withBus(t)
	ch := make(chan struct{})
	release := sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release)
	h := func(ctx context.Context, m gateway.Message) {
		<-ch
		_ = m.Ack(ctx)
	}
	c := consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41, agencyG22}, Concurrency: 1}, h)
	pending := func() map[string]uint64 {
		t.Helper()
		p, err := c.Pending(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := pending(); len(got) != 2 || got[bus.StreamEdoc] != 0 || got[bus.StreamStatus] != 0 {
		t.Fatalf("Pending before any message = %v, want both streams at 0", got)
	}
	for i := range 3 {
		publish(t, b, gateway.KindEdoc, agencyH41, fmt.Sprintf("e%d", i), []byte("x"))
	}
	publish(t, b, gateway.KindEdoc, agencyG22, "e-g22", []byte("x"))
	publish(t, b, gateway.KindStatus, agencyG22, "s-g22", []byte("x"))
	// The consumers' counts follow the stream's a moment after the
	// publish is acknowledged.
	deadline := time.Now().Add(wait)
	for got := pending(); got[bus.StreamEdoc] != 4 || got[bus.StreamStatus] != 1; got = pending() {
		if time.Now().After(deadline) {
			t.Fatalf("Pending with one handler stuck = %v, want 4 on %s and 1 on %s", got, bus.StreamEdoc, bus.StreamStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	deadline = time.Now().Add(wait)
	for got := pending(); got[bus.StreamEdoc]+got[bus.StreamStatus] != 0; got = pending() {
		if time.Now().After(deadline) {
			t.Fatalf("Pending after the handlers acked = %v, want 0", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBus_BindConsumers: on a server whose administrator makes the
// consumers (Options.Bind), Consume uses them and makes none; a missing
// one, or one filtered to another subject, stops it with an error that
// says what to do.
func TestBus_BindConsumers(t *testing.T) {
	admin, srv := withBus(t)
	b := openBus(t, srv.ClientURL(), bus.Options{Bind: true})
	h := func(context.Context, gateway.Message) {}
	spec := gateway.ConsumerSpec{Gateway: "nghean", Agencies: []envelope.AgencyCode{agencyH41}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := b.Consume(ctx, spec, h); !errors.Is(err, bus.ErrNoConsumer) || !strings.Contains(err.Error(), "nats setup -agency 000.00.12.H41") {
		t.Fatalf("Consume without the administrator's consumers = %v, want ErrNoConsumer naming the command", err)
	}
	if err := admin.EnsureConsumers(ctx, []envelope.AgencyCode{agencyH41}, 0); err != nil {
		t.Fatal(err)
	}
	col := newCollector(nil)
	consume(t, b, spec, col.handle)
	publish(t, admin, gateway.KindEdoc, agencyH41, "bound", []byte("bound"))
	if r := col.next(t); r.MsgID != "bound" {
		t.Errorf("got %q", r.MsgID)
	}

	// A consumer of the agency's name filtered elsewhere is refused.
	js := rawJetStream(t, srv)
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamStatus, jetstream.ConsumerConfig{
		Durable: bus.ConsumerName(agencyG22, gateway.KindStatus), FilterSubject: "lt.status.>", AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	if err := admin.EnsureConsumers(ctx, []envelope.AgencyCode{agencyG22}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamEdoc, jetstream.ConsumerConfig{
		Durable: bus.ConsumerName(agencyG22, gateway.KindEdoc), FilterSubject: "lt.edoc.>", AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consume(ctx, gateway.ConsumerSpec{Gateway: "vpcp", Agencies: []envelope.AgencyCode{agencyG22}}, h); err == nil || !strings.Contains(err.Error(), `filtered to "lt.edoc.>"`) {
		t.Fatalf("Consume of a consumer filtered to every agency = %v, want a refusal", err)
	}
}

// TestBus_LargePacketForeignChunk: chunks stored first by someone else
// under the sender's name (JetStream's answers to requests whose reply
// subjects a hostile client chose) — one of them, or all — are not taken
// for the packet's: it is stored afresh under a name no one can foresee,
// and the recipient reads it intact.
func TestBus_LargePacketForeignChunk(t *testing.T) {
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("all=%v", all), func(t *testing.T) {
			b, srv := withBus(t)
			js := rawJetStream(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			packet := randomBytes(t, 700<<10)
			chunks := []int{1}
			if all {
				chunks = []int{0, 1, 2}
			}
			hour := time.Now().Unix() / 3600
			for _, i := range chunks {
				subject := fmt.Sprintf("%sgateway.%s.%d.%d", bus.LargeSubjectPrefix, sha(packet), hour, i)
				if _, err := js.Publish(ctx, subject, []byte("not the chunk")); err != nil {
					t.Fatal(err)
				}
			}
			ack := publish(t, b, gateway.KindEdoc, agencyH41, "foreign", packet)
			s, err := js.Stream(ctx, bus.StreamEdoc)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := s.GetMsg(ctx, ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			if name := raw.Header.Get(bus.HeaderLarge); time.Now().Unix()/3600 == hour && !strings.Contains(name, "-") {
				t.Errorf("%s = %q: the packet went under the foreseeable name", bus.HeaderLarge, name)
			}
			col := newCollector(nil)
			consume(t, b, gateway.ConsumerSpec{Gateway: "gw-a", Agencies: []envelope.AgencyCode{agencyH41}}, col.handle)
			if r := col.next(t); r.PacketErr != nil || !bytes.Equal(r.Packet, packet) {
				t.Fatalf("Packet: %d bytes, %v; want the packet", len(r.Packet), r.PacketErr)
			}
		})
	}
}
