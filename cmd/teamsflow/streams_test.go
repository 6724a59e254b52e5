//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

func TestStreamsWithoutAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	for _, args := range [][]string{{"streams"}, {"streams", "--json"}, {"streams", "--watch"}} {
		stdout, stderr, code := runCLI(t, nil, append(args, "--socket", sock)...)
		want := "teamsflow: the teamsflow agent is not running (nothing listens on " + sock + "): start it with " +
			"'sudo teamsflow run' or 'sudo systemctl start teamsflow'\n"
		if code != 1 || stderr != want || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 1 and %q", args, code, stderr, stdout, want)
		}
	}
}

func TestStreamsBadInput(t *testing.T) {
	cases := map[string][]string{
		"invalid --interval 0s: must be greater than zero":  {"streams", "--interval", "0s"},
		`--socket: "relative.sock" is not an absolute path`: {"streams", "--socket", "relative.sock"},
		`TEAMSFLOW_API_SOCKET: "x" is not an absolute path`: {"streams"},
	}
	for want, args := range cases {
		var env []string
		if strings.HasPrefix(want, "TEAMSFLOW_") {
			env = []string{"env", "TEAMSFLOW_API_SOCKET=x"}
		}
		_, stderr, code := runCLI(t, env, args...)
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want one line with %q", args, code, stderr, want)
		}
	}
}

// fixedStreams stands in for a running agent's pipeline.
type fixedStreams []record.Record

func (f fixedStreams) Records(allApps bool) []record.Record {
	var out []record.Record
	for _, r := range f {
		if allApps || r.App == "teams" {
			out = append(out, r)
		}
	}
	return out
}

// serveFixed serves records on a socket in a directory others may enter.
func serveFixed(t *testing.T, group string, recs ...record.Record) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tf-streams")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "api.sock")
	s, err := api.Listen(api.Options{Socket: sock, Group: group, Streams: fixedStreams(recs), Log: zerolog.Nop(),
		Health: func() api.Health { return api.Health{OK: true} }})
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	t.Cleanup(func() { _ = s.Close() })
	return sock
}

func TestStreamsPermissionDenied(t *testing.T) {
	testenv.RequirePrivileged(t)
	sock := serveFixed(t, "adm")
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	want := "teamsflow: permission denied on " + sock + ": join group adm (sudo usermod -aG adm $USER, then log in again) or use sudo\n"
	for _, mode := range []os.FileMode{0o660, 0o666} { // refused by the file mode, then by the peer check
		_ = os.Chmod(sock, mode)
		stdout, stderr, code := runCLI(t, nobody, "streams", "--socket", sock)
		if code != 1 || stderr != want || stdout != "" {
			t.Errorf("mode %v: exit %d, stderr %q; want exit 1 and %q", mode, code, stderr, want)
		}
	}
}

func TestStreamsJSONAndTable(t *testing.T) {
	now := time.Now()
	sock := serveFixed(t, "", tableFixture(now)...)
	stdout, stderr, code := runCLI(t, nil, "streams", "--json", "--socket", sock)
	recs := parseRecords(t, stdout)
	if code != 0 || len(recs) != 6 || stderr != "" {
		t.Fatalf("--json: exit %d, %d records, stderr %q", code, len(recs), stderr)
	}
	stdout, _, _ = runCLI(t, nil, "streams", "--json", "--all-apps", "--socket", sock)
	if recs = parseRecords(t, stdout); len(recs) != 7 || recs[0].Comm != "curl" {
		t.Errorf("--all-apps: %d records", len(recs))
	}
	stdout, _, code = runCLI(t, []string{"env", "TEAMSFLOW_API_SOCKET=" + sock}, "streams")
	if code != 0 || !strings.Contains(stdout, "CALL call-1: ms-teams 4242, 5 streams") || strings.Contains(stdout, "curl") {
		t.Errorf("table: exit %d\n%s", code, stdout)
	}
}
