package client

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/interop-data/interop/internal/fakeclock"
)

// funcClock is the wall clock with Now and Sleep replaced where a test sets
// them: a test records or cuts short the pauses it is asked for.
type funcClock struct {
	realClock
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func (f funcClock) Now() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

func (f funcClock) Sleep(ctx context.Context, d time.Duration) error {
	if f.sleep != nil {
		return f.sleep(ctx, d)
	}
	return realClock{}.Sleep(ctx, d)
}

// virtualClock is a fake clock whose Sleep also lets real time pass a
// little, so that a consumer polling an empty queue in virtual time does not
// starve the server it polls.
type virtualClock struct{ *fakeclock.Clock }

func (v virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	err := v.Clock.Sleep(ctx, d)
	runtime.Gosched()
	time.Sleep(50 * time.Microsecond)
	return err
}

// withConsumerClock makes a consumer read time from clk.
func withConsumerClock(clk clock) ConsumerOption {
	return func(c *Consumer) error { c.clk = clk; return nil }
}

// withConsumerSleep replaces the consumer's pauses only.
func withConsumerSleep(sleep func(ctx context.Context, d time.Duration) error) ConsumerOption {
	return withConsumerClock(funcClock{sleep: sleep})
}

// newConsumer is NewConsumer for a configuration the test knows is good.
func newConsumer(t testing.TB, c *Client, h Handler, opts ...ConsumerOption) *Consumer {
	t.Helper()
	cons, err := NewConsumer(c, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// The interfaces the consumer needs are what the fake clock offers.
var _ clock = virtualClock{}
var _ clock = (*fakeclock.Clock)(nil)
