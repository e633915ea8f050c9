package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
)

// Handler handles the tasks a Consumer receives. Each method's result
// becomes the task's acknowledgement: nil acknowledges success, Retry(err)
// retry, Reauthenticate(err) reauthenticate, and any other error acknowledges
// error with the error's text as the message. Delivery is at least once, so
// every method must be idempotent (see the package documentation).
type Handler interface {
	OnLifecycle(ctx context.Context, t *Task, e *models.LifecycleEvent) error
	OnSync(ctx context.Context, t *Task, e *models.SyncEvent) error
	OnData(ctx context.Context, t *Task, e *models.DataEvent) error
	OnAuthenticate(ctx context.Context, t *Task, e *models.Authenticate) error
	// Fallback receives every task of another kind (grades_query, kinds
	// newer than this client).
	Fallback(ctx context.Context, t *Task) error
}

// HandlerFuncs adapts functions to Handler. A nil function passes its tasks
// to Default; a nil Default acknowledges them as success with a message
// saying they were not handled, so a kind the integration does not care
// about never blocks the queue.
type HandlerFuncs struct {
	Lifecycle    func(ctx context.Context, t *Task, e *models.LifecycleEvent) error
	Sync         func(ctx context.Context, t *Task, e *models.SyncEvent) error
	Data         func(ctx context.Context, t *Task, e *models.DataEvent) error
	Authenticate func(ctx context.Context, t *Task, e *models.Authenticate) error
	Default      func(ctx context.Context, t *Task) error
}

// OnLifecycle implements Handler.
func (h HandlerFuncs) OnLifecycle(ctx context.Context, t *Task, e *models.LifecycleEvent) error {
	if h.Lifecycle == nil {
		return h.Fallback(ctx, t)
	}
	return h.Lifecycle(ctx, t, e)
}

// OnSync implements Handler.
func (h HandlerFuncs) OnSync(ctx context.Context, t *Task, e *models.SyncEvent) error {
	if h.Sync == nil {
		return h.Fallback(ctx, t)
	}
	return h.Sync(ctx, t, e)
}

// OnData implements Handler.
func (h HandlerFuncs) OnData(ctx context.Context, t *Task, e *models.DataEvent) error {
	if h.Data == nil {
		return h.Fallback(ctx, t)
	}
	return h.Data(ctx, t, e)
}

// OnAuthenticate implements Handler.
func (h HandlerFuncs) OnAuthenticate(ctx context.Context, t *Task, e *models.Authenticate) error {
	if h.Authenticate == nil {
		return h.Fallback(ctx, t)
	}
	return h.Authenticate(ctx, t, e)
}

// Fallback implements Handler.
func (h HandlerFuncs) Fallback(ctx context.Context, t *Task) error {
	if h.Default == nil {
		t.SetMessage("not handled: this integration ignores " + kindName(t))
		return nil
	}
	return h.Default(ctx, t)
}

func kindName(t *Task) string {
	if t.Kind == "" {
		return "tasks of unknown kind"
	}
	return t.Kind + " tasks"
}

// ackError carries the acknowledgement status a handler asks for.
type ackError struct {
	status models.TaskAckStatus
	err    error
}

func (e *ackError) Error() string {
	if e.err == nil {
		return string(e.status)
	}
	return e.err.Error()
}

func (e *ackError) Unwrap() error { return e.err }

// Retry wraps a handler's error to acknowledge the task with retry: it was
// not processed and is delivered again. err may be nil.
func Retry(err error) error { return &ackError{status: models.Retry, err: err} }

// Reauthenticate wraps a handler's error to acknowledge the task with
// reauthenticate: the tenant must authenticate again, and the task is
// delivered again. err may be nil.
func Reauthenticate(err error) error { return &ackError{status: models.Reauthenticate, err: err} }

// AckResult reports one acknowledgement to a WithAckObserver function.
type AckResult struct {
	Task *Task
	Ack  models.TaskAckGroupItem
	Err  error // nil when the server recorded the acknowledgement
}

// Consumer polls a tenant's task queue, hands each task to a Handler and
// acknowledges it. Create it with NewConsumer and start it with Run.
type Consumer struct {
	c       *Client
	h       Handler
	list    TaskListOptions
	conc    int
	minIdle time.Duration
	maxIdle time.Duration
	flushTO time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	jitter  func() float64
	logger  *slog.Logger
	observe func(AckResult)
}

// ConsumerOption configures a Consumer.
type ConsumerOption func(*Consumer)

// WithBatchSize caps the number of tasks leased per poll (page_size).
func WithBatchSize(n int) ConsumerOption { return func(c *Consumer) { c.list.PageSize = n } }

// WithTaskSchema asks for a task schema version ("2.0.0" or "3.0.0").
func WithTaskSchema(v string) ConsumerOption { return func(c *Consumer) { c.list.Schema = v } }

