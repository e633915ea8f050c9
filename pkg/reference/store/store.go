package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/server/auth"
)

// Errors a Store returns, wrapped; test them with errors.Is.
var (
	// ErrNotFound: no such tenant, object or task within the given scope.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key is taken, or a task was already acknowledged
	// with another outcome.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the caller passed something the store cannot keep.
	ErrInvalid = errors.New("invalid")
)

// TaskError names the task an acknowledgement failed on. It wraps ErrNotFound
// or ErrConflict; for a conflict, Status is the outcome already recorded.
type TaskError struct {
	ID     uuid.UUID
	Err    error
	Status AckStatus
}

func (e *TaskError) Error() string {
	if errors.Is(e.Err, ErrConflict) {
		return fmt.Sprintf("task %s was already acknowledged as %s", e.ID, e.Status)
	}
	return fmt.Sprintf("task %s %v", e.ID, e.Err)
}

func (e *TaskError) Unwrap() error { return e.Err }

// Kind is the data-model type of a roster object, as rendered in $sys.type.
type Kind string

// The kinds the API serves (KindOrg, KindPerson, ...) and the subtypes its
// lists filter on are generated from the spec (kinds.gen.go).

// Memberships are served by no operation: they are stored so that loading
// them produces data events (ADD, CHANGE, DELETE) like any other object, as
// the spec's PersonOrgMembership and PersonSectionMembership data_event
// payloads describe.
const (
	KindPersonOrgMembership     Kind = "PersonOrgMembership"
	KindPersonSectionMembership Kind = "PersonSectionMembership"
)

// Object is one roster object of a tenant.
type Object struct {
	ID      uuid.UUID
	Kind    Kind
	Subtype string // org_type, person_type or term_type; empty for the other kinds
	Label   string
	// Data is the object exactly as the API renders it (the spec's schema for
	// its kind, references in the $sys-wrapped shape, rollups included).
	Data json.RawMessage
	// Orgs are the orgs the object belongs to, behind the
	// /rostering/orgs/{id}/... lists: a person's org memberships, a course's
	// orgs, a section's org, a term's org.
	Orgs []uuid.UUID
	// Sections are a person's section memberships.
	Sections []uuid.UUID
	// Pos is the object's place in list order, set by ListObjects: pass
	// the last one of a page as ObjectQuery.After for the next.
	Pos int64
}

// ObjectQuery selects a page of objects, ordered by the order in which they
// were first stored (an update keeps an object's place).
type ObjectQuery struct {
	Tenants []uuid.UUID
	Kind    Kind
	Subtype string     // when not empty, only objects of this subtype
	Org     *uuid.UUID // when set, only objects linked to this org
	// After, when not zero, starts the list after the object at this Pos
	// (keyset paging: the store seeks to it instead of counting rows);
	// Offset then counts from there.
	After  int64
	Offset int
	Limit  int
}

