// Package observe holds what the two sources of packets hand to the
// analysis pipeline: the kernel (live, `teamsflow run` and `capture`) and a
// capture file (`analyze`). Both produce the same observations, so the
// labels, names and calls derived from them are the same live and offline.
//
// Counters are cumulative: each Observe call carries a flow's totals so far,
// and the pipeline takes the differences between calls for rates.
package observe

import (
	"net/netip"
	"time"
)

// Transport numbers, as in the IP header.
const (
	TCP uint8 = 6
	UDP uint8 = 17
)

// FlowID names a flow from its local end. Netns keeps equal tuples in
// different network namespaces apart (0 in capture files).
type FlowID struct {
	Netns     uint64
	Transport uint8 // TCP or UDP
	Local     netip.AddrPort
	Peer      netip.AddrPort
}

// Process is one process of an owner's ancestry.
type Process struct {
	PID     uint32
	Comm    string
	Exe     string
	Cmdline []string // argv; may hold secrets: never exported unless enabled
}

// Owner is the process that owns a flow's socket, with its ancestors
// (parent first) so that a browser's network-service child or an Electron
// helper can be tied to the app that started it.
type Owner struct {
	Process
	UID       uint32
	PPID      uint32
	Ancestors []Process // parent, grandparent, ... (bounded)
	// Thread is the name of the thread that opened the socket, where the
	// kernel saw it (Chromium opens media sockets on Chrome_ChildIOT);
	// Comm names the process. "" for backfilled owners.
	Thread string
	// Source says how the owner was learned: "socket" (the kernel saw the
	// socket made) or "backfill" (/proc, for sockets older than the agent).
	Source string
}

// Counters are one direction of a flow.
type Counters struct {
	Packets uint64
	Bytes   uint64 // IP bytes, headers included
	DSCP    uint8  // last seen
	First   time.Time
	Last    time.Time
}

// Protocols is a set of protocols seen in a flow's payloads (RFC 7983
// first-byte demultiplexing for UDP).
type Protocols uint16

const (
	ProtoSTUN        Protocols = 1 << iota // STUN with the RFC 5389 magic cookie
	ProtoMSTURN                            // Microsoft's TURN variant (RFC 3489 framing, no cookie)
	ProtoChannelData                       // TURN ChannelData (first two bits 01)
	ProtoDTLS                              // DTLS record (content type 20-63)
	ProtoRTP                               // RTP version 2
	ProtoRTCP                              // RTCP (payload type 192-223)
	ProtoTLS                               // TLS handshake record from the local end
	ProtoDNS                               // DNS response to the local end (UDP source port 53)
	ProtoTURN                              // a STUN message of a TURN method (allocate, refresh, send, ...)
)

// Flow is one TCP or UDP flow with its totals so far.
type Flow struct {
	ID     FlowID
	Owner  *Owner // nil when unknown (always in capture files)
	Sent   Counters
	Recv   Counters
	Protos Protocols
	Closed bool // its socket was closed (live only)
	// TCPFlags are the flags seen in either direction, as the TCP
	// header's flags byte (FIN 0x01 ... CWR 0x80).
	TCPFlags uint8
	// Interface names the interface the flow was seen on, Cookie is its
	// socket's cookie (the kernel's SO_COOKIE); both live only.
	Interface string
	Cookie    uint64
}

// RTPStream is one RTP source (SSRC) in one direction of a flow: a browser
// BUNDLEs audio, video and screen share into one flow, so a media stream is
// (flow, direction, SSRC), not the flow.
type RTPStream struct {
	Flow FlowID
	Sent bool // true: sent by the local end; false: received
	SSRC uint32
	// PayloadType is the stream's main payload type (most packets; comfort
	// noise does not count), LastPayloadType the last packet's.
	PayloadType     uint8
	LastPayloadType uint8
	Relayed         bool // carried in TURN ChannelData
	Packets         uint64
	// PayloadBytes and PayloadSquares are the sum of the RTP payload sizes
	// (after the 12-byte header, CSRCs and extension) and of their squares,
	// for the size mean and spread.
	PayloadBytes   uint64
	PayloadSquares uint64
	Markers        uint64 // packets with the marker bit: frames, for video
	// RTP structure: Frames counts packets that advanced the highest
	// timestamp (a frame is the packets that share one), TSAdvance the
	// timestamp's advance over the life (with the wall time, the clock:
	// 90 kHz video, 8-48 kHz audio). PadOnly counts packets without
	// payload once padding is left out (bandwidth probes), PadBytes the
	// padding, which PayloadBytes leaves out. SeqSteps counts packets a
	// little ahead of the highest sequence number: a real sender's steps.
	Frames    uint64
	TSAdvance uint64
	PadOnly   uint64
	PadBytes  uint64
	SeqSteps  uint64
	MaxTS     uint32 // highest RTP timestamp: a repair stream's stay near its media's
	First     time.Time
	Last      time.Time
	// Receive-side quality per RFC 3550 (also kept for sent streams, where
	// it describes what left the host).
	// Expected and Lost follow RFC 3550 A.1 (probation, MAX_DROPOUT,
	// MAX_MISORDER, resync; see RTPOf): Lost is never negative nor more
	// than Expected.
	Expected uint64 // extended highest sequence - base sequence + 1
	Lost     int64  // Expected - packets A.1 counted, at least 0
	// Duplicates counts packets whose sequence number was already seen
	// among the 64 highest; they are left out of Lost's arithmetic.
	Duplicates uint64
	Jitter     time.Duration // interarrival jitter, RFC 3550 A.8
}

// PayloadKind says what a payload sample holds.
type PayloadKind uint8

const (
	PayloadDNS         PayloadKind = 1 // a DNS response (UDP payload)
	PayloadClientHello PayloadKind = 2 // the start of a TLS ClientHello (TCP payload)
	// PayloadSTUN is a STUN Binding message's header (ICE connectivity and
	// consent checks), bare or inside TURN framing: matched request to
	// response by transaction ID, it gives the media path's round trip.
	PayloadSTUN PayloadKind = 3
)

// Payload is a bounded sample of a packet's payload that names a peer: a
// DNS answer or a TLS ClientHello prefix. Kernel samples are at most a few
// hundred bytes and rate limited; drops are counted, not silent.
type Payload struct {
	Time   time.Time
	Flow   FlowID
	Kind   PayloadKind
	TCPSeq uint32 // sequence number of the first byte (TCP), to join segments
	Sent   bool   // the local end sent it (STUN samples go both ways)
	Data   []byte
}

// Snapshot is everything one poll (or one second of a capture file) saw.
type Snapshot struct {
	Time  time.Time
	Flows []Flow
	// OnlyChanged: Flows holds only the flows whose counts, owner or
	// closed state moved since the previous snapshot (the agent); a
	// running flow left out had no traffic. Otherwise every flow is in.
	OnlyChanged bool
	RTP         []RTPStream
	Payloads    []Payload // new since the previous snapshot
	Gone        []FlowID  // flows whose state was dropped (idle, closed)
}
