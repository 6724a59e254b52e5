package client

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// inPortRange runs fn in the client namespace of a fresh pair whose
// ephemeral port range is first-last.
func inPortRange(t *testing.T, first, last int, fn func() error) {
	t.Helper()
	p := testenv.NewPair(t)
	rng := fmt.Sprintf("net.ipv4.ip_local_port_range=%d %d", first, last)
	if out, err := p.Client.Command("sysctl", "-w", rng).CombinedOutput(); err != nil {
		t.Fatalf("sysctl %s: %v: %s", rng, err, out)
	}
	if err := p.Client.Do(fn); err != nil {
		t.Fatal(err)
	}
}

func TestEphemeralMediaPortsStayOutOfTheQoSRanges(t *testing.T) {
	// 16 ephemeral ports, 10 of them in the screen-share range.
	inPortRange(t, 50050, 50065, func() error {
		for i := range 6 {
			conn, err := openUDP("127.0.0.1", nil, 0)
			if err != nil {
				return fmt.Errorf("socket %d: %w", i, err)
			}
			defer conn.Close()
			if port := conn.LocalAddr().(*net.UDPAddr).Port; port < 50060 {
				return fmt.Errorf("socket %d got port %d, inside the QoS ranges", i, port)
			}
		}
		return nil
	})
}

func TestEphemeralPortsAllInTheQoSRangesIsAnError(t *testing.T) {
	inPortRange(t, 50040, 50050, func() error {
		conn, err := openUDP("127.0.0.1", nil, 0)
		if err == nil {
			port := conn.LocalAddr().(*net.UDPAddr).Port
			conn.Close()
			return fmt.Errorf("got port %d, want an error", port)
		}
		if !strings.Contains(err.Error(), "QoS ranges") {
			return fmt.Errorf("error %q does not name the QoS ranges", err)
		}
		return nil
	})
}
