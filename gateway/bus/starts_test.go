package bus

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// provinceSubjects returns n subjects of agencies as a province has them:
// the province, its departments, their units and the units' offices
// (lt.edoc.H41, lt.edoc.H41.01, lt.edoc.H41.01.01, lt.edoc.H41.01.01.001…),
// over as many provinces as it takes.
func provinceSubjects(n int) []string {
	var out []string
	add := func(tokens string) bool {
		out = append(out, "lt.edoc."+tokens)
		return len(out) < n
	}
	for p := 41; ; p++ {
		if !add(fmt.Sprintf("H%02d", p)) {
			return out
		}
		for a := 1; a <= 60; a++ {
			if !add(fmt.Sprintf("H%02d.%02d", p, a)) {
				return out
			}
			for b := 1; b <= 20; b++ {
				if !add(fmt.Sprintf("H%02d.%02d.%02d", p, a, b)) {
					return out
				}
				for c := 1; c <= 6; c++ {
					if !add(fmt.Sprintf("H%02d.%02d.%02d.%03d", p, a, b, c)) {
						return out
					}
				}
			}
		}
	}
}

// randomStarts gives each subject its own point, at random in
// [base, base+spread).
func randomStarts(subjects []string, base, spread uint64, seed uint64) map[string]uint64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make(map[string]uint64, len(subjects))
	for _, s := range subjects {
		out[s] = base + r.Uint64N(spread)
	}
	return out
}

// metadataLen is the length nats-server checks against JSMaxMetadataLen:
// every key and value together.
func metadataLen(meta map[string]string) int {
	n := 0
	for k, v := range meta {
		n += len(k) + len(v)
	}
	return n
}

// jsMaxMetadataLen is nats-server's JSMaxMetadataLen (server/jetstream_api.go).
const jsMaxMetadataLen = 128 * 1024

func TestStarts_RoundTrip(t *testing.T) {
	long := "lt.edoc." + strings.Repeat("A", 70) // shares more than 63 bytes with the next
	for name, starts := range map[string]map[string]uint64{
		"none":     {},
		"one":      {"lt.edoc.H41": 7},
		"same":     {"lt.edoc.H41": 500, "lt.edoc.H41.01": 500, "lt.edoc.H41.01.>": 500},
		"extremes": {"lt.edoc.G01": 1, "lt.status.G01": math.MaxUint64, "lt.edoc.G01.02": 1 << 63},
		"long":     {long: 3, long + ".B": 4, long + "B": 5, "lt.edoc.A": 6},
		"province": randomStarts(provinceSubjects(3000), 1_000_000_000, 1<<30, 1),
		"consecutive": func() map[string]uint64 {
			m := map[string]uint64{}
			for i, s := range provinceSubjects(500) {
				m[s] = uint64(i + 1)
			}
			return m
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			meta, err := encodeStarts(starts)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range meta {
				if !strings.HasPrefix(k, metaStarts) || len(v) > startsChunkLen {
					t.Errorf("key %s, %d bytes", k, len(v))
				}
			}
			got, err := decodeStarts(meta)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, starts) {
				t.Errorf("read back %d points, not the %d written: %v", len(got), len(starts), diffStarts(got, starts))
			}
		})
	}
}

// diffStarts describes the first few differences between two sets of
// points.
func diffStarts(got, want map[string]uint64) []string {
	var out []string
	for s, p := range want {
		if q, ok := got[s]; !ok || q != p {
			out = append(out, fmt.Sprintf("%s: %d, want %d", s, q, p))
		}
	}
	for s, q := range got {
		if _, ok := want[s]; !ok {
			out = append(out, fmt.Sprintf("%s: %d, not written", s, q))
		}
	}
	return out[:min(len(out), 5)]
}

