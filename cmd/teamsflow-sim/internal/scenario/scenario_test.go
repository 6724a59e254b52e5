package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInvalidFieldNamesFieldAndLine(t *testing.T) {
	yml := `name: bad
client: ms-teams
mode: qos
streams:
  - kind: audio
  - kind: video
    fps: 90
`
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	want := "scenario.yaml:7: streams[1].fps: must be between 1 and 60"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestValidationErrorsInCalls(t *testing.T) {
	yml := `calls:
  - client: ms-teams
    mode: qos
    streams:
      - kind: audio
  - client: chrome
    mode: bundle
    streams:
      - kind: video
        loss: 0.9
      - kind: holo
`
	_, err := Parse("s.yaml", []byte(yml))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"s.yaml:10: calls[1].streams[0].loss: must be between 0 and 0.5",
		"s.yaml:11: calls[1].streams[1].kind: must be audio, video or screenshare",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestUnknownFieldNamesPathAndLine(t *testing.T) {
	yml := "client: ms-teams\nmode: qos\nstreams:\n  - kind: audio\n    fsp: 3\n"
	_, err := Parse("x.yaml", []byte(yml))
	want := "x.yaml:5: streams[0].fsp: unknown field"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestTypeErrorNamesLine(t *testing.T) {
	yml := "client: ms-teams\nmode: qos\nduration: soon\nstreams:\n  - kind: audio\n"
	_, err := Parse("x.yaml", []byte(yml))
	if err == nil || !strings.HasPrefix(err.Error(), "x.yaml:3: duration: ") {
		t.Fatalf("error = %v, want x.yaml:3: duration: ...", err)
	}
}

func TestFieldForWrongKind(t *testing.T) {
	yml := "client: ms-teams\nmode: qos\nstreams:\n  - kind: audio\n    fps: 30\n"
	_, err := Parse("x.yaml", []byte(yml))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:5: streams[0].fps: only applies to") {
		t.Fatalf("error = %v", err)
	}
}

func TestBuiltinsParseAndCoverModes(t *testing.T) {
	list, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]bool{}
	negative := false
	for _, b := range list {
		s, err := Load(b.Name)
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		if s.Name != b.Name || b.Description == "" {
			t.Errorf("built-in %q: name %q, description %q", b.Name, s.Name, b.Description)
		}
		for _, c := range s.AllCalls() {
			modes[c.Mode] = true
			negative = negative || c.Client == ClientZoom
		}
	}
	for _, m := range []string{ModeQoS, ModeNoQoS, ModeBundle, ModeRelay, ModeP2P} {
		if !modes[m] {
			t.Errorf("no built-in scenario for mode %s", m)
		}
	}
	if !negative {
		t.Error("no negative (zoom) built-in")
	}
}

func TestDefaults(t *testing.T) {
	s, err := Parse("d.yaml", []byte("duration: 4s\nclient: chrome\nmode: bundle\nstreams:\n  - kind: audio\n  - kind: video\n    start: 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := s.AllCalls()[0]
	if c.ID != "call-1" || c.Duration.Seconds() != 4 || c.WebApp != "url" || c.Peer != DefaultTeamsPeer {
		t.Errorf("call defaults: %+v", c)
	}
	a, v := c.Streams[0], c.Streams[1]
	if *a.PayloadType != 111 || a.PacketRate != 50 || *v.PayloadType != 107 || v.FPS != 30 {
		t.Errorf("stream defaults: %+v %+v", a, v)
	}
	if v.Duration.Seconds() != 3 {
		t.Errorf("video duration %v, want 3s (call 4s minus start 1s)", v.Duration)
	}
	if !c.UsesBundle() || c.UsesQoSPorts() {
		t.Error("bundle call layout wrong")
	}
}

func TestPauseValidation(t *testing.T) {
	yml := `client: ms-teams
mode: qos
direct_after: 5s
streams:
  - kind: video
    pauses:
      - {at: 2s, for: 3s, send: cn}
  - kind: audio
    pauses:
      - {at: 4s, for: 3s}
      - {at: 5s, for: 1s, send: static}
`
	_, err := Parse("p.yaml", []byte(yml))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"p.yaml:3: direct_after: only applies to relay calls",
		"p.yaml:7: streams[0].pauses[0].send: cn only applies to audio streams",
		"p.yaml:11: streams[1].pauses[1].at: pauses must not overlap",
		"p.yaml:11: streams[1].pauses[1].send: static only applies to screenshare streams",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
