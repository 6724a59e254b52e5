//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// Chromium starts its children through /proc/self/exe, and its network
// service opens the media sockets on a thread of its own (Chrome_ChildIOT).
// The owner must still be named by the process and its real binary, with
// the thread kept apart. These peers do the same.
var ownerPeerModes = testenv.PeerModes{
	"exec-self":  execSelf,
	"thread-udp": threadUDP,
}

// mediaThread is the name the socket's thread gives itself.
const mediaThread = "tf_ChildIOT"

// execSelf starts the peer mode args[0] with the rest of args as a child,
// through /proc/self/exe as Chromium does, and waits for it.
func execSelf(args []string) error {
	cmd := exec.Command("/proc/self/exe", args[1:]...)
	cmd.Env = append(os.Environ(), "TEAMSFLOW_TEST_PEER="+args[0])
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// threadUDP exchanges args[1] datagrams with the echo server at args[0]
// from a socket opened by a thread renamed to mediaThread. It says
// "ready PID" first.
func threadUDP(args []string) error {
	runtime.LockOSThread() // the goroutine's syscalls run on this thread
	// The same as prctl(PR_SET_NAME) on this thread.
	if err := os.WriteFile("/proc/thread-self/comm", []byte(mediaThread), 0); err != nil {
		return fmt.Errorf("naming the thread: %w", err)
	}
	c, err := net.Dial("udp", args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready", os.Getpid())
	buf := make([]byte, 2048)
	for range testenv.Atoi(args[1]) {
		if _, err := c.Write(make([]byte, 160)); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
	return nil
}

func TestOwnerNamedByProcessNotThread(t *testing.T) {
	p := testenv.NewPair(t)
	realExe, err := os.Executable() // the binary /proc/self/exe leads to
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("%s:%d", p.ServerIP4, 47311)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", addr, "30")
	cmd, stdout, stderr := startCapture(t, p, "--json", "--duration", "4s")
	browser := testenv.StartPeer(t, p.Client, "tf-browser", "exec-self", "thread-udp", addr, "30")
	child, err := strconv.Atoi(browser.Ready)
	if err != nil {
		t.Fatalf("the child said %q, want its pid", browser.Ready)
	}
	browser.Wait(t)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, stderr)
	}
	wantComm := filepath.Base(realExe)[:min(15, len(filepath.Base(realExe)))]
	found := 0
	for _, r := range parseRecords(t, stdout.String()) {
		if r.PID != uint32(child) {
			continue
		}
		found++
		if r.Comm != wantComm || r.Exe != realExe || r.Thread != mediaThread || r.OwnerSource != "socket" {
			t.Errorf("the child's flow: comm %q exe %q thread %q owner_source %q; want %q %q %q socket",
				r.Comm, r.Exe, r.Thread, r.OwnerSource, wantComm, realExe, mediaThread)
		}
	}
	if found == 0 {
		t.Fatalf("no record of the child (pid %d):\n%s", child, stdout)
	}
}
