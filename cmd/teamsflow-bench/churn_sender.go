package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// churnArgs configure the churn sender; the parent passes them as flags.
type churnArgs struct {
	dst      netip.Addr
	rate     int // new flows per second
	duration time.Duration
	out      string // file that receives the tuples used
}

func (a churnArgs) argv() []string {
	return []string{"-dst", a.dst.String(), "-rate", fmt.Sprint(a.rate), "-duration", a.duration.String(), "-out", a.out}
}

// Destination ports of the churn cycle over this range, so that with the
// kernel's choice of source port every 5-tuple is new.
const (
	churnFirstPort = 1024
	churnPorts     = 65536 - churnFirstPort
)

// churnResult is what the churn sender reports.
type churnResult struct {
	pid     int
	flows   int
	elapsed time.Duration
	retries int // sockets closed unsent because their tuple had been used
}

func (r churnResult) rate() float64 { return ratio(float64(r.flows), r.elapsed.Seconds()) }

// churnSenderMain opens, connects, sends one datagram on and closes a new
// UDP socket per flow, paced to the rate, and writes each flow's
// (source port, destination port) to the output file, so the parent can
// check the agent against the exact list.
func churnSenderMain(args []string) error {
	var a churnArgs
	var dst string
	fs := flag.NewFlagSet("churn", flag.ContinueOnError)
	fs.StringVar(&dst, "dst", "", "destination address")
	fs.IntVar(&a.rate, "rate", 20000, "")
	fs.DurationVar(&a.duration, "duration", time.Second, "")
	fs.StringVar(&a.out, "out", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if a.dst, err = netip.ParseAddr(dst); err != nil || !a.dst.Is4() {
		return fmt.Errorf("parsing destination %q: want an ipv4 address", dst)
	}
	f, err := os.Create(a.out)
	if err != nil {
		return fmt.Errorf("creating the tuple file: %w", err)
	}
	w := bufio.NewWriter(f)
	runtime.LockOSThread()
	r, err := churn(a, w)
	err = firstErr(err, w.Flush(), f.Close())
	if err != nil {
		return err
	}
	fmt.Printf("pid=%d flows=%d elapsed_ns=%d retries=%d\n", os.Getpid(), r.flows, r.elapsed.Nanoseconds(), r.retries)
	return nil
}

func churn(a churnArgs, w *bufio.Writer) (churnResult, error) {
	r := churnResult{pid: os.Getpid()}
	used := make(map[uint32]struct{}, a.rate*int(a.duration.Seconds()+1))
	payload := make([]byte, 32)
	var tuple [4]byte
	start := time.Now()
	for i := 0; ; {
		elapsed := time.Since(start)
		if elapsed >= a.duration {
			r.elapsed = elapsed
			return r, nil
		}
		if due := int(elapsed.Seconds() * float64(a.rate)); r.flows >= due {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		dport := uint16(churnFirstPort + i%churnPorts)
		sport, err := oneFlow(a.dst, dport, payload, used)
		if err != nil {
			return r, err
		}
		if sport == 0 {
			r.retries++
			continue
		}
		binary.LittleEndian.PutUint16(tuple[0:], sport)
		binary.LittleEndian.PutUint16(tuple[2:], dport)
		w.Write(tuple[:])
		r.flows++
		i++
	}
}

// oneFlow is one short flow. It returns source port 0, having sent
// nothing, when the kernel picked a source port that this destination
// port has already seen.
func oneFlow(dst netip.Addr, dport uint16, payload []byte, used map[uint32]struct{}) (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("opening a udp socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(dport), Addr: dst.As4()}); err != nil {
		return 0, fmt.Errorf("connecting to %s:%d: %w", dst, dport, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("reading the source port: %w", err)
	}
	sport := uint16(sa.(*unix.SockaddrInet4).Port)
	key := uint32(sport)<<16 | uint32(dport)
	if _, dup := used[key]; dup {
		return 0, nil
	}
	used[key] = struct{}{}
	if _, err := unix.Write(fd, payload); err != nil {
		return 0, fmt.Errorf("sending to %s:%d: %w", dst, dport, err)
	}
	return sport, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
