// Package ring reads what the kernel programs put in their ring buffer,
// for tests that run real or test traffic through them and compare what
// came up. It imports agent/kernel, so only tests outside package kernel
// and package bpf can use it.
package ring

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/teamsflow/teamsflow/agent/kernel"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// quiet is how long Samples waits for the ring buffer: longer than the
// kernel takes to hand up what a test has already sent.
const quiet = 300 * time.Millisecond

// Samples drains rd for a moment and returns the payload samples in it,
// in order; any other event is decoded (a record that does not decode ends
// the test) and left out.
func Samples(t testing.TB, rd *ringbuf.Reader) []contract.Sample {
	t.Helper()
	var out []contract.Sample
	rd.SetDeadline(time.Now().Add(quiet))
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ev, err := kernel.Decode(rec.RawSample)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := ev.(*contract.Sample); ok {
			out = append(out, *s)
		}
	}
}
