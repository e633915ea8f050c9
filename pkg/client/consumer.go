package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
// to Default. Ignoring a kind must be explicit: a Consumer refuses to run a
// HandlerFuncs that has neither Default nor a function for each of the four
// kinds (Lifecycle, Sync, Data, Authenticate), so that a forgotten Data does
// not acknowledge every data event as handled. Set Default to Ignore to
// acknowledge the kinds without a function as success, unhandled. Kinds
// newer than this client reach Default; with a nil Default (all four
// functions set) they are acknowledged as success with a message saying they
// were not handled, so they never block the queue.
type HandlerFuncs struct {
	Lifecycle    func(ctx context.Context, t *Task, e *models.LifecycleEvent) error
	Sync         func(ctx context.Context, t *Task, e *models.SyncEvent) error
	Data         func(ctx context.Context, t *Task, e *models.DataEvent) error
	Authenticate func(ctx context.Context, t *Task, e *models.Authenticate) error
	Default      func(ctx context.Context, t *Task) error
}

// ErrIncompleteHandler is returned by Run for a HandlerFuncs that does not
// say what to do with every kind of task.
var ErrIncompleteHandler = errors.New("interop: the handler does not say what to do with every kind of task")

// Ignore acknowledges a task as success without handling it, with a message
// saying so. Use it as HandlerFuncs.Default to ignore the kinds without a
// function on purpose.
func Ignore(_ context.Context, t *Task) error {
	t.SetMessage("not handled: this integration ignores " + kindName(t))
	return nil
}

