package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// TestMaxPacketSize: the gateway, its configuration and every edxml
// command that reads a packet have the same largest packet by default,
// so that a packet a gateway accepted can be read, signed and verified
// offline.
func TestMaxPacketSize(t *testing.T) {
	want := int64(envelope.DefaultMaxSize)
	if got := int64(gateway.DefaultMaxPacketSize); got != want {
		t.Errorf("gateway.DefaultMaxPacketSize = %d, envelope.DefaultMaxSize %d", got, want)
	}
	if got := DefaultConfig().Gateway.MaxPacketSize; got != want {
		t.Errorf("default gateway.maxPacketSize = %d, envelope.DefaultMaxSize %d", got, want)
	}
	for _, cmd := range []string{"inspect", "validate", "sign", "verify"} {
		r := run(t, nil, "edxml", cmd, "-help")
		r.wantCode(t, 0)
		if s := "(default " + strconv.FormatInt(want, 10) + ")"; !strings.Contains(r.stdout, "-max-size") || !strings.Contains(r.stdout, s) {
			t.Errorf("edxml %s -help: no -max-size %s:\n%s", cmd, s, r.stdout)
		}
	}
}
