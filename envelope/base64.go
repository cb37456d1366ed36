package envelope

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
)

// An attachment's base64 is most of a large packet, and decoding it was as
// much of verifying a 2 MB packet as the SHA-256 of its bytes: the
// decoder of encoding/base64 looks each character up and tests it on its
// own. decodeStd takes the bulk of the text eight characters at a time
// through base64Places, and leaves the rest to encoding/base64.

// base64Places holds, for each place in a group of four characters of the
// standard alphabet, every byte's six bits already shifted to where they
// go in the group's 24, or base64Bad for a byte not in the alphabet: a
// group is then four lookups ORed together and one test. Made at the
// first decoding, not when the package loads.
var base64Places = sync.OnceValue(func() (t *[4][256]uint32) {
	t = new([4][256]uint32)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for place := range t {
		for c := range t[place] {
			t[place][c] = base64Bad
		}
		for v, c := range []byte(alphabet) {
			t[place][c] = uint32(v) << (18 - 6*place)
		}
	}
	return t
})

// base64Bad marks a byte outside the alphabet, above a group's 24 bits.
const base64Bad = 1 << 24

// decodeStd is base64.StdEncoding.DecodeString(s): the same bytes, the
// same error (FuzzDecodeStd). Groups of eight characters of the alphabet
// from the start of s are decoded here; encoding/base64 decodes what
// follows the first group that holds anything else (padding, a line break,
// a byte not base64), and the last groups, for which dst has no room to
// write eight bytes at once.
func decodeStd(s string) ([]byte, error) {
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	read, written := 0, 0
	t := base64Places()
	for read+8 <= len(s) && written+8 <= len(dst) {
		g := s[read : read+8]
		hi := t[0][g[0]] | t[1][g[1]] | t[2][g[2]] | t[3][g[3]]
		lo := t[0][g[4]] | t[1][g[5]] | t[2][g[6]] | t[3][g[7]]
		if (hi|lo)&base64Bad != 0 {
			break
		}
		// Six bytes, and two that the next group overwrites.
		binary.BigEndian.PutUint64(dst[written:], uint64(hi)<<40|uint64(lo)<<16)
		read += 8
		written += 6
	}
	// What was read is whole groups of four with no line break, so that
	// encoding/base64 reads the rest as it would have in s.
	n, err := base64.StdEncoding.Decode(dst[written:], []byte(s[read:]))
	var at base64.CorruptInputError
	if errors.As(err, &at) {
		err = at + base64.CorruptInputError(read) // where in s
	}
	return dst[:written+n], err
}
