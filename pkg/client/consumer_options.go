package client

import (
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
)

// ConsumerOption configures a Consumer. An option refuses a value the
// consumer cannot work with: NewConsumer then returns its *ConfigError.
type ConsumerOption func(*Consumer) error

// maxPageSize is page_size's maximum in the spec.
const maxPageSize = 2000

// WithBatchSize caps the number of tasks leased per poll (page_size, 1 to
// 2000; by default the server chooses).
func WithBatchSize(n int) ConsumerOption {
	return func(c *Consumer) error {
		if n < 1 || n > maxPageSize {
			return configErr("WithBatchSize", "%d is not between 1 and %d", n, maxPageSize)
		}
		c.list.PageSize = n
		return nil
	}
}

// WithTaskSchema asks for a task schema version ("2.0.0" or "3.0.0").
func WithTaskSchema(v string) ConsumerOption {
	return func(c *Consumer) error {
		if v == "" {
			return configErr("WithTaskSchema", "empty version (leave the option out for the server's default)")
		}
		c.list.Schema = v
		return nil
	}
}

// WithDriver restricts the consumer to one driver's tasks.
func WithDriver(d string) ConsumerOption {
	return func(c *Consumer) error {
		if d == "" {
			return configErr("WithDriver", "empty driver (leave the option out for every driver)")
		}
		c.list.Driver = d
		return nil
	}
}

// WithTenant restricts the consumer to one tenant's tasks.
func WithTenant(id uuid.UUID) ConsumerOption {
	return func(c *Consumer) error {
		if id == uuid.Nil {
			return configErr("WithTenant", "nil tenant id (leave the option out for every tenant)")
		}
		c.list.TenantID = id
		return nil
	}
}

// WithConcurrency sets how many tenants' tasks are handled at the same time
// (4 by default). One tenant's tasks are always handled one after the other.
func WithConcurrency(n int) ConsumerOption {
	return func(c *Consumer) error {
		if n < 1 {
			return configErr("WithConcurrency", "%d: at least one tenant at a time", n)
		}
		c.conc = n
		return nil
	}
}

// WithIdleBackoff sets the pause after an empty or failed poll, and between
// attempts to deliver acknowledgements: it starts at min and doubles (with
// jitter) up to max while the condition lasts. Defaults: 1s and 30s. min must
// be positive (a zero pause polls an empty queue without rest) and max at
// least min.
func WithIdleBackoff(min, max time.Duration) ConsumerOption {
	return func(c *Consumer) error {
		if min <= 0 || max < min {
			return configErr("WithIdleBackoff", "(%v, %v): want 0 < min <= max", min, max)
		}
		c.minIdle, c.maxIdle = min, max
		return nil
	}
}

// WithFlushTimeout bounds the final acknowledgement flush after Run's
// context is done (15s by default). It must be positive: with none, every
// acknowledgement still queued at shutdown would be dropped.
func WithFlushTimeout(d time.Duration) ConsumerOption {
	return durationOption("WithFlushTimeout", d, false, func(c *Consumer) { c.flushTO = d })
}

// WithShutdownGrace sets how long handlers in flight may still run after
// Run's context ends (10s by default; 0 cancels them at once). Then their
// contexts are cancelled and Run stops waiting for them: a task whose
// handler has not returned is not acknowledged and comes back after its
// lease.
func WithShutdownGrace(d time.Duration) ConsumerOption {
	return durationOption("WithShutdownGrace", d, true, func(c *Consumer) { c.grace = d })
}

// WithLease tells the consumer the server's task lease (5m by default, the
// reference server's). A handler's context ends when the lease of its batch
// does: past it the task may be leased again, so the work would be repeated
// anyway. Tasks of a batch not started within the lease are not handled.
func WithLease(d time.Duration) ConsumerOption {
	return durationOption("WithLease", d, false, func(c *Consumer) { c.lease = d })
}

// WithStrictOrder makes sequence order hold across a lost poll: when a
// GET /tasks may have leased a batch whose answer never arrived (a
// connection reset after the request was sent, a 500/502/504, a cut body),
// the consumer does not poll again until the lease (WithLease) has passed,
// so that batch comes back first. The price is a pause of one lease per lost
// answer. Without it such a poll is retried at once and the lost batch comes
// back after its lease, behind newer tasks (see the package documentation).
func WithStrictOrder() ConsumerOption { return func(c *Consumer) error { c.strict = true; return nil } }

// WithAckFlush sets when finished tasks' acknowledgements are sent: as soon
// as size (1 to 2000) are waiting, or every interval (defaults: 100 and 1s),
// and always before the next poll.
func WithAckFlush(size int, interval time.Duration) ConsumerOption {
	return func(c *Consumer) error {
		if size < 1 || size > maxGroup || interval <= 0 {
			return configErr("WithAckFlush", "(%d, %v): want a size from 1 to %d and a positive interval", size, interval, maxGroup)
		}
		c.ackSize, c.ackEvery = size, interval
		return nil
	}
}

// WithConsumerLogger sets the consumer's logger (the client's by default).
func WithConsumerLogger(l *slog.Logger) ConsumerOption {
	return func(c *Consumer) error {
		if l == nil {
			return configErr("WithConsumerLogger", "nil *slog.Logger (leave the option out for the client's)")
		}
		c.logger = l
		return nil
	}
}

// WithAckObserver is called once per acknowledgement: when the server
// recorded it, or when the consumer gave up on it (Err set: a refusal, or
// shutdown before it could be delivered).
func WithAckObserver(f func(AckResult)) ConsumerOption {
	return func(c *Consumer) error { c.observe = f; return nil }
}

// NewConsumer returns a consumer of c's task queue that hands tasks to h.
// It checks the whole configuration here, not when Run starts: a nil client,
// a nil handler or a HandlerFuncs that does not cover every kind of task
// (the error matches ErrIncompleteHandler), and any option's value it cannot
// work with are a *ConfigError.
func NewConsumer(c *Client, h Handler, opts ...ConsumerOption) (*Consumer, error) {
	if c == nil {
		return nil, configErr("NewConsumer", "nil *Client")
	}
	if err := checkHandler(h); err != nil {
		return nil, err
	}
	cons := &Consumer{
		c: c, h: h, conc: 4,
		minIdle: time.Second, maxIdle: 30 * time.Second,
		flushTO:  15 * time.Second,
		grace:    10 * time.Second,
		lease:    5 * time.Minute,
		ackSize:  100,
		ackEvery: time.Second,
		logger:   c.logger,
		clk:      c.clk,
		jitter:   rand.Float64,
	}
	for _, o := range opts {
		if o == nil {
			return nil, configErr("NewConsumer", "nil ConsumerOption")
		}
		if err := o(cons); err != nil {
			return nil, err
		}
	}
	return cons, nil
}

// checkHandler refuses a handler that would drop tasks without a word.
func checkHandler(h Handler) error {
	switch h := h.(type) {
	case nil:
		return &ConfigError{Option: "NewConsumer", Reason: "nil handler", Err: ErrIncompleteHandler}
	case HandlerFuncs:
		return h.check()
	case *HandlerFuncs:
		if h == nil {
			return &ConfigError{Option: "NewConsumer", Reason: "nil *HandlerFuncs", Err: ErrIncompleteHandler}
		}
		return h.check()
	}
	return nil
}
