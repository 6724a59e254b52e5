// Package contract is what the kernel programs and Go agree on: the structs
// the kernel shares (maps' keys and values, ring-buffer records) and its
// enums (counters, event types, protocol bits, sample kinds). Most of it is
// generated from the kernel objects' BTF (contract_gen.go, by
// bpf/internal/contractgen in `make generate`), so a counter or protocol bit
// added in C reaches Go without a hand-kept copy; the test compares the
// objects of every architecture with it.
//
// It imports nothing kernel-specific: the offline analysis (agent/packet,
// the kernel classifier's Go twin) uses these types on any platform.
package contract

import "net/netip"

// NumCounters is the number of kernel counters (the size of tf_counters).
const NumCounters = CntMax

// Sample is a payload event in Go form: a DNS answer received or a TLS
// ClientHello segment sent (struct tf_payload_event).
type Sample struct {
	Kind   uint8 // SampleDNS, SampleClientHello or SampleSTUN
	Egress bool  // sent by the local end
	Flow   FlowKey
	TCPSeq uint32
	TsNs   uint64 // CLOCK_BOOTTIME (capture time in capture files)
	Data   []byte
}

// CString reads a NUL-terminated kernel char array (comm, filename).
func CString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// AddrPort reads an address as the kernel structs store it (network order,
// IPv4 in the first 4 bytes) with a port in host order.
func AddrPort(ipv4 bool, addr [16]uint8, port uint16) netip.AddrPort {
	if ipv4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(addr[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(addr).Unmap(), port)
}

// RTPDefaultClock is the RTP clock of payload types not in RTPClockRates:
// the 90 kHz video clock.
const RTPDefaultClock = 90000

// RTPClockRates are the RTP clocks in Hz of the audio payload types teamsflow
// knows, for jitter in time units. Static types per RFC 3551; dynamic ones
// as Teams and WebRTC clients negotiate them (SILK narrow/wide band, Opus).
// The loader writes them into the kernel's tf_rtp_clock map.
var RTPClockRates = map[uint8]uint32{
	0: 8000, 8: 8000, 9: 8000, 13: 8000, 18: 8000, // PCMU, PCMA, G722, CN, G729
	103: 8000,  // SILK narrowband (Teams)
	104: 16000, // SILK wideband (Teams)
	111: 48000, // Opus (WebRTC)
}

// RTPClock is the clock rate the kernel uses for a payload type.
func RTPClock(pt uint8) uint32 {
	if r, ok := RTPClockRates[pt]; ok {
		return r
	}
	return RTPDefaultClock
}
