//go:build linux

package main

import (
	"bufio"
	be "encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// healthPeerModes are this package's peers for the round-trip tests.
var healthPeerModes = testenv.PeerModes{"teams-path": teamsPath}

// teamsPath is a Teams-like client (started as ms-teams): a TCP connection
// that exchanges a request and its answer every 100 ms (signalling), and
// from QoS audio port 50000 20 ms audio packets (RTP, SILK 16 kHz) with an
// ICE consent check (a STUN Binding request) every 500 ms, for args[2]
// seconds. args: TCP address, media address, seconds.
func teamsPath(args []string) error {
	tc, err := net.Dial("tcp4", args[0])
	if err != nil {
		return err
	}
	defer tc.Close()
	media, err := net.ResolveUDPAddr("udp4", args[1])
	if err != nil {
		return err
	}
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{Port: 50000})
	if err != nil {
		return err
	}
	defer uc.Close()
	go func() { // what comes back is only counted by the kernel
		buf := make([]byte, 1500)
		for {
			if _, err := uc.Read(buf); err != nil {
				return
			}
		}
	}()
	fmt.Println("ready", uc.LocalAddr())
	end := time.Now().Add(time.Duration(testenv.Atoi(args[2])) * time.Second)
	errs := make(chan error, 1)
	go func() { errs <- pingPongUntil(tc, end) }()
	if err := sendAudio(uc, media, end); err != nil {
		return err
	}
	return <-errs
}

// sendAudio sends RTP every 20 ms and a consent check every 500 ms.
func sendAudio(c *net.UDPConn, to *net.UDPAddr, end time.Time) error {
	pkt := make([]byte, 12+90)
	pkt[0], pkt[1] = 0x80, 104
	be.BigEndian.PutUint32(pkt[8:12], 0x7ea1f00d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; time.Now().Before(end); i++ {
		be.BigEndian.PutUint16(pkt[2:4], uint16(i))
		be.BigEndian.PutUint32(pkt[4:8], uint32(i)*320)
		if _, err := c.WriteToUDP(pkt, to); err != nil {
			return err
		}
		if i%25 == 0 {
			req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
			if _, err := c.WriteToUDP(req.Raw, to); err != nil {
				return err
			}
		}
		<-tick.C
	}
	return nil
}

// pingPongUntil exchanges a line and its echo every 100 ms, acknowledging
// at once (a delayed ACK would enter the kernel's RTT samples).
func pingPongUntil(c net.Conn, end time.Time) error {
	r := bufio.NewReader(c)
	for time.Now().Before(end) {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return err
		}
		if _, err := r.ReadString('\n'); err != nil {
			return err
		}
		testenv.QuickAck(c)
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// farEnd serves the client's far end in namespace B: a TCP echo, and on
// UDP answers to STUN checks and the audio echoed back under another SSRC.
func farEnd(t *testing.T, d *testenv.DelayLine) (tcpAddr, mediaAddr string) {
	t.Helper()
	var l net.Listener
	var uc *net.UDPConn
	err := d.B.Do(func() (err error) {
		if l, err = net.Listen("tcp4", d.BIP+":0"); err != nil {
			return err
		}
		uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(d.BIP), Port: 3479})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); uc.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); testenv.EchoQuickAck(c) }()
		}
	}()
	go answerMedia(uc)
	return l.Addr().String(), uc.LocalAddr().String()
}

func answerMedia(uc *net.UDPConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := uc.ReadFromUDP(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if stun.IsMessage(b) {
			req := &stun.Message{Raw: append([]byte(nil), b...)}
			if req.Decode() == nil && req.Type == stun.BindingRequest {
				resp := stun.MustBuild(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: from.IP, Port: from.Port}, stun.Fingerprint)
				_, _ = uc.WriteToUDP(resp.Raw, from)
			}
			continue
		}
		be.BigEndian.PutUint32(b[8:12], 0x7ea1f00e)
		_, _ = uc.WriteToUDP(b, from)
	}
}

// watchThroughDelayLine runs the Teams-like client in namespace A of a
// delay line (25 ms each way) while `teamsflow run` watches A, and returns
// the records read after 10 s, the round trip added and the agent's log.
func watchThroughDelayLine(t *testing.T) ([]record.Record, time.Duration, string) {
	t.Helper()
	const oneWay = 25 * time.Millisecond
	d := testenv.NewDelayLine(t, oneWay)
	tcpAddr, mediaAddr := farEnd(t, d)
	socket := filepath.Join(t.TempDir(), "api.sock")
	agent := startRun(t, socket, "--netns", d.A.Path())
	peer := testenv.StartPeer(t, d.A, "ms-teams", "teams-path", tcpAddr, mediaAddr, "14")
	// Round trips are read every 5 s: two reads after the traffic began.
	time.Sleep(11 * time.Second)
	recs := streamsJSON(t, socket)
	peer.Wait(t)
	agent.stop(t)
	t.Logf("delay line forwarded %d packets, real-time threads %d", d.Forwarded.Load(), d.Realtime.Load())
	return recs, 2 * oneWay, agent.stderr.String()
}

