package analysis_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/capfile"
	"github.com/teamsflow/teamsflow/agent/observe"
)

// onlyChanged turns full snapshots into what the agent hands out: the
// flows whose counts, owner or closed state moved since the previous one.
type onlyChanged struct {
	prev map[observe.FlowID]observe.Flow
}

func (c *onlyChanged) of(s observe.Snapshot) observe.Snapshot {
	if c.prev == nil {
		c.prev = map[observe.FlowID]observe.Flow{}
	}
	out := s
	out.OnlyChanged, out.Flows = true, nil
	for _, f := range s.Flows {
		old, seen := c.prev[f.ID]
		if !seen || f.Sent.Packets != old.Sent.Packets || f.Recv.Packets != old.Recv.Packets ||
			f.Closed != old.Closed || (f.Owner == nil) != (old.Owner == nil) {
			out.Flows = append(out.Flows, f)
		}
		c.prev[f.ID] = f
	}
	return out
}

// Snapshots of only the changed flows give the same stream records, after
// every snapshot, as snapshots of every flow: labels, rates, names and
// calls of the capture files.
func TestOnlyChangedSnapshotsGiveTheSameRecords(t *testing.T) {
	dir := capturesDir(t)
	leftOut := 0
	for _, name := range []string{"teams.pcap", "zoom2.pcap", "webex.pcap", "skype-conference-call.pcap"} {
		t.Run(name, func(t *testing.T) {
			full := analysis.New(analysis.Config{})
			changed := analysis.New(analysis.Config{})
			var delta onlyChanged
			n, left := 0, 0
			err := capfile.Feed(filepath.Join(dir, name), func(s observe.Snapshot) {
				d := delta.of(s)
				left += len(s.Flows) - len(d.Flows)
				full.Observe(s)
				changed.Observe(d)
				n++
				want, got := full.Records(true), changed.Records(true)
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("snapshot %d at %s: records differ\nfull:    %+v\nchanged: %+v", n, s.Time, want, got)
				}
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			leftOut += left
			t.Logf("%d snapshots, %d unchanged flows left out", n, left)
		})
	}
	if leftOut < 1000 {
		t.Errorf("%d unchanged flows left out in all: too few to compare", leftOut)
	}
}
