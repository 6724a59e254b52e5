package capfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// byteOrder is binary.LittleEndian or BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngFile builds a pcapng file block by block in one byte order.
type ngFile struct {
	order byteOrder
	buf   bytes.Buffer
}

func (f *ngFile) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	f.buf.Write(f.order.AppendUint32(f.order.AppendUint32(nil, typ), n))
	f.buf.Write(body)
	f.buf.Write(f.order.AppendUint32(nil, n))
}

func (f *ngFile) section() {
	body := f.order.AppendUint32(nil, 0x1a2b3c4d)
	body = f.order.AppendUint16(f.order.AppendUint16(body, 1), 0)
	f.block(blockSection, f.order.AppendUint64(body, unknownLength))
}

const unknownLength = ^uint64(0) // section length unknown

// iface describes an interface; tsresol 0 leaves the default (µs).
func (f *ngFile) iface(link uint16, tsresol byte) {
	body := f.order.AppendUint32(f.order.AppendUint16(f.order.AppendUint16(nil, link), 0), 0)
	if tsresol != 0 {
		body = append(f.order.AppendUint16(f.order.AppendUint16(body, 9), 1), tsresol, 0, 0, 0)
	}
	f.block(blockInterface, f.order.AppendUint32(body, 0)) // opt_endofopt
}

func (f *ngFile) enhanced(id uint32, ts uint64, data []byte) {
	body := f.order.AppendUint32(nil, id)
	body = f.order.AppendUint32(f.order.AppendUint32(body, uint32(ts>>32)), uint32(ts))
	body = f.order.AppendUint32(f.order.AppendUint32(body, uint32(len(data))), uint32(len(data)))
	f.block(blockEnhancedPkt, append(body, data...))
}

type readPacket struct {
	data string
	link uint16
	ts   time.Time
}

func readAll(t *testing.T, raw []byte) ([]readPacket, error) {
	t.Helper()
	src, err := open(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, err
	}
	var out []readPacket
	for {
		data, link, ts, err := src.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, readPacket{string(data), link, ts})
	}
}

// pcapng in either byte order: each packet with its own interface's link
// type and time unit, a second section with interfaces of its own, and
// the blocks a reader has no use for skipped.
func TestPcapngSectionsInterfacesAndTimes(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		f := &ngFile{order: order}
		f.section()
		f.iface(linkEthernet, 0)
		f.iface(linkLinuxSLL2, 9) // ns
		f.block(5, []byte("statistics"))
		f.enhanced(0, 1_700_000_000_123_456, []byte("one"))
		f.enhanced(1, 1_700_000_000_123_456_789, []byte("second"))
		f.section()
		f.iface(linkRaw, 0x80|10) // 2^-10 s
		f.enhanced(0, 1_700_000_000<<10|512, []byte("3"))
		got, err := readAll(t, f.buf.Bytes())
		if err != nil {
			t.Fatalf("%v: %v", order, err)
		}
		want := []readPacket{
			{"one", linkEthernet, time.Unix(1_700_000_000, 123_456_000).UTC()},
			{"second", linkLinuxSLL2, time.Unix(1_700_000_000, 123_456_789).UTC()},
			{"3", linkRaw, time.Unix(1_700_000_000, 500_000_000).UTC()},
		}
		if len(got) != len(want) {
			t.Fatalf("%v: %d packets, want %d", order, len(got), len(want))
		}
		for i := range want {
			if got[i].data != want[i].data || got[i].link != want[i].link || !got[i].ts.Equal(want[i].ts) {
				t.Errorf("%v: packet %d %+v, want %+v", order, i, got[i], want[i])
			}
		}
	}
}

// Classic pcap in both byte orders, µs and ns.
func TestPcapByteOrdersAndUnits(t *testing.T) {
	for _, c := range []struct {
		order byteOrder
		magic uint32
		frac  uint32
		want  time.Time
	}{
		{binary.LittleEndian, 0xa1b2c3d4, 250_000, time.Unix(1_700_000_000, 250_000_000)},
		{binary.BigEndian, 0xa1b2c3d4, 250_000, time.Unix(1_700_000_000, 250_000_000)},
		{binary.LittleEndian, 0xa1b23c4d, 7, time.Unix(1_700_000_000, 7)},
	} {
		o := c.order
		raw := o.AppendUint32(nil, c.magic)
		raw = o.AppendUint32(o.AppendUint16(o.AppendUint16(raw, 2), 4), 0)
		raw = o.AppendUint32(o.AppendUint32(o.AppendUint32(raw, 0), 65535), 0x1000_0000|linkLinuxSLL) // FCS bits above the type
		raw = o.AppendUint32(o.AppendUint32(o.AppendUint32(o.AppendUint32(raw, 1_700_000_000), c.frac), 2), 60)
		raw = append(raw, "hi"...)
		got, err := readAll(t, raw)
		if err != nil || len(got) != 1 || got[0].data != "hi" || got[0].link != linkLinuxSLL || !got[0].ts.Equal(c.want) {
			t.Errorf("%v %x: %+v %v, want one packet \"hi\" of link %d at %v", o, c.magic, got, err, linkLinuxSLL, c.want)
		}
	}
}

// A damaged length is an error of one line naming what is wrong, whatever
// it claims: no packet past the damage, no huge allocation.
func TestPcapngDamagedLengths(t *testing.T) {
	f := &ngFile{order: binary.LittleEndian}
	f.section()
	f.iface(linkEthernet, 0)
	f.enhanced(0, 1, []byte("ok"))
	good := len(f.buf.Bytes())
	f.enhanced(0, 2, []byte("damaged"))
	for name, damage := range map[string]func(b []byte){
		"block length": func(b []byte) { binary.LittleEndian.PutUint32(b[good+4:], 0xfffffff0) },
		"captured":     func(b []byte) { binary.LittleEndian.PutUint32(b[good+20:], 4096) },
		"interface":    func(b []byte) { binary.LittleEndian.PutUint32(b[good+8:], 3) },
	} {
		raw := bytes.Clone(f.buf.Bytes())
		damage(raw)
		got, err := readAll(t, raw)
		if err == nil || strings.Contains(err.Error(), "\n") || len(got) != 1 {
			t.Errorf("%s: %d packets, error %v; want the first packet and a one-line error", name, len(got), err)
		}
	}
	got, err := readAll(t, f.buf.Bytes()[:good+10])
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1 {
		t.Errorf("cut inside a block: %d packets, error %v; want the first and a truncation", len(got), err)
	}
}
