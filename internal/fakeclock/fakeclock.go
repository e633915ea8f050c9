// Package fakeclock is a clock that moves only when a test says so. Leases,
// token expiry and backoff in this module read time from an injected func;
// tests hand them Clock.Now and advance it instead of sleeping. Code that
// also waits (the client's consumer: pauses, its acknowledgement ticker, the
// shutdown grace, the lease of a batch) takes the whole Clock: its timers
// fire when the clock is advanced past them, and Sleep advances the clock
// instead of waiting, so a test runs in virtual time.
package fakeclock

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Clock is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*timer
}

// timer is an AfterFunc (f set) or a ticker (ch set, period > 0).
type timer struct {
	at     time.Time
	period time.Duration
	f      func()
	ch     chan time.Time
}

// New returns a clock reading t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d, firing the timers it passes.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.fireLocked()
	c.mu.Unlock()
}

// Set sets the clock, firing the timers it passes.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.fireLocked()
	c.mu.Unlock()
}

// fireLocked runs every function due (each in its own goroutine, as
// time.AfterFunc does) and ticks every ticker due, once however many of its
// periods passed (as time.Ticker drops ticks for a slow reader).
func (c *Clock) fireLocked() {
	keep := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.t) {
			keep = append(keep, tm)
			continue
		}
		if tm.f != nil {
			go tm.f()
			continue
		}
		select {
		case tm.ch <- c.t:
		default:
		}
		for !tm.at.After(c.t) {
			tm.at = tm.at.Add(tm.period)
		}
		keep = append(keep, tm)
	}
	clear(c.timers[len(keep):])
	c.timers = keep
}

func (c *Clock) add(tm *timer) {
	c.mu.Lock()
	c.timers = append(c.timers, tm)
	c.fireLocked()
	c.mu.Unlock()
}

// stop removes tm and reports whether it was still pending.
func (c *Clock) stop(tm *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == tm {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// AfterFunc calls f in its own goroutine once the clock has moved d past
// now. The function it returns stops the timer and reports whether it did
// so before f was called.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	tm := &timer{at: c.Now().Add(d), f: f}
	c.add(tm)
	return func() bool { return c.stop(tm) }
}

// NewTicker returns a channel that receives the clock's time every d the
// clock moves, and the function that stops it. d must be positive.
func (c *Clock) NewTicker(d time.Duration) (ch <-chan time.Time, stop func()) {
	if d <= 0 {
		panic("fakeclock: non-positive ticker period")
	}
	tm := &timer{at: c.Now().Add(d), period: d, ch: make(chan time.Time, 1)}
	c.add(tm)
	return tm.ch, func() { c.stop(tm) }
}

// Sleep advances the clock by d instead of waiting, yields so that the
// goroutines woken by it move on, and returns ctx.Err().
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	runtime.Gosched()
	return ctx.Err()
}

// Timers is the number of timers and tickers pending: a test waits for a
// goroutine to arm its timer before advancing past it.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
