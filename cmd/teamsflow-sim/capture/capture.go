// Package capture records the client namespace's veth to a pcap file with
// an AF_PACKET socket (pure Go, no libpcap), both directions, so tests
// and `teamsflow analyze` see exactly what an observer on that interface
// would.
package capture

import (
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
	handle  *pcapgo.EthernetHandle
	file    *os.File
	w       *pcapgo.Writer
	done    chan struct{}
	mu      sync.Mutex
	packets int
	err     error
}

// Start opens the interface inside the namespace and writes to path until
// Stop.
func Start(ns netns.Named, iface, path string) (*Capture, error) {
	var h *pcapgo.EthernetHandle
	err := ns.Do(func() error {
		var err error
		h, err = pcapgo.NewEthernetHandle(iface)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening AF_PACKET on %s in %s: %w", iface, ns.Name, err)
	}
	f, err := os.Create(path)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("creating pcap: %w", err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		h.Close()
		f.Close()
		return nil, fmt.Errorf("writing pcap header: %w", err)
	}
	c := &Capture{handle: h, file: f, w: w, done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *Capture) loop() {
	defer close(c.done)
	for {
		data, ci, err := c.handle.ReadPacketData()
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
// packets written.
func (c *Capture) Stop() (int, error) {
	c.handle.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	err := errors.Join(c.err, c.file.Close())
	if err != nil {
		return c.packets, fmt.Errorf("writing pcap: %w", err)
	}
	return c.packets, nil
}
