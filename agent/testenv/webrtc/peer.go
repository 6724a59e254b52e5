package webrtc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// Video codecs a scenario can ask for; the peer offers only the one asked
// for, so Chromium sends it.
const (
	CodecVP8  = "VP8"
	CodecVP9  = "VP9"
	CodecH264 = "H264"
)

// mediaPeer is the far end of the call: a pion PeerConnection on one UDP
// address:port (a UDPMux, as a Teams media relay listens), which echoes
// every RTP stream it receives back on a track of its own (its own SSRC,
// sequence numbers and RTX stream), so media flows both ways.
type mediaPeer struct {
	api   *pion.API
	conn  *impairedConn
	mux   io.Closer
	codec string
	dtx   bool
	log   func(format string, args ...any)

	mu    sync.Mutex
	pc    *pion.PeerConnection
	sent  map[string]SentTrack // by mid
	roles map[string]string    // mid -> audio, video, screenshare
}

// SentTrack is what the peer sends on one mid: its SSRC and its RTX SSRC
// (0 when RTX was not negotiated).
type SentTrack struct {
	Mid     string `json:"mid"`
	Kind    string `json:"kind"`
	SSRC    uint32 `json:"ssrc"`
	RTXSSRC uint32 `json:"rtx_ssrc,omitempty"`
}

// newMediaPeer opens the media socket inside the namespace at nsPath and
// builds the pion API around it.
func newMediaPeer(nsPath, addr, codec string, dtx bool, imp Impairment, seed uint64,
	log func(string, ...any)) (*mediaPeer, error) {
	var udp net.PacketConn
	err := netns.Do(nsPath, func() (err error) {
		udp, err = net.ListenPacket("udp4", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening the media socket %s: %w", addr, err)
	}
	p := &mediaPeer{conn: newImpairedConn(udp, imp, seed), codec: codec, dtx: dtx, log: log, sent: map[string]SentTrack{}}
	m := &pion.MediaEngine{}
	if err := registerCodecs(m, codec, dtx); err != nil {
		udp.Close()
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := pion.RegisterDefaultInterceptors(m, reg); err != nil {
		udp.Close()
		return nil, err
	}
	mux := pion.NewICEUDPMux(nil, p.conn)
	p.mux = mux
	var se pion.SettingEngine
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	// No mDNS (pion's default, the zero value, is query-only): it would
	// open sockets on 5353 in the test's own namespace. The client's .local
	// candidates stay unresolved and its checks arrive as peer-reflexive
	// ones, as at a relay.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	p.api = pion.NewAPI(pion.WithMediaEngine(m), pion.WithInterceptorRegistry(reg), pion.WithSettingEngine(se))
	return p, nil
}

// registerCodecs offers Opus and one video codec with its RTX.
func registerCodecs(m *pion.MediaEngine, codec string, dtx bool) error {
	opus := "minptime=10;useinbandfec=1"
	if dtx {
		opus += ";usedtx=1"
	}
	fb := []pion.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	var fmtps []string
	var mime string
	switch codec {
	case CodecVP8:
		mime, fmtps = pion.MimeTypeVP8, []string{""}
	case CodecVP9:
		mime, fmtps = pion.MimeTypeVP9, []string{"profile-id=0"}
	case CodecH264:
		mime, fmtps = pion.MimeTypeH264, []string{
			"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"}
	default:
		return fmt.Errorf("unknown video codec %q (want VP8, VP9 or H264)", codec)
	}
	err := m.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opus},
		PayloadType:        111,
	}, pion.RTPCodecTypeAudio)
	for i, f := range fmtps {
		pt := pion.PayloadType(96 + 2*i)
		err = errors.Join(err, m.RegisterCodec(pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{MimeType: mime, ClockRate: 90000, SDPFmtpLine: f, RTCPFeedback: fb},
			PayloadType:        pt,
		}, pion.RTPCodecTypeVideo), m.RegisterCodec(pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", pt)},
			PayloadType:        pt + 1,
		}, pion.RTPCodecTypeVideo))
	}
	return err
}

// answer takes the client's offer and returns the peer's answer, with one
// track of the peer's own on every mid the client offered.
func (p *mediaPeer) answer(offer string, roles map[string]string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pc != nil {
		return "", errors.New("the peer takes one call")
	}
	pc, err := p.api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return "", err
	}
	p.pc, p.roles = pc, roles
	pc.OnICEConnectionStateChange(func(s pion.ICEConnectionState) { p.log("peer: ICE %s", s) })
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("reading the offer: %w", err)
	}
	echo := map[string]*pion.TrackLocalStaticRTP{}
	for _, tr := range pc.GetTransceivers() {
		local, err := p.addEcho(pc, tr)
		if err != nil {
			return "", err
		}
		echo[tr.Mid()] = local
	}
	pc.OnTrack(func(remote *pion.TrackRemote, recv *pion.RTPReceiver) {
		for _, tr := range pc.GetTransceivers() {
			if tr.Receiver() == recv && echo[tr.Mid()] != nil {
				go p.runEcho(remote, echo[tr.Mid()])
			}
		}
	})
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	done := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	<-done
	p.recordSent(pc)
	sdp := pc.LocalDescription().SDP
	if p.dtx {
		sdp = withDTX(sdp)
	}
	return sdp, nil
}

