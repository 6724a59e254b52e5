package sim

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/pion/rtp"

	"github.com/teamsflow/teamsflow/agent/testenv/topo"
)

// flowKey is a client-to-peer UDP 5-tuple as seen on the wire.
type flowKey struct {
	localPort int
	peer      netip.AddrPort
}

func (k flowKey) String() string { return fmt.Sprintf(":%d->%s", k.localPort, k.peer) }

// rtpPkt is one egress RTP packet read back from the pcap.
type rtpPkt struct {
	at      time.Time
	hdr     rtp.Header
	size    int // RTP+SRTP bytes (inside ChannelData when relayed)
	dscp    int
	channel bool // carried in TURN ChannelData
}

// wire is what the client sent, decoded from the pcap.
type wire struct {
	rtp        map[flowKey]map[uint32][]rtpPkt
	rtcp       map[flowKey]int
	stun       map[flowKey]int
	dscp       map[flowKey]map[int]int
	sendInd    map[flowKey]int // TURN Send indications
	dests      map[netip.Addr]int
	tcp        map[flowKey][]byte // first client payload per TCP flow
	dns        []*layers.DNS      // responses seen
	dnsQueries int
}

func readWire(t *testing.T, path string) *wire {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("reading pcap: %v", err)
	}
	w := &wire{rtp: map[flowKey]map[uint32][]rtpPkt{}, rtcp: map[flowKey]int{}, stun: map[flowKey]int{},
		dscp: map[flowKey]map[int]int{}, sendInd: map[flowKey]int{}, dests: map[netip.Addr]int{},
		tcp: map[flowKey][]byte{}}
	client4 := netip.MustParseAddr(topo.ClientIP)
	client6 := netip.MustParseAddr(topo.ClientIP6)
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		src, dst, dscp, ok := ipInfo(pkt)
		if !ok {
			continue
		}
		if src != client4 && src != client6 {
			if d, ok := pkt.Layer(layers.LayerTypeDNS).(*layers.DNS); ok && d.QR {
				w.dns = append(w.dns, d)
			}
			continue
		}
		w.dests[dst]++
		if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			k := flowKey{int(tcp.SrcPort), netip.AddrPortFrom(dst, uint16(tcp.DstPort))}
			if len(tcp.Payload) > 0 && w.tcp[k] == nil {
				w.tcp[k] = append([]byte{}, tcp.Payload...)
			}
			continue
		}
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			k := flowKey{int(udp.SrcPort), netip.AddrPortFrom(dst, uint16(udp.DstPort))}
			if udp.DstPort == 53 {
				w.dnsQueries++ // a DNS id can look like an RTP header
				continue
			}
			w.addUDP(k, udp.Payload, ci.Timestamp, dscp)
		}
	}
	return w
}

func ipInfo(pkt gopacket.Packet) (src, dst netip.Addr, dscp int, ok bool) {
	if ip, is := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); is {
		s, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		d, _ := netip.AddrFromSlice(ip.DstIP.To4())
		return s, d, int(ip.TOS >> 2), true
	}
	if ip, is := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); is {
		s, _ := netip.AddrFromSlice(ip.SrcIP)
		d, _ := netip.AddrFromSlice(ip.DstIP)
		return s, d, int(ip.TrafficClass >> 2), true
	}
	return src, dst, 0, false
}

func (w *wire) addUDP(k flowKey, b []byte, at time.Time, dscp int) {
	if w.dscp[k] == nil {
		w.dscp[k] = map[int]int{}
	}
	w.dscp[k][dscp]++
	channel := false
	if len(b) >= 4 && b[0]>>6 == 1 {
		// TURN ChannelData: channel number, length, then the packet.
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if 4+n > len(b) {
			return
		}
		b, channel = b[4:4+n], true
	}
	if data := sendIndicationData(b); data != nil {
		// Relayed media sent before the channel is bound travels in
		// TURN Send indications.
		w.sendInd[k]++
		b = data
	}
	switch {
	case len(b) >= 20 && binary.BigEndian.Uint32(b[4:8]) == 0x2112A442:
		w.stun[k]++
	case len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223:
		w.rtcp[k]++
	case len(b) >= 12 && b[0]>>6 == 2:
		var h rtp.Header
		if _, err := h.Unmarshal(b); err != nil {
			return
		}
		if w.rtp[k] == nil {
			w.rtp[k] = map[uint32][]rtpPkt{}
		}
		w.rtp[k][h.SSRC] = append(w.rtp[k][h.SSRC], rtpPkt{at: at, hdr: h, size: len(b), dscp: dscp, channel: channel})
	}
}

// find returns the RTP packets of an SSRC wherever it was sent.
func (w *wire) find(ssrc uint32) (flowKey, []rtpPkt) {
	for k, m := range w.rtp {
		if p, ok := m[ssrc]; ok {
			return k, p
		}
	}
	return flowKey{}, nil
}

// streamStats summarises one SSRC's packets.
type streamStats struct {
	packets, bytes, markers int
	minSize, maxSize        int
	span                    time.Duration
	seqGaps                 int
	pts                     map[uint8]bool
	spacingStd              time.Duration
}

func stats(p []rtpPkt) streamStats {
	s := streamStats{packets: len(p), minSize: 1 << 30, pts: map[uint8]bool{}}
	sort.Slice(p, func(i, j int) bool { return p[i].at.Before(p[j].at) })
	var gaps []float64
	for i, x := range p {
		s.bytes += x.size
		s.minSize, s.maxSize = min(s.minSize, x.size), max(s.maxSize, x.size)
		s.pts[x.hdr.PayloadType] = true
		if x.hdr.Marker {
			s.markers++
		}
		if i > 0 {
			s.seqGaps += int(x.hdr.SequenceNumber-p[i-1].hdr.SequenceNumber) - 1
			gaps = append(gaps, float64(x.at.Sub(p[i-1].at)))
		}
	}
	if len(p) > 1 {
		s.span = p[len(p)-1].at.Sub(p[0].at)
	}
	s.spacingStd = time.Duration(stddev(gaps))
	return s
}

func stddev(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var sum, sq float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	for _, x := range v {
		sq += (x - mean) * (x - mean)
	}
	return math.Sqrt(sq / float64(len(v)-1))
}

// sendIndicationData returns the DATA attribute of a TURN Send
// indication, or nil for anything else.
func sendIndicationData(b []byte) []byte {
	if len(b) < 20 || binary.BigEndian.Uint32(b[4:8]) != 0x2112A442 || binary.BigEndian.Uint16(b[0:2]) != 0x0016 {
		return nil
	}
	for a := b[20:]; len(a) >= 4; {
		typ, n := binary.BigEndian.Uint16(a[0:2]), int(binary.BigEndian.Uint16(a[2:4]))
		if 4+n > len(a) {
			return nil
		}
		if typ == 0x0013 {
			return a[4 : 4+n]
		}
		a = a[min(len(a), 4+(n+3)/4*4):]
	}
	return nil
}
