package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/lienthong/lienthong/gateway"
)

// admit waits for the request's turn (gateway.Admit) before its body is
// read. If it does not come, it answers — 503 busy with Retry-After, 503
// unavailable while the gateway closes — and returns false; otherwise
// the caller calls release when done.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release, err := h.gw.Admit(r.Context(), r.ContentLength)
	var be *gateway.BusyError
	switch {
	case err == nil:
		return release, true
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
	return nil, false
}