// withDTX asks the client for Opus DTX in the answer's Opus format line:
// usedtx is what the receiver wants, and pion's answer repeats the offer's
// parameters (which lack it) instead of its own.
func withDTX(sdp string) string {
	lines := strings.Split(sdp, "\r\n")
	opus := ""
	for _, l := range lines {
		if pt, ok := strings.CutPrefix(l, "a=rtpmap:"); ok && strings.Contains(strings.ToLower(l), "opus/48000") {
			opus = strings.Fields(pt)[0]
		}
	}
	for i, l := range lines {
		if opus != "" && strings.HasPrefix(l, "a=fmtp:"+opus+" ") && !strings.Contains(l, "usedtx=1") {
			lines[i] = l + ";usedtx=1"
		}
	}
	return strings.Join(lines, "\r\n")
}

// addEcho puts a track of the peer's own on the transceiver of one mid.
func (p *mediaPeer) addEcho(pc *pion.PeerConnection, tr *pion.RTPTransceiver) (*pion.TrackLocalStaticRTP, error) {
	mime := pion.MimeTypeOpus
	if tr.Kind() == pion.RTPCodecTypeVideo {
		mime = "video/" + p.codec
	}
	local, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: mime}, "peer-"+tr.Mid(), "peer")
	if err != nil {
		return nil, err
	}
	// AddTrack takes the first transceiver of the track's kind that does
	// not send yet: the offer's, in mid order, which is this one.
	s, err := pc.AddTrack(local)
	if err != nil {
		return nil, fmt.Errorf("adding the peer's track on mid %s: %w", tr.Mid(), err)
	}
	if tr.Sender() != s {
		return nil, fmt.Errorf("the peer's track for mid %s went to another transceiver", tr.Mid())
	}
	return local, nil
}

// recordSent notes each mid's SSRCs and reads the senders' RTCP, which the
// interceptors need to answer NACKs.
func (p *mediaPeer) recordSent(pc *pion.PeerConnection) {
	for _, tr := range pc.GetTransceivers() {
		s := tr.Sender()
		if s == nil {
			continue
		}
		enc := s.GetParameters().Encodings
		if len(enc) > 0 {
			p.sent[tr.Mid()] = SentTrack{Mid: tr.Mid(), Kind: tr.Kind().String(), SSRC: uint32(enc[0].SSRC), RTXSSRC: uint32(enc[0].RTX.SSRC)}
		}
		go func() {
			for {
				if _, _, err := s.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
}

// runEcho sends what arrives on remote back on local with the peer's own
// sequence numbers, so losses on the way in do not show on the way out.
// Only packets newer than the last one echoed go back: a retransmission
// the client sent to repair a gap would otherwise reappear late, with an
// old timestamp, as if the peer's own stream jittered by seconds.
func (p *mediaPeer) runEcho(remote *pion.TrackRemote, local *pion.TrackLocalStaticRTP) {
	var seq, last uint16
	first := true
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if pkt.PayloadType != uint8(remote.PayloadType()) {
			continue // an RTX or padding packet, not media
		}
		if !first && int16(pkt.SequenceNumber-last) <= 0 {
			continue
		}
		first, last = false, pkt.SequenceNumber
		out := rtp.Packet{Header: rtp.Header{Version: 2, Marker: pkt.Marker, SequenceNumber: seq,
			Timestamp: pkt.Timestamp}, Payload: pkt.Payload}
		seq++
		if err := local.WriteRTP(&out); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			p.log("peer: echo on %s: %v", local.ID(), err)
			return
		}
	}
}

// Sent lists the peer's own streams (one per mid that sends).
func (p *mediaPeer) Sent() []SentTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []SentTrack
	for _, s := range p.sent {
		out = append(out, s)
	}
	return out
}

// Roles is the client's mid -> role map from its offer.
func (p *mediaPeer) Roles() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.roles
}

// Dropped is how many RTP datagrams the impairment dropped each way.
func (p *mediaPeer) Dropped() (in, out uint64) {
	return p.conn.droppedIn.Load(), p.conn.droppedOut.Load()
}

func (p *mediaPeer) Close() error {
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	var err error
	if pc != nil {
		err = pc.Close()
	}
	return errors.Join(err, p.mux.Close(), p.conn.Close())
}
