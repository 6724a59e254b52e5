package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// rssPackets is how many datagrams each of the concurrent flows sends.
const rssPackets = 3

// rssReport is the daemon's memory with many concurrent flows.
type rssReport struct {
	flows    int     // concurrent flows opened
	tracked  float64 // flows_tracked the daemon reported
	idleMB   float64 // VmRSS before the flows
	rssMB    float64 // VmRSS with the flows tracked
	listedMB float64 // VmRSS after one listing of every flow (/v1/streams?all_apps=1)
	hwmMB    float64 // VmHWM, the peak, at the end
	listed   int     // records in that listing
	losses   map[string]float64
}

func (r *rssReport) misses() []string {
	if r == nil {
		return nil
	}
	var m []string
	if r.rssMB > budgetRSSMB {
		m = append(m, fmt.Sprintf("agent_rss_mb %.1f > %.0f with %.0f flows tracked", r.rssMB, budgetRSSMB, r.tracked))
	}
	if r.tracked < minAchieved*float64(r.flows) {
		m = append(m, fmt.Sprintf("agent rss untested: the daemon tracked %.0f of %d flows", r.tracked, r.flows))
	}
	return m
}

// mb converts KiB, as /proc reports them, to MB (10^6 bytes).
func mb(kib uint64) float64 { return float64(kib) * 1024 / 1e6 }

// measureRSS runs the daemon in the client namespace, opens the flows
// (connected UDP sockets in the bench process, each sending a few
// datagrams), waits until the daemon's API says it tracks them, and reads
// the daemon's VmRSS while they are all open.
func (b *bench) measureRSS() (*rssReport, error) {
	fmt.Printf("\n== daemon memory: teamsflow run in the client namespace, %d concurrent UDP flows, %d datagrams each\n",
		b.cfg.rssFlows, rssPackets)
	d, err := startDaemon(b.ctx, b.daemonBin, b.topo.client)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	r := &rssReport{flows: b.cfg.rssFlows}
	if err := b.sleep(2 * time.Second); err != nil {
		return nil, err
	}
	before, err := d.counters()
	if err != nil {
		return nil, err
	}
	idle, _, err := d.memoryKB()
	if err != nil {
		return nil, err
	}
	r.idleMB = mb(idle)
	fds, err := b.openRSSFlows()
	defer closeAll(fds)
	if err != nil {
		return nil, err
	}
	if err := b.readRSS(d, r); err != nil {
		return nil, err
	}
	after, err := d.counters()
	if err != nil {
		return nil, err
	}
	r.losses = grownLosses(before, after)
	return r, nil
}

// openRSSFlows opens the sockets in the client namespace and sends on each.
func (b *bench) openRSSFlows() ([]int, error) {
	var fds []int
	err := b.topo.client.Do(func() error {
		var err error
		fds, err = openFlows(b.topo.dst, b.cfg.rssFlows, true)
		return err
	})
	if err != nil {
		return fds, fmt.Errorf("opening %d flows: %w", b.cfg.rssFlows, err)
	}
	payload := make([]byte, 64)
	for range rssPackets {
		for _, fd := range fds {
			if _, err := unix.Write(fd, payload); err != nil {
				return fds, fmt.Errorf("sending on the flows: %w", err)
			}
		}
	}
	return fds, nil
}

// readRSS waits until the daemon tracks the flows (or 15 s pass), reads
// its memory over the next four seconds, then lists every flow through the
// API and reads it again.
func (b *bench) readRSS(d *daemon, r *rssReport) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := d.counters()
		if err != nil {
			return err
		}
		r.tracked = c["flows_tracked"]
		if r.tracked >= float64(r.flows) || time.Now().After(deadline) {
			break
		}
		if err := b.sleep(250 * time.Millisecond); err != nil {
			return err
		}
	}
	// The most over a few polls: the daemon's heap breathes with its
	// snapshots and garbage collections.
	for range 8 {
		if err := b.sleep(500 * time.Millisecond); err != nil {
			return err
		}
		rss, _, err := d.memoryKB()
		if err != nil {
			return err
		}
		r.rssMB = max(r.rssMB, mb(rss))
	}
	var records []map[string]any
	if err := d.get("/v1/streams?all_apps=1", &records); err != nil {
		return err
	}
	r.listed = len(records)
	rss, hwm, err := d.memoryKB()
	r.listedMB, r.hwmMB = mb(rss), mb(hwm)
	return err
}

func printRSS(r *rssReport) {
	fmt.Printf("daemon: tracks %.0f flows (opened %d); VmRSS idle %.1f MB, with the flows %.1f MB (most over 4 s), after listing %d records %.1f MB; peak (VmHWM) %.1f MB; losses %v\n",
		r.tracked, r.flows, r.idleMB, r.rssMB, r.listed, r.listedMB, r.hwmMB, r.losses)
	fmt.Printf("agent_rss_mb=%.1f\n", r.rssMB)
}
