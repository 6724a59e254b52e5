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

	Interface    string `json:"interface,omitempty"`
	Netns        uint64 `json:"netns,omitempty"` // network namespace cookie
	SocketCookie uint64 `json:"socket_cookie,omitempty"`
	Closed       bool   `json:"closed,omitempty"` // the socket was closed
}

// TimeFormat is RFC 3339 with nanoseconds, as the records use.
const TimeFormat = time.RFC3339Nano
