package dissect

import (
	"errors"
	"testing"
)

// The seed corpus lives in testdata/fuzz/<target>: real hellos and
// responses (whole and cut) plus the inputs the fuzzer found interesting.

func FuzzClientHelloSNI(f *testing.F) {
	// Seeds are the kept corpus files: a live TLS handshake here would run
	// again in every fuzz worker.
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := ClientHelloSNI(b)
		if err == nil && !validHostName([]byte(name)) {
			t.Fatalf("accepted name %q", name)
		}
		if err != nil && name != "" {
			t.Fatalf("name %q with error %v", name, err)
		}
		// A prefix that already names the server keeps naming it.
		if err == nil {
			if again, err2 := ClientHelloSNI(append(b, 0, 0, 0)); errors.Is(err2, ErrNotClientHello) || (err2 == nil && again != name) {
				t.Fatalf("longer prefix changed the answer: %q %v", again, err2)
			}
		}
	})
}

func FuzzParseDNSResponse(f *testing.F) {
	f.Add(teamsAnswer(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseDNSResponse(b)
		if err != nil {
			return
		}
		for _, a := range r.Answers {
			if a.Addr.IsValid() == (a.Target != "") {
				t.Fatalf("answer is both or neither address and alias: %+v", a)
			}
		}
	})
}

func FuzzPrefix(f *testing.F) {
	f.Add(uint32(1), []byte("abc"), uint32(4), []byte("defg"))
	f.Fuzz(func(t *testing.T, s1 uint32, b1 []byte, s2 uint32, b2 []byte) {
		p := NewPrefix(64)
		p.Add(s1, b1)
		p.Add(s2, b2)
		if len(p.Bytes()) > 64 {
			t.Fatalf("kept %d bytes", len(p.Bytes()))
		}
	})
}
