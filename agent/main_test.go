package agent

import (
	"os"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

func TestMain(m *testing.M) {
	testenv.PeerMain(faultPeers, fdPassPeers)
	os.Exit(m.Run())
}
