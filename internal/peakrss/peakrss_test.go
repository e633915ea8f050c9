package peakrss

import (
	"os"
	"testing"
)

func TestBytesGrowsWithAnAllocation(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	before := Bytes()
	if before <= 0 {
		t.Fatalf("Bytes() = %d, want the process's peak RSS", before)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1 // touch every page so it is resident
	}
	if after := Bytes(); after < before+32<<20 {
		t.Errorf("peak RSS went from %d to %d after touching 64 MiB", before, after)
	}
	_ = buf[len(buf)-1]
}
