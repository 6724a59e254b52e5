package sim

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// TestCancelStopsClients is what SIGINT/SIGTERM do to `play`: the context
// ends, the client processes (parent and network service) stop, their
// partial results still make it into the truth, and the namespaces go.
func TestCancelStopsClients(t *testing.T) {
	testenv.RequirePrivileged(t)
	s, err := scenario.Load("desktop-noqos")
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%d-%d", os.Getpid()%100000, nsSeq.Add(1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pids []int
	owners := make(chan owner, 1)
	opts := Options{
		Scenario: s, Duration: time.Minute, ClientNS: "tfsim-c-" + id, CloudNS: "tfsim-s-" + id,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		OnStart: func(_ string, pid int) {
			pids = append(pids, pid)
			go func() {
				o, _ := udpOwner(pid, 0, 5*time.Second)
				owners <- o
				time.Sleep(time.Second)
				cancel()
			}()
		},
	}
	begin := time.Now()
	tf, err := Play(ctx, opts)
	if err != nil {
		t.Fatalf("play: %v", err)
	}
	if took := time.Since(begin); took > 15*time.Second {
		t.Errorf("play took %v after cancel; want a prompt stop", took)
	}
	o := <-owners
	for _, pid := range append(pids, o.pid) {
		if pid != 0 && syscall.Kill(pid, 0) == nil {
			t.Errorf("client process %d still running", pid)
		}
	}
	sent := 0
	for _, st := range tf.Streams {
		if st.Label == truth.LabelAudio {
			sent += st.PacketsSent
		}
	}
	if sent < 20 || sent > 50*10 {
		t.Errorf("%d audio packets reported after about 1s of media", sent)
	}
	for _, ns := range []string{opts.ClientNS, opts.CloudNS} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
}
