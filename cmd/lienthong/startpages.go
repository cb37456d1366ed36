package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseStartPages unmaps from the process the pages of its own
// executable's read-only mappings (code, read-only data and the tables the
// runtime reads for stack traces and the collector), so that they no
// longer count in its resident set; the next use of a page maps it again
// from the page cache (a minor fault, no read from disk). It returns how
// many bytes were resident in those mappings before.
//
// Why: of an idle gateway's 35 MiB resident, 24 MiB were these pages, most
// of them touched only once by the start (configuration, migrations, the
// directory's load) or mapped with them by the kernel's fault-around (16
// pages around each fault). A large packet's peak then counted them on top
// of the packet (docs/design/large-packets.md §3). They are clean pages of
// a file, which the kernel reclaims under pressure anyway; this only says
// the start is over.
//
// Only mappings that are not writable and hold no anonymous (copied on
// write) page are released: MADV_DONTNEED gives a private mapping its
// file's contents back, which for such a mapping is what it holds. The
// pages stay in the page cache, shared with other processes of the same
// executable.
func releaseStartPages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("release the start's pages: %w", err)
	}
	maps, err := readOwnMappings(exe)
	if err != nil {
		return 0, fmt.Errorf("release the start's pages: %w", err)
	}
	var released int64
	for _, m := range maps {
		if m.writable || m.anonymous != 0 {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("release the start's pages: madvise %x-%x: %w", m.start, m.end, errno)
		}
		released += m.rss
	}
	return released, nil
}

// mapping is what releaseStartPages reads of a mapping in
// /proc/self/smaps.
type mapping struct {
	start, end uintptr
	writable   bool
	rss        int64 // bytes
	anonymous  int64 // bytes
}

// readOwnMappings reads the mappings of the file path from
// /proc/self/smaps.
func readOwnMappings(path string) ([]mapping, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		maps []mapping
		cur  *mapping // the mapping whose fields are being read, if of path
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		// A mapping's first line is "start-end perms offset dev inode
		// [path]"; the lines of its fields that follow are "Name: value
		// [kB]".
		if lo, hi, isRange := strings.Cut(fields[0], "-"); isRange && !strings.HasSuffix(fields[0], ":") {
			cur = nil
			if len(fields) < 6 || strings.Join(fields[5:], " ") != path {
				continue
			}
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 != nil || err2 != nil || end <= start {
				return nil, fmt.Errorf("/proc/self/smaps: mapping %q", fields[0])
			}
			maps = append(maps, mapping{start: uintptr(start), end: uintptr(end), writable: strings.Contains(fields[1], "w")})
			cur = &maps[len(maps)-1]
			continue
		}
		if cur == nil || len(fields) < 3 || fields[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/self/smaps: %q: %w", sc.Text(), err)
		}
		switch fields[0] {
		case "Rss:":
			cur.rss = kb << 10
		case "Anonymous:":
			cur.anonymous = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return maps, nil
}
