package fakeclock

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	c := New(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v", c.Now())
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Advance(time.Second) }()
	}
	wg.Wait()
	if got := c.Now().Sub(start); got != 10*time.Second {
		t.Fatalf("after ten concurrent advances of 1s the clock moved %v", got)
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Set did not set: %v", c.Now())
	}
}

func TestTimersFireOnlyWhenTheClockPassesThem(t *testing.T) {
	c := New(time.Unix(0, 0))
	fired := make(chan struct{})
	c.AfterFunc(time.Second, func() { close(fired) })
	stopped := c.AfterFunc(time.Second, func() { t.Error("a stopped timer fired") })
	if !stopped() {
		t.Fatal("stop of a pending timer reported false")
	}
	tick, stopTick := c.NewTicker(400 * time.Millisecond)
	c.Advance(999 * time.Millisecond)
	select {
	case <-fired:
		t.Fatal("fired before its time")
	default:
	}
	if got := <-tick; !got.Equal(time.Unix(0, 999*int64(time.Millisecond))) {
		t.Fatalf("tick at %v", got)
	}
	c.Advance(time.Millisecond)
	<-fired
	// Sleep moves the clock and ticks the ticker once, however many periods
	// passed, like a time.Ticker with a slow reader.
	if err := c.Sleep(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	<-tick
	select {
	case <-tick:
		t.Fatal("more than one tick buffered")
	default:
	}
	stopTick()
	if n := c.Timers(); n != 0 {
		t.Fatalf("%d timers left", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil || !c.Now().Equal(time.Unix(11, 0)) {
		t.Fatalf("Sleep on a done context: %v, clock %v", err, c.Now())
	}
}
