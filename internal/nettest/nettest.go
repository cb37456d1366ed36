// Package nettest holds the network helpers the tests share.
package nettest

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a server a test starts, and starts again, on a known port.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Link forwards TCP connections from a loopback port of its own to a
// target, and can be cut — every connection closed, new ones refused —
// and restored, as a provincial link that goes down and comes back.
type Link struct {
	t      testing.TB
	target string
	// Port is where the link listens: what its client dials instead of
	// the target.
	Port int

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

// NewLink starts a link to target, cut when the test ends.
func NewLink(t testing.TB, target string) *Link {
	t.Helper()
	l := &Link{t: t, target: target, Port: FreePort(t)}
	l.Restore()
	t.Cleanup(l.Cut)
	return l
}

// Restore listens again and forwards.
func (l *Link) Restore() {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(l.Port))
	if err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", l.target)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			if l.ln != ln {
				// Cut while this one was being dialled: it goes too.
				l.mu.Unlock()
				c.Close()
				u.Close()
				return
			}
			l.conns = append(l.conns, c, u)
			l.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

// Cut closes the listener and every connection.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}
