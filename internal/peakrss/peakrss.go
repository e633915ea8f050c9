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
func Bytes() int64 { return statusBytes("/proc/self/status", "VmHWM:")[0] }

// PeakOf is the peak resident set size (VmHWM) of process pid.
func PeakOf(pid int) int64 { return statusBytes("/proc/"+strconv.Itoa(pid)+"/status", "VmHWM:")[0] }

// ResidentOf is the resident set size (VmRSS) of process pid now.
func ResidentOf(pid int) int64 { return statusBytes("/proc/"+strconv.Itoa(pid)+"/status", "VmRSS:")[0] }

// Resident is this process's resident memory now, by kind: anonymous (Go's
// heap and C allocations alike), file-mapped, and shared (tmpfs, SysV).
func Resident() (anon, file, shmem int64) {
	v := statusBytes("/proc/self/status", "RssAnon:", "RssFile:", "RssShmem:")
	return v[0], v[1], v[2]
}

// statusBytes reads fields of a /proc status file, given in kB, as bytes,
// in one pass; a field the file does not have (or cannot be read) is 0.
func statusBytes(path string, fields ...string) []int64 {
	out := make([]int64, len(fields))
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for i, field := range fields {
			if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					out[i] = kb << 10
				}
			}
		}
	}
	return out
}
