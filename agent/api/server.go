// Package api is the agent's local API: HTTP over a unix socket, for
// `teamsflow streams` and for local tools. Access is limited twice: the
// socket file is root:GROUP mode 0660, and every connection's peer
// credentials (SO_PEERCRED) are checked against root and GROUP, so a
// socket passed on or a loosened mode does not open it up.
//
// Endpoints (GET):
//
//	/v1/streams[?all_apps=1]  stream records, JSON array (Teams only unless all_apps)
//	/v1/calls                 calls with their streams' labels, JSON array
//	/v1/health                agent health, JSON; 503 when unhealthy
//	/v1/counters              the agent's own counters, JSON object
//	/metrics                  the same counters in Prometheus text format
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/record"
)

// StreamSource hands out the current stream records.
type StreamSource interface {
	Records(allApps bool) []record.Record
}

// Metric is one of the agent's own figures.
type Metric struct {
	Name    string // without the teamsflow_ prefix, e.g. "flows_tracked"
	Help    string
	Counter bool // only ever grows (else a gauge)
	Value   float64
}

// Health is the agent's own view of whether it works.
type Health struct {
	OK       bool      `json:"ok"`
	Version  string    `json:"version"`
	Started  time.Time `json:"started"`
	LastPoll time.Time `json:"last_poll"`
	Attached []string  `json:"attached"`
	Export   bool      `json:"export"`
	Problems []string  `json:"problems,omitempty"`
}

// Options configure a Server.
type Options struct {
	Socket  string
	Group   string // "" or unknown: root only
	Streams StreamSource
	Metrics func() []Metric
	Health  func() Health
	Log     zerolog.Logger
}

// Server serves the API on a unix socket.
type Server struct {
	opts     Options
	gid      int // -1: no group
	listener net.Listener
	http     *http.Server
	requests atomic.Uint64
	denied   atomic.Uint64
	served   bool
	done     chan error
}

// Listen prepares the socket: creates its directory, removes a stale
// socket left by an agent that died, and refuses when another agent is
// listening there. Nothing is served until Serve.
func Listen(opts Options) (*Server, error) {
	s := &Server{opts: opts, gid: -1, done: make(chan error, 1)}
	if opts.Group != "" {
		if g, err := user.LookupGroup(opts.Group); err == nil {
			s.gid, _ = strconv.Atoi(g.Gid)
		}
	}
	if err := prepareSocketPath(opts.Socket); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", opts.Socket)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Socket, err)
	}
	s.listener = l
	if err := os.Chmod(opts.Socket, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting the mode of %s: %w", opts.Socket, err)
	}
	if err := os.Chown(opts.Socket, os.Geteuid(), s.gid); err != nil {
		l.Close()
		return nil, fmt.Errorf("giving %s to group %s: %w", opts.Socket, opts.Group, err)
	}
	s.http = &http.Server{Handler: s.routes(), ConnContext: withPeerCred, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

func prepareSocketPath(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		// Others must be able to reach the socket; the socket's own mode
		// and the credential check decide who may talk to it.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: remove it or set api.socket elsewhere", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("another teamsflow agent is already listening on %s", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	// Nobody listens: a socket left by an agent that was killed.
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	return nil
}

// Serve answers requests until Shutdown; it returns at once.
func (s *Server) Serve() {
	s.served = true
	go func() {
		err := s.http.Serve(s.listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
}

// Shutdown stops accepting, lets running requests finish until ctx ends,
// and removes the socket.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Without Serve the listener is still ours to close (this unlinks it).
	s.listener.Close()
	if s.served {
		err = errors.Join(err, <-s.done)
	}
	return err
}

// Close is Shutdown without waiting for running requests.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}
