package webrtc

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/capture"
	"github.com/teamsflow/teamsflow/agent/testenv/topo"
)

// Where the call's far end listens in the simulator's cloud namespace: the
// media on one address:port of a Teams media relay (52.112.0.0/14, UDP
// 3478), the page and its signalling on the client's gateway.
const (
	MediaIP    = "52.112.65.10"
	MediaAddr  = MediaIP + ":3478"
	SignalAddr = topo.GatewayIP + ":8080"
	origin     = "http://" + SignalAddr
)

// Scenario is one call: what the page does when (Page, see page.html for
// the parameters), which video codec the peer accepts, and how the peer
// impairs the media.
type Scenario struct {
	Name     string
	Duration time.Duration // the call's length on the page
	Page     url.Values    // camera_off, mute, share_start, share_stop, share_source, animate, drain
	Codec    string        // CodecVP8 (default), CodecVP9, CodecH264
	DTX      bool          // the peer asks for Opus DTX (usedtx=1)
	Impair   Impairment
	BusyCPUs bool // keep every CPU busy with bounded loops during the call
}

// Env is the simulator's pair of namespaces with the media relay's address
// added to the cloud end.
type Env struct {
	Client, Cloud   string
	ClientNetnsPath string
	CloudNetnsPath  string
	chromium        string
}

// NewEnv brings the namespaces <prefix>-client and <prefix>-cloud up (the
// simulator's topology: one veth pair, the cloud end as the client's
// gateway) and removes them when the test ends. It skips the test when
// Chromium is missing.
func NewEnv(t testing.TB, prefix string) *Env {
	t.Helper()
	bin := RequireChromium(t) // first: a plain `go test` without chromium skips in one line
	testenv.RequirePrivileged(t)
	e := &Env{Client: prefix + "-client", Cloud: prefix + "-cloud", chromium: bin}
	_ = topo.Remove(e.Client, e.Cloud) // leftovers of an interrupted run
	tp, err := topo.Up(e.Client, e.Cloud, []string{MediaIP})
	if err != nil {
		t.Fatalf("bringing the namespaces up: %v", err)
	}
	t.Cleanup(func() { _ = tp.Down() })
	e.ClientNetnsPath, e.CloudNetnsPath = "/run/netns/"+e.Client, "/run/netns/"+e.Cloud
	return e
}

// Call is a call in progress: Chromium in the client namespace, the pion
// peer and the signalling server in the cloud namespace.
type Call struct {
	sc      Scenario
	peer    *mediaPeer
	signal  *signalServer
	browser *browser
	stopCPU context.CancelFunc
	started time.Time
	truth   string
	pcap    *capture.Capture
	pcapAt  string
	stopCap func() (int, error) // once: Wait and the cleanup both stop it
	drops   *socketDrops
}

