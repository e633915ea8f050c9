package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
// to Default. Ignoring a kind must be explicit: NewConsumer refuses
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

// ErrIncompleteHandler is matched by the error of NewConsumer for a nil
// handler or a HandlerFuncs that does not say what to do with every kind of
// task.
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
	return &ConfigError{Option: "HandlerFuncs", Err: ErrIncompleteHandler,
		Reason: fmt.Sprintf("no function for %s and no Default (set Default to client.Ignore to acknowledge them unhandled)", strings.Join(missing, ", "))}
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
