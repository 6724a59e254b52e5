package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// openUDP binds a media socket on the client address: the first free port
// of a QoS range, or an ephemeral one, and marks it with DSCP (IP_TOS
// carries DSCP in its upper six bits) the way the Teams QoS policy does.
func openUDP(ip string, ports []int, dscp int) (*net.UDPConn, error) {
	if len(ports) == 0 {
		return openEphemeralUDP(ip)
	}
	var lastErr error
	for _, port := range ports {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
		if err != nil {
			lastErr = err
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, fmt.Errorf("binding UDP %s:%d: %w", ip, port, err)
		}
		if dscp != 0 {
			if err := setTOS(conn, dscp<<2); err != nil {
				conn.Close()
				return nil, err
			}
		}
		return conn, nil
	}
	return nil, fmt.Errorf("binding UDP in port range %d-%d: %w", ports[0], ports[len(ports)-1], lastErr)
}

// qosRangeFirst and qosRangeLast bound Microsoft's QoS source ports
// (audio, video and screen share, 50000-50059).
const qosRangeFirst, qosRangeLast = 50000, 50059

// openEphemeralUDP binds an ephemeral port outside the QoS ranges. A call
// without QoS may draw a port from them in real life, and the agent would
// then label it by range; the simulator's ground truth says "no QoS", so
// it keeps its ports out of them and the scenario stays deterministic.
func openEphemeralUDP(ip string) (*net.UDPConn, error) {
	var held []*net.UDPConn // ports drawn in the ranges, held so they are not drawn again
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range qosRangeLast - qosRangeFirst + 2 {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil && len(held) > 0 && errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("binding UDP %s:0: %w", ip, err)
		}
		if port := conn.LocalAddr().(*net.UDPAddr).Port; port < qosRangeFirst || port > qosRangeLast {
			return conn, nil
		}
		held = append(held, conn)
	}
	return nil, fmt.Errorf("binding UDP %s:0: every free ephemeral port is in the QoS ranges %d-%d", ip, qosRangeFirst, qosRangeLast)
}

func setTOS(conn *net.UDPConn, tos int) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("reaching socket: %w", err)
	}
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, tos)
	})
	if err == nil {
		err = sockErr
	}
	if err != nil {
		return fmt.Errorf("setting IP_TOS %#x: %w", tos, err)
	}
	return nil
}

// Counts are what one socket sent to one destination, by protocol, so
// the ground truth can list the STUN and TURN exchanges as flows of their
// own with real packet counts.
type Counts struct {
	STUN, TURN, ChannelData, Other int
	Bytes                          int
}

// countingConn wraps the base socket. The TURN client writes through it
// too, so Allocate/Refresh/ChannelBind and ChannelData are counted.
type countingConn struct {
	*net.UDPConn
	mu     sync.Mutex
	counts map[string]*Counts
}

func newCountingConn(c *net.UDPConn) *countingConn {
	return &countingConn{UDPConn: c, counts: map[string]*Counts{}}
}

func (c *countingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	n, err := c.UDPConn.WriteTo(b, addr)
	if err == nil {
		c.count(b, addr.String())
	}
	return n, err
}

func (c *countingConn) count(b []byte, dst string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ct := c.counts[dst]
	if ct == nil {
		ct = &Counts{}
		c.counts[dst] = ct
	}
	ct.Bytes += len(b)
	switch {
	case len(b) >= 20 && binary.BigEndian.Uint32(b[4:8]) == 0x2112A442:
		// STUN method bits without the class bits: 0x001 is Binding,
		// everything else on this socket is a TURN method.
		if binary.BigEndian.Uint16(b[0:2])&0x3EEF == 0x0001 {
			ct.STUN++
		} else {
			ct.TURN++
		}
	case len(b) >= 4 && b[0]>>6 == 1:
		ct.ChannelData++
	default:
		ct.Other++
	}
}

// snapshot copies the counters.
func (c *countingConn) snapshot() map[string]Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]Counts{}
	for k, v := range c.counts {
		out[k] = *v
	}
	return out
}
