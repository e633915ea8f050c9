package reference

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/gen/models"
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

// appendTask appends a stored task in the chosen form to b. The payload is
// spliced in as stored, not decoded and encoded again: the store keeps the
// event's fields other than id, tenant_id, sequence and created_at (the
// store.NewTask contract), so those four, and the type and schema of the
// 3.x form, are written beside them.
func (rd rendering) appendTask(b []byte, t store.Task) ([]byte, error) {
	p := bytes.TrimSpace(t.Payload)
	if len(p) == 0 {
		p = []byte("{}")
	}
	if p[0] != '{' || !json.Valid(p) {
		return nil, fmt.Errorf("task %s: payload is not a JSON object", t.ID)
	}
	inner := bytes.TrimSpace(p[1 : len(p)-1])
	if rd.major == 3 {
		b = append(b, '{')
	} else {
		b = append(b, `{"`...)
		b = append(b, t.Kind...) // a TaskKind: a plain identifier
		b = append(b, `":{`...)
	}
	b = append(b, `"id":"`...)
	b = append(b, t.ID.String()...)
	b = append(b, `","tenant_id":"`...)
	b = append(b, t.TenantID.String()...)
	b = append(b, `","sequence":`...)
	b = strconv.AppendInt(b, t.Sequence, 10)
	b = append(b, `,"created_at":"`...)
	b = t.CreatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if rd.major == 3 {
		b = append(b, `,"type":"`...)
		b = append(b, t.Kind...)
		b = append(b, `","schema":"3.0.0"`...)
	}
	if len(inner) > 0 {
		b = append(b, ',')
		b = append(b, inner...)
	}
	b = append(b, '}')
	if rd.major != 3 {
		if rd.explicit {
			b = append(b, `,"schema":"2.0.0"`...)
		}
		b = append(b, '}')
	}
	return b, nil
}

// rawTasks is a task answer written by appendTask: {"data": [...], "paging"}
// for the lists, {"data": task} for one task.
type rawTasks struct {
	b []byte
}

func (rd rendering) list(ts []store.Task, next *string) (rawTasks, error) {
	n := 64
	for _, t := range ts {
		n += len(t.Payload) + 200
	}
	b := make([]byte, 0, n)
	b = append(b, `{"data":[`...)
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = rd.appendTask(b, t); err != nil {
			return rawTasks{}, err
		}
	}
	b = append(b, `],"paging":`...)
	paging, err := json.Marshal(models.Paging{Next: next})
	if err != nil {
		return rawTasks{}, err
	}
	b = append(b, paging...)
	b = append(b, "}\n"...)
	return rawTasks{b}, nil
}

func (rd rendering) one(t store.Task) (rawTasks, error) {
	b := make([]byte, 0, len(t.Payload)+256)
	b = append(b, `{"data":`...)
	b, err := rd.appendTask(b, t)
	if err != nil {
		return rawTasks{}, err
	}
	b = append(b, "}\n"...)
	return rawTasks{b}, nil
}

func (r rawTasks) VisitListTasksResponse(w http.ResponseWriter) error       { return writeJSON(w, r.b) }
func (r rawTasks) VisitListAdminTasksResponse(w http.ResponseWriter) error  { return writeJSON(w, r.b) }
func (r rawTasks) VisitFindAdminTaskResponse(w http.ResponseWriter) error   { return writeJSON(w, r.b) }
func (r rawTasks) VisitDeleteAdminTaskResponse(w http.ResponseWriter) error { return writeJSON(w, r.b) }

// ListTasks implements apiserver.StrictServerInterface: it leases the next batch.
func (h *Handler) ListTasks(ctx context.Context, r apiserver.ListTasksRequestObject) (apiserver.ListTasksResponseObject, error) {
	tenants, rd, err := taskScope(ctx, r.Params.Schema)
	if err != nil {
		return nil, err
	}
	if tenants, err = narrow(ctx, tenants, r.Params.TenantID); err != nil {
		return nil, err
	}
	limit := h.batch
	if s := r.Params.PageSize; s != nil && int(*s) < limit {
		limit = int(*s)
	}
	q := store.LeaseQuery{Tenants: tenants, Limit: limit, Now: h.now(), Lease: h.lease}
	if q.Driver, err = driverOf(r.Params.Driver); err != nil {
		return nil, err
	}
	ts, err := h.st.LeaseTasks(ctx, q)
	if err != nil {
		return nil, storeError(err)
	}
	out, err := rd.list(ts, nil)
	if err != nil {
		// Hand the batch back rather than hide it for a whole lease from
		// every consumer: a plain retry releases a lease and records nothing.
		h.release(ctx, tenants, ts)
		return nil, err
	}
	return out, nil
}

