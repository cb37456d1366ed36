package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// OtherRoute is the route label of a request that matches no route.
const OtherRoute = "other"

// Router tells which route a request goes to, as http.ServeMux.Handler
// does: the pattern is "" when no route matches. An *http.ServeMux is a
// Router, and so is the handler of gateway/api.
type Router interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// Middleware counts the requests next answers and how long they take, by
// route and status code. The route is the pattern of the mux route the
// request goes to, as "GET /api/v1/documents/{id}": asked of next
// before the request is served when next is a Router, else read from
// the request's Pattern once next returns (a mux that next passes the
// same request to sets it). A request that matches no route is counted
// under OtherRoute.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	router, _ := next.(Router)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := ""
		if router != nil {
			_, route = router.Handler(r)
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if route == "" {
			route = r.Pattern
		}
		if route == "" {
			route = OtherRoute
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.httpRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// statusWriter keeps the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
