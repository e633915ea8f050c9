// Package peakrss reads the process's peak resident set size, which the
// loader reports in its summary and the loader's benchmarks as a metric.
package peakrss

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Bytes is the process's peak resident set size in bytes (VmHWM of
// /proc/self/status), 0 where that is not available.
func Bytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
