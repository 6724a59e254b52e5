// Command tf-smoke makes the traffic of the older-kernel smoke test
// (deploy/kernels): one TCP connection, one UDP flow and one RTP stream
// over loopback. It is installed under three names, and what it sends
// depends on the name it runs as, so that each flow's owner has its own
// process name for the test to check:
//
//	tf-tcp   a connection to 127.0.0.1:7001 (its own listener), 64 KiB each way
//	tf-udp   20 datagrams of 100 zero bytes from 127.0.0.1:7102 to :7002
//	tf-rtp   3 s of Opus-like RTP (PT 111, 50 packets/s) from :7103 to :7003
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

func main() {
	var err error
	switch name := filepath.Base(os.Args[0]); name {
	case "tf-tcp":
		err = sendTCP()
	case "tf-udp":
		err = sendUDP(7102, 7002, 20, 0, func(i int) []byte { return make([]byte, 100) })
	case "tf-rtp":
		err = sendUDP(7103, 7003, 150, 20*time.Millisecond, rtpPacket)
	default:
		err = fmt.Errorf("run me as tf-tcp, tf-udp or tf-rtp, not %s", name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tf-smoke:", err)
		os.Exit(1)
	}
}

// sendTCP connects to its own listener and echoes 64 KiB back.
func sendTCP() error {
	ln, err := net.Listen("tcp4", "127.0.0.1:7001")
	if err != nil {
		return err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.CopyN(c, c, 64<<10)
		done <- err
	}()
	c, err := net.Dial("tcp4", "127.0.0.1:7001")
	if err != nil {
		return err
	}
	defer c.Close()
	go c.Write(make([]byte, 64<<10))
	if _, err := io.CopyN(io.Discard, c, 64<<10); err != nil {
		return err
	}
	return <-done
}

// sendUDP sends n datagrams from one local port to another, gap apart,
// and reads them at the other end.
func sendUDP(from, to, n int, gap time.Duration, payload func(i int) []byte) error {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to})
	if err != nil {
		return err
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: from}, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		return err
	}
	defer tx.Close()
	buf := make([]byte, 2048)
	for i := range n {
		if _, err := tx.Write(payload(i)); err != nil {
			return err
		}
		rx.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := rx.Read(buf); err != nil {
			return err
		}
		time.Sleep(gap)
	}
	return nil
}

// rtpPacket is packet i of an Opus stream: RTP version 2, PT 111, 20 ms
// of 48 kHz per packet, 80 payload bytes.
func rtpPacket(i int) []byte {
	b := make([]byte, 12+80)
	b[0], b[1] = 0x80, 111
	binary.BigEndian.PutUint16(b[2:], uint16(1000+i))
	binary.BigEndian.PutUint32(b[4:], uint32(960*i))
	binary.BigEndian.PutUint32(b[8:], 0x5eed0001)
	for j := 12; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}
