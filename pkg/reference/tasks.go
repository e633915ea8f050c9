package reference

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// rendering is how tasks are written: the 2.x wrapped form (the default) or
// the 3.x flat form. explicit records that the client named the version, in
// which case each task says which one it is in.
type rendering struct {
	major    int
	explicit bool
}

var schemaVersion = regexp.MustCompile(`^([0-9]+)(\.[0-9]+){0,2}$`)

// parseSchema accepts "2", "2.0", "2.0.0" and the like for the two majors
// the spec describes; anything else is a 400.
// taskScope is what every task read needs first: the caller's tenants and the
// rendering its schema parameter asks for.
func taskScope(ctx context.Context, schema *string) ([]uuid.UUID, rendering, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return nil, rendering{}, err
	}
	rd, err := parseSchema(schema)
	return tenants, rd, err
}

func parseSchema(s *string) (rendering, error) {
	if s == nil || *s == "" {
		return rendering{major: 2}, nil
	}
	m := schemaVersion.FindStringSubmatch(*s)
	if m != nil && (m[1] == "2" || m[1] == "3") {
		return rendering{major: int(m[1][0] - '0'), explicit: true}, nil
	}
	return rendering{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidParameter, `parameter "schema" in query is invalid`).
		WithDetails("unknown task schema %q; known: 2.0.0, 3.0.0", *s)
}

// render turns a stored task into the API's Task in the chosen form.
func (rd rendering) render(t store.Task) (gen.Task, error) {
	fields := map[string]json.RawMessage{}
	if len(t.Payload) > 0 {
		if err := json.Unmarshal(t.Payload, &fields); err != nil {
			return gen.Task{}, fmt.Errorf("task %s: payload: %w", t.ID, err)
		}
	}
	put := func(k string, v any) {
		b, _ := json.Marshal(v)
		fields[k] = b
	}
	put("id", t.ID)
	put("tenant_id", t.TenantID)
	put("sequence", t.Sequence)
	put("created_at", t.CreatedAt.UTC().Format(time.RFC3339Nano))
	var doc []byte
	var err error
	if rd.major == 3 {
		put("type", string(t.Kind))
		put("schema", "3.0.0")
		doc, err = json.Marshal(fields)
	} else {
		wrapped := map[string]any{string(t.Kind): fields}
		if rd.explicit {
			wrapped["schema"] = "2.0.0"
		}
		doc, err = json.Marshal(wrapped)
	}
	if err != nil {
		return gen.Task{}, err
	}
	var out gen.Task
	if err := json.Unmarshal(doc, &out); err != nil {
		return gen.Task{}, fmt.Errorf("task %s: render: %w", t.ID, err)
	}
	return out, nil
}

