//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/capfile"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// pauseScenarios are the simulator's calls whose streams do not run
// steadily from start to end: the camera turned off, a share started late
// and stopped early, a static share, silent participants (comfort noise,
// DTX), an SSRC that stops and restarts after it expired, media moving
// from the relay to the direct path, a share animated at exactly 5 fps.
var pauseScenarios = []string{"camera-off", "share-late", "static-share", "silent-participant",
	"ssrc-restart", "relay-to-direct", "share-5fps"}

// pauseIdle is the idle timeout given to the agent and the pipeline:
// ssrc-restart's camera stays off longer, so its SSRC expires and resumes.
const pauseIdle = 10 * time.Second

// heldLabelShare is the share of media SSRCs that must be right in the
// final records and at every read after their first right one.
const heldLabelShare = 0.95

// Each scenario plays once under the running agent, which is asked for
// its streams every 250 ms, and its pcap then goes through the pipeline
// `teamsflow analyze` runs, read after every snapshot. Both must name at
// least 95% of the media SSRCs right at the end and never change a label
// after it was right. Scenarios run two at a time (go test -parallel).
func TestPauseScenarios(t *testing.T) {
	testenv.RequirePrivileged(t)
	if testing.Short() {
		t.Skip("plays about 3 minutes of calls")
	}
	for i, sc := range pauseScenarios {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			sim := testenv.NewSim(t, fmt.Sprintf("tfp%d-%d", os.Getpid()%100000, i))
			socket := filepath.Join(t.TempDir(), "api.sock")
			pcap := filepath.Join(t.TempDir(), "call.pcap")
			agent := startRun(t, socket, "--netns", sim.ClientNetnsPath, "--idle-timeout", pauseIdle.String())
			live, tr := pollDuringCall(t, sim.Start(t, sc, "", "--pcap", pcap), socket)
			agent.stop(t)
			for name, reads := range map[string][]labelPoll{"live": live, "analyze": analyzeReads(t, pcap)} {
				t.Run(name, func(t *testing.T) {
					checkHeldLabels(t, tr, reads)
					checkRestarts(t, tr, reads[len(reads)-1].recs)
					checkMainPayloadType(t, tr, reads[len(reads)-1].recs)
				})
			}
		})
	}
}

