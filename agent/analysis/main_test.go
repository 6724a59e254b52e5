//go:build linux

package analysis

import (
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestMain removes the simulator binaries the scenario tests build.
func TestMain(m *testing.M) { testenv.RunTests(m) }
