//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// impairedAudioScenario is a desktop audio call whose client drops 12% of
// its audio at random (the far end echoes what arrives, gaps and all, so
// the client receives the same loss): 30 s, 1500 packets, well above the
// 500 received packets Call Quality Dashboard classifies audio above, and
// enough that the drops stay near 12% (16 s calls dropped 9.4-13.9%).
const impairedAudioScenario = `name: audio-12pct-loss
description: ms-teams audio-only call losing 12% of its audio
duration: 30s
client: ms-teams
mode: qos
streams:
  - kind: audio
    loss: 0.12
`

// A clean simulated call is good; with 12% loss on the audio path the
// received audio is poor by its loss, and so is the call, in the records,
// /v1/calls and the table's call line. Sent streams show no loss or jitter.
func TestRunHealthVerdicts(t *testing.T) {
	testenv.RequirePrivileged(t)
	t.Run("clean call is good", func(t *testing.T) {
		recs, calls, table, _ := playWatched(t, "desktop-qos", "16s")
		audio := receivedRTP(recs, "audio")
		if audio == nil || audio.Quality != "good" || audio.MOS == nil || *audio.MOS < 4 {
			t.Fatalf("received audio: %+v", audio)
		}
		checkSentStreamsShowNoReceiverFigures(t, recs)
		if len(calls) != 1 || calls[0].Quality != "good" || calls[0].WorstStream == nil {
			t.Errorf("calls: %+v", calls)
		}
		if !strings.Contains(table, "streams, since ") || !strings.Contains(table, ", good\n") {
			t.Errorf("table:\n%s", table)
		}
	})
	t.Run("12% audio loss is poor", func(t *testing.T) {
		scenario := filepath.Join(t.TempDir(), "loss.yaml")
		if err := os.WriteFile(scenario, []byte(impairedAudioScenario), 0o644); err != nil {
			t.Fatal(err)
		}
		// The simulator drops at random; a call that measured 10.5% or
		// less (about one in thirty) is too near the threshold to judge
		// by, and is played again.
		for attempt := 1; attempt <= 3; attempt++ {
			recs, calls, table, tr := playWatched(t, scenario, "")
			audio := receivedRTP(recs, "audio")
			if audio == nil || audio.RTPLossPct == nil {
				t.Fatalf("no received audio with loss among %d records", len(recs))
			}
			dropped := droppedAudio(tr)
			t.Logf("call %d: the simulator dropped %.1f%%, received audio loss %.1f%%", attempt, 100*dropped, *audio.RTPLossPct)
			if d := *audio.RTPLossPct - 100*dropped; d < -1 || d > 1 {
				t.Errorf("received audio loss %.1f%%, not within 1 point of the %.1f%% dropped", *audio.RTPLossPct, 100*dropped)
			}
			if *audio.RTPLossPct <= 10.5 {
				continue
			}
			checkLossyCall(t, recs, calls, table)
			return
		}
		t.Fatal("three calls in a row measured 10.5% audio loss or less")
	})
}

// droppedAudio is the share of audio packets the simulator skipped.
func droppedAudio(tr *truth.File) float64 {
	for _, s := range tr.Streams {
		if s.Label == "audio" && s.PacketsSent+s.PacketsSkipped > 0 {
			return float64(s.PacketsSkipped) / float64(s.PacketsSent+s.PacketsSkipped)
		}
	}
	return 0
}

// checkLossyCall: the received audio and the call are poor by its loss.
func checkLossyCall(t *testing.T, recs []record.Record, calls []api.Call, table string) {
	t.Helper()
	audio := receivedRTP(recs, "audio")
	if audio == nil || audio.Quality != "poor" || !slices.ContainsFunc(audio.QualityReasons, isLossReason) {
		t.Fatalf("received audio: %+v", audio)
	}
	t.Logf("received audio: %q", audio.QualityReasons)
	checkSentStreamsShowNoReceiverFigures(t, recs)
	if len(calls) != 1 || calls[0].Quality != "poor" || calls[0].WorstStream == nil || calls[0].WorstStream.StreamID != audio.StreamID {
		t.Errorf("calls: %+v", calls)
	}
	callLine := regexp.MustCompile(`(?m)^CALL call-\w+: ms-teams \d+, \d+ streams, since [\d:]+, poor: audio received ssrc 0x[0-9a-f]{8}: loss 1\d\.\d% > 10%`)
	if !callLine.MatchString(table) || !strings.Contains(table, "poor: loss 1") {
		t.Errorf("table lacks the verdict:\n%s", table)
	}
}