// pollDuringCall asks the agent for its streams every 250 ms until the
// call ends, then once more after two poll intervals: the final records.
func pollDuringCall(t *testing.T, call *testenv.Call, socket string) ([]labelPoll, *truth.File) {
	t.Helper()
	client := api.NewClient(socket)
	ask := func() labelPoll {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		recs, err := client.Streams(ctx, true)
		if err != nil {
			t.Fatalf("asking the agent: %v", err)
		}
		return labelPoll{at: time.Now(), recs: recs}
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var polls []labelPoll
	for {
		select {
		case err := <-call.Done():
			tr := call.Ended(t, err)
			time.Sleep(time.Second)
			return append(polls, ask()), tr
		case <-tick.C:
			polls = append(polls, ask())
		}
	}
}

// analyzeReads feeds the pcap to the pipeline as `teamsflow analyze` does
// (with the agent's idle timeout) and reads the records after every
// snapshot; the last read is the final one.
func analyzeReads(t *testing.T, pcap string) []labelPoll {
	t.Helper()
	p := analysis.New(analysis.Config{Linger: 1 << 62, IdleTimeout: pauseIdle})
	var reads []labelPoll
	err := capfile.Feed(pcap, func(s observe.Snapshot) {
		p.Observe(s)
		reads = append(reads, labelPoll{at: s.Time, recs: p.Records(true)})
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return append(reads, labelPoll{at: reads[len(reads)-1].at, recs: p.Records(true)})
}

// checkHeldLabels holds every media SSRC of the truth (one per 5-tuple it
// was sent on) against the reads, printing each one's label changes.
func checkHeldLabels(t *testing.T, tr *truth.File, reads []labelPoll) {
	t.Helper()
	if len(reads) == 0 {
		t.Fatal("no reads")
	}
	var scored, right int
	var wrong []string
	for _, s := range tr.Streams {
		if _, media := firstLabelBudget[s.Label]; !media || s.PacketsSent == 0 {
			continue
		}
		scored++
		name := fmt.Sprintf("%s ssrc %#x %d->%s:%d (%s)", s.Label, s.SSRC, s.LocalPort, s.PeerAddr, s.PeerPort, activeSpans(s))
		// An SSRC back after it ended idle is a new stream (a record
		// of its own, first seen when it came back), judged on its own.
		var verdicts []string
		for _, first := range firstSeens(reads, s) {
			ofStream := func(r record.Record) bool { return r.FirstSeen.Equal(first) }
			changes := heldChanges(reads, s, ofStream)
			final := lastLabel(reads, s, ofStream)
			t.Logf("%s, stream first seen %s: labels %s; final %q", name, first.Format("15:04:05.0"), describeChanges(changes), final)
			if v := heldVerdict(s.Label, changes, final); v != "" {
				verdicts = append(verdicts, v)
			}
		}
		if len(verdicts) == 0 {
			right++
		} else {
			wrong = append(wrong, name+": "+strings.Join(verdicts, "; "))
		}
	}
	t.Logf("%s: %d of %d media SSRCs held the right label", tr.Scenario, right, scored)
	if scored == 0 {
		t.Fatal("no media SSRCs in the truth")
	}
	if float64(right) < heldLabelShare*float64(scored) {
		t.Errorf("%d of %d media SSRCs right and held (want %.0f%%):\n%s", right, scored, 100*heldLabelShare, strings.Join(wrong, "\n"))
	}
}

// heldVerdict is "" when the final label is right and no read after the
// first right one differed, else what went wrong.
func heldVerdict(want string, changes []labelChange, final string) string {
	first := -1
	for i, c := range changes {
		if c.label == want {
			first = i
			break
		}
	}
	switch {
	case first < 0:
		return "never labelled " + want
	case first < len(changes)-1:
		return "changed after it was right: " + describeChanges(changes[first:])
	case final != want:
		return fmt.Sprintf("final label %q", final)
	}
	return ""
}

// heldChanges lists the labels of s's records each time they changed
// (reads that do not list s are skipped), from s's first packet.
func heldChanges(reads []labelPoll, s truth.Stream, keep func(record.Record) bool) []labelChange {
	var out []labelChange
	current := ""
	for _, r := range reads {
		l := labelsOf(r.recs, s, keep)
		if l == "" || l == current {
			continue
		}
		current = l
		out = append(out, labelChange{after: r.at.Sub(s.StartedAt), label: l, reason: reasonsOf(r.recs, s)})
	}
	return out
}

// recordsOf are the records of the client's SSRC of s on its 5-tuple:
// more than one when the SSRC ended (idle) and came back.
func recordsOf(recs []record.Record, s truth.Stream) []record.Record {
	var out []record.Record
	for _, r := range recs {
		if r.Transport == s.Transport && int(r.LocalPort) == s.LocalPort && r.PeerAddr == s.PeerAddr &&
			int(r.PeerPort) == s.PeerPort && r.SSRC != nil && *r.SSRC == s.SSRC {
			out = append(out, r)
		}
	}
	return out
}

// lastLabel is the stream's label in the last read that lists it (a
// stream that ended before the call did is not in the last read).
func lastLabel(reads []labelPoll, s truth.Stream, keep func(record.Record) bool) string {
	for i := len(reads) - 1; i >= 0; i-- {
		if l := labelsOf(reads[i].recs, s, keep); l != "" {
			return l
		}
	}
	return ""
}

// firstSeens are the first_seen times of s's records over all reads: one
// per stream the SSRC made.
func firstSeens(reads []labelPoll, s truth.Stream) []time.Time {
	var out []time.Time
	for _, r := range reads {
		for _, rec := range recordsOf(r.recs, s) {
			if !slices.ContainsFunc(out, rec.FirstSeen.Equal) {
				out = append(out, rec.FirstSeen)
			}
		}
	}
	return out
}

// labelsOf joins the distinct labels of s's records that keep keeps ("" when none).
func labelsOf(recs []record.Record, s truth.Stream, keep func(record.Record) bool) string {
	seen := map[string]bool{}
	for _, r := range recordsOf(recs, s) {
		if keep(r) {
			seen[r.Label] = true
		}
	}
	labels := make([]string, 0, len(seen))
	for l := range seen {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	return strings.Join(labels, "+")
}

func reasonsOf(recs []record.Record, s truth.Stream) string {
	var out []string
	for _, r := range recordsOf(recs, s) {
		out = append(out, r.LabelReason)
	}
	return strings.Join(out, "+")
}

// activeSpans describes when s sent what, from its first packet.
func activeSpans(s truth.Stream) string {
	var parts []string
	for _, iv := range s.Active {
		parts = append(parts, fmt.Sprintf("%s %.1f-%.1fs", iv.Sending, iv.From.Sub(s.StartedAt).Seconds(), iv.To.Sub(s.StartedAt).Seconds()))
	}
	return strings.Join(parts, ", ")
}

// checkRestarts: an SSRC that was silent longer than the idle timeout
// and came back is a new stream in the final records, next to the one
// that ended, and counts only the packets sent since it came back.
func checkRestarts(t *testing.T, tr *truth.File, final []record.Record) {
	t.Helper()
	for _, s := range tr.Streams {
		for i := 1; i < len(s.Active); i++ {
			if s.Active[i].From.Sub(s.Active[i-1].To) <= pauseIdle {
				continue
			}
			after := 0
			for _, iv := range s.Active[i:] {
				after += iv.Packets
			}
			recs := recordsOf(final, s)
			sort.Slice(recs, func(a, b int) bool { return recs[a].FirstSeen.Before(recs[b].FirstSeen) })
			if len(recs) < 2 {
				t.Errorf("ssrc %#x came back after %v: %d records, want the ended one and a new one", s.SSRC, s.Active[i].From.Sub(s.Active[i-1].To).Round(time.Second), len(recs))
				break
			}
			last := recs[len(recs)-1]
			t.Logf("ssrc %#x came back: records first seen %v and %v; the new one counts %d packets, %d sent since", s.SSRC,
				recs[0].FirstSeen.Format("15:04:05.0"), last.FirstSeen.Format("15:04:05.0"), last.PacketsSent, after)
			if last.FirstSeen.Before(s.Active[i].From.Add(-time.Second)) || float64(last.PacketsSent) > 1.02*float64(after)+5 {
				t.Errorf("ssrc %#x: the resumed stream starts %v and counts %d packets; it came back at %v with %d",
					s.SSRC, last.FirstSeen, last.PacketsSent, s.Active[i].From, after)
			}
			break
		}
	}
}

// checkMainPayloadType: a record shows its stream's codec payload type,
// not that of the last packets (comfort noise, PT 13, at the end of a
// call is not the stream's codec).
func checkMainPayloadType(t *testing.T, tr *truth.File, final []record.Record) {
	t.Helper()
	for _, s := range tr.Streams {
		if _, media := firstLabelBudget[s.Label]; !media || s.PayloadType == nil {
			continue
		}
		for _, r := range recordsOf(final, s) {
			if r.RTPPayloadType == nil || int(*r.RTPPayloadType) != *s.PayloadType {
				t.Errorf("%s ssrc %#x %d->%s:%d: final record shows payload type %v, the stream sent %s (%d)",
					s.Label, s.SSRC, s.LocalPort, s.PeerAddr, s.PeerPort, ptString(r.RTPPayloadType), s.Codec, *s.PayloadType)
			}
		}
	}
}

func ptString(pt *uint8) string {
	if pt == nil {
		return "none"
	}
	return fmt.Sprint(*pt)
}
