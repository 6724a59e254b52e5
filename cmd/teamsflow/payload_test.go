//go:build linux

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	be "encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// No packet payload leaves the agent: flows whose payload carries a
// marker (RTP-shaped UDP and a TCP exchange, next to a simulated Teams
// call) are exported to a real collector and served by the local API with
// their headers, owners and RTP header fields, and the marker appears in
// neither, in any encoding. Command lines are not exported by default.
func TestRunExportsNoPayload(t *testing.T) {
	testenv.RequirePrivileged(t)
	marker := newMarker(t)
	col := otelcol.Start(t, otelcol.Options{})
	sim := newSim(t)
	pair := testenv.NewPair(t)
	socket := filepath.Join(t.TempDir(), "api.sock")
	agent := startRun(t, socket, "--netns", sim.ClientNetnsPath, "--netns", pair.Client.Path(), "--all-apps",
		"--export-endpoint", col.GRPCAddr, "--export-insecure", "--export-active-timeout", "2s")

	const ssrc = 0x7f1e5a11
	sendMarkedRTP(t, pair, marker, ssrc, 7701)
	sendMarkedTCP(t, pair, marker, 7702) // opened and closed before the agent's next poll
	sim.Play(t, "desktop-qos", "6s")
	apiOut, _, code := runCLI(t, nil, "streams", "--json", "--all-apps", "--socket", socket)
	if code != 0 {
		t.Fatalf("streams: exit %d", code)
	}
	agent.stop(t)
	spans := col.WaitSpans(t, 20*time.Second, func(s []otelcol.Span) bool { return rootOf(s) != nil && hasPeerPort(s, 7702) })

	// The marked flows are there, with the RTP header read...
	recs := parseRecords(t, apiOut)
	if !slices.ContainsFunc(recs, func(r record.Record) bool { return r.PeerPort == 7701 && ptrValue(r.SSRC) == ssrc }) {
		t.Errorf("the API has no record of the marked RTP stream with ssrc %#x", ssrc)
	}
	if !hasPeerPort(spans, 7701) || !hasPeerPort(spans, 7702) {
		t.Error("the collector has no span of the marked flows")
	}
	// ...and their payload is not.
	exported := collectorOutput(t, col)
	for _, form := range markerForms(marker) {
		if bytes.Contains(exported, []byte(form)) {
			t.Errorf("the collector's output holds the payload marker (as %q)", form)
		}
		if bytes.Contains([]byte(apiOut), []byte(form)) {
			t.Errorf("the API's records hold the payload marker (as %q)", form)
		}
	}
	for _, s := range spans {
		if _, ok := s.Attrs["process.command_args"]; ok {
			t.Errorf("span %q carries the command line, which is off by default", s.Name)
		}
	}
}

// With export.command_line on, the spans of the call carry the Teams
// process's command line as the simulator started it.
func TestRunExportsCommandLineWhenEnabled(t *testing.T) {
	testenv.RequirePrivileged(t)
	col := otelcol.Start(t, otelcol.Options{})
	sim := newSim(t)
	agent := startRun(t, filepath.Join(t.TempDir(), "api.sock"), "--netns", sim.ClientNetnsPath,
		"--export-endpoint", col.GRPCAddr, "--export-insecure", "--export-command-line")
	tr := sim.Play(t, "desktop-qos", "4s")
	agent.stop(t)
	spans := col.WaitSpans(t, 20*time.Second, func(s []otelcol.Span) bool { return rootOf(s) != nil })
	want := fmt.Sprint(tr.Calls[0].Cmdline)
	with := 0
	for _, s := range spans {
		if args, ok := s.Attrs["process.command_args"]; ok {
			if got := fmt.Sprint(args); got != want {
				t.Errorf("span %q: command line %s, want %s", s.Name, got, want)
			}
			with++
		}
	}
	if with == 0 {
		t.Errorf("no span carries the command line %s", want)
	}
}

func newMarker(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "TFPAYLOADMARK" + hex.EncodeToString(b)
}

// markerForms are the spellings under which a payload could leak: as
// text, hex, or base64 (OTLP JSON's encoding of bytes), at any of the
// three byte alignments.
func markerForms(m string) []string {
	forms := []string{m, hex.EncodeToString([]byte(m))}
	for shift := 0; shift < 3; shift++ {
		enc := base64.StdEncoding.EncodeToString([]byte(m[shift:]))
		forms = append(forms, enc[4:len(enc)-4]) // the middle, independent of neighbours
	}
	return forms
}

// sendMarkedRTP sends RTP packets (version 2, payload type 111) whose
// payload is the marker, from the pair's client to its server.
func sendMarkedRTP(t *testing.T, p *testenv.Pair, marker string, ssrc uint32, port int) {
	t.Helper()
	var server, client *net.UDPConn
	addr := &net.UDPAddr{IP: net.ParseIP(p.ServerIP4), Port: port}
	if err := p.Server.Do(func() (err error) { server, err = net.ListenUDP("udp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := p.Client.Do(func() (err error) { client, err = net.DialUDP("udp4", nil, addr); return err }); err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pkt := make([]byte, 12, 12+len(marker))
	pkt[0], pkt[1] = 0x80, 111
	be.BigEndian.PutUint32(pkt[8:], ssrc)
	pkt = append(pkt, marker...)
	for seq := range 50 {
		be.BigEndian.PutUint16(pkt[2:], uint16(seq))
		be.BigEndian.PutUint32(pkt[4:], uint32(seq*960))
		if _, err := client.Write(pkt); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendMarkedTCP sends the marker over TCP both ways and closes the
// connection.
func sendMarkedTCP(t *testing.T, p *testenv.Pair, marker string, port int) {
	t.Helper()
	var ln net.Listener
	addr := net.JoinHostPort(p.ServerIP4, fmt.Sprint(port))
	if err := p.Server.Do(func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		buf := make([]byte, len(marker))
		if _, err := io.ReadFull(c, buf); err == nil {
			_, _ = c.Write(buf)
		}
	}()
	var c net.Conn
	if err := p.Client.Do(func() (err error) { c, err = net.Dial("tcp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(marker)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len(marker))); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func hasPeerPort(spans []otelcol.Span, port int64) bool {
	return slices.ContainsFunc(spans, func(s otelcol.Span) bool { return s.Attrs["network.peer.port"] == port })
}

// collectorOutput is everything the collector wrote, raw.
func collectorOutput(t *testing.T, col *otelcol.Collector) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(col.Dir, "spans-*.json"))
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatal("the collector wrote nothing")
	}
	return all
}
