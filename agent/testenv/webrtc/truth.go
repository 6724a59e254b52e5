package webrtc

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Stat is one entry of a getStats() report, with the fields the truth
// and the health comparison use (W3C webrtc-stats names).
type Stat struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Kind     string `json:"kind"`
	Mid      string `json:"mid"`
	SSRC     uint32 `json:"ssrc"`
	RTXSSRC  uint32 `json:"rtxSsrc"`
	CodecID  string `json:"codecId"`
	MimeType string `json:"mimeType"`
	Track    string `json:"trackIdentifier"`

	PacketsSent          uint64  `json:"packetsSent"`
	PacketsReceived      uint64  `json:"packetsReceived"`
	PacketsLost          int64   `json:"packetsLost"`
	RetransmittedSent    uint64  `json:"retransmittedPacketsSent"`
	RetransmittedRecv    uint64  `json:"retransmittedPacketsReceived"`
	NackCount            uint64  `json:"nackCount"`
	Jitter               float64 `json:"jitter"`        // seconds
	RoundTripTime        float64 `json:"roundTripTime"` // seconds, remote-inbound-rtp
	CurrentRoundTripTime float64 `json:"currentRoundTripTime"`
	TotalRoundTripTime   float64 `json:"totalRoundTripTime"` // seconds, candidate-pair: the sum over responsesReceived
	ResponsesReceived    uint64  `json:"responsesReceived"`
	FramesPerSecond      float64 `json:"framesPerSecond"`

	SelectedPair  string `json:"selectedCandidatePairId"`
	Nominated     bool   `json:"nominated"`
	State         string `json:"state"`
	LocalCand     string `json:"localCandidateId"`
	RemoteCand    string `json:"remoteCandidateId"`
	CandidateType string `json:"candidateType"`
	Address       string `json:"address"`
	Port          int    `json:"port"`
}

// Directions of a stream, seen from the client (Chromium).
const (
	Sent = "sent"
	Recv = "recv"
)

// Roles of an SSRC: the media itself or its retransmissions.
const (
	RoleMedia = "media"
	RoleRTX   = "rtx"
)

// Stream is one SSRC of the call as the client's own statistics tell it.
type Stream struct {
	SSRC      uint32 `json:"ssrc"`
	Direction string `json:"direction"`          // sent or recv, from the client
	Label     string `json:"label"`              // audio, video, screenshare (the mid's role)
	Role      string `json:"role"`               // media or rtx
	Protects  uint32 `json:"protects,omitempty"` // an rtx stream's media SSRC
	Kind      string `json:"kind"`               // audio or video (getStats)
	Mid       string `json:"mid"`
	Codec     string `json:"codec,omitempty"`
	Packets   uint64 `json:"packets"`
	// Receive-side health: Chromium's inbound-rtp for recv streams, the
	// peer's receiver reports (remote-inbound-rtp) for sent ones.
	JitterMs float64 `json:"jitter_ms"`
	Lost     int64   `json:"lost"`
	RTTMs    float64 `json:"rtt_ms,omitempty"`
}

// Truth is the ground truth of one call, from the page's last report.
type Truth struct {
	Scenario  string            `json:"scenario"`
	Roles     map[string]string `json:"roles"`
	Streams   []Stream          `json:"streams"`
	PairRTTMs float64           `json:"pair_rtt_ms"` // candidate-pair currentRoundTripTime
	// PairMeanRTTMs is the mean round trip of the pair's checks
	// (totalRoundTripTime / responsesReceived): currentRoundTripTime is
	// the last check's alone, in whole milliseconds.
	PairMeanRTTMs float64     `json:"pair_mean_rtt_ms"`
	PairChecks    uint64      `json:"pair_checks"` // responsesReceived
	PairTypes     string      `json:"pair_types"`  // local -> remote candidate types
	Reports       int         `json:"reports"`
	Events        []Event     `json:"events"`
	PeerSent      []SentTrack `json:"peer_sent"`
	DroppedIn     uint64      `json:"dropped_in"`   // RTP the peer's impairment dropped from the client
	DroppedOut    uint64      `json:"dropped_out"`  // and towards it
	Started       time.Time   `json:"started"`      // the page's "started" event
	Pcap          string      `json:"pcap"`         // the client veth during the call
	PcapPackets   int         `json:"pcap_packets"` // packets in it
	SocketDrops   uint64      `json:"socket_drops"` // datagrams the client's UDP sockets dropped (receive buffer full)
}

