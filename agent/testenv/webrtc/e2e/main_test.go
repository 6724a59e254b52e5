package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// binary is teamsflow, built once for every test of the package.
var binary string

func TestMain(m *testing.M) {
	var err error
	if binary, err = testenv.BuildMain("./cmd/teamsflow"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.RunTests(m)
}