// TestStarts_TenThousandFit: 10,000 agencies, each with a point of its
// own spread over 2^30 sequences (a billion packets: more than a stream
// keeps in its 30 days), fit a consumer's metadata with room to spare,
// where one key per subject would not fit half of them. Spread over all
// of 2^40 they still fit.
func TestStarts_TenThousandFit(t *testing.T) {
	subjects := provinceSubjects(10_000)
	for _, tc := range []struct {
		spread uint64
		most   int // bytes
	}{
		{1 << 30, 96 << 10},
		{1 << 40, 120 << 10},
	} {
		starts := randomStarts(subjects, 3_000_000_000, tc.spread, 2)
		meta, err := encodeStarts(starts)
		if err != nil {
			t.Fatal(err)
		}
		meta[metaUntil] = strconv.FormatUint(math.MaxUint64, 10)
		n := metadataLen(meta)
		t.Logf("10,000 points spread over %d: %d bytes in %d keys (nats-server's limit %d)", tc.spread, n, len(meta)-1, jsMaxMetadataLen)
		if n > tc.most || n > jsMaxMetadataLen {
			t.Errorf("10,000 points spread over %d take %d bytes, more than %d", tc.spread, n, tc.most)
		}
		got, err := decodeStarts(meta)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, starts) {
			t.Errorf("read back: %v", diffStarts(got, starts))
		}

		old := 0
		for s, p := range starts {
			old += len(metaStart+s) + len(strconv.FormatUint(p, 10))
		}
		if old < 2*jsMaxMetadataLen {
			t.Errorf("the old form took %d bytes: the test's subjects are shorter than real ones", old)
		}
	}
}

// TestStarts_TooMany: points that would not fit are refused by
// encodeStarts with the number of subjects, before nats-server refuses
// the consumer.
func TestStarts_TooMany(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	starts := map[string]uint64{}
	for range 6000 {
		starts[fmt.Sprintf("lt.edoc.X%016x%016x", r.Uint64(), r.Uint64())] = r.Uint64N(1<<62) + 1
	}
	_, err := encodeStarts(starts)
	if err == nil || !strings.Contains(err.Error(), "6000 subjects") {
		t.Errorf("err = %v, want the points refused", err)
	}
}

func TestStarts_EncodeRefuses(t *testing.T) {
	for name, starts := range map[string]map[string]uint64{
		"point 0":       {"lt.edoc.H41": 0},
		"space":         {"lt.edoc.H41 01": 5},
		"empty subject": {"": 5},
		"not ascii":     {"lt.edoc.Hà": 5},
	} {
		if _, err := encodeStarts(starts); err == nil {
			t.Errorf("%s: written", name)
		}
	}
}

// TestStarts_Old: the keys of the version before (lt.start.<subject>) are
// read when there is no packed key, and ignored when there is one;
// withStarts leaves them out and keeps the other keys.
func TestStarts_Old(t *testing.T) {
	old := map[string]string{
		metaStart + "lt.edoc.H41":      "120",
		metaStart + "lt.edoc.H41.12.>": "95",
		metaUntil:                      "300",
		"lt.role":                      "catch-up",
	}
	got, err := decodeStarts(old)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]uint64{"lt.edoc.H41": 120, "lt.edoc.H41.12.>": 95}; !maps.Equal(got, want) {
		t.Errorf("old keys read as %v, want %v", got, want)
	}

	meta, err := withStarts(old, map[string]uint64{"lt.edoc.G01": 44})
	if err != nil {
		t.Fatal(err)
	}
	for k := range meta {
		if strings.HasPrefix(k, metaStart) {
			t.Errorf("old key %s kept", k)
		}
	}
	if meta[metaUntil] != "300" || meta["lt.role"] != "catch-up" {
		t.Errorf("other keys lost: %v", meta)
	}
	// Both forms (an older lienthong assigned after this one): neither
	// is trusted.
	meta[metaStart+"lt.edoc.H41"] = "120"
	if got, err := decodeStarts(meta); err == nil || !strings.Contains(err.Error(), metaStart+"lt.edoc.H41") {
		t.Errorf("both forms read as %v, %v; want them refused, naming the old key", got, err)
	}

	for _, v := range []string{"", "0", "-5", "+5", "012", "12a", "18446744073709551616", " 12"} {
		_, err := decodeStarts(map[string]string{metaStart + "lt.edoc.H41": v})
		if err == nil || !strings.Contains(err.Error(), metaStart+"lt.edoc.H41") {
			t.Errorf("old point %q: err = %v, want it refused, naming the key", v, err)
		}
	}
	if _, err := decodeStarts(map[string]string{metaStart: "5"}); err == nil {
		t.Error("an old key without a subject was read")
	}
}

