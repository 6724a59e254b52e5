package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// progSet is the TC programs attached to one interface. The kernel keeps
// run-time statistics per program, so the set is read by program ID from
// the interface itself: programs of the same name loaded by anything else
// on the machine do not count.
type progSet []*ebpf.Program

// attachedProg is a program found on a hook, with the link that holds it.
type attachedProg struct {
	point  tcxPoint
	link   link.ID
	isLink bool
}

func (p attachedProg) linkID() (link.ID, bool) { return p.link, p.isLink }

// attachedTC returns the TCX programs on both directions of iface in ns
// whose names start with prefix.
func attachedTC(ns netns.Named, iface, prefix string) ([]attachedProg, error) {
	var found []attachedProg
	ifindex, err := interfaceIn(ns, iface)
	if err != nil {
		return nil, err
	}
	err = ns.Do(func() error {
		for _, dir := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			res, err := link.QueryPrograms(link.QueryOptions{Target: ifindex, Attach: dir})
			if err != nil {
				return fmt.Errorf("querying %s programs: %w", dir, err)
			}
			for _, ap := range res.Programs {
				p, err := openNamed(ap.ID, prefix)
				if err != nil {
					return err
				}
				if p != nil {
					id, isLink := ap.LinkID()
					found = append(found, attachedProg{point: tcxPoint{ns: ns, ifindex: ifindex, attach: dir, prog: p},
						link: id, isLink: isLink})
				}
			}
		}
		return nil
	})
	if err != nil {
		programsOf(found).Close()
		return nil, fmt.Errorf("finding the tc programs on %s: %w", iface, err)
	}
	return found, nil
}

func programsOf(found []attachedProg) progSet {
	var s progSet
	for _, f := range found {
		s = append(s, f.point.prog)
	}
	return s
}

func programID(p *ebpf.Program) (ebpf.ProgramID, bool) {
	info, err := p.Info()
	if err != nil {
		return 0, false
	}
	return info.ID()
}

// openNamed opens program id if its name starts with prefix; nil if not.
func openNamed(id ebpf.ProgramID, prefix string) (*ebpf.Program, error) {
	p, err := ebpf.NewProgramFromID(id)
	if err != nil {
		return nil, fmt.Errorf("opening program %d: %w", id, err)
	}
	info, err := p.Info()
	if err != nil || !strings.HasPrefix(info.Name, prefix) {
		p.Close()
		return nil, err
	}
	return p, nil
}

// runStats is a sum of kernel run-time statistics.
type runStats struct {
	runtime time.Duration
	runs    uint64
}

func (r runStats) sub(o runStats) runStats {
	return runStats{runtime: r.runtime - o.runtime, runs: r.runs - o.runs}
}

func (r runStats) add(o runStats) runStats {
	return runStats{runtime: r.runtime + o.runtime, runs: r.runs + o.runs}
}

// nsPerRun is the mean run time; 0 when nothing ran.
func (r runStats) nsPerRun() float64 {
	if r.runs == 0 {
		return 0
	}
	return float64(r.runtime.Nanoseconds()) / float64(r.runs)
}

// snapshot sums the statistics of each kernel program once: the
// classifier sits at both hooks of every interface, opened once per hook,
// and its statistics cover them all.
func (s progSet) snapshot() (runStats, error) {
	var sum runStats
	seen := map[ebpf.ProgramID]bool{}
	for _, p := range s {
		if id, ok := programID(p); ok {
			if seen[id] {
				continue
			}
			seen[id] = true
		}
		st, err := p.Stats()
		if err != nil {
			return sum, fmt.Errorf("reading program statistics: %w", err)
		}
		sum = sum.add(runStats{runtime: st.Runtime, runs: st.RunCount})
	}
	return sum, nil
}

func (s progSet) Close() {
	for _, p := range s {
		p.Close()
	}
}

// profile runs fn with the kernel's BPF run-time statistics switched on
// and returns what the programs in s spent meanwhile. Statistics are off
// otherwise, because timing every run costs two clock reads per packet
// that the agent does not pay in production.
func profile(s progSet, fn func() error) (runStats, error) {
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return runStats{}, fmt.Errorf("enabling bpf run-time statistics: %w", err)
	}
	defer stats.Close()
	before, err := s.snapshot()
	if err != nil {
		return runStats{}, err
	}
	if err := fn(); err != nil {
		return runStats{}, err
	}
	after, err := s.snapshot()
	return after.sub(before), err
}

// noopName is the no-op classifier's kernel name: not "tf_tc", so it is
// never mistaken for the agent's.
const noopName = "tfb_noop"

// loadNoop loads a classifier that only returns TCX_NEXT. Its run time
// is the floor that the hook, the dispatch and the statistics' own clock
// reads add to any program, so what the agent's classifier spends above
// it is its own work.
func loadNoop() (*ebpf.Program, error) {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         noopName,
		Type:         ebpf.SchedCLS,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, -1), asm.Return()},
	})
	if err != nil {
		return nil, fmt.Errorf("loading the no-op classifier: %w", err)
	}
	return p, nil
}
