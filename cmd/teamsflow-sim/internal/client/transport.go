package client

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/stun/v3"
	"github.com/pion/turn/v4"
	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// transport is one media socket: its STUN/TURN state, its SRTP contexts
// (one per direction, shared by every SSRC on a BUNDLEd socket) and the
// streams it carries.
type transport struct {
	p     plan.Transport
	log   zerolog.Logger
	conn  *countingConn
	peer  *net.UDPAddr
	turnc *turn.Client
	// relay carries the media in relay mode; alloc is a candidate-only
	// allocation released at the end in the other modes.
	relay, alloc net.PacketConn
	relayAddr    *net.UDPAddr

	mu     sync.Mutex // guards tx and rx, which are not goroutine-safe
	tx, rx *srtp.Context

	iceOK atomic.Bool
	// checkDirect sends ICE checks from the socket rather than through the
	// allocation; direct sends media that way too (relay mode, after
	// goDirect).
	checkDirect, direct atomic.Bool
	recvMu              sync.Mutex
	recv                map[uint32]int // packets received per peer SSRC
	senders             []*sender
	wg                  sync.WaitGroup
}

func newTransport(p plan.Transport, clientIP string, log zerolog.Logger) (*transport, error) {
	conn, err := openUDP(clientIP, p.Ports, p.DSCP)
	if err != nil {
		return nil, err
	}
	t := &transport{p: p, log: log, conn: newCountingConn(conn), peer: udpAddr(p.Peer), recv: map[uint32]int{}}
	profile := srtp.ProtectionProfileAes128CmHmacSha1_80
	if t.tx, err = srtp.CreateContext(p.Keys.TxKey, p.Keys.TxSalt, profile); err == nil {
		t.rx, err = srtp.CreateContext(p.Keys.RxKey, p.Keys.RxSalt, profile)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("creating SRTP contexts: %w", err)
	}
	t.wg.Add(1)
	go t.readBase()
	return t, nil
}

// gather does what ICE gathering does against the Teams relay: a STUN
// binding request for the server-reflexive candidate and a TURN
// allocation for the relayed one. In relay mode the allocation carries
// the media afterwards.
func (t *transport) gather(r *plan.Relay, relayMode bool) error {
	turnPort := r.Port
	if relayMode && t.p.RelayPort != 0 {
		turnPort = t.p.RelayPort
	}
	t.relayAddr = udpAddr(fmt.Sprintf("%s:%d", r.IP, turnPort))
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: fmt.Sprintf("%s:%d", r.IP, r.Port),
		TURNServerAddr: t.relayAddr.String(),
		Username:       r.Username, Password: r.Password, Realm: r.Realm,
		Software: "Microsoft-Teams", Conn: t.conn,
	})
	if err != nil {
		return fmt.Errorf("creating TURN client: %w", err)
	}
	t.turnc = c
	if _, err := c.SendBindingRequest(); err != nil {
		return fmt.Errorf("STUN binding to relay: %w", err)
	}
	alloc, err := c.Allocate()
	if err != nil {
		return fmt.Errorf("TURN allocation at %s: %w", t.relayAddr, err)
	}
	if relayMode {
		t.relay = alloc
		t.wg.Add(1)
		go t.readRelay()
	} else {
		t.alloc = alloc
	}
	return nil
}

// readBase demultiplexes the socket: the relay's STUN/TURN answers go to
// the TURN client, everything else is ICE or media from the peer.
func (t *transport) readBase() {
	defer t.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := t.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if t.turnc != nil && t.relayAddr != nil && sameAddr(from, t.relayAddr, t.turnc.STUNServerAddr()) {
			if handled, _ := t.turnc.HandleInbound(buf[:n], from); handled {
				continue
			}
		}
		t.handleApp(buf[:n])
	}
}

func (t *transport) readRelay() {
	defer t.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, _, err := t.relay.ReadFrom(buf)
		if err != nil {
			return
		}
		t.handleApp(buf[:n])
	}
}

func sameAddr(a net.Addr, others ...net.Addr) bool {
	for _, o := range others {
		if o != nil && a.String() == o.String() {
			return true
		}
	}
	return false
}

// handleApp notes ICE successes and counts (decrypting) the peer's media.
func (t *transport) handleApp(b []byte) {
	switch {
	case stun.IsMessage(b):
		m := &stun.Message{Raw: append([]byte{}, b...)}
		if m.Decode() == nil && m.Type == stun.BindingSuccess {
			t.iceOK.Store(true)
		}
	case len(b) >= 12 && b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223):
		t.mu.Lock()
		_, err := t.rx.DecryptRTP(nil, b, &rtp.Header{})
		t.mu.Unlock()
		if err == nil {
			t.recvMu.Lock()
			t.recv[binary.BigEndian.Uint32(b[8:12])]++
			t.recvMu.Unlock()
		}
	}
}

// write sends one media or ICE packet towards the peer, through the relay
// allocation in relay mode.
func (t *transport) write(b []byte) error {
	var err error
	if t.path() == pathFirst && t.relay != nil {
		_, err = t.relay.WriteTo(b, t.peer)
	} else {
		_, err = t.conn.WriteTo(b, t.peer)
	}
	return err
}

func (t *transport) received(peerSSRC uint32) int {
	t.recvMu.Lock()
	defer t.recvMu.Unlock()
	return t.recv[peerSSRC]
}

// close releases the allocation (a Refresh with lifetime 0) and the
// socket.
func (t *transport) close() {
	for _, a := range []net.PacketConn{t.relay, t.alloc} {
		if a != nil {
			_ = a.Close()
		}
	}
	if t.turnc != nil {
		t.turnc.Close()
	}
	_ = t.conn.Close()
	t.wg.Wait()
}
