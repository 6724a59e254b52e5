package dissect

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

// TestWriteSeedCorpus regenerates the kept seed corpus under testdata/fuzz
// when TEAMSFLOW_WRITE_CORPUS=1; otherwise it only checks it is there.
func TestWriteSeedCorpus(t *testing.T) {
	hello := pkt.ClientHello(t, "emea.ng.msg.teams.microsoft.com")
	hs := hello[5:]
	var split []byte
	for len(hs) > 0 {
		n := min(512, len(hs))
		split = append(split, 22, 3, 1, byte(n>>8), byte(n))
		split = append(split, hs[:n]...)
		hs = hs[n:]
	}
	dns := teamsAnswer(t)
	seeds := map[string]map[string][]byte{
		"FuzzClientHelloSNI": {
			"hello-whole": hello, "hello-cut-100": hello[:100], "hello-cut-600": hello[:600],
			"hello-records-512": split, "not-tls": []byte("GET / HTTP/1.1\r\n\r\n"),
		},
		"FuzzParseDNSResponse": {
			"teams-cname-chain": dns, "teams-cut-40": dns[:40], "teams-cut-70": dns[:70],
		},
	}
	write := os.Getenv("TEAMSFLOW_WRITE_CORPUS") == "1"
	for target, files := range seeds {
		for name, b := range files {
			path := filepath.Join("testdata", "fuzz", target, name)
			if !write {
				if _, err := os.Stat(path); err != nil {
					t.Errorf("seed missing (run with TEAMSFLOW_WRITE_CORPUS=1): %v", err)
				}
				continue
			}
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
