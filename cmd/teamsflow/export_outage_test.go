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
	"github.com/teamsflow/teamsflow/deploy/otel-collector/otelcoltest"
)

// The collector goes away for 30 s in the middle of a call and comes
// back: the agent keeps running and answering, its memory stays bounded,
// the spans it could not deliver are counted as dropped, and spans made
// after the collector returned arrive.
func TestRunSurvivesCollectorOutage(t *testing.T) {
	testenv.RequirePrivileged(t)
	if testing.Short() {
		t.Skip("a 45 s call")
	}
	col := otelcoltest.Start(t, otelcoltest.Options{})
	sim := newSim(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "api.sock")
	agent := startRun(t, socket, "--netns", sim.ClientNetnsPath, "--export-endpoint", col.GRPCAddr,
		"--export-insecure", "--export-active-timeout", "2s", "--export-queue-size", "64")
	play := sim.Command("play", "--scenario", "desktop-qos", "--duration", "45s", "--truth", filepath.Join(dir, "truth.json"))
	if err := play.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	col.Stop()
	rssBefore := rssKB(t, agent.cmd.Process.Pid)
	for i := 0; i < 6; i++ {
		time.Sleep(5 * time.Second)
		if recs := streamsJSON(t, socket); len(recs) == 0 {
			t.Error("the agent answered with no streams during the outage")
		}
	}
	rssDuring := rssKB(t, agent.cmd.Process.Pid)
	dropped := metric(t, socket, "teamsflow_export_spans_dropped_total")
	returned := time.Now()
	col.Restart()
	if err := play.Wait(); err != nil {
		t.Fatalf("play: %v", err)
	}
	agent.stop(t)
	t.Logf("RSS %d kB before the outage, %d kB after 30 s of it; %v spans dropped", rssBefore, rssDuring, dropped)
	if dropped <= 0 {
		t.Error("no spans counted as dropped during a 30 s outage")
	}
	if rssDuring > rssBefore+20*1024 {
		t.Errorf("memory grew from %d kB to %d kB during the outage", rssBefore, rssDuring)
	}
	spans := col.WaitSpans(t, 20*time.Second, func(s []otelcoltest.Span) bool { return rootOf(s) != nil })
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
