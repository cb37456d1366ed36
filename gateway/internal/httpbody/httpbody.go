// Package httpbody cuts a request body that stops arriving, for the HTTP
// faces of a gateway (API v1, the VXP face): a DMS whose upload stalls,
// or that declares a length and sends nothing, would otherwise hold what
// the gateway admitted it to (gateway.AdmitBody) for as long as it likes.
package httpbody

import (
	"io"
	"net/http"
	"time"
)

// IdleTimeout is how long a body may give no byte before its connection
// is cut: long enough for a slow link's pauses, short enough that a stuck
// client gives its memory back soon.
const IdleTimeout = 30 * time.Second

// Watch sets the connection's read deadline to idle from now and moves it
// on as the body gives bytes; it returns the body to read instead of
// r.Body, and stop, to call once the body is read: it lifts the deadline,
// which would otherwise end the request's context while the handler works
// (net/http reads on in the background, to see the client go). On a
// connection that has no deadlines (a test recorder) the body is returned
// as it is.
func Watch(w http.ResponseWriter, r *http.Request, idle time.Duration) (body io.ReadCloser, stop func()) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(idle)); err != nil {
		// http.ErrNotSupported: nothing to watch with. Any other error
		// is the connection's, which the body's reads will see.
		return r.Body, func() {}
	}
	wb := &watched{ReadCloser: r.Body, rc: rc, idle: idle, moved: time.Now()}
	return wb, func() {
		// An error is the connection's: the answer will fail to be
		// written, which net/http handles.
		_ = rc.SetReadDeadline(time.Time{})
	}
}

// watched moves the deadline on as bytes arrive, at most every quarter of
// idle (a deadline costs a timer's reset, not a system call, but a 70 MB
// body is thousands of reads).
type watched struct {
	io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	moved time.Time
}

func (b *watched) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if now := time.Now(); now.Sub(b.moved) >= b.idle/4 {
			b.moved = now
			// An error here is the connection's, which the next read
			// returns.
			_ = b.rc.SetReadDeadline(now.Add(b.idle))
		}
	}
	return n, err
}
