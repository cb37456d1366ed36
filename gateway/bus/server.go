package bus

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
)

// Defaults of ServerOptions.
const (
	// DefaultServerHost is where an embedded server listens unless told:
	// loopback only.
	DefaultServerHost = "127.0.0.1"
	// DefaultServerReadyTimeout is how long StartServer waits for the
	// server to take connections.
	DefaultServerReadyTimeout = 10 * time.Second
)

// ServerOptions configure an embedded nats-server.
type ServerOptions struct {
	// Dir is where JetStream keeps its files; required. A server started
	// again on the same Dir finds its streams, consumers and messages.
	Dir string
	// Host is the address to listen on; "" means DefaultServerHost.
	Host string
	// Port is the client port. 0 and -1 pick a free port (read it back
	// with the server's ClientURL); the NATS default 4222 is used only
	// when asked for.
	Port int
	// Name is the server name; "" lets the server pick one.
	Name string
	// Domain is the JetStream domain, for a leaf node with its own
	// JetStream; "" for none.
	Domain string
	// Log receives the server's log; nil keeps the server silent.
	Log *zap.Logger
	// Debug adds the server's debug lines to Log.
	Debug bool
	// ReadyTimeout is how long to wait for the server to take
	// connections; 0 means DefaultServerReadyTimeout.
	ReadyTimeout time.Duration
}

// StartServer starts an embedded nats-server with JetStream and file
// storage under opts.Dir, and waits until it takes connections. Its
// ClientURL is the URL to give Open. Shut it down with Shutdown and
// WaitForShutdown, or hand it to Open in Options.Server so that the Bus
// does. It fails if the server cannot start, is not ready in time, or
// runs without JetStream (a Dir that cannot be written, or that another
// server holds).
func StartServer(opts ServerOptions) (*server.Server, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: start server: a store directory is required", ErrInvalidOption)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("bus: start server: store directory %q: %w", opts.Dir, err)
	}
	if opts.Host == "" {
		opts.Host = DefaultServerHost
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultServerReadyTimeout
	}
	sopts := &server.Options{
		ServerName:      opts.Name,
		Host:            opts.Host,
		Port:            opts.Port,
		JetStream:       true,
		JetStreamDomain: opts.Domain,
		StoreDir:        dir,
		NoSigs:          true,
		Debug:           opts.Debug,
		// Set, not left to nats-server's defaults (1,000 consumers per
		// stream, 1,000 unacknowledged messages per consumer), as
		// deploy/nats sets them on the hub.
		JetStreamLimits: server.JSLimitOpts{DefaultMaxConsumers: MaxConsumersPerStream, MaxAckPending: 10000},
		// The answers to its streams' sourcing requests come on subjects
		// naming the domain, stream and consumer asked, which a leaf
		// node's permissions allow one by one (LeafPermissions); as
		// deploy/nats sets it on the hub and the leaf nodes.
		FeatureFlags: map[string]bool{server.FeatureFlagJsAPIReplyFormatV2: true},
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("bus: start server: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	slog := &serverLogger{l: log.Sugar()}
	srv.SetLoggerV2(slog, opts.Debug, false, false)
	srv.Start()
	// Ready, or failed (a port in use is a fatal error the server logs
	// at once): said as soon as it is known, not after the whole wait.
	for deadline := time.Now().Add(opts.ReadyTimeout); !srv.ReadyForConnections(50 * time.Millisecond); {
		if f := slog.fatal(); f != "" || time.Now().After(deadline) {
			srv.Shutdown()
			srv.WaitForShutdown()
			if f != "" {
				return nil, fmt.Errorf("bus: start server on %s:%d%s", opts.Host, opts.Port, f)
			}
			return nil, fmt.Errorf("bus: start server on %s:%d: not ready after %s", opts.Host, opts.Port, opts.ReadyTimeout)
		}
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("bus: start server: JetStream is not enabled (store directory %s)%s", dir, slog.fatal())
	}
	return srv, nil
}

// serverLogger passes the server's log to zap and keeps its last fatal
// message, which says why a server did not start. Its Fatalf does not
// exit: StartServer reports the failure instead.
type serverLogger struct {
	l  *zap.SugaredLogger
	mu sync.Mutex
	f  string
}

func (s *serverLogger) Noticef(format string, v ...any) { s.l.Infof(format, v...) }
func (s *serverLogger) Warnf(format string, v ...any)   { s.l.Warnf(format, v...) }
func (s *serverLogger) Errorf(format string, v ...any)  { s.l.Errorf(format, v...) }
func (s *serverLogger) Debugf(format string, v ...any)  { s.l.Debugf(format, v...) }
func (s *serverLogger) Tracef(format string, v ...any)  { s.l.Debugf(format, v...) }

func (s *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.l.Error(msg)
	s.mu.Lock()
	s.f = msg
	s.mu.Unlock()
}

// fatal returns ": " and the last fatal message, or "".
func (s *serverLogger) fatal() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == "" {
		return ""
	}
	return ": " + s.f
}
