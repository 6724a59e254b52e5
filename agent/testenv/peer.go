package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The peer is the test binary itself, started again under another name
// inside a namespace, so that tests have real processes with sockets of
// their own. TestMain of a package that uses peers calls PeerMain first.
const peerEnv = "TEAMSFLOW_TEST_PEER"

// PeerModes are a package's own peer modes, beside testenv's: the mode
// name (for StartPeer) and what the peer does with its arguments.
type PeerModes map[string]func(args []string) error

// PeerMain runs the peer when the binary was started as one, then exits;
// otherwise it returns at once. extra adds the package's own modes.
func PeerMain(extra ...PeerModes) {
	mode := os.Getenv(peerEnv)
	if mode == "" {
		return
	}
	run := runPeer
	for _, modes := range extra {
		if f, ok := modes[mode]; ok {
			run = func(string, []string) error { return f(os.Args[1:]) }
		}
	}
	if err := run(mode, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runPeer(mode string, args []string) error {
	switch mode {
	case "tcp-server":
		return tcpServer(args[0], Atoi(args[1]))
	case "tcp-client":
		return tcpClient(args[0], Atoi(args[1]), args[2] == "wait")
	case "udp-server":
		return udpServer(args[0], Atoi(args[1]))
	case "udp-send":
		return udpSend(args[0], Atoi(args[1]), Atoi(args[2]))
	case "udp-client":
		return udpClient(args[0], Atoi(args[1]), Atoi(args[2]), args[3] == "connect", args[4] == "wait",
			time.Duration(Atoi(args[5]))*time.Millisecond)
	}
	return fmt.Errorf("unknown peer mode %q", mode)
}

// Atoi reads a peer's numeric argument; a test's own bad argument panics.
func Atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// tcpServer accepts one connection, reads n bytes and sends n back.
func tcpServer(addr string, n int) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("ready", l.Addr())
	c, err := l.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
		return err
	}
	if _, err = c.Write(make([]byte, n)); err != nil {
		return err
	}
	// The client closes once it has read everything, and its FIN follows
	// its last ACK: past EOF nothing of ours can be sent again.
	if _, err := io.Copy(io.Discard, c); err != nil {
		return err
	}
	printResent(c)
	return nil
}

// printResent reports the payload bytes the kernel sent again on c
// (tcpi_bytes_retrans) as "resent N", so that a test bounds the wire
// bytes by what this run really retransmitted: a loaded machine fires
// spurious timeouts that resend whole windows.
func printResent(c net.Conn) {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			fmt.Println("resent", info.Bytes_retrans)
		}
	})
}

// tcpClient connects, optionally waits for a line on stdin, sends n bytes
// and reads n back.
func tcpClient(addr string, n int, wait bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready", c.LocalAddr())
	if wait {
		waitLine()
	}
	if _, err := c.Write(make([]byte, n)); err != nil {
		return err
	}
	if _, err = io.CopyN(io.Discard, c, int64(n)); err != nil {
		return err
	}
	// The server read all of ours before answering, so its answer
	// acknowledged everything we sent: the count is final.
	printResent(c)
	fmt.Println("done")
	return nil
}

// udpServer echoes every datagram back to its sender (recvfrom/sendto)
// until count datagrams have been echoed.
func udpServer(addr string, count int) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready", c.LocalAddr())
	buf := make([]byte, 65536)
	for i := 0; i < count; i++ {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(buf[:n], from); err != nil {
			return err
		}
	}
	return nil
}

// udpClient sends count datagrams of size bytes, each answered by the
// server, on a connected socket (send/recv) or an unconnected one
// (sendto/recvfrom), then stays alive for linger.
func udpClient(addr string, count, size int, connect, wait bool, linger time.Duration) error {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	var c *net.UDPConn
	if connect {
		c, err = net.DialUDP("udp", nil, raddr)
	} else {
		c, err = net.ListenUDP("udp", nil)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready", c.LocalAddr())
	if wait {
		waitLine()
	}
	buf := make([]byte, 65536)
	for i := 0; i < count; i++ {
		if connect {
			_, err = c.Write(make([]byte, size))
		} else {
			_, err = c.WriteTo(make([]byte, size), raddr)
		}
		if err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := c.ReadFrom(buf); err != nil {
			return err
		}
	}
	fmt.Println("done")
	time.Sleep(linger)
	return nil
}

// udpSend sends count datagrams of size bytes and expects no answer.
func udpSend(addr string, count, size int) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready", c.LocalAddr())
	for i := 0; i < count; i++ {
		if _, err := c.Write(make([]byte, size)); err != nil {
			return err
		}
	}
	return nil
}

func waitLine() {
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
