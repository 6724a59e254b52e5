package stunrtt

import (
	"encoding/binary"
	"fmt"
)

// Relayed checks travel inside TURN (RFC 8656): in a ChannelData frame
// (first byte 0x40-0x7F, a 4-byte header) once a channel is bound, else in
// the DATA attribute of a Send indication (client to relay) or a Data
// indication (relay to client). Through a relay the check's round trip is
// the whole relayed path, which is the one the media takes.
const (
	typeSendIndication = 0x0016
	typeDataIndication = 0x0017
	attrData           = 0x0013
)

// unwrap returns the STUN message inside TURN framing, or b itself when it
// is not TURN framing. wrapped says whether framing was removed.
func unwrap(b []byte) (inner []byte, wrapped bool, err error) {
	if len(b) >= 4 && b[0] >= 0x40 && b[0] <= 0x7F {
		n := int(binary.BigEndian.Uint16(b[2:4]))
		body := b[4:]
		if n < len(body) {
			body = body[:n] // padding (TCP) or a longer sample
		}
		return body, true, nil
	}
	if len(b) < headerLen {
		return b, false, nil
	}
	typ := binary.BigEndian.Uint16(b[0:2])
	if typ != typeSendIndication && typ != typeDataIndication || binary.BigEndian.Uint32(b[4:8]) != magicCookie {
		return b, false, nil
	}
	data, err := dataAttribute(b)
	return data, true, err
}

// dataAttribute walks the indication's attributes (type, length, value
// padded to 4) to DATA. A sample cut short inside DATA still gives what it
// holds: the header of the check inside is all the matcher reads.
func dataAttribute(b []byte) ([]byte, error) {
	end := min(len(b), headerLen+int(binary.BigEndian.Uint16(b[2:4])))
	for off := headerLen; off+4 <= end; {
		typ := binary.BigEndian.Uint16(b[off : off+2])
		n := int(binary.BigEndian.Uint16(b[off+2 : off+4]))
		if typ == attrData {
			return b[off+4 : min(end, off+4+n)], nil
		}
		off += 4 + (n+3)&^3
	}
	return nil, fmt.Errorf("%w: TURN indication without a DATA attribute in %d bytes", ErrNotSTUN, len(b))
}
