package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"unsafe"

	"github.com/beevik/etree"
)

// Attachments are base64 text, often tens of megabytes of it in one text
// node, and encoding/xml reads text a byte at a time. So before the XML is
// parsed, long runs of base64 text between a '>' and a '<' are lifted out
// and replaced by short markers; once the tree is built the markers are
// replaced by the text. The tree is the one encoding/xml would have built:
// only runs of base64 characters and white space are lifted (they hold no
// markup, no references and nothing XML forbids), and their line ends are
// normalised the way XML does.

// blobMin is the shortest run worth lifting out. Lifting costs a marker
// and a search for it; encoding/xml spends about as much on a few dozen
// bytes. 256 lifts a signature's certificate and value as well as
// attachments, which made reading a 4 KB status packet a sixth cheaper.
const blobMin = 256

// blobs holds the runs lifted out of one input.
type blobs struct {
	marker string   // unique to this input: "\uE000<nonce>:"
	runs   [][]byte // aliases of the input
}

// blobBytes are the bytes a lifted run may hold: base64's and white space.
var blobBytes = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\n\r") {
		t[c] = true
	}
	return t
}()

// liftBlobs returns b with its long base64 runs replaced by markers, and the
// runs. When there are none it returns b itself and nil.
func liftBlobs(b []byte) ([]byte, *blobs) {
	var bl *blobs
	var out []byte
	last := 0
	for i := 0; i < len(b); {
		gt := bytes.IndexByte(b[i:], '>')
		if gt < 0 {
			break
		}
		start := i + gt + 1
		end := start
		for end < len(b) && blobBytes[b[end]] {
			end++
		}
		if end-start >= blobMin && end < len(b) && b[end] == '<' && len(bytes.TrimLeft(b[start:end], " \t\n\r")) > 0 {
			if bl == nil {
				bl = &blobs{marker: newMarker()}
				out = make([]byte, 0, len(b)/4)
			}
			out = append(out, b[last:start]...)
			out = append(out, bl.marker...)
			out = strconv.AppendInt(out, int64(len(bl.runs)), 10)
			out = append(out, "\uE001"...)
			bl.runs = append(bl.runs, b[start:end])
			last = end
		}
		i = end
	}
	if bl == nil {
		return b, nil
	}
	return append(out, b[last:]...), bl
}

// newMarker returns a marker no input can guess: private-use characters
// around a random nonce.
func newMarker() string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	return "\uE000" + hex.EncodeToString(nonce[:]) + ":"
}

// restore puts the lifted runs back into every text-bearing node of the
// tree. encoding/xml normalises line ends in text and CDATA only, so runs
// that went into comments and processing instructions are put back as
// they were. (Directives are refused before this is called.)
func (bl *blobs) restore(el *etree.Element) {
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			bl.restore(t)
		case *etree.CharData:
			t.Data = bl.expand(t.Data, true)
		case *etree.Comment:
			t.Data = bl.expand(t.Data, false)
		case *etree.ProcInst:
			t.Inst = bl.expand(t.Inst, false)
		}
	}
}

// expand replaces the markers in s by their runs, with line ends
// normalised as in XML text when normalise is set.
func (bl *blobs) expand(s string, normalise bool) string {
	if !strings.Contains(s, bl.marker) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, bl.marker)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		rest := s[i+len(bl.marker):]
		j := strings.Index(rest, "\uE001")
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n < 0 || n >= len(bl.runs) {
			// Not one of ours (it cannot be, with a random nonce): leave it.
			b.WriteString(s[:i+len(bl.marker)])
			s = rest
			continue
		}
		run := bl.runs[n]
		if b.Len() == 0 && i == 0 && len(rest) == j+len("\uE001") && (!normalise || bytes.IndexByte(run, '\r') < 0) {
			// The whole node, the common case: the text shares the
			// input's memory instead of copying a 67 MB attachment.
			// ReadTree's callers keep the input unchanged while they
			// use the tree; FromTree copies what a Packet keeps.
			return unsafe.String(unsafe.SliceData(run), len(run))
		}
		b.WriteString(s[:i])
		if normalise {
			writeNormalised(&b, run)
		} else {
			b.Write(run)
		}
		s = rest[j+len("\uE001"):]
	}
}

// writeNormalised writes run with CR LF and lone CR turned into LF.
func writeNormalised(b *strings.Builder, run []byte) {
	b.Grow(len(run))
	for len(run) > 0 {
		i := bytes.IndexByte(run, '\r')
		if i < 0 {
			b.Write(run)
			return
		}
		b.Write(run[:i])
		b.WriteByte('\n')
		run = run[i+1:]
		if len(run) > 0 && run[0] == '\n' {
			run = run[1:]
		}
	}
}
