//go:build unix

package cputime

import (
	"syscall"
	"testing"
	"time"
)

func now() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// Measure starts measuring; call the function it returns after the loop to
// report "cpu-ns/op".
func Measure(b *testing.B) func() {
	start, ok := now()
	return func() {
		end, ok2 := now()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// Process is the CPU time (user and system) the process has spent so far;
// false where it cannot be read.
func Process() (time.Duration, bool) { return now() }
