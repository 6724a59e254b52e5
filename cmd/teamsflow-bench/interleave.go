package main

// Switched trials: the sender floods for the whole trial while the bench
// takes the mode's programs off the veth and puts them back every
// --switch-every, and the sender notes how many packets it has sent every
// few milliseconds. Each spell with the programs on is set beside the
// spells without them on either side. The speed of this machine drifts by
// several percent over seconds (other guests share its caches and cores);
// trials seconds apart carry that drift into their ratio, spells a tenth
// of a second apart mostly do not.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

const (
	// markEvery is how often the sender notes its count: ~50 marks in a
	// spell of 100 ms, so a spell's rate is read over nearly all of it.
	markEvery = 2 * time.Millisecond
	// settle is left out at the start of every spell: the switch itself
	// (a bpf system call on the bench's side) and the first packets after it.
	settle = 5 * time.Millisecond
)

// mark is the sender's count of packets sent by a CLOCK_MONOTONIC time.
type mark struct {
	ns   int64
	pkts uint64
}

// markLog is the sender's side: marks at most every `every`.
type markLog struct {
	every    time.Duration
	anchor   time.Time // read together with anchorNs, so that time.Now can stand in for the clock call
	anchorNs int64
	next     time.Time
	marks    []mark
}

func monotonicNs() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("reading the monotonic clock: %w", err)
	}
	return ts.Nano(), nil
}

func newMarkLog(every, d time.Duration) (*markLog, error) {
	anchor := time.Now()
	ns, err := monotonicNs()
	if err != nil {
		return nil, err
	}
	return &markLog{every: every, anchor: anchor, anchorNs: ns, next: anchor,
		marks: make([]mark, 0, int(d/every)+2)}, nil
}

func (l *markLog) note(now time.Time, pkts uint64) {
	if now.Before(l.next) {
		return
	}
	l.marks = append(l.marks, mark{ns: l.anchorNs + int64(now.Sub(l.anchor)), pkts: pkts})
	l.next = now.Add(l.every)
}

// String is the sender's second result line.
func (l *markLog) String() string {
	var b strings.Builder
	b.WriteString("marks=")
	for i, m := range l.marks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(m.ns, 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(m.pkts, 10))
	}
	return b.String()
}

func parseMarks(line string) ([]mark, error) {
	list, ok := strings.CutPrefix(strings.TrimSpace(line), "marks=")
	if !ok {
		return nil, fmt.Errorf("reading the sender's marks: no marks= in %.40q", line)
	}
	if list == "" {
		return nil, nil
	}
	var out []mark
	for _, f := range strings.Split(list, ",") {
		t, n, ok := strings.Cut(f, ":")
		ns, err1 := strconv.ParseInt(t, 10, 64)
		pkts, err2 := strconv.ParseUint(n, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("reading the sender's marks: bad mark %q", f)
		}
		out = append(out, mark{ns: ns, pkts: pkts})
	}
	return out, nil
}

// spellStart is when the programs went on (or off) for a spell. A switch
// takes a while (detaching waits for an RCU grace period, once per hook),
// and its hooks change one by one: the spell before ends when the switch
// began (flipping), this one starts when it ended (ns).
type spellStart struct {
	flipping int64
	ns       int64
	on       bool
}

