//go:build linux

package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// The agent is killed with SIGKILL in the middle of a call (the OOM
// killer, a crashed node agent) and started again while the call goes
// on. Nothing of the dead agent stays attached, or the new one reclaims
// it at start; exactly one set of programs runs afterwards; and the new
// agent finds the call's sockets, opened before it started, with their
// owner and labels (backfill).
func TestRunRestartAfterKill(t *testing.T) {
	testenv.RequirePrivileged(t)
	if testing.Short() {
		t.Skip("two 20 s calls")
	}
	// TCX links die with their process; clsact filters outlive it and are
	// the new agent's to remove.
	for _, mode := range []string{"tcx", "clsact"} {
		t.Run(mode, func(t *testing.T) { checkRestartAfterKill(t, mode) })
	}
}

func checkRestartAfterKill(t *testing.T, mode string) {
	sim := newSim(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "api.sock")
	args := []string{"--netns", sim.ClientNetnsPath, "--tc-mode", mode}
	first := startRun(t, socket, args...)

	call := sim.Start(t, "desktop-qos", "20s")
	time.Sleep(5 * time.Second)
	dead := heldPrograms(t, first.cmd.Process.Pid)
	if len(dead) < 13 {
		t.Fatalf("the first agent holds %d programs; want the socket, process and TC ones", len(dead))
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	killed := time.Now()
	left := len(waitProgramsGone(t, dead, 2*time.Second))
	t.Logf("%s: %d of the dead agent's %d programs still in the kernel after SIGKILL", mode, left, len(dead))
	if mode == "tcx" && left != 0 {
		t.Errorf("tcx: %d programs of the killed agent outlived it", left)
	}

	begun := time.Now()
	second := startRun(t, socket, args...)
	t.Logf("%s: the new agent was running %s after it was started", mode, time.Since(begun).Round(time.Millisecond))
	if left := waitProgramsGone(t, dead, 5*time.Second); len(left) > 0 {
		t.Errorf("programs %v of the killed agent are still in the kernel after the new agent started", left)
	}
	checkOneSet(t, sim.ClientNetnsPath, heldPrograms(t, second.cmd.Process.Pid))

	time.Sleep(4 * time.Second) // a few polls while the call runs
	midCall := streamsJSON(t, socket)
	tr := call.Wait(t)
	checkBackfilledCall(t, tr, killed, midCall)
	second.stop(t)
	if a := netnsAttachments(t, sim.ClientNetnsPath); countPrograms(a) != 0 {
		t.Errorf("programs still on the namespace's interfaces after a clean stop: %+v", a)
	}
}

func countPrograms(as []ifaceAttachment) int {
	n := 0
	for _, a := range as {
		n += len(a.Ingress) + len(a.Egress)
	}
	return n
}

// checkBackfilledCall: each media stream that ran across the restart is
// in the new agent's records with the simulator's process and a label
// from the truth; so is the signalling connection the client keeps busy
// during the call, whose owner only backfill can know: no socket hook
// runs for a TCP connection that only sends and receives.
func checkBackfilledCall(t *testing.T, tr *truth.File, killed time.Time, recs []record.Record) {
	t.Helper()
	byTuple := map[fiveTuple][]record.Record{}
	for _, r := range recs {
		k := fiveTuple{r.Transport, r.LocalPort, r.PeerAddr, r.PeerPort}
		byTuple[k] = append(byTuple[k], r)
	}
	media, signalling := 0, 0
	sources := map[string]int{}
	for _, s := range tr.Streams {
		k := fiveTuple{s.Transport, uint16(s.LocalPort), s.PeerAddr, uint16(s.PeerPort)}
		got := byTuple[k]
		switch {
		case s.Transport == "tcp" && len(got) > 0:
			signalling++ // the truth has no times for TCP: the agent saw its traffic after the restart
		case s.SSRC != 0 && s.StartedAt.Before(killed) && s.EndedAt.After(killed.Add(10*time.Second)):
			media++
			if len(got) == 0 {
				t.Errorf("the new agent has no record of the running %s stream %+v", s.Label, k)
			}
		default:
			continue
		}
		for _, r := range got {
			sources[r.Transport+" "+r.OwnerSource]++
			checkRestartedRecord(t, tr, k, s, r)
		}
	}
	t.Logf("streams across the restart: %d media, %d signalling; owner sources of their records: %v", media, signalling, sources)
	if media < 3 || signalling < 1 {
		t.Errorf("%d media streams and %d signalling connections ran across the restart; want audio, video, screen share and the busy connection",
			media, signalling)
	}
}

func checkRestartedRecord(t *testing.T, tr *truth.File, k fiveTuple, s truth.Stream, r record.Record) {
	t.Helper()
	if int(r.PID) != s.PID || r.Comm != s.Comm || r.App != "teams" {
		t.Errorf("%+v: pid %d comm %q app %q, want pid %d comm %q app teams", k, r.PID, r.Comm, r.App, s.PID, s.Comm)
	}
	if !truthHasLabel(tr, k, r) {
		t.Errorf("%+v ssrc %d: label %q (%s) is not the simulator's", k, ptrValue(r.SSRC), r.Label, r.LabelReason)
	}
	if r.Transport == "tcp" && r.OwnerSource != "backfill" {
		t.Errorf("%+v: owner source %q for a connection older than the agent, want backfill", k, r.OwnerSource)
	}
}