// check reports the kinds h would drop without a word.
func (h HandlerFuncs) check() error {
	if h.Default != nil {
		return nil
	}
	var missing []string
	for kind, f := range map[string]bool{KindLifecycle: h.Lifecycle == nil, KindSync: h.Sync == nil,
		KindData: h.Data == nil, KindAuthenticate: h.Authenticate == nil} {
		if f {
			missing = append(missing, kind)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("%w: no function for %s and no Default (set Default to client.Ignore to acknowledge them unhandled)",
		ErrIncompleteHandler, strings.Join(missing, ", "))
}

// OnLifecycle implements Handler.
func (h HandlerFuncs) OnLifecycle(ctx context.Context, t *Task, e *models.LifecycleEvent) error {
	if h.Lifecycle == nil {
		return h.missing(ctx, t)
	}
	return h.Lifecycle(ctx, t, e)
}

// OnSync implements Handler.
func (h HandlerFuncs) OnSync(ctx context.Context, t *Task, e *models.SyncEvent) error {
	if h.Sync == nil {
		return h.missing(ctx, t)
	}
	return h.Sync(ctx, t, e)
}

// OnData implements Handler.
func (h HandlerFuncs) OnData(ctx context.Context, t *Task, e *models.DataEvent) error {
	if h.Data == nil {
		return h.missing(ctx, t)
	}
	return h.Data(ctx, t, e)
}

// OnAuthenticate implements Handler.
func (h HandlerFuncs) OnAuthenticate(ctx context.Context, t *Task, e *models.Authenticate) error {
	if h.Authenticate == nil {
		return h.missing(ctx, t)
	}
	return h.Authenticate(ctx, t, e)
}

// missing handles a known kind without a function: Default's, or an error
// acknowledgement (never a silent success) when there is none.
func (h HandlerFuncs) missing(ctx context.Context, t *Task) error {
	if h.Default == nil {
		return fmt.Errorf("no handler for %s", kindName(t))
	}
	return h.Default(ctx, t)
}

// Fallback implements Handler.
func (h HandlerFuncs) Fallback(ctx context.Context, t *Task) error {
	if h.Default == nil {
		return Ignore(ctx, t)
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
	sleep    func(ctx context.Context, d time.Duration) error
	jitter   func() float64
	logger   *slog.Logger
	observe  func(AckResult)
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

// WithIdleBackoff sets the pause after an empty or failed poll, and between
// attempts to deliver acknowledgements: it starts at min and doubles (with
// jitter) up to max while the condition lasts. Defaults: 1s and 30s.
func WithIdleBackoff(min, max time.Duration) ConsumerOption {
	return func(c *Consumer) { c.minIdle, c.maxIdle = min, max }
}

// WithFlushTimeout bounds the final acknowledgement flush after Run's
// context is done (15s by default).
func WithFlushTimeout(d time.Duration) ConsumerOption { return func(c *Consumer) { c.flushTO = d } }

// WithShutdownGrace sets how long handlers in flight may still run after
// Run's context ends (10s by default). Then their contexts are cancelled
// and Run stops waiting for them: a task whose handler has not returned is
// not acknowledged and comes back after its lease.
func WithShutdownGrace(d time.Duration) ConsumerOption { return func(c *Consumer) { c.grace = d } }

// WithLease tells the consumer the server's task lease (5m by default, the
// reference server's). A handler's context ends when the lease of its batch
// does: past it the task may be leased again, so the work would be repeated
// anyway. Tasks of a batch not started within the lease are not handled.
func WithLease(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d > 0 {
			c.lease = d
		}
	}
}

// WithStrictOrder makes sequence order hold across a lost poll: when a
// GET /tasks may have leased a batch whose answer never arrived (a
// connection reset after the request was sent, a 500/502/504, a cut body),
// the consumer does not poll again until the lease (WithLease) has passed,
// so that batch comes back first. The price is a pause of one lease per lost
// answer. Without it such a poll is retried at once and the lost batch comes
// back after its lease, behind newer tasks (see the package documentation).
func WithStrictOrder() ConsumerOption { return func(c *Consumer) { c.strict = true } }

// WithAckFlush sets when finished tasks' acknowledgements are sent: as soon
// as size are waiting, or every interval (defaults: 100 and 1s), and always
// before the next poll.
func WithAckFlush(size int, interval time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if size > 0 {
			c.ackSize = min(size, maxGroup)
		}
		if interval > 0 {
			c.ackEvery = interval
		}
	}
}

// WithConsumerLogger sets the consumer's logger (the client's by default).
func WithConsumerLogger(l *slog.Logger) ConsumerOption { return func(c *Consumer) { c.logger = l } }

// WithConsumerSleep replaces the consumer's pauses; tests inject a fake
// clock here. sleep must return ctx.Err() when ctx ends first.
func WithConsumerSleep(sleep func(ctx context.Context, d time.Duration) error) ConsumerOption {
	return func(c *Consumer) { c.sleep = sleep }
}

// WithAckObserver is called once per acknowledgement: when the server
// recorded it, or when the consumer gave up on it (Err set: a refusal, or
// shutdown before it could be delivered).
func WithAckObserver(f func(AckResult)) ConsumerOption { return func(c *Consumer) { c.observe = f } }

// NewConsumer returns a consumer of c's task queue that hands tasks to h.
func NewConsumer(c *Client, h Handler, opts ...ConsumerOption) *Consumer {
	cons := &Consumer{
		c: c, h: h, conc: 4,
		minIdle: time.Second, maxIdle: 30 * time.Second,
		flushTO:  15 * time.Second,
		grace:    10 * time.Second,
		lease:    5 * time.Minute,
		ackSize:  100,
		ackEvery: time.Second,
		logger:   c.logger,
		jitter:   rand.Float64,
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

// Run polls and handles tasks until ctx is done, then returns nil within a
// bounded time: handlers in flight get the shutdown grace (WithShutdownGrace,
// 10s) to finish, unstarted tasks of the batch are released with retry, and
// the acknowledgements not yet delivered get the flush timeout
// (WithFlushTimeout, 15s). So Run returns at most grace + flush timeout
// after ctx ends, whatever the handlers and the network do.
//
// Run returns an error at once for a HandlerFuncs that does not cover every
// kind (ErrIncompleteHandler), and early when the server refuses the
// credentials (ErrUnauthorized, ErrForbidden: the token endpoint answered
// invalid_client, or the API refused a freshly fetched token) or the request
// (ErrBadRequest), since polling again could not succeed. Everything else
// (network errors, 5xx, 429, an outage of the token endpoint) is retried
// with backoff for as long as Run runs.
func (c *Consumer) Run(ctx context.Context) error {
	if c.h == nil {
		return fmt.Errorf("%w: nil handler", ErrIncompleteHandler)
	}
	switch h := c.h.(type) {
	case HandlerFuncs:
		if err := h.check(); err != nil {
			return err
		}
	case *HandlerFuncs:
		if err := h.check(); err != nil {
			return err
		}
	}

	comp := &completer{c: c, changed: make(chan struct{}), kick: make(chan struct{}, 1)}
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
		t := time.AfterFunc(c.grace, hcancel)
		context.AfterFunc(hbase, func() { t.Stop() })
	})
	defer stopGrace()

	err := c.loop(ctx, hbase, comp)

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.flushTO)
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
		leasedAt := time.Now()
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
			if c.sleep(ctx, pause) != nil {
				return nil
			}
			continue
		}
		if len(tasks) == 0 {
			fails++
			if c.sleep(ctx, c.idle(fails)) != nil {
				return nil
			}
			continue
		}
		fails = 0
		if released := c.process(ctx, hbase, leasedAt, tasks, comp); released {
			// A handler asked for redelivery: pause before polling so a
			// task that keeps failing does not spin the loop.
			if !comp.drain(ctx) || c.sleep(ctx, c.idle(1)) != nil {
				return nil
			}
		}
	}
}

