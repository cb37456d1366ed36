package httprange_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/internal/httprange"
)

// TestLimit: a download asking for a few ranges gets them; one asking for
// more than MaxRanges gets the whole content.
func TestLimit(t *testing.T) {
	content := strings.Repeat("0123456789", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httprange.Limit(r)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(content))
	}))
	defer srv.Close()
	ranges := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("%d-%d", 2*i*100, 2*i*100)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	for _, c := range []struct {
		ranges     string
		status     int
		wholeBody  bool
		partPrefix string
	}{
		{"bytes=10-19", http.StatusPartialContent, false, "0123456789"},
		{ranges(httprange.MaxRanges), http.StatusPartialContent, false, ""},
		{ranges(httprange.MaxRanges + 1), http.StatusOK, true, ""},
		{ranges(5000), http.StatusOK, true, ""},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Range", c.ranges)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Count(c.ranges, ",") + 1
		if res.StatusCode != c.status {
			t.Errorf("%d ranges: status %d, want %d", n, res.StatusCode, c.status)
		}
		if whole := string(body) == content; whole != c.wholeBody {
			t.Errorf("%d ranges: the whole content %v, want %v", n, whole, c.wholeBody)
		}
		if c.partPrefix != "" && string(body) != c.partPrefix {
			t.Errorf("%d ranges: body %q, want %q", n, body, c.partPrefix)
		}
	}
}
