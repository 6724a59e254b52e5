package sim

import (
	"cmp"
	"fmt"
	"slices"

	"strings"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/cloud"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// collect reads the client's result and describes the call's processes.
func (r *running) collect() (truth.Call, []truth.Stream, error) {
	tc := truth.Call{CallID: r.call.ID, Client: r.call.Client, Mode: r.call.Mode, App: r.call.App}
	var res plan.Result
	if err := plan.ReadJSON(r.resultPath, &res); err != nil {
		tc.Error = err.Error()
		return tc, nil, fmt.Errorf("call %s: no result: %w", r.call.ID, err)
	}
	tc.PID, tc.Comm, tc.Exe, tc.Cmdline, tc.Error = res.PID, res.Comm, res.Exe, res.Cmdline, res.Error
	if res.PID != r.cmd.Process.Pid {
		// The sockets belong to the network-service child; its parent
		// is the process started here.
		tc.ParentPID = r.cmd.Process.Pid
		tc.ParentComm, tc.ParentCmdline = r.parentComm(), r.parentCmdline()
	}
	if res.Error != "" {
		return tc, res.Streams, fmt.Errorf("call %s: %s", r.call.ID, res.Error)
	}
	return tc, res.Streams, nil
}

// The parent has exited by now, so its identity comes from what was
// started: the exe name (comm) and the argv launch built.
func (r *running) parentComm() string {
	args := r.cmd.Args
	exe := args[len(args)-1]
	for i, a := range args {
		if a == "exec" && i+2 < len(args) {
			exe = args[i+2]
			break
		}
	}
	return exe[strings.LastIndex(exe, "/")+1:]
}

func (r *running) parentCmdline() []string {
	for i, a := range r.cmd.Args {
		if a == "exec" && i+2 < len(r.cmd.Args) {
			return r.cmd.Args[i+2:]
		}
	}
	return r.cmd.Args
}

// addPeerStats adds what the far ends decrypted to each media and RTCP
// entry, proving the SRTP keys were real.
func addPeerStats(tf *truth.File, stats map[uint32]cloud.PeerStats) {
	for i := range tf.Streams {
		s := &tf.Streams[i]
		st, ok := stats[s.SSRC]
		if !ok || s.SSRC == 0 {
			continue
		}
		if s.Label == truth.LabelRTCP {
			s.PeerDecrypted = st.RTCPDecrypted
		} else {
			s.PeerDecrypted = st.Decrypted
		}
	}
}

// labelOrder puts each call's entries in the order a call happens.
var labelOrder = map[string]int{
	truth.LabelDNS: 0, truth.LabelSignalling: 1, truth.LabelSTUN: 2, truth.LabelTURN: 3,
	truth.LabelAudio: 4, truth.LabelVideo: 5, truth.LabelScreenshare: 6, truth.LabelRTCP: 7,
}

// sortStreams makes the ground truth deterministic in order (the clients
// build parts of it from maps).
func sortStreams(s []truth.Stream) {
	slices.SortStableFunc(s, func(a, b truth.Stream) int {
		return cmp.Or(cmp.Compare(a.CallID, b.CallID), cmp.Compare(labelOrder[a.Label], labelOrder[b.Label]),
			cmp.Compare(a.LocalPort, b.LocalPort), cmp.Compare(a.PeerAddr, b.PeerAddr),
			cmp.Compare(a.PeerPort, b.PeerPort), cmp.Compare(a.SSRC, b.SSRC))
	})
}
