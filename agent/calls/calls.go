// Package calls groups the streams of one Teams call under a call id: the
// media streams of one owner (a process, or a host in a capture file) that
// overlap in time, and the owner's other Teams streams (signalling, ICE,
// TURN) active during the call. When an owner's media has been idle for
// longer than the gap, its next media stream starts a new call.
package calls

import (
	"fmt"
	"hash/fnv"
	"time"
)

// DefaultGap is how long media may pause before the next media is a new
// call: longer than a hold or a network hiccup, shorter than the time
// between two meetings.
const DefaultGap = 30 * time.Second

// Lead is how early a non-media stream may start and still belong to a
// call: ICE, TURN allocation and the call's signalling come before media.
const Lead = 15 * time.Second

type call struct {
	id        string
	start     time.Time // first media
	lastMedia time.Time
}

// Tracker follows the current call of each owner. It keeps one call per
// owner plus the start times of calls for ordering.
type Tracker struct {
	gap     time.Duration
	current map[string]*call
	starts  map[string]time.Time
}

// New makes a tracker; gap <= 0 means DefaultGap.
func New(gap time.Duration) *Tracker {
	if gap <= 0 {
		gap = DefaultGap
	}
	return &Tracker{gap: gap, current: map[string]*call{}, starts: map[string]time.Time{}}
}

// Media reports a Teams media stream of owner that ran from first to last
// and returns its call id.
func (t *Tracker) Media(owner string, first, last time.Time) string {
	c := t.current[owner]
	if c == nil || first.Sub(c.lastMedia) > t.gap {
		c = &call{id: callID(owner, first), start: first, lastMedia: last}
		t.current[owner] = c
		t.starts[c.id] = first
	}
	if last.After(c.lastMedia) {
		c.lastMedia = last
	}
	if first.Before(c.start) {
		c.start = first // a sibling seen later may have started earlier
		t.starts[c.id] = first
	}
	return c.id
}

// Member returns the call of owner that a non-media stream active from
// first to last belongs to, or "" when the owner has no call then.
func (t *Tracker) Member(owner string, first, last time.Time) string {
	c := t.current[owner]
	if c == nil || last.Before(c.start.Add(-Lead)) || first.After(c.lastMedia.Add(t.gap)) {
		return ""
	}
	return c.id
}

// Start returns when a call's first media started.
func (t *Tracker) Start(id string) (time.Time, bool) {
	s, ok := t.starts[id]
	return s, ok
}

// Len returns the number of calls remembered.
func (t *Tracker) Len() int { return len(t.starts) }

// Prune forgets calls whose media ended more than keep ago.
func (t *Tracker) Prune(now time.Time, keep time.Duration) {
	live := map[string]bool{}
	for owner, c := range t.current {
		if now.Sub(c.lastMedia) > keep+t.gap {
			delete(t.current, owner)
			continue
		}
		live[c.id] = true
	}
	for id, start := range t.starts {
		if !live[id] && now.Sub(start) > keep+t.gap {
			delete(t.starts, id)
		}
	}
}

// callID is stable for a call: the owner and the start of its first media.
func callID(owner string, start time.Time) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d", owner, start.UnixNano())
	return fmt.Sprintf("call-%012x", h.Sum64()&0xffffffffffff)
}
