//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// firstLabelBudget is how long after a media stream's first packet a user
// of `teamsflow streams` may wait for its right label.
var firstLabelBudget = map[string]time.Duration{
	truth.LabelAudio:       2 * time.Second,
	truth.LabelVideo:       4 * time.Second,
	truth.LabelScreenshare: 4 * time.Second,
}

// apiPollEvery is how often the test asks the agent, as a user watching
// `teamsflow streams --watch` closely would.
const apiPollEvery = 100 * time.Millisecond

// labelPoll is one answer of the running agent during a call.
type labelPoll struct {
	at   time.Time
	recs []record.Record
}

// The running agent (default poll interval) names each media stream of a
// call correctly within the budget after the stream's first packet, and
// never changes its mind afterwards: for a desktop client with QoS ports,
// and for a browser client that BUNDLEs everything on one random port.
func TestFirstLabelWithinBudget(t *testing.T) {
	testenv.RequirePrivileged(t)
	for _, scenario := range []string{"desktop-qos", "browser-bundle"} {
		t.Run(scenario, func(t *testing.T) {
			sim := newSim(t)
			socket := filepath.Join(t.TempDir(), "api.sock")
			agent := startRun(t, socket, "--netns", sim.ClientNetnsPath, "--poll-interval", "1s")
			polls, tr := playAndPoll(t, sim, socket, scenario, "12s")
			agent.stop(t)
			checkFirstLabels(t, tr, polls)
		})
	}
}

// playAndPoll plays a call and asks the agent for its streams every
// apiPollEvery until the call ends; it returns the answers and the truth.
func playAndPoll(t *testing.T, sim *testenv.Sim, socket, scenario, duration string) ([]labelPoll, *truth.File) {
	t.Helper()
	call := sim.Start(t, scenario, duration)
	client := api.NewClient(socket)
	var polls []labelPoll
	tick := time.NewTicker(apiPollEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-call.Done():
			return polls, call.Ended(t, err)
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			recs, err := client.Streams(ctx, true)
			at := time.Now()
			cancel()
			if err != nil {
				t.Fatalf("asking the agent during the call: %v", err)
			}
			polls = append(polls, labelPoll{at: at, recs: recs})
		}
	}
}

// labelChange is a stream's label from one poll on.
type labelChange struct {
	after  time.Duration // since the stream's first packet
	label  string
	reason string
}

// checkFirstLabels holds every media stream of the truth against the
// answers: its first correct label within budget, no change after it.
func checkFirstLabels(t *testing.T, tr *truth.File, polls []labelPoll) {
	t.Helper()
	checked := 0
	for _, s := range tr.Streams {
		budget, media := firstLabelBudget[s.Label]
		if !media || s.StartedAt.IsZero() {
			continue
		}
		checked++
		name := fmt.Sprintf("%s ssrc %#x %s:%d->%s:%d", s.Label, s.SSRC, s.Transport, s.LocalPort, s.PeerAddr, s.PeerPort)
		changes := labelChanges(polls, s)
		correct := -1
		for i, c := range changes {
			if c.label == s.Label {
				correct = i
				break
			}
		}
		t.Logf("%s: labels %s", name, describeChanges(changes))
		switch {
		case correct < 0:
			t.Errorf("%s: never labelled %s", name, s.Label)
		case changes[correct].after > budget:
			t.Errorf("%s: labelled %s after %v, budget %v", name, s.Label, changes[correct].after.Round(10*time.Millisecond), budget)
		case correct < len(changes)-1:
			t.Errorf("%s: label changed after it was right: %s", name, describeChanges(changes[correct:]))
		}
	}
	if checked < 3 {
		t.Errorf("only %d media streams in the truth, want audio, video and screen share", checked)
	}
}

// labelChanges lists the label of the sent stream s each time it changed
// ("" while the agent did not list it), relative to its first packet.
func labelChanges(polls []labelPoll, s truth.Stream) []labelChange {
	var out []labelChange
	current, seen := "", false
	for _, p := range polls {
		r, ok := findSent(p.recs, s)
		if !ok || (seen && r.Label == current) {
			continue
		}
		seen, current = true, r.Label
		out = append(out, labelChange{after: p.at.Sub(s.StartedAt), label: r.Label, reason: r.LabelReason})
	}
	return out
}

// findSent is the record of the client's own SSRC of s on its 5-tuple.
func findSent(recs []record.Record, s truth.Stream) (record.Record, bool) {
	for _, r := range recs {
		if r.Transport == s.Transport && int(r.LocalPort) == s.LocalPort && r.PeerAddr == s.PeerAddr &&
			int(r.PeerPort) == s.PeerPort && r.SSRC != nil && *r.SSRC == s.SSRC {
			return r, true
		}
	}
	return record.Record{}, false
}

func describeChanges(cs []labelChange) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s (%s) at %+.2fs", c.label, c.reason, c.after.Seconds()))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", then ")
}
