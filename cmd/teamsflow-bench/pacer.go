package main

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rtpStream is one simulated media source of a call: its own socket (so
// its own flow, as a desktop client sends audio, video and screen share
// from separate ports), SSRC and payload type.
type rtpStream struct {
	ssrc        uint32
	pt          uint8
	size        int    // UDP payload bytes, header included
	tsStep      uint32 // RTP timestamp advance per packet
	markerEvery int    // a marker bit every this many packets (0: none)
}

// callStreams is a call's media: two audio sources (Opus, 20 ms, 48 kHz
// clock), a video and a screen share (90 kHz clock, a marker at the end
// of each frame).
var callStreams = []rtpStream{
	{ssrc: 0x7eab0001, pt: 111, size: 160, tsStep: 960},
	{ssrc: 0x7eab0002, pt: 111, size: 160, tsStep: 960},
	{ssrc: 0x7eab0003, pt: 96, size: 1100, tsStep: 3000, markerEvery: 10},
	{ssrc: 0x7eab0004, pt: 97, size: 1100, tsStep: 6000, markerEvery: 20},
}

// pacerBatch is the most datagrams of one stream per sendmmsg call.
const pacerBatch = 32

// pacer sends the call's RTP streams from the client namespace at a fixed
// total packet rate, round robin over the streams, until stopped. It runs
// in the bench process: the daemon it is measured against is a process of
// its own.
type pacer struct {
	rate    int
	streams []*pacedStream
	sent    atomic.Uint64
	quit    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	sendErr error
}

// pacedStream is one stream's socket and its batch of messages.
type pacedStream struct {
	rtpStream
	fd   int
	seq  uint16
	ts   uint32
	n    int
	bufs [pacerBatch][]byte
	iovs [pacerBatch]unix.Iovec
	msgs [pacerBatch]unix.Mmsghdr
}

func startPacer(t *topology, rate int) (*pacer, error) {
	p := &pacer{rate: rate, quit: make(chan struct{})}
	err := t.client.Do(func() error {
		fds, err := openFlows(t.dst, len(callStreams), true)
		for i, fd := range fds {
			p.streams = append(p.streams, newPacedStream(callStreams[i], fd))
		}
		return err
	})
	if err != nil {
		p.close()
		return nil, fmt.Errorf("opening the media sockets: %w", err)
	}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

func newPacedStream(s rtpStream, fd int) *pacedStream {
	ps := &pacedStream{rtpStream: s, fd: fd, seq: uint16(s.ssrc), ts: s.ssrc * 7}
	for i := range ps.msgs {
		ps.bufs[i] = make([]byte, s.size)
		ps.iovs[i].Base = &ps.bufs[i][0]
		ps.iovs[i].SetLen(s.size)
		ps.msgs[i].Hdr.Iov = &ps.iovs[i]
		ps.msgs[i].Hdr.SetIovlen(1)
	}
	return ps
}

// run sends what is due, then naps briefly: a timer per packet would
// cost more than the sending at 200k packets/s.
func (p *pacer) run() {
	defer p.wg.Done()
	runtime.LockOSThread()
	start := time.Now()
	var sent uint64
	for k := 0; ; k++ {
		select {
		case <-p.quit:
			return
		default:
		}
		due := uint64(time.Since(start).Seconds() * float64(p.rate))
		if sent >= due {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		s := p.streams[k%len(p.streams)]
		n, err := s.send(int(min(due-sent, pacerBatch)))
		if err != nil {
			p.fail(err)
			return
		}
		sent += uint64(n)
		p.sent.Store(sent)
	}
}

// send fills n RTP headers, in sequence, and sends them in one call.
func (s *pacedStream) send(n int) (int, error) {
	for i := range n {
		b := s.bufs[i]
		s.n++
		b[0] = 0x80 // version 2, no padding, extension or CSRCs
		b[1] = s.pt
		if s.markerEvery > 0 && s.n%s.markerEvery == 0 {
			b[1] |= 0x80
		}
		binary.BigEndian.PutUint16(b[2:], s.seq)
		binary.BigEndian.PutUint32(b[4:], s.ts)
		binary.BigEndian.PutUint32(b[8:], s.ssrc)
		s.seq++
		if s.markerEvery == 0 || s.n%s.markerEvery == 0 {
			s.ts += s.tsStep
		}
	}
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(n), 0, 0, 0)
	if e != 0 {
		return 0, fmt.Errorf("sending rtp: %w", e)
	}
	return int(r), nil
}

func (p *pacer) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sendErr = err
}

func (p *pacer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sendErr
}

// count is the packets sent so far; 0 for no pacer.
func (p *pacer) count() uint64 {
	if p == nil {
		return 0
	}
	return p.sent.Load()
}

func (p *pacer) stop() {
	close(p.quit)
	p.wg.Wait()
	p.close()
}

func (p *pacer) close() {
	for _, s := range p.streams {
		unix.Close(s.fd)
	}
}
