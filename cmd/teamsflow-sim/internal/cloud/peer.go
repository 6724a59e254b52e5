package cloud

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/stun/v3"
	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// PeerStats is what the far end saw of one client SSRC.
type PeerStats struct {
	Decrypted     int // SRTP packets that authenticated and decrypted
	Failed        int // SRTP packets that did not
	RTCPDecrypted int
	Echoed        int // packets sent back under PeerSSRC
}

// peerStream is the far end's state for one client stream: SRTP contexts
// for both directions (keys from the plan, as if agreed in signalling).
type peerStream struct {
	mu       sync.Mutex
	in, out  *srtp.Context
	peerSSRC uint32
	stats    PeerStats
}

// Peers are the media far ends (media processors, the other participant,
// the Zoom server) living in the cloud namespace. They answer ICE checks,
// decrypt SRTP/SRTCP with the call's keys and send media back.
type Peers struct {
	log     zerolog.Logger
	streams map[uint32]*peerStream
	icePwd  map[string]string
	conns   []net.PacketConn
	wg      sync.WaitGroup
}

func newPeers(calls []plan.Call, log zerolog.Logger) (*Peers, error) {
	p := &Peers{log: log, streams: map[uint32]*peerStream{}, icePwd: map[string]string{}}
	for _, c := range calls {
		for _, t := range c.Transports {
			p.icePwd[t.ICE.RemoteUfrag] = t.ICE.RemotePwd
			for _, s := range t.Streams {
				in, err := srtp.CreateContext(t.Keys.TxKey, t.Keys.TxSalt, srtp.ProtectionProfileAes128CmHmacSha1_80)
				if err != nil {
					return nil, fmt.Errorf("creating peer SRTP context: %w", err)
				}
				out, err := srtp.CreateContext(t.Keys.RxKey, t.Keys.RxSalt, srtp.ProtectionProfileAes128CmHmacSha1_80)
				if err != nil {
					return nil, fmt.Errorf("creating peer SRTP context: %w", err)
				}
				p.streams[s.SSRC] = &peerStream{in: in, out: out, peerSSRC: s.PeerSSRC}
			}
		}
	}
	return p, nil
}

// listen opens the answering and silent endpoints inside the namespace.
func (p *Peers) listen(ns netns.Named, answer, silent []string) error {
	for i, ep := range append(append([]string{}, answer...), silent...) {
		var pc net.PacketConn
		err := ns.Do(func() error {
			var err error
			pc, err = net.ListenPacket("udp4", ep)
			return err
		})
		if err != nil {
			return fmt.Errorf("listening as media peer %s: %w", ep, err)
		}
		enlarge(pc)
		p.conns = append(p.conns, pc)
		p.wg.Add(1)
		go p.serve(pc, i >= len(answer))
	}
	return nil
}

func (p *Peers) serve(pc net.PacketConn, silent bool) {
	defer p.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		switch {
		case silent:
			// An unreachable candidate: checks to it time out.
		case stun.IsMessage(b):
			p.answerSTUN(pc, b, from)
		case isRTCP(b):
			p.handleRTCP(b)
		case len(b) >= 12 && b[0]>>6 == 2:
			p.handleRTP(pc, b, from)
		}
	}
}

// isRTCP tells RTCP from RTP on a multiplexed port (RFC 5761): packet
// types 192-223 in the second byte.
func isRTCP(b []byte) bool { return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223 }

// answerSTUN answers an ICE connectivity check (or a plain binding
// request) with the sender's reflexive address, signed with the peer's
// ICE password when the request named it.
func (p *Peers) answerSTUN(pc net.PacketConn, b []byte, from net.Addr) {
	req := &stun.Message{Raw: append([]byte{}, b...)}
	if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
		return
	}
	udp, ok := from.(*net.UDPAddr)
	if !ok {
		return
	}
	setters := []stun.Setter{stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: udp.IP, Port: udp.Port}}
	var user stun.Username
	if user.GetFrom(req) == nil {
		local, _, _ := cutColon(user.String())
		if pwd, ok := p.icePwd[local]; ok {
			setters = append(setters, stun.NewShortTermIntegrity(pwd))
		}
	}
	setters = append(setters, stun.Fingerprint)
	resp, err := stun.Build(setters...)
	if err != nil {
		p.log.Warn().Err(err).Msg("building STUN response")
		return
	}
	_, _ = pc.WriteTo(resp.Raw, from)
}

func cutColon(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (p *Peers) handleRTP(pc net.PacketConn, b []byte, from net.Addr) {
	ps := p.streams[binary.BigEndian.Uint32(b[8:12])]
	if ps == nil {
		return
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var hdr rtp.Header
	plain, err := ps.in.DecryptRTP(nil, b, &hdr)
	if err != nil {
		ps.stats.Failed++
		return
	}
	ps.stats.Decrypted++
	payload := plain[hdr.MarshalSize():]
	// Send the frame back as the other side's stream, so the client's
	// socket also receives media as in a real call.
	hdr.SSRC = ps.peerSSRC
	hdr.Extension, hdr.Extensions = false, nil
	raw, err := (&rtp.Packet{Header: hdr, Payload: payload}).Marshal()
	if err == nil {
		if enc, err := ps.out.EncryptRTP(nil, raw, nil); err == nil {
			if _, err := pc.WriteTo(enc, from); err == nil {
				ps.stats.Echoed++
			}
		}
	}
}

func (p *Peers) handleRTCP(b []byte) {
	ps := p.streams[binary.BigEndian.Uint32(b[4:8])]
	if ps == nil {
		return
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, err := ps.in.DecryptRTCP(nil, b, nil); err == nil {
		ps.stats.RTCPDecrypted++
	}
}

// Stats returns what the peers saw, per client SSRC.
func (p *Peers) Stats() map[uint32]PeerStats {
	out := map[uint32]PeerStats{}
	for ssrc, ps := range p.streams {
		ps.mu.Lock()
		out[ssrc] = ps.stats
		ps.mu.Unlock()
	}
	return out
}

func (p *Peers) close() error {
	var errs []error
	for _, c := range p.conns {
		errs = append(errs, c.Close())
	}
	p.wg.Wait()
	return errors.Join(errs...)
}
