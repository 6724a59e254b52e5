package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// fdPassPeers hand an unconnected UDP socket from the process that made
// it to another one over a unix socket (SCM_RIGHTS), as a launcher or a
// broker process hands sockets to a worker.
var fdPassPeers = testenv.PeerModes{
	"fdpass-give": func(a []string) error { return giveUDPSocket(a[0]) },
	"fdpass-take": func(a []string) error { return takeUDPSocket(a[0], a[1], testenv.Atoi(a[2])) },
	"fdpass-fork": func(a []string) error { return forkReceiver(a[0], testenv.Atoi(a[1]), len(a) > 2) },
}

// A UDP server socket bound by a process that starts a child with it and
// exits, the child only receiving: the socket's storage names the parent
// for good (nothing is sent on it), and the rescan after the parent's exit
// gives its flows, those that began before the rescan and after it, the
// child.
func TestInheritedSocketOwnedByHolderAfterParentExits(t *testing.T) {
	p := testenv.NewPair(t)
	a, _ := startAgentLogged(t, Config{Netns: []string{p.Client.Path(), p.Server.Path()}})
	srvAddr := fmt.Sprintf("%s:7041", p.ServerIP4)
	parent := testenv.StartPeer(t, p.Server, "tf-fork-parent", "fdpass-fork", srvAddr, "10")
	var child uint32
	if _, err := fmt.Sscan(strings.TrimSpace(parent.Ready), &child); err != nil || child == 0 {
		t.Fatalf("reading the child's pid from %q: %v", parent.Ready, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(int(child), syscall.SIGKILL) })
	parent.Wait(t)
	before := testenv.StartPeer(t, p.Client, "tf-fork-client1", "udp-send", srvAddr, "5", "100")
	before.Wait(t)
	time.Sleep(rescanDelay + 500*time.Millisecond)
	after := testenv.StartPeer(t, p.Client, "tf-fork-client2", "udp-send", srvAddr, "5", "100")
	after.Wait(t)
	time.Sleep(300 * time.Millisecond)
	for _, c := range []*testenv.Peer{before, after} {
		r := findFlow(t, a, netnsCookie(t, p.Server), "udp", 7041, port(t, c.Ready))
		if r.PID != child {
			t.Errorf("flow from %s: owner pid %d (%s, source %s), want the child %d (the parent was %d)",
				c.Name, r.PID, r.Comm, r.OwnerSource, child, parent.PID())
		}
	}
}

// An unconnected UDP socket made and bound by one process and passed to
// another, which sends on it with sendto: the flow's owner is the sender,
// while the process that made it still lives. By default the classifier
// finds the sender (the per-datagram cgroup hooks are off); with
// DatagramHooks the cgroup sendmsg hook does.
func TestPassedUDPSocketOwnedBySender(t *testing.T) {
	for _, hooks := range []bool{false, true} {
		t.Run(map[bool]string{false: "classifier", true: "sendmsg-hooks"}[hooks], func(t *testing.T) {
			k, err := bpf.ProbeKernel()
			if err != nil {
				t.Fatal(err)
			}
			if !hooks && !k.TCTask {
				t.Skip("this kernel's TC programs may not read the current task: the sendmsg hooks find senders here")
			}
			p := testenv.NewPair(t)
			resolveServer(t, p)
			a, _ := startAgentLogged(t, Config{Netns: []string{p.Client.Path(), p.Server.Path()},
				Maps: bpf.Config{DatagramHooks: hooks}})
			if got := datagramHooksAttached(t, a); got != hooks {
				t.Fatalf("cgroup sendmsg4 hook attached: %v, want %v", got, hooks)
			}
			const count = 20
			srvAddr := fmt.Sprintf("%s:7040", p.ServerIP4)
			srv := testenv.StartPeer(t, p.Server, "tf-fd-server", "udp-server", srvAddr, fmt.Sprint(count))
			path := filepath.Join(t.TempDir(), "fd.sock")
			taker := testenv.StartPeer(t, p.Client, "tf-fd-taker", "fdpass-take", path, srvAddr, fmt.Sprint(count))
			giver := testenv.StartPeer(t, p.Client, "tf-fd-giver", "fdpass-give", path)
			line := taker.Expect(t, "sent")
			taker.Wait(t)
			srv.Wait(t)
			var local string
			if _, err := fmt.Sscan(line[len("sent"):], &local); err != nil {
				t.Fatalf("reading the taker's address from %q: %v", line, err)
			}
			c := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, local), 7040)
			assertOwner(t, c, taker)
			if c.PacketsSent != count || c.PacketsRecv != count {
				t.Errorf("packets %d sent, %d received, want %d each", c.PacketsSent, c.PacketsRecv, count)
			}
			giver.Go() // the maker lived through it all
			giver.Wait(t)
		})
	}
}

