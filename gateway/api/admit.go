package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/httpbody"
)

// admitBody admits a request's body before it is read
// (gateway.AdmitBody), limit bytes at most (413 at once if it declares
// more), and watches it as it arrives (a body that stops is cut: see
// httpbody). If it is not admitted, it answers — 503 busy with
// Retry-After, 503 unavailable while the gateway closes — and returns
// false. Otherwise r.Body is the body to read, at most limit bytes; the
// caller calls read once it has read it and release when done.
func (h *handler) admitBody(w http.ResponseWriter, r *http.Request, kind gateway.PacketKind, limit int64) (read, release func(), ok bool) {
	if r.ContentLength > limit {
		jsonError(w, tooLarge())
		return nil, nil, false
	}
	release, err := h.gw.AdmitBody(r.Context(), "api:"+callerOf(r).key.name, kind, r.ContentLength, limit)
	if !h.admitted(w, err) {
		return nil, nil, false
	}
	body, read := httpbody.Watch(w, r, httpbody.IdleTimeout)
	r.Body = http.MaxBytesReader(w, body, limit)
	return read, release, true
}

// admitWork waits for a turn to work on a request whose body is read
// (gateway.AdmitWork); it answers and returns false as admitBody does.
func (h *handler) admitWork(w http.ResponseWriter, r *http.Request, kind gateway.PacketKind) (release func(), ok bool) {
	release, err := h.gw.AdmitWork(r.Context(), "api:"+callerOf(r).key.name, kind)
	if !h.admitted(w, err) {
		return nil, false
	}
	return release, true
}

// admitted answers a request that was not admitted (err not nil) and
// returns false, or returns true.
func (h *handler) admitted(w http.ResponseWriter, err error) bool {
	var be *gateway.BusyError
	switch {
	case err == nil:
		return true
	case errors.As(err, &be):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(be.RetryAfter.Seconds()))))
		jsonError(w, busy())
	case errors.Is(err, gateway.ErrClosed):
		jsonError(w, unavailable())
	default:
		// The client went away while it waited: nobody reads the answer.
		jsonError(w, newError(http.StatusServiceUnavailable, CodeUnavailable,
			"Yêu cầu đã bị hủy trước khi được xử lý", "the request was cancelled before it was worked on"))
	}
	return false
}
