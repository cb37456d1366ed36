// Package httprange bounds the byte ranges a download may ask for, for the
// gateway's downloads of attachments (API v1, the clerk's page). Such a
// download decodes the attachment's base64 as it is sent, and each range
// far from the one before starts decoding again from the nearest mark: a
// request of thousands of one-byte ranges, which fits in a header, cost
// ten times the CPU of the whole file (a review of issue 20's step A1:
// 20,000 ranges of a 30 MiB attachment, 1.4 s against 0.15 s). Go's
// net/http serves as many ranges as are asked.
package httprange

import (
	"net/http"
	"strings"
)

// MaxRanges is how many ranges a download may ask for at once: a resumed
// download asks for one, a reader of a PDF a few.
const MaxRanges = 8

// Limit drops r's Range header when it asks for more than MaxRanges
// ranges, so that http.ServeContent sends the whole content, as a server
// may (RFC 9110, 14.2).
func Limit(r *http.Request) {
	if v := r.Header.Get("Range"); strings.Count(v, ",") >= MaxRanges {
		r.Header.Del("Range")
	}
}
