package kernels

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// KernelsEnv lists the Debian kernel packages to boot, space-separated
// (`make test-kernels` sets it); unset, the boot test is skipped.
const KernelsEnv = "TEAMSFLOW_KERNELS"

// TestSmokeOnOtherKernels boots each kernel of $TEAMSFLOW_KERNELS under
// qemu with a static teamsflow and checks the smoke traffic's records.
func TestSmokeOnOtherKernels(t *testing.T) {
	pkgs := strings.Fields(os.Getenv(KernelsEnv))
	if len(pkgs) == 0 {
		t.Skip("boots other kernels under qemu: run with " + KernelsEnv + "=PACKAGES (make test-kernels)")
	}
	for _, tool := range []string{"qemu-system-x86_64", "apt-get", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make test-kernels installs it): %v", tool, err)
		}
	}
	g := buildGuest(t)
	cache := cacheDir(t)
	for _, pkg := range pkgs {
		t.Run(pkg, func(t *testing.T) {
			k, err := fetchKernel(cache, pkg)
			if err != nil {
				t.Fatal(err)
			}
			initramfs := filepath.Join(t.TempDir(), "initramfs.cpio")
			if err := buildInitramfs(initramfs, k, g); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			console, err := boot(context.Background(), k, initramfs, 8*time.Minute)
			if err != nil {
				t.Fatalf("%v\n%s", err, console)
			}
			// Kept for a look after the run: the last console of each kernel.
			saved := filepath.Join(cache, k.Package, "last-console.txt")
			if err := os.WriteFile(saved, []byte(console), 0o644); err != nil {
				t.Log(err)
			}
			res := checkSmoke(console)
			t.Logf("%s (%s): booted and checked in %s", k.Release, k.Package, time.Since(start).Round(time.Second))
			for _, l := range res.Report {
				t.Log(l)
			}
			if err := res.Err(); err != nil {
				t.Fatalf("smoke test on %s: %v\n--- console:\n%s", k.Release, err, console)
			}
		})
	}
}

// buildGuest builds the static binaries the guest runs.
func buildGuest(t *testing.T) guest {
	t.Helper()
	static := []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath"}
	g := guest{
		Teamsflow: testenv.BuildBinary(t, "./cmd/teamsflow", static...),
		Smoke:     testenv.BuildBinary(t, "./deploy/kernels/smoke", static...),
		Busybox:   "/bin/busybox",
	}
	// busybox-static's binary: the dynamic busybox would not run alone.
	out, err := exec.Command("file", "-L", g.Busybox).Output()
	if err == nil && !strings.Contains(string(out), "statically linked") {
		t.Fatalf("%s is not static: install busybox-static (make test-kernels does)", g.Busybox)
	}
	return g
}

// cacheDir is where downloaded kernels stay between runs.
func cacheDir(t *testing.T) string {
	t.Helper()
	home, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "teamsflow", "kernels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
