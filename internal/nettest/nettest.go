// Package nettest holds the network helpers the tests share.
package nettest

import (
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a server a test starts, and starts again, on a known port.
//
// The port is below the kernel's range of ephemeral ports
// (/proc/sys/net/ipv4/ip_local_port_range), which the kernel hands out as
// the local ports of outgoing connections: a port from that range, free
// when chosen, was taken by another process's connection before the test's
// server could listen on it (a gateway then found its API port answering
// for someone else). Ports are chosen at random, and never twice in one
// test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	for range 1000 {
		port := minPort + rand.IntN(low-minPort)
		if !handedOut.claim(port) {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatalf("no free port below %d after 1,000 tries", low)
	return 0
}

// minPort is the lowest port FreePort chooses: above the registered
// ports of common services.
const minPort = 20000

// handedOut remembers the ports FreePort returned in this process. It is
// process-wide state, like the ports themselves: two tests asking at once
// must not be given the same one.
var handedOut = &portSet{ports: map[int]bool{}}

type portSet struct {
	mu    sync.Mutex
	ports map[int]bool
}

// claim records port and reports whether it was not yet handed out.
func (s *portSet) claim(port int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[port] {
		return false
	}
	s.ports[port] = true
	return true
}

// ephemeralLow returns the first port of the kernel's ephemeral range, or
// 32768 (Linux's default) when it cannot be read or leaves no room.
func ephemeralLow() int {
	const fallback = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return fallback
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= minPort+1000 {
		return fallback
	}
	return low
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
