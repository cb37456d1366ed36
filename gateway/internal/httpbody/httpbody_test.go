package httpbody_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/internal/httpbody"
)

// TestWatch: a body that stops arriving is cut after the idle time, one
// that keeps arriving slowly is not, and once the body is read (stop) the
// request's context outlives the idle time while the handler works.
func TestWatch(t *testing.T) {
	const idle = 200 * time.Millisecond
	type outcome struct {
		read   int
		err    error
		ctxErr error
	}
	got := make(chan outcome, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, stop := httpbody.Watch(w, r, idle)
		b, err := io.ReadAll(body)
		stop()
		if err == nil {
			// Working on it for longer than the idle time.
			time.Sleep(3 * idle)
		}
		got <- outcome{read: len(b), err: err, ctxErr: r.Context().Err()}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	post := func(t *testing.T, length int, parts ...string) outcome {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", addr, length)
		for _, p := range parts {
			if _, err := io.WriteString(c, p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(idle / 2)
		}
		select {
		case o := <-got:
			return o
		case <-time.After(10 * time.Second):
			t.Fatal("the handler never returned: the stalled body was not cut")
			return outcome{}
		}
	}

	t.Run("stalled", func(t *testing.T) {
		o := post(t, 10, "abc") // then nothing
		if o.err == nil || o.read != 3 {
			t.Fatalf("read %d bytes, error %v; want 3 and the connection cut", o.read, o.err)
		}
	})
	t.Run("slow but steady", func(t *testing.T) {
		// Each part after half the idle time: seven in all, longer than
		// the idle time, never idle as long.
		o := post(t, 7, "a", "b", "c", "d", "e", "f", "g")
		if o.err != nil || o.read != 7 {
			t.Fatalf("read %d bytes, error %v; want all 7", o.read, o.err)
		}
		if o.ctxErr != nil {
			t.Fatalf("the request's context ended while the handler worked: %v", o.ctxErr)
		}
	})
}
