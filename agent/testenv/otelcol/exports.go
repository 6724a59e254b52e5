package otelcol

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readExports reads every file of the collector's file exporter that
// matches pattern, over all its runs, in the order written: one OTLP JSON
// request a line, which decode turns into items. A last line still being
// written does not decode and is skipped; the next read gets it.
func readExports[T any](t testing.TB, dir, pattern string, decode func(line []byte) ([]T, bool)) []T {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	var out []T
	for _, path := range files {
		got, err := readExportFile(path, decode)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

func readExportFile[T any](path string, decode func([]byte) ([]T, bool)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if items, ok := decode(sc.Bytes()); ok {
			out = append(out, items...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// waitExports polls read until ok accepts what it returns or the timeout
// passes; what names the items in the failure.
func waitExports[T any](t testing.TB, c *Collector, what string, timeout time.Duration, read func() []T, ok func([]T) bool) []T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		items := read()
		if ok(items) {
			return items
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector: %d %s after %s, not the expected ones; log:\n%s", len(items), what, timeout, c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
