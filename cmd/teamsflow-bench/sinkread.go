package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readSink reads the sink with recvmmsg, an address buffer with every
// datagram, as an application with an unconnected socket does (and so
// through the cgroup recvmsg hook, when one is attached), until stop,
// which returns how many datagrams it read. The reader has a thread of
// its own: it competes for the two cores as a receiving application would.
func readSink(fd int) (stop func() uint64, err error) {
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50_000}); err != nil {
		return nil, fmt.Errorf("setting the sink's receive timeout: %w", err)
	}
	var done atomic.Bool
	var count atomic.Uint64
	finished := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		finished <- recvLoop(fd, &done, &count)
	}()
	return func() uint64 {
		done.Store(true)
		if err := <-finished; err != nil {
			fmt.Println("warning: reading the sink:", err)
		}
		return count.Load()
	}, nil
}

func recvLoop(fd int, done *atomic.Bool, count *atomic.Uint64) error {
	const batch = 64
	msgs := make([]unix.Mmsghdr, batch)
	names := make([]unix.RawSockaddrInet4, batch)
	bufs := make([][2048]byte, batch)
	iovs := make([]unix.Iovec, batch)
	for i := range msgs {
		iovs[i].Base = &bufs[i][0]
		iovs[i].SetLen(len(bufs[i]))
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
		msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
	}
	for !done.Load() {
		for i := range msgs {
			msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), batch, 0, 0, 0)
		switch {
		case e == 0:
			count.Add(uint64(n))
		case errors.Is(e, unix.EAGAIN), errors.Is(e, unix.EINTR):
		default:
			return e
		}
	}
	return nil
}
