package dissect

// Prefix joins the first bytes of a TCP stream from segments that may
// arrive out of order or repeat, using their sequence numbers. It keeps at
// most Max bytes: enough for a ClientHello with post-quantum key shares.
type Prefix struct {
	max   int
	isn   uint32 // sequence number of the first byte
	data  []byte
	valid []bool // which bytes of data were filled
	set   bool
}

// NewPrefix makes a joiner that keeps at most max bytes.
func NewPrefix(max int) *Prefix { return &Prefix{max: max} }

// Add places one segment. The lowest sequence number seen is taken as the
// start of the stream (samples are taken from the connection's first
// payload, but its segments may arrive in any order). Bytes beyond max
// are cut.
func (p *Prefix) Add(seq uint32, b []byte) {
	if !p.set {
		p.isn, p.set = seq, true
	}
	off := int64(int32(seq - p.isn)) // wraps correctly across 2^32
	if off < 0 {
		p.rebase(-off)
		p.isn, off = seq, 0
	}
	if off >= int64(p.max) {
		return
	}
	end := min(off+int64(len(b)), int64(p.max))
	for int64(len(p.data)) < end {
		p.data = append(p.data, 0)
		p.valid = append(p.valid, false)
	}
	copy(p.data[off:end], b)
	for i := off; i < end; i++ {
		p.valid[i] = true
	}
}

// rebase moves the kept bytes shift places later, for a segment that
// starts before the current start.
func (p *Prefix) rebase(shift int64) {
	if shift >= int64(p.max) {
		p.data, p.valid = nil, nil
		return
	}
	keep := min(int64(len(p.data)), int64(p.max)-shift)
	data := make([]byte, shift+keep)
	valid := make([]bool, shift+keep)
	copy(data[shift:], p.data[:keep])
	copy(valid[shift:], p.valid[:keep])
	p.data, p.valid = data, valid
}

// Bytes returns the contiguous bytes from the start of the stream.
func (p *Prefix) Bytes() []byte {
	for i, ok := range p.valid {
		if !ok {
			return p.data[:i]
		}
	}
	return p.data
}

// Full says that no more bytes can be kept.
func (p *Prefix) Full() bool { return len(p.Bytes()) >= p.max }
