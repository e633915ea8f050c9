package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiclient"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/exactjson"
)

// Task kinds: the payload key of a schema 2.x task, or the type of a flat
// schema 3.x task. The vocabulary is open: a server may send kinds this
// client does not know, and Task.Kind then holds the unknown key.
const (
	KindLifecycle    = "lifecycle_event"
	KindSync         = "sync_event"
	KindData         = "data_event"
	KindAuthenticate = "authenticate"
	KindGradesQuery  = "grades_query"
)

var knownKinds = []string{KindLifecycle, KindSync, KindData, KindAuthenticate, KindGradesQuery}

// Task is one task of the queue, in one shape whatever the rendering: its
// kind, id, tenant and sequence, and the typed payload of its kind. For a
// flat schema 3.x task the payload (LifecycleEvent, SyncEvent, DataEvent,
// Authenticate) is filled from the root fields, so handlers see one shape.
// Exactly one payload is set for a known kind; none for a kind this client
// does not know (Raw holds it).
type Task struct {
	Kind      string // KindLifecycle, KindSync, ... or the unknown key or type
	ID        uuid.UUID
	TenantID  uuid.UUID
	Sequence  int64
	CreatedAt time.Time
	Schema    string // the task schema version the server named, if any

	LifecycleEvent *models.LifecycleEvent
	SyncEvent      *models.SyncEvent
	DataEvent      *models.DataEvent
	Authenticate   *models.Authenticate
	GradesQuery    *models.GradesQuery

	Raw json.RawMessage // the task as received

	// Set by handlers through SetAppID and SetMessage, sent with the ack.
	appID   string
	message string
}

// SetAppID records the application's own id for the task's object; it is
// sent as $sys.app_id with the acknowledgement.
func (t *Task) SetAppID(id string) { t.appID = id }

// SetMessage records a message sent with a successful acknowledgement (an
// error acknowledgement carries the handler's error text instead).
func (t *Task) SetMessage(m string) { t.message = m }

type taskMeta struct {
	ID        *uuid.UUID `json:"id"`
	TenantID  *uuid.UUID `json:"tenant_id"`
	Sequence  *int64     `json:"sequence"`
	CreatedAt *time.Time `json:"created_at"`
}

// UnmarshalJSON decodes any rendering of a task, including kinds this client
// does not know.
func (t *Task) UnmarshalJSON(b []byte) error {
	*t = Task{}
	var m models.Task
	if err := exactjson.Check(b, &m); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	t.Raw = append(json.RawMessage(nil), b...)
	t.Schema = m.Schema
	t.LifecycleEvent, t.SyncEvent, t.DataEvent, t.Authenticate, t.GradesQuery = m.LifecycleEvent, m.SyncEvent, m.DataEvent, m.Authenticate, m.GradesQuery
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	for _, k := range knownKinds {
		if v, ok := keys[k]; ok && string(v) != "null" {
			t.Kind = k
			return t.setMeta(v)
		}
	}
	if m.Type != "" {
		t.Kind = m.Type
		if err := t.setMeta(b); err != nil {
			return err
		}
		t.flatten(m)
		return nil
	}
	// An unknown payload key: the first object member that carries an id.
	for k, v := range keys {
		var meta taskMeta
		if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &meta) == nil && meta.ID != nil {
			t.Kind = k
			return t.setMeta(v)
		}
	}
	return t.setMeta(b)
}

