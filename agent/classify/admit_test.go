package classify_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
)

// source sums a packet sequence (seq, ts, arrival) the way the kernel's
// counters do.
func source(seqs []uint16, tss []uint32, at []time.Duration) classify.Source {
	s := classify.Source{Packets: uint64(len(seqs))}
	maxSeq, maxTS := seqs[0], tss[0]
	for i := 1; i < len(seqs); i++ {
		if d := seqs[i] - maxSeq; d >= 1 && d <= 64 {
			s.SeqSteps++
		}
		if d := seqs[i] - maxSeq; d < 0x8000 {
			maxSeq = seqs[i]
		}
		if step := int32(tss[i] - maxTS); step > 0 {
			s.Frames++
			s.TSAdvance += uint64(step)
			maxTS = tss[i]
		}
	}
	s.Wall = at[len(at)-1] - at[0]
	return s
}

func TestAdmitRealSenders(t *testing.T) {
	type pkt struct {
		seq uint16
		ts  uint32
		at  time.Duration
	}
	gen := func(n int, seq0 uint16, ts0 uint32, step uint32, every time.Duration, damage func(i int, p *pkt) []pkt) classify.Source {
		var seqs []uint16
		var tss []uint32
		var ats []time.Duration
		for i := range n {
			p := pkt{seq0 + uint16(i), ts0 + uint32(i)*step, time.Duration(i) * every}
			for _, q := range damage(i, &p) {
				seqs, tss, ats = append(seqs, q.seq), append(tss, q.ts), append(ats, q.at)
			}
		}
		return source(seqs, tss, ats)
	}
	keep := func(_ int, p *pkt) []pkt { return []pkt{*p} }
	cases := []struct {
		name   string
		src    classify.Source
		within int // packets
	}{
		{"opus 20 ms", gen(10, 100, 5000, 960, 20*time.Millisecond, keep), 10},
		{"sequence wrap", gen(10, 65530, 5000, 960, 20*time.Millisecond, keep), 10},
		{"timestamp wrap", gen(10, 1, 4294967000, 960, 20*time.Millisecond, keep), 10},
		{"10% loss", gen(20, 100, 5000, 960, 20*time.Millisecond, func(i int, p *pkt) []pkt {
			if i%10 == 5 {
				return nil
			}
			return []pkt{*p}
		}), 20},
		{"duplicates", gen(16, 100, 5000, 960, 20*time.Millisecond, func(i int, p *pkt) []pkt {
			if i%4 == 0 {
				return []pkt{*p, *p}
			}
			return []pkt{*p}
		}), 20},
		{"reordered pairs", gen(16, 100, 5000, 960, 20*time.Millisecond, func(i int, p *pkt) []pkt {
			if i%4 == 1 {
				q := *p
				q.seq++
				q.ts += 960
				r := *p
				return []pkt{q, r}
			}
			if i%4 == 2 {
				return nil
			}
			return []pkt{*p}
		}), 16},
		{"video frames of 3 packets", gen(30, 7, 9, 0, 11*time.Millisecond, func(i int, p *pkt) []pkt {
			p.ts = 9 + uint32(i/3)*3000
			return []pkt{*p}
		}), 30},
	}
	for _, c := range cases {
		if got := classify.Admit(c.src); got != classify.Admitted {
			t.Errorf("%s: %+v: %d, want admitted", c.name, c.src, got)
		}
	}
	if got := classify.Admit(classify.Source{Packets: 1}); got != classify.Pending {
		t.Errorf("one packet: %d, want pending", got)
	}
}

// Random bytes with a version-2 first byte: one packet per SSRC, or many
// packets under one SSRC (NetBIOS and its fixed bytes), never a stream.
func TestAdmitRejectsRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := 4 + rng.IntN(60)
		seqs, tss, ats := make([]uint16, n), make([]uint32, n), make([]time.Duration, n)
		for i := range n {
			seqs[i], tss[i], ats[i] = uint16(rng.Uint32()), rng.Uint32(), time.Duration(i)*time.Duration(1+rng.IntN(50))*time.Millisecond
		}
		if trial%10 == 0 {
			for i := range seqs {
				seqs[i] = 0x0110 // fixed header bytes where RTP has its sequence
			}
		}
		if got := classify.Admit(source(seqs, tss, ats)); got == classify.Admitted {
			t.Fatalf("trial %d: random bytes admitted: %v %v", trial, seqs, tss)
		}
	}
}

func TestRepairOf(t *testing.T) {
	video := classify.Sibling{SSRC: 1, PayloadType: 96, Packets: 3000, Markers: 600, MaxTS: 1_000_000, Clock: 90000}
	audio := classify.Sibling{SSRC: 2, PayloadType: 111, Packets: 1500, Markers: 3, MaxTS: 3_000_000_000, Clock: 48000}
	share := classify.Sibling{SSRC: 3, PayloadType: 96, Packets: 400, Markers: 80, MaxTS: 2_000_000_000, Clock: 90000}
	probes := classify.Sibling{SSRC: 4, PayloadType: 97, Packets: 300, MaxTS: 1_000_000 + 9000, Clock: 90000}
	lossRTX := classify.Sibling{SSRC: 5, PayloadType: 97, Packets: 60, Markers: 6, MaxTS: 1_000_000 - 40000}
	flexfec := classify.Sibling{SSRC: 6, PayloadType: 127, Packets: 900, MaxTS: 123, Clock: 90000}
	quietAudio := classify.Sibling{SSRC: 7, PayloadType: 0, Packets: 200, MaxTS: 456, Clock: 8000}
	// Probing at the start: RTX outnumbers its media, but only RTX pads.
	busyRTX := classify.Sibling{SSRC: 8, PayloadType: 97, Packets: 5000, PadOnly: 700, Markers: 40, MaxTS: 1_000_000 - 3000}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	laterVideo := video
	laterVideo.MaxTS, laterVideo.Last = video.MaxTS+20*90000, t0.Add(22*time.Second)
	earlyProbes := classify.Sibling{SSRC: 9, PayloadType: 97, Packets: 40, PadOnly: 40, MaxTS: video.MaxTS + 9000, Last: t0.Add(2 * time.Second)}
	all := []classify.Sibling{video, audio, share, probes}
	for _, c := range []struct {
		s        classify.Sibling
		sibs     []classify.Sibling
		role     string
		protects uint32
	}{
		{video, all, "", 0},
		{audio, all, "", 0},
		{share, all, "", 0},
		{probes, all, classify.RoleRTX, 1},
		{lossRTX, []classify.Sibling{video, audio, lossRTX}, classify.RoleRTX, 1},
		{flexfec, []classify.Sibling{video, audio, share, flexfec}, classify.RoleFEC, 1},
		{quietAudio, []classify.Sibling{video, audio, quietAudio}, "", 0},
		{busyRTX, []classify.Sibling{video, audio, busyRTX}, classify.RoleRTX, 1},
		{video, []classify.Sibling{video, audio, busyRTX}, "", 0},
		// Probes at the start only: 20 s later the video's timestamp is
		// 1.8M ahead, but was next to the probes' when they came.
		{earlyProbes, []classify.Sibling{laterVideo, audio, earlyProbes}, classify.RoleRTX, 1},
	} {
		role, of := classify.RepairOf(c.s, c.sibs)
		if role != c.role || of != c.protects {
			t.Errorf("ssrc %d: %q of %d, want %q of %d", c.s.SSRC, role, of, c.role, c.protects)
		}
	}
}