func ownRecords(recs []record.Record, transport string) []record.Record {
	var out []record.Record
	for _, r := range recs {
		if r.Comm == "ms-teams" && r.Transport == transport {
			out = append(out, r)
		}
	}
	return out
}

// With 50 ms added to the round trip, the kernel's TCP estimate of the
// client's connection reads within max(5 ms, 20%) of it; the media goes
// through a tun device: its interface kind is vpn, its records carry the
// path warning, and the agent logs the warning once for the interface and
// call.
func TestRunTCPRoundTripAndVPNThroughDelayLine(t *testing.T) {
	testenv.RequirePrivileged(t)
	recs, added, log := watchThroughDelayLine(t)
	tcps := ownRecords(recs, "tcp")
	for i := range tcps {
		t.Logf("added %v; %s", added, describeRTT(&tcps[i]))
	}
	if len(tcps) != 1 || !rttWithin(tcps[0].RTTMs, added) {
		var got []string
		for i := range tcps {
			got = append(got, describeRTT(&tcps[i]))
		}
		t.Errorf("TCP flows %q, want one with rtt_ms within max(5 ms, 20%%) of %v", got, added)
	}
	media := 0
	for _, r := range ownRecords(recs, "udp") {
		if r.SSRC == nil {
			continue
		}
		media++
		if r.Label != "audio" || r.InterfaceKind != "vpn" || r.Interface != "tfdla0" || !strings.Contains(r.PathWarning, "split tunnelling") {
			t.Errorf("ssrc %x: label %s interface %q kind %q warning %q", *r.SSRC, r.Label, r.Interface, r.InterfaceKind, r.PathWarning)
		}
	}
	if media != 2 {
		t.Errorf("%d audio records, want one each way", media)
	}
	if n := strings.Count(log, "split tunnelling"); n != 1 || !strings.Contains(log, `"interface":"tfdla0"`) {
		t.Errorf("%d warnings logged, want one naming tfdla0:\n%s", n, log)
	}
}

// With 50 ms added to the round trip, the ICE consent checks on the media
// flow give its records rtt_ms within max(5 ms, 20%) of it, from the
// kernel's STUN samples.
func TestRunSTUNRoundTripThroughDelayLine(t *testing.T) {
	testenv.RequirePrivileged(t)
	recs, added, _ := watchThroughDelayLine(t)
	n := 0
	for _, r := range ownRecords(recs, "udp") {
		if r.PeerPort != 3479 {
			continue
		}
		n++
		if !rttWithin(r.RTTMs, added) {
			t.Errorf("%s ssrc %v: want rtt_ms within max(5 ms, 20%%) of %v", describeRTT(&r), ptrValue(r.SSRC), added)
		}
	}
	if n < 3 {
		t.Errorf("%d records of the media flow, want its own and one per direction of its audio", n)
	}
}

// `teamsflow capture` gives the same round trip and interface kind: the
// kernel's TCP estimate read at the end of the watch, the tun's kind.
func TestCaptureTCPRoundTripThroughDelayLine(t *testing.T) {
	testenv.RequirePrivileged(t)
	const oneWay = 25 * time.Millisecond
	d := testenv.NewDelayLine(t, oneWay)
	tcpAddr, mediaAddr := farEnd(t, d)
	peer := testenv.StartPeer(t, d.A, "ms-teams", "teams-path", tcpAddr, mediaAddr, "10")
	stdout, stderr, code := runCLI(t, nil, "capture", "--duration", "6s", "--json", "--netns", d.A.Path())
	peer.Wait(t)
	if code != 0 {
		t.Fatalf("capture: exit %d: %s", code, stderr)
	}
	recs := parseRecords(t, stdout)
	tcps := ownRecords(recs, "tcp")
	for i := range tcps {
		t.Logf("added %v; %s", 2*oneWay, describeRTT(&tcps[i]))
	}
	if len(tcps) != 1 || !rttWithin(tcps[0].RTTMs, 2*oneWay) {
		t.Errorf("%d TCP flows of the client, want one with rtt_ms within max(5 ms, 20%%) of %v", len(tcps), 2*oneWay)
	}
	for _, r := range ownRecords(recs, "udp") {
		if r.InterfaceKind != "vpn" {
			t.Errorf("udp %d -> %s:%d ssrc %v: interface kind %q, want vpn", r.LocalPort, r.PeerAddr, r.PeerPort, ptrValue(r.SSRC), r.InterfaceKind)
		}
	}
}
