package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
	"github.com/teamsflow/teamsflow/agent/testenv/webrtc"
)

// minRight is the requirement: at least 95% of the SSRCs of each
// direction, over all the calls, labelled as the client says, everywhere
// teamsflow shows them.
const minRight = 0.95

// realCall is one scenario and what must hold of its truth for the call
// to have been the one intended (the harness checked by its own figures).
type realCall struct {
	sc    webrtc.Scenario
	check func(t *testing.T, tr *webrtc.Truth)
}

func page(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

var realCalls = []realCall{
	{webrtc.Scenario{Name: "camera-off", Duration: 24 * time.Second, Page: page("camera_off", "12")},
		wantEvents("camera_off")},
	{webrtc.Scenario{Name: "share-late-stopped-early", Duration: 30 * time.Second, Page: page("share_start", "8", "share_stop", "22")},
		all(wantEvents("share_start", "share_stop"), wantSent("screenshare"))},
	{webrtc.Scenario{Name: "share-static", Duration: 30 * time.Second, Page: page("share_start", "3", "animate", "0")},
		all(wantEvents("share_start"), wantSent("screenshare"))},
	{webrtc.Scenario{Name: "muted-mic-dtx", Duration: 24 * time.Second, Page: page("mute", "4"), DTX: true},
		all(wantEvents("mute"), wantDTX)},
	{webrtc.Scenario{Name: "nack-rtx-loss", Duration: 24 * time.Second, Page: page("share_start", "4"),
		Impair: webrtc.Impairment{DropInPct: 4, DropOutPct: 4, Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}},
		wantRetransmissions},
	{webrtc.Scenario{Name: "h264", Duration: 20 * time.Second, Page: page("share_start", "4"), Codec: webrtc.CodecH264},
		wantCodec("video/H264")},
	{webrtc.Scenario{Name: "vp9", Duration: 20 * time.Second, Page: page("share_start", "4"), Codec: webrtc.CodecVP9},
		wantCodec("video/VP9")},
	{webrtc.Scenario{Name: "busy-cpus", Duration: 24 * time.Second, Page: page("share_start", "4"), BusyCPUs: true},
		wantSent("audio", "video", "screenshare")},
}

// Headless Chromium calls a pion peer on a Teams relay address in each
// scenario while the real agent watches; every SSRC's label in the agent's
// reads, final records and spans is held against the page's getStats().
// -short plays the first scenario only.
func TestRealClientLabels(t *testing.T) {
	env := webrtc.NewEnv(t, fmt.Sprintf("tfw%d", os.Getpid()%100000))
	var summary []string
	var all []verdict
	for i, rc := range realCalls {
		if testing.Short() && i > 0 {
			break
		}
		t.Run(rc.sc.Name, func(t *testing.T) {
			vs := playAndJudge(t, env, rc)
			summary = append(summary, scoreLine(rc.sc.Name, vs))
			all = append(all, vs...)
		})
	}
	summary = append(summary, scoreLine("all", all))
	requireRight(t, all)
	t.Logf("SSRCs right per scenario (live: every read after the first right one, final read, span; "+
		"analyze: the pcap; role: rtp_role and rtp_protects):\n%s", strings.Join(summary, "\n"))
}

// judges are the ways an SSRC is called right, as the summary lists them.
var judges = []struct {
	name   string
	ok     func(verdict) bool
	assert bool // the requirement, not only a figure
}{{"live", verdict.right, true}, {"analyze", verdict.rightOffline, true}, {"role", verdict.roleRight, false}}

// playAndJudge runs one call under a fresh agent and collector, logs each
// SSRC's verdict and health, and returns the verdicts.
func playAndJudge(t *testing.T, env *webrtc.Env, rc realCall) []verdict {
	col := otelcol.Start(t, otelcol.Options{})
	socket := filepath.Join(t.TempDir(), "api.sock")
	agent := startAgent(t, socket, env.ClientNetnsPath, col.GRPCAddr)
	stop := make(chan struct{})
	readsDone := pollReads(t, socket, stop)
	call := env.Start(t, rc.sc)
	tr := call.Wait(t)
	close(stop)
	got := <-readsDone
	reads := got.reads
	time.Sleep(1500 * time.Millisecond) // one more poll takes the call's last packets in
	final := streams(t, socket)
	agent.stop(t)
	spans := waitSpans(t, col, final)
	t.Logf("truth (pair %s, rtt %.1f ms, peer dropped %d in / %d out):\n%s",
		tr.PairTypes, tr.PairRTTMs, tr.DroppedIn, tr.DroppedOut, tr.Describe())
	rc.check(t, tr)

	vs := judge(tr, reads, final, analyze(t, tr.Pcap), spans)
	checkOwners(t, vs, got.cmdlines)
	for _, v := range vs {
		t.Log(v)
	}
	for _, v := range vs {
		t.Logf("%s; pair rtt %.1f ms", v.health(), tr.PairRTTMs)
	}
	if u := unknownSSRCs(tr, final); len(u) > 0 {
		t.Logf("SSRCs towards the peer that the client does not name: %s", strings.Join(u, "; "))
	}
	for _, dir := range []string{webrtc.Sent, webrtc.Recv} {
		if _, total := accuracy(vs, dir, verdict.right); total == 0 {
			t.Errorf("no %s SSRC in the truth", dir)
		}
	}
	return vs
}

// networkService is how Chromium starts the process that owns every
// socket of the browser, media sockets included.
const networkService = "--utility-sub-type=network.mojom.NetworkService"

// checkOwners: every judged SSRC's record names Chromium's network-service
// process as its owner and the stream as Teams (by the relay's address).
func checkOwners(t *testing.T, vs []verdict, cmdlines map[uint32]string) {
	t.Helper()
	for _, v := range vs {
		r := v.final
		if r == nil {
			continue
		}
		if cl := cmdlines[r.PID]; !strings.Contains(cl, networkService) {
			t.Errorf("ssrc %#08x: owner pid %d %q (%q), want Chromium's network service", v.s.SSRC, r.PID, r.Comm, cl)
		}
		if r.App != "teams" {
			t.Errorf("ssrc %#08x: app %q (evidence %v), want teams", v.s.SSRC, r.App, r.AppEvidence)
		}
	}
}

// requireRight holds the calls' SSRCs, all scenarios together, to the
// issue's requirement in each direction, live and offline.
func requireRight(t *testing.T, vs []verdict) {
	t.Helper()
	for _, j := range judges {
		for _, dir := range []string{webrtc.Sent, webrtc.Recv} {
			right, total := accuracy(vs, dir, j.ok)
			if j.assert && total > 0 && float64(right) < minRight*float64(total) {
				t.Errorf("%s: %d of %d %s SSRCs labelled right (%.0f%%), want >= %.0f%%",
					j.name, right, total, dir, 100*float64(right)/float64(total), 100*minRight)
			}
		}
	}
}

// scoreLine is one row of the summary: right/total per judge and direction.
func scoreLine(name string, vs []verdict) string {
	line := fmt.Sprintf("%-26s", name)
	for _, j := range judges {
		for _, dir := range []string{webrtc.Sent, webrtc.Recv} {
			right, total := accuracy(vs, dir, j.ok)
			line += fmt.Sprintf("  %s %s %2d/%-2d", j.name, dir, right, total)
		}
	}
	return line
}

// analyze runs `teamsflow analyze --json` on the call's pcap.
func analyze(t *testing.T, pcap string) []record.Record {
	t.Helper()
	out, err := exec.Command(binary, "analyze", "--json", "--all-apps", pcap).Output()
	if err != nil {
		t.Fatalf("teamsflow analyze %s: %v", pcap, err)
	}
	var recs []record.Record
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r record.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("teamsflow analyze: bad line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// waitSpans waits until every SSRC the agent listed towards the peer has a
// span (the agent exports them as it stops), at most 20 s.
func waitSpans(t *testing.T, col *otelcol.Collector, final []record.Record) []otelcol.Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans := col.Spans(t)
		missing := 0
		for _, r := range final {
			if r.SSRC != nil && r.PeerAddr == webrtc.MediaIP && lastSpanLabel(spans, *r.SSRC) == "" {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			if missing > 0 {
				t.Errorf("%d SSRCs without a span 20s after the agent stopped", missing)
			}
			return spans
		}
		time.Sleep(200 * time.Millisecond)
	}
}
