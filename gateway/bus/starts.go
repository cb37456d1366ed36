package bus

import (
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Start points in a consumer's metadata.
//
// A gateway consumer and a catch-up consumer keep, for the subjects whose
// handover point matters, that point: the first stream sequence of the
// subject the consumer owns (see Assign and catchUp). nats-server refuses
// a consumer whose metadata, every key and value together, is longer than
// 128 KiB (JSMaxMetadataLen, checked in checkConsumerCfg; there is no
// limit on a key or a value by itself). One key per subject
// (lt.start.<subject> = decimal point, the form of the version before)
// holds about 2,000 agencies. The points are therefore written packed:
//
//	lt.starts.0, lt.starts.1, … = one text, cut into values of at most
//	startsChunkLen bytes, numbered from 0 without a gap:
//
//	1 <crc> <n> <base> <width>( <entry>){n}
//
//	1       the format's version
//	<crc>   CRC-32 (IEEE) of what follows it, 8 lower-case hex digits: a
//	        value cut short, edited by hand or damaged is refused, not
//	        read as another point
//	<n>     how many subjects (decimal)
//	<base>  the lowest point (decimal, at least 1)
//	<width> how many digits each point's offset takes, 1 to 11
//	<entry> one per subject, the subjects in ascending byte order:
//	        <k><offset><rest>, where the subject is the first k bytes of
//	        the previous subject followed by rest (front coding: a
//	        province's agencies share most of their subject), k one digit
//	        and offset (the point less base) width digits, both in base 64
//	        with the digits 0-9 A-Z a-z - _ (most significant first)
//
// With points spread over 2^30 sequences, 10,000 agencies' subjects take
// about 85 KB (TestStarts_TenThousandFit). A subject is refused unless it
// is printable ASCII without a space (NATS subjects of agency codes are).
//
// Reading accepts either form, and refuses both at once (an older
// lienthong assigned after this one: neither can be trusted alone).
// Writing removes the old keys.
const (
	metaStarts = "lt.starts."
	// metaStart is the old form, read but no longer written.
	metaStart = "lt.start."

	// startsFormat is the version of the packed form.
	startsFormat = "1"
	// startsChunkLen bounds each lt.starts.* value, so that the metadata
	// still reads as lines in `nats consumer info`.
	startsChunkLen = 4096
	// maxStartsLen bounds the packed text: what is left of nats-server's
	// 128 KiB is for the other keys (lt.until) and the keys' names.
	maxStartsLen = 120 << 10
	// startsDigits are the base-64 digits of k and the offsets.
	startsDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
)

// encodeStarts returns the metadata keys and values that carry starts
// (subject → point) in the packed form: none for no subject.
func encodeStarts(starts map[string]uint64) (map[string]string, error) {
	if len(starts) == 0 {
		return map[string]string{}, nil
	}
	subjects := make([]string, 0, len(starts))
	base := uint64(math.MaxUint64)
	var top uint64
	for s, p := range starts {
		if err := checkStartSubject(s); err != nil {
			return nil, fmt.Errorf("bus: start points: %w", err)
		}
		if p == 0 {
			return nil, fmt.Errorf("bus: start points: %s has point 0 (the first sequence is 1)", s)
		}
		subjects = append(subjects, s)
		base, top = min(base, p), max(top, p)
	}
	slices.Sort(subjects)
	width := 1
	for span := (top - base) >> 6; span > 0; span >>= 6 {
		width++
	}

	var body strings.Builder
	fmt.Fprintf(&body, " %d %d %d", len(subjects), base, width)
	digits := make([]byte, width)
	prev := ""
	for _, s := range subjects {
		k := 0
		for k < len(prev) && k < len(s) && k < len(startsDigits)-1 && prev[k] == s[k] {
			k++
		}
		off := starts[s] - base
		for i := width - 1; i >= 0; i-- {
			digits[i] = startsDigits[off&63]
			off >>= 6
		}
		body.WriteByte(' ')
		body.WriteByte(startsDigits[k])
		body.Write(digits)
		body.WriteString(s[k:])
		prev = s
	}
	text := fmt.Sprintf("%s %08x%s", startsFormat, crc32.ChecksumIEEE([]byte(body.String())), body.String())
	if len(text) > maxStartsLen {
		return nil, fmt.Errorf("bus: the start points of %d subjects take %d bytes, more than the %d a consumer's metadata has room for (nats-server allows 128 KiB in all): assign fewer agencies at a time",
			len(subjects), len(text), maxStartsLen)
	}
	meta := make(map[string]string, len(text)/startsChunkLen+1)
	for i := 0; len(text) > 0; i++ {
		n := min(len(text), startsChunkLen)
		meta[metaStarts+strconv.Itoa(i)] = text[:n]
		text = text[n:]
	}
	return meta, nil
}

// withStarts returns a copy of meta that carries starts, in the packed
// form only: the start keys of meta, of either form, are left out.
func withStarts(meta map[string]string, starts map[string]uint64) (map[string]string, error) {
	packed, err := encodeStarts(starts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(meta)+len(packed))
	for k, v := range meta {
		if !strings.HasPrefix(k, metaStarts) && !strings.HasPrefix(k, metaStart) {
			out[k] = v
		}
	}
	for k, v := range packed {
		out[k] = v
	}
	return out, nil
}

// decodeStarts returns the start points meta carries, by subject: from the
// packed form if it has any lt.starts.* key, else from the old
// lt.start.<subject> keys; both forms at once are refused. Whatever is
// not exactly as written is refused with an error naming the key: a point
// read wrong would have a gateway take another's packets or leave its own
// unhandled.
func decodeStarts(meta map[string]string) (map[string]uint64, error) {
	n := 0
	for k := range meta {
		if i, ok := strings.CutPrefix(k, metaStarts); ok {
			if v, err := strconv.Atoi(i); err != nil || v < 0 || strconv.Itoa(v) != i {
				return nil, fmt.Errorf("bus: metadata %s: not a key of the start points (%s0, %s1, …)", k, metaStarts, metaStarts)
			}
			n++
		}
	}
	if n == 0 {
		return decodeOldStarts(meta)
	}
	// Both forms: a lienthong of the first release assigned after this
	// one, adding its points in the old form next to packed ones it
	// copied unread. Neither can be trusted alone.
	for k := range meta {
		if strings.HasPrefix(k, metaStart) {
			return nil, fmt.Errorf("bus: metadata %s: a start point of the first release's form next to packed ones (%s0 …): was the gateway assigned by an older lienthong? Delete the consumer and assign the gateway again with this one", k, metaStarts)
		}
	}
	// The keys are lt.starts.0 … lt.starts.<n-1>, each once.
	var text strings.Builder
	ends := make([]int, n) // where each key's value ends in text
	for i := range n {
		v, ok := meta[metaStarts+strconv.Itoa(i)]
		if !ok {
			return nil, fmt.Errorf("bus: metadata %s%d: missing (there are %d other keys of the start points)", metaStarts, i, n)
		}
		text.WriteString(v)
		ends[i] = text.Len()
	}
	d := startsDecoder{text: text.String(), ends: ends}
	return d.decode()
}

// startsDecoder reads the packed text of the start points, and names the
// key of whatever is wrong in it.
type startsDecoder struct {
	text string
	ends []int
	pos  int // where the field being read begins
}

// fail returns the error of what is wrong at the decoder's position.
func (d *startsDecoder) fail(format string, args ...any) error {
	i, _ := slices.BinarySearch(d.ends, d.pos+1)
	i = min(i, len(d.ends)-1)
	return fmt.Errorf("bus: metadata %s%d: %s", metaStarts, i, fmt.Sprintf(format, args...))
}

// field returns the text up to the next space or the end, and moves past
// the space.
func (d *startsDecoder) field() string {
	rest := d.text[d.pos:]
	if i := strings.IndexByte(rest, ' '); i >= 0 {
		return rest[:i]
	}
	return rest
}

// next moves past the field f and the space after it.
func (d *startsDecoder) next(f string) { d.pos = min(d.pos+len(f)+1, len(d.text)) }

// number reads a field as a decimal number written as FormatUint writes
// it: no sign, no leading zero.
func (d *startsDecoder) number(what string) (uint64, error) {
	f := d.field()
	v, err := strconv.ParseUint(f, 10, 64)
	if err != nil || strconv.FormatUint(v, 10) != f {
		return 0, d.fail("%s %q is not a decimal number", what, f)
	}
	d.next(f)
	return v, nil
}

func (d *startsDecoder) decode() (map[string]uint64, error) {
	if v := d.field(); v != startsFormat {
		return nil, d.fail("format %q, not %s (written by a newer lienthong?)", v, startsFormat)
	}
	d.next(startsFormat)
	crc := d.text[d.pos:min(d.pos+8, len(d.text))]
	d.pos += len(crc)
	body := d.text[d.pos:] // the checksum's: from the space after it on
	if got := fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body))); crc != got || !strings.HasPrefix(body, " ") {
		return nil, d.fail("checksum %q, but the points read %s: cut short, edited or damaged", crc, got)
	}
	d.pos++
	n, err := d.number("the number of subjects")
	if err != nil {
		return nil, err
	}
	if n == 0 || n > uint64(len(body)) {
		return nil, d.fail("%d subjects in %d bytes", n, len(body))
	}
	base, err := d.number("the lowest point")
	if err != nil {
		return nil, err
	}
	if base == 0 {
		return nil, d.fail("the lowest point is 0 (the first sequence is 1)")
	}
	w, err := d.number("the width of the offsets")
	if err != nil {
		return nil, err
	}
	if w < 1 || w > 11 {
		return nil, d.fail("offsets of %d digits, not 1 to 11", w)
	}
	width := int(w)

	out := make(map[string]uint64, n)
	prev := ""
	for i := range int(n) {
		if d.pos >= len(d.text) {
			return nil, d.fail("%d subjects, not the %d said", i, n)
		}
		e := d.field()
		if len(e) < 1+width {
			return nil, d.fail("subject %d: %q is shorter than its offset", i+1, e)
		}
		k := strings.IndexByte(startsDigits, e[0])
		if k < 0 || k > len(prev) {
			return nil, d.fail("subject %d: %q does not begin with a count of bytes the subject before (%q) has", i+1, e, prev)
		}
		var off uint64
		for _, c := range []byte(e[1 : 1+width]) {
			v := strings.IndexByte(startsDigits, c)
			if v < 0 {
				return nil, d.fail("subject %d: offset %q has %q, not a digit", i+1, e[1:1+width], c)
			}
			if off > (math.MaxUint64-uint64(v))>>6 {
				return nil, d.fail("subject %d: offset %q is too large", i+1, e[1:1+width])
			}
			off = off<<6 | uint64(v)
		}
		s := prev[:k] + e[1+width:]
		if err := checkStartSubject(s); err != nil {
			return nil, d.fail("subject %d: %v", i+1, err)
		}
		if i > 0 && s <= prev {
			return nil, d.fail("subject %d: %s is not after %s (the subjects are in ascending order, each once)", i+1, s, prev)
		}
		if off > math.MaxUint64-base {
			return nil, d.fail("subject %d: %s: the point %d + %d is not a stream sequence", i+1, s, base, off)
		}
		out[s] = base + off
		prev = s
		d.next(e)
	}
	if d.pos < len(d.text) {
		return nil, d.fail("more than the %d subjects said", n)
	}
	return out, nil
}

// decodeOldStarts reads the start points of the version before: one key
// per subject, lt.start.<subject> = its point in decimal.
func decodeOldStarts(meta map[string]string) (map[string]uint64, error) {
	out := make(map[string]uint64)
	for k, v := range meta {
		s, ok := strings.CutPrefix(k, metaStart)
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(v, 10, 64)
		if err != nil || p == 0 || strconv.FormatUint(p, 10) != v {
			return nil, fmt.Errorf("bus: metadata %s: %q is not a stream sequence", k, v)
		}
		if s == "" {
			return nil, fmt.Errorf("bus: metadata %s: no subject", k)
		}
		out[s] = p
	}
	return out, nil
}

// checkStartSubject refuses a subject the packed form cannot carry: empty,
// or with a byte other than printable ASCII, or a space.
func checkStartSubject(s string) error {
	if s == "" {
		return fmt.Errorf("an empty subject")
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("subject %q has %q, which the start points do not carry", s, s[i])
		}
	}
	return nil
}
