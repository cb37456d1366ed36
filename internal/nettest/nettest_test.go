package nettest

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// A port reserved by one test process is not reserved by another while
// the first holds it: a second lock of the port's file fails (flock locks
// belong to the open file, so a second open in this process stands for
// another process), and succeeds once the first is released.
func TestReserve(t *testing.T) {
	port := Port(t)
	if _, ok := reserve(port); ok {
		t.Fatalf("port %d reserved twice", port)
	}
	release, ok := reserve(port + 1)
	if !ok {
		t.Skipf("port %d is reserved elsewhere", port+1)
	}
	release()
	release, ok = reserve(port + 1)
	if !ok {
		t.Fatalf("port %d not reserved again after its release", port+1)
	}
	release()
}

// Port never hands out a port twice, and the port is free to bind.
func TestPort(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := Port(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		ln.Close()
	}
}

// A link forwards, refuses while cut (keeping its port), and forwards
// again when restored; Forwarded counts what it forwarded.
func TestLink(t *testing.T) {
	target := Listen(t)
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	l := NewLink(t, target.Addr().String())
	echo := func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(l.Port), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		b := make([]byte, 1)
		_, err = io.ReadFull(c, b)
		return err
	}
	if err := echo(); err != nil {
		t.Fatalf("through the link: %v", err)
	}
	l.Cut()
	n := l.Forwarded()
	if err := echo(); err == nil {
		t.Fatal("through the cut link: answered")
	}
	if got := l.Forwarded(); got != n {
		t.Errorf("the cut link forwarded %d connections", got-n)
	}
	l.Restore()
	if err := echo(); err != nil {
		t.Fatalf("through the restored link: %v", err)
	}
	if got := l.Forwarded(); got != n+1 {
		t.Errorf("forwarded %d after the restore, want %d", got, n+1)
	}
}
