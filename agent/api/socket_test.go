package api

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func listenOpts(sock string) Options {
	return Options{Socket: sock, Streams: fakeStreams{}, Log: zerolog.Nop(), Health: func() Health { return Health{OK: true} }}
}

// A socket left by a killed agent is replaced.
func TestStaleSocketIsRemoved(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatal("the stale socket should still be there")
	}
	s, err := Listen(listenOpts(sock))
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	if _, err := NewClient(sock).Streams(context.Background(), false); err != nil {
		t.Error(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}

func TestSecondAgentRefused(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	s, err := Listen(listenOpts(sock))
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	defer s.Close()
	_, err = Listen(listenOpts(sock))
	if err == nil || err.Error() != "another teamsflow agent is already listening on "+sock {
		t.Errorf("got %v", err)
	}
	if _, err := NewClient(sock).Streams(context.Background(), false); err != nil {
		t.Errorf("the first agent's socket was disturbed: %v", err)
	}
}

func TestNotASocketRefused(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	_ = os.WriteFile(sock, []byte("x"), 0o600)
	_, err := Listen(listenOpts(sock))
	if err == nil || !strings.Contains(err.Error(), "exists and is not a socket") {
		t.Errorf("got %v", err)
	}
}

func TestNotRunning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent", "api.sock")
	_, err := NewClient(sock).Streams(context.Background(), false)
	var nr *NotRunningError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "sudo teamsflow run") {
		t.Errorf("got %v", err)
	}
}
