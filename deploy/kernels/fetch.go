package kernels

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kernel is a Debian kernel package unpacked in the cache.
type kernel struct {
	Package string // linux-image-6.1.0-57-cloud-amd64
	Release string // its uname -r: 6.1.0-57-cloud-amd64
	Image   string // the vmlinuz file
	Modules string // its lib/modules/<release> folder
}

// fetchKernel unpacks the kernel that Debian package pkg is or depends on
// (a metapackage such as linux-image-cloud-amd64 names the newest) into
// cache, downloading it once: apt-get download and dpkg -x, nothing is
// installed.
func fetchKernel(cache, pkg string) (kernel, error) {
	real, err := resolvePackage(pkg)
	if err != nil {
		return kernel{}, err
	}
	dir := filepath.Join(cache, real)
	images, _ := filepath.Glob(filepath.Join(dir, "x", "boot", "vmlinuz-*"))
	if len(images) == 0 {
		if err := download(dir, real); err != nil {
			return kernel{}, err
		}
		images, _ = filepath.Glob(filepath.Join(dir, "x", "boot", "vmlinuz-*"))
	}
	if len(images) != 1 {
		return kernel{}, fmt.Errorf("%s: want one boot/vmlinuz-* in the package, found %d", real, len(images))
	}
	release := strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	modules := filepath.Join(dir, "x", "lib", "modules", release)
	return kernel{Package: real, Release: release, Image: images[0], Modules: modules}, nil
}

// resolvePackage follows a metapackage to the kernel image it depends on.
func resolvePackage(pkg string) (string, error) {
	out, err := exec.Command("apt-cache", "depends", pkg).Output()
	if err != nil || len(out) == 0 {
		// No package lists yet on a fresh machine: fetch them once.
		if uerr := run("", "apt-get", "update", "-qq"); uerr != nil {
			return "", fmt.Errorf("apt-get update: %w", uerr)
		}
		if out, err = exec.Command("apt-cache", "depends", pkg).Output(); err != nil {
			return "", fmt.Errorf("apt-cache depends %s: %w", pkg, err)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return pkg, nil
}

func download(dir, pkg string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := run(dir, "apt-get", "download", "-qq", pkg); err != nil {
		return fmt.Errorf("downloading %s: %w", pkg, err)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("downloading %s: want one .deb, found %d", pkg, len(debs))
	}
	if err := run("", "dpkg", "-x", debs[0], filepath.Join(dir, "x")); err != nil {
		return fmt.Errorf("unpacking %s: %w", debs[0], err)
	}
	return os.Remove(debs[0])
}

// run runs a command, its output in the error when it fails.
func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
