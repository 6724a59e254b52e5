package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// The bench's own addresses: they exist only inside its two namespaces.
var (
	clientAddr = netip.MustParsePrefix("10.250.0.1/30")
	serverAddr = netip.MustParsePrefix("10.250.0.2/30")
	sinkPort   = uint16(9)
	// blackhole is an address beyond the server, reached through it: the
	// server drops what is sent there without a word (it does not forward
	// and sends no ICMP when forwarding is off), so short flows to any
	// port cost no receiver and draw no port-unreachable.
	blackhole = netip.MustParseAddr("10.250.1.1")
)

// topology is two fresh namespaces joined by a veth pair, with a UDP sink
// in the server namespace. The flood goes client -> server.
type topology struct {
	client   netns.Named
	server   netns.Named
	clientIf string
	serverIf string
	dst      netip.AddrPort
	sink     int // the sink's socket, -1 when not open
}

// setupTopology builds the namespaces; names carry the pid so that two
// runs never share them. On error nothing is left behind.
func setupTopology() (_ *topology, err error) {
	id := strconv.Itoa(os.Getpid())
	t := &topology{clientIf: "tfb" + id + "c", serverIf: "tfb" + id + "s", sink: -1,
		dst: netip.AddrPortFrom(serverAddr.Addr(), sinkPort)}
	defer func() {
		if err != nil {
			_ = t.Close() // the setup error is the one to report
		}
	}()
	if t.client, err = netns.Create("tfb-client-" + id); err != nil {
		return nil, fmt.Errorf("creating client namespace: %w", err)
	}
	if t.server, err = netns.Create("tfb-server-" + id); err != nil {
		return nil, fmt.Errorf("creating server namespace: %w", err)
	}
	err = netns.Veth(
		netns.End{NS: t.client, Iface: t.clientIf, Addrs: []string{clientAddr.String()}},
		netns.End{NS: t.server, Iface: t.serverIf, Addrs: []string{serverAddr.String()}})
	if err != nil {
		return nil, fmt.Errorf("connecting the namespaces: %w", err)
	}
	if err := t.routeBlackhole(); err != nil {
		return nil, err
	}
	if t.sink, err = openSink(t.server, t.dst); err != nil {
		return nil, err
	}
	return t, nil
}

// routeBlackhole sends the blackhole address to the server's MAC with a
// permanent neighbour entry, so no ARP is ever asked for it.
func (t *topology) routeBlackhole() error {
	var mac string
	err := t.server.Do(func() error {
		ifi, err := net.InterfaceByName(t.serverIf)
		if err == nil {
			mac = ifi.HardwareAddr.String()
		}
		return err
	})
	if err == nil {
		err = t.client.IP("route", "add", blackhole.String()+"/32", "dev", t.clientIf)
	}
	if err == nil {
		err = t.client.IP("neigh", "replace", blackhole.String(), "lladdr", mac, "dev", t.clientIf, "nud", "permanent")
	}
	if err != nil {
		return fmt.Errorf("routing the blackhole address: %w", err)
	}
	return nil
}

// openSink binds a UDP socket that is never read, with the smallest
// receive buffer. Once full, every datagram is dropped at the socket
// queue: the cheapest end of the path, with no receiver process competing
// for the two cores and no ICMP port-unreachable that a closed port would
// send back (which makes a connected sender's next send fail with
// ECONNREFUSED and its rate jitter).
func openSink(ns netns.Named, addr netip.AddrPort) (int, error) {
	fd := -1
	err := ns.Do(func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 0); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()})
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("opening the udp sink on %s: %w", addr, err)
	}
	return fd, nil
}

// Close removes the namespaces, and the veth pair with them.
func (t *topology) Close() error {
	var errs []error
	if t.sink >= 0 {
		errs = append(errs, unix.Close(t.sink))
		t.sink = -1
	}
	for _, ns := range []netns.Named{t.client, t.server} {
		if ns.Name != "" {
			errs = append(errs, ns.Delete())
		}
	}
	t.client, t.server = netns.Named{}, netns.Named{}
	return errors.Join(errs...)
}

// floodPasses says whether the flood's packets pass hook p: the client
// veth's egress or the server veth's ingress.
func (t *topology) floodPasses(p tcxPoint) bool {
	at := func(ns netns.Named, iface string, attach ebpf.AttachType) bool {
		if p.ns.Name != ns.Name || p.attach != attach {
			return false
		}
		ifindex, err := interfaceIn(ns, iface)
		return err == nil && p.ifindex == ifindex
	}
	return at(t.client, t.clientIf, ebpf.AttachTCXEgress) || at(t.server, t.serverIf, ebpf.AttachTCXIngress)
}
