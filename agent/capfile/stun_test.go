package capfile

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

// TestSTUNSamplesFromCapture: a capture's STUN Binding exchange becomes
// the same samples the kernel hands up live: the request from the local
// end marked sent, the response not, each with the message's first bytes,
// and a check on a TURN channel too; relayed media is not sampled.
func TestSTUNSamplesFromCapture(t *testing.T) {
	client, relay := netip.MustParseAddrPort("192.168.1.6:50010"), netip.MustParseAddrPort("52.112.0.9:3478")
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewSoftware("teamsflow test"), stun.Fingerprint)
	resp := stun.MustBuild(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: client.Addr().AsSlice(), Port: 50010}, stun.Fingerprint)
	onChannel := pkt.ChannelData(0x4001, req.Raw, false)
	media := pkt.ChannelData(0x4001, pkt.RTP(9, 111, 1, 0, false, 160), false)
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 0)
	for i, pk := range []struct {
		out     bool
		payload []byte
	}{{true, req.Raw}, {false, resp.Raw}, {true, onChannel}, {true, media}} {
		src, dst := client, relay
		if !pk.out {
			src, dst = relay, client
		}
		f := pkt.UDP(src, dst, pk.payload)
		ci := gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * 30 * time.Millisecond), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	var got []observe.Payload
	err := FeedReader(&buf, int64(buf.Len()), func(s observe.Snapshot) { got = append(got, s.Payloads...) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		sent bool
		data []byte
	}{{true, req.Raw}, {false, resp.Raw}, {true, onChannel}}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != observe.PayloadSTUN || g.Sent != w.sent || !bytes.Equal(g.Data, w.data[:min(len(w.data), 96)]) ||
			g.Flow.Local.Port() != 50010 || !g.Time.Equal(at.Add(time.Duration(i)*30*time.Millisecond)) {
			t.Errorf("sample %d: kind %d sent %v flow %v at %v, %d bytes; want STUN sent %v from port 50010",
				i, g.Kind, g.Sent, g.Flow, g.Time, len(g.Data), w.sent)
		}
	}
}

// TestSTUNSamplesFromTeamsCapture: the public Teams capture's ICE checks
// are sampled both ways, each a Binding message.
func TestSTUNSamplesFromTeamsCapture(t *testing.T) {
	captures := capturesDir(t)
	var sent, recv int
	err := Feed(captures+"teams.pcap", func(s observe.Snapshot) {
		for _, p := range s.Payloads {
			if p.Kind != observe.PayloadSTUN {
				continue
			}
			if typ := binary.BigEndian.Uint16(p.Data); typ != 0x0001 && typ != 0x0101 && typ != 0x0111 {
				t.Errorf("sample of STUN type %#04x", typ)
			}
			if p.Sent {
				sent++
			} else {
				recv++
			}
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d checks sent, %d received", sent, recv)
	if sent == 0 || recv == 0 {
		t.Errorf("%d STUN samples sent and %d received, want both", sent, recv)
	}
}
