package analysis_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/capfile"
	"github.com/teamsflow/teamsflow/agent/record"
)

// capturesDir holds public captures (see its README); tests skip when the
// checkout has no ../shared next to it.
func capturesDir(t *testing.T) string {
	dir := os.Getenv("TEAMSFLOW_CAPTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "captures")
	}
	if _, err := os.Stat(filepath.Join(dir, "teams.pcap")); err != nil {
		t.Skipf("no captures in %s (set TEAMSFLOW_CAPTURES)", dir)
	}
	return dir
}

func analyze(t *testing.T, name string) []record.Record {
	t.Helper()
	p := analysis.New(analysis.Config{Linger: 1 << 62})
	if err := capfile.Feed(filepath.Join(capturesDir(t), name), p.Observe, nil); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p.Records(true)
}

func find(rs []record.Record, match func(*record.Record) bool) []record.Record {
	var out []record.Record
	for i := range rs {
		if match(&rs[i]) {
			out = append(out, rs[i])
		}
	}
	return out
}

// The expectations of ../shared/captures/README.md for teams.pcap.
func TestTeamsCapture(t *testing.T) {
	rs := analyze(t, "teams.pcap")
	teams := find(rs, func(r *record.Record) bool { return r.App == "teams" })
	if len(teams) < 30 {
		t.Fatalf("%d Teams streams of %d", len(teams), len(rs))
	}
	for _, name := range []string{"config.teams.microsoft.com", "presence.teams.microsoft.com", "chatsvcagg.teams.microsoft.com", "emea.ng.msg.teams.microsoft.com", "eu-api.asm.skype.com"} {
		sig := find(rs, func(r *record.Record) bool { return r.ServerName == name && r.Transport == "tcp" })
		if len(sig) == 0 {
			t.Errorf("no TLS flow named %s", name)
		}
		for _, r := range sig {
			if r.Label != "signalling" || r.App != "teams" || !slices.Contains(r.AppEvidence, "sni") {
				t.Errorf("%s: %s app %q evidence %v", name, r.Label, r.App, r.AppEvidence)
			}
		}
	}
	audio := find(rs, func(r *record.Record) bool { return r.LocalPort == 50016 && r.SSRC != nil })
	if len(audio) == 0 {
		t.Fatal("no RTP stream on 50016")
	}
	for _, r := range audio {
		if r.Label != "audio" || r.LabelReason != "qos_port" || r.CallID == "" {
			t.Errorf("50016 ssrc %d: %s/%s call %q", *r.SSRC, r.Label, r.LabelReason, r.CallID)
		}
	}
	video := find(rs, func(r *record.Record) bool { return r.LocalPort == 50036 && r.PeerAddr == "93.71.110.205" })
	if len(video) != 1 || video[0].Label != "video" || video[0].LabelReason != "qos_port" {
		t.Errorf("50036 -> 93.71.110.205: %+v", video)
	}
	relays := find(rs, func(r *record.Record) bool { return r.Transport == "udp" && r.PeerPort == 3478 })
	for _, r := range relays {
		if (r.Label != "turn" && r.Label != "stun") || r.App != "teams" || !slices.Contains(r.AppEvidence, "dest_range") {
			t.Errorf("relay %s:%d: %s app %q %v", r.PeerAddr, r.PeerPort, r.Label, r.App, r.AppEvidence)
		}
	}
	if len(relays) < 5 {
		t.Errorf("%d relay flows", len(relays))
	}
}

func TestPublicCaptures(t *testing.T) {
	cases := []struct {
		file  string
		teams bool
		check func(t *testing.T, rs []record.Record)
	}{
		{"stun_msteams_unidir.pcapng", true, func(t *testing.T, rs []record.Record) {
			if rs[0].Label != "stun" || rs[0].LocalPort != 50006 {
				t.Errorf("unidir: %s on %d", rs[0].Label, rs[0].LocalPort)
			}
		}},
		{"skype-conference-call.pcap", false, func(t *testing.T, rs []record.Record) {
			media := find(rs, func(r *record.Record) bool { return r.SSRC != nil })
			if len(media) == 0 {
				t.Fatal("no RTP")
			}
			for _, r := range media {
				if r.Label != "audio" {
					t.Errorf("ssrc %d pt %d: %s, want audio", *r.SSRC, *r.RTPPayloadType, r.Label)
				}
			}
		}},
		{"zoom_p2p.pcapng", false, nil},
		{"zoom2.pcap", false, nil},
		{"wa_voice.pcap", false, nil},
		{"google_meet.pcapng", false, nil},
		{"webex.pcap", false, nil},
		{"stun.pcap", false, nil},
		{"stun_dtls_rtp.pcapng", false, func(t *testing.T, rs []record.Record) {
			if len(find(rs, func(r *record.Record) bool { return r.Label == "stun" && r.PeerPort == 19305 })) != 1 {
				t.Errorf("no stun flow to 19305 among %d", len(rs))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			rs := analyze(t, c.file)
			if len(rs) == 0 {
				t.Fatal("no streams")
			}
			for _, r := range rs {
				if (r.App == "teams") != c.teams {
					t.Errorf("%s %s:%d -> %s:%d (%s): app %q %v", r.Transport, r.LocalAddr, r.LocalPort, r.PeerAddr, r.PeerPort, r.Label, r.App, r.AppEvidence)
				}
			}
			if c.check != nil {
				c.check(t, rs)
			}
		})
	}
}
