package cloud

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// serverRcvBuf lets a server socket absorb a whole video keyframe or
// screen-share burst while its goroutine is busy (e.g. under -race); a
// real relay or media processor does not drop the tail of a frame.
const serverRcvBuf = 4 << 20

// enlarge raises the receive buffer past net.core.rmem_max (we are root,
// hence SO_RCVBUFFORCE); failure just leaves the default.
func enlarge(pc net.PacketConn) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, serverRcvBuf)
	})
}
