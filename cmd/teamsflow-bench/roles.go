package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// roleEnv marks the bench binary started again as one of its traffic
// roles. An environment variable rather than a flag keeps the roles out
// of the user-facing usage text.
const roleEnv = "TEAMSFLOW_BENCH_ROLE"

// Roles of the bench binary started again inside a namespace: each is a
// process of its own, so that it competes with the agent for CPU as an
// application would, and owns its sockets as an application does.
const (
	roleFlood = "flood" // 64-byte UDP flood (sender.go)
	roleTCP   = "tcp"   // one TCP bulk stream (tcp.go)
	roleChurn = "churn" // many short UDP flows (churn_sender.go)
)

// roleMain runs the role named in the environment, if any; ok is false
// for a normal start of the bench.
func roleMain(args []string) (ok bool, err error) {
	switch os.Getenv(roleEnv) {
	case "":
		return false, nil
	case roleFlood:
		return true, senderMain(args)
	case roleTCP:
		return true, tcpSenderMain(args)
	case roleChurn:
		return true, churnSenderMain(args)
	default:
		return true, fmt.Errorf("unknown role %q", os.Getenv(roleEnv))
	}
}

// runRole starts the bench binary again inside ns as role and returns
// what it printed on stdout.
func runRole(ctx context.Context, ns netns.Named, role string, argv []string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the bench binary: %w", err)
	}
	args := append([]string{"netns", "exec", ns.Name, self}, argv...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err != nil {
		return "", fmt.Errorf("running the %s sender: %w: %s", role, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
