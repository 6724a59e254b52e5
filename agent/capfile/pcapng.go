package capfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// pcapng block types this reader takes; it skips the others (name
// resolution, statistics, custom blocks, ...).
const (
	blockSection     = 0x0a0d0d0a
	blockInterface   = 1
	blockObsoletePkt = 2
	blockSimplePkt   = 3
	blockEnhancedPkt = 6
)

// ngReader reads pcapng: sections of either byte order, each with its
// interfaces, whose link types and timestamp units may differ.
type ngReader struct {
	r      io.Reader
	order  binary.ByteOrder
	ifaces []ngIface
	block  []byte // the last block read, its buffer used again

}

// ngIface is what a packet needs of its interface description.
type ngIface struct {
	link    uint16
	snaplen uint32
	// unit is the timestamp's unit in ns when it is whole (the default
	// µs, ns), else perSec counts units a second (other resolutions).
	unit   int64
	perSec float64
	offset int64 // if_tsoffset, seconds
}

// section reads a section header block, which the reader stands at.
func (g *ngReader) section() error {
	var h [12]byte
	if _, err := io.ReadFull(g.r, h[:]); err != nil {
		return truncated(err)
	}
	switch binary.LittleEndian.Uint32(h[8:]) {
	case 0x1a2b3c4d:
		g.order = binary.LittleEndian
	case 0x4d3c2b1a:
		g.order = binary.BigEndian
	default:
		return errors.New("bad byte-order magic in section header")
	}
	n := g.order.Uint32(h[4:])
	if n < 28 || n%4 != 0 || n > maxBlock {
		return fmt.Errorf("section header of bad length %d", n)
	}
	if _, err := io.CopyN(io.Discard, g.r, int64(n)-12); err != nil {
		return truncated(err)
	}
	g.ifaces = g.ifaces[:0]
	return nil
}

// readBlock reads the next block's type and body (without the type, the
// lengths and padding of the block itself).
func (g *ngReader) readBlock() (uint32, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(g.r, h[:]); err != nil {
		return 0, nil, err // io.EOF between blocks, else truncated
	}
	if binary.LittleEndian.Uint32(h[:]) == blockSection { // the same either way round
		head := bytesReader(h[:])
		g.r = io.MultiReader(&head, g.r)
		return blockSection, nil, g.section()
	}
	typ, n := g.order.Uint32(h[:]), g.order.Uint32(h[4:])
	if n < 12 || n%4 != 0 || n > maxBlock {
		return 0, nil, fmt.Errorf("block of bad length %d", n)
	}
	if cap(g.block) < int(n-8) {
		g.block = make([]byte, n-8)
	}
	body := g.block[:n-8]
	if _, err := io.ReadFull(g.r, body); err != nil {
		return 0, nil, truncated(err)
	}
	return typ, body[:n-12], nil // the trailing copy of the length
}

type bytesReader []byte

func (b *bytesReader) Read(p []byte) (int, error) {
	if len(*b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, *b)
	*b = (*b)[n:]
	return n, nil
}

func (g *ngReader) next() ([]byte, uint16, time.Time, error) {
	for {
		typ, body, err := g.readBlock()
		if err != nil {
			return nil, 0, time.Time{}, err
		}
		switch typ {
		case blockInterface:
			if err := g.iface(body); err != nil {
				return nil, 0, time.Time{}, err
			}
		case blockEnhancedPkt, blockObsoletePkt, blockSimplePkt:
			return g.packet(typ, body)
		}
	}
}

// packet cuts a packet block's data and time.
func (g *ngReader) packet(typ uint32, body []byte) ([]byte, uint16, time.Time, error) {
	fail := func(what string) ([]byte, uint16, time.Time, error) {
		return nil, 0, time.Time{}, fmt.Errorf("packet block: %s", what)
	}
	var id, n uint32
	var ts uint64
	var data []byte
	switch typ {
	case blockSimplePkt: // interface 0, no time: the packet's original length, data to snaplen
		if len(body) < 4 || len(g.ifaces) == 0 {
			return fail("too short, or before any interface")
		}
		n = min(g.order.Uint32(body), uint32(len(body)-4))
		if s := g.ifaces[0].snaplen; s != 0 {
			n = min(n, s)
		}
		data = body[4:]
	default: // enhanced: id(4); obsolete: id(2) drops(2); then ts(8), captured and original length
		if len(body) < 20 {
			return fail("too short")
		}
		id = g.order.Uint32(body)
		if typ == blockObsoletePkt {
			id = uint32(g.order.Uint16(body))
		}
		ts = uint64(g.order.Uint32(body[4:]))<<32 | uint64(g.order.Uint32(body[8:]))
		n, data = g.order.Uint32(body[12:]), body[20:]
	}
	if int(id) >= len(g.ifaces) {
		return fail(fmt.Sprintf("interface %d not described", id))
	}
	if uint64(n) > uint64(len(data)) {
		return fail(fmt.Sprintf("captured length %d past the block", n))
	}
	return append([]byte(nil), data[:n]...), g.ifaces[id].link, g.ifaces[id].time(ts), nil
}

// iface reads an interface description block: link type, snap length and
// the timestamp options.
func (g *ngReader) iface(body []byte) error {
	if len(body) < 8 {
		return errors.New("interface block too short")
	}
	i := ngIface{link: g.order.Uint16(body), snaplen: g.order.Uint32(body[4:]), unit: 1000}
	for opts := body[8:]; len(opts) >= 4; {
		code, n := g.order.Uint16(opts), int(g.order.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break // opt_endofopt, or an option cut short: the rest is padding
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n == 1: // if_tsresol
			i.setResolution(v[0])
		case code == 14 && n == 8: // if_tsoffset
			i.offset = int64(g.order.Uint64(v))
		}
		opts = opts[4+(n+3)&^3:] // in range: a block body, so opts, is whole 4-byte words
	}
	g.ifaces = append(g.ifaces, i)
	return nil
}

// setResolution takes if_tsresol: 10^-v seconds, or 2^-(v&0x7f) with the
// top bit set.
func (i *ngIface) setResolution(v byte) {
	i.unit, i.perSec = 0, 0
	switch {
	case v&0x80 != 0:
		i.perSec = math.Ldexp(1, int(v&0x7f))
	case v <= 9:
		i.unit = int64(math.Pow10(9 - int(v)))
	default:
		i.perSec = math.Pow10(int(v))
	}
}

// time turns a packet's timestamp into a time.
func (i *ngIface) time(ts uint64) time.Time {
	if i.unit != 0 {
		perSec := uint64(1e9 / i.unit)
		return time.Unix(int64(ts/perSec)+i.offset, int64(ts%perSec)*i.unit).UTC()
	}
	sec := math.Floor(float64(ts) / i.perSec)
	frac := float64(ts) - sec*i.perSec
	return time.Unix(int64(sec)+i.offset, int64(frac/i.perSec*1e9)).UTC()
}
