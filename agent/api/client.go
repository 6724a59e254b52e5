package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
)

// Client asks a running agent over its socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient talks to the agent listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{socket: socket, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// NotRunningError means nothing listens on the socket.
type NotRunningError struct{ Socket string }

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("the teamsflow agent is not running (nothing listens on %s): start it with "+
		"'sudo teamsflow run' or 'sudo systemctl start teamsflow'", e.Socket)
}

// PermissionError means the socket's mode or the agent refused us.
type PermissionError struct {
	Socket string
	Group  string // the group that may use the API; "" when only root may
}

func (e *PermissionError) Error() string {
	if e.Group == "" {
		return fmt.Sprintf("permission denied on %s: only root may ask the agent; use sudo", e.Socket)
	}
	return fmt.Sprintf("permission denied on %s: join group %s (sudo usermod -aG %s $USER, then log in again) or use sudo",
		e.Socket, e.Group, e.Group)
}

// Streams returns the agent's stream records; allApps includes flows of
// every process, not only Teams.
func (c *Client) Streams(ctx context.Context, allApps bool) ([]record.Record, error) {
	var recs []record.Record
	path := "/v1/streams"
	if allApps {
		path += "?all_apps=1"
	}
	return recs, c.Get(ctx, path, &recs)
}

// Get fetches an endpoint and decodes its JSON answer into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://teamsflow"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("reading the agent's answer: %w", err)
	}
	if resp.StatusCode == http.StatusForbidden {
		var d Denial
		_ = json.Unmarshal(body, &d)
		return &PermissionError{Socket: c.socket, Group: d.Group}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("the agent answered %s: %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding the agent's answer: %w", err)
	}
	return nil
}

func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTDIR):
		return &NotRunningError{Socket: c.socket}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &PermissionError{Socket: c.socket, Group: socketGroup(c.socket)}
	}
	return fmt.Errorf("asking the agent on %s: %w", c.socket, err)
}

// socketGroup names the group owning the socket file, the one to join;
// "" when it is root's.
func socketGroup(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Gid == 0 {
		return ""
	}
	if g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(st.Gid))
}