// datagramHooksAttached says whether the agent attached its sendmsg4
// program: its own links, since other agents (tests running beside) may
// have theirs on the same cgroup.
func datagramHooksAttached(t *testing.T, a *Agent) bool {
	t.Helper()
	for _, l := range a.HookLinks() {
		info, err := l.Info()
		if err != nil {
			t.Fatal(err)
		}
		if ci := info.Cgroup(); ci != nil && ebpf.AttachType(ci.AttachType) == ebpf.AttachCGroupUDP4Sendmsg {
			return true
		}
	}
	return false
}

// giveUDPSocket makes a UDP socket bound to an ephemeral port (so the
// cgroup bind hook names this process its owner), passes it to the
// process listening at path, prints "ready", and exits after a line on
// stdin.
func giveUDPSocket(path string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{}); err != nil {
		return err
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	uc := c.(*net.UnixConn)
	if _, _, err := uc.WriteMsgUnix([]byte("fd"), unix.UnixRights(fd), nil); err != nil {
		return err
	}
	fmt.Println("ready")
	waitStdin()
	return nil
}

// takeUDPSocket listens at path, prints "ready", takes one socket passed
// there, sends count datagrams to dst with sendto, each answered by the
// server, prints "sent <local address>" and exits.
func takeUDPSocket(path, dst string, count int) error {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println("ready")
	c, err := l.AcceptUnix()
	if err != nil {
		return err
	}
	defer c.Close()
	fd, err := receiveFD(c)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	raddr, err := net.ResolveUDPAddr("udp4", dst)
	if err != nil {
		return err
	}
	to := &unix.SockaddrInet4{Port: raddr.Port, Addr: [4]byte(raddr.IP.To4())}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5}); err != nil {
		return err
	}
	buf := make([]byte, 2048)
	for range count {
		if err := unix.Sendto(fd, make([]byte, 100), 0, to); err != nil {
			return fmt.Errorf("sendto: %w", err)
		}
		if _, _, err := unix.Recvfrom(fd, buf, 0); err != nil {
			return fmt.Errorf("recvfrom: %w", err)
		}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return err
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return errors.New("the passed socket is not IPv4")
	}
	fmt.Printf("sent %s\n", net.JoinHostPort(net.IP(in4.Addr[:]).String(), fmt.Sprint(in4.Port)))
	return nil
}

func receiveFD(c *net.UnixConn) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	buf := make([]byte, 16)
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return -1, err
	}
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("no descriptor passed (%d control messages): %v", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("no descriptor passed: %v", err)
	}
	return fds[0], nil
}

// waitStdin returns after a line on stdin, or when it closes.
func waitStdin() {
	b := make([]byte, 1)
	for {
		if n, err := os.Stdin.Read(b); err != nil || (n == 1 && b[0] == '\n') {
			return
		}
	}
}

// forkReceiver binds a UDP socket at addr and starts this binary again
// with it as descriptor 3, prints "ready <child pid>" and exits. The
// child (asChild) receives count datagrams on it, never sending, then
// stays a few seconds.
func forkReceiver(addr string, count int, asChild bool) error {
	if asChild {
		c, err := net.FilePacketConn(os.NewFile(3, "udp"))
		if err != nil {
			return err
		}
		buf := make([]byte, 2048)
		for range count {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return err
			}
		}
		time.Sleep(3 * time.Second)
		return nil
	}
	c, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return err
	}
	f, err := c.(*net.UDPConn).File()
	if err != nil {
		return err
	}
	cmd := exec.Command(os.Args[0], addr, fmt.Sprint(count), "child")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		return err
	}
	fmt.Println("ready", cmd.Process.Pid)
	return nil
}
