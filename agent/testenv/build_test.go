package testenv

import (
	"os"
	"strings"
	"testing"
)

// One package is built once per test binary, into a folder every user can
// read, and a package that does not build says which one in its error.
func TestBuildBinaryOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a command with go build")
	}
	first := BuildBinary(t, "./deploy/kernels/smoke")
	fi, err := os.Stat(first)
	if err != nil || fi.Mode().Perm()&0o005 != 0o005 {
		t.Fatalf("built binary %s: %v, mode %v", first, err, fi.Mode())
	}
	if again := BuildBinary(t, "./deploy/kernels/smoke"); again != first {
		t.Errorf("second build of one package: %s, want the first's %s", again, first)
	}
	static := BuildBinary(t, "./deploy/kernels/smoke", "CGO_ENABLED=0")
	if static == first {
		t.Error("a build with another environment reused the first binary")
	}
	_, err = BuildMain("./cmd/no-such-command")
	if err == nil || !strings.Contains(err.Error(), "building ./cmd/no-such-command") {
		t.Errorf("building a missing package: %v", err)
	}
	RemoveBinaries()
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("RemoveBinaries left %s: %v", first, err)
	}
}