// Start opens the page in Chromium and returns once the call is set up
// (the page's "started" event), or fails the test with the page's errors
// and the browser's last lines.
func (e *Env) Start(t testing.TB, sc Scenario) *Call {
	t.Helper()
	if sc.Codec == "" {
		sc.Codec = CodecVP8
	}
	c := &Call{sc: sc, truth: filepath.Join(t.TempDir(), "truth.json")}
	var err error
	c.peer, err = newMediaPeer(e.CloudNetnsPath, MediaAddr, sc.Codec, sc.DTX, sc.Impair, uint64(time.Now().UnixNano()),
		func(f string, a ...any) { t.Logf(f, a...) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.peer.Close() })
	if c.signal, err = startSignalServer(e.CloudNetnsPath, SignalAddr, c.peer); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.signal.Close() })
	q := url.Values{}
	for k, v := range sc.Page {
		q[k] = v
	}
	q.Set("duration", fmt.Sprint(sc.Duration.Seconds()))
	u := origin + "/?" + q.Encode()
	// The client veth as an observer on it sees it, for `teamsflow analyze`.
	c.pcapAt = filepath.Join(filepath.Dir(c.truth), "client.pcap")
	if c.pcap, err = capture.Start(netns.Named{Name: e.Client}, topo.ClientIface, c.pcapAt); err != nil {
		t.Fatal(err)
	}
	c.stopCap = sync.OnceValues(c.pcap.Stop)
	t.Cleanup(func() { _, _ = c.stopCap() })
	if c.browser, err = startChromium(e.chromium, e.Client, u, origin, t.TempDir()); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(c.browser.stop)
	c.drops = watchSocketDrops(e.ClientNetnsPath)
	t.Cleanup(func() { _, _ = c.drops.Stop() })
	if ev := c.waitFor(t, "started", 40*time.Second); ev != nil {
		c.started = ev.When
	}
	if sc.BusyCPUs {
		var ctx context.Context
		limit := sc.Duration + 10*time.Second
		ctx, c.stopCPU = context.WithTimeout(context.Background(), limit)
		wg, err := Busy(ctx, runtime.NumCPU(), int(limit.Seconds()))
		t.Cleanup(func() { c.stopCPU(); wg.Wait() })
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// waitFor waits for the page's event named what; an "error" event or the
// timeout fails the test.
func (c *Call) waitFor(t testing.TB, what string, timeout time.Duration) *Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-c.signal.notify:
			switch ev.What {
			case what:
				return &ev
			case "error":
				t.Fatalf("%s: the page failed: %s\nchromium:\n%s", c.sc.Name, ev.Error, c.browser.tail(20))
			}
		case <-c.browser.done:
			t.Fatalf("%s: chromium exited before %q:\n%s", c.sc.Name, what, c.browser.tail(30))
		case <-deadline:
			evs, _ := c.signal.snapshot()
			t.Fatalf("%s: no %q from the page within %v; events %+v\nchromium:\n%s", c.sc.Name, what, timeout, evs, c.browser.tail(30))
		}
	}
}

// Started is when the call was set up (the page's answer arrived).
func (c *Call) Started() time.Time { return c.started }

// Wait waits for the page to end the call, stops the browser and the peer,
// and returns the truth from the page's last report (also saved as
// truth.json in the test's temporary directory, path in the log).
func (c *Call) Wait(t testing.TB) *Truth {
	t.Helper()
	c.waitFor(t, "done", c.sc.Duration+40*time.Second)
	drops, err := c.drops.Stop()
	if err != nil {
		t.Fatalf("%s: reading the client's socket drops: %v", c.sc.Name, err)
	}
	if c.stopCPU != nil {
		c.stopCPU()
	}
	c.browser.stop()
	packets, err := c.stopCap()
	if err != nil {
		t.Fatalf("%s: capturing the client veth: %v", c.sc.Name, err)
	}
	events, posts := c.signal.snapshot()
	if len(posts) == 0 {
		t.Fatalf("%s: the page sent no stats", c.sc.Name)
	}
	last := posts[len(posts)-1]
	tr := &Truth{Scenario: c.sc.Name, Roles: c.peer.Roles(), Reports: len(posts), Events: events,
		PeerSent: c.peer.Sent(), Started: c.started, Pcap: c.pcapAt, PcapPackets: packets, SocketDrops: drops}
	tr.DroppedIn, tr.DroppedOut = c.peer.Dropped()
	if tr.Streams, err = buildTruth(last.Stats, tr.Roles, tr.PeerSent); err != nil {
		t.Fatalf("%s: %v", c.sc.Name, err)
	}
	tr.PairRTTMs, tr.PairTypes = selectedPair(last.Stats)
	tr.PairMeanRTTMs, tr.PairChecks = selectedPairMean(last.Stats)
	if err := tr.Save(c.truth); err != nil {
		t.Fatal(err)
	}
	// Every report, for figures over time (health against teamsflow's).
	if err := saveJSON(filepath.Join(filepath.Dir(c.truth), "stats.json"), posts); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: truth of %d streams from %d reports in %s (pair %s)", c.sc.Name, len(tr.Streams), tr.Reports, c.truth, tr.PairTypes)
	return tr
}

// Describe is a line per stream of the truth, for test logs.
func (t *Truth) Describe() string {
	var b strings.Builder
	for _, s := range t.Streams {
		fmt.Fprintf(&b, "  %s %-11s %-5s ssrc %#08x mid %s %s packets %d jitter %.1f ms lost %d rtt %.1f ms\n",
			s.Direction, s.Label, s.Role, s.SSRC, s.Mid, s.Codec, s.Packets, s.JitterMs, s.Lost, s.RTTMs)
	}
	return b.String()
}
