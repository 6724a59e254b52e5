package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"golang.org/x/sys/unix"
)

// rcvBuf is the packet socket's receive buffer. Video keyframes and
// screen-share changes arrive as bursts of dozens of packets; with the
// default ~200 KiB a busy (or race-instrumented) reader drops the tail of
// a burst, which is exactly the marker packet tests look for.
const rcvBuf = 16 << 20

// packetSocket is a minimal AF_PACKET reader (pcapgo's EthernetHandle
// does not expose its socket, so its buffer cannot be enlarged).
type packetSocket struct {
	file *os.File
	buf  []byte
	oob  []byte
}

func openPacketSocket(iface string) (*packetSocket, error) {
	intf, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("finding interface %s: %w", iface, err)
	}
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(proto))
	if err != nil {
		return nil, fmt.Errorf("opening packet socket: %w", err)
	}
	setup := func() error {
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: intf.Index}); err != nil {
			return fmt.Errorf("binding packet socket to %s: %w", iface, err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
			return fmt.Errorf("enlarging packet socket buffer: %w", err)
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}
	if err := setup(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &packetSocket{
		file: os.NewFile(uintptr(fd), "packet:"+iface),
		buf:  make([]byte, snapLen), oob: make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))),
	}, nil
}

func htons(v uint16) uint16 {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, v)
	return binary.NativeEndian.Uint16(b)
}

// read returns the next frame with its kernel receive timestamp. The
// socket is non-blocking under Go's poller, so Close unblocks it.
func (s *packetSocket) read() ([]byte, gopacket.CaptureInfo, error) {
	raw, err := s.file.SyscallConn()
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	var n, oobn int
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), s.buf, s.oob, unix.MSG_TRUNC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Now(), Length: n, CaptureLength: min(n, len(s.buf))}
	if msgs, err := unix.ParseSocketControlMessage(s.oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				ci.Timestamp = time.Unix(ts.Unix())
			}
		}
	}
	return s.buf[:ci.CaptureLength], ci, nil
}

// drops reports how many frames the kernel dropped for this socket.
func (s *packetSocket) drops() int {
	raw, err := s.file.SyscallConn()
	if err != nil {
		return 0
	}
	var st *unix.TpacketStats
	_ = raw.Control(func(fd uintptr) {
		st, _ = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	})
	if st == nil {
		return 0
	}
	return int(st.Drops)
}

func (s *packetSocket) close() error { return s.file.Close() }