// SyncTx is one write transaction on one tenant's roster and queue, the
// primitives a sync is built of (package reference decides what a sync
// means: its events, their order). Nothing of it is visible to other
// callers until the function given to Store.Sync returns nil; when it
// returns an error, none of it happened. A SyncTx is not safe for concurrent
// use and is valid only inside that function.
//
// A large sync goes through Stage and Apply: the objects are staged in the
// engine (a bulk copy into a staging table) and Apply lets SQL find what
// differs from the roster, writing only that, with no round trip per
// object. Put and PutAll put objects one by one and suit small writes.
type SyncTx interface {
	// Stage adds objs to the objects the next Apply puts, after every
	// object staged before. An id may be staged again: Apply then puts the
	// two one after the other. An object that fails CheckObject is
	// ErrInvalid. Staging changes nothing readers see (and, on SQLite,
	// does not take the database's write lock).
	Stage(ctx context.Context, objs []Object) error
	// Apply puts every object staged since the last Apply, with the effect
	// of Put of each in staging order: new objects are inserted in that
	// order, objects whose kind, subtype, label or data differ are updated
	// in place, links are made to match the staged Orgs and Sections, and
	// every staged object counts as put for RemoveUnput. Before writing, it
	// passes the objects that are new or differ to changed, in staging
	// order and in batches, each with what it replaces (Prior nil for a
	// new one); changed may call the SyncTx (Enqueue, typically). It
	// returns how many staged objects were equal to what was stored.
	Apply(ctx context.Context, changed func([]Change) error) (unchanged int, err error)
	// Put stores o, inserting it or replacing the object with its id (which
	// keeps its place in the lists), replaces the object's links with o.Orgs
	// and o.Sections, and marks it as put in this transaction. It returns
	// the object as it was stored before (its links not filled in), or nil
	// when o is new. An object that fails CheckObject is ErrInvalid.
	Put(ctx context.Context, o Object) (prior *Object, err error)
	// PutAll is Put of each object in order, as one step (a store may send
	// them in a few statements for all): priors[i] is what objs[i]
	// replaced. An id may appear once only: a repeated id is ErrInvalid.
	PutAll(ctx context.Context, objs []Object) (priors []*Object, err error)
	// Remove deletes the object with this id, of this kind unless kind is
	// empty, with its links, and returns it; nil when there is none.
	Remove(ctx context.Context, kind Kind, id uuid.UUID) (*Object, error)
	// RemoveUnput deletes at most limit objects of this kind (and subtype,
	// when not empty) that were neither Put nor Staged in this
	// transaction, and returns them in list order; fewer than limit means
	// none is left.
	RemoveUnput(ctx context.Context, kind Kind, subtype string, limit int) ([]Object, error)
	// Enqueue appends tasks to the tenant's queue, numbered after every task
	// enqueued before, in this transaction or earlier.
	Enqueue(ctx context.Context, tasks []NewTask, now time.Time) ([]Task, error)
}

// StageLimiter is implemented by a SyncTx that would rather be applied
// every so many staged objects than once at the end (the PostgreSQL store,
// when a tenant's roster is empty at the start of the sync: it keeps the
// staged objects in memory and copies them straight into the roster at
// Apply). A caller should Apply once StageLimit objects are staged since
// the last Apply; 0 means as late as possible. Without it, a SyncTx is
// best applied as late as possible (the SQLite store plans a first Apply
// without the write lock, and takes the lock for the next one).
type StageLimiter interface {
	StageLimit() int
}

// Change is an object SyncTx.Apply is about to add or change.
type Change struct {
	Object Object  // as staged, its links not filled in
	Prior  *Object // what it replaces, its links not filled in; nil when new
}

// TaskKind names a task's payload, as the 2.x rendering keys it.
type TaskKind string

// The task kinds the spec describes (TaskLifecycle, ...) are generated from
// it (kinds.gen.go).

// CheckNewTasks refuses (ErrInvalid) a task whose kind or driver
// CheckName refuses, before a store writes any of them.
func CheckNewTasks(tasks []NewTask) error {
	for _, nt := range tasks {
		if err := CheckName("task kind", string(nt.Kind)); err != nil {
			return err
		}
		if err := CheckName("driver", nt.Driver); err != nil {
			return err
		}
	}
	return nil
}

// NewTask is a task to enqueue.
type NewTask struct {
	Kind   TaskKind
	Driver string
	// Payload holds the event's fields other than id, tenant_id, sequence and
	// created_at (which the store assigns): action, group_id, data, ...
	Payload json.RawMessage
}

// Task is a task of a tenant's queue.
type Task struct {
	ID          uuid.UUID
	TenantID    uuid.UUID
	Sequence    int64 // strictly increasing within the tenant
	Kind        TaskKind
	Driver      string
	CreatedAt   time.Time
	Payload     json.RawMessage
	LeasedUntil time.Time // zero when never leased; visible again once passed
	Deliveries  int       // how many times a lease handed it out
	Pos         int64     // its place in queue order, set by ListTasks (see TaskQuery.After)
}