type pending struct {
	task *Task
	ack  models.TaskAckGroupItem
}

func release(t *Task, why string) pending {
	return pending{t, models.TaskAckGroupItem{TaskID: t.ID, Status: models.Retry, Message: why}}
}

// process handles one batch, handing each acknowledgement to comp as its
// task finishes. It returns when every handler has returned or, after ctx
// ends, when the shutdown grace is over (hbase is cancelled). It reports
// whether any task was released for redelivery.
func (c *Consumer) process(ctx, hbase context.Context, leasedAt time.Time, tasks []*Task, comp *completer) bool {
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

	// Past the lease the task may be handed to another worker: handlers
	// stop there.
	lctx, lcancel := context.WithDeadline(hbase, leasedAt.Add(c.lease))
	defer lcancel()
	var (
		released atomic.Bool
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.conc)
	)
	// Each task is claimed once: by its worker, which handles or releases
	// it, or, when the grace runs out, by the release of what is left.
	claimed := make(map[uuid.UUID]*atomic.Bool, len(tasks))
	for _, g := range groups {
		for _, t := range g {
			claimed[t.ID] = new(atomic.Bool)
		}
	}
	for _, tenant := range order {
		g := groups[tenant]
		slices.SortStableFunc(g, func(a, b *Task) int { return cmp.Compare(a.Sequence, b.Sequence) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop := ""
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				stop = "released: the consumer is shutting down"
			}
			for _, t := range g {
				if !claimed[t.ID].CompareAndSwap(false, true) {
					return // released by process after the grace
				}
				if stop == "" && ctx.Err() != nil {
					stop = "released: the consumer is shutting down"
				}
				if stop == "" && lctx.Err() != nil {
					// The lease is over: the rest of the group may be
					// leased elsewhere already and comes back anyway.
					c.logger.Warn("interop: lease over before the task was started; not handled", "task", t.ID)
					return
				}
				if stop != "" {
					released.Store(true)
					comp.add(release(t, stop))
					continue
				}
				a := c.handle(lctx, t)
				if a.Status == models.Error && lctx.Err() != nil {
					// The handler gave up because its context ended
					// (shutdown grace or lease over): not processed.
					a = release(t, "released: interrupted: "+a.Message).ack
				}
				comp.add(pending{t, a})
				if a.Status == models.Retry || a.Status == models.Reauthenticate {
					released.Store(true)
					// Keep the tenant's order: what follows a task that
					// goes back to the queue goes back too.
					stop = fmt.Sprintf("released: task %s (sequence %d) before it was not processed", t.ID, t.Sequence)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-hbase.Done():
		// The grace is over and a handler has not returned: its task comes
		// back after the lease; the tasks not started are released now.
		n := 0
		for _, tenant := range order {
			for _, t := range groups[tenant] {
				if claimed[t.ID].CompareAndSwap(false, true) {
					released.Store(true)
					comp.add(release(t, "released: the consumer is shutting down"))
					n++
				}
			}
		}
		c.logger.Warn("interop: handlers still running after the shutdown grace; their tasks come back after the lease",
			"released", n)
	}
	return released.Load()
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

// maxGroupBytes bounds the encoded size of one group acknowledgement: the
// spec's body limit (info.x-request-body-limit) less room for the array's
// punctuation. 2000 acknowledgements with long messages do not fit in one
// body; a group cut by count alone would be refused with a 413 and then sent
// one task at a time.
const maxGroupBytes = 2<<20 - 4<<10

// encodedSize is at least the bytes an acknowledgement the consumer builds
// (task id, status, message, app id) takes in a group's JSON: encoding/json
// escapes <, > and & as six bytes, as it does control characters, invalid
// UTF-8 and U+2028/U+2029.
func encodedSize(a models.TaskAckGroupItem) int {
	return 128 + len(a.Status) + jsonStringSize(a.Message) + jsonStringSize(a.SysAppID)
}

func jsonStringSize(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' || (r == utf8.RuneError && size == 1):
			n += 6
		case r == '"' || r == '\\':
			n += 2
		default:
			n += size
		}
		i += size
	}
	return n
}

// errNotDelivered is the AckResult error of an acknowledgement still
// undelivered when Run returned.
var errNotDelivered = errors.New("interop: acknowledgement not delivered before the consumer stopped")

// completer queues acknowledgements and sends them in groups, keeping those
// the server did not receive and sending them again with growing pauses.
type completer struct {
	c    *Consumer
	kick chan struct{} // capacity 1: a flush is wanted

	mu       sync.Mutex
	queue    []pending // not sent yet, or to send again
	inflight int
	changed  chan struct{} // closed on every change of queue or inflight
	closed   bool
}

func (k *completer) add(p pending) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		k.c.report(p, errNotDelivered)
		return
	}
	k.queue = append(k.queue, p)
	n := len(k.queue)
	k.mu.Unlock()
	if n >= k.c.ackSize {
		k.poke()
	}
}