// packedText returns the packed form with the checksum of body, in one
// key: what a writer other than encodeStarts could make.
func packedText(body string) map[string]string {
	return map[string]string{metaStarts + "0": fmt.Sprintf("1 %08x%s", crc32.ChecksumIEEE([]byte(body)), body)}
}

// TestStarts_DecodeRefuses: whatever is not exactly as encodeStarts writes
// it is refused, with the key it is in.
func TestStarts_DecodeRefuses(t *testing.T) {
	good, err := encodeStarts(randomStarts(provinceSubjects(2000), 5000, 1<<20, 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(good) < 3 {
		t.Fatalf("%d keys: the test wants at least 3", len(good))
	}
	with := func(change func(m map[string]string)) map[string]string {
		m := maps.Clone(good)
		change(m)
		return m
	}
	flip := func(k string, i int) func(m map[string]string) {
		return func(m map[string]string) {
			b := []byte(m[k])
			b[i] = startsDigits[(strings.IndexByte(startsDigits, b[i])+1)%64]
			m[k] = string(b)
		}
	}
	for _, tc := range []struct {
		name string
		meta map[string]string
		key  string // named in the error
	}{
		{"a key missing", with(func(m map[string]string) { delete(m, metaStarts+"1") }), metaStarts + "1"},
		{"the last key missing", with(func(m map[string]string) { delete(m, metaStarts+strconv.Itoa(len(good)-1)) }), metaStarts + "0"},
		{"a key not a number", with(func(m map[string]string) { m[metaStarts+"x"] = "" }), metaStarts + "x"},
		{"a number with a zero before", with(func(m map[string]string) { m[metaStarts+"01"] = m[metaStarts+"1"]; delete(m, metaStarts+"1") }), metaStarts + "01"},
		{"a digit changed", with(flip(metaStarts+"1", 100)), metaStarts + "0"},
		{"cut short", with(func(m map[string]string) { m[metaStarts+"1"] = m[metaStarts+"1"][:200] }), metaStarts + "0"},
		{"another version", map[string]string{metaStarts + "0": "2 00000000 1 5 1 00lt.edoc.A"}, metaStarts + "0"},
		{"empty", map[string]string{metaStarts + "0": ""}, metaStarts + "0"},
		{"no checksum", map[string]string{metaStarts + "0": "1"}, metaStarts + "0"},
		{"no subject", packedText(" 0 5 1"), metaStarts + "0"},
		{"fewer subjects", packedText(" 2 5 1 00lt.edoc.A"), metaStarts + "0"},
		{"more subjects", packedText(" 1 5 1 00lt.edoc.A 81B"), metaStarts + "0"},
		{"more subjects than bytes", packedText(" 99999999999 5 1 00lt.edoc.A"), metaStarts + "0"},
		{"base 0", packedText(" 1 0 1 00lt.edoc.A"), metaStarts + "0"},
		{"base with a zero before", packedText(" 1 05 1 00lt.edoc.A"), metaStarts + "0"},
		{"base negative", packedText(" 1 -5 1 00lt.edoc.A"), metaStarts + "0"},
		{"width 0", packedText(" 1 5 0 0lt.edoc.A"), metaStarts + "0"},
		{"width 12", packedText(" 1 5 12 0000000000000lt.edoc.A"), metaStarts + "0"},
		{"offset not a digit", packedText(" 1 5 1 0!lt.edoc.A"), metaStarts + "0"},
		{"offset too large", packedText(" 1 5 11 0___________lt.edoc.A"), metaStarts + "0"},
		{"point past the last sequence", packedText(" 1 18446744073709551615 1 01lt.edoc.A"), metaStarts + "0"},
		{"shares more than the subject before", packedText(" 2 5 1 00lt.edoc.A A0B"), metaStarts + "0"},
		{"first shares", packedText(" 1 5 1 10lt.edoc.A"), metaStarts + "0"},
		{"not in order", packedText(" 2 5 1 00lt.edoc.B 30A"), metaStarts + "0"},
		{"twice", packedText(" 2 5 1 00lt.edoc.A 90"), metaStarts + "0"},
		{"empty subject", packedText(" 1 5 1 00"), metaStarts + "0"},
		{"empty entry", packedText(" 2 5 1 00lt.edoc.A "), metaStarts + "0"},
		{"two spaces", packedText(" 1 5 1  00lt.edoc.A"), metaStarts + "0"},
		{"control byte", packedText(" 1 5 1 00lt.edoc.\x01"), metaStarts + "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeStarts(tc.meta)
			if err == nil {
				t.Fatalf("read %d points", len(got))
			}
			if !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("err = %v, want it to name %s", err, tc.key)
			}
		})
	}
	// The body of packedText is as encodeStarts writes it.
	m := packedText(" 2 5 1 00lt.edoc.A 91.B")
	got, err := decodeStarts(m)
	if want := map[string]uint64{"lt.edoc.A": 5, "lt.edoc.A.B": 6}; err != nil || !maps.Equal(got, want) {
		t.Errorf("read %v, %v; want %v", got, err, want)
	}
	if enc, _ := encodeStarts(got); !maps.Equal(enc, m) {
		t.Errorf("encodeStarts wrote %q, the test %q", enc, m)
	}
}