// LeaseQuery asks for the next visible tasks: the oldest tasks of Tenants not
// leased at Now, at most Limit, which are then leased until Now+Lease.
type LeaseQuery struct {
	Tenants []uuid.UUID
	Driver  string // when not empty, only tasks addressed to this driver
	Limit   int
	Now     time.Time
	Lease   time.Duration
}

// TaskQuery pages through a queue in sequence order without leasing.
type TaskQuery struct {
	Tenants []uuid.UUID
	Driver  string
	// After, when not zero, starts the page after the task at this Pos.
	After  int64
	Offset int
	Limit  int
}

// AckStatus is the outcome of a task.
type AckStatus string

// The outcomes of the spec's TaskAckStatus.
const (
	AckSuccess        AckStatus = "success"
	AckError          AckStatus = "error"
	AckRetry          AckStatus = "retry"
	AckReauthenticate AckStatus = "reauthenticate"
)

// Terminal reports whether the outcome removes the task from the queue.
func (s AckStatus) Terminal() bool { return s == AckSuccess || s == AckError }

// Ack acknowledges one task.
type Ack struct {
	TaskID  uuid.UUID
	Status  AckStatus
	Message string
	AppID   string
}

// Receipt is the recorded answer to an acknowledgement.
type Receipt struct {
	TaskID         uuid.UUID
	Status         AckStatus
	AcknowledgedAt time.Time
}

// HistoryEntry is one acknowledgement kept in a tenant's history.
type HistoryEntry struct {
	TaskID         uuid.UUID
	TenantID       uuid.UUID
	Sequence       int64
	Kind           TaskKind
	Status         AckStatus
	Message        string
	AppID          string
	AcknowledgedAt time.Time
}

// Tenant is an installed integration.
type Tenant struct {
	ID         uuid.UUID
	Name       string
	ClientID   string
	SecretHash string
	CreatedAt  time.Time
}

