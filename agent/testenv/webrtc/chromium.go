package webrtc

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chromiumPaths are where Debian's chromium package puts the browser: the
// real binary first (the /usr/bin wrapper script only adds flags we set
// ourselves).
var chromiumPaths = []string{"/usr/lib/chromium/chromium", "chromium", "chromium-browser"}

// FindChromium returns the browser's path, or "" when it is not installed.
func FindChromium() string {
	for _, p := range chromiumPaths {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// RequireChromium skips the test when Chromium is missing (a contributor's
// plain `go test`); `make test` installs it.
func RequireChromium(t testing.TB) string {
	t.Helper()
	p := FindChromium()
	if p == "" {
		t.Skip("chromium is not installed (make deps installs it): no real WebRTC client to run")
	}
	return p
}

// chromiumArgs are the flags of a headless call: a fresh profile, nothing
// fetched from the network, fake camera and microphone, and a screen share
// of the page's own tab accepted without a prompt. The fake UI flag is
// left out on purpose: it would hand out an animated fake screen instead
// of the tab.
func chromiumArgs(profile, origin string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio",
		"--user-data-dir=" + profile,
		"--use-fake-device-for-media-stream",
		"--auto-accept-this-tab-capture", "--auto-accept-camera-and-microphone-capture",
		"--autoplay-policy=no-user-gesture-required",
		"--unsafely-treat-insecure-origin-as-secure=" + origin,
		"--window-size=1280,800",
	}
}

// browser is a running Chromium, in its own process group so that every
// child (renderer, network service) ends with it.
type browser struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 4<<20 {
		return len(p), nil // enough to tell what went wrong
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startChromium opens url in a headless Chromium inside the namespace ns.
func startChromium(bin, ns, url, origin, profile string) (*browser, error) {
	args := append([]string{"netns", "exec", ns, bin}, chromiumArgs(profile, origin)...)
	b := &browser{cmd: exec.Command("ip", append(args, url)...), log: &lockedBuffer{}, done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.Env = append(os.Environ(), "HOME="+profile)
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	return b, nil
}

// stop ends the browser's process group: SIGTERM, then SIGKILL.
func (b *browser) stop() {
	pgid := b.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-b.done
	}
	// Children that outlived the leader are still in the group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tail is the last lines of the browser's output, for a failure message.
func (b *browser) tail(n int) string {
	lines := strings.Split(strings.TrimSpace(b.log.String()), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