// driverOf checks the driver parameter: a driver name is Unicode text
// without U+0000 (store.CheckName), since no task can be addressed to any
// other; such a value is a 400 on every store, not an empty list on one
// and a database error on another.
func driverOf(p *string) (string, error) {
	if p == nil {
		return "", nil
	}
	if !store.Storable(*p) {
		return "", server.Errorf(http.StatusBadRequest, server.CodeInvalidParameter, "parameter \"driver\" in query is invalid: a driver name is UTF-8 text without U+0000")
	}
	return *p, nil
}

// narrow applies a tenant_id parameter: one of the caller's tenants, which a
// caller whose credentials name several (an LTI JWT) uses to pick one; any
// other tenant is a 403.
func narrow(ctx context.Context, tenants []uuid.UUID, id *uuid.UUID) ([]uuid.UUID, error) {
	if id == nil {
		return tenants, nil
	}
	p, _ := auth.PrincipalFrom(ctx)
	if !p.HasTenant(*id) {
		return nil, server.Errorf(http.StatusForbidden, server.CodeForbidden, "tenant %s is not one of this actor's tenants", *id)
	}
	return []uuid.UUID{*id}, nil
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

// ListAdminTasks implements apiserver.StrictServerInterface: pages through the
// whole queue in sequence order, leasing nothing.
func (h *Handler) ListAdminTasks(ctx context.Context, r apiserver.ListAdminTasksRequestObject) (apiserver.ListAdminTasksResponseObject, error) {
	tenants, rd, err := taskScope(ctx, r.Params.Schema)
	if err != nil {
		return nil, err
	}
	if tenants, err = narrow(ctx, tenants, r.Params.TenantID); err != nil {
		return nil, err
	}
	q := store.TaskQuery{Tenants: tenants}
	if q.Driver, err = driverOf(r.Params.Driver); err != nil {
		return nil, err
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
	var next *string
	if more {
		if next, err = h.next(ctx, id, pos, ts[len(ts)-1].Pos); err != nil {
			return nil, err
		}
	}
	return rd.list(ts, next)
}

// FindAdminTask implements apiserver.StrictServerInterface.
func (h *Handler) FindAdminTask(ctx context.Context, r apiserver.FindAdminTaskRequestObject) (apiserver.FindAdminTaskResponseObject, error) {
	tenants, rd, err := taskScope(ctx, r.Params.Schema)
	if err != nil {
		return nil, err
	}
	t, err := h.st.FindTask(ctx, tenants, r.ID)
	if err != nil {
		return nil, storeError(err)
	}
	return rd.one(t)
}

// DeleteAdminTask implements apiserver.StrictServerInterface.
func (h *Handler) DeleteAdminTask(ctx context.Context, r apiserver.DeleteAdminTaskRequestObject) (apiserver.DeleteAdminTaskResponseObject, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.st.DeleteTask(ctx, tenants, r.ID)
	if err != nil {
		return nil, storeError(err)
	}
	return rendering{major: 2}.one(t)
}

// ackOf checks one acknowledgement. pathID is the id in the URL, when there
// is one: a body task_id that differs from it is a 400; uuid.Nil stands for
// an id not given. It fills what the acknowledgement leaves out, as the
// spec's decisions ack-body and ack-error say: the outcome and the message.
func ackOf(pathID, bodyID uuid.UUID, a models.TaskAck) (store.Ack, error) {
	status := a.Status
	switch {
	case status == "" && a.Error != (models.TaskAckError{}):
		status = models.Error
	case status == "":
		status = models.Success
	case !status.Valid():
		return store.Ack{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "unknown acknowledgement status %q", a.Status)
	}
	out := store.Ack{Status: store.AckStatus(status)}
	switch {
	case pathID != uuid.Nil && bodyID != uuid.Nil && bodyID != pathID:
		return store.Ack{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "task_id %s in the body differs from the task id %s in the path", bodyID, pathID)
	case pathID != uuid.Nil:
		out.TaskID = pathID
	case bodyID != uuid.Nil:
		out.TaskID = bodyID
	}
	out.Message = a.Message
	if out.Message == "" {
		out.Message = errorMessage(a.Error)
	}
	if a.SysAppID != "" {
		out.AppID = a.SysAppID
	} else if a.AppID != "" { //nolint:staticcheck // the deprecated 2019-2020 spelling is still accepted
		out.AppID = a.AppID //nolint:staticcheck // as above
	}
	return out, nil
}

// maxAckMessage is TaskAck.message's maxLength in the spec, in characters.
const maxAckMessage = 4096

// errorMessage is the message a 2022 error object stands for: its message,
// else its ext_message, else its details, cut to what TaskAck.message may
// hold.
func errorMessage(e models.TaskAckError) string {
	m := e.Message
	if m == "" {
		m = e.ExtMessage
	}
	if m == "" {
		m = e.Details
	}
	n := 0
	for i := range m {
		if n == maxAckMessage {
			return m[:i]
		}
		n++
	}
	return m
}

func receiptOf(r store.Receipt) models.TaskAckReceipt {
	return models.TaskAckReceipt{TaskID: r.TaskID, Status: models.TaskAckStatus(r.Status), AcknowledgedAt: r.AcknowledgedAt}
}

func (h *Handler) ackOne(ctx context.Context, id uuid.UUID, body *models.TaskAck) (models.TaskAckReceipt, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return models.TaskAckReceipt{}, err
	}
	if body == nil {
		return models.TaskAckReceipt{}, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "request body is required")
	}
	a, err := ackOf(id, body.TaskID, *body)
	if err != nil {
		return models.TaskAckReceipt{}, err
	}
	rs, err := h.st.AckTasks(ctx, tenants, []store.Ack{a}, h.now())
	if err != nil {
		return models.TaskAckReceipt{}, storeError(err)
	}
	return receiptOf(rs[0]), nil
}

