package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// ModuleRoot is the repository's top folder (where go.mod is).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// built is one package's build, shared by every test of the test binary:
// a cold `go build` of the agent takes seconds, so it runs once.
type built struct {
	once sync.Once
	n    int // its own subfolder: one package may be built with two environments
	path string
	err  error
}

var (
	buildsMu  sync.Mutex
	builds    = map[string]*built{}
	buildsDir string // one temporary directory for every build, 0755
)

// BuildBinary compiles a command of this module (a path from the module
// root, e.g. "./cmd/teamsflow") once per test binary and returns the
// binary's path; env adds to the build's environment (CGO_ENABLED=0 for a
// static binary). A failed build ends the test with go build's output.
func BuildBinary(t testing.TB, pkg string, env ...string) string {
	t.Helper()
	bin, err := BuildMain(pkg, env...)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// BuildMain is BuildBinary for TestMain, where there is no test to end.
// The binary is readable and executable by every user (tests run it as
// nobody); RemoveBinaries deletes it.
func BuildMain(pkg string, env ...string) (string, error) {
	key := pkg + "\x00" + strings.Join(env, "\x00")
	buildsMu.Lock()
	b := builds[key]
	if b == nil {
		b = &built{n: len(builds)}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.path, b.err = buildOnce(pkg, b.n, env) })
	return b.path, b.err
}

// buildOnce runs go build for one package into subfolder n of the shared
// directory.
func buildOnce(pkg string, n int, env []string) (string, error) {
	dir, err := binariesDir()
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	out := filepath.Join(dir, fmt.Sprintf("%d", n), filepath.Base(pkg))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = ModuleRoot()
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

func binariesDir() (string, error) {
	buildsMu.Lock()
	defer buildsMu.Unlock()
	if buildsDir != "" {
		return buildsDir, nil
	}
	dir, err := os.MkdirTemp("", "teamsflow-testbin-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	buildsDir = dir
	return dir, nil
}

// RemoveBinaries deletes what BuildBinary and BuildMain built; TestMain
// calls it after m.Run.
func RemoveBinaries() {
	buildsMu.Lock()
	defer buildsMu.Unlock()
	if buildsDir != "" {
		_ = os.RemoveAll(buildsDir)
	}
	buildsDir, builds = "", map[string]*built{}
}

// RunTests is the end of a TestMain: it runs the tests, deletes the
// binaries they built and exits with their result.
func RunTests(m *testing.M) {
	code := m.Run()
	RemoveBinaries()
	os.Exit(code)
}
