//go:build linux

package main

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// A TCP flow's live record carries what only the kernel saw of it (the
// interface, the TCP flags of both directions, the socket cookie) from
// observe.Flow through the analysis, in capture and in the running agent.
var liveFieldPeerModes = testenv.PeerModes{"tcp-cookie": tcpCookieClient}

// tcpCookieClient connects to args[0], says "ready COOKIE LOCALPORT"
// (SO_COOKIE of its socket), waits for a line on stdin, sends args[1]
// bytes, reads as many back and closes.
func tcpCookieClient(args []string) error {
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	var cookie uint64
	var serr error
	if err := raw.Control(func(fd uintptr) { cookie, serr = unix.GetsockoptUint64(int(fd), unix.SOL_SOCKET, unix.SO_COOKIE) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("reading SO_COOKIE: %w", serr)
	}
	fmt.Println("ready", cookie, c.LocalAddr().(*net.TCPAddr).Port)
	_, _ = fmt.Scanln()
	n := testenv.Atoi(args[1])
	if _, err := c.Write(make([]byte, n)); err != nil {
		return err
	}
	_, err = io.CopyN(io.Discard, c, int64(n))
	return err
}

// tcpFlow runs one TCP exchange from the client namespace to a server in
// the other; it returns the client socket's cookie and local port.
func tcpFlow(t *testing.T, p *testenv.Pair, port int) (cookie uint64, local uint16) {
	t.Helper()
	addr := fmt.Sprintf("%s:%d", p.ServerIP4, port)
	testenv.StartPeer(t, p.Server, "tf-tcp-server", "tcp-server", addr, "3000")
	cli := testenv.StartPeer(t, p.Client, "tf-tcp-cookie", "tcp-cookie", addr, "3000")
	fields := strings.Fields(cli.Ready)
	if len(fields) != 2 {
		t.Fatalf("the client said %q, want its cookie and port", cli.Ready)
	}
	cookie, err := strconv.ParseUint(fields[0], 10, 64)
	lp, perr := strconv.Atoi(fields[1])
	if err != nil || perr != nil || cookie == 0 {
		t.Fatalf("the client said %q, want a cookie and a port", cli.Ready)
	}
	cli.Go()
	cli.Wait(t)
	return cookie, uint16(lp)
}

// checkLiveTCP finds the client's flow record and checks its live fields;
// it returns an error while the record is missing or not complete yet.
func checkLiveTCP(recs []record.Record, iface string, cookie uint64, local, peer uint16) error {
	for _, r := range recs {
		if r.Transport != "tcp" || r.LocalPort != local || r.PeerPort != peer || r.SSRC != nil {
			continue
		}
		flags := map[string]bool{}
		for _, f := range strings.Split(r.TCPFlags, ",") {
			flags[f] = true
		}
		if r.Interface != iface || r.SocketCookie != cookie || !flags["SYN"] || !flags["ACK"] || !flags["FIN"] || flags["RST"] {
			return fmt.Errorf("the flow's record: interface %q socket_cookie %d tcp_flags %q; want %q %d and SYN, ACK, FIN without RST",
				r.Interface, r.SocketCookie, r.TCPFlags, iface, cookie)
		}
		return nil
	}
	return fmt.Errorf("no record of tcp :%d -> :%d among %d", local, peer, len(recs))
}

func TestLiveTCPRecordCarriesKernelFields(t *testing.T) {
	testenv.RequirePrivileged(t)
	t.Run("capture", func(t *testing.T) {
		p := testenv.NewPair(t)
		cmd, stdout, stderr := startCapture(t, p, "--json", "--duration", "3s")
		cookie, local := tcpFlow(t, p, 47321)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("capture: %v\n%s", err, stderr)
		}
		if err := checkLiveTCP(parseRecords(t, stdout.String()), p.ClientIface, cookie, local, 47321); err != nil {
			t.Errorf("%v\n%s", err, stdout)
		}
	})
	t.Run("run and streams", func(t *testing.T) {
		p := testenv.NewPair(t)
		socket := filepath.Join(t.TempDir(), "api.sock")
		agent := startRun(t, socket, "--netns", p.Client.Path())
		cookie, local := tcpFlow(t, p, 47322)
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			if err = checkLiveTCP(streamsJSON(t, socket), p.ClientIface, cookie, local, 47322); err == nil {
				break
			}
		}
		if err != nil {
			t.Error(err)
		}
		agent.stop(t)
	})
}
