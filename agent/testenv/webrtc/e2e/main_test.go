package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// binary is teamsflow, built once for every test of the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "teamsflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "teamsflow")
	if err := testenv.BuildTo("./cmd/teamsflow", binary); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
