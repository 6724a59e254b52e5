package capfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// The capture formats are read here rather than with gopacket's pcapgo:
// that package brings gopacket/layers, whose start-up fills two tables of
// 65536 entries (EtherType and PPP decoders, 5.2 MB) in every process of
// the executable, the daemon's too, where they stayed resident and the
// collector scanned them at each cycle without ever using them.

// Link types (LINKTYPE_*, tcpdump.org) the parser's link layers come in.
const (
	linkNull      = 0
	linkEthernet  = 1
	linkRawBSD    = 12 // DLT_RAW on some systems
	linkRaw       = 101
	linkLoop      = 108
	linkLinuxSLL  = 113
	linkIPv4      = 228
	linkIPv6      = 229
	linkLinuxSLL2 = 276
)

// maxPacket bounds one packet's captured bytes and maxBlock one pcapng
// block: a damaged length field is an error, not an allocation of
// gigabytes.
const (
	maxPacket = 1 << 20
	maxBlock  = 1 << 24
)

// packetReader hands out a capture's packets in file order with their
// link type and time; io.EOF after the last.
type packetReader interface {
	next() (data []byte, link uint16, ts time.Time, err error)
}

// open detects pcap or pcapng from the magic number.
func open(r *bufio.Reader) (packetReader, error) {
	magic, err := r.Peek(4)
	if err != nil {
		return nil, errors.New("not a capture file: too short")
	}
	if string(magic) == "\x0a\x0d\x0d\x0a" {
		ng := &ngReader{r: r}
		if err := ng.section(); err != nil {
			return nil, fmt.Errorf("reading pcapng header: %w", damaged(err))
		}
		return ng, nil
	}
	pr, err := newPcapReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	return pr, nil
}

// pcapReader reads the classic pcap format, either byte order, micro- or
// nanosecond times.
type pcapReader struct {
	r     io.Reader
	order binary.ByteOrder
	nanos bool
	link  uint16
	hdr   [16]byte
}

func newPcapReader(r io.Reader) (*pcapReader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, errors.New("header too short")
	}
	p := &pcapReader{r: r}
	switch m := binary.LittleEndian.Uint32(h[:]); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		p.order, p.nanos = binary.LittleEndian, m == 0xa1b23c4d
	case 0xd4c3b2a1, 0x4d3cb2a1:
		p.order, p.nanos = binary.BigEndian, m == 0x4d3cb2a1
	default:
		return nil, fmt.Errorf("unknown magic %08x", m)
	}
	// The link type's upper bits may carry FCS information.
	p.link = uint16(p.order.Uint32(h[20:]))
	return p, nil
}

func (p *pcapReader) next() ([]byte, uint16, time.Time, error) {
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		return nil, 0, time.Time{}, err // io.EOF between packets, else truncated
	}
	sec, frac := p.order.Uint32(p.hdr[0:]), p.order.Uint32(p.hdr[4:])
	n := p.order.Uint32(p.hdr[8:])
	if n > maxPacket {
		return nil, 0, time.Time{}, fmt.Errorf("captured length %d is past %d", n, maxPacket)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(p.r, data); err != nil {
		return nil, 0, time.Time{}, truncated(err)
	}
	if !p.nanos {
		frac *= 1000
	}
	return data, p.link, time.Unix(int64(sec), int64(frac)).UTC(), nil
}

// truncated is err, io.EOF inside a record being io.ErrUnexpectedEOF.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
