// Package stunrtt measures a media path's round-trip time from the ICE
// connectivity and consent-freshness checks that run on it for the whole call
// (RFC 8445 §7.2, RFC 7675): a STUN Binding request this host sends and the
// peer's success (0x0101) or error (0x0111) response, matched by transaction
// ID within one flow. Samples are smoothed as RFC 6298 smooths TCP's
// (SRTT with alpha 1/8, RTTVAR with beta 1/4), so one slow check moves the
// estimate by an eighth and the estimate follows a path that changes.
//
// Input that cannot give a true sample gives none and is counted: headers that
// are not STUN, responses without a request, duplicated responses, responses
// after the timeout, and responses to a request sent more than once under the
// same transaction ID (a retransmission, or a reused ID: which send the
// response answers is unknown, Karn's rule).
package stunrtt

import (
	"errors"
	"time"
)

// Direction of a packet as seen from this host.
type Direction uint8

// Directions.
const (
	Egress  Direction = iota // sent by this host
	Ingress                  // received by this host
)

// STUN message types this package reads (RFC 8489 §5, §18.2: Binding).
const (
	typeBindingRequest = 0x0001
	typeBindingSuccess = 0x0101
	typeBindingError   = 0x0111
	magicCookie        = 0x2112A442
	headerLen          = 20
)

// Defaults.
const (
	// DefaultTimeout is how long a request waits for its response. ICE
	// retransmits an unanswered check after 500 ms and more; a response after
	// 5 s says nothing about a path good enough to carry media.
	DefaultTimeout = 5 * time.Second
	// maxPending bounds the unanswered requests kept per flow; ICE paces
	// checks at one per 50 ms at most, so 64 covers a timeout's worth even
	// for an agent checking many pairs on one flow.
	maxPending = 64
	// maxFinished bounds the answered or expired IDs remembered per flow to
	// recognise duplicates, late responses and reused IDs.
	maxFinished = 64
)

// ErrNotSTUN is returned for bytes that are not a STUN header.
var ErrNotSTUN = errors.New("not a STUN header")

// errInnerNotSTUN marks TURN framing whose payload is not STUN: relayed
// media, which is counted, not an error.
var errInnerNotSTUN = errors.New("TURN payload is not STUN")

// Estimate is one flow's round trip.
type Estimate struct {
	Smoothed time.Duration // RFC 6298 SRTT: the record's rtt_ms
	Var      time.Duration // RFC 6298 RTTVAR
	Latest   time.Duration
	Min      time.Duration
	Samples  uint64
}

// Counters count every packet that did not give a sample, by reason.
type Counters struct {
	Samples        uint64 // requests matched to responses: RTT samples
	Relayed        uint64 // checks read inside TURN framing (ChannelData, indications)
	RelayedMedia   uint64 // TURN framing around something else (relayed RTP): no check
	ErrorResponses uint64 // of Samples, answered with an error response
	NotSTUN        uint64 // bytes without a STUN header (length, cookie, class bits)
	OtherMethods   uint64 // STUN that is not a Binding request or response
	PeerRequests   uint64 // Binding requests from the peer (their RTT, not ours)
	Unmatched      uint64 // responses to no request seen
	Duplicates     uint64 // second responses to an answered request
	Late           uint64 // responses after the timeout
	Retransmitted  uint64 // responses to a request sent twice under one ID
	ReusedIDs      uint64 // requests reusing an ID already answered or expired
	Expired        uint64 // requests that got no response within the timeout
	Overflow       uint64 // requests dropped past the per-flow bound
	BadTime        uint64 // responses stamped before their request
}
