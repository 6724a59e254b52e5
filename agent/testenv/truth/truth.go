// Package truth is the simulator's ground truth: what it actually sent, per
// stream, so that tests can hold teamsflow's output against it. Field
// names follow the stream records of DESIGN.md where they mean the same.
package truth

import (
	"encoding/json"
	"fmt"
	"github.com/teamsflow/teamsflow/agent/record"
	"os"
	"time"
)

// Labels used in the ground truth: teamsflow's own (agent/record).
const (
	LabelAudio       = record.LabelAudio
	LabelVideo       = record.LabelVideo
	LabelScreenshare = record.LabelScreenshare
	LabelSTUN        = record.LabelSTUN
	LabelTURN        = record.LabelTURN
	LabelSignalling  = record.LabelSignalling
	LabelDNS         = record.LabelDNS
	LabelRTCP        = record.LabelRTCP
)

// File is the whole ground-truth document.
type File struct {
	Scenario    string    `json:"scenario"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended"`
	ClientNetns string    `json:"client_netns"`
	CloudNetns  string    `json:"cloud_netns"`
	ClientIface string    `json:"client_iface"`
	Calls       []Call    `json:"calls"`
	Streams     []Stream  `json:"streams"`
}

// Call describes one call and the processes that played it.
type Call struct {
	CallID string `json:"call_id"`
	Client string `json:"client"`
	Mode   string `json:"mode"`
	// App is "teams" for Teams calls and "" for the negative.
	App string `json:"app"`
	// PID/Comm/Cmdline/Exe are of the process that owns the sockets;
	// Parent* of its parent for Electron and browser clients.
	PID           int      `json:"pid"`
	Comm          string   `json:"comm"`
	Exe           string   `json:"exe"`
	Cmdline       []string `json:"cmdline"`
	ParentPID     int      `json:"parent_pid,omitempty"`
	ParentComm    string   `json:"parent_comm,omitempty"`
	ParentCmdline []string `json:"parent_cmdline,omitempty"`
	Error         string   `json:"error,omitempty"`
}

// Stream is one flow (or, on a shared 5-tuple, one SSRC of it).
type Stream struct {
	CallID      string `json:"call_id"`
	PID         int    `json:"pid"`
	Comm        string `json:"comm"`
	Client      string `json:"client"`
	Mode        string `json:"mode"`
	App         string `json:"app"`
	Transport   string `json:"transport"` // "udp" | "tcp"
	Family      string `json:"family"`    // "ipv4" | "ipv6"
	LocalAddr   string `json:"local_addr"`
	LocalPort   int    `json:"local_port"`
	PeerAddr    string `json:"peer_addr"`
	PeerPort    int    `json:"peer_port"`
	ServerName  string `json:"server_name,omitempty"`
	Label       string `json:"label"`
	SSRC        uint32 `json:"ssrc,omitempty"`
	PayloadType *int   `json:"rtp_payload_type,omitempty"`
	Codec       string `json:"codec,omitempty"`
	DSCP        int    `json:"dscp"`
	// Injected impairments (sender side).
	InjectedLoss     float64 `json:"injected_loss"`
	InjectedJitterMs float64 `json:"injected_jitter_ms"`
	PacketsSkipped   int     `json:"packets_skipped"`
	PacketsSent      int     `json:"packets_sent"`
	BytesSent        int     `json:"bytes_sent"`
	FramesSent       int     `json:"frames_sent,omitempty"`
	PacketsRecv      int     `json:"packets_recv"`
	// Relay mode: the media's real far end behind the TURN relay.
	Relayed       bool   `json:"relayed,omitempty"`
	RelayPeerAddr string `json:"relay_peer_addr,omitempty"`
	RelayPeerPort int    `json:"relay_peer_port,omitempty"`
	// PeerDecrypted counts packets the far end authenticated and
	// decrypted with the stream's SRTP keys.
	PeerDecrypted int `json:"peer_decrypted,omitempty"`
	// Shape of the stream as configured, for rate checks.
	FPS         float64   `json:"fps,omitempty"`
	PacketRate  float64   `json:"packet_rate,omitempty"`
	BitrateKbps int       `json:"bitrate_kbps,omitempty"`
	SizeMin     int       `json:"size_min,omitempty"`
	SizeMax     int       `json:"size_max,omitempty"`
	MaxPacket   int       `json:"max_packet,omitempty"`
	StartedAt   time.Time `json:"first_sent,omitempty"`
	EndedAt     time.Time `json:"last_sent,omitempty"`
	// Active lists the spans in which an SSRC sent on this 5-tuple, one
	// per on-period or pause (first to last packet), in order; a gap
	// between two spans sent nothing (camera off, muted, restart).
	Active []Interval `json:"active,omitempty"`
}

// What a stream sent in an interval: its regular media, or a pause's
// comfort noise (RFC 3389), Opus DTX frames or static share frames.
const (
	SendingMedia  = "media"
	SendingCN     = "cn"
	SendingDTX    = "dtx"
	SendingStatic = "static"
)

// Interval is a span of packets of one kind from one SSRC.
type Interval struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Sending string    `json:"sending"`
	Packets int       `json:"packets"`
}

// MediaActive lists the intervals in which the stream sent its regular
// media, the ones whose label the stream's kind decides.
func (s *Stream) MediaActive() []Interval {
	var out []Interval
	for _, iv := range s.Active {
		if iv.Sending == SendingMedia {
			out = append(out, iv)
		}
	}
	return out
}

// Write stores the file as indented JSON.
func Write(path string, f *File) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding ground truth: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing ground truth: %w", err)
	}
	return nil
}

// Read loads a ground-truth file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ground truth: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decoding ground truth %s: %w", path, err)
	}
	return &f, nil
}