// WithDriver restricts the consumer to one driver's tasks.
func WithDriver(d string) ConsumerOption { return func(c *Consumer) { c.list.Driver = d } }

// WithTenant restricts the consumer to one tenant's tasks.
func WithTenant(id uuid.UUID) ConsumerOption { return func(c *Consumer) { c.list.TenantID = id } }

// WithConcurrency sets how many tenants' tasks are handled at the same time
// (4 by default). One tenant's tasks are always handled one after the other.
func WithConcurrency(n int) ConsumerOption {
	return func(c *Consumer) {
		if n > 0 {
			c.conc = n
		}
	}
}

// WithIdleBackoff sets the pause after an empty poll: it starts at min and
// doubles (with jitter) up to max while the queue stays empty. Defaults: 1s
// and 30s.
func WithIdleBackoff(min, max time.Duration) ConsumerOption {
	return func(c *Consumer) { c.minIdle, c.maxIdle = min, max }
}

// WithFlushTimeout bounds the final acknowledgement flush after Run's
// context is done (15s by default).
func WithFlushTimeout(d time.Duration) ConsumerOption { return func(c *Consumer) { c.flushTO = d } }

// WithConsumerLogger sets the consumer's logger (the client's by default).
func WithConsumerLogger(l *slog.Logger) ConsumerOption { return func(c *Consumer) { c.logger = l } }

// WithConsumerSleep replaces the consumer's pauses; tests inject a fake
// clock here. sleep must return ctx.Err() when ctx ends first.
func WithConsumerSleep(sleep func(ctx context.Context, d time.Duration) error) ConsumerOption {
	return func(c *Consumer) { c.sleep = sleep }
}

// WithAckObserver is called once per acknowledgement after it was sent.
func WithAckObserver(f func(AckResult)) ConsumerOption { return func(c *Consumer) { c.observe = f } }

// NewConsumer returns a consumer of c's task queue that hands tasks to h.
func NewConsumer(c *Client, h Handler, opts ...ConsumerOption) *Consumer {
	cons := &Consumer{
		c: c, h: h, conc: 4,
		minIdle: time.Second, maxIdle: 30 * time.Second,
		flushTO: 15 * time.Second,
		logger:  c.logger,
		jitter:  rand.Float64,
	}
	for _, o := range opts {
		o(cons)
	}
	if cons.sleep == nil {
		cons.sleep = sleepCtx
	}
	return cons
}

// idle returns the pause after n empty or failed polls in a row: min*2^(n-1)
// capped at max, with the upper half jittered so that many workers started
// together drift apart.
func (c *Consumer) idle(n int) time.Duration {
	d := expCeiling(c.minIdle, max(c.maxIdle, c.minIdle), n)
	return d/2 + time.Duration(c.jitter()*float64(d/2))
}

// Run polls and handles tasks until ctx is done. On cancellation it lets the
// handlers in flight finish, acknowledges their tasks (through a fresh
// context bounded by the flush timeout), releases the tasks of the batch it
// had not started with retry, and returns nil. It returns an error early only
// when the server refuses the credentials (ErrUnauthorized, ErrForbidden) or
// the request (ErrBadRequest), since polling again could not succeed.
func (c *Consumer) Run(ctx context.Context) error {
	fails := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		tasks, err := c.c.ListTasks(ctx, &c.list)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrBadRequest) {
				return err
			}
			c.logger.Warn("interop: polling tasks failed", "error", err, "attempt", fails+1)
		}
		if err != nil || len(tasks) == 0 {
			fails++
			if c.sleep(ctx, c.idle(fails)) != nil {
				return nil
			}
			continue
		}
		fails = 0
		if released := c.process(ctx, tasks); released {
			// A handler asked for redelivery: pause before polling so a
			// task that keeps failing does not spin the loop.
			if c.sleep(ctx, c.idle(1)) != nil {
				return nil
			}
		}
	}
}

type pending struct {
	task *Task
	ack  models.TaskAckGroupItem
}

