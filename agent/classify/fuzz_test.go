package classify_test

import (
	"encoding/binary"
	"github.com/teamsflow/teamsflow/agent/record"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
)

var vocabulary = map[string]bool{
	record.LabelSignalling: true, record.LabelSTUN: true, record.LabelTURN: true, record.LabelDTLS: true,
	record.LabelAudio: true, record.LabelVideo: true, record.LabelScreenshare: true, record.LabelRTCP: true,
	record.LabelDNS: true, record.LabelOther: true,
}

// sampleFrom reads one interval from 24 bytes: any counts, any spans.
func sampleFrom(b []byte) classify.Sample {
	u := func(i int) uint64 { return uint64(binary.LittleEndian.Uint16(b[i:])) }
	packets := u(0) % 2000
	return classify.Sample{
		Span: time.Duration(u(2)%3000) * time.Millisecond, Packets: packets, Payload: packets * (u(4) % 1500),
		Squares: packets * (u(6) % 1500) * (u(6) % 1500), Markers: u(8) % (packets + 1),
		Silence: time.Duration(u(10)%3000) * time.Millisecond, HasShape: b[12]&1 == 1,
		Frames: u(13) % (packets + 1), TSAdvance: u(15) * uint64(1+b[17]%64), PadOnly: u(18) % (packets + 1),
	}
}

// checkSequence runs samples through Life, Media and Settler: no panic, no
// label outside the vocabulary, and once the input turns steady (the last
// sample repeated) no label comes back after it was left: the life's
// evidence may move across a bound as the steady input outweighs the
// past, but never back and forth.
func checkSequence(t *testing.T, data []byte) {
	const size = 24
	if len(data) < size+2 {
		return
	}
	c := classify.New(classify.DefaultQoSPorts())
	m := classify.Media{PayloadType: data[0] & 0x7F, LocalPort: binary.LittleEndian.Uint16(data[1:]), Teams: data[0]&0x80 != 0}
	var l classify.Life
	var s classify.Settler
	step := func(smp classify.Sample) classify.Result {
		l.Add(smp)
		m.Features, m.Prev = l.Features(), s.Settled()
		r := s.Update(c.Media(m))
		if r.Label != "" && !vocabulary[r.Label] {
			t.Fatalf("label %q outside the vocabulary", r.Label)
		}
		if r.Confidence < 0 || r.Confidence > 1 {
			t.Fatalf("confidence %v", r.Confidence)
		}
		return r
	}
	var last classify.Sample
	for b := data[3:]; len(b) >= size; b = b[size:] {
		last = sampleFrom(b)
		step(last)
	}
	var labels []string
	left := map[string]bool{}
	for i := range 60 {
		l := step(last).Label
		if i > 0 && l != labels[i-1] {
			left[labels[i-1]] = true
			if left[l] {
				t.Fatalf("steady input flipped the label back: %v", append(labels, l))
			}
		}
		labels = append(labels, l)
	}
}

func FuzzClassifier(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 16 {
		b := make([]byte, 3+24*(1+rng.IntN(12)))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(checkSequence)
}

// A short run of the fuzz target's check over random sequences, in every
// test run.
func TestClassifierRandomSequences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	for range 3000 {
		b := make([]byte, 3+24*(1+rng.IntN(20)))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		checkSequence(t, b)
	}
}