func (rd rendering) renderAll(ts []store.Task) ([]gen.Task, error) {
	out := make([]gen.Task, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = rd.render(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListTasks implements gen.StrictServerInterface: it leases the next batch.
func (h *Handler) ListTasks(ctx context.Context, r gen.ListTasksRequestObject) (gen.ListTasksResponseObject, error) {
	tenants, rd, err := taskScope(ctx, r.Params.Schema)
	if err != nil {
		return nil, err
	}
	if id := r.Params.TenantId; id != nil {
		p, _ := auth.PrincipalFrom(ctx)
		if !p.HasTenant(*id) {
			return nil, server.Errorf(http.StatusForbidden, server.CodeForbidden, "tenant %s is not one of this actor's tenants", *id)
		}
		tenants = []uuid.UUID{*id}
	}
	limit := h.batch
	if s := r.Params.PageSize; s != nil && int(*s) < limit {
		limit = int(*s)
	}
	q := store.LeaseQuery{Tenants: tenants, Limit: limit, Now: h.now(), Lease: h.lease}
	if r.Params.Driver != nil {
		q.Driver = *r.Params.Driver
	}
	ts, err := h.st.LeaseTasks(ctx, q)
	if err != nil {
		return nil, storeError(err)
	}
	data, err := rd.renderAll(ts)
	if err != nil {
		// Hand the batch back rather than hide it for a whole lease from
		// every consumer: a plain retry releases a lease and records nothing.
		h.release(ctx, tenants, ts)
		return nil, err
	}
	return gen.ListTasks200JSONResponse{Data: data, Paging: gen.Paging{}}, nil
}

// release gives leased tasks back at once. It runs on a context of its own:
// the request's may be what failed.
func (h *Handler) release(ctx context.Context, tenants []uuid.UUID, ts []store.Task) {
	acks := make([]store.Ack, len(ts))
	for i, t := range ts {
		acks[i] = store.Ack{TaskID: t.ID, Status: store.AckRetry}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := h.st.AckTasks(ctx, tenants, acks, h.now()); err != nil {
		h.logger.Error("releasing the leases of a batch that failed to render", "tasks", len(ts), "err", err)
	}
}

// ListAdminTasks implements gen.StrictServerInterface: pages through the
// whole queue in sequence order, leasing nothing.
func (h *Handler) ListAdminTasks(ctx context.Context, r gen.ListAdminTasksRequestObject) (gen.ListAdminTasksResponseObject, error) {
	tenants, rd, err := taskScope(ctx, r.Params.Schema)
	if err != nil {
		return nil, err
	}
	q := store.TaskQuery{Tenants: tenants}
	if r.Params.Driver != nil {
		q.Driver = *r.Params.Driver
	}
	id := taskListID(q)
	pos, err := h.positionOf(ctx, id, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
	if err != nil {
		return nil, err
	}
	q.After, q.Offset, q.Limit = pos.after, pos.offset, pos.limit
	ts, more, err := h.st.ListTasks(ctx, q)
	if err != nil {
		return nil, storeError(err)
	}
	data, err := rd.renderAll(ts)
	if err != nil {
		return nil, err
	}
	var paging gen.Paging
	if more {
		if paging.Next, err = h.next(ctx, id, pos, ts[len(ts)-1].Pos); err != nil {
			return nil, err
		}
	}
	return gen.ListAdminTasks200JSONResponse{Data: data, Paging: paging}, nil
}

// FindAdminTask implements gen.StrictServerInterface.
func (h *Handler) FindAdminTask(ctx context.Context, r gen.FindAdminTaskRequestObject) (gen.FindAdminTaskResponseObject, error) {
	tenants, rd, err := taskScope(ctx, r.Params.Schema)
	if err != nil {
		return nil, err
	}
	t, err := h.st.FindTask(ctx, tenants, r.Id)
	if err != nil {
		return nil, storeError(err)
	}
	data, err := rd.render(t)
	if err != nil {
		return nil, err
	}
	return gen.FindAdminTask200JSONResponse{Data: data}, nil
}

// DeleteAdminTask implements gen.StrictServerInterface.
func (h *Handler) DeleteAdminTask(ctx context.Context, r gen.DeleteAdminTaskRequestObject) (gen.DeleteAdminTaskResponseObject, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.st.DeleteTask(ctx, tenants, r.Id)
	if err != nil {
		return nil, storeError(err)
	}
	data, err := rendering{major: 2}.render(t)
	if err != nil {
		return nil, err
	}
	return gen.DeleteAdminTask200JSONResponse{Data: data}, nil
}

// ackOf checks one acknowledgement. pathID is the id in the URL, when there
// is one: a body task_id that differs from it is a 400.
func ackOf(pathID *uuid.UUID, bodyID *uuid.UUID, a gen.TaskAck) (store.Ack, error) {
	if !a.Status.Valid() {
		return store.Ack{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "unknown acknowledgement status %q", a.Status)
	}
	out := store.Ack{Status: store.AckStatus(a.Status)}
	switch {
	case pathID != nil && bodyID != nil && *bodyID != *pathID:
		return store.Ack{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "task_id %s in the body differs from the task id %s in the path", *bodyID, *pathID)
	case pathID != nil:
		out.TaskID = *pathID
	case bodyID != nil:
		out.TaskID = *bodyID
	}
	if a.Message != nil {
		out.Message = *a.Message
	}
	if a.SysAppID != nil {
		out.AppID = *a.SysAppID
	} else if a.AppId != nil { //nolint:staticcheck // the deprecated 2019-2020 spelling is still accepted
		out.AppID = *a.AppId //nolint:staticcheck // as above
	}
	return out, nil
}

func receiptOf(r store.Receipt) gen.TaskAckReceipt {
	return gen.TaskAckReceipt{TaskId: r.TaskID, Status: gen.TaskAckStatus(r.Status), AcknowledgedAt: r.AcknowledgedAt}
}

func (h *Handler) ackOne(ctx context.Context, id uuid.UUID, body *gen.TaskAck) (gen.TaskAckReceipt, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return gen.TaskAckReceipt{}, err
	}
	if body == nil {
		return gen.TaskAckReceipt{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "request body is required")
	}
	a, err := ackOf(&id, body.TaskId, *body)
	if err != nil {
		return gen.TaskAckReceipt{}, err
	}
	rs, err := h.st.AckTasks(ctx, tenants, []store.Ack{a}, h.now())
	if err != nil {
		return gen.TaskAckReceipt{}, storeError(err)
	}
	return receiptOf(rs[0]), nil
}

func (h *Handler) ackGroup(ctx context.Context, body *gen.TaskAckGroup) ([]gen.TaskAckReceipt, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	if body == nil || len(*body) == 0 {
		return nil, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "request body must be a non-empty array of acknowledgements")
	}
	acks := make([]store.Ack, len(*body))
	seen := make(map[uuid.UUID]int, len(*body))
	for i, item := range *body {
		if j, dup := seen[item.TaskId]; dup {
			return nil, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "task %s is acknowledged twice (items %d and %d); no task was acknowledged", item.TaskId, j, i)
		}
		seen[item.TaskId] = i
		id := item.TaskId
		a, err := ackOf(nil, &id, gen.TaskAck{Status: item.Status, Message: item.Message, SysAppID: item.SysAppID, AppId: item.AppId}) //nolint:staticcheck // AppId: deprecated spelling still accepted
		if err != nil {
			return nil, err
		}
		acks[i] = a
	}
	rs, err := h.st.AckTasks(ctx, tenants, acks, h.now())
	if err != nil {
		if e, ok := storeError(err).(*server.Error); ok && e.Status == http.StatusNotFound {
			e.Message += "; no task was acknowledged"
			return nil, e
		}
		return nil, storeError(err)
	}
	out := make([]gen.TaskAckReceipt, len(rs))
	for i, r := range rs {
		out[i] = receiptOf(r)
	}
	return out, nil
}

// AcknowledgeTask implements gen.StrictServerInterface.
func (h *Handler) AcknowledgeTask(ctx context.Context, r gen.AcknowledgeTaskRequestObject) (gen.AcknowledgeTaskResponseObject, error) {
	rc, err := h.ackOne(ctx, r.Id, r.Body)
	if err != nil {
		return nil, err
	}
	return gen.AcknowledgeTask200JSONResponse{Data: rc}, nil
}

// AcknowledgeAdminTask implements gen.StrictServerInterface.
func (h *Handler) AcknowledgeAdminTask(ctx context.Context, r gen.AcknowledgeAdminTaskRequestObject) (gen.AcknowledgeAdminTaskResponseObject, error) {
	rc, err := h.ackOne(ctx, r.Id, r.Body)
	if err != nil {
		return nil, err
	}
	return gen.AcknowledgeAdminTask200JSONResponse{Data: rc}, nil
}

// AcknowledgeTasks implements gen.StrictServerInterface.
func (h *Handler) AcknowledgeTasks(ctx context.Context, r gen.AcknowledgeTasksRequestObject) (gen.AcknowledgeTasksResponseObject, error) {
	rs, err := h.ackGroup(ctx, r.Body)
	if err != nil {
		return nil, err
	}
	return gen.AcknowledgeTasks200JSONResponse{Data: rs}, nil
}

// AcknowledgeAdminTasks implements gen.StrictServerInterface.
func (h *Handler) AcknowledgeAdminTasks(ctx context.Context, r gen.AcknowledgeAdminTasksRequestObject) (gen.AcknowledgeAdminTasksResponseObject, error) {
	rs, err := h.ackGroup(ctx, r.Body)
	if err != nil {
		return nil, err
	}
	return gen.AcknowledgeAdminTasks200JSONResponse{Data: rs}, nil
}
