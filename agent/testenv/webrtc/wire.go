package webrtc

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// WireSeq is what the client veth saw of one SSRC the peer sent: every
// RTP sequence number in arrival order (the RTP header is clear text in
// SRTP). It is a third opinion next to teamsflow's and Chromium's counts,
// made without either's rules: how many arrived, how many distinct, the
// range they span, and how far behind the highest a late one arrived.
type WireSeq struct {
	SSRC     uint32
	Seqs     []uint16
	TSs      []uint32    // RTP timestamps, as Seqs
	Arrivals []time.Time // capture times, as Seqs
	Received int         // datagrams
	Distinct int         // sequence numbers
	Expected int         // highest - first + 1, unwrapped
	Late     int         // arrived behind the highest so far
	Deepest  int         // the farthest behind the highest a late one arrived
	Gap      int         // the longest run of numbers never seen
	Order    string      // "in order" or how it was not, for logs
	first    int64
	seen     map[int64]bool // unwrapped numbers that arrived
}

// Lost is the numbers in the range that never arrived.
func (w WireSeq) Lost() int { return w.Expected - w.Distinct }

// ReadWire reads the RTP the peer (MediaIP) sent to the client from a
// pcap of the client veth, per SSRC.
func ReadWire(path string) (map[uint32]*WireSeq, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the call's pcap: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading the call's pcap: %w", err)
	}
	out := map[uint32]*WireSeq{}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the call's pcap: %w", err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil || ip.SrcIP.String() != MediaIP || !isRTP(udp.Payload) {
			continue
		}
		b := udp.Payload
		ssrc := uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
		w := out[ssrc]
		if w == nil {
			w = &WireSeq{SSRC: ssrc}
			out[ssrc] = w
		}
		w.Seqs = append(w.Seqs, uint16(b[2])<<8|uint16(b[3]))
		w.TSs = append(w.TSs, uint32(b[4])<<24|uint32(b[5])<<16|uint32(b[6])<<8|uint32(b[7]))
		w.Arrivals = append(w.Arrivals, ci.Timestamp)
	}
	for _, w := range out {
		w.summarise()
	}
	return out, nil
}

// summarise fills the counts from Seqs, unwrapping the 16-bit numbers
// against the highest so far.
func (w *WireSeq) summarise() {
	w.Received = len(w.Seqs)
	if w.Received == 0 {
		return
	}
	seen := map[int64]bool{}
	var first, highest int64
	for i, s := range w.Seqs {
		n := int64(s)
		if i > 0 {
			n = highest + int64(int16(s-uint16(highest)))
		} else {
			first, highest = n, n
		}
		if n < first {
			first = n
		}
		if n < highest {
			w.Late++
			w.Deepest = max(w.Deepest, int(highest-n))
		}
		highest = max(highest, n)
		seen[n] = true
	}
	w.first, w.seen = first, seen
	w.Distinct, w.Expected = len(seen), int(highest-first+1)
	run := 0
	for n := first; n <= highest; n++ {
		if seen[n] {
			run = 0
			continue
		}
		run++
		w.Gap = max(w.Gap, run)
	}
	w.Order = "in order"
	if w.Late > 0 {
		w.Order = fmt.Sprintf("%d late, the deepest %d behind the highest", w.Late, w.Deepest)
	}
}

// DistinctIn is how many of the first n sequence numbers of the stream
// arrived: the wire's count over a window that ended earlier.
func (w WireSeq) DistinctIn(n int) int {
	got := 0
	for i := range int64(n) {
		if w.seen[w.first+i] {
			got++
		}
	}
	return got
}

func (w WireSeq) String() string {
	return fmt.Sprintf("wire ssrc %#08x: %d datagrams, %d distinct of %d expected (%d lost, longest gap %d), %s",
		w.SSRC, w.Received, w.Distinct, w.Expected, w.Lost(), w.Gap, w.Order)
}

// JitterMs is RFC 3550 A.8's interarrival jitter of the stream in ms, from
// the capture times, updated as libwebrtc's receive statistics do: on each
// in-order packet whose RTP timestamp differs from the previous in-order
// packet's. Code of its own, on the pcap's clock rather than the kernel's,
// so that it referees teamsflow's figure rather than repeating it.
func (w WireSeq) JitterMs(clockHz float64) float64 {
	var j, highest float64
	var lastTs uint32
	var lastAt time.Time
	for i, s := range w.Seqs {
		n := float64(s)
		if i > 0 {
			n = highest + float64(int16(s-uint16(highest)))
			if n <= highest {
				continue // late or repeated: libwebrtc leaves jitter alone
			}
			if w.TSs[i] != lastTs {
				arrival := w.Arrivals[i].Sub(lastAt).Seconds() * clockHz
				d := math.Abs(arrival - float64(int32(w.TSs[i]-lastTs)))
				j += (d - j) / 16
			}
		}
		highest, lastTs, lastAt = n, w.TSs[i], w.Arrivals[i]
	}
	return 1000 * j / clockHz
}
