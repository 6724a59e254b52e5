package kernels

import (
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestMain deletes the agent the tests built once for all of them.
func TestMain(m *testing.M) { testenv.RunTests(m) }
