package capfile

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// capturesDir holds the public captures next to the project (../shared);
// a test that needs them skips in a checkout without them.
func capturesDir(t *testing.T) string {
	t.Helper()
	dir, err := findCaptures()
	if err != nil {
		t.Skipf("no public captures in %s (set TEAMSFLOW_CAPTURES)", dir)
	}
	return dir
}

func findCaptures() (string, error) {
	dir := "../../../shared/captures/"
	if d := os.Getenv("TEAMSFLOW_CAPTURES"); d != "" {
		dir = d + "/"
	}
	_, err := os.Stat(dir)
	return dir, err
}

// last feeds a capture and returns its final observation.
func last(t *testing.T, path string) (observe.Snapshot, int) {
	t.Helper()
	var snaps []observe.Snapshot
	if err := Feed(path, func(s observe.Snapshot) { snaps = append(snaps, s) }, nil); err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 {
		t.Fatal("no observations")
	}
	return snaps[len(snaps)-1], len(snaps)
}

func TestTeamsCapture(t *testing.T) {
	captures := capturesDir(t)
	snap, n := last(t, captures+"teams.pcap")
	if n < 25 {
		t.Errorf("%d observations for a 25.6 s capture, want one a second", n)
	}
	var audio, video bool
	for _, f := range snap.Flows {
		if f.ID.Local.Addr().String() != "192.168.1.6" && f.ID.Peer.Addr().String() != "192.168.1.6" {
			continue
		}
		if f.ID.Local.Addr().String() != "192.168.1.6" {
			t.Errorf("flow %v oriented with the client as its peer", f.ID)
		}
		if f.ID.Local.Port() == 50016 && f.Protos&observe.ProtoRTP != 0 {
			audio = true
		}
		if f.ID.Local.Port() == 50036 && f.Protos&(observe.ProtoSTUN|observe.ProtoRTCP) != 0 {
			video = true
		}
	}
	if !audio || !video {
		t.Errorf("RTP on 50016: %v; STUN/RTCP on 50036: %v", audio, video)
	}
	var pt104 bool
	for _, r := range snap.RTP {
		pt104 = pt104 || (r.Flow.Local.Port() == 50016 && r.PayloadType == 104)
	}
	if !pt104 {
		t.Error("no RTP source with payload type 104 on port 50016")
	}
	var dns, hello int
	var snaps []observe.Snapshot
	Feed(captures+"teams.pcap", func(s observe.Snapshot) { snaps = append(snaps, s) }, nil)
	for _, s := range snaps {
		for _, p := range s.Payloads {
			switch p.Kind {
			case observe.PayloadDNS:
				dns++
			case observe.PayloadClientHello:
				hello++
			}
		}
	}
	if dns == 0 || hello == 0 {
		t.Errorf("%d DNS answers and %d ClientHellos sampled", dns, hello)
	}
}

func TestEveryCaptureReads(t *testing.T) {
	captures := capturesDir(t)
	entries, err := os.ReadDir(captures)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "cap") && !strings.HasSuffix(e.Name(), "capng") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			snap, _ := last(t, captures+e.Name())
			if len(snap.Flows) == 0 {
				t.Error("no flows")
			}
		})
	}
}

// A truncated capture hands on what came before the damage, then fails
// naming the packet.
func TestTruncated(t *testing.T) {
	raw, err := os.ReadFile(capturesDir(t) + "teams.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := raw[:len(raw)/2]
	var flows int
	err = FeedReader(bytes.NewReader(cut), int64(len(cut)), func(s observe.Snapshot) { flows = len(s.Flows) }, nil)
	if err == nil || !strings.Contains(err.Error(), "packet ") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want the packet number and truncation", err)
	}
	if flows == 0 {
		t.Error("nothing handed on before the damage")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Error("error spans lines")
	}
}

func TestNotACapture(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0xd4}, 100)} {
		err := FeedReader(bytes.NewReader(in), int64(len(in)), func(observe.Snapshot) {}, nil)
		if err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// FuzzFeed: no input makes the reader or the parsers panic.
// Real captures seed it where they are next to the project.
func FuzzFeed(f *testing.F) {
	f.Add([]byte("\xd4\xc3\xb2\xa1"))
	if captures, err := findCaptures(); err == nil {
		for _, name := range []string{"stun_msteams_unidir.pcapng", "skype-conference-call.pcap"} {
			raw, err := os.ReadFile(captures + name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw[:min(len(raw), 4096)])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = FeedReader(bytes.NewReader(in), int64(len(in)), func(observe.Snapshot) {}, nil)
	})
}
