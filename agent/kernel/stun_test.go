package kernel_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/health/stunrtt"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
	"github.com/teamsflow/teamsflow/agent/testenv/ring"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// stunSample is how much of a STUN message the classifier hands up
// (TF_STUN_SAMPLE).
const stunSample = 96

// TestSTUNSamplesOnRealTraffic: a real STUN Binding exchange between two
// namespaces, bare, on a TURN channel and in a Send indication, reaches
// user space as samples from both ends, each with the bytes sent and the
// direction seen from its end; media in the same TURN framing and a TURN
// Allocate do not.
func TestSTUNSamplesOnRealTraffic(t *testing.T) {
	p := testenv.NewPair(t)
	objs, rd := loadAttached(t, p)
	client := testenv.BoundUDP(t, p.Client, p.ClientIP4, 40020)
	server := testenv.BoundUDP(t, p.Server, p.ServerIP4, 3478)
	serverAddr := &net.UDPAddr{IP: net.ParseIP(p.ServerIP4), Port: 3478}
	clientAddr := &net.UDPAddr{IP: net.ParseIP(p.ClientIP4), Port: 40020}

	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewSoftware("teamsflow test"), stun.Fingerprint)
	resp := stun.MustBuild(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: clientAddr.IP, Port: 40020}, stun.Fingerprint)
	send := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		&stun.XORMappedAddress{IP: net.IPv4(52, 112, 0, 9), Port: 3480}) // the peer, as XOR-PEER-ADDRESS is coded
	sendIndication := withData(send.Raw, req.Raw)
	rtp := pkt.RTP(0x1234, 111, 1, 0, false, 160)
	allocate := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest))

	wanted := [][]byte{req.Raw, resp.Raw, pkt.ChannelData(0x4001, req.Raw, false), sendIndication}
	write(t, client, serverAddr, req.Raw)
	write(t, server, clientAddr, resp.Raw)
	write(t, client, serverAddr, pkt.ChannelData(0x4001, req.Raw, false))
	write(t, client, serverAddr, sendIndication)
	write(t, client, serverAddr, pkt.ChannelData(0x4001, rtp, false))
	write(t, client, serverAddr, withData(send.Raw, rtp))
	write(t, client, serverAddr, allocate.Raw)

	got := readPayloads(t, rd)
	if len(got) != 2*len(wanted) {
		t.Errorf("%d STUN samples, want %d (each message at both ends): %+v", len(got), 2*len(wanted), got)
	}
	for _, w := range wanted {
		sentBy := netip.MustParseAddrPort(p.ClientIP4 + ":40020")
		if bytes.Equal(w, resp.Raw) {
			sentBy = netip.MustParseAddrPort(p.ServerIP4 + ":3478")
		}
		ends := 0
		for _, g := range got {
			if !bytes.Equal(g.Data, w[:min(len(w), stunSample)]) {
				continue
			}
			ends++
			if g.Kind != observe.PayloadSTUN || g.Sent != (g.Flow.Local == sentBy) || g.Flow.Transport != observe.UDP {
				t.Errorf("sample of %x...: kind %d, sent %v, flow %v; the sender is %v", w[:4], g.Kind, g.Sent, g.Flow, sentBy)
			}
		}
		if ends != 2 {
			t.Errorf("message %x... sampled at %d ends, want both", w[:4], ends)
		}
	}
	// The samples are what the round-trip matcher reads: the client's
	// request and the server's response make one round trip, and nothing
	// sampled is anything but STUN.
	m := stunrtt.New[observe.FlowID](stunrtt.DefaultTimeout)
	for _, g := range got {
		dir := stunrtt.Ingress
		if g.Sent {
			dir = stunrtt.Egress
		}
		if err := m.Observe(g.Flow, dir, g.Time, g.Data); err != nil {
			t.Errorf("matcher refused a sample %x...: %v", g.Data[:4], err)
		}
	}
	clientFlow := observe.FlowID{Netns: clientNetns(got, p), Transport: observe.UDP,
		Local: netip.MustParseAddrPort(p.ClientIP4 + ":40020"), Peer: netip.MustParseAddrPort(p.ServerIP4 + ":3478")}
	if est, ok := m.RTT(clientFlow); !ok || est.Samples != 1 || est.Smoothed <= 0 || est.Smoothed > time.Second {
		t.Errorf("client's round trip from the samples: %+v %v (counters %+v)", est, ok, m.Counters())
	}
	if c, err := objs.ReadCounters(); err != nil || c[contract.CntSamplesLost] != 0 {
		t.Errorf("samples lost: %v %v", c, err)
	}
}

// clientNetns is the namespace of the client's flow among the samples.
func clientNetns(got []observe.Payload, p *testenv.Pair) uint64 {
	for _, g := range got {
		if g.Flow.Local.Addr().String() == p.ClientIP4 {
			return g.Flow.Netns
		}
	}
	return 0
}

// TestSTUNSamplesRateLimited: the samples share the sample budget (256 a
// second on each CPU); a flood beyond it is counted, not sent.
func TestSTUNSamplesRateLimited(t *testing.T) {
	testenv.RequirePrivileged(t)
	testenv.OnOneCPU(t) // one CPU's budget
	objs, err := bpf.Load(bpf.Config{FlowMapEntries: 1024, TestClassifiers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	rd, err := ringbuf.NewReader(objs.Events())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	frame := pkt.UDP(netip.MustParseAddrPort("10.9.0.1:40000"), netip.MustParseAddrPort("10.9.0.2:3478"), req.Raw)
	const sent = 400
	start := time.Now()
	for range sent {
		if _, err := objs.TestClassifier(true).Run(&ebpf.RunOptions{Data: frame}); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Skip("the flood took longer than the budget's second: the machine is too busy to tell")
	}
	c, err := objs.ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	got := len(readPayloads(t, rd))
	if got != 256 || c[contract.CntSamplesRateLimited] != sent-256 {
		t.Errorf("%d samples sent and %d limited, want 256 and %d", got, c[contract.CntSamplesRateLimited], sent-256)
	}
}

// loadAttached loads the programs with the classifier at both hooks of
// both ends of the pair, and opens the ring buffer.
func loadAttached(t *testing.T, p *testenv.Pair) (*bpf.Objects, *ringbuf.Reader) {
	t.Helper()
	objs, err := bpf.Load(bpf.Config{FlowMapEntries: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objs.Close() })
	p.OnBothEnds(t, func(ifindex int) (io.Closer, error) { return objs.AttachTC(ifindex, true, bpf.TCX) })
	rd, err := ringbuf.NewReader(objs.Events())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return objs, rd
}

func write(t *testing.T, c *net.UDPConn, to *net.UDPAddr, b []byte) {
	t.Helper()
	if _, err := c.WriteToUDP(b, to); err != nil {
		t.Fatal(err)
	}
}

// withData appends a DATA attribute holding inner to a TURN indication.
func withData(ind, inner []byte) []byte {
	b := append([]byte(nil), ind...)
	b = binary.BigEndian.AppendUint16(b, 0x0013)
	b = binary.BigEndian.AppendUint16(b, uint16(len(inner)))
	b = append(b, inner...)
	b = append(b, make([]byte, (4-len(inner)%4)%4)...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-20))
	return b
}

// readPayloads drains the ring buffer and returns its STUN samples as
// the pipeline receives them.
func readPayloads(t *testing.T, rd *ringbuf.Reader) []observe.Payload {
	t.Helper()
	var out []observe.Payload
	for _, s := range ring.Samples(t, rd) {
		if s.Kind == contract.SampleSTUN {
			out = append(out, observe.PayloadOf(s, func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }))
		}
	}
	return out
}
