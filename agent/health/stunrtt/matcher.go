package stunrtt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

type txID [12]byte

type pending struct {
	sent  time.Time
	sends int // more than one: retransmitted or reused, no sample
}

type finishState uint8

const (
	answered finishState = iota
	expired
)

// flowState is one flow's unanswered requests, recently finished IDs (a
// bounded FIFO) and estimate.
type flowState struct {
	pending  map[txID]*pending
	order    []txID // pending IDs, oldest first, for the bound
	finished map[txID]finishState
	fifo     []txID
	est      Estimate
}

// Matcher pairs requests with responses per flow. It is safe for concurrent
// use. Flows are keys of any comparable type (a flow id, a 5-tuple struct).
type Matcher[K comparable] struct {
	mu      sync.Mutex
	timeout time.Duration
	flows   map[K]*flowState
	count   Counters
}

// New returns a Matcher; a timeout of 0 means DefaultTimeout.
func New[K comparable](timeout time.Duration) *Matcher[K] {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Matcher[K]{timeout: timeout, flows: map[K]*flowState{}}
}

// Observe takes one STUN packet of a flow: its direction, its time (capture
// or kernel time; only differences matter) and at least its 20-byte header,
// bare or inside TURN framing (ChannelData, Send or Data indication).
// It returns an error, and counts it, for bytes that are not STUN; every
// other packet that gives no sample is counted under its reason.
func (m *Matcher[K]) Observe(flow K, dir Direction, at time.Time, hdr []byte) error {
	inner, wrapped, err := unwrap(hdr)
	var typ uint16
	var id txID
	if err == nil {
		typ, id, err = parseHeader(inner)
		if err != nil && wrapped {
			err = fmt.Errorf("%w: %w", errInnerNotSTUN, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case wrapped && err != nil && errors.Is(err, errInnerNotSTUN):
		m.count.RelayedMedia++ // TURN carrying media, not a check: valid, no sample
		return nil
	case err != nil:
		m.count.NotSTUN++
		return err
	case wrapped:
		m.count.Relayed++
	}
	switch {
	case typ == typeBindingRequest && dir == Egress:
		m.request(m.flow(flow), id, at)
	case typ == typeBindingRequest:
		m.count.PeerRequests++
	case (typ == typeBindingSuccess || typ == typeBindingError) && dir == Ingress:
		if fs, ok := m.flows[flow]; ok {
			m.response(fs, id, at, typ == typeBindingError)
		} else {
			m.count.Unmatched++
		}
	case typ == typeBindingSuccess || typ == typeBindingError:
		// Our answer to the peer's check: the peer's round trip, not ours.
	default:
		m.count.OtherMethods++
	}
	return nil
}

// parseHeader checks the RFC 8489 §5 header: two zero bits, a length that is
// a multiple of 4, the magic cookie.
func parseHeader(b []byte) (uint16, txID, error) {
	var id txID
	if len(b) < headerLen {
		return 0, id, fmt.Errorf("%w: %d bytes, a header has %d", ErrNotSTUN, len(b), headerLen)
	}
	typ := binary.BigEndian.Uint16(b[0:2])
	if typ&0xC000 != 0 || binary.BigEndian.Uint16(b[2:4])%4 != 0 {
		return 0, id, fmt.Errorf("%w: type 0x%04x, length %d", ErrNotSTUN, typ, binary.BigEndian.Uint16(b[2:4]))
	}
	if c := binary.BigEndian.Uint32(b[4:8]); c != magicCookie {
		return 0, id, fmt.Errorf("%w: magic cookie 0x%08x", ErrNotSTUN, c)
	}
	copy(id[:], b[8:20])
	return typ, id, nil
}

func (m *Matcher[K]) flow(k K) *flowState {
	fs, ok := m.flows[k]
	if !ok {
		fs = &flowState{pending: map[txID]*pending{}, finished: map[txID]finishState{}}
		m.flows[k] = fs
	}
	return fs
}

func (m *Matcher[K]) request(fs *flowState, id txID, at time.Time) {
	if p, ok := fs.pending[id]; ok {
		p.sends++ // a retransmission: the response will not say which send it answers
		return
	}
	if len(fs.order) >= maxPending {
		m.count.Overflow++
		m.finish(fs, fs.order[0], expired)
	}
	sends := 1
	if _, ok := fs.finished[id]; ok {
		m.count.ReusedIDs++
		sends = 2 // answerable, but never a sample
	}
	fs.pending[id] = &pending{sent: at, sends: sends}
	fs.order = append(fs.order, id)
}

func (m *Matcher[K]) response(fs *flowState, id txID, at time.Time, isError bool) {
	p, ok := fs.pending[id]
	if !ok {
		switch st, seen := fs.finished[id]; {
		case !seen:
			m.count.Unmatched++
		case st == answered:
			m.count.Duplicates++
		default:
			m.count.Late++
		}
		return
	}
	rtt := at.Sub(p.sent)
	switch {
	case rtt > m.timeout:
		m.count.Late++
		m.finish(fs, id, expired)
		return
	case rtt < 0:
		m.count.BadTime++
	case p.sends > 1:
		m.count.Retransmitted++
	default:
		m.count.Samples++
		if isError {
			m.count.ErrorResponses++
		}
		fs.est.add(rtt)
	}
	m.finish(fs, id, answered)
}

// finish moves id from pending to the bounded set of finished IDs.
func (m *Matcher[K]) finish(fs *flowState, id txID, st finishState) {
	delete(fs.pending, id)
	for i, o := range fs.order {
		if o == id {
			fs.order = append(fs.order[:i], fs.order[i+1:]...)
			break
		}
	}
	if _, ok := fs.finished[id]; !ok {
		if len(fs.fifo) >= maxFinished {
			delete(fs.finished, fs.fifo[0])
			fs.fifo = fs.fifo[1:]
		}
		fs.fifo = append(fs.fifo, id)
	}
	fs.finished[id] = st
}

// add folds a sample in as RFC 6298 §2 does.
func (e *Estimate) add(r time.Duration) {
	if e.Samples == 0 {
		e.Smoothed, e.Var, e.Min = r, r/2, r
	} else {
		diff := e.Smoothed - r
		if diff < 0 {
			diff = -diff
		}
		e.Var = (3*e.Var + diff) / 4
		e.Smoothed = (7*e.Smoothed + r) / 8
		e.Min = min(e.Min, r)
	}
	e.Latest = r
	e.Samples++
}

// RTT is the flow's estimate; ok is false before its first sample.
func (m *Matcher[K]) RTT(flow K) (Estimate, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fs, ok := m.flows[flow]
	if !ok || fs.est.Samples == 0 {
		return Estimate{}, false
	}
	return fs.est, true
}

// Expire ends the requests older than the timeout at now (counted as
// Expired), so a flow whose checks stopped holds no memory for them.
func (m *Matcher[K]) Expire(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fs := range m.flows {
		for len(fs.order) > 0 && now.Sub(fs.pending[fs.order[0]].sent) > m.timeout {
			m.count.Expired++
			m.finish(fs, fs.order[0], expired)
		}
	}
}

// Forget drops a flow that ended.
func (m *Matcher[K]) Forget(flow K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.flows, flow)
}

// Counters returns the counts so far.
func (m *Matcher[K]) Counters() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count
}

// Retain keeps the flows keep says yes to and drops the rest: the caller's
// table decides which flows still exist, in one pass over the few flows
// that carry checks.
func (m *Matcher[K]) Retain(keep func(K) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.flows {
		if !keep(k) {
			delete(m.flows, k)
		}
	}
}