// FuzzDecodeStarts: no metadata makes decodeStarts panic, and what it
// reads is written back the same. The text is cut into two keys at cut;
// with sum its checksum is made right, so that what follows is read too.
func FuzzDecodeStarts(f *testing.F) {
	for _, starts := range []map[string]uint64{
		{"lt.edoc.H41": 7},
		{"lt.edoc.H41": 7, "lt.edoc.H41.01": 9, "lt.edoc.H41.01.>": 1 << 40},
		randomStarts(provinceSubjects(60), 100, 1<<20, 9),
	} {
		meta, err := encodeStarts(starts)
		if err != nil {
			f.Fatal(err)
		}
		text := meta[metaStarts+"0"]
		f.Add(text, uint16(len(text)), false, "")
		f.Add(text[len("1 00000000"):], uint16(len(text)/2), true, "")
	}
	f.Add("", uint16(0), false, "12")
	f.Add(" 2 5 1 00lt.edoc.A 91.B", uint16(3), true, "x")
	f.Fuzz(func(t *testing.T, text string, cut uint16, sum bool, old string) {
		if sum {
			text = fmt.Sprintf("1 %08x%s", crc32.ChecksumIEEE([]byte(text)), text)
		}
		at := min(int(cut), len(text))
		meta := map[string]string{metaStarts + "0": text[:at]}
		if at < len(text) {
			meta[metaStarts+"1"] = text[at:]
		}
		if old != "" {
			meta[metaStart+"lt.edoc.H41"] = old
		}
		check := func(meta map[string]string) {
			starts, err := decodeStarts(meta)
			if err != nil {
				return
			}
			again, err := encodeStarts(starts)
			if err != nil {
				t.Fatalf("read %d points that cannot be written: %v", len(starts), err)
			}
			back, err := decodeStarts(again)
			if err != nil || !maps.Equal(back, starts) {
				t.Fatalf("written again and read as %v, %v; want %v", back, err, starts)
			}
		}
		check(meta)
		delete(meta, metaStarts+"0")
		delete(meta, metaStarts+"1")
		check(meta)
	})
}