// Prepare checks what CreateTenant needs of t (an id, a client id and a
// secret hash; a name, client id and hash CheckName accepts: ErrInvalid
// otherwise) and dates it now when it has no date.
func (t Tenant) Prepare(now time.Time) (Tenant, error) {
	if t.ID == uuid.Nil || t.ClientID == "" || t.SecretHash == "" {
		return t, fmt.Errorf("%w: tenant needs an id, a client id and a secret hash", ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{{"tenant name", t.Name}, {"client id", t.ClientID}, {"secret hash", t.SecretHash}} {
		if err := CheckName(f.name, f.v); err != nil {
			return t, err
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	return t, nil
}

// Store keeps tenants, rosters and task queues. Strings follow one rule in
// every store (see CheckText): no answer depends on whether the database can
// hold U+0000 or bytes that are not UTF-8. Every method is safe for
// concurrent use; every method that changes data is atomic. Tenants scope
// every read and write: an id outside the scope is ErrNotFound, exactly like
// an id that does not exist.
type Store interface {
	// CreateTenant stores t and enqueues tasks (TENANT_INSTALLED, typically)
	// in the same transaction. A taken id or client id is ErrConflict.
	CreateTenant(ctx context.Context, t Tenant, tasks []NewTask, now time.Time) ([]Task, error)
	// FindTenant returns the tenant with this id.
	FindTenant(ctx context.Context, id uuid.UUID) (Tenant, error)
	// FindTenantByClientID returns the tenant whose client id this is.
	FindTenantByClientID(ctx context.Context, clientID string) (Tenant, error)
	// FindTenantsByName returns the tenants named exactly name, oldest
	// first (then by id); none is an empty slice, not an error. Names are
	// not unique, so callers that need one tenant must handle several.
	FindTenantsByName(ctx context.Context, name string) ([]Tenant, error)

	// Sync runs fn in one write transaction on tenant: everything fn does
	// through tx is committed when fn returns nil, and nothing when it
	// returns an error (which Sync returns) or panics (the panic goes on up
	// after the rollback, and the store stays writable). Syncs of one tenant run one
	// after the other, so the tasks one enqueues are consecutive. An
	// unknown tenant is ErrNotFound, and fn is not called. A store may
	// run fn a second time, on a fresh tx, when the first run's work
	// cannot be kept (the SQLite store, when another sync of the tenant
	// committed while fn ran without the write lock): fn must then do the
	// same again, and only the last run counts.
	Sync(ctx context.Context, tenant uuid.UUID, fn func(tx SyncTx) error) error
	// ResetTenant empties a tenant's roster, queue and acknowledgement
	// history, keeping the tenant, its credentials, its tokens and its task
	// sequence counter (sequences keep increasing, so a consumer that
	// remembers the last one it saw is not fooled).
	ResetTenant(ctx context.Context, tenant uuid.UUID) error
	// FindObject returns the object of this kind and id.
	FindObject(ctx context.Context, tenants []uuid.UUID, kind Kind, id uuid.UUID) (Object, error)
	// ListObjects returns a page of objects and whether more follow it.
	ListObjects(ctx context.Context, q ObjectQuery) (objs []Object, more bool, err error)

	// Enqueue appends tasks to a tenant's queue.
	Enqueue(ctx context.Context, tenant uuid.UUID, tasks []NewTask, now time.Time) ([]Task, error)
	// LeaseTasks selects and leases the next visible tasks in one
	// transaction: two concurrent calls never receive the same task while
	// its lease runs.
	LeaseTasks(ctx context.Context, q LeaseQuery) ([]Task, error)
	// ListTasks returns a page of the queue, without leasing, and whether
	// more follow it.
	ListTasks(ctx context.Context, q TaskQuery) (tasks []Task, more bool, err error)
	// FindTask returns a queued task.
	FindTask(ctx context.Context, tenants []uuid.UUID, id uuid.UUID) (Task, error)
	// AckTasks applies acknowledgements all or nothing. success and error
	// remove the task and record the outcome; retry and reauthenticate
	// release its lease (reauthenticate is recorded in the history too).
	// Acknowledging a removed task again with its recorded outcome answers
	// the original receipt; with another outcome it is a *TaskError wrapping
	// ErrConflict. An unknown task is a *TaskError wrapping ErrNotFound, and
	// then nothing is acknowledged; so is a batch naming a task twice, which
	// is ErrInvalid (CheckAcks).
	AckTasks(ctx context.Context, tenants []uuid.UUID, acks []Ack, now time.Time) ([]Receipt, error)
	// DeleteTask removes a queued task without recording an outcome and
	// returns it.
	DeleteTask(ctx context.Context, tenants []uuid.UUID, id uuid.UUID) (Task, error)
	// History returns a tenant's acknowledgements, oldest first.
	History(ctx context.Context, tenant uuid.UUID) ([]HistoryEntry, error)

	// The store keeps the OAuth2 clients (one per tenant) and the access
	// tokens issued to them, so that tokens survive a restart, and bounds
	// how many each client holds (auth.TokenLimit), for every process on
	// the store at once.
	auth.ClientStore
	auth.QuotaTokenStore

	// The keys of the LTI test issuer.
	LTIKeyStore

	// Secret returns 32 random bytes kept under name, made on first use,
	// the same for every process on the store (replicas sign paging
	// cursors with it).
	Secret(ctx context.Context, name string) ([]byte, error)

	// Ping is the readiness probe: it answers nil only when the store answers
	// and can commit a write right now (for example by updating a one-row
	// probe table and committing), so that a store on a full disk, a
	// read-only file or a replica that lost its primary is taken out of a
	// load balancer. It must be cheap and change nothing readers can see.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
