package launch

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/client"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// RunRole is main() of a client process; it returns the exit code.
func RunRole(role string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lvl, err := zerolog.ParseLevel(os.Getenv(EnvLogLevel))
	if err != nil || os.Getenv(EnvLogLevel) == "" {
		lvl = zerolog.InfoLevel
	}
	out := io.Writer(os.Stderr)
	if isatty.IsTerminal(os.Stderr.Fd()) {
		out = zerolog.ConsoleWriter{Out: os.Stderr}
	}
	log := zerolog.New(out).Level(lvl).With().Timestamp().
		Str("component", "client").Str("client", os.Getenv(EnvClient)).Int("pid", os.Getpid()).Logger()
	switch role {
	case "parent":
		err = runParent(ctx)
	case "net":
		err = runNet(ctx, log)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		log.Error().Err(err).Msg("client failed")
		return 1
	}
	return 0
}

// runParent is the browser/Electron main process: it starts the network
// service child (same executable, utility argv) and lives as long as it.
func runParent(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding own executable: %w", err)
	}
	argv := ChildArgv(os.Getenv(EnvClient), exe)
	cmd := &exec.Cmd{Path: exe, Args: argv, Stdout: os.Stderr, Stderr: os.Stderr}
	cmd.Env = append(os.Environ(), EnvRole+"=net")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting network service: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err = <-done
	}
	if err != nil {
		return fmt.Errorf("network service: %w", err)
	}
	return nil
}

// runNet plays the call and writes the result for the controller.
func runNet(ctx context.Context, log zerolog.Logger) error {
	var p plan.Call
	if err := plan.ReadJSON(os.Getenv(EnvPlan), &p); err != nil {
		return err
	}
	res := client.Run(ctx, p, log.With().Str("call", p.ID).Logger())
	if err := plan.WriteJSON(os.Getenv(EnvResult), res); err != nil {
		return err
	}
	if res.Error != "" {
		return fmt.Errorf("call %s: %s", p.ID, res.Error)
	}
	return nil
}