// playWatched plays a scenario in the simulator while `teamsflow run`
// watches, and returns the records, calls and table read just after the
// call ended (its streams stay listed, so the figures cover the whole call,
// as the simulator's ground truth does), and that truth.
func playWatched(t *testing.T, scenario, duration string) ([]record.Record, []api.Call, string, *truth.File) {
	t.Helper()
	sim := newSim(t)
	socket := filepath.Join(t.TempDir(), "api.sock")
	agent := startRun(t, socket, "--netns", sim.ClientNetnsPath)
	tr := sim.Start(t, scenario, duration).Wait(t)
	time.Sleep(1500 * time.Millisecond) // a poll after the last packets
	recs := streamsJSON(t, socket)
	var calls []api.Call
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.NewClient(socket).Get(ctx, "/v1/calls", &calls); err != nil {
		t.Fatal(err)
	}
	table, _, _ := runCLI(t, nil, "streams", "--socket", socket)
	agent.stop(t)
	t.Logf("table:\n%s", table)
	return recs, calls, table, tr
}

func receivedRTP(recs []record.Record, label string) *record.Record {
	for i := range recs {
		r := &recs[i]
		if r.SSRC != nil && r.Label == label && r.PacketsRecv > 0 && r.PacketsSent == 0 && r.RTPRole == "media" {
			return r
		}
	}
	return nil
}

func isLossReason(r string) bool {
	return strings.HasPrefix(r, "loss ") && strings.HasSuffix(r, "% > 10%")
}

// checkSentStreamsShowNoReceiverFigures: a sent stream's loss and jitter
// are the far end's to measure: absent in JSON, and its verdict says it
// covers the sent direction.
func checkSentStreamsShowNoReceiverFigures(t *testing.T, recs []record.Record) {
	t.Helper()
	n := 0
	for _, r := range recs {
		if r.SSRC == nil || r.PacketsSent == 0 {
			continue
		}
		n++
		if r.RTPLost != nil || r.RTPLossPct != nil || r.RTPJitterMs != nil || r.MOS != nil {
			t.Errorf("sent %s ssrc %d shows receiver figures: lost %v pct %v jitter %v mos %v",
				r.Label, *r.SSRC, r.RTPLost, r.RTPLossPct, r.RTPJitterMs, r.MOS)
		}
		if r.Label == "audio" && r.Quality != "" && r.QualityCovers != "sent" {
			t.Errorf("sent audio's verdict covers %q", r.QualityCovers)
		}
	}
	if n == 0 {
		t.Error("no sent RTP stream")
	}
}

// rttTolerance is the bound: within max(5 ms, 20%) of the round
// trip added.
func rttWithin(got *float64, want time.Duration) bool {
	if got == nil {
		return false
	}
	w := float64(want) / float64(time.Millisecond)
	return *got >= w-max(5, w/5) && *got <= w+max(5, w/5)
}

func describeRTT(r *record.Record) string {
	if r == nil {
		return "no record"
	}
	if r.RTTMs == nil {
		return fmt.Sprintf("%s %s:%d -> %s:%d: no rtt_ms", r.Label, r.LocalAddr, r.LocalPort, r.PeerAddr, r.PeerPort)
	}
	return fmt.Sprintf("%s %s:%d -> %s:%d: rtt_ms %.1f", r.Label, r.LocalAddr, r.LocalPort, r.PeerAddr, r.PeerPort, *r.RTTMs)
}
