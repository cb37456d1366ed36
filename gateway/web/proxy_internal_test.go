package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientOf_TrustedProxies: from a trusted proxy the client is the
// rightmost address of X-Forwarded-For (every line of it) that is not a
// trusted proxy, with or without a port, an IPv6 one by its /64; without
// one, or with something else than an address before it, the
// connection's; from any other connection X-Forwarded-For is ignored.
func TestClientOf_TrustedProxies(t *testing.T) {
	var trusted []netip.Prefix
	for _, s := range []string{"127.0.0.1/32", "10.0.0.0/8", "2001:db8:ff::/48", "::ffff:192.0.2.0/120"} {
		trusted = append(trusted, normalProxy(netip.MustParsePrefix(s)))
	}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"127.0.0.1:4000", nil, "127.0.0.1"},
		{"127.0.0.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"127.0.0.1:4000", []string{"203.0.113.9, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"127.0.0.1:4000", []string{"203.0.113.9", "198.51.100.7 ,\t10.1.2.3"}, "198.51.100.7"},
		{"127.0.0.1:4000", []string{"10.0.0.1, 127.0.0.1"}, "127.0.0.1"},
		{"127.0.0.1:4000", []string{""}, "127.0.0.1"},
		{"127.0.0.1:4000", []string{"unknown"}, "127.0.0.1"},
		{"127.0.0.1:4000", []string{"198.51.100.1, unknown"}, "127.0.0.1"},
		{"127.0.0.1:4000", []string{"198.51.100.1,"}, "127.0.0.1"},
		{"127.0.0.1:4000", []string{"unknown, 198.51.100.1"}, "198.51.100.1"},
		{"127.0.0.1:4000", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"127.0.0.1:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"127.0.0.1:4000", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"},
		{"127.0.0.1:4000", []string{"[2001:db8:1:2::5%eth0]:443"}, "2001:db8:1:2::/64"},
		{"127.0.0.1:4000", []string{"198.51.100.1, 2001:db8:ff:3::1"}, "198.51.100.1"},
		{"[::ffff:127.0.0.1]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"[2001:db8:ff:1::1]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"192.0.2.5:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"127.0.0.2:4000", []string{"198.51.100.1"}, "127.0.0.2"},
		{"10.0.0.1.5:4000", []string{"198.51.100.1"}, "10.0.0.1.5"},
		{"[2001:db8:1:2::1]:4000", []string{"198.51.100.1"}, "2001:db8:1:2::/64"},
		{"@", []string{"198.51.100.1"}, "@"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/dang-nhap", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientOf(r, trusted); got != tc.want {
			t.Errorf("clientOf(%q, X-Forwarded-For %q) = %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}