func (k *completer) poke() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// signal wakes the waiters of drain; k.mu is held.
func (k *completer) signal() {
	close(k.changed)
	k.changed = make(chan struct{})
}

func (k *completer) take() []pending {
	k.mu.Lock()
	defer k.mu.Unlock()
	n, size := 0, 0
	for n < min(len(k.queue), maxGroup) {
		size += encodedSize(k.queue[n].ack)
		if n > 0 && size > maxGroupBytes {
			break
		}
		n++
	}
	batch := slices.Clone(k.queue[:n])
	k.queue = k.queue[n:]
	k.inflight += n
	if n > 0 {
		k.signal()
	}
	return batch
}

func (k *completer) settle(sent int, again []pending) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inflight -= sent
	k.queue = append(again, k.queue...)
	k.signal()
}

// drain flushes and waits until every queued acknowledgement was delivered
// (or given up), or ctx ends; it reports whether it got there.
func (k *completer) drain(ctx context.Context) bool {
	for {
		k.mu.Lock()
		if len(k.queue) == 0 && k.inflight == 0 {
			k.mu.Unlock()
			return true
		}
		ch := k.changed
		k.mu.Unlock()
		k.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// run sends acknowledgements until ctx ends: when poked (size reached, a
// drain) or every ackEvery.
func (k *completer) run(ctx context.Context) {
	tick := time.NewTicker(k.c.ackEvery)
	defer tick.Stop()
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.kick:
		case <-tick.C:
		}
		for ctx.Err() == nil {
			batch := k.take()
			if len(batch) == 0 {
				break
			}
			again := k.c.send(ctx, batch)
			k.settle(len(batch), again)
			if len(again) == 0 {
				fails = 0
				continue
			}
			fails++
			pause := k.c.idle(fails)
			k.c.logger.Warn("interop: acknowledgements not delivered; kept, sent again after a pause",
				"count", len(again), "attempt", fails, "pause", pause)
			if k.c.sleep(ctx, pause) != nil {
				return
			}
		}
	}
}

// abandon reports what is still queued once the flusher has stopped.
func (k *completer) abandon() {
	k.mu.Lock()
	left := k.queue
	k.queue, k.closed = nil, true
	k.signal()
	k.mu.Unlock()
	for _, p := range left {
		k.c.report(p, errNotDelivered)
	}
}

// refused reports an acknowledgement error that sending again cannot cure.
func refused(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRequest) ||
		errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrContractViolation)
}

// send sends one group and returns the acknowledgements to send again. A
// group is all or nothing, so when the server refuses one (a task deleted
// meanwhile answers 404, a task acknowledged otherwise 409) its tasks are
// acknowledged one by one so the others still get through.
func (c *Consumer) send(ctx context.Context, batch []pending) (again []pending) {
	items := make([]models.TaskAckGroupItem, len(batch))
	for i, p := range batch {
		items[i] = p.ack
	}
	_, err := c.c.AcknowledgeTasks(ctx, items)
	switch {
	case err == nil:
		for _, p := range batch {
			c.report(p, nil)
		}
		return nil
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRequest):
		for _, p := range batch {
			ack := models.TaskAck{Status: p.ack.Status, Message: p.ack.Message, SysAppID: p.ack.SysAppID}
			_, err := c.c.AcknowledgeTask(ctx, p.task.ID, ack)
			if err != nil && !refused(err) {
				again = append(again, p)
				continue
			}
			c.report(p, err)
		}
		return again
	case refused(err):
		for _, p := range batch {
			c.report(p, err)
		}
		return nil
	}
	return batch
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
