package agent

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// Short flows by the thousand through a flow map of 512 entries: each one
// leaves the map at the first poll after its socket closed, instead of
// after the idle timeout, so none is lost and each keeps its owner.
func TestShortFlowsLeaveRoomInTheFlowMap(t *testing.T) {
	testenv.RequirePrivileged(t)
	const flows, firstPort = 3000, 20000
	p := testenv.NewPair(t)
	a, _ := startAgentLogged(t, Config{Netns: []string{p.Client.Path()}, Maps: bpf.Config{FlowMapEntries: 512}})
	ns := netnsCookie(t, p.Client)
	server := netip.MustParseAddr(p.ServerIP4)

	var mu sync.Mutex
	owners := map[uint16]uint32{} // peer port -> owner pid, 0 without owner
	collect := func() {
		for _, f := range a.Snapshot().Flows {
			port := f.ID.Peer.Port()
			if f.ID.Netns != ns || f.ID.Peer.Addr() != server || port < firstPort || port >= firstPort+flows {
				continue
			}
			mu.Lock()
			if f.Owner != nil {
				owners[port] = f.Owner.PID
			} else if _, ok := owners[port]; !ok {
				owners[port] = 0
			}
			mu.Unlock()
		}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
				collect()
			}
		}
	}()
	err := p.Client.Do(func() error { return shortFlows(server, firstPort, flows, 2000) })
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		collect()
	}

	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if losses := c.Losses(); len(losses) > 0 {
		t.Errorf("losses %v, want none", losses)
	}
	missing, wrong := 0, 0
	for port := uint16(firstPort); port < firstPort+flows; port++ {
		pid, ok := owners[port]
		switch {
		case !ok:
			missing++
		case pid != uint32(os.Getpid()):
			wrong++
		}
	}
	if missing > 0 || wrong > 0 {
		t.Errorf("of %d short flows, %d never reported and %d without this process as owner", flows, missing, wrong)
	}
}

// shortFlows opens, connects, sends one datagram on and closes one UDP
// socket per destination port, about rate a second.
func shortFlows(dst netip.Addr, firstPort, n, rate int) error {
	start := time.Now()
	for i := range n {
		if due := time.Duration(i) * time.Second / time.Duration(rate); time.Since(start) < due {
			time.Sleep(due - time.Since(start))
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		err = unix.Connect(fd, &unix.SockaddrInet4{Port: firstPort + i, Addr: dst.As4()})
		if err == nil {
			_, err = unix.Write(fd, []byte("short flow"))
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("short flow %d: %w", i, err)
		}
	}
	return nil
}