func (h *Handler) ackGroup(ctx context.Context, body *models.TaskAckGroup) ([]models.TaskAckReceipt, error) {
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
		if j, dup := seen[item.TaskID]; dup {
			return nil, server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "task %s is acknowledged twice (items %d and %d); no task was acknowledged", item.TaskID, j, i)
		}
		seen[item.TaskID] = i
		id := item.TaskID
		a, err := ackOf(uuid.Nil, id, models.TaskAck{Status: item.Status, Message: item.Message, SysAppID: item.SysAppID, AppID: item.AppID, Error: item.Error}) //nolint:staticcheck // AppID: deprecated spelling still accepted
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
	out := make([]models.TaskAckReceipt, len(rs))
	for i, r := range rs {
		out[i] = receiptOf(r)
	}
	return out, nil
}

// AcknowledgeTask implements apiserver.StrictServerInterface.
func (h *Handler) AcknowledgeTask(ctx context.Context, r apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
	rc, err := h.ackOne(ctx, r.ID, r.Body)
	if err != nil {
		return nil, err
	}
	return apiserver.AcknowledgeTask200JSONResponse{Data: rc}, nil
}

// AcknowledgeAdminTask implements apiserver.StrictServerInterface.
func (h *Handler) AcknowledgeAdminTask(ctx context.Context, r apiserver.AcknowledgeAdminTaskRequestObject) (apiserver.AcknowledgeAdminTaskResponseObject, error) {
	rc, err := h.ackOne(ctx, r.ID, r.Body)
	if err != nil {
		return nil, err
	}
	return apiserver.AcknowledgeAdminTask200JSONResponse{Data: rc}, nil
}

// AcknowledgeTasks implements apiserver.StrictServerInterface.
func (h *Handler) AcknowledgeTasks(ctx context.Context, r apiserver.AcknowledgeTasksRequestObject) (apiserver.AcknowledgeTasksResponseObject, error) {
	rs, err := h.ackGroup(ctx, r.Body)
	if err != nil {
		return nil, err
	}
	return apiserver.AcknowledgeTasks200JSONResponse{Data: rs}, nil
}

// AcknowledgeAdminTasks implements apiserver.StrictServerInterface.
func (h *Handler) AcknowledgeAdminTasks(ctx context.Context, r apiserver.AcknowledgeAdminTasksRequestObject) (apiserver.AcknowledgeAdminTasksResponseObject, error) {
	rs, err := h.ackGroup(ctx, r.Body)
	if err != nil {
		return nil, err
	}
	return apiserver.AcknowledgeAdminTasks200JSONResponse{Data: rs}, nil
}
