package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// A child started by asAnotherUser sets this and only runs the client.
const childSocketEnv = "TF_API_TEST_CHILD_SOCKET"

func TestMain(m *testing.M) {
	if sock := os.Getenv(childSocketEnv); sock != "" {
		if paths := os.Getenv(childPathsEnv); paths != "" {
			os.Exit(childGet(sock, strings.Split(paths, ",")))
		}
		os.Exit(childClient(sock))
	}
	os.Exit(m.Run())
}

// childClient asks for streams and prints what happened: "ok N",
// "permission GROUP" or "error TEXT".
func childClient(sock string) int {
	recs, err := NewClient(sock).Streams(context.Background(), true)
	var perm *PermissionError
	switch {
	case errors.As(err, &perm):
		fmt.Printf("permission %s\n", perm.Group)
	case err != nil:
		fmt.Printf("error %v\n", err)
	default:
		fmt.Printf("ok %d\n", len(recs))
	}
	return 0
}

// fakeStreams is a pure stand-in for the pipeline: two records, one Teams.
type fakeStreams struct{}

func (fakeStreams) Records(allApps bool) []record.Record {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	teams := record.Record{Kind: "stream", Transport: "udp", LocalPort: 50000, App: "teams", Label: "audio",
		CallID: "c1", FirstSeen: t0, LastSeen: t0.Add(time.Minute), BytesSent: 10, Relayed: true}
	other := record.Record{Kind: "stream", Transport: "tcp", LocalPort: 40000, Label: "other", FirstSeen: t0, LastSeen: t0}
	if allApps {
		return []record.Record{teams, other}
	}
	return []record.Record{teams}
}

// sharedDir is a directory that other users can enter, for the socket
// and a copy of the test binary.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tf-api-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startServer(t *testing.T, sock, group string, healthy bool) *Server {
	t.Helper()
	s, err := Listen(Options{Socket: sock, Group: group, Streams: fakeStreams{}, Log: zerolog.Nop(),
		Metrics: func() []Metric {
			return []Metric{{Name: "flows_tracked", Help: "Flows in the table.", Value: 7},
				{Name: "kernel_flow_map_full_total", Help: "Flows not tracked: map full.", Counter: true, Value: 2}}
		},
		Health: func() Health { return Health{OK: healthy, Version: "test", Problems: problems(healthy)} }})
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func problems(ok bool) []string {
	if ok {
		return nil
	}
	return []string{"no poll for 10s"}
}

func TestEndpoints(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	startServer(t, sock, "", true)
	c := NewClient(sock)
	ctx := context.Background()
	recs, err := c.Streams(ctx, false)
	if err != nil || len(recs) != 1 || recs[0].App != "teams" {
		t.Fatalf("streams: %v %+v", err, recs)
	}
	if recs, _ = c.Streams(ctx, true); len(recs) != 2 {
		t.Errorf("all_apps: %d records", len(recs))
	}
	var calls []Call
	if err := c.Get(ctx, "/v1/calls", &calls); err != nil || len(calls) != 1 || calls[0].CallID != "c1" ||
		calls[0].Labels["audio"] != 1 || !calls[0].Relayed || calls[0].Streams != 1 {
		t.Errorf("calls: %v %+v", err, calls)
	}
	var h Health
	if err := c.Get(ctx, "/v1/health", &h); err != nil || !h.OK || h.Version != "test" {
		t.Errorf("health: %v %+v", err, h)
	}
	var counters map[string]float64
	if err := c.Get(ctx, "/v1/counters", &counters); err != nil || counters["flows_tracked"] != 7 ||
		counters["api_requests_total"] < 4 {
		t.Errorf("counters: %v %v", err, counters)
	}
	var x any
	if err := c.Get(ctx, "/v1/streams?all_apps=maybe", &x); err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
		t.Errorf("bad parameter: %v", err)
	}
}

func TestPrometheusText(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	startServer(t, sock, "", true)
	body := rawGet(t, sock, "/metrics")
	for _, want := range []string{
		"# TYPE teamsflow_flows_tracked gauge\nteamsflow_flows_tracked 7\n",
		"# TYPE teamsflow_kernel_flow_map_full_total counter\nteamsflow_kernel_flow_map_full_total 2\n",
		"# TYPE teamsflow_api_requests_total counter\n",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

func rawGet(t *testing.T, sock, path string) string {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path)
	b, _ := io.ReadAll(conn)
	return string(b)
}

func TestUnhealthyIs503(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	startServer(t, sock, "", false)
	if body := rawGet(t, sock, "/v1/health"); !strings.HasPrefix(body, "HTTP/1.0 503") || !strings.Contains(body, "no poll for 10s") {
		t.Errorf("health: %s", body)
	}
	var h Health
	if err := NewClient(sock).Get(context.Background(), "/v1/health", &h); err != nil || h.OK {
		t.Errorf("client: %v %+v", err, h)
	}
}

func TestSocketFileModeAndGroup(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := filepath.Join(sharedDir(t), "run", "teamsflow")
	sock := filepath.Join(dir, "api.sock")
	startServer(t, sock, "adm", true)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o660 || st.Uid != 0 || st.Gid != 4 {
		t.Errorf("socket mode %v uid %d gid %d; want 0660 root:adm", fi.Mode().Perm(), st.Uid, st.Gid)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v; want 0755", di.Mode().Perm())
	}
}
