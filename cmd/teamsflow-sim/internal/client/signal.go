package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// signalling makes real HTTPS requests to the names resolved before, with
// those names as SNI, verifying against the run-time CA. It keeps one TCP
// connection per host, as a client's connection pool would, and records
// each for the ground truth.
type signalling struct {
	client *http.Client
	mu     sync.Mutex
	conns  []trackedConn
}

type trackedConn struct {
	host string
	conn *net.TCPConn
}

func newSignalling(res *resolver, caPEM string) (*signalling, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, fmt.Errorf("loading the simulator CA: no certificate")
	}
	s := &signalling{}
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			ips := res.addrs[host]
			if len(ips) == 0 {
				return nil, fmt.Errorf("dialing %s: name was not resolved", host)
			}
			// Prefer IPv6 when the name has it, as happy eyeballs would on
			// a dual-stack host.
			ip := ips[0]
			for _, cand := range ips {
				if cand.To4() == nil {
					ip = cand
				}
			}
			c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.conns = append(s.conns, trackedConn{host: host, conn: c.(*net.TCPConn)})
			s.mu.Unlock()
			return c, nil
		},
	}
	s.client = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return s, nil
}

func (s *signalling) do(ctx context.Context, r plan.Request) error {
	var body io.Reader
	if r.Method == http.MethodPost {
		body = strings.NewReader(`{"endpointFeatures":"Agent,Presence2015,MessageProperties"}`)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return fmt.Errorf("building request %s: %w", r.URL, err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/25.1")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("requesting %s: %w", r.URL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("requesting %s: status %s", r.URL, resp.Status)
	}
	return nil
}

// keepalive repeats a request until ctx ends, like the trouter long poll
// that keeps Teams' signalling connection busy during a call.
func (s *signalling) keepalive(ctx context.Context, r plan.Request, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = s.do(ctx, r)
		}
	}
}

// finish reads each connection's segment count (TCP_INFO) before closing
// them, so the ground truth carries real packet counts.
func (s *signalling) finish() []truth.Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []truth.Stream
	for _, tc := range s.conns {
		st := truth.Stream{Transport: "tcp", Label: truth.LabelSignalling, ServerName: tc.host}
		fillAddrs(&st, tc.conn.LocalAddr(), tc.conn.RemoteAddr())
		st.PacketsSent = segsOut(tc.conn)
		out = append(out, st)
	}
	s.client.CloseIdleConnections()
	return out
}

func segsOut(c *net.TCPConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = int(info.Segs_out)
		}
	})
	return n
}
