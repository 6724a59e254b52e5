package webrtc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// socketDrops watches the UDP sockets of the client namespace for
// datagrams the kernel dropped at the socket (the "drops" column of
// /proc/net/udp: the receive buffer was full because the application did
// not read in time). Such a datagram passed the veth, the pcap and
// teamsflow's TC hook, but never reached Chromium, which counts it lost.
// A socket's row goes when the socket closes, so the rows are read every
// pollEvery during the call and each socket's last figure kept.
type socketDrops struct {
	mu     sync.Mutex
	byInod map[string]uint64 // socket inode -> drops
	err    error
	stop   chan struct{}
	done   chan struct{}
}

const pollEvery = 100 * time.Millisecond

func watchSocketDrops(nsPath string) *socketDrops {
	d := &socketDrops{byInod: map[string]uint64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			d.read(nsPath)
			select {
			case <-d.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return d
}

// read takes one look at the namespace's UDP sockets (IPv4 and IPv6).
func (d *socketDrops) read(nsPath string) {
	rows := map[string]uint64{}
	err := netns.Do(nsPath, func() error {
		for _, f := range []string{"/proc/thread-self/net/udp", "/proc/thread-self/net/udp6"} {
			if err := readUDPDrops(f, rows); err != nil {
				return err
			}
		}
		return nil
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil && d.err == nil {
		d.err = err
	}
	for ino, n := range rows {
		d.byInod[ino] = max(d.byInod[ino], n)
	}
}

// readUDPDrops adds each socket's drops from one /proc/net/udp{,6} file:
// the inode is the 10th field and drops the 13th.
func readUDPDrops(path string, rows map[string]uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 13 {
			return fmt.Errorf("%s: a row of %d fields, want 13: %q", path, len(fs), sc.Text())
		}
		n, err := strconv.ParseUint(fs[12], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: drops %q: %w", path, fs[12], err)
		}
		rows[fs[9]] = n
	}
	return sc.Err()
}

// Stop ends the watch and returns the drops of every socket seen, added.
func (d *socketDrops) Stop() (uint64, error) {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	total := uint64(0)
	for _, n := range d.byInod {
		total += n
	}
	return total, d.err
}
