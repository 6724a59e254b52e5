package testenv

import (
	"fmt"
	"os"
	"runtime"
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
	// Realtime counts the forwarding threads that got real-time priority
	// (4 when all did); tests log it beside their figures.
	Realtime atomic.Int32

	fds  []int
	stop atomic.Bool
	wg   sync.WaitGroup
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
	d.fds = append(d.fds, a)
	b, err := openTun(d.B, d.BIface, d.BIP, d.AIP)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	d.fds = append(d.fds, b)
	d.start(a, b)
	d.start(b, a)
	t.Cleanup(d.Close)
	return d
}

// openTun creates a tun device inside ns (a tun device lives in the
// namespace of the thread that creates it), addresses it point-to-point and
// brings it up. The descriptor is non-blocking: the reader polls it.
func openTun(ns netns.Named, name, local, peer string) (int, error) {
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
		return -1, err
	}
	for _, args := range [][]string{
		{"addr", "add", local, "peer", peer, "dev", name},
		{"link", "set", name, "up"},
	} {
		if err := ns.IP(args...); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

type heldPacket struct {
	due  time.Time
	data []byte
}

// start forwards from → to with the delay: one thread reads and stamps each
// packet with its due time, another writes it when due. Both are OS threads
// of their own at real-time priority (where the kernel allows it), blocking
// in poll and nanosleep rather than in Go's scheduler, so that a busy
// machine adds as little as it can to the delay the tests compare against.
func (d *DelayLine) start(from, to int) {
	q := make(chan heldPacket, delayQueue)
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		defer close(q)
		d.realtimeThread()
		buf := make([]byte, 65536)
		fds := []unix.PollFd{{Fd: int32(from), Events: unix.POLLIN}}
		for !d.stop.Load() {
			if n, err := unix.Poll(fds, 50); err != nil || n == 0 {
				continue // timeout (to look at stop again) or EINTR
			}
			if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				return // the device is gone: never spin at real-time priority
			}
			n, err := unix.Read(from, buf)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				return
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
		d.realtimeThread()
		for p := range q {
			if wait := time.Until(p.due); wait > 0 {
				ts := unix.NsecToTimespec(wait.Nanoseconds())
				for unix.Nanosleep(&ts, &ts) == unix.EINTR {
				}
			}
			if _, err := unix.Write(to, p.data); err == nil {
				d.Forwarded.Add(1)
			}
		}
	}()
}

// realtimeThread locks the goroutine to its thread and asks for SCHED_FIFO.
// The thread is never unlocked, so it ends with the goroutine instead of
// going back to the runtime with real-time priority. Without the privilege
// the thread stays at normal priority.
func (d *DelayLine) realtimeThread() {
	runtime.LockOSThread()
	if unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 10}, 0) == nil {
		d.Realtime.Add(1)
	}
}

// Close stops forwarding, then closes the tun devices. The namespaces go at
// the test's cleanup.
func (d *DelayLine) Close() {
	d.stop.Store(true)
	d.wg.Wait()
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	d.fds = nil
}