// TestStarts_FiveThousandOnServer: a gateway consumer whose 5,000 agencies
// each have a start point of their own, and a catch-up of 5,000 starts,
// are taken by nats-server and read back exactly — by the gate, by a
// catch-up's reader and by Status. Written one key per subject, as the
// version before did, nats-server refuses such metadata. The consumer is
// first as that version left it (old keys for 1,000 agencies), and the
// update writes them again packed.
func TestStarts_FiveThousandOnServer(t *testing.T) {
	b := embeddedBus(t)
	// nats-server checks 5,000 filters for overlap in seconds on a
	// loaded machine: more than the bus's default timeout.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	subjects := provinceSubjects(5000)
	starts := randomStarts(subjects, 7_000_000_000, 1<<30, 6)

	oldForm := func(subjects []string) map[string]string {
		meta := map[string]string{}
		for _, s := range subjects {
			meta[metaStart+s] = strconv.FormatUint(starts[s]-1, 10)
		}
		return meta
	}
	if _, err := b.js.CreateConsumer(ctx, StreamEdoc, jetstream.ConsumerConfig{
		Durable: "old_form", FilterSubject: subjects[0], AckPolicy: jetstream.AckExplicitPolicy, Metadata: oldForm(subjects),
	}); err == nil || !strings.Contains(err.Error(), "metadata") {
		t.Errorf("5,000 points one key per subject: err = %v, want nats-server to refuse them", err)
	}

	// As the version before left it: 1,000 agencies, their old points.
	name := GatewayConsumerName("big", gateway.KindEdoc)
	cfg := gatewayConsumerConfig(name, "test", subjects[:1000], time.Second)
	cfg.Metadata = oldForm(subjects[:1000])
	cfg.Metadata["lt.other"] = "kept"
	if _, err := b.js.CreateConsumer(ctx, StreamEdoc, cfg); err != nil {
		t.Fatal(err)
	}
	// Assign's update: 5,000 agencies, each its point.
	c, err := b.js.Consumer(ctx, StreamEdoc, name)
	if err != nil {
		t.Fatal(err)
	}
	ucfg := c.CachedInfo().Config
	if got, err := decodeStarts(ucfg.Metadata); err != nil || len(got) != 1000 {
		t.Fatalf("the old form read back: %d points, %v", len(got), err)
	}
	ucfg.FilterSubject, ucfg.FilterSubjects = "", subjects
	if ucfg.Metadata, err = startsMetadata(ucfg.Metadata, subjects, starts, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.UpdateConsumer(ctx, StreamEdoc, ucfg); err != nil {
		t.Fatalf("nats-server refused 5,000 points: %v", err)
	}

	ccfg, err := catchUpConsumerConfig(CatchUpConsumerName("big", gateway.KindEdoc), "test", starts, 9_000_000_000, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.CreateConsumer(ctx, StreamEdoc, ccfg); err != nil {
		t.Fatalf("nats-server refused a catch-up of 5,000 points: %v", err)
	}

	// Read back from the server.
	c, err = b.js.Consumer(ctx, StreamEdoc, name)
	if err != nil {
		t.Fatal(err)
	}
	meta := c.CachedInfo().Config.Metadata
	for k := range meta {
		if strings.HasPrefix(k, metaStart) {
			t.Fatalf("old key %s left", k)
		}
	}
	if meta["lt.other"] != "kept" {
		t.Errorf("another key lost: %v", meta["lt.other"])
	}
	g := &gate{views: map[string]consumerView{}}
	if err := g.see(StreamEdoc, c.CachedInfo().Config); err != nil {
		t.Fatal(err)
	}
	if got := g.views[StreamEdoc].starts.starts; !maps.Equal(got, starts) {
		t.Errorf("the gate read %d points, not the 5,000 written: %v", len(got), diffStarts(got, starts))
	}
	cc, err := b.js.Consumer(ctx, StreamEdoc, CatchUpConsumerName("big", gateway.KindEdoc))
	if err != nil {
		t.Fatal(err)
	}
	cu, err := readCatchUp(cc.CachedInfo().Config)
	if err != nil {
		t.Fatal(err)
	}
	low := slices.Min(slices.Collect(maps.Values(starts)))
	for _, s := range subjects {
		if got := cu.startOf(s); got != starts[s] {
			t.Fatalf("the catch-up's point of %s: %d, want %d (lowest %d)", s, got, starts[s], low)
		}
	}
	if cu.from != low || cu.until != 9_000_000_000 {
		t.Errorf("catch-up from %d until %d", cu.from, cu.until)
	}

	st, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range st.Consumers {
		if cs.Filters != 5000 || cs.Starts < 4999 || cs.Unreadable != "" {
			t.Errorf("status of %s: %d subjects, %d points (%q)", cs.Name, cs.Filters, cs.Starts, cs.Unreadable)
		}
	}
	if len(st.Consumers) != 2 {
		t.Errorf("status: %d consumers, want 2", len(st.Consumers))
	}
}

// TestBus_AssignRewritesOldStarts: a gateway consumer as the version
// before left it (a point as lt.start.<subject>) keeps that point through
// the next assignment, written again packed, without the old key.
func TestBus_AssignRewritesOldStarts(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x, y := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02")
	sx := gateway.Subject(gateway.KindEdoc, x)
	if err := b.Assign(ctx, Assignment{Gateway: "gU", Agencies: []envelope.AgencyCode{x}}); err != nil {
		t.Fatal(err)
	}
	name := GatewayConsumerName("gU", gateway.KindEdoc)
	c, err := b.js.Consumer(ctx, StreamEdoc, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	cfg.Metadata = map[string]string{metaStart + sx: "1000"}
	if _, err := b.js.UpdateConsumer(ctx, StreamEdoc, cfg); err != nil {
		t.Fatal(err)
	}

	if err := b.Assign(ctx, Assignment{Gateway: "gU", Agencies: []envelope.AgencyCode{x, y}}); err != nil {
		t.Fatal(err)
	}
	c, err = b.js.Consumer(ctx, StreamEdoc, name)
	if err != nil {
		t.Fatal(err)
	}
	meta := c.CachedInfo().Config.Metadata
	if _, ok := meta[metaStart+sx]; ok {
		t.Errorf("the old key is left: %v", meta)
	}
	if _, ok := meta[metaStarts+"0"]; !ok {
		t.Errorf("no packed key: %v", meta)
	}
	got, err := decodeStarts(meta)
	if want := map[string]uint64{sx: 1000}; err != nil || !maps.Equal(got, want) {
		t.Errorf("points %v, %v; want %v", got, err, want)
	}
}

// TestBus_AssignBesideUnreadable: a gateway consumer whose points cannot
// be read stops only the assignments that take its subjects; the others
// go on.
func TestBus_AssignBesideUnreadable(t *testing.T) {
	b := embeddedBus(t)
	ctx := t.Context()
	x, y := envelope.MustAgencyCode("000.00.00.G01"), envelope.MustAgencyCode("000.00.00.G02")
	if err := b.Assign(ctx, Assignment{Gateway: "gD", Agencies: []envelope.AgencyCode{x}}); err != nil {
		t.Fatal(err)
	}
	damaged := GatewayConsumerName("gD", gateway.KindEdoc)
	c, err := b.js.Consumer(ctx, StreamEdoc, damaged)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	cfg.Metadata = map[string]string{metaStarts + "0": "garbage"}
	if _, err := b.js.UpdateConsumer(ctx, StreamEdoc, cfg); err != nil {
		t.Fatal(err)
	}

	if err := b.Assign(ctx, Assignment{Gateway: "gE", Agencies: []envelope.AgencyCode{y}}); err != nil {
		t.Errorf("an assignment taking nothing from %s: %v", damaged, err)
	}
	err = b.Assign(ctx, Assignment{Gateway: "gE", Agencies: []envelope.AgencyCode{x, y}})
	if err == nil || !strings.Contains(err.Error(), damaged) || !strings.Contains(err.Error(), metaStarts+"0") {
		t.Errorf("an assignment taking %s's subject: %v; want it refused, naming the consumer and the key", damaged, err)
	}
}
