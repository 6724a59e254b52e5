package testenv

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// DelayLine is two namespaces, A and B, whose only link is a program: each
// has a tun device, and goroutines here read every packet that one side's
// kernel sends into its tun, hold it for the one-way delay, and write it into
// the other side's tun. It delays traffic where the kernel has no netem, so
// tests can check measured round trips against a known added delay (two
// one-way delays). Packets keep their order; none is dropped while the
// queue (4096 packets a direction) has room, and overflow is counted.
type DelayLine struct {
	A, B       netns.Named
	AIP, BIP   string // IPv4 addresses of A's and B's tun (point-to-point)
	AIface     string // the tun device in A (and BIface in B)
	BIface     string
	Delay      time.Duration // one way, each direction
	Forwarded  atomic.Uint64
	Overflowed atomic.Uint64

	files []*os.File
	wg    sync.WaitGroup
}

var delaySeq atomic.Int32

// delayQueue is how many packets a direction holds; at 25 ms and TCP's
// initial windows that is ample for a test's traffic.
const delayQueue = 4096

// NewDelayLine builds a DelayLine with the one-way delay and removes it when
// the test ends.
func NewDelayLine(t testing.TB, delay time.Duration) *DelayLine {
	t.Helper()
	RequirePrivileged(t)
	id := fmt.Sprintf("%d-%d", os.Getpid()%100000, delaySeq.Add(1))
	d := &DelayLine{AIP: "10.78.0.1", BIP: "10.78.0.2", AIface: "tfdla0", BIface: "tfdlb0", Delay: delay}
	var err error
	if d.A, err = netns.Create("tfd-a-" + id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.A.Delete() })
	if d.B, err = netns.Create("tfd-b-" + id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.B.Delete() })
	a, err := openTun(d.A, d.AIface, d.AIP, d.BIP)
	if err != nil {
		t.Fatal(err)
	}
	d.files = append(d.files, a)
	b, err := openTun(d.B, d.BIface, d.BIP, d.AIP)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	d.files = append(d.files, b)
	d.start(a, b)
	d.start(b, a)
	t.Cleanup(d.Close)
	return d
}

// openTun creates a tun device inside ns (a tun device lives in the
// namespace of the thread that creates it), addresses it point-to-point and
// brings it up. The descriptor is non-blocking so Close ends a pending Read.
func openTun(ns netns.Named, name, local, peer string) (*os.File, error) {
	var fd int
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("opening /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("creating tun %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "tun "+name)
	for _, args := range [][]string{
		{"addr", "add", local, "peer", peer, "dev", name},
		{"link", "set", name, "up"},
	} {
		if err := ns.IP(args...); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

type heldPacket struct {
	due  time.Time
	data []byte
}

// start forwards from → to with the delay: one goroutine reads and stamps
// each packet with its due time, another writes it when due.
func (d *DelayLine) start(from, to *os.File) {
	q := make(chan heldPacket, delayQueue)
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		defer close(q)
		buf := make([]byte, 65536)
		for {
			n, err := from.Read(buf)
			if err != nil {
				return // closed
			}
			select {
			case q <- heldPacket{due: time.Now().Add(d.Delay), data: append([]byte(nil), buf[:n]...)}:
			default:
				d.Overflowed.Add(1)
			}
		}
	}()
	go func() {
		defer d.wg.Done()
		for p := range q {
			time.Sleep(time.Until(p.due))
			if _, err := to.Write(p.data); err != nil && errors.Is(err, os.ErrClosed) {
				return
			}
			d.Forwarded.Add(1)
		}
	}()
}

// Close stops forwarding. The namespaces go at the test's cleanup.
func (d *DelayLine) Close() {
	for _, f := range d.files {
		f.Close()
	}
	d.files = nil
	d.wg.Wait()
}
