package api

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

type credKey struct{}

// withPeerCred reads the connecting process's credentials once per
// connection; the kernel recorded them at connect time, so they cannot be
// changed by the client afterwards.
func withPeerCred(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return ctx
	}
	return context.WithValue(ctx, credKey{}, *cred)
}

// allowed says whether a peer may use the API: root, the agent's own
// user, or a member of the API group (primary or supplementary).
func (s *Server) allowed(cred unix.Ucred) bool {
	if cred.Uid == 0 || int(cred.Uid) == os.Geteuid() {
		return true
	}
	if s.gid < 0 {
		return false
	}
	if int(cred.Gid) == s.gid {
		return true
	}
	groups, err := processGroups(cred.Pid)
	if err != nil {
		return false
	}
	for _, g := range groups {
		if g == s.gid {
			return true
		}
	}
	return false
}

// processGroups reads the supplementary groups of a process. SO_PEERCRED
// has only the primary group; the process's own list is what its
// permissions use, unlike the group database.
func processGroups(pid int32) ([]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var out []int
		for _, field := range strings.Fields(rest) {
			if g, err := strconv.Atoi(field); err == nil {
				out = append(out, g)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no Groups line for pid %d", pid)
}

// checkPeer wraps a handler with the credential check.
func (s *Server) checkPeer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		cred, ok := r.Context().Value(credKey{}).(unix.Ucred)
		if !ok || !s.allowed(cred) {
			s.denied.Add(1)
			s.opts.Log.Warn().Uint32("uid", cred.Uid).Int32("pid", cred.Pid).Str("path", r.URL.Path).
				Msg("local API request refused: not root and not in the API group")
			writeJSON(w, http.StatusForbidden, Denial{
				Error: fmt.Sprintf("permission denied: uid %d is not root and not in group %q", cred.Uid, s.opts.Group),
				Group: s.groupName()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) groupName() string {
	if s.gid < 0 {
		return ""
	}
	return s.opts.Group
}

// Denial is the body of a 403 answer.
type Denial struct {
	Error string `json:"error"`
	Group string `json:"group,omitempty"` // the group to join; "" when only root may
}
