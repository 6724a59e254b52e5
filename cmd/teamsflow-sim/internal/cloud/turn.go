package cloud

import (
	"fmt"
	"net"

	"github.com/pion/turn/v4"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// nsRelayGen allocates relay sockets inside the cloud namespace. pion's
// static generator would call net.ListenPacket on whatever thread serves
// the Allocate request, which runs in the controller's own namespace.
type nsRelayGen struct {
	ns net.IP
	do func(func() error) error
}

func (g nsRelayGen) Validate() error { return nil }

func (g nsRelayGen) AllocatePacketConn(network string, port int) (net.PacketConn, net.Addr, error) {
	var pc net.PacketConn
	err := g.do(func() error {
		var err error
		pc, err = net.ListenPacket("udp4", net.JoinHostPort(g.ns.String(), fmt.Sprint(port)))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("allocating relay socket: %w", err)
	}
	enlarge(pc)
	return pc, pc.LocalAddr(), nil
}

func (g nsRelayGen) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, fmt.Errorf("TCP relays are not simulated")
}

// startTURN runs a pion TURN server on relayIP at every relay port, with
// long-term credentials, inside the cloud namespace.
func startTURN(ns netns.Named, relayIP string, ports []int, user, pass, realm string) (*turn.Server, error) {
	key := turn.GenerateAuthKey(user, realm, pass)
	gen := nsRelayGen{ns: net.ParseIP(relayIP), do: ns.Do}
	var cfgs []turn.PacketConnConfig
	for _, port := range ports {
		var pc net.PacketConn
		err := ns.Do(func() error {
			var err error
			pc, err = net.ListenPacket("udp4", net.JoinHostPort(relayIP, fmt.Sprint(port)))
			return err
		})
		if err != nil {
			for _, c := range cfgs {
				_ = c.PacketConn.Close()
			}
			return nil, fmt.Errorf("listening for TURN on %s:%d: %w", relayIP, port, err)
		}
		enlarge(pc)
		cfgs = append(cfgs, turn.PacketConnConfig{PacketConn: pc, RelayAddressGenerator: gen})
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:             realm,
		PacketConnConfigs: cfgs,
		AuthHandler: func(u, r string, _ net.Addr) ([]byte, bool) {
			return key, u == user && r == realm
		},
	})
	if err != nil {
		return nil, fmt.Errorf("starting TURN server: %w", err)
	}
	return srv, nil
}
