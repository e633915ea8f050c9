package clockctx

import (
	"context"
	"time"
)

// Clock is what the client reads time from and waits on;
// *fakeclock.Clock is one.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
	AfterFunc(d time.Duration, f func()) (stop func() bool)
	NewTicker(d time.Duration) (ch <-chan time.Time, stop func())
}

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c Clock) context.Context { return context.WithValue(ctx, key{}, c) }

// From returns the clock ctx carries, if any.
func From(ctx context.Context) (Clock, bool) {
	c, ok := ctx.Value(key{}).(Clock)
	return c, ok
}
