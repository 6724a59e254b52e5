package agent

import (
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

func TestMain(m *testing.M) {
	testenv.PeerMain(faultPeers, fdPassPeers)
	testenv.RunTests(m)
}
