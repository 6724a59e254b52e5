package webrtc

import (
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"
)

// A short call with camera, microphone and a late screen share carries
// media both ways on every mid, and the page's stats say so.
func TestCallCarriesMediaBothWays(t *testing.T) {
	env := NewEnv(t, fmt.Sprintf("tfw%d", os.Getpid()%100000))
	call := env.Start(t, Scenario{Name: "smoke", Duration: 8 * time.Second,
		Page: url.Values{"share_start": {"2"}}})
	tr := call.Wait(t)
	t.Logf("truth:\n%s", tr.Describe())
	for _, ev := range tr.Events {
		t.Logf("event %+v", ev)
	}
}