// spellRate is a spell's packets per second from the marks inside it,
// after settle; ok is false when the marks span less than half the spell.
func spellRate(marks []mark, from, to int64) (rate float64, ok bool) {
	first, last := -1, -1
	for i, m := range marks {
		if m.ns < from+int64(settle) {
			continue
		}
		if m.ns > to {
			break
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 || last <= first {
		return 0, false
	}
	span := marks[last].ns - marks[first].ns
	if span < (to-from)/2 {
		return 0, false
	}
	return float64(marks[last].pkts-marks[first].pkts) / (float64(span) / 1e9), true
}

// spellResult is what one switched trial measured: each spell with the
// programs on over the mean of the spells off before and after it, and
// the rates of the spells on and off.
type spellResult struct {
	ratios  []float64
	onRate  []float64
	offRate []float64
}

// spells cuts a trial's marks into the spells that starts begin (sorted;
// the last spell ends with the marks) and pairs them.
func spells(marks []mark, starts []spellStart) spellResult {
	var res spellResult
	if len(marks) == 0 {
		return res
	}
	type spell struct {
		on   bool
		rate float64
		ok   bool
	}
	list := make([]spell, len(starts))
	for i, st := range starts {
		end := marks[len(marks)-1].ns
		if i+1 < len(starts) {
			end = starts[i+1].flipping
		}
		r, ok := spellRate(marks, st.ns, end)
		list[i] = spell{on: st.on, rate: r, ok: ok}
		if ok && st.on {
			res.onRate = append(res.onRate, r)
		} else if ok {
			res.offRate = append(res.offRate, r)
		}
	}
	for i := 1; i+1 < len(list); i++ {
		before, sp, after := list[i-1], list[i], list[i+1]
		if !sp.on || !sp.ok || before.on || !before.ok || after.on || !after.ok {
			continue
		}
		res.ratios = append(res.ratios, ratio(sp.rate, (before.rate+after.rate)/2))
	}
	return res
}

// tcxPoint is one program at one hook.
type tcxPoint struct {
	ns      netns.Named
	ifindex int
	attach  ebpf.AttachType
	prog    *ebpf.Program
}

func (p tcxPoint) link() (link.Link, error) {
	var l link.Link
	err := p.ns.Do(func() error {
		var err error
		l, err = link.AttachTCX(link.TCXOptions{Interface: p.ifindex, Program: p.prog, Attach: p.attach})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("putting %s back on interface %d: %w", p.prog, p.ifindex, err)
	}
	return l, nil
}

// hookPoint is a program at a hook that a switch takes off and puts back:
// a TC hook (tcxPoint) or one of the agent's other hooks (hooks.go).
type hookPoint interface {
	link() (link.Link, error)
}

// tcxSwitch puts a mode's programs on their hooks and takes them off,
// with links of the bench's own. release detaches what was attached
// before the switch took over (the agent's own links), once.
type tcxSwitch struct {
	points  []hookPoint
	own     []link.Link
	release func() error
}

func (s *tcxSwitch) off() error {
	if s.release != nil {
		err := s.release()
		s.release = nil
		return err
	}
	own := s.own
	s.own = nil
	return each(len(own), func(i int) error { return own[i].Close() })
}

// each runs do for 0..n-1 in turn and joins the errors: one hook that
// fails does not leave the others as they were. (In parallel it was no
// faster: the kernel changes hooks one at a time.)
func each(n int, do func(i int) error) error {
	var errs []error
	for i := range n {
		errs = append(errs, do(i))
	}
	return errors.Join(errs...)
}

func (s *tcxSwitch) on() error {
	links := make([]link.Link, len(s.points))
	err := each(len(s.points), func(i int) error {
		var err error
		links[i], err = s.points[i].link()
		return err
	})
	for _, l := range links {
		if l != nil {
			s.own = append(s.own, l)
		}
	}
	return err
}

// Close takes the bench's links off; what release would detach stays.
func (s *tcxSwitch) Close() error {
	if s.release != nil {
		return nil
	}
	return s.off()
}

func interfaceIn(ns netns.Named, iface string) (int, error) {
	var index int
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(iface)
		if err == nil {
			index = ifi.Index
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finding %s in %s: %w", iface, ns.Name, err)
	}
	return index, nil
}

// agentSwitch switches the agent's classifiers where the flood passes
// them (flood says which), and the agent's other hooks given: the first
// off detaches all the agent's links in progs and hooks (the agent keeps
// running and reading its maps), and from then on the bench's links carry
// the same programs at the flood's TC hooks and at those other hooks. The
// other TC hooks (lo, the directions the flood does not take) see none of
// its packets, and each TC hook switched takes ~20 ms, since the kernel
// changes them one at a time and waits for an RCU grace period each:
// switching all eight of both ends left half the spells of the other modes.
func agentSwitch(progs []attachedProg, flood func(tcxPoint) bool, hooks []agentHook) (*tcxSwitch, error) {
	s := &tcxSwitch{}
	var ids []link.ID
	for _, p := range progs {
		id, ok := p.linkID()
		if !ok {
			return nil, fmt.Errorf("the agent's %s on interface %d is not a link", p.point.prog, p.point.ifindex)
		}
		ids = append(ids, id)
		if flood(p.point) {
			s.points = append(s.points, p.point)
		}
	}
	for _, h := range hooks {
		s.points = append(s.points, h.point)
	}
	s.release = func() error {
		hooksOff := each(len(hooks), func(i int) error {
			if err := hooks[i].own.Close(); err != nil {
				return fmt.Errorf("detaching the agent's %s hook: %w", hooks[i].kind, err)
			}
			return nil
		})
		return errors.Join(hooksOff, each(len(ids), func(i int) error {
			l, err := link.NewFromID(ids[i])
			if err != nil {
				return fmt.Errorf("opening the agent's link %d: %w", ids[i], err)
			}
			if err := errors.Join(l.Detach(), l.Close()); err != nil {
				return fmt.Errorf("detaching the agent's link %d: %w", ids[i], err)
			}
			return nil
		}))
	}
	return s, nil
}

// switchedTrial runs one sender trial while sw takes the programs off and
// puts them back every --switch-every, and leaves them on. The trial's
// rate is that of the spells on.
func (b *bench) switchedTrial(m measurement, sw *tcxSwitch) (trialResult, spellResult, error) {
	args := b.senderArgs(m, b.cfg.trial)
	args.marks = markEvery
	now, err := monotonicNs()
	if err != nil {
		return trialResult{}, spellResult{}, err
	}
	starts := []spellStart{{flipping: now, ns: now, on: true}}
	done := make(chan struct{})
	var r trialResult
	var sendErr error
	go func() {
		defer close(done)
		r, sendErr = runSender(b.ctx, b.topo, args)
	}()
	swErr := switchUntil(done, m.switchEvery, sw, &starts)
	<-done
	if !starts[len(starts)-1].on {
		swErr = errors.Join(swErr, sw.on())
	}
	if err := errors.Join(sendErr, swErr); err != nil {
		return r, spellResult{}, err
	}
	sp := spells(r.marks, starts)
	if len(sp.ratios) == 0 {
		// A sender that the machine starved of its core for most of the
		// trial leaves too few marks to cut spells from: the trial counts
		// whole, and the run goes on.
		fmt.Printf("warning: no spell with the programs on had spells off on both sides (%d marks, %d switches): "+
			"the trial counts whole\n", len(r.marks), len(starts))
		return r, sp, nil
	}
	r.onPPS = summarize(sp.onRate).median
	return r, sp, nil
}

// switchUntil flips sw about every `every` until done is closed, noting
// when each spell began; it stops at the first error. Spells last 70-130%
// of `every` at random: with a fixed length, anything periodic on the
// machine (the agent's poll each second, a timer of another guest) would
// fall into spells of the same kind every time.
func switchUntil(done <-chan struct{}, every time.Duration, sw *tcxSwitch, starts *[]spellStart) error {
	t := time.NewTimer(jittered(every))
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
		}
		on := !(*starts)[len(*starts)-1].on
		flip := sw.off
		if on {
			flip = sw.on
		}
		began, err := monotonicNs()
		if err != nil {
			return err
		}
		if err := flip(); err != nil {
			return err
		}
		ns, err := monotonicNs()
		if err != nil {
			return err
		}
		*starts = append(*starts, spellStart{flipping: began, ns: ns, on: on})
		t.Reset(jittered(every))
	}
}

func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.7 + 0.6*rand.Float64()))
}
