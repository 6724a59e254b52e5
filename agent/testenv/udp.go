package testenv

import (
	"net"
	"testing"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// BoundUDP is an IPv4 UDP socket bound to addr:port in namespace ns (a
// socket stays in the namespace it was made in); it closes when the test
// ends.
func BoundUDP(t testing.TB, ns netns.Named, addr string, port int) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := ns.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr), Port: port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
