//go:build linux

package analysis_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/capfile"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// TestSimulatorScenarios plays every built-in scenario with the call
// simulator, runs its pcap through capfile and the pipeline, and compares
// labels with the simulator's ground truth: at least 95% right, Teams
// recognised in every Teams scenario, the Zoom call never Teams.
func TestSimulatorScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("plays calls in network namespaces")
	}
	testenv.RequirePrivileged(t)
	sim := testenv.NewSim(t, "tfan")
	for _, sc := range []string{"desktop-qos", "desktop-noqos", "browser-bundle", "edge-pwa-bundle", "relay", "p2p", "impaired-audio", "multi-call", "zoom-negative"} {
		t.Run(sc, func(t *testing.T) {
			pcap := filepath.Join(t.TempDir(), "call.pcap")
			tr := sim.Play(t, sc, "6s", "--pcap", pcap)
			p := analysis.New(analysis.Config{Linger: 1 << 62})
			if err := capfile.Feed(pcap, p.Observe, nil); err != nil {
				t.Fatal(err)
			}
			scoreAgainstTruth(t, tr, p.Records(true))
		})
	}
}

func scoreAgainstTruth(t *testing.T, tr *truth.File, rs []record.Record) {
	t.Helper()
	key := func(transport, peer string, local, peerPort int, ssrc uint32) string {
		return fmt.Sprintf("%s/%d/%s/%d/%d", transport, local, peer, peerPort, ssrc)
	}
	got := map[string]record.Record{}
	for _, r := range rs {
		var ssrc uint32
		if r.SSRC != nil {
			ssrc = *r.SSRC
		}
		got[key(r.Transport, r.PeerAddr, int(r.LocalPort), int(r.PeerPort), ssrc)] = r
	}
	media := map[string]bool{} // 5-tuples with RTP: their RTCP is part of the media
	for _, s := range tr.Streams {
		if s.SSRC != 0 && s.Label != truth.LabelRTCP {
			media[key(s.Transport, s.PeerAddr, s.LocalPort, s.PeerPort, 0)] = true
		}
	}
	var scored, right, teamsWanted, teamsFound int
	var wrong []string
	for _, s := range tr.Streams {
		ssrc := s.SSRC
		if s.Label == truth.LabelRTCP {
			if media[key(s.Transport, s.PeerAddr, s.LocalPort, s.PeerPort, 0)] {
				continue // RTCP inside a media flow is not a stream of its own
			}
			ssrc = 0
		}
		scored++
		r, ok := got[key(s.Transport, s.PeerAddr, s.LocalPort, s.PeerPort, ssrc)]
		if ok && r.Label == s.Label {
			right++
		} else {
			wrong = append(wrong, fmt.Sprintf("%s %d->%s:%d ssrc %d: %s, got %q (%s)", s.Transport, s.LocalPort, s.PeerAddr, s.PeerPort, s.SSRC, s.Label, r.Label, r.LabelReason))
		}
		if ok && r.App == "teams" && s.App != "teams" {
			t.Errorf("not Teams but recognised as Teams: %+v", s)
		}
		if s.App == "teams" && s.SSRC != 0 {
			teamsWanted++
			if ok && r.App == "teams" {
				teamsFound++
			} else {
				t.Logf("not recognised: %s %d->%s:%d ssrc %d %s: record %+v", s.Transport, s.LocalPort, s.PeerAddr, s.PeerPort, s.SSRC, s.Label, r)
			}
		}
	}
	pct := 100 * float64(right) / float64(max(scored, 1))
	t.Logf("%s: %d/%d streams labelled right (%.1f%%), Teams media recognised %d/%d", tr.Scenario, right, scored, pct, teamsFound, teamsWanted)
	if pct < 95 {
		t.Errorf("labels right %.1f%% < 95%%; wrong:\n%s", pct, strings.Join(wrong, "\n"))
	}
	if teamsFound < teamsWanted {
		t.Errorf("Teams media recognised %d of %d", teamsFound, teamsWanted)
	}
}
