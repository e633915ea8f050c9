// Package peakrss reads the process's peak resident set size, which the
// loader reports in its summary and the loader's benchmarks as a metric.
package peakrss

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Bytes is this process's peak resident set size (VmHWM), 0 where /proc
// does not say.
func Bytes() int64 { return statusBytes("/proc/self/status", "VmHWM:") }

// PeakOf is the peak resident set size (VmHWM) of process pid.
func PeakOf(pid int) int64 { return statusBytes("/proc/"+strconv.Itoa(pid)+"/status", "VmHWM:") }

// ResidentOf is the resident set size (VmRSS) of process pid now.
func ResidentOf(pid int) int64 { return statusBytes("/proc/"+strconv.Itoa(pid)+"/status", "VmRSS:") }

// statusBytes reads a field of a /proc status file, given in kB, as bytes.
func statusBytes(path, field string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
