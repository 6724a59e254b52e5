package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/pion/stun/v3"
)

const (
	checkRounds  = 3
	checkSpacing = 40 * time.Millisecond
	// consentEvery is how often ICE consent freshness (RFC 7675) is
	// checked on the selected pair during the call.
	consentEvery = 2 * time.Second
)

// check builds and sends one ICE connectivity check from this socket.
// In relay mode it travels inside the TURN allocation.
func (t *transport) check(to *net.UDPAddr, nominate bool) error {
	prio := make([]byte, 4)
	binary.BigEndian.PutUint32(prio, 0x6e0001ff) // host candidate, RFC 8445 formula
	tie := make([]byte, 8)
	binary.BigEndian.PutUint64(tie, rand.Uint64())
	setters := []stun.Setter{
		stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(t.p.ICE.RemoteUfrag + ":" + t.p.ICE.LocalUfrag),
		stun.RawAttribute{Type: stun.AttrPriority, Value: prio},
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: tie},
	}
	if nominate {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	setters = append(setters, stun.NewShortTermIntegrity(t.p.ICE.RemotePwd), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		return fmt.Errorf("building ICE check: %w", err)
	}
	if t.viaRelay() {
		_, err = t.relay.WriteTo(m.Raw, to)
	} else {
		_, err = t.conn.WriteTo(m.Raw, to)
	}
	if err != nil {
		return fmt.Errorf("sending ICE check to %s: %w", to, err)
	}
	return nil
}

// connect runs the connectivity checks: every candidate is checked in
// rounds until the peer answers, then the peer's pair is nominated. The
// unanswered candidates are what an observer sees as "checks to several
// addresses before media settles on one".
func (t *transport) connect(ctx context.Context) error {
	cands := t.p.Candidates
	if t.relay != nil {
		// Through the relay only the peer itself is worth checking.
		cands = []string{t.p.Peer}
	}
	for round := 0; round < checkRounds || !t.iceOK.Load(); round++ {
		if round >= 4*checkRounds {
			return fmt.Errorf("ICE: no answer from %s", t.peer)
		}
		for _, c := range cands {
			if err := t.check(udpAddr(c), false); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(checkSpacing):
		}
	}
	return t.check(t.peer, true)
}

// consent keeps checking the selected pair until ctx ends.
func (t *transport) consent(ctx context.Context) {
	tick := time.NewTicker(consentEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = t.check(t.peer, false)
		}
	}
}
