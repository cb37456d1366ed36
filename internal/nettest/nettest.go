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

// Listen listens on a port of 127.0.0.1 that the kernel chooses, for a
// server the test runs in its own process: the listener is handed over,
// not its port, so that no one can take the port between its choice and
// its use. It is closed when the test ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Port reserves a TCP port on 127.0.0.1 for the rest of the test, for a
// server that must bind it itself — a child process, a nats-server
// configured by port number — and may bind it again after a restart.
// Prefer Listen where a listener can be handed over.
//
// A reserved port is one no other test of this machine is handed at the
// same time: it is below the kernel's range of ephemeral ports
// (/proc/sys/net/ipv4/ip_local_port_range), so no outgoing connection and
// no listener on port 0 gets it, and every test process reserves it
// through a lock of the port's file in a directory they share (see
// reserve), released when the test ends or its process dies. A
// program that is not a test may still hold it: a server that finds it
// taken is started again on another (see the e2e harness), never on the
// same one.
func Port(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	for range 1000 {
		port := minPort + rand.IntN(low-minPort)
		if !handedOut.claim(port) {
			continue
		}
		release, ok := reserve(port)
		if !ok {
			continue
		}
		// Reserved among tests; free of anything else now.
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			release()
			continue
		}
		ln.Close()
		t.Cleanup(release)
		return port
	}
	t.Fatalf("no free port below %d after 1,000 tries", low)
	return 0
}

// minPort is the lowest port Port chooses: above the registered ports of
// common services.
const minPort = 20000

// handedOut remembers the ports Port returned in this process, so that
// it never returns one twice, even after its test released it: a server
// of an earlier test may not have let go of it yet.
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
//
// It keeps its listener while cut, closing at once what it accepts: a
// port let go of while cut could be taken before Restore binds it again.
type Link struct {
	target string
	// Port is where the link listens: what its client dials instead of
	// the target.
	Port int

	ln        net.Listener
	mu        sync.Mutex
	cut       bool
	conns     []net.Conn
	forwarded int
}

// NewLink starts a link to target, cut when the test ends.
func NewLink(t testing.TB, target string) *Link {
	t.Helper()
	ln := Listen(t)
	l := &Link{target: target, Port: ln.Addr().(*net.TCPAddr).Port, ln: ln}
	go l.serve()
	t.Cleanup(l.Cut)
	return l
}

// serve accepts until the listener is closed at the end of the test.
func (l *Link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.forward(c)
	}
}

// forward connects c to the target, unless the link is cut.
func (l *Link) forward(c net.Conn) {
	if l.isCut() {
		c.Close()
		return
	}
	u, err := net.Dial("tcp", l.target)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	if l.cut {
		// Cut while this one was being dialled: it goes too.
		l.mu.Unlock()
		c.Close()
		u.Close()
		return
	}
	l.conns = append(l.conns, c, u)
	l.forwarded++
	l.mu.Unlock()
	go func() { io.Copy(u, c); u.Close() }()
	go func() { io.Copy(c, u); c.Close() }()
}

// Forwarded is how many connections the link has forwarded so far: one
// more since a Cut says the link did not stay cut.
func (l *Link) Forwarded() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.forwarded
}

func (l *Link) isCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// Restore forwards again.
func (l *Link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

// Cut closes every connection, and those accepted until Restore.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}
