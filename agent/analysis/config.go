// Package analysis turns observations (agent/observe) into stream records
// (agent/record): it learns names from DNS answers and TLS ClientHellos,
// decides which streams are Teams, labels each stream, groups them into
// calls and ends streams that closed or went idle. The kernel and capture
// files feed it the same way, so live and offline answers agree.
package analysis

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/health/stunrtt"
	"github.com/teamsflow/teamsflow/agent/names"
)

// Config tunes a Pipeline. Zero values take the defaults below.
type Config struct {
	QoS         classify.QoSPorts // client source port ranges; default Microsoft's 50000-50059
	Names       *names.Data       // Teams ranges and names; default built-in (names.LoadData overrides)
	IdleTimeout time.Duration     // a stream without packets this long ends "idle"; default 60 s
	Linger      time.Duration     // ended streams stay listed this long; default 30 s
	CallGap     time.Duration     // media idle this long starts a new call; default calls.DefaultGap
	// Interval is the time one snapshot covers (the agent's poll, a capture
	// file's second); default 1 s. A longer wait between snapshots is a
	// quiet stretch that none saw (capture files skip them): the packets
	// of the next snapshot came in its last Interval.
	Interval time.Duration

	MaxStreams      int // flow and RTP streams kept; default 20000
	MaxNames        int // DNS addresses (and aliases) remembered; default 10000
	MaxHelloBuffers int // TCP connections whose ClientHello is being joined; default 256
	MaxHelloBytes   int // bytes kept per ClientHello; default 8192 (post-quantum hellos exceed 1500)

	// Paths gives TCP round trips and interface kinds (live only); nil
	// leaves them out of the records.
	Paths Paths

	Log zerolog.Logger // default: no logs
}

// Defaults.
const (
	DefaultIdleTimeout     = 60 * time.Second
	DefaultLinger          = 30 * time.Second
	DefaultMaxStreams      = 20000
	DefaultMaxNames        = 10000
	DefaultMaxHelloBuffers = 256
	DefaultMaxHelloBytes   = 8192
)

func (c Config) withDefaults() Config {
	if c.QoS == (classify.QoSPorts{}) {
		c.QoS = classify.DefaultQoSPorts()
	}
	if c.Names == nil {
		c.Names = names.Default()
	}
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.Linger, DefaultLinger)
	setDefault(&c.Interval, time.Second)
	setDefault(&c.MaxStreams, DefaultMaxStreams)
	setDefault(&c.MaxNames, DefaultMaxNames)
	setDefault(&c.MaxHelloBuffers, DefaultMaxHelloBuffers)
	setDefault(&c.MaxHelloBytes, DefaultMaxHelloBytes)
	return c
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Counters say when a bound was hit or input was bad. They only grow.
type Counters struct {
	StreamsDropped      uint64 // new streams not tracked: MaxStreams reached
	NamesDropped        uint64 // DNS answers not remembered: MaxNames reached
	HelloBuffersDropped uint64 // ClientHellos not joined: MaxHelloBuffers reached
	DNSErrors           uint64 // DNS samples that did not parse
	HelloErrors         uint64 // ClientHellos without a usable server name
	// RTPRejected counts would-be RTP sources that never became streams:
	// bytes that start like RTP without a sender's sequence steps or a
	// media clock (encrypted non-RTP traffic, random payloads).
	RTPRejected uint64
	// LossOutOfRange counts received RTP streams whose counters put loss
	// below 0 (beyond duplicates) or above the packets expected; records
	// show it clamped to 0-100%.
	LossOutOfRange uint64
	// HealthInputRejected counts streams with a health figure no
	// measurement can give (NaN, negative), left out of the verdict.
	HealthInputRejected uint64
	// STUN counts the STUN samples that gave no round trip, by reason
	// (responses without a request, duplicated, late, reused IDs, ...).
	STUN stunrtt.Counters
}
