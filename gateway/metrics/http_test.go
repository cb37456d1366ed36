package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lienthong/lienthong/gateway/metrics"
)

// routedMux is a mux that, like the API's access log, hands the mux a copy
// of the request (so the caller's request never gets a Pattern), and that
// tells routes as a metrics.Router.
type routedMux struct{ *http.ServeMux }

type ctxKey struct{}

func (m routedMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.ServeMux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "x")))
}

// TestMiddleware: requests are counted by the pattern of the route they
// take, whether the mux is the handler itself or sits behind one that
// copies the request; a request no route takes counts under "other".
func TestMiddleware(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*http.ServeMux) http.Handler
	}{
		{"ServeMux", func(m *http.ServeMux) http.Handler { return m }},
		{"Router", func(m *http.ServeMux) http.Handler { return routedMux{m} }},
		{"PatternOnly", func(m *http.ServeMux) http.Handler { return http.HandlerFunc(m.ServeHTTP) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := metrics.New(reg)
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /api/v1/documents/{id}", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.PathValue("id"))
			})
			mux.HandleFunc("POST /api/v1/documents", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
			})
			srv := httptest.NewServer(m.Middleware(tc.wrap(mux)))
			defer srv.Close()

			do := func(method, path string, want int) {
				t.Helper()
				req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
				}
			}
			for _, id := range []string{"a", "b", "c"} {
				do(http.MethodGet, "/api/v1/documents/"+id, http.StatusOK)
			}
			do(http.MethodPost, "/api/v1/documents", http.StatusAccepted)
			do(http.MethodGet, "/nowhere", http.StatusNotFound)
			do(http.MethodDelete, "/api/v1/documents/a", http.StatusMethodNotAllowed)

			wantSample(t, reg, 3, "lienthong_http_requests_total", "route", "GET /api/v1/documents/{id}", "code", "200")
			wantSample(t, reg, 1, "lienthong_http_requests_total", "route", "POST /api/v1/documents", "code", "202")
			wantSample(t, reg, 1, "lienthong_http_requests_total", "route", metrics.OtherRoute, "code", "404")
			wantSample(t, reg, 1, "lienthong_http_requests_total", "route", metrics.OtherRoute, "code", "405")
			wantSample(t, reg, 3, "lienthong_http_request_duration_seconds", "route", "GET /api/v1/documents/{id}")
			if n, err := testutil.GatherAndCount(reg, "lienthong_http_requests_total"); err != nil || n != 4 {
				t.Errorf("%d series of lienthong_http_requests_total (%v), want 4: one per route and code", n, err)
			}
		})
	}
}
