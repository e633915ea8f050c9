package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritesAreAllKept(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Write([]byte("x")); _ = b.String() }()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 50) {
		t.Fatalf("got %q", got)
	}
}
