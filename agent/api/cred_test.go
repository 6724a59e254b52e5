package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// asAnotherUser runs this test binary as a client under uid/gid nobody
// with the given supplementary groups and returns its one-line verdict.
func asAnotherUser(t *testing.T, dir, sock string, groups ...uint32) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client.test")
	if _, err := os.Stat(bin); err != nil {
		data, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childSocketEnv+"="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// The credential check holds even when the socket's mode lets anyone
// connect: a stranger gets 403 and is told which group to join.
func TestPeerCredentials(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := sharedDir(t)
	sock := filepath.Join(dir, "api.sock")
	s := startServer(t, sock, "adm", true)
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if got := asAnotherUser(t, dir, sock); got != "permission adm" {
		t.Errorf("stranger: %q; want a 403 naming group adm", got)
	}
	if s.denied.Load() != 1 {
		t.Errorf("denied counter %d; want 1", s.denied.Load())
	}
	if got := asAnotherUser(t, dir, sock, 4); got != "ok 2" {
		t.Errorf("member of adm (supplementary): %q; want ok 2", got)
	}
	if got := asAnotherUser(t, dir, sock, 27); got != "permission adm" {
		t.Errorf("member of another group: %q", got)
	}
}

// Primary group membership counts too.
func TestPeerPrimaryGroup(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := sharedDir(t)
	sock := filepath.Join(dir, "api.sock")
	startServer(t, sock, "nogroup", true)
	if got := asAnotherUser(t, dir, sock); got != "ok 2" {
		t.Errorf("primary group nogroup: %q", got)
	}
}

// With the normal 0660 mode a stranger is stopped by the file system and
// still told which group to join.
func TestFileModeRefusal(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := sharedDir(t)
	sock := filepath.Join(dir, "api.sock")
	startServer(t, sock, "adm", true)
	if got := asAnotherUser(t, dir, sock); got != "permission adm" {
		t.Errorf("stranger: %q", got)
	}
}

// With no group only root may: the stranger is told to use sudo.
func TestRootOnly(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := sharedDir(t)
	sock := filepath.Join(dir, "api.sock")
	startServer(t, sock, "", true)
	_ = os.Chmod(sock, 0o666)
	if got := asAnotherUser(t, dir, sock); got != "permission" {
		t.Errorf("stranger: %q", got)
	}
	err := (&PermissionError{Socket: sock}).Error()
	if !strings.Contains(err, "only root may ask the agent; use sudo") {
		t.Error(err)
	}
}

// A child with this set asks each listed path and prints its status.
const childPathsEnv = "TF_API_TEST_CHILD_PATHS"

// childGet prints "PATH STATUS" for each path, on one line.
func childGet(sock string, paths []string) int {
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var out []string
	for _, p := range paths {
		resp, err := c.Get("http://teamsflow" + p)
		if err != nil {
			out = append(out, p+" error")
			continue
		}
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%s %d", p, resp.StatusCode))
	}
	fmt.Println(strings.Join(out, " "))
	return 0
}

// Every endpoint, not only the streams, is behind the credential check;
// a member of the group reaches each of them.
func TestEveryEndpointChecksThePeer(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := sharedDir(t)
	sock := filepath.Join(dir, "api.sock")
	startServer(t, sock, "adm", true)
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	paths := []string{"/v1/streams", "/v1/calls", "/v1/health", "/v1/counters", "/metrics", "/nosuch"}
	get := func(groups ...uint32) string {
		t.Setenv(childPathsEnv, strings.Join(paths, ","))
		return asAnotherUser(t, dir, sock, groups...)
	}
	var refused, member []string
	for _, p := range paths {
		refused = append(refused, p+" 403")
		code := "200"
		if p == "/nosuch" {
			code = "404"
		}
		member = append(member, p+" "+code)
	}
	if got, want := get(), strings.Join(refused, " "); got != want {
		t.Errorf("stranger: %q\nwant %q", got, want)
	}
	if got, want := get(4), strings.Join(member, " "); got != want {
		t.Errorf("member of adm: %q\nwant %q", got, want)
	}
}
