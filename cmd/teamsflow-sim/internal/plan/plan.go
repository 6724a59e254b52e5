// Package plan is the contract between the controller (`play`) and the
// simulated client process: everything the client needs to play its call,
// decided up front by the controller (ports, SSRCs, keys), written as JSON
// and passed by path, plus the result the client hands back.
package plan

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// Call is one client process's script.
type Call struct {
	ID       string        `json:"id"`
	Client   string        `json:"client"`
	Mode     string        `json:"mode"`
	App      string        `json:"app"`
	WebApp   string        `json:"web_app,omitempty"`
	Start    time.Duration `json:"start"`
	Duration time.Duration `json:"duration"`
	Seed     uint64        `json:"seed"`
	ClientIP string        `json:"client_ip"`

	DNSServer string        `json:"dns_server"`
	Lookups   []string      `json:"lookups"`
	Requests  []Request     `json:"requests"`
	Keepalive *Request      `json:"keepalive,omitempty"`
	KeepEvery time.Duration `json:"keep_every"`
	CAPEM     string        `json:"ca_pem"`

	// DirectAfter moves relayed media to the direct path this long after
	// media starts (0: never).
	DirectAfter time.Duration `json:"direct_after,omitempty"`
	Relay       *Relay        `json:"relay,omitempty"`
	Transports  []Transport   `json:"transports"`
}

// Request is one HTTPS request of the signalling phase.
type Request struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// Relay is the TURN server used to gather candidates and, in relay mode,
// to carry media.
type Relay struct {
	IP       string `json:"ip"`
	Port     int    `json:"port"` // where candidates are gathered
	Username string `json:"username"`
	Password string `json:"password"`
	Realm    string `json:"realm"`
}

// Transport is one UDP socket and where its media goes.
type Transport struct {
	// Ports to try in order (a QoS range), or empty for an ephemeral port.
	Ports []int `json:"ports,omitempty"`
	DSCP  int   `json:"dscp"`
	// Peer is the media's far end ("ip:port"); in relay mode the media
	// reaches it through the relay at RelayPort.
	Peer      string `json:"peer"`
	RelayPort int    `json:"relay_port,omitempty"`
	// Candidates receive ICE connectivity checks before media starts;
	// only Peer answers.
	Candidates []string `json:"candidates,omitempty"`
	ICE        ICE      `json:"ice"`
	Keys       Keys     `json:"keys"`
	Streams    []Stream `json:"streams"`
}

// ICE holds the short-term credentials of both sides.
type ICE struct {
	LocalUfrag  string `json:"local_ufrag"`
	LocalPwd    string `json:"local_pwd"`
	RemoteUfrag string `json:"remote_ufrag"`
	RemotePwd   string `json:"remote_pwd"`
}

// Keys are SRTP master keys and salts (AES_CM_128_HMAC_SHA1_80) for each
// direction, as DTLS-SRTP or SDES would have agreed them.
type Keys struct {
	TxKey  []byte `json:"tx_key"`
	TxSalt []byte `json:"tx_salt"`
	RxKey  []byte `json:"rx_key"`
	RxSalt []byte `json:"rx_salt"`
}

// Stream is a scenario stream with its identifiers chosen.
type Stream struct {
	scenario.Stream `json:"spec"`
	SSRC            uint32 `json:"ssrc"`
	PeerSSRC        uint32 `json:"peer_ssrc"`
	PayloadType     int    `json:"payload_type"`
	Codec           string `json:"codec"`
	Seed            uint64 `json:"seed"`
}

// Result is what the client process reports back.
type Result struct {
	PID     int            `json:"pid"`
	Comm    string         `json:"comm"`
	Exe     string         `json:"exe"`
	Cmdline []string       `json:"cmdline"`
	PPID    int            `json:"ppid"`
	Streams []truth.Stream `json:"streams"`
	Error   string         `json:"error,omitempty"`
}

// WriteJSON stores v at path.
func WriteJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ReadJSON loads v from path.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}
