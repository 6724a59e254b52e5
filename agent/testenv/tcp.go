package testenv

import (
	"net"

	"golang.org/x/sys/unix"
)

// QuickAck turns off delayed acknowledgements on a TCP connection until
// its next read. Round-trip tests need it: the kernel times a segment
// until its ACK, so a delayed ACK (40 ms and more) would enter its RTT
// samples whenever a reply has no request after it to carry the ACK.
func QuickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if raw, err := tc.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1) })
	}
}

// EchoQuickAck sends back what it reads until the connection ends,
// acknowledging each read at once (QuickAck).
func EchoQuickAck(c net.Conn) {
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		QuickAck(c)
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}
