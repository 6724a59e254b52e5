package kernels

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
)

// An entry of the initramfs: a file (Src or Data), a directory, a symlink
// (Link) or a character device (Dev: major, minor).
type entry struct {
	Mode uint32 // permission bits
	Src  string // a file copied from the host
	Data []byte // a file's contents given here
	Dir  bool
	Link string
	Dev  *[2]uint32
}

// The cpio "newc" format the kernel unpacks an initramfs from.
const (
	cpioFile    = 0o100000
	cpioDir     = 0o040000
	cpioSymlink = 0o120000
	cpioCharDev = 0o020000
)

// writeInitramfs writes entries (by path inside the image, no leading
// slash) as an uncompressed newc cpio archive, parents first.
func writeInitramfs(out string, entries map[string]entry) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names) // "bin" before "bin/busybox"
	for i, name := range names {
		if err := writeEntry(w, uint32(i+1), name, entries[name]); err != nil {
			f.Close()
			return fmt.Errorf("initramfs entry %s: %w", name, err)
		}
	}
	if err := writeHeader(w, 0, "TRAILER!!!", 0, 0, 0); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeEntry(w io.Writer, ino uint32, name string, e entry) error {
	data, mode, rdev := e.Data, e.Mode, uint64(0)
	switch {
	case e.Dir:
		mode |= cpioDir
	case e.Link != "":
		mode, data = cpioSymlink|0o777, []byte(e.Link)
	case e.Dev != nil:
		mode |= cpioCharDev
		rdev = uint64(e.Dev[0])<<32 | uint64(e.Dev[1])
	default:
		mode |= cpioFile
		if e.Src != "" {
			b, err := os.ReadFile(e.Src)
			if err != nil {
				return err
			}
			data = b
		}
	}
	if err := writeHeader(w, ino, path.Clean(name), mode, uint32(len(data)), rdev); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad4(len(data))))
	return err
}

// writeHeader writes a newc header and the name, padded to 4 bytes.
func writeHeader(w io.Writer, ino uint32, name string, mode, size uint32, rdev uint64) error {
	nlink := uint32(1)
	if mode&cpioDir == cpioDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, size, 0, 0, uint32(rdev>>32), uint32(rdev), len(name)+1, 0)
	if _, err := io.WriteString(w, hdr+name+"\x00"); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad4(len(hdr)+len(name)+1)))
	return err
}

func pad4(n int) int { return (4 - n%4) % 4 }
