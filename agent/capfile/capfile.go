// Package capfile feeds capture files (pcap and pcapng) through the same
// pipeline as live traffic: each frame goes through the Go twin of the
// kernel's parser (agent/packet), and the counters it keeps are handed on
// as observations once per second of capture time, as the live agent
// polls its maps.
package capfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/packet"
)

// Interval is how much capture time one observation covers, like the live
// agent's poll interval.
const Interval = time.Second

// Progress reports how many bytes of how many have been read.
type Progress func(done, total int64)

// Feed reads the capture file at path and calls fn for each interval of
// capture time, and once more at the end. On a damaged file it hands on
// everything before the damage and returns an error naming the packet.
func Feed(path string, fn func(observe.Snapshot), progress Progress) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening capture: %w", err)
	}
	if err := FeedReader(f, info.Size(), fn, progress); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// FeedReader is Feed for a capture of size bytes read from r.
func FeedReader(r io.Reader, size int64, fn func(observe.Snapshot), progress Progress) error {
	cr := &countingReader{r: r}
	src, err := open(bufio.NewReaderSize(cr, 1<<16))
	if err != nil {
		return err
	}
	fd := newFeeder(fn)
	for n := 1; ; n++ {
		data, link, ts, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fd.flush()
			return fmt.Errorf("packet %d: %w", n, damaged(err))
		}
		fd.add(data, link, ts)
		if progress != nil && n%1024 == 0 {
			progress(cr.n, size)
		}
	}
	fd.flush()
	if progress != nil {
		progress(size, size)
	}
	return nil
}

func damaged(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("capture file is truncated")
	}
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// feeder accumulates frames and emits an observation per interval.
type feeder struct {
	flows *packet.Flows
	dirs  directions
	emit  func(observe.Snapshot)
	next  time.Time // end of the current interval
	last  time.Time
}

func newFeeder(fn func(observe.Snapshot)) *feeder {
	return &feeder{flows: packet.NewFlows(), dirs: newDirections(), emit: fn}
}

func (fd *feeder) add(data []byte, link uint16, ts time.Time) {
	if fd.next.IsZero() {
		fd.next = ts.Truncate(Interval).Add(Interval)
	}
	if !ts.Before(fd.next) {
		// One observation per interval that had packets: a quiet stretch
		// (or a clock jump in the capture) adds nothing to hand on.
		fd.flush()
		fd.next = ts.Truncate(Interval).Add(Interval)
	}
	fd.last = ts
	frame, l2, proto, ok := linkFrame(data, link)
	if !ok {
		return
	}
	p, res := packet.Parse(frame, l2, proto)
	if res != packet.OK {
		fd.flows.Add(frame, l2, proto, true, 0, uint64(ts.UnixNano()))
		return
	}
	fd.flows.Add(frame, l2, proto, fd.dirs.egress(p), 0, uint64(ts.UnixNano()))
}

// flush hands on the counters so far and the samples since the last flush.
func (fd *feeder) flush() {
	if fd.last.IsZero() {
		return
	}
	wall := func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }
	snap := observe.Snapshot{Time: fd.last}
	for k, s := range fd.flows.Stats {
		snap.Flows = append(snap.Flows, observe.FlowOf(k, *s, wall))
	}
	for k, s := range fd.flows.RTP {
		snap.RTP = append(snap.RTP, observe.RTPOf(k, *s, wall))
	}
	for _, s := range fd.flows.Samples {
		snap.Payloads = append(snap.Payloads, observe.PayloadOf(s, wall))
	}
	fd.flows.Samples = nil
	fd.emit(snap)
}
