package main

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/teamsflow/teamsflow/bpf"
)

// testRunCost times the agent's classifier (as at egress: the harness
// never marks a run as ingress) and the no-op in the kernel's test harness
// (BPF_PROG_TEST_RUN with a repeat count) on one 64-byte UDP datagram,
// that is one known flow after the first run. The harness reads the clock
// per batch of runs, not per run as the run-time statistics do, so neither
// figure carries that overhead.
func testRunCost(objs *bpf.Objects, noop *ebpf.Program, size, repeat int) (tc, floor float64, err error) {
	pkt, err := udpFrame(size)
	if err != nil {
		return 0, 0, err
	}
	if tc, err = benchNs(objs.Classifier(true), pkt, repeat); err != nil {
		return 0, 0, err
	}
	floor, err = benchNs(noop, pkt, repeat)
	return tc, floor, err
}

func benchNs(p *ebpf.Program, pkt []byte, repeat int) (float64, error) {
	ret, per, err := p.Benchmark(pkt, repeat, nil)
	if err != nil {
		return 0, fmt.Errorf("test-running %s: %w", p, err)
	}
	if int32(ret) != -1 {
		return 0, fmt.Errorf("test-running %s: returned %d, not TCX_NEXT", p, int32(ret))
	}
	return float64(per.Nanoseconds()), nil
}

// udpFrame is an Ethernet frame with an IPv4 UDP datagram like the
// flood's. Checksums stay zero: the classifier does not read them.
func udpFrame(size int) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: clientAddr.Addr().AsSlice(), DstIP: serverAddr.Addr().AsSlice()},
		&layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(sinkPort)},
		gopacket.Payload(make([]byte, size)))
	if err != nil {
		return nil, fmt.Errorf("building the test frame: %w", err)
	}
	return buf.Bytes(), nil
}
