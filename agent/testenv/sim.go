package testenv

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// Sim is the Teams call simulator with its own pair of namespaces, for
// tests that watch real simulated calls.
type Sim struct {
	bin             string
	Client, Cloud   string // namespace names
	ClientNetnsPath string // /run/netns/<Client>, for the agent
}

// NewSim builds the simulator (once per test binary) and brings up its
// namespaces named <prefix>-client and <prefix>-cloud; they go when the
// test ends. prefix keeps parallel test packages apart.
func NewSim(t testing.TB, prefix string) *Sim {
	t.Helper()
	RequirePrivileged(t)
	s := &Sim{bin: BuildBinary(t, "./cmd/teamsflow-sim"), Client: prefix + "-client", Cloud: prefix + "-cloud"}
	s.ClientNetnsPath = "/run/netns/" + s.Client
	_ = s.Command("netns", "down").Run() // leftovers of an interrupted run
	if out, err := s.Command("netns", "up").CombinedOutput(); err != nil {
		t.Fatalf("simulator netns up: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = s.Command("netns", "down").Run() })
	return s
}

// Command is the simulator with these arguments, in this Sim's
// namespaces; for a call played in the background.
func (s *Sim) Command(args ...string) *exec.Cmd {
	all := append([]string{"--client-netns", s.Client, "--cloud-netns", s.Cloud, "--log-level", "warn"}, args...)
	return exec.Command(s.bin, all...)
}

// Call is a scenario playing in the background (Sim.Start).
type Call struct {
	cmd      *exec.Cmd
	out      bytes.Buffer
	done     chan error
	truth    string
	scenario string
}

// Start plays a scenario in the background, for tests that watch the
// agent while the call runs; Wait ends it. duration "" keeps the
// scenario's own; extra are more play flags (e.g. --pcap FILE).
func (s *Sim) Start(t testing.TB, scenario, duration string, extra ...string) *Call {
	t.Helper()
	c := &Call{truth: filepath.Join(t.TempDir(), "truth.json"), scenario: scenario, done: make(chan error, 1)}
	args := append([]string{"play", "--scenario", scenario, "--truth", c.truth}, extra...)
	if duration != "" {
		args = append(args, "--duration", duration)
	}
	c.cmd = s.Command(args...)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting simulator play %s: %v", scenario, err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	return c
}

// Done yields the play's exit error when the call ends.
func (c *Call) Done() <-chan error { return c.done }

// Wait waits for the call to end and returns its ground truth.
func (c *Call) Wait(t testing.TB) *truth.File {
	t.Helper()
	return c.Ended(t, <-c.done)
}

// Ended reads the truth of a call whose end (err) came through Done.
func (c *Call) Ended(t testing.TB, err error) *truth.File {
	t.Helper()
	if err != nil {
		t.Fatalf("simulator play %s: %v\n%s", c.scenario, err, strings.TrimSpace(c.out.String()))
	}
	tr, err := truth.Read(c.truth)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Play plays a scenario (a built-in name or a file) for duration ("" for
// the scenario's own), with extra play flags (e.g. --pcap FILE), and
// returns its ground truth.
func (s *Sim) Play(t testing.TB, scenario, duration string, extra ...string) *truth.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "truth.json")
	args := append([]string{"play", "--scenario", scenario, "--truth", path}, extra...)
	if duration != "" {
		args = append(args, "--duration", duration)
	}
	if out, err := s.Command(args...).CombinedOutput(); err != nil {
		t.Fatalf("simulator play %s: %v\n%s", scenario, err, strings.TrimSpace(string(out)))
	}
	tr, err := truth.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