func (t *Task) setMeta(b []byte) error {
	var m taskMeta
	if err := exactjson.Check(b, &m); err != nil {
		return fmt.Errorf("task %s payload: %w", t.Kind, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("task %s payload: %w", t.Kind, err)
	}
	if m.ID != nil {
		t.ID = *m.ID
	}
	if m.TenantID != nil {
		t.TenantID = *m.TenantID
	}
	if m.Sequence != nil {
		t.Sequence = *m.Sequence
	}
	if m.CreatedAt != nil {
		t.CreatedAt = *m.CreatedAt
	}
	return nil
}

// flatten fills the typed payload of a flat schema 3.x task from its root
// fields (m); t's id, tenant, sequence and creation time are already set.
func (t *Task) flatten(m models.Task) {
	switch t.Kind {
	case KindLifecycle:
		t.LifecycleEvent = &models.LifecycleEvent{ID: t.ID, TenantID: t.TenantID, Sequence: t.Sequence, CreatedAt: t.CreatedAt, Action: m.Action}
	case KindSync:
		t.SyncEvent = &models.SyncEvent{ID: t.ID, TenantID: t.TenantID, Sequence: t.Sequence, CreatedAt: t.CreatedAt, Action: m.Action,
			GroupID: m.GroupID, Origin: m.Origin, ObjectID: m.ObjectID, ObjectType: m.ObjectType}
	case KindData:
		t.DataEvent = &models.DataEvent{ID: t.ID, TenantID: t.TenantID, Sequence: t.Sequence, CreatedAt: t.CreatedAt, Action: m.Action,
			GroupID: m.GroupID, ObjectID: m.ObjectID, ObjectType: m.ObjectType, AppID: m.AppID, Label: m.Label,
			Data: m.Data, Changes: m.Changes}
	case KindAuthenticate:
		t.Authenticate = &models.Authenticate{ID: t.ID, TenantID: t.TenantID, Sequence: t.Sequence, CreatedAt: t.CreatedAt, Action: m.Action}
	}
}

// TaskListOptions selects the tasks of ListTasks and AdminTasks.
type TaskListOptions struct {
	TenantID uuid.UUID // restrict to one of the actor's tenants (an LTI JWT may name several); zero means all of them
	Schema   string    // task schema version, e.g. "2.0.0" (default) or "3.0.0"
	Driver   string    // restrict to one driver
	PageSize int       // batch or page size (1 to 2000); 0 lets the server choose
	Page     int       // first page (AdminTasks only)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func int32Ptr(n int) *int32 {
	if n <= 0 {
		return nil
	}
	v := int32(n)
	return &v
}

// ListTasks leases and returns the next batch of tasks (listTasks), oldest
// first. Each must be acknowledged; see Consumer for a complete loop.
func (c *Client) ListTasks(ctx context.Context, opts *TaskListOptions) ([]*Task, error) {
	var o TaskListOptions
	if opts != nil {
		o = *opts
	}
	p := &models.ListTasksParams{Schema: strPtr(o.Schema), Driver: strPtr(o.Driver), PageSize: int32Ptr(o.PageSize)}
	if o.TenantID != uuid.Nil {
		p.TenantID = &o.TenantID
	}
	req, err := apiclient.NewListTasksRequest(c.server, p)
	if err != nil {
		return nil, err
	}
	var out pageBody[*Task]
	if err := c.do(ctx, "listTasks", req, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// AdminTasks iterates over the queue without leasing (listAdminTasks).
func (c *Client) AdminTasks(ctx context.Context, opts *TaskListOptions) iter.Seq2[*Task, error] {
	var o TaskListOptions
	if opts != nil {
		o = *opts
	}
	return walk[*Task](c, ctx, "listAdminTasks", func(server string) (*http.Request, error) {
		p := &models.ListAdminTasksParams{Schema: strPtr(o.Schema), Driver: strPtr(o.Driver), PageSize: int32Ptr(o.PageSize), Page: int32Ptr(o.Page)}
		if o.TenantID != uuid.Nil {
			p.TenantID = &o.TenantID
		}
		return apiclient.NewListAdminTasksRequest(server, p)
	})
}

// FindAdminTask returns one task without leasing it (findAdminTask), or an
// error matching ErrNotFound. schema may be empty.
func (c *Client) FindAdminTask(ctx context.Context, id uuid.UUID, schema string) (*Task, error) {
	req, err := apiclient.NewFindAdminTaskRequest(c.server, id, &models.FindAdminTaskParams{Schema: strPtr(schema)})
	return fetch[Task](c, ctx, "findAdminTask", req, err)
}

// DeleteAdminTask deletes a task without recording an outcome
// (deleteAdminTask) and returns it. It is never retried: a repeat would
// answer 404.
func (c *Client) DeleteAdminTask(ctx context.Context, id uuid.UUID) (*Task, error) {
	req, err := apiclient.NewDeleteAdminTaskRequest(c.server, id)
	return fetch[Task](c, ctx, "deleteAdminTask", req, err)
}

// AcknowledgeTask acknowledges one task (acknowledgeTask).
func (c *Client) AcknowledgeTask(ctx context.Context, id uuid.UUID, ack models.TaskAck) (*models.TaskAckReceipt, error) {
	req, err := apiclient.NewAcknowledgeTaskRequest(c.server, id, ack)
	return fetch[models.TaskAckReceipt](c, ctx, "acknowledgeTask", req, err)
}

// AcknowledgeTasks acknowledges a group of tasks, all or nothing
// (acknowledgeTasks): when one is unknown the error matches ErrNotFound and
// none is acknowledged.
func (c *Client) AcknowledgeTasks(ctx context.Context, acks []models.TaskAckGroupItem) ([]models.TaskAckReceipt, error) {
	req, err := apiclient.NewAcknowledgeTasksRequest(c.server, acks)
	return c.receipts(ctx, "acknowledgeTasks", req, err)
}

// AcknowledgeAdminTask acknowledges one task through the admin API
// (acknowledgeAdminTask).
func (c *Client) AcknowledgeAdminTask(ctx context.Context, id uuid.UUID, ack models.TaskAck) (*models.TaskAckReceipt, error) {
	req, err := apiclient.NewAcknowledgeAdminTaskRequest(c.server, id, ack)
	return fetch[models.TaskAckReceipt](c, ctx, "acknowledgeAdminTask", req, err)
}

// AcknowledgeAdminTasks acknowledges a group of tasks through the admin API
// (acknowledgeAdminTasks), all or nothing.
func (c *Client) AcknowledgeAdminTasks(ctx context.Context, acks []models.TaskAckGroupItem) ([]models.TaskAckReceipt, error) {
	req, err := apiclient.NewAcknowledgeAdminTasksRequest(c.server, acks)
	return c.receipts(ctx, "acknowledgeAdminTasks", req, err)
}

// receipts is fetch for the group acknowledgements, whose data is a list.
func (c *Client) receipts(ctx context.Context, op string, req *http.Request, err error) ([]models.TaskAckReceipt, error) {
	rs, err := fetch[[]models.TaskAckReceipt](c, ctx, op, req, err)
	if err != nil {
		return nil, err
	}
	return *rs, nil
}