// buildTruth reads the streams out of a getStats() report. roles maps the
// client's mids to labels; the peer's RTX SSRCs come from the peer, since
// Chromium's inbound-rtp may not name them.
func buildTruth(report []Stat, roles map[string]string, peer []SentTrack) ([]Stream, error) {
	byID := map[string]Stat{}
	for _, s := range report {
		byID[s.ID] = s
	}
	remote := map[uint32]Stat{}
	for _, s := range report {
		if s.Type == "remote-inbound-rtp" {
			remote[s.SSRC] = s
		}
	}
	var out []Stream
	for _, s := range report {
		if s.Type != "outbound-rtp" && s.Type != "inbound-rtp" {
			continue
		}
		label, ok := roles[s.Mid]
		if !ok {
			return nil, fmt.Errorf("%s ssrc %d on mid %q, which the page gave no role", s.Type, s.SSRC, s.Mid)
		}
		st := Stream{SSRC: s.SSRC, Label: label, Role: RoleMedia, Kind: s.Kind, Mid: s.Mid, Codec: byID[s.CodecID].MimeType}
		if s.Type == "outbound-rtp" {
			st.Direction, st.Packets = Sent, s.PacketsSent
			if r, ok := remote[s.SSRC]; ok {
				st.JitterMs, st.Lost, st.RTTMs = r.Jitter*1000, r.PacketsLost, r.RoundTripTime*1000
			}
		} else {
			st.Direction, st.Packets = Recv, s.PacketsReceived
			st.JitterMs, st.Lost = s.Jitter*1000, s.PacketsLost
		}
		out = append(out, st)
		if rtx := s.RTXSSRC; rtx != 0 {
			out = append(out, Stream{SSRC: rtx, Direction: st.Direction, Label: label, Role: RoleRTX, Protects: s.SSRC,
				Kind: s.Kind, Mid: s.Mid, Packets: s.RetransmittedSent + s.RetransmittedRecv})
		}
	}
	for _, p := range peer {
		if p.RTXSSRC != 0 && !hasSSRC(out, p.RTXSSRC) && hasSSRC(out, p.SSRC) {
			out = append(out, Stream{SSRC: p.RTXSSRC, Direction: Recv, Label: roles[p.Mid], Role: RoleRTX, Protects: p.SSRC,
				Kind: p.Kind, Mid: p.Mid})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Direction != out[j].Direction {
			return out[i].Direction > out[j].Direction
		}
		return out[i].Mid+out[i].Role < out[j].Mid+out[j].Role
	})
	return out, nil
}

func hasSSRC(ss []Stream, ssrc uint32) bool {
	for _, s := range ss {
		if s.SSRC == ssrc {
			return true
		}
	}
	return false
}

// selectedPairMean is the mean round trip of the transport's candidate
// pair's checks and how many responses it rests on.
func selectedPairMean(report []Stat) (meanMs float64, responses uint64) {
	byID := map[string]Stat{}
	for _, s := range report {
		byID[s.ID] = s
	}
	for _, s := range report {
		if p, ok := byID[s.SelectedPair]; ok && s.Type == "transport" && p.ResponsesReceived > 0 {
			return 1000 * p.TotalRoundTripTime / float64(p.ResponsesReceived), p.ResponsesReceived
		}
	}
	return 0, 0
}

// selectedPair is the transport's candidate pair: its RTT and types.
func selectedPair(report []Stat) (rttMs float64, types string) {
	byID := map[string]Stat{}
	for _, s := range report {
		byID[s.ID] = s
	}
	for _, s := range report {
		if s.Type == "transport" && s.SelectedPair != "" {
			p := byID[s.SelectedPair]
			return p.CurrentRoundTripTime * 1000, byID[p.LocalCand].CandidateType + " -> " + byID[p.RemoteCand].CandidateType
		}
	}
	return 0, ""
}

// Save writes the truth as indented JSON.
func (t *Truth) Save(path string) error { return saveJSON(path, t) }

func saveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Find is the truth's stream of an SSRC.
func (t *Truth) Find(ssrc uint32) (Stream, bool) {
	for _, s := range t.Streams {
		if s.SSRC == ssrc {
			return s, true
		}
	}
	return Stream{}, false
}
