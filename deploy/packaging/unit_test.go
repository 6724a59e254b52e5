package packaging

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const unitFile = "../systemd/teamsflow.service"

// unitValues returns every value of key in the [Service] section of the
// unit, split on spaces, in order (systemd merges repeated keys).
func unitValues(t *testing.T, key string) []string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var values []string
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "[Service]" && strings.TrimSpace(k) == key {
			values = append(values, strings.Fields(v)...)
		}
	}
	if len(values) == 0 {
		t.Fatalf("%s has no %s", unitFile, key)
	}
	return values
}

// unitCaps is the unit's capability set; the ambient and bounding sets
// must be the same, or the agent would hold less (or could gain more)
// than the table in deploy/README.md says.
func unitCaps(t *testing.T) []string {
	t.Helper()
	ambient, bounding := unitValues(t, "AmbientCapabilities"), unitValues(t, "CapabilityBoundingSet")
	if strings.Join(ambient, " ") != strings.Join(bounding, " ") {
		t.Fatalf("AmbientCapabilities %v differs from CapabilityBoundingSet %v", ambient, bounding)
	}
	return ambient
}

// systemd-analyze verify reads the unit as systemd would: unknown keys,
// bad values and a missing ExecStart binary are all reported. The unit is
// checked in a copy of the system's unit tree (--root) with the freshly
// built binary at /usr/bin/teamsflow, so nothing is installed here.
func TestUnitVerifies(t *testing.T) {
	requireTool(t, "systemd-analyze", "systemd")
	root := t.TempDir()
	units := filepath.Join(root, "usr/lib/systemd/system")
	for _, dir := range []string{units, filepath.Join(root, "usr/bin"), filepath.Join(root, "etc")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "cp", "-a", "/usr/lib/systemd/system/.", units)
	run(t, "cp", unitFile, units)
	run(t, "cp", binary, filepath.Join(root, "usr/bin/teamsflow"))
	out, err := exec.Command("systemd-analyze", "--root="+root, "verify", "teamsflow.service").CombinedOutput()
	// verify exits 0 on unknown keys, so any output is a failure too.
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The default configuration loads as it ships (all comments), and with
// every commented-out key switched on: the commented defaults are real
// keys with valid values.
func TestDefaultConfigLoads(t *testing.T) {
	raw, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// "#key: value" and "#  key: value" are settings; the rest is prose.
	setting := regexp.MustCompile(`(?m)^#(\s*[a-z_]+:(\s|$))`)
	enabled := setting.ReplaceAllString(string(raw), "$1")
	uncommented := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(uncommented, []byte(enabled), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"config.yaml", uncommented} {
		out, err := exec.Command(binary, "run", "--config", file, "--print-config").CombinedOutput()
		if err != nil {
			t.Errorf("%s does not load: %v\n%s", file, err, out)
		}
	}
	out := run(t, binary, "run", "--config", uncommented, "--print-config")
	if !strings.Contains(out, "endpoint: collector.example.net:4317") {
		t.Errorf("uncommented settings were not read:\n%s", out)
	}
}
