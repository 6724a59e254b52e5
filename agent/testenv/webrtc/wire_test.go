package webrtc

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The wire's counts are the referee between teamsflow and Chromium, so
// they are checked here on sequences whose answers are known.
func TestWireSeqSummary(t *testing.T) {
	cases := []struct {
		name                                    string
		seqs                                    []uint16
		distinct, expected, lost, late, deepest int
		gap                                     int
	}{
		{"in order", []uint16{10, 11, 12, 13}, 4, 4, 0, 0, 0, 0},
		{"two lost", []uint16{10, 11, 13, 15}, 4, 6, 2, 0, 0, 1},
		{"a run lost", []uint16{1, 2, 6, 7}, 4, 7, 3, 0, 0, 3},
		{"late by two", []uint16{1, 2, 4, 5, 3, 6}, 6, 6, 0, 1, 2, 0},
		{"duplicate", []uint16{1, 2, 2, 3}, 3, 3, 0, 0, 0, 0}, // not late: Received - Distinct tells it
		{"wraps", []uint16{65534, 65535, 0, 2}, 4, 5, 1, 0, 0, 1},
		{"first late", []uint16{5, 4, 6}, 3, 3, 0, 1, 1, 0},
	}
	for _, c := range cases {
		w := WireSeq{Seqs: c.seqs}
		w.summarise()
		if w.Received != len(c.seqs) || w.Distinct != c.distinct || w.Expected != c.expected || w.Lost() != c.lost ||
			w.Late != c.late || w.Deepest != c.deepest || w.Gap != c.gap {
			t.Errorf("%s: %+v, want distinct %d expected %d lost %d late %d deepest %d gap %d",
				c.name, w, c.distinct, c.expected, c.lost, c.late, c.deepest, c.gap)
		}
	}
}

func TestReadUDPDrops(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "udp")
	// Two rows as the kernel prints them: the drops are the last column.
	rows := "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		"  123: 0200630A:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n" +
		"  124: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4343 2 0000000000000000 0\n"
	if err := os.WriteFile(good, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	if err := readUDPDrops(good, got); err != nil {
		t.Fatal(err)
	}
	if got["4242"] != 17 || got["4343"] != 0 || len(got) != 2 {
		t.Errorf("drops by inode %v, want 4242:17 4343:0", got)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("header\n  1: short row\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := readUDPDrops(bad, got); err == nil || !strings.Contains(err.Error(), "fields") {
		t.Errorf("a short row: error %v, want one naming the fields", err)
	}
}

func TestWireJitter(t *testing.T) {
	start := time.Unix(1700000000, 0)
	stream := func(n int, spacing time.Duration) WireSeq {
		var w WireSeq
		for i := range n {
			w.Seqs = append(w.Seqs, uint16(i))
			w.TSs = append(w.TSs, uint32(960*i)) // 20 ms at 48 kHz
			w.Arrivals = append(w.Arrivals, start.Add(time.Duration(i)*spacing))
		}
		return w
	}
	if j := stream(100, 20*time.Millisecond).JitterMs(48000); j > 1e-9 {
		t.Errorf("evenly spaced: jitter %.6f ms, want 0", j)
	}
	// Every packet 10 ms later than its timestamp says: |D| = 10 ms each
	// time, and the estimate converges on it.
	if j := stream(300, 30*time.Millisecond).JitterMs(48000); math.Abs(j-10) > 0.01 {
		t.Errorf("|D| of 10 ms: jitter %.3f ms, want 10", j)
	}
	// A late packet (seq 5 again, long after) leaves it alone.
	w := stream(100, 20*time.Millisecond)
	w.Seqs = append(w.Seqs, 5)
	w.TSs = append(w.TSs, 960*5)
	w.Arrivals = append(w.Arrivals, start.Add(10*time.Second))
	if j := w.JitterMs(48000); j > 1e-9 {
		t.Errorf("a late packet: jitter %.6f ms, want 0", j)
	}
}