// process handles one batch and flushes its acknowledgements. It reports
// whether any task was released for redelivery.
func (c *Consumer) process(ctx context.Context, tasks []*Task) (released bool) {
	// Group by tenant, each group in sequence order.
	var order []uuid.UUID
	groups := make(map[uuid.UUID][]*Task)
	for _, t := range tasks {
		if t == nil {
			continue
		}
		if t.ID == uuid.Nil {
			c.logger.Error("interop: task without id cannot be acknowledged; skipped", "kind", t.Kind)
			continue
		}
		if _, ok := groups[t.TenantID]; !ok {
			order = append(order, t.TenantID)
		}
		groups[t.TenantID] = append(groups[t.TenantID], t)
	}

	// Handlers run under a context that outlives cancellation of ctx: a
	// task in flight is finished and acknowledged, not abandoned.
	hctx := context.WithoutCancel(ctx)
	var (
		mu   sync.Mutex
		acks []pending
		wg   sync.WaitGroup
		sem  = make(chan struct{}, c.conc)
	)
	for _, tenant := range order {
		g := groups[tenant]
		slices.SortStableFunc(g, func(a, b *Task) int { return cmp.Compare(a.Sequence, b.Sequence) })
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var mine []pending
			stop := ""
			for _, t := range g {
				if stop == "" && ctx.Err() != nil {
					stop = "released: the consumer is shutting down"
				}
				if stop != "" {
					mine = append(mine, pending{t, models.TaskAckGroupItem{TaskID: t.ID, Status: models.Retry, Message: stop}})
					continue
				}
				a := c.handle(hctx, t)
				mine = append(mine, pending{t, a})
				if a.Status == models.Retry || a.Status == models.Reauthenticate {
					// Keep the tenant's order: what follows a task that
					// goes back to the queue goes back too.
					stop = fmt.Sprintf("released: task %s (sequence %d) before it was not processed", t.ID, t.Sequence)
				}
			}
			mu.Lock()
			acks = append(acks, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()

	for _, p := range acks {
		if p.ack.Status == models.Retry || p.ack.Status == models.Reauthenticate {
			released = true
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.flushTO)
	defer cancel()
	c.flush(fctx, acks)
	return released
}

// handle runs the handler for one task and returns its acknowledgement. A
// panic in a handler is acknowledged as error, never a crash of the worker.
func (c *Consumer) handle(ctx context.Context, t *Task) (ack models.TaskAckGroupItem) {
	ack.TaskID = t.ID
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("interop: task handler panicked", "task", t.ID, "kind", t.Kind, "panic", r)
			ack.Status = models.Error
			ack.Message = truncate(fmt.Sprintf("handler panic: %v", r))
		}
	}()
	var err error
	switch {
	case t.Kind == KindLifecycle && t.LifecycleEvent != nil:
		err = c.h.OnLifecycle(ctx, t, t.LifecycleEvent)
	case t.Kind == KindSync && t.SyncEvent != nil:
		err = c.h.OnSync(ctx, t, t.SyncEvent)
	case t.Kind == KindData && t.DataEvent != nil:
		err = c.h.OnData(ctx, t, t.DataEvent)
	case t.Kind == KindAuthenticate && t.Authenticate != nil:
		err = c.h.OnAuthenticate(ctx, t, t.Authenticate)
	default:
		err = c.h.Fallback(ctx, t)
	}
	ack.SysAppID = t.appID
	var ae *ackError
	switch {
	case err == nil:
		ack.Status = models.Success
		ack.Message = truncate(t.message)
	case errors.As(err, &ae):
		ack.Status = ae.status
		if ae.err != nil {
			ack.Message = truncate(ae.err.Error())
		}
	default:
		ack.Status = models.Error
		ack.Message = truncate(err.Error())
	}
	return ack
}

// maxMessage is TaskAck.message's maxLength in the spec.
const maxMessage = 4096

// truncate cuts s to maxMessage bytes (so at most maxMessage characters)
// without splitting a character. Only the cut is looked at: a stray invalid
// byte earlier in s must not shorten it further.
func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// maxGroup is TaskAckGroup's maxItems in the spec.
const maxGroup = 2000

// flush sends the acknowledgements in groups. A group is all or nothing, so
// when the server refuses one (a task deleted meanwhile answers 404, a task
// acknowledged otherwise 409) its tasks are acknowledged one by one so the
// others still get through.
func (c *Consumer) flush(ctx context.Context, acks []pending) {
	for start := 0; start < len(acks); start += maxGroup {
		chunk := acks[start:min(start+maxGroup, len(acks))]
		items := make([]models.TaskAckGroupItem, len(chunk))
		for i, p := range chunk {
			items[i] = p.ack
		}
		_, err := c.c.AcknowledgeTasks(ctx, items)
		if err != nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRequest)) {
			for _, p := range chunk {
				ack := models.TaskAck{Status: p.ack.Status, Message: p.ack.Message, SysAppID: p.ack.SysAppID}
				_, err := c.c.AcknowledgeTask(ctx, p.task.ID, ack)
				c.report(p, err)
			}
			continue
		}
		for _, p := range chunk {
			c.report(p, err)
		}
	}
}

func (c *Consumer) report(p pending, err error) {
	if err != nil {
		c.logger.Error("interop: acknowledging task failed; it will be delivered again after its lease",
			"task", p.task.ID, "status", p.ack.Status, "error", err)
	}
	if c.observe != nil {
		c.observe(AckResult{Task: p.task, Ack: p.ack, Err: err})
	}
}
