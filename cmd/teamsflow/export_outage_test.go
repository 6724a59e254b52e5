//go:build linux

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// The collector goes away for 60 s in the middle of a call and comes
// back: the agent keeps running and answering, its memory stays bounded
// (the span queue is, and nothing else piles up), the spans it could not
// deliver are counted as dropped, and spans made after the collector
// returned arrive.
func TestRunSurvivesCollectorOutage(t *testing.T) {
	testenv.RequirePrivileged(t)
	if testing.Short() {
		t.Skip("a 75 s call")
	}
	const outage, queue = 60 * time.Second, 64
	col := otelcol.Start(t, otelcol.Options{})
	sim := newSim(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "api.sock")
	agent := startRun(t, socket, "--netns", sim.ClientNetnsPath, "--export-endpoint", col.GRPCAddr,
		"--export-insecure", "--export-active-timeout", "2s", "--export-queue-size", strconv.Itoa(queue))
	call := sim.Start(t, "desktop-qos", "75s")
	// Spans go out in batches every 5 s: wait until some went.
	var exportedBefore float64
	for deadline := time.Now().Add(15 * time.Second); exportedBefore == 0 && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		exportedBefore = metric(t, socket, "teamsflow_export_spans_exported_total")
	}
	col.Stop()
	rssBefore := rssKB(t, agent.cmd.Process.Pid)
	peak, dropped := watchOutage(t, agent, outage, queue)
	returned := time.Now()
	col.Restart()
	call.Wait(t)
	exportedAfter := metric(t, socket, "teamsflow_export_spans_exported_total")
	agent.stop(t)
	t.Logf("RSS %d kB before the outage, peak %d kB during %s of it; %v spans dropped; %v exported before, %v at the end",
		rssBefore, peak, outage, dropped, exportedBefore, exportedAfter)
	if exportedBefore == 0 {
		t.Error("nothing was exported before the outage")
	}
	if peak > rssBefore+24*1024 {
		t.Errorf("memory grew from %d kB to %d kB during the outage", rssBefore, peak)
	}
	if exportedAfter <= exportedBefore {
		t.Errorf("spans exported: %v before the outage, %v after the collector returned", exportedBefore, exportedAfter)
	}
	spans := col.WaitSpans(t, 20*time.Second, func(s []otelcol.Span) bool { return rootOf(s) != nil })
	var later int
	for _, s := range spans {
		if s.End.After(returned) {
			later++
		}
	}
	if later == 0 {
		t.Error("no span arrived from after the collector returned")
	}
}

// watchOutage samples the agent every 5 s while the collector is away:
// it must keep answering with streams, its queue must stay within its
// capacity, and every span it made must be exported, dropped and
// counted, or waiting in the queue or the one batch in flight (nothing
// piles up elsewhere, nothing is lost silently). It returns the peak RSS
// and the spans dropped.
func watchOutage(t *testing.T, agent *agentProc, outage time.Duration, queue int) (peakKB int, dropped float64) {
	t.Helper()
	m := func(name string) float64 { return metric(t, agent.socket, "teamsflow_export_"+name) }
	endedBefore := m("spans_ended_total")
	var ended float64
	for waited := 5 * time.Second; waited <= outage; waited += 5 * time.Second {
		time.Sleep(5 * time.Second)
		if recs := streamsJSON(t, agent.socket); len(recs) == 0 {
			t.Error("the agent answered with no streams during the outage")
		}
		rss := rssKB(t, agent.cmd.Process.Pid)
		peakKB = max(peakKB, rss)
		// Read the queue first: what it holds now was ended by the next read.
		queued := m("queue_length")
		ended, dropped = m("spans_ended_total"), m("spans_dropped_total")
		exported := m("spans_exported_total")
		unaccounted := ended - exported - dropped - queued
		t.Logf("%s: rss %d kB, spans ended %v, exported %v, dropped %v, queued %v", waited, rss, ended, exported, dropped, queued)
		if queued > float64(queue) {
			t.Errorf("%v spans queued, more than the queue's %d", queued, queue)
		}
		if unaccounted < 0 || unaccounted > float64(queue) {
			t.Errorf("%s into the outage %v spans are neither exported, dropped nor queued; at most one batch (%d) may be in flight",
				waited, unaccounted, queue)
		}
	}
	if dropped < ended-endedBefore-2*float64(queue) {
		t.Errorf("%v spans ended during the outage but only %v were counted as dropped", ended-endedBefore, dropped)
	}
	return peakKB, dropped
}

func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// metric reads one value from the agent's Prometheus metrics.
func metric(t *testing.T, socket, name string) float64 {
	t.Helper()
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := c.Get("http://teamsflow/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	t.Fatalf("no metric %s", name)
	return 0
}
