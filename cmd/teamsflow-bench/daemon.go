package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// daemonBinary returns the teamsflow binary to run: the one given, or one
// built from this module into a temporary directory (returned for removal),
// built as `make package` builds what ships: static (CGO_ENABLED=0), so
// without libc and its per-thread arenas, which a default build maps into
// the daemon (~2.5 MB of RSS, idle and with 10k flows, side by side).
func daemonBinary(given string) (bin, dir string, err error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", "", fmt.Errorf("teamsflow binary: %w", err)
		}
		return given, "", nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if err != nil || root == "." {
		return "", "", fmt.Errorf("finding the teamsflow module (run the bench from it, or pass --teamsflow): %v", err)
	}
	if dir, err = os.MkdirTemp("", "teamsflow-bench-bin-"); err != nil {
		return "", "", fmt.Errorf("making a temporary directory: %w", err)
	}
	bin = filepath.Join(dir, "teamsflow")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/teamsflow")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("building teamsflow: %w: %s", err, out)
	}
	return bin, dir, nil
}

func removeAll(dir string) { _ = os.RemoveAll(dir) }

// daemon is `teamsflow run` started by the bench in a network namespace,
// as a process of its own, with its API socket in a temporary directory.
type daemon struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has ended
	dir     string
	log     *os.File
	api     *http.Client
	startMs float64 // from exec to a healthy answer with interfaces attached
}

// startDaemon runs the daemon in ns and waits until it answers healthy.
func startDaemon(ctx context.Context, bin string, ns netns.Named) (_ *daemon, err error) {
	d := &daemon{}
	if d.dir, err = os.MkdirTemp("", "teamsflow-bench-daemon-"); err != nil {
		return nil, fmt.Errorf("making a temporary directory: %w", err)
	}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	conf := filepath.Join(d.dir, "config.yaml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		return nil, fmt.Errorf("writing the daemon's configuration: %w", err)
	}
	if d.log, err = os.Create(filepath.Join(d.dir, "log")); err != nil {
		return nil, fmt.Errorf("creating the daemon's log: %w", err)
	}
	sock := filepath.Join(d.dir, "api.sock")
	d.api = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	// nsenter, not `ip netns exec`: that one also remounts /sys, which
	// hides the cgroup v2 hierarchy the daemon attaches its socket hooks to.
	d.cmd = exec.CommandContext(ctx, "nsenter", "--net="+ns.Path(), "--", bin, "run", "--config", conf,
		"--socket", sock, "--group", "", "--log-level", "warn")
	d.cmd.Env = daemonEnv()
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting teamsflow run: %w", err)
	}
	d.exited = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	if err := d.waitHealthy(ctx, 15*time.Second); err != nil {
		return nil, err
	}
	d.startMs = float64(time.Since(start).Microseconds()) / 1000
	return d, nil
}

// daemonEnv is the bench's environment without teamsflow's and the OTLP
// exporter's variables, so the daemon runs with its defaults.
func daemonEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEAMSFLOW_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *daemon) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var h struct {
			OK       bool     `json:"ok"`
			Attached []string `json:"attached"`
		}
		err := d.get("/v1/health", &h)
		if err == nil && h.OK && len(h.Attached) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("teamsflow run did not become healthy within %v (%v): %s", limit, err, d.logTail())
		}
		select {
		case <-d.exited:
			return fmt.Errorf("teamsflow run exited: %s", d.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// get reads one JSON answer of the daemon's API.
func (d *daemon) get(path string, v any) error {
	resp, err := d.api.Get("http://teamsflow" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return nil
}

// counters are the daemon's own figures from /v1/counters.
func (d *daemon) counters() (map[string]float64, error) {
	out := map[string]float64{}
	return out, d.get("/v1/counters", &out)
}

// cpuTicks is the daemon's user+system time, all threads, in clock ticks
// (fields 14 and 15 of /proc/PID/stat).
func (d *daemon) cpuTicks() (uint64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the daemon's cpu time: %w", err)
	}
	// The command name in parentheses may hold spaces: count from after it.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("reading the daemon's cpu time: short /proc stat line")
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("reading the daemon's cpu time: bad fields %q %q", fields[11], fields[12])
	}
	return utime + stime, nil
}

// runNs is the daemon's time on a CPU, summed over its threads from
// /proc/PID/task/*/schedstat: ns-precise where /proc/PID/stat counts
// ticks of 10 ms, but blind to threads that ended (Go rarely ends any).
func (d *daemon) runNs() (uint64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", d.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("listing the daemon's threads: %v", err)
	}
	var sum uint64
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(raw))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", t, err)
		}
		sum += ns
	}
	return sum, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture the agent runs on.
const clockTicks = 100

// memoryKB reads VmRSS and VmHWM (peak RSS) of the daemon, in KiB.
func (d *daemon) memoryKB() (rss, hwm uint64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the daemon's memory: %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, err = strconv.ParseUint(f[1], 10, 64)
		case "VmHWM:":
			hwm, err = strconv.ParseUint(f[1], 10, 64)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("reading the daemon's memory: %w", err)
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("reading the daemon's memory: no VmRSS")
	}
	return rss, hwm, nil
}

// stop ends the daemon with SIGTERM, as systemd would, and removes its
// directory. A daemon that does not stop in time is killed.
func (d *daemon) stop() {
	if d.exited != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	}
	if d.log != nil {
		d.log.Close()
	}
	removeAll(d.dir)
}

func (d *daemon) logTail() string {
	raw, _ := os.ReadFile(filepath.Join(d.dir, "log"))
	if len(raw) > 600 {
		raw = raw[len(raw)-600:]
	}
	return strings.TrimSpace(string(raw))
}

// checkRoot refuses to start without the privileges every measurement needs.
func checkRoot() error {
	if unix.Geteuid() != 0 {
		return fmt.Errorf("must run as root (namespaces, bpf)")
	}
	return nil
}
