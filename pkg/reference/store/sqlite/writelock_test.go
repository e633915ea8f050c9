package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store/storetest"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Another process's writes get in between a load's slices: none waits for
// more than a few slices, however long the load. (SQLite's own busy
// handler, which sleeps 100 ms at a time once it has waited a while, kept
// a token request waiting for all of a 20,000-user load's object slices,
// 4.6-5.4 s, once the slices' commits no longer paused for a checkpoint.)
func TestWritesGetInBetweenSlices(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "turns.db")
	server := openTest(t, path)
	loading, bystander := storetest.NewTenant(t, server, "loading"), storetest.NewTenant(t, server, "bystander")
	const hold = 40 * time.Millisecond
	slices := 0
	loader := openTest(t, path, withSlices(10, func(int) error { slices++; return nil }), withSliceHold(hold))

	done := make(chan struct{})
	var mu sync.Mutex
	var waits []time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := auth.Principal{TenantIDs: []uuid.UUID{bystander.ID}, ClientID: "probe"}
		for {
			select {
			case <-done:
				return
			case <-time.After(7 * time.Millisecond):
			}
			t0 := time.Now()
			err := server.SaveToken(ctx, uuid.NewString(), p, time.Now().Add(time.Hour))
			mu.Lock()
			waits = append(waits, time.Since(t0))
			mu.Unlock()
			if err != nil {
				t.Errorf("another tenant's token during the load: %v", err)
				return
			}
		}
	}()
	err := load(ctx, loader, loading.ID, district(300), nil)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if slices < 40 {
		t.Fatalf("the load wrote %d slices, want the 301 objects and 302 events in slices of 10", slices)
	}
	var worst time.Duration
	for _, w := range waits {
		worst = max(worst, w)
	}
	// A write waits for the slice it found running and maybe the next;
	// five slices leave room for a slow machine.
	if bound := 5 * hold; worst > bound || len(waits) < slices/4 {
		t.Errorf("%d token requests beside %d slices of %v, the longest waited %v; want at least %d, none over %v",
			len(waits), slices, hold, worst, slices/4, bound)
	}
}
