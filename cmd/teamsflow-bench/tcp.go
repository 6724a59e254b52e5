package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/teamsflow/teamsflow/agent"
)

// tcpPort is where the bench's TCP sink listens in the server namespace.
const tcpPort = 5001

// tcpBuffer is the size of one write and one read of the bulk stream.
const tcpBuffer = 256 << 10

// tcpReport is the TCP bulk measurement: throughput of one stream per
// trial, in Gbit/s, off and on in alternating pairs.
type tcpReport struct {
	off, on []float64
	paired  []float64 // on/off of each pair
}

// kept is the median of the pairs' ratios.
func (r *tcpReport) kept() float64 { return summarize(r.paired).median }

// noise is how far the off trials stray from their own median: a loss
// smaller than that cannot be told from the machine's run-to-run spread.
func (r *tcpReport) noise() float64 {
	med := summarize(r.off).median
	var worst float64
	for _, v := range r.off {
		worst = max(worst, math.Abs(ratio(v, med)-1))
	}
	return worst
}

// measureTCP sends one TCP bulk stream per trial from the client to a
// sink in the server namespace, with the agent off and on (in the client
// namespace, in-process, as for pps_kept).
func (b *bench) measureTCP() (*tcpReport, error) {
	fmt.Printf("\n== TCP bulk: one stream, %v per trial after %v warm-up, %d off/on pairs\n",
		b.cfg.tcpTrial, b.cfg.warmup, b.cfg.tcpPairs)
	sink, err := startTCPSink(b.topo)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	r := &tcpReport{}
	fmt.Printf("%-5s %-5s %10s\n", "pair", "agent", "Gbit/s")
	for i := range b.cfg.tcpPairs {
		order := []mode{modeOff, modeOn}
		if i%2 == 1 {
			order = []mode{modeOn, modeOff}
		}
		var got [2]float64
		for _, md := range order {
			g, err := b.tcpTrial(md)
			if err != nil {
				return nil, fmt.Errorf("pair %d, agent %s: %w", i+1, md, err)
			}
			got[md] = g
			fmt.Printf("%-5d %-5s %10.2f\n", i+1, md, g)
		}
		r.off, r.on = append(r.off, got[modeOff]), append(r.on, got[modeOn])
		r.paired = append(r.paired, ratio(got[modeOn], got[modeOff]))
	}
	return r, nil
}

// tcpTrial runs one bulk stream and returns its throughput in Gbit/s.
func (b *bench) tcpTrial(md mode) (gbps float64, err error) {
	if md == modeOn {
		a, err := agent.Start(b.agentConfig([]string{b.topo.client.Path()}))
		if err != nil {
			return 0, fmt.Errorf("starting the agent: %w", err)
		}
		defer func() { err = errors.Join(err, a.Close()) }()
	}
	dst := netip.AddrPortFrom(serverAddr.Addr(), tcpPort)
	out, err := runRole(b.ctx, b.topo.client, roleTCP, []string{"-dst", dst.String(),
		"-warmup", b.cfg.warmup.String(), "-duration", b.cfg.tcpTrial.String()})
	if err != nil {
		return 0, err
	}
	var bytes, ns int64
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "bytes=%d elapsed_ns=%d", &bytes, &ns); err != nil || ns <= 0 {
		return 0, fmt.Errorf("reading the tcp sender's result %q", out)
	}
	return float64(bytes) * 8 / float64(ns), nil
}

// tcpSink accepts connections in the server namespace and reads them to
// the end. It runs in the bench process, so its reading competes for the
// CPU with the agent and the sender as a receiving application would.
type tcpSink struct {
	ln net.Listener
}

func startTCPSink(t *topology) (*tcpSink, error) {
	s := &tcpSink{}
	err := t.server.Do(func() error {
		// Plain TCP: Go's listeners would otherwise be MPTCP, which the
		// client does not speak anyway.
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		s.ln, err = lc.Listen(context.Background(), "tcp4", netip.AddrPortFrom(serverAddr.Addr(), tcpPort).String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening for the tcp bulk stream: %w", err)
	}
	go s.serve()
	return s, nil
}

func (s *tcpSink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, tcpBuffer)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
}

func (s *tcpSink) Close() error { return s.ln.Close() }

// tcpSenderMain writes to one TCP connection as fast as it goes and prints
// "bytes=N elapsed_ns=N" for the measured interval after the warm-up.
func tcpSenderMain(args []string) error {
	var dst string
	var warmup, duration time.Duration
	fs := flag.NewFlagSet("tcp", flag.ContinueOnError)
	fs.StringVar(&dst, "dst", "", "destination ip:port")
	fs.DurationVar(&warmup, "warmup", 0, "")
	fs.DurationVar(&duration, "duration", time.Second, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := net.Dial("tcp4", dst)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", dst, err)
	}
	defer c.Close()
	buf := make([]byte, tcpBuffer)
	if _, err := writeFor(c, buf, warmup); err != nil {
		return err
	}
	start := time.Now()
	n, err := writeFor(c, buf, duration)
	if err != nil {
		return err
	}
	fmt.Printf("bytes=%d elapsed_ns=%d\n", n, time.Since(start).Nanoseconds())
	return nil
}

func writeFor(c net.Conn, buf []byte, d time.Duration) (int64, error) {
	var total int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		n, err := c.Write(buf)
		total += int64(n)
		if err != nil {
			return total, fmt.Errorf("sending the bulk stream: %w", err)
		}
	}
	return total, nil
}

func printTCP(r *tcpReport) {
	off, on, p := summarize(r.off), summarize(r.on), summarize(r.paired)
	fmt.Printf("off: median %.2f Gbit/s (min %.2f, max %.2f); on: median %.2f (min %.2f, max %.2f)\n",
		off.median, off.min, off.max, on.median, on.min, on.max)
	fmt.Printf("tcp_kept=%.3f (pairs' on/off: median %.3f, min %.3f, max %.3f); off trials stray up to %.1f%% from their median (tcp_noise=%.3f)\n",
		r.kept(), p.median, p.min, p.max, 100*r.noise(), r.noise())
}
