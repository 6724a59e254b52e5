// Package capture records the client namespace's veth to a pcap file with
// an AF_PACKET socket (pure Go, no libpcap), both directions, so tests
// and `teamsflow analyze` see exactly what an observer on that interface
// would.
package capture

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/teamsflow/teamsflow/agent/netns"
)

const snapLen = 65535

// Capture is a running capture.
type Capture struct {
	sock    *packetSocket
	file    *os.File
	bw      *bufio.Writer
	w       *pcapgo.Writer
	done    chan struct{}
	mu      sync.Mutex
	packets int
	err     error
}

// Start opens the interface inside the namespace and writes to path until
// Stop.
func Start(ns netns.Named, iface, path string) (*Capture, error) {
	var h *packetSocket
	err := ns.Do(func() error {
		var err error
		h, err = openPacketSocket(iface)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening AF_PACKET on %s in %s: %w", iface, ns.Name, err)
	}
	f, err := os.Create(path)
	if err != nil {
		h.close()
		return nil, fmt.Errorf("creating pcap: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		h.close()
		f.Close()
		return nil, fmt.Errorf("writing pcap header: %w", err)
	}
	c := &Capture{sock: h, file: f, bw: bw, w: w, done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *Capture) loop() {
	defer close(c.done)
	for {
		data, ci, err := c.sock.read()
		if err != nil {
			return // the handle was closed by Stop
		}
		c.mu.Lock()
		if c.err == nil {
			c.err = c.w.WritePacket(ci, data)
			c.packets++
		}
		c.mu.Unlock()
	}
}

// Stop ends the capture and closes the file; it returns the number of
// packets written. Frames the kernel dropped are an error: the pcap would
// not show everything that was sent.
func (c *Capture) Stop() (int, error) {
	drops := c.sock.drops()
	c.sock.close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	err := errors.Join(c.err, c.bw.Flush(), c.file.Close())
	if drops > 0 {
		err = errors.Join(err, fmt.Errorf("kernel dropped %d frames", drops))
	}
	if err != nil {
		return c.packets, fmt.Errorf("writing pcap: %w", err)
	}
	return c.packets, nil
}
