package webrtc

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Impairment is what the peer does to RTP on its own socket, since this
// kernel has no netem: it drops a share of the RTP datagrams it receives
// and sends, and delays what it sends. STUN, DTLS and RTCP pass untouched,
// so the call connects and its feedback (NACK, reports) gets through.
type Impairment struct {
	DropInPct  float64       // RTP datagrams from the client dropped on arrival, percent
	DropOutPct float64       // RTP datagrams to the client dropped before sending, percent
	Delay      time.Duration // added to every datagram sent
	Jitter     time.Duration // up to this much more, uniformly, per datagram
}

// impairedConn applies an Impairment to a packet socket and counts what it
// dropped, so a test can hold the loss it sees against the loss made.
type impairedConn struct {
	net.PacketConn
	imp                   Impairment
	mu                    sync.Mutex // rng and the send queue's order
	rng                   *rand.Rand
	droppedIn, droppedOut atomic.Uint64
	lastDue               time.Time
	queue                 []delayed // under mu, in due order
	wake                  chan struct{}
	done                  chan struct{}
	closeOnce             sync.Once
}

// delayed is a datagram waiting for its time to leave.
type delayed struct {
	due  time.Time
	b    []byte
	addr net.Addr
}

func newImpairedConn(c net.PacketConn, imp Impairment, seed uint64) *impairedConn {
	ic := &impairedConn{PacketConn: c, imp: imp, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go ic.sendDelayed()
	return ic
}

// isRTP tells RTP from RTCP, STUN and DTLS by the first two bytes
// (RFC 7983 for the first, RFC 5761 for the payload type).
func isRTP(b []byte) bool {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 {
		return false
	}
	pt := b[1] & 0x7f
	return pt < 64 || pt > 95
}

func (c *impairedConn) chance(pct float64) bool {
	if pct <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64()*100 < pct
}

func (c *impairedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err == nil && isRTP(b[:n]) && c.chance(c.imp.DropInPct) {
			c.droppedIn.Add(1)
			continue
		}
		return n, addr, err
	}
}

func (c *impairedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if isRTP(b) && c.chance(c.imp.DropOutPct) {
		c.droppedOut.Add(1)
		return len(b), nil
	}
	if c.imp.Delay == 0 && c.imp.Jitter == 0 {
		return c.PacketConn.WriteTo(b, addr)
	}
	c.mu.Lock()
	due := time.Now().Add(c.imp.Delay)
	if c.imp.Jitter > 0 {
		due = due.Add(time.Duration(c.rng.Int64N(int64(c.imp.Jitter))))
	}
	// Datagrams leave in the order they were written, as on one path.
	if due.Before(c.lastDue) {
		due = c.lastDue
	}
	c.lastDue = due
	c.queue = append(c.queue, delayed{due: due, b: append([]byte(nil), b...), addr: addr})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// sendDelayed is the one sender of delayed datagrams, so they leave in
// the order they were written. A timer per datagram did not keep it:
// datagrams whose due times the clamp above had made equal fired in any
// order, and on a busy machine their goroutines ran late and scrambled
// (25 places of reordering measured on an idle machine). libwebrtc and
// RFC 3550 A.1 read deep reordering differently (libwebrtc may take a
// packet more than 50 behind, 450 on video with NACK, for a restart;
// A.1 does not count one more than 100 behind), so such a path makes the
// client's loss and teamsflow's disagree by the harness's doing.
func (c *impairedConn) sendDelayed() {
	for {
		c.mu.Lock()
		var next delayed
		waiting := len(c.queue) > 0
		if waiting {
			next = c.queue[0]
		}
		c.mu.Unlock()
		if !waiting {
			select {
			case <-c.wake:
				continue
			case <-c.done:
				return
			}
		}
		if wait := time.Until(next.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.done:
				t.Stop()
				return
			}
		}
		c.mu.Lock()
		d := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		_, _ = c.PacketConn.WriteTo(d.b, d.addr)
	}
}

// Close stops the delayed sender and closes the socket.
func (c *impairedConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return c.PacketConn.Close()
}
