package main

import (
	"flag"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// senderArgs configure one sender run; the parent passes them as flags.
type senderArgs struct {
	dst      netip.AddrPort
	flows    int // connected sockets, one source port each
	batch    int // datagrams per sendmmsg call
	size     int // UDP payload bytes
	cpu      int // CPU to pin the send loop to, -1 for none
	warmup   time.Duration
	duration time.Duration
	marks    time.Duration // how often to note the packets sent so far; 0: never
	// unconnected: the sockets stay unconnected and every datagram
	// carries the destination (sendto), as WebRTC media does.
	unconnected bool
}

func (a senderArgs) argv() []string {
	return []string{
		"-dst", a.dst.String(), "-flows", strconv.Itoa(a.flows), "-batch", strconv.Itoa(a.batch),
		"-size", strconv.Itoa(a.size), "-cpu", strconv.Itoa(a.cpu),
		"-warmup", a.warmup.String(), "-duration", a.duration.String(), "-marks", a.marks.String(),
		"-unconnected=" + strconv.FormatBool(a.unconnected),
	}
}

func parseSenderArgs(args []string) (senderArgs, error) {
	var a senderArgs
	var dst string
	fs := flag.NewFlagSet("sender", flag.ContinueOnError)
	fs.StringVar(&dst, "dst", "", "destination ip:port")
	fs.IntVar(&a.flows, "flows", 1, "")
	fs.IntVar(&a.batch, "batch", 64, "")
	fs.IntVar(&a.size, "size", 64, "")
	fs.IntVar(&a.cpu, "cpu", -1, "")
	fs.DurationVar(&a.warmup, "warmup", 0, "")
	fs.DurationVar(&a.duration, "duration", time.Second, "")
	fs.DurationVar(&a.marks, "marks", 0, "")
	fs.BoolVar(&a.unconnected, "unconnected", false, "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	var err error
	if a.dst, err = netip.ParseAddrPort(dst); err != nil {
		return a, fmt.Errorf("parsing destination: %w", err)
	}
	if a.flows < 1 || a.batch < 1 || a.size < 1 {
		return a, fmt.Errorf("flows, batch and size must be positive")
	}
	return a, nil
}

// senderMain floods the destination and prints one result line,
// "packets=N errors=N elapsed_ns=N cpu_ns=N", for the measured interval;
// with -marks a second, "marks=T:N,T:N,...": packets sent by CLOCK_MONOTONIC
// time T, for the parent to cut into the spells it switched the agent on
// and off (interleave.go).
func senderMain(args []string) error {
	a, err := parseSenderArgs(args)
	if err != nil {
		return err
	}
	// The send loop stays on one thread so that pinning it means something.
	runtime.LockOSThread()
	if a.cpu >= 0 {
		var set unix.CPUSet
		set.Set(a.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pinning to cpu %d: %w", a.cpu, err)
		}
	}
	fds, err := openFlows(a.dst, a.flows, !a.unconnected)
	defer closeAll(fds)
	if err != nil {
		return err
	}
	msgs := newBatch(a.batch, a.size)
	if a.unconnected {
		addressAll(msgs, a.dst)
	}
	// The warm-up resolves the neighbour, fills the sink's receive buffer
	// and lets the CPU settle before anything is counted.
	sendFor(fds, msgs, a.warmup, nil)
	var marks *markLog
	if a.marks > 0 {
		if marks, err = newMarkLog(a.marks, a.duration); err != nil {
			return err
		}
	}
	cpu0 := threadCPU()
	pkts, errs, elapsed := sendFor(fds, msgs, a.duration, marks)
	cpu := threadCPU() - cpu0
	fmt.Printf("packets=%d errors=%d elapsed_ns=%d cpu_ns=%d\n", pkts, errs, elapsed.Nanoseconds(), cpu.Nanoseconds())
	if marks != nil {
		fmt.Println(marks)
	}
	return nil
}

// threadCPU is the send loop thread's user+system time. Without IRQ time
// accounting, the receive softirq that runs on the way out of the send is
// charged to it too, so packets per CPU-second is the per-packet cost of
// the whole path, whatever share of the core other processes took.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openFlows makes n UDP sockets, connected unless told otherwise; connect
// (or the first sendto) picks a distinct ephemeral source port for each,
// so each is a flow of its own.
func openFlows(dst netip.AddrPort, n int, connect bool) ([]int, error) {
	sa := &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}
	fds := make([]int, 0, n)
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fds, fmt.Errorf("opening udp socket %d: %w", len(fds), err)
		}
		fds = append(fds, fd)
		if !connect {
			continue
		}
		if err := unix.Connect(fd, sa); err != nil {
			return fds, fmt.Errorf("connecting udp socket to %s: %w", dst, err)
		}
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// newBatch builds sendmmsg headers that all point at one payload: the
// sockets are connected, so no address is needed per message.
func newBatch(n, size int) []unix.Mmsghdr {
	payload := make([]byte, size)
	iov := &unix.Iovec{Base: &payload[0]}
	iov.SetLen(size)
	msgs := make([]unix.Mmsghdr, n)
	for i := range msgs {
		msgs[i].Hdr.Iov = iov
		msgs[i].Hdr.SetIovlen(1)
	}
	return msgs
}

// addressAll points every message at dst: sendmmsg then sends each
// datagram as sendto would, through the cgroup sendmsg hook when one is
// attached.
func addressAll(msgs []unix.Mmsghdr, dst netip.AddrPort) {
	sa := &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.Addr().As4()}
	port := dst.Port()
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	for i := range msgs {
		msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(sa))
		msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
}

// sendFor sends batches round-robin over the sockets until d has passed.
// The clock is read about once per 64 datagrams so that it costs little
// next to the sends it times; marks, if not nil, is told the count then.
func sendFor(fds []int, msgs []unix.Mmsghdr, d time.Duration, marks *markLog) (pkts, errs uint64, elapsed time.Duration) {
	if d <= 0 {
		return 0, 0, 0
	}
	every := max(1, 64/len(msgs))
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; ; i++ {
		fd := fds[i%len(fds)]
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd),
			uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
		if e != 0 {
			errs++
		} else {
			pkts += uint64(n)
		}
		if i%every != 0 {
			continue
		}
		now := time.Now()
		if now.After(deadline) {
			break
		}
		if marks != nil {
			marks.note(now, pkts)
		}
	}
	return pkts, errs, time.Since(start)
}
