package client

import (
	"context"
	"time"

	"github.com/interop-data/interop/internal/clockctx"
	"github.com/interop-data/interop/internal/ctxsleep"
)

// clock is where the client reads time and waits: the retrier's pauses, the
// consumer's idle pauses, acknowledgement ticker, shutdown grace and lease
// deadline. It is realClock outside tests; in-package tests inject a fake
// (internal/fakeclock), tests of other packages pass one in the context
// (internal/clockctx), so that nothing they assert waits on a real timer.
type clock = clockctx.Clock

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return ctxsleep.Sleep(ctx, d) }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

func (realClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// withDeadline is context.WithDeadline on clk: the context ends when clk
// reaches at, with context.DeadlineExceeded, and reports at as its deadline.
func withDeadline(clk clock, parent context.Context, at time.Time) (context.Context, context.CancelFunc) {
	if _, ok := clk.(realClock); ok {
		return context.WithDeadline(parent, at)
	}
	if dl, ok := parent.Deadline(); ok && !dl.After(at) {
		return context.WithCancel(parent) // the parent's deadline comes first
	}
	ctx, cancel := context.WithCancelCause(parent)
	stop := clk.AfterFunc(at.Sub(clk.Now()), func() { cancel(context.DeadlineExceeded) })
	return clockDeadline{ctx, at}, func() { stop(); cancel(context.Canceled) }
}

// clockDeadline is a context ended by a clock's timer.
type clockDeadline struct {
	context.Context
	at time.Time
}

func (c clockDeadline) Deadline() (time.Time, bool) { return c.at, true }

// Err is context.DeadlineExceeded once the timer has ended the context.
func (c clockDeadline) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}
