package client

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/interop-data/interop/internal/clockctx"
)

// Consumer polls a tenant's task queue, hands each task to a Handler and
// acknowledges it. Create it with NewConsumer and start it with Run.
//
// Acknowledgements are queued as tasks finish and sent in groups by a
// completer: when WithAckFlush's size is reached, when its interval passes,
// and before every poll. An acknowledgement the server did not receive (a
// network error, 5xx, 429, a token outage) is kept and sent again with
// growing pauses; it is idempotent (the server answers a repeat with the
// first receipt). While acknowledgements are undelivered the consumer leases
// nothing new, so an outage of the acknowledgement endpoint costs at most the
// batch in hand, redelivered if the outage outlasts its lease.
type Consumer struct {
	c        *Client
	h        Handler
	list     TaskListOptions
	conc     int
	minIdle  time.Duration
	maxIdle  time.Duration
	flushTO  time.Duration
	grace    time.Duration
	lease    time.Duration
	strict   bool
	ackSize  int
	ackEvery time.Duration
	clk      clock
	jitter   func() float64
	logger   *slog.Logger
	observe  func(AckResult)
}

// idle returns the pause after n empty or failed polls in a row: min*2^(n-1)
// capped at max, with the upper half jittered so that many workers started
// together drift apart.
func (c *Consumer) idle(n int) time.Duration {
	d := expCeiling(c.minIdle, max(c.maxIdle, c.minIdle), n)
	return d/2 + time.Duration(c.jitter()*float64(d/2))
}

// Run polls and handles tasks until ctx is done, then returns nil within a
// bounded time: handlers in flight get the shutdown grace (WithShutdownGrace,
// 10s) to finish, unstarted tasks of the batch are released with retry, and
// the acknowledgements not yet delivered get the flush timeout
// (WithFlushTimeout, 15s). So Run returns at most grace + flush timeout
// after ctx ends, whatever the handlers and the network do.
//
// Run returns an error early when the server refuses the
// credentials (ErrUnauthorized, ErrForbidden: the token endpoint answered
// invalid_client, or the API refused a freshly fetched token) or the request
// (ErrBadRequest), since polling again could not succeed. Everything else
// (network errors, 5xx, 429, an outage of the token endpoint) is retried
// with backoff for as long as Run runs.
func (c *Consumer) Run(ctx context.Context) error {
	if clk, ok := clockctx.From(ctx); ok {
		c.clk = clk // a test's clock (internal/clockctx)
	}
	comp := c.newCompleter()
	fctx, fcancel := context.WithCancel(context.WithoutCancel(ctx))
	flusherDone := make(chan struct{})
	go func() {
		defer close(flusherDone)
		comp.run(fctx)
	}()

	// Handlers run under a context that outlives ctx by the grace: a task
	// in flight at shutdown is finished and acknowledged, not abandoned.
	hbase, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	stopGrace := context.AfterFunc(ctx, func() {
		stop := c.clk.AfterFunc(c.grace, hcancel)
		context.AfterFunc(hbase, func() { stop() })
	})
	defer stopGrace()

	err := c.loop(ctx, hbase, comp)

	dctx, cancel := withDeadline(c.clk, context.WithoutCancel(ctx), c.clk.Now().Add(c.flushTO))
	comp.drain(dctx)
	cancel()
	fcancel()
	<-flusherDone
	comp.abandon()
	return err
}

// permanent reports a poll error that polling again cannot cure.
func permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrBadRequest)
}

// mayHaveLeased reports whether a failed poll may have leased a batch on
// the server: the request may have been received and its answer lost.
func mayHaveLeased(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusInternalServerError || ae.StatusCode == http.StatusBadGateway ||
			ae.StatusCode == http.StatusGatewayTimeout
	}
	var te *TokenError
	if errors.As(err, &te) || errors.Is(err, ErrContractViolation) {
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return false // never connected
	}
	return true
}

func (c *Consumer) loop(ctx, hbase context.Context, comp *completer) error {
	fails := 0
	for {
		// Lease nothing new while acknowledgements are undelivered: the
		// tasks they acknowledge would come back after their lease.
		if !comp.drain(ctx) {
			return nil
		}
		pctx := ctx
		if c.strict {
			pctx = withoutRetries(ctx) // a lost answer is handled below
		}
		leasedAt := c.clk.Now()
		tasks, err := c.c.ListTasks(pctx, &c.list)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if permanent(err) {
				return err
			}
			fails++
			pause := c.idle(fails)
			if c.strict && mayHaveLeased(err) {
				pause = max(pause, c.lease)
			}
			c.logger.Warn("interop: polling tasks failed", "error", err, "attempt", fails, "pause", pause)
			if c.clk.Sleep(ctx, pause) != nil {
				return nil
			}
			continue
		}
		if len(tasks) == 0 {
			fails++
			if c.clk.Sleep(ctx, c.idle(fails)) != nil {
				return nil
			}
			continue
		}
		fails = 0
		if released := c.process(ctx, hbase, leasedAt, tasks, comp); released {
			// A handler asked for redelivery: pause before polling so a
			// task that keeps failing does not spin the loop.
			if !comp.drain(ctx) || c.clk.Sleep(ctx, c.idle(1)) != nil {
				return nil
			}
		}
	}
}
