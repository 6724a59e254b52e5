// Package record defines the stream record that `teamsflow capture`,
// `teamsflow streams` and `teamsflow analyze` print and the exporter
// turns into spans. The JSON names are a contract: tools and tests rely on
// them (see the README's "Records" section).
package record

import "time"

// Record is one stream: a TCP or UDP flow seen from its local end, with the
// process that owns its socket and its traffic in each direction.
type Record struct {
	Kind      string `json:"kind"`      // "stream"
	Transport string `json:"transport"` // "udp" | "tcp"
	Family    string `json:"family"`    // "ipv4" | "ipv6"
	LocalAddr string `json:"local_addr"`
	LocalPort uint16 `json:"local_port"`
	PeerAddr  string `json:"peer_addr"`
	PeerPort  uint16 `json:"peer_port"`

	// Owner; absent when unknown (and always in analyze).
	PID         uint32  `json:"pid,omitempty"`
	Comm        string  `json:"comm,omitempty"`
	Thread      string  `json:"thread,omitempty"` // the thread that opened the socket; Comm names the process
	Exe         string  `json:"exe,omitempty"`
	UID         *uint32 `json:"uid,omitempty"`
	PPID        uint32  `json:"ppid,omitempty"`
	OwnerSource string  `json:"owner_source,omitempty"` // "socket", "backfill"

	DSCPSent    uint8     `json:"dscp"`
	DSCPRecv    uint8     `json:"dscp_recv"`
	TCPFlags    string    `json:"tcp_flags,omitempty"`
	BytesSent   uint64    `json:"bytes_sent"`
	BytesRecv   uint64    `json:"bytes_recv"`
	PacketsSent uint64    `json:"packets_sent"`
	PacketsRecv uint64    `json:"packets_recv"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`

	// Analysis: which app, what the stream is, and why (agent/classify).
	App         string   `json:"app"`                    // "teams" | ""
	AppEvidence []string `json:"app_evidence,omitempty"` // "process", "dest_range", "dns", "sni", "relay_port", "call"
	ServerName  string   `json:"server_name,omitempty"`  // peer name from DNS or TLS SNI
	Label       string   `json:"label"`                  // signalling, stun, turn, dtls, audio, video, screenshare, rtcp, dns, other
	LabelReason string   `json:"label_reason"`           // qos_port, rtp_pt, relay_port, rate, protocol, none
	Confidence  float64  `json:"confidence"`             // 0..1
	// LabelChanges counts the times the label changed after it had
	// settled (first guesses of a new stream do not count).
	LabelChanges uint32 `json:"label_changes"`

	// RTP sub-stream (a BUNDLEd flow yields one record per SSRC).
	SSRC           *uint32  `json:"ssrc,omitempty"`
	RTPPayloadType *uint8   `json:"rtp_payload_type,omitempty"`
	RTPLost        *int64   `json:"rtp_lost,omitempty"`      // receive side, RFC 3550 cumulative
	RTPLossPct     *float64 `json:"rtp_loss_pct,omitempty"`  // lost / expected, percent
	RTPJitterMs    *float64 `json:"rtp_jitter_ms,omitempty"` // receive side, RFC 3550
	Relayed        bool     `json:"relayed,omitempty"`       // media inside TURN ChannelData
	// RTPRole is media, rtx (RFC 4588 retransmissions and padding probes)
	// or fec (forward error correction on its own SSRC); a repair stream
	// shows the label of the stream it protects, whose SSRC is RTPProtects.
	RTPRole     string  `json:"rtp_role,omitempty"`
	RTPProtects *uint32 `json:"rtp_protects,omitempty"`

	// Health (agent/health): measured figures only, absent when not
	// measured here (a sent stream's loss and jitter are the far end's).
	RTTMs          *float64 `json:"rtt_ms,omitempty"`          // STUN checks (UDP media) or the kernel's smoothed RTT (TCP)
	RTPDuplicates  *uint64  `json:"rtp_duplicates,omitempty"`  // receive side, packets seen twice
	Codec          string   `json:"codec,omitempty"`           // from the payload type where unambiguous, else dynamic:NN
	FramesPerSec   *float64 `json:"frames_per_sec,omitempty"`  // video and screen share
	Quality        string   `json:"quality,omitempty"`         // good | poor | unknown (Microsoft CQD thresholds)
	QualityReasons []string `json:"quality_reasons,omitempty"` // e.g. "loss 12.0% > 10%"
	QualityCovers  string   `json:"quality_covers,omitempty"`  // which direction the verdict covers
	MOS            *float64 `json:"mos,omitempty"`             // network MOS estimate, audio (ITU-T G.107)
	InterfaceKind  string   `json:"interface_kind,omitempty"`  // wired, wifi, vpn, loopback, virtual
	DSCPExpected   *uint8   `json:"dscp_expected,omitempty"`   // what Teams' QoS policy marks this label with
	// PathWarning says what is wrong with the path whatever the figures:
	// Teams media through a VPN tunnel (Microsoft asks for split tunnelling).
	PathWarning string `json:"path_warning,omitempty"`

	// Current rates over the last interval, bits per second.
	RateSentBps float64 `json:"rate_sent_bps"`
	RateRecvBps float64 `json:"rate_recv_bps"`

	CallID    string `json:"call_id,omitempty"`    // shared by the streams of one call
	StreamID  string `json:"stream_id,omitempty"`  // stable for the stream's life
	EndReason string `json:"end_reason,omitempty"` // closed, idle, agent_stop; "" while running

	Interface    string `json:"interface,omitempty"`
	Netns        uint64 `json:"netns,omitempty"` // network namespace cookie
	SocketCookie uint64 `json:"socket_cookie,omitempty"`
	Closed       bool   `json:"closed,omitempty"` // the socket was closed
}

// TimeFormat is RFC 3339 with nanoseconds, as the records use.
const TimeFormat = time.RFC3339Nano
