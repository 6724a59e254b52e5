// Package kernels boots other kernels under qemu with a static teamsflow
// and runs a smoke test there: the programs load, a TCP and a UDP flow
// get their owners, an RTP stream gets a media label. See README.md.
package kernels

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// modules are what the agent needs that Debian builds as modules, loaded
// in this order: clsact (TCX is 6.6+), and sock_diag for TCP and UDP (the
// backfill of sockets older than the agent).
var modules = []string{"net/sched/sch_ingress.ko", "net/sched/cls_bpf.ko",
	"net/ipv4/inet_diag.ko", "net/ipv4/tcp_diag.ko", "net/ipv4/udp_diag.ko"}

// initScript runs as PID 1 in the guest: it mounts what the agent needs,
// runs `teamsflow capture` on loopback, makes the traffic once the agent
// says it is capturing, stops it with SIGINT (it still prints), and
// prints everything on the console with the prefix "TFK ".
const initScript = `#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmp /tmp
for m in /lib/modules/*.ko; do insmod $m || echo "TFK insmod $m failed"; done
ip link set lo up
echo "TFK kernel $(uname -r)"
start=$(date +%s)
teamsflow capture --duration 10m --json --interfaces lo --log-level debug >/tmp/out.json 2>/tmp/err.log &
pid=$!
n=0
while ! grep -q '"capturing"' /tmp/err.log; do
	kill -0 $pid 2>/dev/null || break
	sleep 1
	n=$((n+1)); [ $n -gt 300 ] && break
done
echo "TFK started-after $(( $(date +%s) - start ))s"
tf-tcp; echo "TFK tf-tcp $?"
tf-udp; echo "TFK tf-udp $?"
tf-rtp; echo "TFK tf-rtp $?"
sleep 2
kill -INT $pid
wait $pid
echo "TFK capture-exit $?"
sed 's/^/TFK log /' /tmp/err.log
sed 's/^/TFK record /' /tmp/out.json
echo "TFK end"
reboot -f
`

// guest is what goes into the initramfs besides the kernel's modules.
type guest struct {
	Teamsflow, Smoke, Busybox string // static binaries
}

// buildInitramfs writes the guest's initramfs for kernel k to out.
func buildInitramfs(out string, k kernel, g guest) error {
	e := map[string]entry{
		"bin": {Mode: 0o755, Dir: true}, "dev": {Mode: 0o755, Dir: true}, "proc": {Mode: 0o755, Dir: true},
		"sys": {Mode: 0o755, Dir: true}, "tmp": {Mode: 0o1777, Dir: true}, "lib": {Mode: 0o755, Dir: true},
		"lib/modules":   {Mode: 0o755, Dir: true},
		"dev/console":   {Mode: 0o600, Dev: &[2]uint32{5, 1}},
		"dev/null":      {Mode: 0o666, Dev: &[2]uint32{1, 3}},
		"init":          {Mode: 0o755, Data: []byte(initScript)},
		"bin/sh":        {Link: "busybox"},
		"bin/busybox":   {Mode: 0o755, Src: g.Busybox},
		"bin/teamsflow": {Mode: 0o755, Src: g.Teamsflow},
		"bin/tf-smoke":  {Mode: 0o755, Src: g.Smoke},
		"bin/tf-tcp":    {Link: "tf-smoke"}, "bin/tf-udp": {Link: "tf-smoke"}, "bin/tf-rtp": {Link: "tf-smoke"},
	}
	for i, m := range modules {
		// Numbered: the init script loads them in glob order.
		e[fmt.Sprintf("lib/modules/%d-%s", i, filepath.Base(m))] = entry{Mode: 0o644, Src: filepath.Join(k.Modules, "kernel", m)}
	}
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(k.Modules, "kernel", m)); err != nil {
			return fmt.Errorf("kernel %s has no module %s (built in?): %w", k.Release, m, err)
		}
	}
	return writeInitramfs(out, e)
}

// boot runs kernel k with the initramfs under qemu (TCG: no KVM here) and
// returns its console output.
func boot(ctx context.Context, k kernel, initramfs string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-cpu", "max", "-m", "1024", "-smp", "1",
		"-nographic", "-no-reboot", "-nic", "none", "-kernel", k.Image, "-initrd", initramfs,
		"-append", "console=ttyS0 quiet loglevel=3 panic=-1")
	out, err := cmd.CombinedOutput()
	text := strings.ReplaceAll(string(out), "\r", "")
	if ctx.Err() != nil {
		return text, fmt.Errorf("kernel %s: no end after %s", k.Release, timeout)
	}
	if err != nil {
		return text, fmt.Errorf("qemu: %w", err)
	}
	return text, nil
}
